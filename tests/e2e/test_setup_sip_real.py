"""`scripts/setup_sip.py` against a real livekit-server v1.13.5 (no bridge needed).

plan -> apply -> apply (a no-op) -> list -> --prune, then the errors: a file LiveKit would
refuse never reaches the server, a resource made by hand that collides stops the plan, and
an error the server itself raises is reported with what was and was not applied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from callcenter.provisioning.cli import run
from scripts.livekit_local import StackInfo
from tests.e2e.conftest import provisioning_env
from tests.provisioning.helpers import RULES_DIR


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "dispatch_rules"
    shutil.copytree(RULES_DIR, target, ignore=shutil.ignore_patterns("*.md"))
    return target


@pytest.fixture
def env(fresh_server: StackInfo) -> dict[str, str]:
    return provisioning_env(fresh_server.env(), 5090)


async def setup_sip(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], rules_dir: Path, *argv: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await run([*argv, "--rules-dir", str(rules_dir)], env)
    out = capsys.readouterr()
    return code, out.out, out.err


async def live_state(info: StackInfo) -> dict[str, list[Any]]:
    async with api.LiveKitAPI(info.http_url, info.api_key, info.api_secret) as lk:
        return {
            "inbound": list(
                (await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())).items
            ),
            "outbound": list(
                (await lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())).items
            ),
            "rules": list(
                (await lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())).items
            ),
        }


async def test_plan_apply_apply_list_prune(
    capsys: pytest.CaptureFixture[str],
    fresh_server: StackInfo,
    env: dict[str, str],
    rules_dir: Path,
) -> None:
    code, out, _ = await setup_sip(capsys, env, rules_dir, "plan")
    assert code == 0
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged." in out
    assert await live_state(fresh_server) == {"inbound": [], "outbound": [], "rules": []}

    code, out, err = await setup_sip(capsys, env, rules_dir, "apply")
    assert code == 0, err
    assert "Applied 3 change(s)." in out
    first = await live_state(fresh_server)
    [rule] = first["rules"]
    assert [a.agent_name for a in rule.room_config.agents] == ["callcenter-agent"]
    assert list(rule.trunk_ids) == [first["inbound"][0].sip_trunk_id], "names resolved to ids"

    # the real server fills `media: {}` into the rule it stored; still nothing to do
    assert rule.HasField("media")
    code, out, _ = await setup_sip(capsys, env, rules_dir, "apply")
    assert code == 0
    assert "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged." in out
    assert "Nothing to do: the project already matches the files." in out
    assert await live_state(fresh_server) == first, "a second apply changes nothing"

    code, out, _ = await setup_sip(capsys, env, rules_dir, "list", "--json")
    listed = {(r["kind"], r["name"], r["managed"]) for r in json.loads(out)}
    assert listed == {
        ("inbound_trunk", "callcenter-inbound-main", True),
        ("outbound_trunk", "callcenter-outbound-supervisors", True),
        ("dispatch_rule", "callcenter-callers", True),
    }
    assert "carrier-pa55" not in out and "livekit-pa55" not in out, "passwords never shown"

    # a resource made by hand is never pruned; a managed one that left the files is
    async with api.LiveKitAPI(
        fresh_server.http_url, fresh_server.api_key, fresh_server.api_secret
    ) as lk:
        await lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=api.SIPOutboundTrunkInfo(
                    name="hand-made", address="sip.other.example", numbers=["+12025550999"]
                )
            )
        )
    (rules_dir / "outbound-supervisors.json").unlink()
    code, out, _ = await setup_sip(capsys, env, rules_dir, "plan")
    assert "Not in the files (kept; --prune would delete)" in out
    code, out, err = await setup_sip(capsys, env, rules_dir, "apply", "--prune")
    assert code == 0, err
    assert "- delete outbound trunk 'callcenter-outbound-supervisors'" in out
    after = await live_state(fresh_server)
    assert [t.name for t in after["outbound"]] == ["hand-made"]
    assert len(after["inbound"]) == 1 and len(after["rules"]) == 1


async def test_a_password_change_is_one_partial_update(
    capsys: pytest.CaptureFixture[str],
    fresh_server: StackInfo,
    env: dict[str, str],
    rules_dir: Path,
) -> None:
    assert (await setup_sip(capsys, env, rules_dir, "apply"))[0] == 0
    rotated = {**env, "CALLCENTER_INBOUND_AUTH_PASSWORD": "rotated-pa55"}
    code, out, _ = await setup_sip(capsys, rotated, rules_dir, "apply")
    assert code == 0
    assert "~ update inbound trunk 'callcenter-inbound-main'" in out
    assert "[partial update]" in out and "rotated-pa55" not in out
    [trunk] = (await live_state(fresh_server))["inbound"]
    assert trunk.auth_password == "rotated-pa55", "the real server stored the new password"
    assert "Nothing to do" in (await setup_sip(capsys, rotated, rules_dir, "apply"))[1]


async def test_files_livekit_would_refuse_never_reach_the_server(
    capsys: pytest.CaptureFixture[str],
    fresh_server: StackInfo,
    env: dict[str, str],
    rules_dir: Path,
) -> None:
    """A real server refuses a SIP-URI trunk address mid-apply (after the inbound trunk was
    created); setup_sip now refuses it before any call, naming file and field."""
    bad = {**env, "CALLCENTER_CARRIER_OUTBOUND_ADDRESS": "sip:carrier.example"}
    code, _, err = await setup_sip(capsys, bad, rules_dir, "apply")
    assert code == 2
    assert (
        "outbound-supervisors.json: trunk.address: 'sip:carrier.example' must be a host or "
        "host:port" in err
    )
    assert await live_state(fresh_server) == {"inbound": [], "outbound": [], "rules": []}


async def test_a_hand_made_trunk_on_the_same_number_stops_the_plan(
    capsys: pytest.CaptureFixture[str],
    fresh_server: StackInfo,
    env: dict[str, str],
    rules_dir: Path,
) -> None:
    async with api.LiveKitAPI(
        fresh_server.http_url, fresh_server.api_key, fresh_server.api_secret
    ) as lk:
        await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(
                trunk=api.SIPInboundTrunkInfo(name="console-made", numbers=["+12025550123"])
            )
        )
        # ... which the real server itself would refuse with this message
        with pytest.raises(api.TwirpError) as refused:
            await lk.sip.create_inbound_trunk(
                api.CreateSIPInboundTrunkRequest(
                    trunk=api.SIPInboundTrunkInfo(name="copy", numbers=["+12025550123"])
                )
            )
    assert refused.value.code == "invalid_argument"
    assert refused.value.message.startswith('Conflicting inbound SIP Trunks: "<new>" and "ST_')
    code, _, err = await setup_sip(capsys, env, rules_dir, "plan")
    assert code == 2
    assert (
        "inbound-main.json: trunk.numbers: conflicts with live inbound trunk 'console-made' (ST_"
        in err
    )
    assert len((await live_state(fresh_server))["inbound"]) == 1


async def test_a_server_error_reports_what_was_applied(
    capsys: pytest.CaptureFixture[str],
    fresh_server: StackInfo,
    env: dict[str, str],
    rules_dir: Path,
) -> None:
    """The files are valid, the server refuses anyway (bad credentials): exit 1, said plainly."""
    wrong = {**env, "LIVEKIT_API_SECRET": "not-the-secret-0123456789abcdef0123"}
    code, _, err = await setup_sip(capsys, wrong, rules_dir, "apply")
    assert code == 1
    assert (
        "could not read the live SIP state: LiveKit API error unauthenticated (HTTP 401) "
        "[check LIVEKIT_API_KEY / LIVEKIT_API_SECRET]" in err
    )
    assert "Nothing was changed." in err
