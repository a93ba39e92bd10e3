"""Read the live SIP state: exactly one list call per resource type.

The list requests carry no filter and no page, which makes LiveKit return every item.
"""

from __future__ import annotations

import asyncio

from livekit import api
from livekit.api.sip_service import SipService

from .model import Kind, Live, is_managed


async def fetch_live(sip: SipService) -> list[Live]:
    """All live inbound trunks, outbound trunks and dispatch rules, managed or not."""
    inbound, outbound, rules = await asyncio.gather(
        sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()),
        sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest()),
        sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()),
    )
    live: list[Live] = []
    for t in inbound.items:
        live.append(Live(Kind.INBOUND, t.sip_trunk_id, t.name, is_managed(t.metadata), t))
    for o in outbound.items:
        live.append(Live(Kind.OUTBOUND, o.sip_trunk_id, o.name, is_managed(o.metadata), o))
    for r in rules.items:
        live.append(Live(Kind.DISPATCH, r.sip_dispatch_rule_id, r.name, is_managed(r.metadata), r))
    return live
