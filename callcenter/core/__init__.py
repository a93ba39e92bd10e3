"""The call core: what a call is and how it may move, with no provider, agent, escalation
or database code in it.

- `phases`: the phases and the transitions between them (the table and its guard).
- `moves`: which tool moves the call from which phase to which (the graph as data).
- `state`: `CallState`, whose methods are the only writers of phase, outcome,
  verification and transfer state.
- `ports`: the Protocols the call uses to reach the world (escalation, account access,
  the phase agents), implemented above this package and handed in by `callcenter.call`.
- `replies`: `ToolReply`, a tool's answer as what to say and what to do next.

Everything above (agents, escalation, behaviours, the worker) imports from here; nothing
here imports from them (tests/architecture checks it).
"""
