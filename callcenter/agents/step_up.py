"""Step-up before a sensitive action: cancelling an order, starting a return, requesting a
refund need `strong` assurance (`CallState.assurance`): the PIN with a matching caller ID,
or two different factors. A caller verified with less (a ZIP code) is asked for one more
factor, inside the tool, by the verification task itself (same attempt budget, same
audit, same lockout), and the action goes ahead only once the assurance is `strong`.
"""

from __future__ import annotations

from livekit.agents import RunContext

from callcenter import prompts
from callcenter.agents.handoff import spoken_history
from callcenter.agents.verification import OFFER_PERSON, VerifyCallerTask
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.vocabulary import Assurance


async def require_strong(ctx: RunContext[CallState], *, action: str) -> ToolReply | None:
    """None when the caller may `action` now (after a step-up if one was needed); else the
    reply that refuses it (the caller did not complete the check)."""
    state = ctx.userdata
    if state.assurance is Assurance.STRONG:
        return None
    if not state.verified or not state.can_verify:
        return ToolReply(say=prompts.line("verification.locked_for_call"), do=OFFER_PERSON)
    state.start_step_up()
    await VerifyCallerTask(state, chat_ctx=spoken_history(ctx.session), step_up_for=action)
    state.step_up_ended()  # however the task ended, the step is over
    if state.assurance is Assurance.STRONG:
        return None
    if not state.verified:
        return ToolReply(say=prompts.line("verification.locked"), do=OFFER_PERSON)
    return ToolReply(say=prompts.line("verification.step_up_declined", action=action),
                     do=OFFER_PERSON)  # fmt: skip
