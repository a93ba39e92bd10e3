"""`callcenter start` and `callcenter dev`: the LiveKit worker, with the product's options first.

Our options (log level, ports, drain timeout) are parsed here, applied to the `AgentServer`,
and everything else goes to LiveKit's own CLI (livekit-agents 1.8.9, `livekit.agents.cli`),
e.g. `callcenter start --url wss://... --api-key ...`. What the two commands do in 1.8.9:

- `start` (production): JSON log lines on stdout; the worker reports itself full above a load
  of 0.7 (LiveKit then dispatches calls to other workers), and counts its calls in that load
  (`callcenter.observability.load`: full at `CALLCENTER_CALLS_PER_CORE` × cores calls); one
  idle job process per core kept
  warm; health endpoint on `--port`. On SIGTERM or SIGINT it **drains**: it tells LiveKit it
  takes no new job, waits up to `--drain-timeout` seconds for the calls under way to end, then
  exits (a second signal exits at once, cutting calls).
- `dev` (development): coloured log lines; no load limit; no idle process (each call starts
  one); health endpoint on a free port unless `--port`/`CALLCENTER_HEALTH_PORT` says otherwise.
  On Ctrl-C it exits **without** draining. It does not reload on code changes: 1.8.9 removed
  that from the Python CLI (LiveKit's `lk agent dev` reloads).

Both serve Prometheus metrics on `--metrics-port` (LiveKit's `lk_agents_*` and the product's
`callcenter_*`, see `callcenter.observability.metrics`) and print one line per log event at
`--log-level` (see `callcenter.observability.logs`).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from callcenter.config import ConfigError, Settings
from callcenter.observability import logs

WORKER_COMMANDS = ("start", "dev")

_EPILOG = (
    "Any other option goes to LiveKit's CLI (e.g. --url, --api-key, --api-secret; they default "
    "to LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET). Options default to the CALLCENTER_* "
    "settings named in their help (.env.example)."
)


@dataclass(frozen=True)
class WorkerOptions:
    """What the worker runs with, resolved from the command line and the settings."""

    command: str
    log_level: str
    port: int
    metrics_port: int
    drain_timeout: int | None
    """None under `dev`, which does not drain."""
    capacity: int | None = None
    """Calls before the worker reports itself full (`start`); None under `dev` (no limit)."""
    idle_processes: int | None = None
    """Warm job processes kept ready (`start`); None under `dev` (LiveKit's dev default)."""


def add_worker_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`start` and `dev`, with our options and help; unknown options are LiveKit's."""
    helps = {
        "start": (
            "run the worker in production",
            "Run the worker for production: JSON logs, load limit 0.7, warm idle processes; "
            "on SIGTERM it drains (no new call; calls under way may finish within the drain "
            "timeout), then exits.",
        ),
        "dev": (
            "run the worker for development (no drain, no reload)",
            "Run the worker for development: coloured logs, no load limit, no warm process; "
            "Ctrl-C exits without draining. livekit-agents 1.8.9 has no reload on code "
            "changes in its Python CLI (LiveKit's `lk agent dev` has).",
        ),
    }
    for name, (short, description) in helps.items():
        p = sub.add_parser(name, help=short, description=description, epilog=_EPILOG)
        p.add_argument(
            "--log-level",
            choices=logs.LEVELS,
            type=str.upper,
            help="DEBUG, INFO, WARNING or ERROR, for the worker and its call processes "
            "(default CALLCENTER_LOG_LEVEL, else INFO)",
        )
        port_default = "CALLCENTER_HEALTH_PORT, else 8081" if name == "start" else "a free port"
        p.add_argument(
            "--port",
            type=_port,
            help=f"health endpoint: GET / answers 200 OK, /worker the worker's status as JSON "
            f"(default {port_default})",
        )
        p.add_argument(
            "--metrics-port",
            type=_port,
            help="Prometheus /metrics; 0 turns it off (default CALLCENTER_METRICS_PORT, else 9100)",
        )
        if name == "start":
            p.add_argument(
                "--drain-timeout",
                type=_positive,
                metavar="SECONDS",
                help="on SIGTERM, how long to wait for calls under way (default "
                "CALLCENTER_DRAIN_TIMEOUT_S, else the maximum call duration + 60 s)",
            )


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (0-65535)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0")
    return value


def resolve_options(args: argparse.Namespace, settings: Settings) -> WorkerOptions:
    """Command line first, then the settings (environment), then the command's default."""
    command = args.command
    if args.port is not None:
        port = args.port
    elif command == "start" or "health_port" in settings.model_fields_set:
        port = settings.health_port
    else:
        port = 0  # dev: LiveKit's own dev default, so a dev worker never collides
    capacity = idle = None
    if command == "start":
        from livekit.agents.utils.hw import get_cpu_monitor

        from callcenter.observability.load import idle_processes, worker_capacity

        capacity = worker_capacity(settings.calls_per_core, get_cpu_monitor().cpu_count())
        idle = (
            settings.idle_processes
            if settings.idle_processes is not None
            else idle_processes(capacity)
        )
    return WorkerOptions(
        command=command,
        capacity=capacity,
        idle_processes=idle,
        log_level=args.log_level or settings.log_level,
        port=port,
        metrics_port=settings.metrics_port if args.metrics_port is None else args.metrics_port,
        drain_timeout=(getattr(args, "drain_timeout", None) or settings.drain_timeout)
        if command == "start"
        else None,
    )


def livekit_argv(options: WorkerOptions, rest: list[str]) -> list[str]:
    """The argument list handed to LiveKit's CLI."""
    argv = ["callcenter", options.command, "--log-level", logs.framework_level(options.log_level)]
    if options.command == "dev":
        argv.append("--no-reload")  # 1.8.9 warns that reload is gone unless told
    return argv + rest


def run_worker(options: WorkerOptions, rest: list[str], settings: Settings) -> int:
    """Set logging and metrics up, build the server, and hand over to LiveKit's CLI."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        raise ConfigError(
            "PROMETHEUS_MULTIPROC_DIR is set: unset it. The worker gathers its call processes' "
            "metrics itself (docs/operations.md, Metrics)."
        )
    from livekit.agents import cli

    from callcenter.worker import attach_sweeper, build_server, prepare_worker

    prepare_worker(settings)  # settings checked, the database migrated, before registering
    logs.apply_levels(options.log_level)
    if options.metrics_port:
        from callcenter.observability.metrics import METRICS
        from callcenter.observability.relay import start_relay

        start_relay(METRICS.apply)  # before LiveKit starts job processes: they inherit the path
    extra: dict[str, object] = {}
    if options.capacity is not None:
        from callcenter.observability.load import CallCapacityLoad

        extra["load_fnc"] = CallCapacityLoad(options.capacity, count_cpu=settings.load_counts_cpu)
    if options.idle_processes is not None:
        extra["num_idle_processes"] = options.idle_processes
    server = build_server(port=options.port, prometheus_port=options.metrics_port or None, **extra)
    if options.drain_timeout is not None:
        server.update_options(drain_timeout=options.drain_timeout)
    server.on("worker_started", logs.adopt_worker_handlers)
    attach_sweeper(server, settings)  # interrupted calls closed, hung up; stopped at shutdown
    sys.argv = livekit_argv(options, rest)
    cli.run_app(server)
    return 0
