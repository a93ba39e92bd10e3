"""Names shared by the worker, provisioning and tests.

`AGENT_NAME` is the name the worker registers for explicit dispatch. The dispatch
rules in `dispatch_rules/` must name exactly this agent, or LiveKit will never send
our worker a job; `scripts/setup_sip.py` and a unit test both check that.
"""

from __future__ import annotations

from typing import Final

AGENT_NAME: Final = "callcenter-agent"
"""The `agent_name` the worker registers with LiveKit and dispatch rules reference."""
