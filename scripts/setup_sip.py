"""Provision LiveKit SIP trunks and dispatch rules from `dispatch_rules/`.

    uv run python scripts/setup_sip.py plan            # what would change (changes nothing)
    uv run python scripts/setup_sip.py apply [--prune] # make the changes
    uv run python scripts/setup_sip.py list            # live trunks and rules

Exit codes: 0 ok, 1 LiveKit API error, 2 usage/validation error. See docs/provisioning.md;
the logic lives in `callcenter.provisioning`.
"""

from __future__ import annotations

import sys

from callcenter.provisioning.cli import main

if __name__ == "__main__":
    sys.exit(main())
