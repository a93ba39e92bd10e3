"""Local emulators of the model providers, for offline tests against the real plugins.

See README.md in this folder for how to script replies and inject faults.
"""

from ._base import EmulatorServer, Faults, RecordedRequest, unused_port
from .deepgram import DeepgramEmulator
from .elevenlabs import ElevenLabsEmulator, SynthesisRecord
from .openai_http import ChatReply, ChatRequest, OpenAIHTTPEmulator, ToolCall
from .openai_realtime import OpenAIRealtimeEmulator, RealtimeReply, RealtimeTurn

__all__ = [
    "ChatReply",
    "ChatRequest",
    "DeepgramEmulator",
    "ElevenLabsEmulator",
    "EmulatorServer",
    "Faults",
    "OpenAIHTTPEmulator",
    "OpenAIRealtimeEmulator",
    "RealtimeReply",
    "RealtimeTurn",
    "RecordedRequest",
    "SynthesisRecord",
    "ToolCall",
    "unused_port",
]
