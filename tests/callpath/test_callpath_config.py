"""Settings validation names the variable to fix; the worker refuses to start half-configured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.config import ConfigError
from callcenter.worker import check_worker_settings
from tests.callpath.helpers import make_settings


def test_bad_region_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CALLCENTER_DEFAULT_REGION") as err:
        make_settings(CALLCENTER_DEFAULT_REGION="XX")
    assert "'XX'" in str(err.value)


def test_region_is_normalised() -> None:
    assert make_settings(CALLCENTER_DEFAULT_REGION="gb").default_region == "GB"


def test_malformed_sip_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="LIVEKIT_SIP_NUMBER") as err:
        make_settings(LIVEKIT_SIP_NUMBER="+1555")
    assert "+1555" in str(err.value)


def test_sip_number_is_normalised_to_e164() -> None:
    assert make_settings(LIVEKIT_SIP_NUMBER="(415) 555-0142").sip_caller_id_number == (
        "+14155550142"
    )


def test_live_mode_without_openai_key_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_settings(CALLCENTER_PROVIDER_MODE="live", OPENAI_API_KEY=None)


def test_degraded_mode_never_uses_live_providers() -> None:
    settings = make_settings(CALLCENTER_PROVIDER_MODE="degraded", OPENAI_API_KEY="sk-test")
    assert settings.use_live_providers is False


def test_worker_without_livekit_names_every_missing_variable() -> None:
    settings = make_settings(
        LIVEKIT_URL=None,
        LIVEKIT_API_KEY=None,
        LIVEKIT_API_SECRET=None,
        OPENAI_API_KEY="sk-x",
        CALLCENTER_PROVIDER_MODE="live",
    )
    with pytest.raises(ConfigError) as err:
        check_worker_settings(settings)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        assert name in str(err.value)


def test_worker_names_only_the_missing_livekit_variable() -> None:
    settings = make_settings(
        LIVEKIT_URL="wss://example.livekit.cloud",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET=None,
        OPENAI_API_KEY="sk-x",
        CALLCENTER_PROVIDER_MODE="live",
    )
    with pytest.raises(ConfigError, match="LIVEKIT_API_SECRET") as err:
        check_worker_settings(settings)
    assert "LIVEKIT_URL" not in str(err.value)


def test_worker_refuses_degraded_mode() -> None:
    settings = make_settings(
        LIVEKIT_URL="wss://example.livekit.cloud",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret",
        CALLCENTER_PROVIDER_MODE="degraded",
    )
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        check_worker_settings(settings)


def test_worker_starts_when_configured() -> None:
    settings = make_settings(
        LIVEKIT_URL="wss://example.livekit.cloud",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret",
        OPENAI_API_KEY="sk-x",
        CALLCENTER_PROVIDER_MODE="live",
    )
    check_worker_settings(settings)  # no error


def test_prewarm_loads_the_vad_opens_the_database_and_freezes_the_heap(
    monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    """A job process loads the 8 kHz Silero VAD, opens the (already migrated) database and
    wires the escalation before it takes a call, then keeps what it loaded out of the
    garbage collector's scans."""
    import gc
    import sys
    from types import SimpleNamespace

    from callcenter import worker
    from callcenter.data import Database
    from callcenter.escalation.manager import EscalationManager
    from callcenter.turn_taking import VAD_MIN_SILENCE_S

    monkeypatch.chdir(sys.prefix)  # no developer .env: the embedded defaults
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    proc = SimpleNamespace(userdata={})
    worker.prewarm(proc)  # type: ignore[arg-type]
    assert frozen == [True]  # what prewarm loaded is kept out of the collector's scans
    opts = proc.userdata["vad"]._opts
    assert (opts.sample_rate, opts.min_silence_duration) == (8000, VAD_MIN_SILENCE_S)
    assert proc.userdata["settings"].company_name
    assert isinstance(proc.userdata["db"], Database)
    assert isinstance(proc.userdata["escalation"], EscalationManager)
    asyncio.run(proc.userdata["db"].close())


def test_prewarm_refuses_a_database_that_was_not_migrated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Job processes never migrate: an empty database stops them, naming the command."""
    from types import SimpleNamespace

    from callcenter import worker
    from callcenter.data import SchemaNotCurrentError

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("CALLCENTER_PROVIDER_MODE", "degraded")
    with pytest.raises(SchemaNotCurrentError, match="callcenter db upgrade"):
        worker.prewarm(SimpleNamespace(userdata={}))  # type: ignore[arg-type]


def test_the_worker_migrates_and_seeds_only_the_embedded_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo customers go into the embedded SQLite default, never into a DATABASE_URL
    database (a production PostgreSQL must not get customers whose PINs are printed by
    `callcenter demo-data`)."""
    from callcenter import worker
    from callcenter.config import DEFAULT_DATABASE_URL
    from callcenter.data import CustomerDirectory, Database

    async def maya(url: str) -> object:
        async with await Database.open(url) as db:  # no migrate: already current
            return await CustomerDirectory(db).find_by_phone("+14155550142")

    url = f"sqlite+aiosqlite:///{tmp_path / 'production.db'}"
    asyncio.run(worker.migrate_database(make_settings(DATABASE_URL=url)))
    assert asyncio.run(maya(url)) is None

    monkeypatch.chdir(tmp_path)  # the default is var/callcenter.db, relative to the cwd
    asyncio.run(worker.migrate_database(make_settings(DATABASE_URL=DEFAULT_DATABASE_URL)))
    assert asyncio.run(maya(DEFAULT_DATABASE_URL)) is not None


@pytest.mark.parametrize("noise_cancellation", [True, False])
def test_room_input_is_8khz_with_optional_telephony_noise_cancellation(
    noise_cancellation: bool,
) -> None:
    from livekit.agents import room_io

    from callcenter.worker import _room_options

    options = _room_options(make_settings(CALLCENTER_NOISE_CANCELLATION=noise_cancellation))
    audio = options.audio_input
    assert isinstance(audio, room_io.AudioInputOptions)
    assert audio.sample_rate == 8000
    assert (audio.noise_cancellation is not None) is noise_cancellation


def test_worker_preloads_the_product_into_the_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job processes fork from a forkserver that already imported the product and the
    provider plugins (shared copy-on-write), without LiveKit's unused local models."""
    from livekit.agents.plugin import Plugin

    from callcenter.worker import JOB_PROCESS_PRELOAD, build_server

    monkeypatch.delenv("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", raising=False)
    server = build_server()
    assert server._preload_modules == JOB_PROCESS_PRELOAD
    assert "callcenter.worker" in JOB_PROCESS_PRELOAD
    registered = {p.package for p in Plugin.registered_plugins}
    assert {f"livekit.plugins.{name}" for name in ("openai", "deepgram", "elevenlabs")} <= (
        registered
    )
    import os

    assert os.environ["LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE"] == "0"
    monkeypatch.setenv("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "1")
    build_server()
    assert os.environ["LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE"] == "1"  # the operator's value


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CALLCENTER_BUSINESS_HOURS", "funday 09:00-17:00", "funday"),
        ("CALLCENTER_BUSINESS_HOURS", "mon-fri 09:00", "09:00"),
        ("CALLCENTER_BUSINESS_HOLIDAYS", "2026-12-25, christmas", "christmas"),
        ("CALLCENTER_BUSINESS_TIMEZONE", "Mars/Olympus", "Mars/Olympus"),
    ],
)
def test_bad_business_hours_stop_the_settings_naming_the_variable(
    variable: str, value: str, says: str
) -> None:
    """Invalid hours used to pass start-up and fail inside every call's escalation."""
    with pytest.raises(ConfigError, match=variable) as err:
        make_settings(**{variable: value})
    assert says in str(err.value)


def test_valid_business_hours_are_parsed_once_for_the_escalation() -> None:
    settings = make_settings(
        CALLCENTER_BUSINESS_HOURS="mon-fri 08:00-18:00, sat 09:00-13:00",
        CALLCENTER_BUSINESS_HOLIDAYS="2026-12-25",
    )
    hours = settings.hours
    assert hours.timezone == settings.business_timezone
    assert [d.isoformat() for d in hours.holidays] == ["2026-12-25"]
    assert "sat 09:00-13:00" in hours.describe()


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("wss://acme-1a2b3c.livekit.cloud", "cloud"),
        ("ws://127.0.0.1:7880", "self_hosted"),
        ("wss://livekit.example.com", "self_hosted"),
        (None, "self_hosted"),
    ],
)
def test_auto_merge_mode_follows_the_url(url: str | None, mode: str) -> None:
    settings = make_settings(LIVEKIT_URL=url, CALLCENTER_MERGE_MODE="auto")
    assert settings.effective_merge_mode.value == mode


def test_explicit_merge_mode_wins_over_the_url() -> None:
    settings = make_settings(
        LIVEKIT_URL="wss://acme-1a2b3c.livekit.cloud", CALLCENTER_MERGE_MODE="self_hosted"
    )
    assert settings.effective_merge_mode.value == "self_hosted"


def test_worker_refuses_cloud_merge_against_a_self_hosted_server() -> None:
    settings = make_settings(
        LIVEKIT_URL="ws://127.0.0.1:7880",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret",
        OPENAI_API_KEY="sk-test",
        CALLCENTER_MERGE_MODE="cloud",
    )
    with pytest.raises(ConfigError, match="CALLCENTER_MERGE_MODE=self_hosted") as err:
        check_worker_settings(settings)
    assert "MoveParticipant" in str(err.value) and "'127.0.0.1'" in str(err.value)


def test_worker_accepts_cloud_merge_on_livekit_cloud() -> None:
    settings = make_settings(
        LIVEKIT_URL="wss://acme-1a2b3c.livekit.cloud",
        LIVEKIT_API_KEY="key",
        LIVEKIT_API_SECRET="secret",
        OPENAI_API_KEY="sk-test",
        CALLCENTER_PROVIDER_MODE="live",
        CALLCENTER_MERGE_MODE="cloud",
    )
    check_worker_settings(settings)
