"""VERIFICATION: prove the caller's identity before any account data is spoken.

Who the caller claims to be comes first: the customer whose number matches the caller ID,
or, for a caller ringing from another phone, the account they name by account number or
order number. Caller ID is a weak, spoofable signal and never a factor on its own:

- caller ID matched: one factor (ZIP code, last four of the account, or PIN; spoken, or
  the PIN keyed with the framework's `GetDtmfTask`);
- account or order number named: two different factors.

The same task runs as a **step-up** inside a sensitive tool (cancel, return, refund
request) for a caller verified with less than `strong` assurance (`CallState.assurance`).

What holds whatever the model does (it may call any tool, any number of times, in
parallel): answers are checked one at a time (`CallState.one_check`); the call's attempt
budget (`Settings.verification_max_attempts`) counts wrong factors and numbers that
identified nobody, and nothing resets it; every attempt is audited with the caller's number
masked, and an account with too many failures across calls is locked for phone
verification until a supervisor unlocks it (`data.lockouts`): nothing is checked against
a locked account. When account services are down the task ends `unavailable`.
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
from callcenter.core.ports import AccountsUnavailable, CallerMatch
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
MAX_SAID = 64
"""Characters of an answer the task looks at; a longer one is not an answer."""
OFFER_PERSON = "Offer to connect them with a person (transfer_to_human) or a callback."


@dataclass(frozen=True, slots=True)
class VerificationResult:
    status: VerificationStatus
    unavailable: bool = False
    """Account services could not be reached: nothing was decided."""


def _choices(given: list[FactorKind]) -> str:
    left = [_FACTOR_WORDS[k] for k in ("zip", "last_four", "pin") if k not in given]
    return ", or ".join(left) if left else "your PIN"


def _attempts(remaining: int) -> str:
    return "attempts" if remaining != 1 else "attempt"


class VerifyCallerTask(BackchannelFilter, SilenceFiller, AgentTask[VerificationResult]):
    """Identify if needed, then ask for factors and check them; completes with the status.

    `step_up_for`: the action a verified caller asked for ("cancel the order"): ask for one
    more factor until the assurance is `strong`."""

    expecting = end_of_turn.IDENTITY_FACTOR

    def __init__(
        self,
        state: CallState,
        *,
        chat_ctx: llm.ChatContext | None = None,
        step_up_for: str | None = None,
    ) -> None:
        self.state = state
        self.step_up_for = step_up_for
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
        state = self.state
        if not state.verification.running:  # nothing to do (the caller's route checks)
            self._finish(state.verification.status)
            return
        if state.caller is not None:
            try:
                locked = await state.deps.accounts.locked(state.caller.customer_id)
            except AccountsUnavailable:
                self._unavailable()
                return
            if locked:
                state.account_locked()
                self._finish(VerificationStatus.ACCOUNT_LOCKED)
                return
        if self.step_up_for is not None:
            other = _choices(["pin", *state.verification.factors])
            self.session.say(
                prompts.line("verification.step_up", action=self.step_up_for, other=other)
            )
        elif state.caller is None:
            self.session.say(prompts.line("verification.identify"))
        else:
            self.session.generate_reply(
                instructions=(
                    "Say you need to verify their identity first, and ask for the ZIP code on "
                    "the account, the last four digits of the account number, or their PIN."
                )
            )

    # ------------------------------------------------------------------ identification

    @function_tool
    async def identify_by_account_number(
        self,
        ctx: RunContext[CallState],
        account_number: Annotated[
            str, Field(description="The account number as the caller said it.", max_length=200)
        ],
    ) -> ToolReply:
        """Only when the caller's number is on no account: find the account they name by
        its account number. It is not a security check; two factors follow."""
        return await self._identify("account_number", account_number)

    @function_tool
    async def identify_by_order_number(
        self,
        ctx: RunContext[CallState],
        order_number: Annotated[
            str, Field(description="An order number as the caller said it.", max_length=200)
        ],
    ) -> ToolReply:
        """Only when the caller's number is on no account: find their account from one of
        their order numbers. It is not a security check; two factors follow."""
        return await self._identify("order_number", order_number)

    async def _identify(self, how: str, said: str) -> ToolReply:
        state = self.state
        async with state.one_check():
            if self.done() or not state.verification.running:
                return ToolReply(do="Verification is already finished.")
            if state.caller is not None:
                return ToolReply(
                    say=prompts.line("verification.already_identified"),
                    do="Ask for a factor: ZIP code, last four digits, or PIN.",
                )
            accounts = state.deps.accounts
            try:
                found: CallerMatch | None
                if how == "account_number":
                    found = await accounts.identify_by_account(said[:MAX_SAID])
                else:
                    found = await accounts.identify_by_order(said[:MAX_SAID])
                if found is not None and await accounts.locked(found.customer_id):
                    await self._audit(found.customer_id, how, "refused")
                    state.caller_identified(found)
                    state.account_locked()
                    self._finish(VerificationStatus.ACCOUNT_LOCKED)
                    return ToolReply(say=prompts.line("verification.account_locked"))
                await self._audit(found.customer_id if found else None, how,
                                  "ok" if found else "not_found")  # fmt: skip
            except AccountsUnavailable:
                return self._unavailable()
            if found is None:
                remaining = state.factor_wrong()
                if remaining <= 0:
                    state.note("identity verification failed too many times")
                    self._finish(VerificationStatus.LOCKED)
                    return ToolReply(say=prompts.line("verification.locked"))
                return ToolReply(
                    say=prompts.line(
                        "verification.not_identified",
                        remaining=remaining,
                        attempts=_attempts(remaining),
                    ),
                    do="Ask them to check the number, or offer a person or a callback.",
                )
            state.caller_identified(found)
            return ToolReply(
                say=prompts.line("verification.identified"),
                do="Ask for two different factors, one at a time.",
            )

    # ------------------------------------------------------------------ factors

    @function_tool
    async def check_zip_code(
        self,
        ctx: RunContext[CallState],
        zip_code: Annotated[
            str, Field(description="The five-digit ZIP code the caller said.", max_length=200)
        ],
    ) -> ToolReply:
        """Check the ZIP code on the caller's account."""
        return await self._check("zip", zip_code)

    @function_tool
    async def check_account_last_four(
        self,
        ctx: RunContext[CallState],
        last_four: Annotated[
            str,
            Field(
                description="The last four digits of the account number, as said.",
                max_length=200,
            ),
        ],
    ) -> ToolReply:
        """Check the last four digits of the caller's account number."""
        return await self._check("last_four", last_four)

    @function_tool
    async def check_pin(
        self,
        ctx: RunContext[CallState],
        pin: Annotated[
            str, Field(description="The four-digit PIN the caller said.", max_length=200)
        ],
    ) -> ToolReply:
        """Check the caller's four-digit PIN, when they say it out loud."""
        return await self._check("pin", pin)

    @function_tool
    async def enter_pin_on_keypad(self, ctx: RunContext[CallState]) -> ToolReply:
        """Let the caller key their four-digit PIN on the phone keypad instead of saying it."""
        if self.done() or not self.state.verification.running:
            return ToolReply(do="Verification is already finished.")
        keyed = await KeypadTask(
            num_digits=4,
            dtmf_input_timeout=5.0,
            chat_ctx=self.chat_ctx.copy(exclude_function_call=True, exclude_instructions=True),
            extra_instructions="Ask the caller to key their four-digit PIN, then press pound.",
        )
        return await self._check("pin", keyed.user_input)

    @function_tool
    async def stop_verifying(self, ctx: RunContext[CallState]) -> ToolReply:
        """The caller cannot or does not want to verify now (no account number, no
        factors): stop, and offer a person or a callback instead."""
        async with self.state.one_check():
            if self.done() or not self.state.verification.running:
                return ToolReply(do="Verification is already finished.")
            if self.state.verification.step_up:
                self.state.step_up_ended()
                self._finish(VerificationStatus.VERIFIED)
            else:
                self.state.no_caller_match()
                self._finish(VerificationStatus.NO_MATCH)
            return ToolReply(say=prompts.line("verification.stopped"), do=OFFER_PERSON)

    async def _check(self, kind: FactorKind, raw: str) -> ToolReply:
        state = self.state
        async with state.one_check():  # one answer at a time, whatever runs in parallel
            if self.done() or not state.verification.running:
                return ToolReply(do="Verification is already finished.")
            if state.caller is None:
                return ToolReply(
                    say=prompts.line("verification.identify_first"),
                    do="Call identify_by_account_number or identify_by_order_number first.",
                )
            digits = digits_in(raw[:MAX_SAID])  # "four four two one" as well as "4421"
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
            v = state.verification
            if kind in v.factors:
                return ToolReply(
                    say=prompts.line(
                        "verification.already_given",
                        factor=_FACTOR_WORDS[kind],
                        choices=_choices(v.factors),
                    ),
                    do="Ask for a different factor.",
                )
            customer_id = state.caller.customer_id
            accounts = state.deps.accounts
            try:
                if await accounts.locked(customer_id):
                    await self._audit(customer_id, kind, "refused")
                    state.account_locked()
                    self._finish(VerificationStatus.ACCOUNT_LOCKED)
                    return ToolReply(say=prompts.line("verification.account_locked"))
                ok = await accounts.check_factor(customer_id, kind, digits)
                now_locked = await self._audit(customer_id, kind, "ok" if ok else "wrong")
            except AccountsUnavailable:
                return self._unavailable()
            if ok:
                return self._matched(kind)
            remaining = state.factor_wrong()
            if now_locked:
                state.account_locked()
                state.note("account locked for phone verification")
                self._finish(VerificationStatus.ACCOUNT_LOCKED)
                return ToolReply(say=prompts.line("verification.account_locked"))
            if remaining <= 0:
                state.note("identity verification failed too many times")
                self._finish(VerificationStatus.LOCKED)
                return ToolReply(say=prompts.line("verification.locked"))
            return ToolReply(
                say=prompts.line(
                    "verification.no_match", remaining=remaining, attempts=_attempts(remaining)
                ),
                do="Ask them to try again, or to use another factor.",
            )

    def _matched(self, kind: FactorKind) -> ToolReply:
        state = self.state
        if state.factor_ok(kind):
            state.note(f"verified identity by {_FACTOR_WORDS[kind]}")
            self._finish(VerificationStatus.VERIFIED)
            return ToolReply(say=prompts.line("verification.verified"))
        return ToolReply(
            say=prompts.line("verification.one_more", choices=_choices(state.verification.factors)),
            do="Ask for that one more factor.",
        )

    async def _audit(self, customer_id: int | None, factor: str, result: str) -> bool:
        call = self.state.call
        return await self.state.deps.accounts.record_attempt(
            customer_id,
            factor,
            result,  # type: ignore[arg-type]
            call_id=call.call_id,
            caller_e164=call.caller_e164,
        )

    def _unavailable(self) -> ToolReply:
        state = self.state
        if state.verification.step_up:
            state.step_up_ended()
        elif state.verification.running:
            state.no_caller_match()
        self._finish(state.verification.status, unavailable=True)
        return ToolReply(say=prompts.line("accounts.unavailable"), do=OFFER_PERSON)

    def _finish(self, status: VerificationStatus, *, unavailable: bool = False) -> None:
        if not self.done():
            self.complete(VerificationResult(status, unavailable=unavailable))
