"""The call record: opened when the call starts, closed exactly once when the session
ends, however it ends (goodbye, transfer, hang-up, error, timeout).

On close the state settles its outcome (`CallState.session_closed`), and the record gets
the outcome, the state's JSON (phases, handoffs, transfers, switches) and the redacted
transcript. `closed` is set once the close has begun; `wait_closed()` waits for the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from livekit.agents import AgentSession
from livekit.agents.voice.events import CloseEvent

from callcenter.behaviours.transcript import Transcript
from callcenter.core.state import CallState
from callcenter.data import CallRecordStore
from callcenter.vocabulary import CallOutcome

logger = logging.getLogger("callcenter.call")


class CallRecorder:
    """Writes one call's record through `store`."""

    def __init__(self, state: CallState, store: CallRecordStore, transcript: Transcript) -> None:
        self.state = state
        self.store = store
        self.transcript = transcript
        self.closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        call = self.state.call
        await self.store.open(
            call.call_id,
            call.room_name,
            caller_e164=call.caller_e164,
            dialled_e164=call.dialled_e164,
        )

    def attach(self, session: AgentSession[CallState]) -> CallRecorder:
        session.on("close", self._on_close)
        return self

    def _on_close(self, ev: CloseEvent) -> None:
        self.state.session_closed(error=ev.error is not None)
        self._task = asyncio.create_task(self.close())

    async def close(self) -> None:
        """Persist the final record (idempotent: the first close wins)."""
        if self.closed.is_set():
            return
        self.closed.set()
        state = self.state
        await self.store.close(
            state.call.call_id,
            outcome=state.outcome or CallOutcome.ENDED,
            transferred_to=state.transferred_to,
            data=state.record_data(),
            transcript=self.transcript.as_record(),
            customer_id=state.verified_customer_id,
        )
        logger.info(
            "call record closed",
            extra={"call_id": state.call.call_id, "outcome": str(state.outcome)},
        )

    async def wait_closed(self) -> None:
        await self.closed.wait()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
