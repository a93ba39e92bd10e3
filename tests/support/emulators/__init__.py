"""Local emulators of the services the product calls, for offline tests against the real
clients: the model providers (for the real plugins) and LiveKit's Twirp server API (for the
real `livekit-api` client).

See README.md in this folder for how to script replies and inject faults.
"""

from ._base import EmulatorServer, Faults, RecordedRequest, unused_port
from .deepgram import DeepgramEmulator
from .elevenlabs import ElevenLabsEmulator, SynthesisRecord
from .livekit import LiveKitEmulator, TwirpFault
from .openai_http import ChatReply, ChatRequest, OpenAIHTTPEmulator, ToolCall
from .openai_realtime import OpenAIRealtimeEmulator, RealtimeReply, RealtimeTurn

__all__ = [
    "ChatReply",
    "ChatRequest",
    "DeepgramEmulator",
    "ElevenLabsEmulator",
    "EmulatorServer",
    "Faults",
    "LiveKitEmulator",
    "OpenAIHTTPEmulator",
    "OpenAIRealtimeEmulator",
    "RealtimeReply",
    "RealtimeTurn",
    "RecordedRequest",
    "SynthesisRecord",
    "ToolCall",
    "TwirpFault",
    "unused_port",
]
