"""SIP provisioning: `dispatch_rules/*.json` (desired state) -> a live LiveKit project.

The pipeline, one module per step, is what `scripts/setup_sip.py` runs:

1. `spec`     reads the JSON files (the shape `lk sip ... create FILE` takes), substitutes
              `${VAR}` from the environment and parses strictly into LiveKit's own protobuf
              request types.
2. `validate` checks what protobuf cannot: E.164 numbers, unique names, trunk references,
              the agent name, and LiveKit's own conflict rules.
3. `live`     fetches the live trunks and rules (one list call per resource type).
4. `diff`     compares desired and live into a `Plan` of creates, updates and deletes.
5. `apply`    executes a plan in a safe order and reports what was and was not applied.
6. `render`   prints plans, results and tables as text or JSON, never printing a secret.

What this tool "manages" is marked on the resource itself: see `model.MANAGED_BY`.
"""
