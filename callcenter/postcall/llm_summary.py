"""The call summary from the language model, in the same fixed schema as the template.

Used when live providers are configured (`Settings.use_live_providers`): the model gets the
facts the phase machine recorded (intent, verification, actions, transfers, how it ended) and
the redacted transcript, and must answer with JSON matching `SummaryFields` exactly
(structured output, `strict`). Anything else (no answer within the provider timeout, an
error, JSON that does not validate) returns None and the deterministic template is used; the
disposition never comes from the model.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callcenter.config import Settings
from callcenter.postcall.analysis import SummaryFields
from callcenter.redaction import redact

log = logging.getLogger("callcenter.postcall")

MAX_TRANSCRIPT_CHARS = 12_000
"""The end of a long call matters most for the summary: keep the last this many characters."""

INSTRUCTIONS = (
    "You write the after-call summary a contact-center supervisor reads. Use only the facts "
    "and transcript given. reason: why the customer called, at most 15 words. done: what the "
    "agent did, short phrases, at most 6. outcome: how the call ended, one sentence. "
    "follow_up: what a person must still do, or null. Never include phone numbers, card "
    "numbers, PINs or other identifiers."
)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=300)
    done: list[str] = Field(max_length=10)
    outcome: str = Field(max_length=300)
    follow_up: str | None = Field(max_length=300)


def _json_schema() -> dict[str, Any]:
    return {
        "name": "call_summary",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["reason", "done", "outcome", "follow_up"],
            "properties": {
                "reason": {"type": "string"},
                "done": {"type": "array", "items": {"type": "string"}},
                "outcome": {"type": "string"},
                "follow_up": {"type": ["string", "null"]},
            },
        },
    }


def prompt(record: Any, template: SummaryFields) -> str:
    data: dict[str, Any] = dict(record.data or {})
    facts = {
        "intent": data.get("intent"),
        "verification": (data.get("verification") or {}).get("status"),
        "actions": data.get("actions") or [],
        "transfer_attempts": [
            {k: t.get(k) for k in ("mode", "supervisor", "outcome", "detail")}
            for t in data.get("transfer_attempts") or []
        ],
        "ended": template.outcome,
        "end_reason": data.get("end_reason"),
    }
    lines = [f"{t.get('role')}: {redact(str(t.get('text', '')))}" for t in record.transcript or []]
    transcript = "\n".join(lines)[-MAX_TRANSCRIPT_CHARS:]
    return f"Facts: {json.dumps(facts)}\n\nTranscript:\n{transcript}"


async def llm_summary(
    settings: Settings, record: Any, template: SummaryFields
) -> tuple[SummaryFields, dict[str, Any]] | None:
    """The model's summary and its token usage, or None (then the template is used)."""
    if not settings.use_live_providers or settings.openai_api_key is None:
        return None
    from openai import AsyncOpenAI, OpenAIError

    client = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.provider_timeout_s * 3,
        max_retries=1,
    )
    messages: Any = [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": prompt(record, template)},
    ]
    response_format: Any = {"type": "json_schema", "json_schema": _json_schema()}
    try:
        response = await client.chat.completions.create(
            model=settings.openai_llm_model,
            messages=messages,
            response_format=response_format,
            temperature=0,
        )
        content = response.choices[0].message.content or ""
        parsed = _Schema.model_validate_json(content)
    except (OpenAIError, ValidationError, IndexError) as exc:
        log.warning(
            "LLM summary failed; using the template",
            extra={"call_id": record.call_id, "error": type(exc).__name__},
        )
        return None
    finally:
        await client.close()
    usage = response.usage.model_dump() if response.usage is not None else {}
    fields = SummaryFields(
        reason=redact(parsed.reason),
        done=[redact(d) for d in parsed.done],
        outcome=redact(parsed.outcome),
        follow_up=redact(parsed.follow_up) if parsed.follow_up else None,
    )
    return fields, {
        "model": settings.openai_llm_model,
        **{k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")},
    }
