"""Test support, one concern per module:

- `emulators/`: local emulators of every service the product calls (OpenAI HTTP and
  realtime, Deepgram, ElevenLabs, LiveKit's Twirp API), started per test by the fixtures
  in tests/conftest.py;
- `scripted_llm.py`: the scripted LLM double that drives `AgentSession.run`;
- `call_states.py`: a `CallState` in any phase, reached by the state's own moves;
- `db.py`: migrated, seeded test databases (SQLite file or a PostgreSQL schema);
- `audio.py`: the committed telephony audio fixtures as frames.
"""
