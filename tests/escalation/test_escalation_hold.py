"""The caller's hold line as a state machine: its moves, its music and its reassurances."""

from __future__ import annotations

import asyncio

import pytest

from callcenter import prompts
from callcenter.escalation.attempts import HOLD_MOVES, HoldLine, HoldState
from tests.escalation.helpers import FakeLine


def test_connected_and_returned_are_final_and_every_state_can_give_up() -> None:
    assert HOLD_MOVES[HoldState.CONNECTED] == HOLD_MOVES[HoldState.RETURNED] == frozenset()
    live = set(HoldState) - {HoldState.CONNECTED, HoldState.RETURNED}
    assert all(HoldState.RETURNED in HOLD_MOVES[s] for s in live)
    assert {s for s in HoldState if HoldState.CONNECTED in HOLD_MOVES[s]} == {
        HoldState.DIALLING,
        HoldState.BRIEFING,
    }


async def test_a_move_the_table_forbids_raises() -> None:
    hold = HoldLine(FakeLine(), reassure_every_s=60)
    with pytest.raises(RuntimeError, match="from talking to briefing"):
        hold.briefing()
    assert hold.state is HoldState.TALKING


async def test_hold_announces_then_plays_music_until_returned() -> None:
    line = FakeLine()
    seen: list[tuple[HoldState, HoldState]] = []
    hold = HoldLine(line, reassure_every_s=60, on_change=lambda a, b: seen.append((a, b)))
    await hold.hold()
    await hold.hold()  # already holding: nothing said twice
    hold.dialling()
    hold.attempt_failed()
    await hold.returned()
    assert line.events == [
        ("say", prompts.line("escalation.hold")),
        ("hold", True),
        ("hold", False),
    ]
    assert seen == [
        (HoldState.TALKING, HoldState.ON_HOLD),
        (HoldState.ON_HOLD, HoldState.DIALLING),
        (HoldState.DIALLING, HoldState.ON_HOLD),
        (HoldState.ON_HOLD, HoldState.RETURNED),
    ]


async def test_reassurances_cycle_through_the_lines_file_while_on_hold() -> None:
    line = FakeLine()
    variants = prompts.variants("escalation.reassurance")
    hold = HoldLine(line, reassure_every_s=0.01)
    await hold.hold()
    async with asyncio.timeout(10):  # waits for events, asserts no speed
        while len(line.said) < 1 + len(variants) + 1:
            await asyncio.sleep(0.01)
    await hold.returned()
    heard = line.said[1:]
    assert heard[: len(variants) + 1] == [*variants, variants[0]]
    count = len(line.said)
    await asyncio.sleep(0.05)
    assert len(line.said) == count, "no reassurance after the caller is off hold"
