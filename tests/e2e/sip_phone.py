"""A scriptable SIP phone for the end-to-end tests: pjsua2 (PyPI `pjsua2-python`) in its own
process, driven over JSON lines.

pjsua2 allows one `Endpoint` per process, and the tests need several phones at once (the caller,
one or two supervisors), so each `SipPhone` runs `python -m tests.e2e.sip_phone` as a child
process and talks to it over stdin/stdout:

    async with SipPhone.start("caller", port=..., auth=("carrier", "pw")) as phone:
        await phone.call("sip:+12025550123@127.0.0.1:5060", record=path)
        await phone.wait_for("confirmed")
        await phone.play(wav)              # the caller speaks (8/16 kHz WAV)
        await phone.dtmf("1234#")          # RFC 2833 telephone events
        await phone.hangup()

A phone that answers (`answer=200`, or `486`/`603` to refuse, `None` to let it ring) plays
`play_on_answer` in a loop and records the call. A REFER is accepted (202, then the phone
follows it) or refused with `refer=<code>`. Every SIP event the phone sees comes back as an
`Event` with the time on the phone's clock (`time.time()`), so tests can line recordings up
with what was sent. Media runs on pjsua's null sound device (no audio hardware), WAVs in and out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Event:
    kind: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)


class SipPhone:
    """The test side of one phone process."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        name: str,
        *,
        port: int,
        rtp_port: int,
        log_dir: Path,
        user: str = "phone",
        auth: tuple[str, str] | None = None,
        answer: int | None = 200,
        answer_after_s: float = 0.3,
        play_on_answer: Path | None = None,
        hello: Path | None = None,
        record: Path | None = None,
        refer: int = 202,
    ) -> AsyncIterator[SipPhone]:
        argv = [
            sys.executable, "-m", "tests.e2e.sip_phone",
            "--port", str(port),
            "--rtp-port", str(rtp_port),
            "--user", user,
            "--answer", str(answer if answer is not None else 0),
            "--answer-after", str(answer_after_s),
            "--refer", str(refer),
        ]  # fmt: skip
        if auth is not None:
            argv += ["--auth", f"{auth[0]}:{auth[1]}"]
        if play_on_answer is not None:
            argv += ["--play-on-answer", str(play_on_answer)]
        if hello is not None:
            argv += ["--hello", str(hello)]
        if record is not None:
            argv += ["--record", str(record)]
        log = log_dir / f"phone-{name}.log"
        with open(log, "wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=REPO,
            )
        phone = cls(name, proc, log)
        try:
            await phone.wait_for("ready", timeout=15)
            yield phone
        finally:
            await phone.close()

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            ev = Event(raw.pop("event"), raw.pop("t"), raw)
            async with self._changed:
                self.events.append(ev)
                self._changed.notify_all()
        async with self._changed:
            self.events.append(Event("exited", time.time()))
            self._changed.notify_all()

    async def send(self, cmd: str, **args: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()

    def seen(self, kind: str, **match: Any) -> list[Event]:
        return [
            e
            for e in self.events
            if e.kind == kind and all(e.data.get(k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, kind: str, *, timeout: float = 30.0, after: int = 0, **match: Any
    ) -> Event:
        """The first `kind` event (from index `after`) matching `match`; fails with the log."""

        def found() -> Event | None:
            for e in self.events[after:]:
                if e.kind == kind and all(e.data.get(k) == v for k, v in match.items()):
                    return e
                if e.kind == "exited" and kind != "exited":
                    raise AssertionError(f"phone {self.name} exited:\n{self.tail()}")
            return None

        async def wait() -> Event:
            async with self._changed:
                while (ev := found()) is None:
                    await self._changed.wait()
                return ev

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            kinds = [f"{e.kind}{e.data or ''}" for e in self.events[-8:]]
            raise AssertionError(
                f"phone {self.name}: no {kind} {match or ''} within {timeout} s; last: {kinds}"
            ) from None

    async def call(self, to: str, *, record: Path | None = None) -> None:
        await self.send("call", to=to, record=str(record) if record else None)

    async def play(self, wav: Path) -> Event:
        mark = len(self.events)
        await self.send("play", wav=str(wav))
        return await self.wait_for("play_started", after=mark, timeout=10)

    async def dtmf(self, digits: str) -> None:
        await self.send("dtmf", digits=digits)

    async def hangup(self) -> None:
        await self.send("hangup")

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.send("quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 8)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# ============================================================================ the phone process


def _emit(kind: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"event": kind, "t": time.time(), **data}) + "\n")
    sys.stdout.flush()


def main() -> int:
    import argparse

    import pjsua2 as pj

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--user", default="phone")
    parser.add_argument("--auth")
    parser.add_argument("--answer", type=int, default=200)
    parser.add_argument("--answer-after", type=float, default=0.3)
    parser.add_argument("--play-on-answer")
    parser.add_argument("--hello", help="a WAV played once as soon as a call's media is up")
    parser.add_argument("--record")
    parser.add_argument("--refer", type=int, default=202)
    args = parser.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = "callcenter-e2e-phone"
    cfg.logConfig.level = 4
    cfg.logConfig.consoleLevel = 4
    cfg.medConfig.clockRate = 16000
    cfg.medConfig.sndClockRate = 16000
    cfg.medConfig.ecTailLen = 0  # no echo canceller: record exactly what arrives
    cfg.medConfig.noVad = True
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = args.port
    tcfg.boundAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    # G.711 only: what a carrier leg carries, and what the bridge offers first
    for codec in ep.codecEnum2():
        keep = codec.codecId.startswith(("PCMU/", "PCMA/", "telephone-event"))
        ep.codecSetPriority(
            codec.codecId, 200 if codec.codecId.startswith("PCMU/") else (128 if keep else 0)
        )

    keep_alive: list[Any] = []  # players/recorders must outlive the callbacks

    class Call(pj.Call):
        def __init__(self, acc: Any, call_id: int = pj.PJSUA_INVALID_ID, record: str | None = None):
            super().__init__(acc, call_id)
            self.record_path = record
            self.recorder: Any = None
            self.audio: Any = None
            self.greeted = False

        def onCallState(self, prm: Any) -> None:
            ci = self.getInfo()
            state = {
                pj.PJSIP_INV_STATE_CALLING: "calling",
                pj.PJSIP_INV_STATE_INCOMING: "incoming",
                pj.PJSIP_INV_STATE_EARLY: "early",
                pj.PJSIP_INV_STATE_CONNECTING: "connecting",
                pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
                pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
            }.get(ci.state, str(ci.state))
            _emit(
                state,
                code=ci.lastStatusCode,
                reason=ci.lastReason,
                remote=ci.remoteUri,
                call_id=ci.callIdString,
            )
            if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED and self in phone.calls:
                # never delete a Call inside its own callback: the main loop drops it
                phone.calls.remove(self)
                phone.ended.append(self)

        def onCallMediaState(self, prm: Any) -> None:
            ci = self.getInfo()
            for mi in ci.media:
                if mi.type != pj.PJMEDIA_TYPE_AUDIO or mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                    continue
                self.audio = self.getAudioMedia(mi.index)
                if self.record_path and self.recorder is None:
                    self.recorder = pj.AudioMediaRecorder()
                    self.recorder.createRecorder(self.record_path)
                    self.audio.startTransmit(self.recorder)
                    _emit("recording_started", path=self.record_path)
                if phone.loop_player is not None:
                    phone.loop_player.startTransmit(self.audio)
                if args.hello and not self.greeted:
                    self.greeted = True
                    player = pj.AudioMediaPlayer()
                    player.createPlayer(args.hello, pj.PJMEDIA_FILE_NO_LOOP)
                    player.startTransmit(self.audio)
                    keep_alive.append(player)
                    _emit("play_started", wav=args.hello)
                _emit("media_active")

        def onDtmfDigit(self, prm: Any) -> None:
            _emit("dtmf", digit=prm.digit, method=str(prm.method))

        def onCallTransferRequest(self, prm: Any) -> None:
            _emit("transfer_request", to=prm.dstUri, answer=args.refer)
            prm.statusCode = args.refer

        def onCallTransferStatus(self, prm: Any) -> None:
            _emit(
                "transfer_status",
                code=prm.statusCode,
                reason=prm.reason,
                final=bool(prm.finalNotify),
            )

        def onCallReplaced(self, prm: Any) -> None:
            prm.newCall = Call(phone.account, prm.newCallId, args.record)
            phone.calls.append(prm.newCall)

        def onCallTransferStatusDone(self) -> None:  # pragma: no cover - older pjsua name
            pass

    class Account(pj.Account):
        def onIncomingCall(self, prm: Any) -> None:
            call = Call(self, prm.callId, args.record)
            phone.calls.append(call)
            ci = call.getInfo()
            _emit("incoming", remote=ci.remoteUri, local=ci.localUri)
            op = pj.CallOpParam()
            op.statusCode = 180
            call.answer(op)
            if args.answer:
                phone.pending.append((time.time() + args.answer_after, call, args.answer))

    class Phone:
        def __init__(self) -> None:
            self.calls: list[Any] = []
            self.pending: list[tuple[float, Any, int]] = []
            self.ended: list[Any] = []
            self.loop_player: Any = None
            self.account: Any = None

    phone = Phone()
    if args.play_on_answer:
        phone.loop_player = pj.AudioMediaPlayer()
        phone.loop_player.createPlayer(args.play_on_answer, 0)  # loops
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{args.user}@127.0.0.1:{args.port}"
    acfg.mediaConfig.transportConfig.port = args.rtp_port
    acfg.mediaConfig.transportConfig.portRange = 20
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    if args.auth:
        user, _, password = args.auth.partition(":")
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
    account = Account()
    account.create(acfg)
    phone.account = account
    _emit("ready", uri=acfg.idUri)

    buffer = ""
    running = True
    while running:
        ep.libHandleEvents(10)
        while phone.ended:
            done = phone.ended.pop()
            if done.recorder is not None:
                done.recorder = None  # closing the recorder completes the WAV header
                _emit("recording_closed", path=done.record_path)
            del done
        now = time.time()
        for item in [p for p in phone.pending if p[0] <= now]:
            phone.pending.remove(item)
            _, call, code = item
            op = pj.CallOpParam()
            op.statusCode = code
            with contextlib.suppress(Exception):
                call.answer(op) if code < 300 else call.hangup(op)
        ready, _, _ = select.select([sys.stdin], [], [], 0)
        if not ready:
            continue
        chunk = os.read(sys.stdin.fileno(), 65536).decode()
        if not chunk:
            break
        buffer += chunk
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            if not line.strip():
                continue
            cmd = json.loads(line)
            name = cmd.pop("cmd")
            try:
                if name == "quit":
                    running = False
                elif name == "call":
                    call = Call(account, record=cmd.get("record"))
                    phone.calls.append(call)
                    call.makeCall(cmd["to"], pj.CallOpParam(True))
                elif name == "play":
                    player = pj.AudioMediaPlayer()
                    player.createPlayer(cmd["wav"], pj.PJMEDIA_FILE_NO_LOOP)
                    keep_alive.append(player)
                    for call in phone.calls:
                        if call.audio is not None:
                            player.startTransmit(call.audio)
                    _emit("play_started", wav=cmd["wav"])
                elif name == "dtmf":
                    for call in phone.calls:
                        call.dialDtmf(cmd["digits"])
                    _emit("dtmf_sent", digits=cmd["digits"])
                elif name == "hangup":
                    for call in list(phone.calls):
                        call.hangup(pj.CallOpParam(True))
                    _emit("hangup_sent")
            except Exception as exc:  # report, keep the phone alive for the test to see
                _emit("error", cmd=name, error=f"{type(exc).__name__}: {exc}")

    for call in list(phone.calls):
        with contextlib.suppress(Exception):
            call.hangup(pj.CallOpParam(True))
    for _ in range(50):
        ep.libHandleEvents(10)
    # pjsua asserts at exit when Call objects outlive the library: drop them first
    phone.calls.clear()
    phone.ended.clear()
    phone.pending.clear()
    keep_alive.clear()
    phone.loop_player = None
    del account
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
