"""One agent per long phase (greeting, orders, billing, wrap-up); bounded steps are tasks."""
