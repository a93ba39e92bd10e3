"""What happens around the conversation of one call, one concern per module.

Each behaviour is attached to the session by `callcenter.call` in one line and reads or
changes the call only through `CallState`'s methods:

- `transcript`: the redacted caller and agent turns;
- `timers`: the inactivity prompt and hang-up, and the maximum call duration;
- `provider_switches`: every fallback the caller lived through, on the record;
- `realtime_rescue`: the greeting moves to the pipeline when every realtime model failed;
- `call_record`: opens the call record at the start and closes it exactly once at the end.
"""
