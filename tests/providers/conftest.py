"""The provider contract tests use the emulator fixtures of tests/conftest.py
(`openai_http`, `openai_realtime`, `deepgram`, `elevenlabs`, `http_session`).

The emulators live in ``tests/support/emulators``; see its README for scripting and faults.
"""
