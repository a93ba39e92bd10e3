"""The warm transfer announces each dial to the console (screen-pop) and puts the opaque token
on the SIP INVITE as `X-Callcenter-Call`; the token resolves to that call and supervisor."""

from __future__ import annotations

import dataclasses

from callcenter.data.live_calls import LiveCallStore
from callcenter.live.screen_pop import SIP_HEADER
from tests.escalation.conftest import Harness
from tests.escalation.helpers import OMAR, FakeCtx, make_state

SIP = "livekit.SIP/"


def ctx() -> FakeCtx:
    """A verified caller in the orders phase."""
    return FakeCtx(make_state())  # type: ignore[arg-type]


async def test_the_dial_carries_the_screen_pop_token(harness: Harness) -> None:
    omar = dataclasses.replace(OMAR, id=2)  # a roster row of the seeded database
    manager = harness.build(supervisors=[omar])
    c = ctx()

    await manager.escalate(c, reason="wants to dispute a late delivery")  # type: ignore[arg-type]

    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    token = dial.headers[SIP_HEADER]
    assert len(token) >= 24
    pop = await LiveCallStore(harness.db).screen_pop(token)
    assert pop is not None
    assert (pop.call_id, pop.supervisor_id) == (c.userdata.call.call_id, 2)
    assert pop.briefing["summary"]  # the briefing the supervisor hears, redacted
    assert "+1415" not in repr(pop.briefing)


async def test_a_failed_announcement_never_stops_the_dial(harness: Harness) -> None:
    ghost = dataclasses.replace(OMAR, id=999)  # no such roster row: the pop cannot be stored
    manager = harness.build(supervisors=[ghost])

    await manager.escalate(ctx(), reason="wants a person")  # type: ignore[arg-type]

    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    assert SIP_HEADER not in dial.headers
    assert dial.sip_call_to == OMAR.contact
