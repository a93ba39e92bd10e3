"""Every validation failure: exit 2, file and field named, and no API call made at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators.livekit import LiveKitEmulator

Json = dict[str, Any]


def _trunk(d: Json) -> Json:
    return d["trunk"]


def _rule(d: Json) -> Json:
    return d["dispatch_rule"]


# (file to edit, mutation, expected text in the error)
CASES: dict[str, tuple[str, Callable[[Json], None], str]] = {
    "misspelt field": (
        "inbound-main.json",
        lambda d: _trunk(d).update(numbrs=["+12025550123"]),
        "inbound-main.json: trunk.numbrs: unknown field for livekit.SIPInboundTrunkInfo; "
        "did you mean 'numbers'?",
    ),
    "misspelt nested field": (
        "dispatch-callers.json",
        lambda d: _rule(d)["room_config"]["agents"][0].update(agentName2="x"),
        "dispatch-callers.json: dispatch_rule.room_config.agents[0].agentName2: unknown field",
    ),
    "wrong value type": (
        "inbound-main.json",
        lambda d: _trunk(d).update(krisp_enabled="yes"),
        "inbound-main.json: trunk.krisp_enabled: Expected true or false without quotes",
    ),
    "unknown top-level field": (
        "outbound-supervisors.json",
        lambda d: d.update(extra=1),
        "outbound-supervisors.json: extra: unexpected top-level field",
    ),
    "invalid number with country": (
        "inbound-main.json",
        lambda d: _trunk(d).update(numbers=["+1555"]),
        "inbound-main.json: trunk.numbers[0]: '+1555' is not a valid number (parsed country: US)",
    ),
    "number not in E.164 form": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).update(numbers=["+1 202 555 0124"]),
        "outbound-supervisors.json: trunk.numbers[0]: '+1 202 555 0124' is not in E.164 form",
    ),
    "unparseable number": (
        "inbound-main.json",
        lambda d: _trunk(d).update(allowed_numbers=["2025550123"]),
        "inbound-main.json: trunk.allowed_numbers[0]",
    ),
    "wrong agent name": (
        "dispatch-callers.json",
        lambda d: _rule(d)["room_config"]["agents"][0].update(agent_name="other-agent"),
        "dispatch-callers.json: dispatch_rule.room_config.agents[0].agent_name: "
        "'other-agent' is not the worker's agent name 'callcenter-agent'",
    ),
    "no agent dispatched": (
        "dispatch-callers.json",
        lambda d: _rule(d).pop("room_config"),
        "dispatch-callers.json: dispatch_rule.room_config.agents: must dispatch",
    ),
    "unknown trunk name": (
        "dispatch-callers.json",
        lambda d: _rule(d).update(trunk_ids=["no-such-trunk"]),
        "dispatch-callers.json: dispatch_rule.trunk_ids[0]: no inbound trunk named 'no-such-trunk'",
    ),
    "rule points at outbound trunk": (
        "dispatch-callers.json",
        lambda d: _rule(d).update(trunk_ids=["callcenter-outbound-supervisors"]),
        "outbound trunks cannot receive calls",
    ),
    "duplicate trunk name": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).update(name="callcenter-inbound-main"),
        "trunk.name: 'callcenter-inbound-main' is already used by",
    ),
    "server-assigned id in file": (
        "inbound-main.json",
        lambda d: _trunk(d).update(sip_trunk_id="ST_abc"),
        "inbound-main.json: trunk.sip_trunk_id: is set by LiveKit",
    ),
    "reserved metadata key": (
        "inbound-main.json",
        lambda d: _trunk(d).update(metadata=json.dumps({"managed_by": "me"})),
        "inbound-main.json: trunk.metadata: keys reserved",
    ),
    "missing rule": (
        "dispatch-callers.json",
        lambda d: _rule(d).pop("rule"),
        "dispatch-callers.json: dispatch_rule.rule: is required",
    ),
    "outbound address as a SIP URI": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).update(address="sip:pbx.example.com"),
        "outbound-supervisors.json: trunk.address: 'sip:pbx.example.com' must be a host or "
        "host:port",
    ),
    "outbound address with a transport parameter": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).update(address="pbx.example.com;transport=tcp"),
        "not a SIP URI; the transport goes in trunk.transport",
    ),
    "outbound without numbers": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).pop("numbers"),
        "outbound-supervisors.json: trunk.numbers: needs at least one number to call from",
    ),
    "outbound without address": (
        "outbound-supervisors.json",
        lambda d: _trunk(d).pop("address"),
        "outbound-supervisors.json: trunk.address: is required",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_validation_failure(
    case: str, cli, rules_dir: Path, livekit_server: LiveKitEmulator
) -> None:
    filename, mutate, expected = CASES[case]
    path = rules_dir / filename
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))

    for command in ("plan", "apply"):
        result = await cli(command)
        assert result.code == 2, (case, result.out, result.err)
        assert filename in result.err
        assert expected in result.err, result.err
        assert "nothing was changed" in result.err
    assert livekit_server.calls == []


async def test_missing_env_var_is_named(
    cli, env: dict[str, str], livekit_server: LiveKitEmulator
) -> None:
    environ = {k: v for k, v in env.items() if k != "CALLCENTER_OUTBOUND_AUTH_PASSWORD"}
    result = await cli("apply", environ=environ)
    assert result.code == 2
    assert (
        "outbound-supervisors.json: trunk.auth_password: environment variable "
        "CALLCENTER_OUTBOUND_AUTH_PASSWORD is not set"
    ) in result.err
    assert livekit_server.calls == []


async def test_conflicting_inbound_trunks(
    cli, rules_dir: Path, livekit_server: LiveKitEmulator
) -> None:
    twin = json.loads((rules_dir / "inbound-main.json").read_text())
    twin["trunk"]["name"] = "callcenter-inbound-twin"
    (rules_dir / "inbound-twin.json").write_text(json.dumps(twin))
    result = await cli("apply")
    assert result.code == 2
    assert "conflicts with 'callcenter-inbound-main'" in result.err
    assert livekit_server.calls == []


async def test_trunks_with_distinct_caller_filters_do_not_conflict(
    cli, rules_dir: Path, livekit_server: LiveKitEmulator
) -> None:
    """Same number, different allowed callers: LiveKit accepts it, so must we."""
    main = json.loads((rules_dir / "inbound-main.json").read_text())
    main["trunk"]["allowed_numbers"] = ["+12025550150"]
    (rules_dir / "inbound-main.json").write_text(json.dumps(main))
    main["trunk"]["name"] = "callcenter-inbound-vip"
    main["trunk"]["allowed_numbers"] = ["+12025550151"]
    (rules_dir / "inbound-vip.json").write_text(json.dumps(main))
    result = await cli("apply")
    assert result.code == 0, result.err
    assert len(livekit_server.inbound) == 2


async def test_conflicting_dispatch_rules(
    cli, rules_dir: Path, livekit_server: LiveKitEmulator
) -> None:
    twin = json.loads((rules_dir / "dispatch-callers.json").read_text())
    twin["dispatch_rule"]["name"] = "callcenter-callers-twin"
    (rules_dir / "dispatch-twin.json").write_text(json.dumps(twin))
    result = await cli("apply")
    assert result.code == 2
    assert "matches the same calls as 'callcenter-callers'" in result.err
    assert livekit_server.calls == []


async def test_file_of_unknown_kind(cli, rules_dir: Path, livekit_server: LiveKitEmulator) -> None:
    (rules_dir / "trunk.json").write_text("{}")
    result = await cli("plan")
    assert result.code == 2
    assert "trunk.json: unknown file kind" in result.err
    assert livekit_server.calls == []


async def test_invalid_json(cli, rules_dir: Path, livekit_server: LiveKitEmulator) -> None:
    (rules_dir / "inbound-main.json").write_text('{"trunk": {')
    result = await cli("plan")
    assert result.code == 2
    assert "inbound-main.json: invalid JSON at line 1" in result.err
    assert livekit_server.calls == []


async def test_usage_error_exits_2(cli) -> None:
    result = await cli()
    assert result.code == 2
