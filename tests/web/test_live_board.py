"""The live board from a real `CallState`: publisher -> live_calls -> board API and events;
the screen-pop hook a warm transfer calls."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI

from callcenter.data import Database
from callcenter.live.publisher import LivePublisher, snapshot
from callcenter.live.screen_pop import SIP_HEADER, announce_transfer
from callcenter.phases import Phase
from callcenter.state import CallState, TransferAttempt, TransferOutcome, VerificationStatus
from callcenter.telephony.sip import CallInfo
from tests.web.conftest import Account, client_for, login


def _state(call_id: str = "live-1") -> CallState:
    call = CallInfo.for_console(caller_e164="+14155550142", call_id=call_id)
    return CallState(call=call, deps=cast(Any, None))


def test_snapshot_masks_the_caller_and_follows_the_state() -> None:
    state = _state()
    row = snapshot(state)
    assert row["caller"] == "+1********42" and row["phase"] == "greeting"
    assert "+14155550142" not in repr(row)
    state.transition(Phase.VERIFICATION, reason="orders")
    state.verification.status = VerificationStatus.VERIFIED
    state.verification.method = "zip"
    state.intent = "orders"
    state.transition(Phase.ORDERS, reason="verified")
    state.transfer_attempts.append(
        TransferAttempt(mode="warm", supervisor="Alex Rivera", outcome=TransferOutcome.FAILED)
    )
    row = snapshot(state)
    assert (row["phase"], row["verification"], row["assurance"], row["intent"]) == (
        "orders",
        "verified",
        "by zip",
        "orders",
    )
    assert row["transfers"][0]["supervisor"] == "Alex Rivera" and row["waiting_for_human"]
    assert row["phase_since"] == state.phase_history[-1].at


async def test_board_shows_calls_as_they_move(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    state = _state()
    publisher = LivePublisher(db, state)
    await publisher.flush()
    async with client_for(console_app) as client:
        await login(client, accounts["supervisor"])
        first = (await client.get("/api/live")).json()
        assert first["active"] == 1 and first["per_phase"]["greeting"] == 1
        state.transition(Phase.VERIFICATION, reason="orders")
        writes = 0
        publish = publisher.store.publish

        async def counting(*args: Any, **kwargs: Any) -> None:
            nonlocal writes
            writes += 1
            await publish(*args, **kwargs)

        publisher.store.publish = counting  # type: ignore[method-assign]
        publisher.changed()
        pending = publisher._pending
        publisher.changed()  # inside the window: coalesced into the write already scheduled
        assert pending is not None and publisher._pending is pending
        await pending
        assert writes == 1
        board = (await client.get("/api/live")).json()
        assert board["calls"][0]["phase"] == "verification" and board["version"] > first["version"]
        events = await client.get("/events", params={"board_updates": "true", "once": "true"})
        assert "event: board" in events.text and 'data-phase="verification"' in events.text
        await publisher.ended()
        done = (await client.get("/api/live")).json()
        assert done["active"] == 0 and done["calls"][0]["ended"]
        page = await client.get("/board")
        assert "+1********42" in page.text and "+14155550142" not in page.text


async def test_warm_transfer_pops_a_card_for_that_supervisor_only(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    state = _state("transfer-call")
    state.intent = "billing"
    state.note("checked balance")
    await LivePublisher(db, state).flush()
    async with client_for(console_app) as mine, client_for(console_app) as other:
        await login(mine, accounts["supervisor"])
        await login(other, accounts["other"])
        pop = await announce_transfer(db, state, 1, summary="Caller disputes a late fee.")
        assert pop.sip_headers == {SIP_HEADER: pop.token} and len(pop.token) >= 24
        card = await mine.get("/events", params={"once": "true"})
        assert card.status_code == 200
        # the stream only sends pops newer than its start: a fresh stream has none ...
        assert "event: pop" not in card.text
        page = await mine.get(pop.path)
        assert (
            page.status_code == 200
            and "Caller disputes a late fee." in page.text
            and "checked balance" in page.text
        )
        assert (await other.get(pop.path)).status_code == 404
