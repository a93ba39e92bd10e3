"""The caller's audio format, end to end.

A phone call is 8 kHz audio (G.711 on the SIP leg): nothing above 4 kHz ever reaches us.
LiveKit's room audio input defaults to 24 kHz, and each consumer then resampled it again
(Deepgram to 16 kHz, Silero to 16 kHz), which is CPU in every call process for no
information. So the session asks the room for 8 kHz once (`room_io.AudioInputOptions`),
and Deepgram and Silero take it as it comes: no resampling in the call process and a third
of the bytes per frame. The agent's own voice is a separate path (see
`callcenter.providers.TTS_SAMPLE_RATE`).
"""

from __future__ import annotations

from typing import Final, Literal

CALLER_SAMPLE_RATE: Final[Literal[8000]] = 8000
"""Sample rate of the caller's audio inside the call process (room input, STT, VAD)."""
