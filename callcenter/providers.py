"""Every model the product uses is built here, from `Settings`, and nowhere else.

Chains (first healthy link answers; each switch is recorded on the call record):
- pipeline LLM: OpenAI `LLM_MODEL` → OpenAI `LLM_FALLBACK_MODEL` (optionally on a second
  endpoint) → the degraded mode (`callcenter.degraded.DegradedLLM`, no network);
- STT: Deepgram (when its key is set) → OpenAI speech-to-text;
- TTS: ElevenLabs (when its key is set) → OpenAI text-to-speech;
- realtime (greeting agent): `RealtimeModelFallbackAdapter` over two OpenAI realtime
  models. If the realtime chain is down the greeting agent is rebuilt on the pipeline.

In degraded mode (no OpenAI key) only the degraded LLM exists: the console uses text,
and a worker refuses to start (a phone call needs speech in and out).

Timeouts (the silence budget): each LLM attempt gets `CALLCENTER_PROVIDER_TIMEOUT_S`
(default 4 s) before the next link is tried, while the caller hears filler lines
(`callcenter.fillers`); a TTS gets `fillers.TTS_ATTEMPT_TIMEOUT_S` (1.5 s) to start
speaking; OpenAI speech-to-text and text-to-speech requests wait at most the provider
timeout for a byte (the plugins' own read timeout is 30 s).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from livekit.agents import llm, stt, tts
from livekit.agents import vad as vad_mod
from livekit.agents.log import logger as fallback_log
from livekit.agents.tts.fallback_adapter import DEFAULT_FALLBACK_API_CONNECT_OPTIONS
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr

from callcenter.config import Settings
from callcenter.degraded import DegradedLLM
from callcenter.fillers import TTS_ATTEMPT_TIMEOUT_S, capped_openai_client
from callcenter.framework.realtime_chain import GreetingRealtimeChain
from callcenter.provider_clients import chat_client
from callcenter.telephony.audio import CALLER_SAMPLE_RATE

logger = logging.getLogger("callcenter.providers")


@dataclass
class Providers:
    """The models for one call."""

    llm: llm.LLM
    """Pipeline LLM chain (ends in the degraded mode)."""
    stt: stt.STT | None
    tts: tts.TTS | None
    realtime: GreetingRealtimeChain | None
    """The greeting agent's model; None means the greeting agent uses `llm` too."""
    degraded_only: bool
    """True when no provider is configured: everything is the degraded mode."""
    links: dict[str, tuple[object, ...]] = field(default_factory=dict)
    """Each fallback chain's providers in order of preference, by kind (`llm`, `stt`, `tts`,
    `realtime`): the call record names the provider taking over when one goes down."""


DEEPGRAM_DEFAULT_URL = "https://api.deepgram.com/v1/listen"
"""The Deepgram plugin's own default endpoint (its `base_url` takes no NOT_GIVEN)."""


TTS_SAMPLE_RATE = 24000
"""Both TTS providers answer in raw 24 kHz PCM (`ELEVENLABS_OUTPUT_FORMAT`, OpenAI's
`"pcm"`), the rate the room's audio output runs at, so a reply is never decoded or
resampled on its way out. The plugins' defaults are MP3 (ElevenLabs at 22.05 kHz): the MP3
decoder added ~20 ms before the first audio frame of every reply in the latency benchmark
and CPU to every call, and the fallback adapter then resampled ElevenLabs to OpenAI's
24 kHz. Raw PCM costs bandwidth (384 kbit/s while speaking), which a server has."""

DEEPGRAM_ENDPOINTING_MS = 100
"""Silence after which Deepgram finalizes what it heard (the plugin's default is 25 ms).

The final transcript starts the preemptive reply (`callcenter.turn_taking`). At 25 ms
every short pause inside a sentence produced a final, each one restarted the LLM request
and the first TTS sentence, and LiveKit stops preempting after 3 attempts a turn, so a
longer sentence fell back to starting its reply only at the commit. Benchmark, 12 phrases:
25 ms gave 2.75 LLM requests a turn and p50/p95 620/985 ms; 100 ms gives 1 request a turn
and 650/686 ms (BENCHMARKS.md). Turn-taking itself is Silero's job, not Deepgram's."""

ELEVENLABS_OUTPUT_FORMAT: Final[Literal["pcm_24000"]] = "pcm_24000"
"""ElevenLabs' raw PCM at `TTS_SAMPLE_RATE` (see there for why not its MP3 default)."""


def _url(value: str | None) -> NotGivenOr[str]:
    """An endpoint override, or NOT_GIVEN so the plugin keeps its own default."""
    return value if value else NOT_GIVEN


def provider_name(instance: object) -> str:
    """`provider/model` of a model instance (no secrets, no caller data), for the record."""
    if instance is None:
        return "unknown"
    provider = getattr(instance, "provider", "") or type(instance).__name__
    model = getattr(instance, "model", "") or ""
    return f"{provider}/{model}" if model else str(provider)


class _GeneratedTextFilter(logging.Filter):
    """Drop the model's generated text from the framework's fallback log records.

    `llm.FallbackAdapter` logs a stream cut after the first tokens with
    `extra={"text_sent": ..., "tool_calls_sent": ...}`: the reply so far, which can hold
    caller data. The record keeps its (static) message; the text goes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("text_sent", "tool_calls_sent"):
            if hasattr(record, name):
                setattr(record, name, "[redacted]")
        return True


_PII_FILTER = _GeneratedTextFilter()


class BudgetedTTSFallback(tts.FallbackAdapter):
    """`tts.FallbackAdapter` whose per-provider attempt is bounded by the silence budget.

    The adapter gives each TTS the session's `tts_conn_options.timeout` (10 s by default);
    ElevenLabs' per-reply timeout is that value, so a stalled ElevenLabs would keep the
    caller in silence for 10 s before OpenAI TTS is tried. Cap it at `attempt_timeout`.
    """

    def __init__(self, chain: list[tts.TTS], *, attempt_timeout: float) -> None:
        super().__init__(chain, max_retry_per_tts=0)  # retries are the chain's job
        self.attempt_timeout = attempt_timeout

    def _bounded(self, conn_options: APIConnectOptions) -> APIConnectOptions:
        return replace(conn_options, timeout=min(conn_options.timeout, self.attempt_timeout))

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_FALLBACK_API_CONNECT_OPTIONS
    ) -> Any:
        return super().synthesize(text, conn_options=self._bounded(conn_options))

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_FALLBACK_API_CONNECT_OPTIONS
    ) -> Any:
        return super().stream(conn_options=self._bounded(conn_options))


def connect_options(settings: Settings) -> APIConnectOptions:
    """Per-attempt budget for provider requests (retries are the fallback chain's job)."""
    return APIConnectOptions(max_retry=0, timeout=settings.provider_timeout_s, retry_interval=0.1)


def build_providers(settings: Settings, *, vad: vad_mod.VAD | None = None) -> Providers:
    """Build the call's model chains from settings (see the module docstring).

    `vad` segments speech for the non-streaming OpenAI speech-to-text fallback; pass the
    session's VAD (required in live mode).
    """
    degraded = DegradedLLM(company=settings.company_name)
    if _PII_FILTER not in fallback_log.filters:
        fallback_log.addFilter(_PII_FILTER)
    if not settings.use_live_providers:
        return Providers(llm=degraded, stt=None, tts=None, realtime=None, degraded_only=True)

    from livekit.plugins import openai

    assert settings.openai_api_key is not None
    key = settings.openai_api_key.get_secret_value()
    base = _url(settings.openai_base_url)
    fallback_base = _url(settings.openai_fallback_base_url or settings.openai_base_url)

    # the clients share the process's TLS context (callcenter.provider_clients)
    llm_links: list[llm.LLM] = [
        openai.LLM(
            model=settings.openai_llm_model,
            client=chat_client(api_key=key, base_url=settings.openai_base_url),
        ),
        openai.LLM(
            model=settings.openai_llm_fallback_model,
            client=chat_client(
                api_key=key,
                base_url=settings.openai_fallback_base_url or settings.openai_base_url,
            ),
        ),
        degraded,
    ]
    pipeline_llm = llm.FallbackAdapter(
        llm_links,
        attempt_timeout=settings.provider_timeout_s,
        max_retry_per_llm=0,
        retry_interval=0.1,
        # a stream cut after the first words is regenerated by the next link: the caller
        # hears the first words twice rather than a reply that stops mid-sentence
        retry_on_chunk_sent=True,
    )

    stt_chain: list[stt.STT] = []
    if settings.deepgram_api_key is not None:
        from livekit.plugins import deepgram

        stt_chain.append(
            deepgram.STT(
                model=settings.deepgram_model,
                api_key=settings.deepgram_api_key.get_secret_value(),
                base_url=settings.deepgram_base_url or DEEPGRAM_DEFAULT_URL,
                sample_rate=CALLER_SAMPLE_RATE,  # the line's rate: nothing to resample
                endpointing_ms=DEEPGRAM_ENDPOINTING_MS,
            )
        )
    if vad is None:
        raise ValueError("live providers need the session's VAD for the speech-to-text fallback")
    # OpenAI speech requests wait at most the provider timeout for a byte, not the
    # plugins' hard-coded 30 s (callcenter.fillers: the silence budget)
    speech_client = capped_openai_client(
        api_key=key, base_url=settings.openai_base_url, timeout_s=settings.provider_timeout_s
    )
    stt_chain.append(
        stt.StreamAdapter(
            stt=openai.STT(model=settings.openai_stt_model, client=speech_client), vad=vad
        )
    )

    tts_chain: list[tts.TTS] = []
    if settings.elevenlabs_api_key is not None:
        from livekit.plugins import elevenlabs

        tts_chain.append(
            elevenlabs.TTS(
                voice_id=settings.elevenlabs_voice_id,
                model=settings.elevenlabs_model,
                api_key=settings.elevenlabs_api_key.get_secret_value(),
                base_url=_url(settings.elevenlabs_base_url),
                encoding=ELEVENLABS_OUTPUT_FORMAT,
            )
        )
    tts_chain.append(
        openai.TTS(
            model=settings.openai_tts_model,
            voice=settings.openai_tts_voice,
            client=speech_client,
            response_format="pcm",
        )
    )

    # the fallback realtime model lives on the fallback endpoint too (when one is set);
    # no plugin-level retries: a dead model hands over to the next one at once.
    # turn_detection=None: the session decides when the caller is done (Silero plus
    # `callcenter.end_of_turn`), never the model's server VAD, in the greeting as elsewhere
    realtime_models: list[llm.RealtimeModel] = [
        openai.realtime.RealtimeModel(
            model=model,
            voice=settings.openai_realtime_voice,
            api_key=key,
            base_url=url,
            conn_options=connect_options(settings),
            turn_detection=None,
        )
        for model, url in (
            (settings.openai_realtime_model, base),
            (settings.openai_realtime_fallback_model, fallback_base),
        )
    ]
    realtime = GreetingRealtimeChain(realtime_models)
    stt_links: tuple[object, ...] = tuple(stt_chain)
    tts_links: tuple[object, ...] = tuple(tts_chain)
    return Providers(
        llm=pipeline_llm,
        stt=(
            # retries are the chain's job: a dead stream moves to the next link at once
            stt.FallbackAdapter(
                stt_chain,
                attempt_timeout=settings.provider_timeout_s,
                max_retry_per_stt=0,
                retry_interval=0.1,
            )
            if len(stt_chain) > 1
            else stt_chain[0]
        ),
        tts=(
            BudgetedTTSFallback(
                tts_chain,
                # a voice silent this long is abandoned for the next (callcenter.fillers)
                attempt_timeout=min(settings.provider_timeout_s, TTS_ATTEMPT_TIMEOUT_S),
            )
            if len(tts_chain) > 1
            else tts_chain[0]
        ),
        realtime=realtime,
        degraded_only=False,
        links={
            "llm": tuple(llm_links),
            "stt": stt_links,
            "tts": tts_links,
            "realtime": tuple(realtime_models),
        },
    )
