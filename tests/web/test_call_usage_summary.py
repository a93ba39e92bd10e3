"""`behaviours.call_metrics.usage_summary`: the framework's per-model usage as the call
record's totals, one entry per model, kinds the record does not bill left out."""

from __future__ import annotations

from livekit.agents.metrics import (
    AgentSessionUsage,
    EOTModelUsage,
    LLMModelUsage,
    STTModelUsage,
    TTSModelUsage,
)

from callcenter.behaviours.call_metrics import usage_summary


def test_usage_is_totalled_by_kind_with_one_entry_per_model() -> None:
    usage = AgentSessionUsage(
        model_usage=[
            LLMModelUsage(
                provider="openai",
                model="gpt-4o-mini",
                input_tokens=1200,
                input_cached_tokens=800,
                output_tokens=90,
            ),
            LLMModelUsage(provider="openai", model="gpt-4o", input_tokens=300, output_tokens=10),
            TTSModelUsage(
                provider="elevenlabs", model="flash", characters_count=420, audio_duration=21.333
            ),
            STTModelUsage(provider="deepgram", model="nova-3", audio_duration=35.5),
            EOTModelUsage(provider="livekit", model="turn-detector"),
        ]
    )
    summary = usage_summary(usage)
    assert {k: v for k, v in summary.items() if k != "models"} == {
        "llm_prompt_tokens": 1500,
        "llm_prompt_cached_tokens": 800,
        "llm_completion_tokens": 100,
        "tts_characters": 420,
        "tts_audio_s": 21.33,
        "stt_audio_s": 35.5,
    }
    assert [(m["kind"], m["model"]) for m in summary["models"]] == [
        ("llm", "gpt-4o-mini"),
        ("llm", "gpt-4o"),
        ("tts", "flash"),
        ("stt", "nova-3"),
    ]
    assert summary["models"][0]["input_cached_tokens"] == 800
    assert "input_cache_creation_tokens" not in summary["models"][0], "zeros are left out"


def test_no_usage_is_all_zeros() -> None:
    summary = usage_summary(None)
    assert summary["models"] == [] and summary["llm_prompt_tokens"] == 0
