"""setup_sip plan/apply/list/prune against the emulator, through the real livekit-api client."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from livekit import api

from callcenter.constants import AGENT_NAME
from callcenter.provisioning.model import MANAGED_BY, is_managed
from tests.provisioning.helpers import EXAMPLE_ENV, REPO, SECRETS
from tests.support.emulators.livekit import LiveKitEmulator, TwirpFault

LISTS = {
    "livekit.SIP/ListSIPInboundTrunk",
    "livekit.SIP/ListSIPOutboundTrunk",
    "livekit.SIP/ListSIPDispatchRule",
}


def _edit(path: Path, mutate) -> None:
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))


async def test_plan_changes_nothing(cli, livekit_server: LiveKitEmulator) -> None:
    result = await cli("plan")
    assert result.code == 0, result.err
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged." in result.out
    assert {c.method for c in livekit_server.calls} == LISTS
    assert len(livekit_server.calls) == 3
    assert not livekit_server.inbound and not livekit_server.outbound and not livekit_server.rules


async def test_apply_creates_exactly_the_files_resources(
    cli, livekit_server: LiveKitEmulator
) -> None:
    result = await cli("apply")
    assert result.code == 0, result.err
    creates = [c.method for c in livekit_server.mutating_calls()]
    assert sorted(creates) == sorted(
        [
            "livekit.SIP/CreateSIPInboundTrunk",
            "livekit.SIP/CreateSIPOutboundTrunk",
            "livekit.SIP/CreateSIPDispatchRule",
        ]
    )
    (inbound,) = livekit_server.inbound.values()
    (outbound,) = livekit_server.outbound.values()
    (rule,) = livekit_server.rules.values()
    assert list(inbound.numbers) == [EXAMPLE_ENV["CALLCENTER_INBOUND_NUMBER"]]
    assert inbound.auth_password == EXAMPLE_ENV["CALLCENTER_INBOUND_AUTH_PASSWORD"]
    assert outbound.address == EXAMPLE_ENV["CALLCENTER_CARRIER_OUTBOUND_ADDRESS"]
    # The rule refers to the trunk by its live ID, not by name.
    assert list(rule.trunk_ids) == [inbound.sip_trunk_id]
    assert rule.rule.dispatch_rule_individual.room_prefix
    assert [a.agent_name for a in rule.room_config.agents] == [AGENT_NAME]
    assert all(is_managed(r.metadata) for r in (inbound, outbound, rule))
    assert "Applied 3 change(s)." in result.out
    assert "[3/3]" in result.err  # progress


async def test_second_apply_makes_no_mutating_call(cli, livekit_server: LiveKitEmulator) -> None:
    assert (await cli("apply")).code == 0
    livekit_server.reset_calls()
    result = await cli("apply")
    assert result.code == 0, result.err
    assert livekit_server.mutating_calls() == []
    assert "Nothing to do" in result.out
    assert [c.method for c in livekit_server.calls].count("livekit.SIP/ListSIPInboundTrunk") == 1


async def test_edited_number_is_one_partial_update(
    cli, livekit_server: LiveKitEmulator, rules_dir: Path, env: dict[str, str]
) -> None:
    assert (await cli("apply")).code == 0
    livekit_server.reset_calls()
    env["CALLCENTER_INBOUND_NUMBER"] = "+12025550199"
    result = await cli("apply")
    assert result.code == 0, result.err
    (call,) = livekit_server.mutating_calls()
    assert call.method == "livekit.SIP/UpdateSIPInboundTrunk"
    assert call.request.WhichOneof("action") == "update"
    update = call.request.update
    assert list(update.numbers.set) == ["+12025550199"]
    # Only the changed field travels: no password, name or metadata.
    for name in ("auth_password", "auth_username", "name", "metadata"):
        assert not update.HasField(name), name
    (inbound,) = livekit_server.inbound.values()
    assert list(inbound.numbers) == ["+12025550199"]
    assert "numbers" in result.out and "[partial update]" in result.out


async def test_edited_room_prefix_is_one_rule_update(
    cli, livekit_server: LiveKitEmulator, rules_dir: Path
) -> None:
    assert (await cli("apply")).code == 0
    livekit_server.reset_calls()
    _edit(
        rules_dir / "dispatch-callers.json",
        lambda d: d["dispatch_rule"]["rule"]["dispatch_rule_individual"].update(
            room_prefix="caller-"
        ),
    )
    plan = await cli("plan", "--json")
    changes = [c for c in json.loads(plan.out)["changes"] if c["action"] != "unchanged"]
    assert [(c["action"], c["kind"]) for c in changes] == [("update", "dispatch_rule")]
    assert [f["path"] for f in changes[0]["fields"]] == [
        "rule.dispatch_rule_individual.room_prefix"
    ]
    assert (await cli("apply")).code == 0
    (call,) = livekit_server.mutating_calls()
    assert call.method == "livekit.SIP/UpdateSIPDispatchRule"
    assert call.request.update.rule.dispatch_rule_individual.room_prefix == "caller-"
    assert not call.request.update.trunk_ids.set


async def test_field_without_partial_form_uses_replace(
    cli, livekit_server: LiveKitEmulator, rules_dir: Path
) -> None:
    assert (await cli("apply")).code == 0
    livekit_server.reset_calls()
    _edit(
        rules_dir / "dispatch-callers.json",
        lambda d: d["dispatch_rule"].update(hide_phone_number=True),
    )
    assert (await cli("apply")).code == 0
    (call,) = livekit_server.mutating_calls()
    assert call.request.WhichOneof("action") == "replace"
    (rule,) = livekit_server.rules.values()
    assert rule.hide_phone_number and [a.agent_name for a in rule.room_config.agents] == [
        AGENT_NAME
    ]
    assert "0 to update, 0 to delete, 3 unchanged." in (await cli("apply")).out


async def test_password_change_is_detected_and_never_printed(
    cli, livekit_server: LiveKitEmulator, env: dict[str, str]
) -> None:
    first = await cli("apply")
    livekit_server.reset_calls()
    env["CALLCENTER_OUTBOUND_AUTH_PASSWORD"] = "rotated-pa55word-do-not-print"
    plan = await cli("plan")
    second = await cli("apply")
    listing = await cli("list")
    as_json = await cli("plan", "--json")
    (call,) = livekit_server.mutating_calls()
    assert call.method == "livekit.SIP/UpdateSIPOutboundTrunk"
    assert call.request.update.auth_password == "rotated-pa55word-do-not-print"
    assert "auth_password" in plan.out
    for result in (first, plan, second, listing, as_json):
        for secret in (*SECRETS, "rotated-pa55word-do-not-print"):
            assert secret not in result.out and secret not in result.err


async def test_prune_deletes_only_managed_leftovers(
    cli, livekit_server: LiveKitEmulator, rules_dir: Path
) -> None:
    assert (await cli("apply")).code == 0
    # Someone made a trunk by hand: setup_sip must never touch it.
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as lk:
        manual = await lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=api.SIPOutboundTrunkInfo(
                    name="hand-made", address="sip.other.example", numbers=["+12025550999"]
                )
            )
        )
    (rules_dir / "outbound-supervisors.json").unlink()

    kept = await cli("apply")
    assert kept.code == 0
    assert "--prune would delete" in kept.out
    assert len(livekit_server.outbound) == 2

    livekit_server.reset_calls()
    pruned = await cli("apply", "--prune")
    assert pruned.code == 0, pruned.err
    (call,) = livekit_server.mutating_calls()
    assert call.method == "livekit.SIP/DeleteSIPTrunk"
    assert list(livekit_server.outbound) == [manual.sip_trunk_id]
    assert len(livekit_server.inbound) == 1 and len(livekit_server.rules) == 1


async def test_unmanaged_resource_with_same_name_is_refused(
    cli, livekit_server: LiveKitEmulator
) -> None:
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as lk:
        await lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=api.SIPOutboundTrunkInfo(
                    name="callcenter-outbound-supervisors",
                    address="sip.other.example",
                    numbers=["+12025550999"],
                )
            )
        )
    livekit_server.reset_calls()
    result = await cli("apply")
    assert result.code == 2
    assert "not created by setup_sip" in result.err
    assert livekit_server.mutating_calls() == []


async def test_conflict_with_unmanaged_trunk_is_caught_before_apply(
    cli, livekit_server: LiveKitEmulator
) -> None:
    async with api.LiveKitAPI(
        livekit_server.url, livekit_server.api_key, livekit_server.api_secret
    ) as lk:
        await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(
                trunk=api.SIPInboundTrunkInfo(
                    name="console-trunk", numbers=[EXAMPLE_ENV["CALLCENTER_INBOUND_NUMBER"]]
                )
            )
        )
    livekit_server.reset_calls()
    result = await cli("apply")
    assert result.code == 2
    assert "inbound-main.json: trunk.numbers" in result.err
    assert livekit_server.mutating_calls() == []


async def test_auth_failure_is_reported_clearly(
    cli, env: dict[str, str], livekit_server: LiveKitEmulator
) -> None:
    result = await cli("plan", environ={**env, "LIVEKIT_API_SECRET": "wrong-secret-" + "x" * 20})
    assert result.code == 1
    assert "unauthenticated" in result.err
    assert "LIVEKIT_API_KEY / LIVEKIT_API_SECRET" in result.err
    assert "wrong-secret" not in result.err + result.out
    assert all(c.error == "unauthenticated" for c in livekit_server.calls)


async def test_permission_denied_is_reported(cli, livekit_server: LiveKitEmulator) -> None:
    def deny(_req):
        raise TwirpFault("permission_denied", "requires SIP admin grant")

    livekit_server.on("livekit.SIP/ListSIPDispatchRule", deny)
    result = await cli("apply")
    assert result.code == 1
    assert "permission_denied" in result.err and "Nothing was changed" in result.err
    assert livekit_server.mutating_calls() == []


async def test_partial_failure_says_what_was_and_was_not_applied(
    cli, livekit_server: LiveKitEmulator
) -> None:
    def refuse(_req):
        raise TwirpFault("already_exists", "simulated conflict")

    livekit_server.on("livekit.SIP/CreateSIPOutboundTrunk", refuse)
    result = await cli("apply")
    assert result.code == 1
    assert "Apply FAILED after 1 change(s)." in result.out
    assert "applied      create inbound trunk 'callcenter-inbound-main'" in result.out
    assert "failed       create outbound trunk" in result.out and "already_exists" in result.out
    assert "not applied  create dispatch rule 'callcenter-callers'" in result.out
    assert len(livekit_server.inbound) == 1 and not livekit_server.rules


async def test_unreachable_server(cli, env: dict[str, str]) -> None:
    result = await cli("plan", environ={**env, "LIVEKIT_URL": "http://127.0.0.1:9"})
    assert result.code == 1
    assert "cannot reach LiveKit" in result.err


async def test_missing_credentials_exit_2(cli, env: dict[str, str]) -> None:
    environ = {k: v for k, v in env.items() if k != "LIVEKIT_API_SECRET"}
    result = await cli("plan", environ=environ)
    assert result.code == 2
    assert "LIVEKIT_API_SECRET: is not set" in result.err


async def test_list_shows_managed_and_unmanaged(cli, livekit_server: LiveKitEmulator) -> None:
    assert (await cli("apply")).code == 0
    livekit_server.reset_calls()
    result = await cli("list", "--json")
    rows = json.loads(result.out)
    assert {r["kind"] for r in rows} == {"inbound_trunk", "outbound_trunk", "dispatch_rule"}
    assert all(r["managed"] for r in rows)
    assert livekit_server.mutating_calls() == []
    assert MANAGED_BY  # the mark is documented in model.py


async def test_script_runs_as_a_subprocess(
    livekit_server: LiveKitEmulator, rules_dir: Path, env: dict[str, str]
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "scripts" / "setup_sip.py"),
        "apply",
        "--json",
        "--rules-dir",
        str(rules_dir),
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    payload = json.loads(out)
    assert payload["result"]["ok"] is True
    assert payload["plan"]["summary"]["create"] == 3
    assert len(livekit_server.rules) == 1


async def test_hundred_numbers_use_one_list_call_per_type(
    livekit_server: LiveKitEmulator, tmp_path: Path, capsys
) -> None:
    """Scale behaviour (not timing; see benchmarks/provisioning.py for figures)."""
    from benchmarks.provisioning import write_rules
    from callcenter.provisioning.cli import run

    write_rules(tmp_path, numbers=100, trunks=10)
    env = {**livekit_server.env(), "BENCH_PASSWORD": "bench-secret"}
    assert await run(["apply", "--rules-dir", str(tmp_path)], env) == 0
    methods = [c.method for c in livekit_server.calls]
    assert sorted(m for m in methods if "/List" in m) == sorted(LISTS)
    assert methods.count("livekit.SIP/CreateSIPInboundTrunk") == 10
    assert sum(len(t.numbers) for t in livekit_server.inbound.values()) == 100
    (rule,) = livekit_server.rules.values()
    assert set(rule.trunk_ids) == set(livekit_server.inbound)
    livekit_server.reset_calls()
    assert await run(["apply", "--rules-dir", str(tmp_path)], env) == 0
    assert livekit_server.mutating_calls() == [] and len(livekit_server.calls) == 3
    capsys.readouterr()
