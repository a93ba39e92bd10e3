"""Shared constants for the provisioning tests (example deployment values, paths)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "dispatch_rules"

EXAMPLE_ENV = {
    "CALLCENTER_INBOUND_NUMBER": "+12025550123",
    "CALLCENTER_CARRIER_INBOUND_CIDR": "203.0.113.0/24",
    "CALLCENTER_INBOUND_AUTH_USERNAME": "inbound-user",
    "CALLCENTER_INBOUND_AUTH_PASSWORD": "inbound-pa55word-do-not-print",
    "CALLCENTER_CARRIER_OUTBOUND_ADDRESS": "sip.carrier.example",
    "CALLCENTER_OUTBOUND_CALLER_ID": "+12025550124",
    "CALLCENTER_OUTBOUND_AUTH_USERNAME": "outbound-user",
    "CALLCENTER_OUTBOUND_AUTH_PASSWORD": "outbound-pa55word-do-not-print",
}
SECRETS = (
    EXAMPLE_ENV["CALLCENTER_INBOUND_AUTH_PASSWORD"],
    EXAMPLE_ENV["CALLCENTER_OUTBOUND_AUTH_PASSWORD"],
)
