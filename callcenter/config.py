"""Settings, validated once at start-up.

Every knob of the product lives here and nowhere else: modules receive a `Settings`
object instead of reading the environment. Secrets are `SecretStr` so they never
appear in a repr or a log line. `load_settings()` turns a validation failure into a
`ConfigError` whose message says exactly which variable to set and how.

Provider mode:
- `degraded` (the default when no OpenAI key is set): no network, the deterministic
  stand-in model in `callcenter.degraded` answers, so the product runs on a fresh
  machine and a caller can be simulated in the terminal.
- `live`: real providers; OpenAI is required, Deepgram and ElevenLabs are used when
  their keys are present (OpenAI speech-to-text / text-to-speech otherwise), each
  behind a fallback chain that ends in the degraded mode.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from callcenter.business_hours import BusinessHours, parse_holidays
from callcenter.staff import RosterError, WeeklyHours
from callcenter.vocabulary import TransferMode

__all__ = ["ConfigError", "MergeMode", "ProviderMode", "Settings", "TransferMode", "load_settings"]


class ConfigError(Exception):
    """Start-up configuration is invalid; the message says what to set."""


class ProviderMode(StrEnum):
    AUTO = "auto"
    LIVE = "live"
    DEGRADED = "degraded"


class MergeMode(StrEnum):
    """How a warm transfer joins the supervisor to the caller.

    `cloud` briefs the supervisor in a consult room and moves them into the caller's room
    with `MoveParticipant` (LiveKit Cloud only: a self-hosted livekit-server answers it with
    Twirp `unknown` "not implemented", proven by tests/e2e); `self_hosted` dials the
    supervisor into the caller's own room and controls who hears whom until the connect.
    `auto` (the default) picks `cloud` for a LiveKit Cloud URL and `self_hosted` otherwise
    (`Settings.effective_merge_mode`).
    """

    AUTO = "auto"
    CLOUD = "cloud"
    SELF_HOSTED = "self_hosted"


def is_livekit_cloud(url: str | None) -> bool:
    """True for a LiveKit Cloud project URL (the framework's own test, `is_cloud`)."""
    from livekit.agents.utils.misc import is_cloud

    return bool(url) and is_cloud(url or "")


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/callcenter.db"

DRAIN_MARGIN_S = 60
"""Beyond the maximum call duration, how long a stopping worker waits: a call at its limit
still says goodbye and closes its record."""


class Settings(BaseSettings):
    """All configuration, from the environment (and `.env` when present)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
    )

    # --- LiveKit (needed by the worker, not by the console) ---
    livekit_url: str | None = Field(default=None, alias="LIVEKIT_URL")
    livekit_api_key: str | None = Field(default=None, alias="LIVEKIT_API_KEY")
    livekit_api_secret: SecretStr | None = Field(default=None, alias="LIVEKIT_API_SECRET")

    # --- Providers ---
    provider_mode: ProviderMode = Field(default=ProviderMode.AUTO, alias="CALLCENTER_PROVIDER_MODE")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_fallback_base_url: str | None = Field(default=None, alias="OPENAI_FALLBACK_BASE_URL")
    openai_llm_model: str = Field(default="gpt-4.1-mini", alias="OPENAI_LLM_MODEL")
    openai_llm_fallback_model: str = Field(default="gpt-4o-mini", alias="OPENAI_LLM_FALLBACK_MODEL")
    openai_realtime_model: str = Field(default="gpt-realtime", alias="OPENAI_REALTIME_MODEL")
    openai_realtime_fallback_model: str = Field(
        default="gpt-4o-realtime-preview", alias="OPENAI_REALTIME_FALLBACK_MODEL"
    )
    openai_realtime_voice: str = Field(default="marin", alias="OPENAI_REALTIME_VOICE")
    openai_stt_model: str = Field(default="gpt-4o-mini-transcribe", alias="OPENAI_STT_MODEL")
    openai_tts_model: str = Field(default="gpt-4o-mini-tts", alias="OPENAI_TTS_MODEL")
    openai_tts_voice: str = Field(default="ash", alias="OPENAI_TTS_VOICE")
    deepgram_api_key: SecretStr | None = Field(default=None, alias="DEEPGRAM_API_KEY")
    deepgram_base_url: str | None = Field(default=None, alias="DEEPGRAM_BASE_URL")
    deepgram_model: str = Field(default="nova-3", alias="DEEPGRAM_MODEL")
    elevenlabs_api_key: SecretStr | None = Field(default=None, alias="ELEVEN_API_KEY")
    elevenlabs_base_url: str | None = Field(default=None, alias="ELEVENLABS_BASE_URL")
    elevenlabs_voice_id: str = Field(default="EXAVITQu4vr4xnSDxMaL", alias="ELEVENLABS_VOICE_ID")
    elevenlabs_model: str = Field(default="eleven_flash_v2_5", alias="ELEVENLABS_MODEL")
    provider_timeout_s: float = Field(
        default=4.0, gt=0, le=30, alias="CALLCENTER_PROVIDER_TIMEOUT_S"
    )
    noise_cancellation: bool = Field(default=False, alias="CALLCENTER_NOISE_CANCELLATION")

    # --- Data ---
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    database_timeout_s: float = Field(
        default=5.0, gt=0, le=60, alias="CALLCENTER_DATABASE_TIMEOUT_S"
    )
    """How long a call waits for the database (connect, or one step at call start or end)
    before it carries on without it (account services unavailable, the journal)."""
    journal_dir: Path = Field(default=Path("var/journal"), alias="CALLCENTER_JOURNAL_DIR")
    """The worker's local durable journal: call records and callbacks written while the
    database was unreachable, replayed into it when it answers again."""
    retention_days: int = Field(default=90, ge=1, le=3650, alias="CALLCENTER_RETENTION_DAYS")
    """Call records, closed tickets and the verification audit older than this are deleted
    by `callcenter records purge`."""
    record_heartbeat_s: float = Field(
        default=30.0, gt=0, le=600, alias="CALLCENTER_RECORD_HEARTBEAT_S"
    )
    """How often a live call marks its record as alive."""
    record_stale_s: float = Field(default=120.0, gt=0, le=86400, alias="CALLCENTER_RECORD_STALE_S")
    """An open record not marked alive for this long belongs to a call whose process died:
    the sweeper closes it as `interrupted`."""

    # --- Telephony ---
    default_region: str = Field(default="US", alias="CALLCENTER_DEFAULT_REGION")
    company_name: str = Field(default="Northwind Supply", alias="CALLCENTER_COMPANY_NAME")
    sip_outbound_trunk_id: str | None = Field(default=None, alias="LIVEKIT_SIP_OUTBOUND_TRUNK")
    sip_caller_id_number: str | None = Field(default=None, alias="LIVEKIT_SIP_NUMBER")
    transfer_mode: TransferMode = Field(default=TransferMode.WARM, alias="CALLCENTER_TRANSFER_MODE")
    merge_mode: MergeMode = Field(default=MergeMode.AUTO, alias="CALLCENTER_MERGE_MODE")
    ringing_timeout_s: float = Field(
        default=25.0, gt=0, le=120, alias="CALLCENTER_RINGING_TIMEOUT_S"
    )
    max_transfer_attempts: int = Field(
        default=2, ge=1, le=5, alias="CALLCENTER_MAX_TRANSFER_ATTEMPTS"
    )
    business_timezone: str = Field(
        default="America/Los_Angeles", alias="CALLCENTER_BUSINESS_TIMEZONE"
    )
    business_hours: str = Field(default="mon-fri 08:00-18:00", alias="CALLCENTER_BUSINESS_HOURS")
    """Contact-center opening hours (business time zone), `mon-fri 08:00-18:00, sat 09:00-13:00`;
    outside them escalation offers a callback instead of a transfer."""
    business_holidays: str = Field(default="", alias="CALLCENTER_BUSINESS_HOLIDAYS")
    """Comma-separated ISO dates the contact center is closed (`2026-12-25,2027-01-01`)."""
    hold_reassurance_s: float = Field(
        default=20.0, gt=1, le=120, alias="CALLCENTER_HOLD_REASSURANCE_S"
    )
    """Seconds between the reassurances a caller on hold hears during a warm transfer."""
    briefing_timeout_s: float = Field(
        default=90.0, gt=5, le=600, alias="CALLCENTER_BRIEFING_TIMEOUT_S"
    )
    """How long a supervisor may take to accept or decline after answering the consult call."""

    # --- Conversation limits ---
    verification_max_attempts: int = Field(
        default=3, ge=1, le=5, alias="CALLCENTER_VERIFY_ATTEMPTS"
    )
    """Wrong answers (factors or account/order numbers) allowed per call, however the call
    is routed, transferred or asked (one check at a time)."""
    lockout_failures: int = Field(default=5, ge=2, le=50, alias="CALLCENTER_LOCKOUT_FAILURES")
    """Wrong factors for one account, across calls, within `lockout_window_hours` that lock
    the account for phone verification until a supervisor unlocks it."""
    lockout_window_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, alias="CALLCENTER_LOCKOUT_WINDOW_HOURS"
    )
    inactivity_timeout_s: float = Field(default=20.0, gt=0, alias="CALLCENTER_INACTIVITY_TIMEOUT_S")
    max_call_duration_s: float = Field(default=1800.0, gt=0, alias="CALLCENTER_MAX_CALL_DURATION_S")

    # --- Web console (`callcenter web`) ---
    web_session_idle_minutes: int = Field(
        default=60, ge=5, le=1440, alias="CALLCENTER_WEB_SESSION_IDLE_MINUTES"
    )
    """A console session unused this long is over (the live board keeps it in use)."""
    web_session_hours: float = Field(default=12, gt=0, le=168, alias="CALLCENTER_WEB_SESSION_HOURS")
    """A console session ends this long after login, however busy."""
    web_cookie_secure: bool = Field(default=True, alias="CALLCENTER_WEB_COOKIE_SECURE")
    """Secure cookies: browsers accept them over http only on localhost/127.0.0.1."""
    web_login_limit: int = Field(default=5, ge=1, le=100, alias="CALLCENTER_WEB_LOGIN_LIMIT")
    """Failed logins allowed per e-mail and per client address in 15 minutes."""
    web_metrics_port: int = Field(default=9101, ge=0, le=65535, alias="CALLCENTER_WEB_METRICS_PORT")
    """Prometheus `/metrics` of `callcenter web`, on its own port (no login; bound to the
    console's `--host`, never served on the console's port); 0 turns it off."""
    callback_sla_hours: float = Field(
        default=4, gt=0, le=24 * 14, alias="CALLCENTER_CALLBACK_SLA_HOURS"
    )
    """A callback ticket is due this long after the call that opened it; overdue after."""
    caller_hash_key: SecretStr | None = Field(default=None, alias="CALLCENTER_CALLER_HASH_KEY")
    """Key of the HMAC the call history matches caller numbers on (a fixed development key
    when unset; set one per deployment)."""
    webhook_urls: str = Field(default="", alias="CALLCENTER_WEBHOOK_URLS")
    """Comma-separated http(s) URLs that receive each finished call record (redacted)."""
    webhook_secret: SecretStr | None = Field(default=None, alias="CALLCENTER_WEBHOOK_SECRET")
    """HMAC-SHA256 key for the `X-Callcenter-Signature` header; required with webhook URLs."""
    webhook_max_attempts: int = Field(
        default=6, ge=1, le=20, alias="CALLCENTER_WEBHOOK_MAX_ATTEMPTS"
    )
    webhook_backoff_s: float = Field(
        default=30.0, gt=0, le=3600, alias="CALLCENTER_WEBHOOK_BACKOFF_S"
    )
    """Delay before the first retry; each later retry waits three times longer."""
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=60, alias="CALLCENTER_WEBHOOK_TIMEOUT_S"
    )

    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CALLCENTER_REDIS_URL", "REDIS_URL")
    )
    """Optional: workers announce live-board changes and screen-pops on Redis pub/sub and
    console processes wake on them (`callcenter/live/bus.py`) instead of polling the
    database; redis://, rediss:// or unix://. Unset, or Redis unreachable: the database poll.
    A secret (it may carry a password)."""
    redis_channel: str = Field(
        default="callcenter:live",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9:._-]+$",
        alias="CALLCENTER_REDIS_CHANNEL",
    )
    """The pub/sub channel (one per deployment sharing a Redis)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="CALLCENTER_LOG_LEVEL"
    )

    # --- Operations (the worker; docs/operations.md) ---
    health_port: int = Field(default=8081, ge=0, le=65535, alias="CALLCENTER_HEALTH_PORT")
    """LiveKit's health endpoint (`GET /` → 200 OK, `/worker` → JSON status); 0: any free port."""
    metrics_port: int = Field(default=9100, ge=0, le=65535, alias="CALLCENTER_METRICS_PORT")
    """Prometheus `/metrics` of the worker (LiveKit's and the product's); 0 turns it off."""
    drain_timeout_s: int | None = Field(default=None, gt=0, alias="CALLCENTER_DRAIN_TIMEOUT_S")
    """On SIGTERM the worker takes no new call and waits this long for calls under way;
    default: the maximum call duration plus `DRAIN_MARGIN_S`."""
    calls_per_core: float = Field(default=12.0, gt=0, le=64, alias="CALLCENTER_CALLS_PER_CORE")
    """Calls a worker takes per core before it reports itself full to LiveKit (with the
    cores it may use); set from `python -m benchmarks.concurrency` on your hardware."""
    idle_processes: int | None = Field(
        default=None, ge=0, le=256, alias="CALLCENTER_IDLE_PROCESSES"
    )
    """Warm job processes the worker keeps ready for the next calls; default: a quarter of
    its call capacity, at least 2 (`observability.load.idle_processes`, where the reason
    is: an idle worker takes about this many calls arriving in the same instant)."""
    load_counts_cpu: bool = Field(default=True, alias="CALLCENTER_LOAD_COUNTS_CPU")
    """Whether the host's CPU use counts in the load the worker reports
    (`observability.load`): on by default, so calls that cost more than measured still fill
    a worker. Off: only its calls count, for a host shared with other busy services whose CPU
    must not turn the worker away (a single-host compose site, the e2e tests)."""
    otel_endpoint: str | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    """OTLP/HTTP collector for traces (e.g. http://otel-collector:4318); unset: no tracing."""

    @field_validator("drain_timeout_s", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("not a Redis URL: use redis://host:6379/0, rediss://... or unix://")
        try:
            from redis.asyncio.connection import parse_url

            parse_url(url)
        except ValueError as exc:  # the message names the part, never the password
            raise ValueError(f"not a usable Redis URL: {exc}") from None
        return SecretStr(url)

    @field_validator("otel_endpoint")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s):// URL of an OTLP/HTTP collector")
        return value

    @property
    def drain_timeout(self) -> int:
        """Seconds a stopping worker waits for its calls (see `drain_timeout_s`)."""
        if self.drain_timeout_s is not None:
            return self.drain_timeout_s
        return math.ceil(self.max_call_duration_s) + DRAIN_MARGIN_S

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: object) -> object:
        """`OPENAI_API_KEY=` (an empty or blank value, as `.env.example` leaves them) means
        "not set", from any source: the default applies."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (e.g. US, GB, DE)")
        return value

    @field_validator("sip_caller_id_number")
    @classmethod
    def _e164_number(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        from callcenter.telephony.numbers import InvalidPhoneNumber, to_e164

        try:
            return to_e164(value, default_region="US")
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from exc
        return value

    @field_validator("business_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        try:
            WeeklyHours.parse(value)
        except RosterError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("business_holidays")
    @classmethod
    def _valid_holidays(cls, value: str) -> str:
        try:
            parse_holidays(value)
        except RosterError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, value: str) -> str:
        from urllib.parse import urlsplit

        urls = [u.strip() for u in value.split(",") if u.strip()]
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"{url!r} is not an http(s) URL (e.g. https://crm.example.com/hook)"
                )
        return ",".join(urls)

    @model_validator(mode="after")
    def _webhooks_need_a_secret(self) -> Settings:
        if self.webhook_urls and (
            self.webhook_secret is None or len(self.webhook_secret.get_secret_value()) < 16
        ):
            raise ValueError(
                "CALLCENTER_WEBHOOK_URLS needs CALLCENTER_WEBHOOK_SECRET (at least 16 "
                "characters) to sign the deliveries"
            )
        return self

    @property
    def webhook_url_list(self) -> list[str]:
        return [u for u in self.webhook_urls.split(",") if u]

    @model_validator(mode="after")
    def _stale_after_heartbeat(self) -> Settings:
        if self.record_stale_s <= 2 * self.record_heartbeat_s:
            raise ValueError(
                "CALLCENTER_RECORD_STALE_S must be more than twice "
                "CALLCENTER_RECORD_HEARTBEAT_S, or live calls would be swept as interrupted"
            )
        return self

    @model_validator(mode="after")
    def _live_needs_openai(self) -> Settings:
        if self.provider_mode is ProviderMode.LIVE and self.openai_api_key is None:
            raise ValueError(
                "CALLCENTER_PROVIDER_MODE=live needs OPENAI_API_KEY; set it, or use "
                "CALLCENTER_PROVIDER_MODE=degraded to run without providers"
            )
        return self

    @property
    def hours(self) -> BusinessHours:
        """The contact center's opening hours (validated when the settings were loaded)."""
        return BusinessHours.parse(
            timezone=self.business_timezone,
            hours=self.business_hours,
            holidays=self.business_holidays,
        )

    @property
    def use_live_providers(self) -> bool:
        """True when calls are answered by real models (else the degraded mode)."""
        if self.provider_mode is ProviderMode.DEGRADED:
            return False
        return self.openai_api_key is not None

    @property
    def embedded_database(self) -> bool:
        """The embedded SQLite default (no `DATABASE_URL` given): the only database the demo
        customers are seeded into without an explicit `--demo`."""
        return self.database_url == DEFAULT_DATABASE_URL

    @property
    def effective_merge_mode(self) -> MergeMode:
        """`merge_mode` with `auto` resolved from `LIVEKIT_URL` (never `AUTO`)."""
        if self.merge_mode is not MergeMode.AUTO:
            return self.merge_mode
        return MergeMode.CLOUD if is_livekit_cloud(self.livekit_url) else MergeMode.SELF_HOSTED

    def check_merge_mode(self) -> None:
        """Refuse `cloud` merging against a server that is not LiveKit Cloud: it would dial
        and brief a supervisor, then fail to connect them (MoveParticipant is Cloud-only)."""
        if self.merge_mode is MergeMode.CLOUD and not is_livekit_cloud(self.livekit_url):
            raise ConfigError(
                "CALLCENTER_MERGE_MODE=cloud needs LiveKit Cloud (*.livekit.cloud): it connects "
                "supervisors with MoveParticipant, which a self-hosted LiveKit server does not "
                "implement, so every warm transfer would fail after briefing the supervisor. "
                "Use CALLCENTER_MERGE_MODE=self_hosted (or auto) for LIVEKIT_URL "
                f"{_host_of(self.livekit_url)!r}"
            )

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file behind `database_url`, or None for another database."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url.removeprefix(prefix))
        return None

    def require_livekit(self) -> None:
        """Fail fast when the worker is started without LiveKit credentials."""
        missing = [
            name
            for name, value in (
                ("LIVEKIT_URL", self.livekit_url),
                ("LIVEKIT_API_KEY", self.livekit_api_key),
                ("LIVEKIT_API_SECRET", self.livekit_api_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "the worker needs a LiveKit server: set "
                + ", ".join(missing)
                + " (see .env.example); `callcenter console` runs without one"
            )


def _host_of(url: str | None) -> str:
    from urllib.parse import urlparse

    return (urlparse(url).hostname or "") if url else "(not set)"


def load_settings(**overrides: object) -> Settings:
    """Build and validate `Settings`, turning errors into one readable `ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
            lines.append(f"  {alias or field}: {error['msg']}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
