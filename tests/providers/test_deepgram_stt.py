"""Contract: livekit-plugins-deepgram STT (v1 websocket + REST) against the Deepgram emulator."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, APIError, APIStatusError, stt
from livekit.plugins import deepgram

from tests.support.audio import load_frames, phrase_text, silence_frames
from tests.support.emulators import DeepgramEmulator

FAST = APIConnectOptions(max_retry=0, timeout=3.0, retry_interval=0.0)


def _stt(emu: DeepgramEmulator, session: aiohttp.ClientSession) -> deepgram.STT:
    return deepgram.STT(base_url=emu.base_url, api_key="test", http_session=session)


async def _run_stream(
    stream: stt.SpeechStream,
    frames: list[rtc.AudioFrame],
    *,
    finals: int | None = None,
    timeout: float = 10.0,
) -> list[stt.SpeechEvent]:
    """Push ``frames`` then end input; collect events until ``finals`` final transcripts and the
    END_OF_SPEECH after the last one arrived (or the stream ends), then close the stream.

    Stopping early matters: after CloseStream the plugin's keepalive task sleeps up to 5 s
    before it notices the closed socket, so waiting for the natural end costs 5 s a test.
    """
    events: list[stt.SpeechEvent] = []

    async def feed() -> None:
        # push_frame raises RuntimeError once the stream died (fault tests): stop feeding then
        with contextlib.suppress(RuntimeError):
            for f in frames:
                stream.push_frame(f)
                await asyncio.sleep(0)
            stream.end_input()

    async def read() -> None:
        n_final = 0
        async for ev in stream:
            events.append(ev)
            if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                n_final += 1
            if (
                finals is not None
                and n_final >= finals
                and ev.type == stt.SpeechEventType.END_OF_SPEECH
            ):
                return

    feeder = asyncio.create_task(feed())
    try:
        await asyncio.wait_for(read(), timeout)
    finally:
        await feeder
        await stream.aclose()
    return events


def _caller_audio(*names: str, rate: int = 16000) -> list[rtc.AudioFrame]:
    frames = silence_frames(200, sample_rate=rate)
    for name in names:
        frames += load_frames(name, sample_rate=rate, frame_ms=20)
        frames += silence_frames(600, sample_rate=rate)
    return frames


async def test_stream_yields_interim_then_final(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    deepgram.transcripts.append(phrase_text("zip_code.wav"))
    events = await _run_stream(
        _stt(deepgram, http_session).stream(conn_options=FAST),
        _caller_audio("zip_code.wav"),
        finals=1,
    )
    kinds = [e.type for e in events if e.type != stt.SpeechEventType.RECOGNITION_USAGE]
    assert kinds[0] == stt.SpeechEventType.START_OF_SPEECH
    interims = [e for e in events if e.type == stt.SpeechEventType.INTERIM_TRANSCRIPT]
    finals = [e for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert interims, "expected interim results while the caller speaks"
    assert kinds.index(stt.SpeechEventType.INTERIM_TRANSCRIPT) < kinds.index(
        stt.SpeechEventType.FINAL_TRANSCRIPT
    )
    assert "my zip code is nine four one zero seven".startswith(interims[0].alternatives[0].text)
    assert [f.alternatives[0].text for f in finals] == ["my zip code is nine four one zero seven"]
    assert stt.SpeechEventType.END_OF_SPEECH in kinds
    # the plugin streamed 16 kHz linear16 and the emulator heard it all
    ws_req = deepgram.requests_for("/v1/listen")[0]
    assert ws_req.query["sample_rate"] == "16000" and ws_req.query["encoding"] == "linear16"
    assert deepgram.audio_bytes > 16000 * 2 * 3  # > 3 s of 16-bit audio
    assert deepgram.utterances == ["my zip code is nine four one zero seven"]


async def test_two_utterances_map_to_scripted_transcripts_in_order(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    deepgram.transcripts.extend([phrase_text("check_order.wav"), phrase_text("yes.wav")])
    events = await _run_stream(
        _stt(deepgram, http_session).stream(conn_options=FAST),
        _caller_audio("check_order.wav", "yes.wav"),
        finals=2,
    )
    finals = [
        e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    ]
    assert finals == ["I want to check on my order", "yes"]
    ends = [e for e in events if e.type == stt.SpeechEventType.END_OF_SPEECH]
    assert len(ends) == 2


async def test_transcriber_callable_gets_the_utterance_audio(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    seen: list[tuple[int, float]] = []

    def transcriber(index: int, pcm: bytes, rate: int) -> str:
        seen.append((index, len(pcm) / 2 / rate))
        return "yes" if len(pcm) / 2 / rate < 1.0 else "something longer"

    deepgram.transcriber = transcriber
    events = await _run_stream(
        _stt(deepgram, http_session).stream(conn_options=FAST),
        _caller_audio("yes.wav", "speak_person.wav"),
        finals=2,
    )
    finals = [
        e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    ]
    assert finals == ["yes", "something longer"]
    # asked for interims while speaking and once more with the whole utterance
    assert sorted({i for i, _ in seen}) == [0, 1]
    last_yes = max(d for i, d in seen if i == 0)
    assert 0.3 < last_yes < 1.0


async def test_recognize_uses_rest_endpoint(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    deepgram.transcripts.append("cancel my order")
    frames = load_frames("cancel_order.wav", sample_rate=16000)
    ev = await _stt(deepgram, http_session).recognize(frames, conn_options=FAST)
    assert ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    assert ev.alternatives[0].text == "cancel my order"
    assert deepgram.counts["listen_rest"] == 1


async def test_stream_closed_mid_utterance_raises(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    deepgram.transcripts.append(phrase_text("order_number.wav"))
    deepgram.faults.close_after_chunks = 1  # SpeechStarted goes out, then the socket dies
    with pytest.raises(APIStatusError) as exc:
        await _run_stream(
            _stt(deepgram, http_session).stream(conn_options=FAST),
            _caller_audio("order_number.wav"),
        )
    assert "closed unexpectedly" in str(exc.value)


async def test_handshake_rejected_with_status(
    deepgram: DeepgramEmulator, http_session: aiohttp.ClientSession
) -> None:
    deepgram.faults.http_status = 401
    with pytest.raises(APIError):
        await _run_stream(
            _stt(deepgram, http_session).stream(conn_options=FAST), _caller_audio("yes.wav")
        )
    assert deepgram.counts["listen_ws"] == 1


async def test_finalize_flushes_open_utterance(http_session: aiohttp.ClientSession) -> None:
    """No trailing silence long enough for the endpointer: the plugin's Finalize (sent on
    end_input/flush) must still produce the final transcript."""
    async with DeepgramEmulator(end_silence_ms=5000) as emu:
        emu.transcripts.append("where is my package")
        frames = load_frames("where_package.wav", sample_rate=16000)
        events = await _run_stream(
            _stt(emu, http_session).stream(conn_options=FAST), frames, finals=1
        )
        assert emu.counts["finalize"] == 1
    finals = [
        e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    ]
    assert finals == ["where is my package"]


async def test_refused_connection_after_stop(http_session: aiohttp.ClientSession) -> None:
    emu = DeepgramEmulator()
    await emu.start()
    await emu.stop()  # the port is closed now
    with pytest.raises(APIConnectionError):
        await _run_stream(
            _stt(emu, http_session).stream(conn_options=FAST), _caller_audio("yes.wav")
        )


@pytest.mark.parametrize("endpointing_ms", [25, 1500])
async def test_client_endpointing_decides_where_utterances_end(
    http_session: aiohttp.ClientSession, endpointing_ms: int
) -> None:
    """With `end_silence_ms=None` the emulator ends an utterance after the silence the plugin
    asked for (`endpointing`), like Deepgram: 25 ms splits a sentence at its pauses, 1.5 s
    keeps it whole. Two phrases 150 ms apart (plus the recordings' own trailing silence,
    about 0.7 s in all) stand in for a pause inside a sentence."""
    rate = 16000
    first = load_frames("check_order.wav", sample_rate=rate, frame_ms=20)
    frames = silence_frames(200, sample_rate=rate) + first + silence_frames(150, sample_rate=rate)
    frames += load_frames("yes.wav", sample_rate=rate, frame_ms=20)
    frames += silence_frames(2000, sample_rate=rate)
    async with DeepgramEmulator(end_silence_ms=None) as emu:
        emu.default_transcript = "words"
        plugin = deepgram.STT(
            base_url=emu.base_url, api_key="test", http_session=http_session,
            endpointing_ms=endpointing_ms,
        )  # fmt: skip
        events = await _run_stream(plugin.stream(conn_options=FAST), frames, finals=1)
    assert emu.requests_for("/v1/listen")[0].query["endpointing"] == str(endpointing_ms)
    [final] = [e for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    first_phrase_end = 0.2 + sum(f.duration for f in first)
    if endpointing_ms == 1500:  # one utterance: it ends after the second phrase
        assert final.alternatives[0].end_time > first_phrase_end + 0.15
    else:  # the pause ended the first utterance
        assert final.alternatives[0].end_time <= first_phrase_end + 0.05
