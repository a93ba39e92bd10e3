"""Every provider fallback the caller lives through, on the call record and in the log.

The framework's fallback adapters emit `<kind>_availability_changed` with the instance that
went down or came back. The adapters try their links in order, so the provider taking over
is the next link not known to be down; this module keeps that knowledge itself from the
same events, with the links in order from `Providers.links` (no adapter internals read).
The realtime adapter keeps availability per session, so its next link is the next model.
"""

from __future__ import annotations

import logging
from typing import Any

from callcenter.core.state import CallState
from callcenter.providers import Providers, provider_name
from callcenter.vocabulary import ProviderKind

logger = logging.getLogger("callcenter.call")

_EVENT_FIELD: dict[ProviderKind, str] = {
    "llm": "llm",
    "stt": "stt",
    "tts": "tts",
    "realtime": "realtime_model",
}
"""The field of each availability event that holds the instance (public event types)."""


class ProviderSwitches:
    """Records each link of the call's fallback chains that goes down or comes back."""

    def __init__(self, state: CallState) -> None:
        self.state = state

    def attach(self, providers: Providers) -> ProviderSwitches:
        chains: tuple[tuple[ProviderKind, Any], ...] = (
            ("llm", providers.llm),
            ("stt", providers.stt),
            ("tts", providers.tts),
            ("realtime", providers.realtime),
        )
        for kind, chain in chains:
            if chain is None or not hasattr(chain, "on"):
                continue
            links = providers.links.get(kind, ())
            chain.on(f"{kind}_availability_changed", self._recorder(kind, links))
        return self

    def _recorder(self, kind: ProviderKind, links: tuple[object, ...]) -> Any:
        down: set[int] = set()

        def next_link(after: int) -> str:
            for index in range(after + 1, len(links)):
                if index not in down:
                    return provider_name(links[index])
            return "none (every link down)"

        def record(ev: Any) -> None:
            instance = getattr(ev, _EVENT_FIELD[kind], None)
            label = provider_name(instance)
            index = next((i for i, link in enumerate(links) if link is instance), len(links))
            extra = {"call_id": self.state.call.call_id, "kind": kind, "provider": label}
            if ev.available:
                down.discard(index)
                logger.info("provider recovered", extra=extra)
                return
            down.add(index)
            to_provider = next_link(index)
            self.state.provider_switched(kind, label, to_provider, reason="unavailable")
            logger.warning(
                "provider unavailable, falling back", extra={**extra, "to_provider": to_provider}
            )

        return record
