"""Live call state for the console, published by the worker that runs each call.

- `publisher.py`: `LivePublisher` writes one snapshot row per call (``live_calls``) when
  something a supervisor watches changes (coalesced: at most one write per `MIN_INTERVAL_S`
  per call, and always the final state), read by the console's live board.
- `screen_pop.py`: `announce_transfer()` mints the opaque token for a warm-transfer dial,
  stores the supervisor's briefing card, and returns the SIP header carrying the token.

The call code needs two hooks, one line each: publish on state changes (phase, verification,
transfers, provider switches, turns) and `announce_transfer` before dialling a supervisor.
"""
