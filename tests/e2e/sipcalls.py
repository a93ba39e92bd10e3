"""Helpers shared by the SIP call tests: call rooms on the real server, phones on free ports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from scripts.livekit_local import SIP, free_udp_range, free_udp_tcp_port
from tests.e2e.conftest import CARRIER_AUTH, MAYA, Stack
from tests.e2e.harness import wait_until
from tests.e2e.sip_phone import Event, SipPhone


def lk(stack: Stack) -> api.LiveKitAPI:
    return api.LiveKitAPI(stack.http_url, stack.info.api_key, stack.info.api_secret)


async def participants(stack: Stack, room: str) -> list[api.ParticipantInfo]:
    async with lk(stack) as client:
        found = await client.room.list_participants(api.ListParticipantsRequest(room=room))
    return list(found.participants)


async def call_rooms(stack: Stack) -> dict[str, list[api.ParticipantInfo]]:
    async with lk(stack) as client:
        rooms = (await client.room.list_rooms(api.ListRoomsRequest())).rooms
    return {r.name: await participants(stack, r.name) for r in rooms if r.name.startswith("call-")}


async def new_call_room(stack: Stack, before: set[str]) -> tuple[str, list[api.ParticipantInfo]]:
    """The call room that appeared since `before`, once the caller and our agent are in it."""

    async def found() -> tuple[str, list[api.ParticipantInfo]] | None:
        for name, people in (await call_rooms(stack)).items():
            kinds = {p.kind for p in people}
            if (
                name not in before
                and {
                    api.ParticipantInfo.Kind.SIP,
                    api.ParticipantInfo.Kind.AGENT,
                }
                <= kinds
            ):
                return name, people
        return None

    return await wait_until(found, timeout=60, what="a call room with the caller and our agent")


def kinds(people: list[api.ParticipantInfo]) -> list[str]:
    return sorted(api.ParticipantInfo.Kind.Name(p.kind) for p in people)


def caller_phone(tmp_path: Path, **kw: Any) -> AbstractAsyncContextManager[SipPhone]:
    """Demo customer Maya's phone, authenticating as the carrier."""
    return SipPhone.start(
        "caller",
        port=free_udp_tcp_port(),
        rtp_port=free_udp_range(20)[0],
        log_dir=tmp_path,
        user=MAYA,
        auth=CARRIER_AUTH,
        **kw,
    )


def desk_phone(
    tmp_path: Path, port: int, name: str = "supervisor", **kw: Any
) -> AbstractAsyncContextManager[SipPhone]:
    """A supervisor's phone answering on `port` (the outbound trunk's address, or a URI's)."""
    return SipPhone.start(
        name, port=port, rtp_port=free_udp_range(20)[0], log_dir=tmp_path, user=name, **kw
    )


def at(phone: SipPhone, event: Event | float) -> float:
    """Seconds into `phone`'s recording of an event (or a time.time())."""
    [started] = phone.seen("recording_started")[:1]
    t = event.t if isinstance(event, Event) else event
    return t - started.t


LOST_REFER = "transaction failed to complete (0 intermediate responses)"
"""What livekit-sip v1.11.0 logs when it gives up on an in-dialog REFER within milliseconds
although the phone answered it: its SIP stack (livekit/sipgo, `ClientTx.Init`) arms Timer D
only after sending, so a response arriving in between deletes the transaction at once and the
bridge reads "done" instead of the response half of the time (docs/self-hosting.md). A phone
on loopback under load hits it often; the bridge then neither hangs up after an accepted REFER
nor reports a refused one as refused."""


def caller_call_id(people: list[api.ParticipantInfo]) -> str:
    """The bridge's call id (`sip.callID`) of the caller's leg among `people`."""
    [caller] = [p for p in people if p.kind == api.ParticipantInfo.Kind.SIP]
    return caller.attributes["sip.callID"]


@contextlib.contextmanager
def upstream_refer_race(stack: Stack, call_id: str) -> Iterator[None]:
    """A failed assertion inside is an expected failure, with the bridge's own words, only
    when the bridge logged that it lost this call's REFER (`LOST_REFER`); any other failure
    stays a failure."""
    try:
        yield
    except AssertionError:
        log = Path(stack.info.state_dir) / "livekit-sip.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        if any(call_id in line and LOST_REFER in line for line in lines):
            pytest.xfail(
                f"{SIP.name} {SIP.version} lost the REFER of {call_id} ({LOST_REFER!r}) although "
                "the phone answered it: an upstream race, not the product's"
            )
        raise
