"""Cold transfer: hand the caller's SIP leg to a supervisor with SIP REFER.

No briefing and no way back once the far end accepts: the caller leaves LiveKit. When
the REFER fails (busy, no answer, rejected, trunk error) the caller is still in the room
with the agent, so the manager records the outcome and tries the next supervisor or
offers a callback.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.escalation.livekit_transfers import LiveKitTransfers, TransferFailed
from callcenter.escalation.result import TransferResult
from callcenter.escalation.roster import Supervisor
from callcenter.vocabulary import TransferOutcome


@dataclass
class ColdTransfer:
    transfers: LiveKitTransfers
    caller_room: str
    caller_identity: str

    async def run(self, supervisor: Supervisor) -> TransferResult:
        """REFER the caller to `supervisor.contact`; CONNECTED when the far end accepted."""
        try:
            await self.transfers.refer(
                room=self.caller_room,
                identity=self.caller_identity,
                transfer_to=supervisor.contact,
            )
        except TransferFailed as failure:
            return TransferResult(failure.outcome, failure.detail)
        return TransferResult(TransferOutcome.CONNECTED, "SIP REFER accepted", supervisor.name)
