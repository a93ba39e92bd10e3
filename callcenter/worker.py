"""The LiveKit worker: the composition root of a phone call.

    AgentServer (explicit dispatch as AGENT_NAME, Silero VAD prewarmed per process)
      └─ entrypoint(ctx): wait for the caller → CallInfo from sip.* attributes
           → start_call(): identify caller, open record, AgentSession[CallState] on the
             greeting agent → keypad router (DTMF 0 = a person) → run until the session
             closes (hang-up, goodbye, transfer), then leave the room

Once per worker, before it registers (`prepare_worker`): settings and business hours
validated, the database migrated (and the demo data seeded into the embedded SQLite
default). The worker refuses to start without LiveKit credentials or in degraded mode (a
phone call needs speech in and out; the degraded mode is for the terminal console and the
end of fallback chains).

Once per job process, before it takes a call (`prewarm`): settings, the Silero VAD, the
database opened (checked to be at the current migration, never migrated here) and the
escalation wired. A call then only reads `proc.userdata`: nothing on the call path opens
or migrates the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, JobContext, JobProcess, room_io

# The provider plugins, imported in the worker's main process: LiveKit registers plugins at
# import, and on Linux preloads every registered plugin in the forkserver that forks the job
# processes (see JOB_PROCESS_PRELOAD), so no call process imports its own copy.
from livekit.plugins import deepgram, elevenlabs, openai, silero  # noqa: F401

from callcenter.behaviours.call_record import housekeeping
from callcenter.behaviours.sweeper import SweeperTask
from callcenter.call import start_call
from callcenter.config import ConfigError, Settings, load_settings
from callcenter.constants import AGENT_NAME
from callcenter.data import DATABASE_ERRORS, Database, Journal
from callcenter.data.seed import seed_demo
from callcenter.escalation.manager import EscalationManager
from callcenter.escalation.wiring import build_escalation
from callcenter.observability.call_observer import observe_call, observe_job
from callcenter.providers import build_providers
from callcenter.telephony.audio import CALLER_SAMPLE_RATE
from callcenter.telephony.dtmf import KeypadRouter
from callcenter.telephony.sip import CallInfo
from callcenter.turn_taking import process_vad

logger = logging.getLogger("callcenter.worker")


def check_worker_settings(settings: Settings) -> None:
    """Fail fast, with what to set, before the worker registers with LiveKit."""
    settings.require_livekit()
    settings.check_merge_mode()
    if not settings.use_live_providers:
        raise ConfigError(
            "the worker answers real phone calls and needs speech providers: set "
            "OPENAI_API_KEY (and DEEPGRAM_API_KEY, ELEVEN_API_KEY for the preferred voices). "
            "To try the agent without keys, run `callcenter console`."
        )


async def migrate_database(settings: Settings) -> None:
    """Bring the schema to the current migration (and seed the demo customers into the
    embedded SQLite default, never into a `DATABASE_URL` database); then replay this
    machine's journal; then close. (The records of calls that died are the sweeper's,
    once it has watched the database long enough: `behaviours.sweeper`.)"""
    db = await Database.open(settings.database_url, migrate=True)
    try:
        if settings.embedded_database:
            await seed_demo(db)
        await housekeeping(db, Journal(settings.journal_dir))
    finally:
        await db.close()


def prepare_worker(settings: Settings) -> None:
    """In the worker's main process, once, before it registers with LiveKit."""
    check_worker_settings(settings)
    asyncio.run(migrate_database(settings))


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before it takes a call: settings, the Silero VAD model, the
    database and the escalation. (The provider plugins are already imported: this module
    imports them, see `JOB_PROCESS_PRELOAD`.)"""
    settings = load_settings()
    proc.userdata["settings"] = settings
    proc.userdata["vad"] = process_vad()  # loaded in the forkserver (callcenter.preload)
    # `Database.open` returns with an empty pool, so opening it under its own loop here is
    # safe: the first statement of the call connects on the call's loop. Without
    # `migrate=True` it only checks the schema version (SchemaNotCurrentError otherwise).
    # A database that does not answer does not stop the process: its calls go on without
    # account services, and their records go to the journal.
    db, escalation = open_services(settings)
    proc.userdata["db"] = db
    proc.userdata["escalation"] = escalation
    # Everything loaded so far lives as long as the process: keep the garbage collector
    # from re-scanning it (hundreds of thousands of objects) in the middle of a call.
    gc.freeze()


def open_services(settings: Settings) -> tuple[Database, EscalationManager]:
    """The process's database and escalation, within one database timeout.

    LiveKit gives a job process 10 s to initialise (`initialize_process_timeout`). Opening
    the database waits up to `database_timeout_s` (5 s) for a host that does not answer;
    reading the roster after that would wait as long again. So when the open already found
    the database unreachable, the roster is not read: escalations read it on the call
    (`StoreDirectory.roster`), once the database answers."""
    db, reachable = asyncio.run(_open_database(settings))
    escalation = build_escalation(settings, db)
    if reachable:
        asyncio.run(_read_roster(db, escalation))  # kept, for escalations while the db is down
    else:
        logger.warning(
            "supervisor roster not read at process start: the database is unreachable; "
            "escalations read it once it answers"
        )
    return db, escalation


async def _open_database(settings: Settings) -> tuple[Database, bool]:
    """The database, and whether it answered (else it is opened unchecked)."""
    try:
        db = await Database.open(settings.database_url, connect_timeout=settings.database_timeout_s)
    except DATABASE_ERRORS as exc:
        logger.warning(
            "database unreachable at process start: calls run without account services",
            extra={"error": type(exc).__name__},
        )
        return await Database.open(settings.database_url, check=False), False
    return db, True


async def _read_roster(db: Database, escalation: EscalationManager) -> None:
    with contextlib.suppress(*DATABASE_ERRORS):
        await escalation.directory.roster()
    await db.engine.dispose()  # no connection tied to this set-up loop


def _room_options(settings: Settings) -> room_io.RoomOptions:
    """Caller audio at the phone line's 8 kHz (`callcenter.telephony.audio`), cleaned by
    LiveKit's telephony noise cancellation when enabled."""
    noise_cancellation = None
    if settings.noise_cancellation:
        from livekit.plugins import noise_cancellation as nc

        noise_cancellation = nc.BVCTelephony()
    audio_input = room_io.AudioInputOptions(
        sample_rate=CALLER_SAMPLE_RATE, noise_cancellation=noise_cancellation
    )
    return room_io.RoomOptions(
        audio_input=audio_input,
        participant_kinds=[
            rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
            rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
        ],
        close_on_disconnect=True,
    )


async def entrypoint(ctx: JobContext) -> None:
    """Handle one dispatched call, from the caller joining to the record closing."""
    settings: Settings = ctx.proc.userdata["settings"]
    db: Database = ctx.proc.userdata["db"]
    ctx.log_context_fields = {"room": ctx.room.name}
    observe_job(ctx, settings)  # traces (when configured), flushed at shutdown
    await ctx.connect()
    participant = await ctx.wait_for_participant(
        kind=[
            rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
            rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
        ]
    )
    call = CallInfo.from_participant(
        participant, room_name=ctx.room.name, default_region=settings.default_region
    )
    ctx.log_context_fields = {"room": ctx.room.name, "call_id": call.call_id}

    ctx.add_shutdown_callback(db.close)  # the pool only: the process may open it again
    vad = ctx.proc.userdata.get("vad")
    providers = build_providers(settings, vad=vad)
    running = await start_call(
        settings=settings,
        db=db,
        escalation=ctx.proc.userdata["escalation"],
        call=call,
        providers=providers,
        vad=vad,
        room=ctx.room,
        room_options=_room_options(settings),
    )
    observe_call(running.session, running.state, db=db)  # metrics and per-call log fields
    KeypadRouter(running.session, on_key=running.timers.caller_active).attach(ctx.room)
    ctx.add_shutdown_callback(running.wait_closed)
    # When the conversation is over (hang-up, goodbye, or a transfer that connected the caller
    # to a supervisor) the agent leaves the room. The room stays for whoever is still in it:
    # against a real server the job otherwise sat in a merged call, subscribed to both people,
    # until they hung up (tests/e2e/test_sip_warm_transfer.py).
    running.session.on("close", lambda _ev: ctx.shutdown(reason="call session closed"))


JOB_PROCESS_PRELOAD = ["callcenter.worker", "callcenter.preload"]
"""Imported once in LiveKit's forkserver (Linux) before it forks a job process per call.

Job processes then share these modules' memory copy-on-write (LiveKit also freezes them out
of the garbage collector so the pages stay shared) instead of importing their own copy, and
no call pays seconds of import CPU (`callcenter.preload`: what the SDKs import lazily on a
call's first request). `callcenter.worker` pulls in the whole product and,
through the plugin import at the top of this module, the provider plugins and Silero with
onnxruntime (registered plugins are preloaded by LiveKit too). Benchmark: BENCHMARKS.md,
"Concurrency" (memory)."""


def skip_unused_local_inference() -> None:
    """Tell LiveKit not to preload its local inference models (its own VAD and the
    end-of-turn model) into the forkserver: this product uses the Silero plugin and its own
    end-of-turn policy (`callcenter.end_of_turn`; the audio model did not separate pauses
    from ends on our caller audio, BENCHMARKS.md "Turn-taking"), and those weights added
    ~215 MiB to every worker (benchmark). An operator
    who sets `LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE` keeps their value."""
    os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")


class CallCenterServer(AgentServer):
    """LiveKit's `AgentServer` with shutdown callbacks for the main process's own tasks
    (the sweeper). LiveKit's CLI ends every run with `aclose()` (after the drain in
    `start`, at once in `dev`); the callbacks run there, in the order added, before the
    server closes its job processes. 1.8.9 has `worker_started` but no event for the end."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._shutdown_callbacks: list[Callable[[], Awaitable[None]]] = []

    def add_shutdown_callback(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._shutdown_callbacks.append(callback)

    async def aclose(self) -> None:
        callbacks, self._shutdown_callbacks = self._shutdown_callbacks, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                logger.exception("worker shutdown callback failed")
        await super().aclose()


def attach_sweeper(server: CallCenterServer, settings: Settings) -> SweeperTask:
    """Run the `Sweeper` in the worker's main process (interrupted calls closed, their
    callers hung up): started with the worker, cancelled and awaited at its shutdown."""
    sweeper = SweeperTask(settings)
    server.on("worker_started", sweeper.start)
    server.add_shutdown_callback(sweeper.stop)
    return sweeper


def build_server(**options: Any) -> CallCenterServer:
    """The worker, registered for explicit dispatch under `AGENT_NAME`; `options` are
    `AgentServer`'s (ports: `callcenter.serve`)."""
    skip_unused_local_inference()
    server = CallCenterServer(preload_modules=JOB_PROCESS_PRELOAD, **options)
    server.setup_fnc = prewarm
    server.rtc_session(entrypoint, agent_name=AGENT_NAME)
    return server
