"""VERIFICATION: prove the caller's identity before any account data is spoken.

Caller ID must match a customer, plus one factor: the account's ZIP code, the last
four digits of the account number, or the PIN (spoken, or keyed on the phone with the
framework's `GetDtmfTask`). Wrong answers are bounded by
`Settings.verification_max_attempts`; then the call is locked and escalated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from livekit.agents import AgentTask, RunContext, function_tool, llm
from livekit.agents.types import NOT_GIVEN
from pydantic import Field

from callcenter import end_of_turn, prompts
from callcenter.agents.shared_tools import SHARED_TOOLS
from callcenter.barge_in import BackchannelFilter
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.fillers import SilenceFiller
from callcenter.speech import digits_in
from callcenter.telephony.dtmf import KeypadTask
from callcenter.vocabulary import FACTOR_DIGITS, FactorKind, VerificationStatus

_FACTOR_WORDS: dict[FactorKind, str] = {
    "zip": "ZIP code",
    "last_four": "last four digits of the account number",
    "pin": "PIN",
}


@dataclass(frozen=True, slots=True)
class VerificationResult:
    status: VerificationStatus


class VerifyCallerTask(BackchannelFilter, SilenceFiller, AgentTask[VerificationResult]):
    """Ask for one factor and check it; completes with the verification status."""

    expecting = end_of_turn.IDENTITY_FACTOR

    def __init__(self, state: CallState, *, chat_ctx: llm.ChatContext | None = None) -> None:
        self.state = state
        settings = state.deps.settings
        super().__init__(
            instructions=prompts.render(
                "verification",
                company=settings.company_name,
                max_attempts=settings.verification_max_attempts,
            ),
            chat_ctx=chat_ctx if chat_ctx is not None else NOT_GIVEN,
            tools=list(SHARED_TOOLS),
        )

    async def on_enter(self) -> None:
        if self.state.caller is None:
            self.state.no_caller_match()
            self.complete(VerificationResult(VerificationStatus.NO_MATCH))
            return
        self.session.generate_reply(
            instructions=(
                "Say you need to verify their identity first, and ask for the ZIP code on the "
                "account, the last four digits of the account number, or their PIN."
            )
        )

    @function_tool
    async def check_zip_code(
        self,
        ctx: RunContext[CallState],
        zip_code: Annotated[str, Field(description="The five-digit ZIP code the caller said.")],
    ) -> ToolReply:
        """Check the ZIP code on the caller's account."""
        return await self._check("zip", zip_code)

    @function_tool
    async def check_account_last_four(
        self,
        ctx: RunContext[CallState],
        last_four: Annotated[
            str, Field(description="The last four digits of the account number, as said.")
        ],
    ) -> ToolReply:
        """Check the last four digits of the caller's account number."""
        return await self._check("last_four", last_four)

    @function_tool
    async def check_pin(
        self,
        ctx: RunContext[CallState],
        pin: Annotated[str, Field(description="The four-digit PIN the caller said.")],
    ) -> ToolReply:
        """Check the caller's four-digit PIN, when they say it out loud."""
        return await self._check("pin", pin)

    @function_tool
    async def enter_pin_on_keypad(self, ctx: RunContext[CallState]) -> ToolReply:
        """Let the caller key their four-digit PIN on the phone keypad instead of saying it."""
        keyed = await KeypadTask(
            num_digits=4,
            dtmf_input_timeout=5.0,
            chat_ctx=self.chat_ctx.copy(exclude_function_call=True, exclude_instructions=True),
            extra_instructions="Ask the caller to key their four-digit PIN, then press pound.",
        )
        return await self._check("pin", keyed.user_input)

    async def _check(self, kind: FactorKind, raw: str) -> ToolReply:
        state = self.state
        if self.done():
            return ToolReply(do="Verification is already finished.")
        assert state.caller is not None  # on_enter completed the task otherwise
        digits = digits_in(raw)  # "four four two one" as well as "4421"
        expected = FACTOR_DIGITS[kind]
        if len(digits) != expected:
            # a malformed answer is not a wrong answer: do not spend an attempt on it
            return ToolReply(
                say=prompts.line(
                    "verification.wrong_length",
                    factor=_FACTOR_WORDS[kind],
                    expected=expected,
                    given=len(digits),
                ),
                do="Ask them to repeat it.",
            )
        if await state.deps.accounts.check_factor(state.caller.customer_id, kind, digits):
            state.factor_ok(kind)
            state.note(f"verified identity by {_FACTOR_WORDS[kind]}")
            self.complete(VerificationResult(VerificationStatus.VERIFIED))
            return ToolReply(say=prompts.line("verification.verified"))
        remaining = state.factor_wrong()
        if remaining <= 0:
            state.note("identity verification failed too many times")
            self.complete(VerificationResult(VerificationStatus.LOCKED))
            return ToolReply(say=prompts.line("verification.locked"))
        return ToolReply(
            say=prompts.line(
                "verification.no_match",
                remaining=remaining,
                attempts="attempts" if remaining != 1 else "attempt",
            ),
            do="Ask them to try again, or to use another factor.",
        )
