"""A real LiveKit on this machine: livekit-server, the livekit-sip bridge and Redis on 127.0.0.1.

    uv run python scripts/livekit_local.py up [--no-sip]   # build if missing, start, wait healthy
    uv run python scripts/livekit_local.py status          # what runs, and whether it is healthy
    uv run python scripts/livekit_local.py env             # export lines for the worker/setup_sip
    uv run python scripts/livekit_local.py down            # stop what `up` started
    uv run python scripts/livekit_local.py build           # only build/check the two binaries

Binaries live in a cache outside the repository (`$LIVEKIT_BIN_DIR`, default
~/.cache/livekit-bin) and are built from the Go module proxy at pinned versions with
`go install` when missing (livekit-server v1.13.5: pure Go, about 2 minutes on 2 cores).
livekit-sip v1.11.0 needs CGO and Debian's `pkg-config libopus-dev libopusfile-dev
libsoxr-dev`; where the Go proxy refuses the module (it answers 403 "not available" for
github.com/livekit/sip on some networks), point `LIVEKIT_SIP_BIN` at a binary built
elsewhere, or run `up --no-sip` for a server without phone calls. `LIVEKIT_SERVER_BIN`
does the same for the server.

Configs are `deploy/local/livekit.yaml` and `deploy/local/sip.yaml`; `up` renders them with
the bridge's credentials, URL and Redis filled in from the server's file into the state
directory (`var/livekit-local/`, logs there too). Redis: one answering at the configured
address is used as is; otherwise `up` starts a throwaway `redis-server` and `down` stops it.

No half-started stack: a port in use, a missing binary or Debian package, a failed build or
a component that does not become healthy stops everything `up` started, with one message
saying what and how to fix it (exit 1). The end-to-end tests (tests/e2e) use `LocalStack`
from this module with their own free ports and their own Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "deploy" / "local"
DEFAULT_STATE_DIR = REPO / "var" / "livekit-local"
BUILD_TIMEOUT_S = 1800


class StackError(Exception):
    """Something the operator must fix; the message says what and how."""


# --------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class BinarySpec:
    """One Go program, pinned: how to build it and how to recognise a good binary."""

    name: str
    package: str
    version: str
    installed_as: str
    env_var: str
    cgo: bool = False
    pkg_config: tuple[str, ...] = ()
    debian: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return self.package.split("/cmd/")[0]

    def version_matches(self, text: str) -> bool:
        return self.version.lstrip("v") in text


SERVER = BinarySpec(
    name="livekit-server",
    package="github.com/livekit/livekit-server/cmd/server",
    version="v1.13.5",
    installed_as="server",
    env_var="LIVEKIT_SERVER_BIN",
)
SIP = BinarySpec(
    name="livekit-sip",
    package="github.com/livekit/sip/cmd/livekit-sip",
    version="v1.11.0",
    installed_as="livekit-sip",
    env_var="LIVEKIT_SIP_BIN",
    cgo=True,
    pkg_config=("opus", "opusfile", "soxr"),
    debian=("pkg-config", "libopus-dev", "libopusfile-dev", "libsoxr-dev"),
)
PROXY_REFUSAL_MARKERS = ("403 Forbidden", "not available", "410 Gone")


def bin_dir() -> Path:
    """Where built binaries are cached (never inside the repository)."""
    return Path(os.environ.get("LIVEKIT_BIN_DIR") or Path.home() / ".cache" / "livekit-bin")


def binary_version(path: Path) -> str:
    """`<binary> --version` output (empty when it does not run)."""
    try:
        done = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def failure_note(spec: BinarySpec) -> Path:
    """Where the last failed build of `spec` at its pinned version left its reason, so the
    e2e tests can skip saying why (CI builds with `build --allow-missing-sip` first)."""
    return bin_dir() / f"{spec.name}-{spec.version}.build-failed"


def find_binary(spec: BinarySpec) -> tuple[Path | None, str]:
    """The binary to use without building: ($ENV or cache) and why not, when none fits."""
    override = os.environ.get(spec.env_var)
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            return None, f"{spec.env_var}={override} is not an executable file"
        return path, ""
    path = bin_dir() / spec.name
    if not path.is_file():
        try:
            failed = failure_note(spec).read_text().strip()
        except OSError:
            return None, f"no {spec.name} in {bin_dir()}"
        return None, f"no {spec.name} in {bin_dir()}; its last build failed: {failed}"
    version = binary_version(path)
    if not spec.version_matches(version):
        return None, f"{path} reports {version or 'nothing'!r}, not {spec.version}"
    return path, ""


def missing_debian_packages(spec: BinarySpec) -> list[str]:
    """The Debian -dev packages a CGO build still needs (checked with pkg-config)."""
    if not spec.pkg_config:
        return []
    if shutil.which("pkg-config") is None:
        return list(spec.debian)
    missing = []
    for module, package in zip(spec.pkg_config, spec.debian[1:], strict=True):
        ok = subprocess.run(["pkg-config", "--exists", module], check=False).returncode == 0
        if not ok:
            missing.append(package)
    return missing


def build_binary(spec: BinarySpec, *, log: Any = print) -> Path:
    """`go install <package>@<version>` into the cache; raises `StackError` saying why not."""
    go = shutil.which("go")
    if go is None:
        raise StackError(
            f"{spec.name} {spec.version} is not built and `go` is not installed: install Go "
            f"1.26+ (https://go.dev/dl/), or set {spec.env_var} to a prebuilt binary"
        )
    missing = missing_debian_packages(spec)
    if missing:
        raise StackError(
            f"{spec.name} needs CGO libraries that are missing: apt-get install -y "
            + " ".join(missing)
        )
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target) as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "1" if spec.cgo else "0"}
        log(f"building {spec.name} {spec.version} (go install {spec.package}@{spec.version}) ...")
        started = time.monotonic()
        try:
            done = subprocess.run(
                [go, "install", f"{spec.package}@{spec.version}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"building {spec.name} took over {BUILD_TIMEOUT_S} s") from exc
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            if any(marker in output for marker in PROXY_REFUSAL_MARKERS):
                raise StackError(
                    f"the Go module proxy refuses {spec.module}@{spec.version} "
                    f"({_last_line(output)}), so {spec.name} cannot be built here. Set "
                    f"{spec.env_var} to a {spec.name} {spec.version} built elsewhere"
                    + (", or run `up --no-sip` (no phone calls)" if spec.name == SIP.name else "")
                )
            tail = "\n  ".join(output.splitlines()[-12:])
            raise StackError(f"building {spec.name} failed:\n  {tail}")
        built = Path(gobin) / spec.installed_as
        final = target / spec.name
        os.replace(built, final)
    log(f"built {final} in {time.monotonic() - started:.0f} s")
    return final


def ensure_binary(spec: BinarySpec, *, build: bool = True, log: Any = print) -> Path:
    """The binary to run: $ENV override, the cached one, or a fresh build."""
    path, why = find_binary(spec)
    if path is not None:
        if os.environ.get(spec.env_var):
            version = binary_version(path)
            if not spec.version_matches(version):
                log(
                    f"note: {spec.env_var} reports {version!r}; this kit is tested with "
                    f"{spec.version}"
                )
        return path
    if os.environ.get(spec.env_var) or not build:
        raise StackError(f"{spec.name}: {why}")
    note = failure_note(spec)
    try:
        built = build_binary(spec, log=log)
    except StackError as exc:
        with contextlib.suppress(OSError):
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(f"{exc}\n")
        raise
    note.unlink(missing_ok=True)
    return built


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --------------------------------------------------------------------------- settings


@dataclass
class StackConfig:
    """Ports and places of one local stack. Defaults are `deploy/local/*.yaml`'s."""

    state_dir: Path = DEFAULT_STATE_DIR
    http_port: int = 7880
    rtc_tcp_port: int = 7881
    rtc_udp_port: int = 7882
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0
    own_redis: bool = False
    """Always start a private redis-server (tests), instead of using one that answers."""
    sip: bool = True
    sip_port: int = 5060
    sip_health_port: int = 8081
    rtp_ports: tuple[int, int] = (10000, 10199)
    build: bool = True
    """Build missing binaries (`up`); the tests only use binaries already there."""

    @classmethod
    def from_files(cls, **overrides: Any) -> StackConfig:
        """Defaults read from the committed YAML files, then `overrides`."""
        lk = load_yaml(CONFIG_DIR / "livekit.yaml")
        sip = load_yaml(CONFIG_DIR / "sip.yaml")
        host, _, port = str(lk["redis"]["address"]).rpartition(":")
        start, _, end = str(sip["rtp_port"]).partition("-")
        values: dict[str, Any] = {
            "http_port": int(lk["port"]),
            "rtc_tcp_port": int(lk["rtc"]["tcp_port"]),
            "rtc_udp_port": int(lk["rtc"]["udp_port"]),
            "redis_host": host,
            "redis_port": int(port),
            "redis_db": int(lk["redis"].get("db", 0)),
            "sip_port": int(sip["sip_port"]),
            "sip_health_port": int(sip["health_port"]),
            "rtp_ports": (int(start), int(end or start)),
        }
        values.update(overrides)
        return cls(**values)


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise StackError(f"{path}: expected a YAML mapping")
    return data


@dataclass
class StackInfo:
    """What a client needs: printed by `up`, returned to the tests."""

    url: str
    api_key: str
    api_secret: str
    redis: str
    sip_address: str | None
    sip_health_url: str | None
    state_dir: str

    @property
    def http_url(self) -> str:
        return self.url.replace("ws://", "http://", 1)

    def env(self) -> dict[str, str]:
        return {
            "LIVEKIT_URL": self.url,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
        }


@dataclass
class Component:
    name: str
    pid: int
    binary: str
    log: str
    health_url: str | None = None


@dataclass
class StackState:
    info: StackInfo
    components: list[Component] = field(default_factory=list)

    def save(self, path: Path) -> None:
        payload = {"info": asdict(self.info), "components": [asdict(c) for c in self.components]}
        path.write_text(json.dumps(payload, indent=2))

    @classmethod
    def load(cls, path: Path) -> StackState | None:
        try:
            payload = json.loads(path.read_text())
            return cls(
                StackInfo(**payload["info"]), [Component(**c) for c in payload["components"]]
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


# --------------------------------------------------------------------------- checks


def tcp_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on `port` (connections left in TIME_WAIT do not count: the servers
    bind with SO_REUSEADDR, as this check does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def udp_port_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def redis_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Redis answers PING at host:port (no client library needed)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def pid_alive(pid: int, binary: str) -> bool:
    """The process runs and is still the program we started (pids get reused)."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    # redis-server rewrites its title to "/usr/bin/redis-server 127.0.0.1:6379"
    return bool(argv0) and Path(argv0.split(" ")[0]).name == Path(binary).name


def ports_in_use(cfg: StackConfig, *, redis_needed: bool) -> list[str]:
    """Every port `up` would bind that something else already holds."""
    busy = []
    # (port, what, address it binds): ICE/TCP and the bridge's health port bind every address
    tcp = [
        (cfg.http_port, "livekit-server HTTP/API", "127.0.0.1"),
        (cfg.rtc_tcp_port, "livekit ICE/TCP", "0.0.0.0"),
    ]
    if redis_needed:
        tcp.append((cfg.redis_port, "redis", cfg.redis_host))
    if cfg.sip:
        tcp += [
            (cfg.sip_port, "livekit-sip SIP/TCP", "127.0.0.1"),
            (cfg.sip_health_port, "livekit-sip health", "0.0.0.0"),
        ]
    busy += [f"{port}/tcp ({what})" for port, what, at in tcp if not tcp_port_free(port, at)]
    udp = [(cfg.rtc_udp_port, "livekit ICE/UDP")]
    if cfg.sip:
        udp.append((cfg.sip_port, "livekit-sip SIP/UDP"))
    busy += [f"{port}/udp ({what})" for port, what in udp if not udp_port_free(port)]
    if cfg.sip:
        start, end = cfg.rtp_ports
        taken = [p for p in range(start, end + 1) if not udp_port_free(p)]
        if taken:
            busy.append(f"{len(taken)} of the RTP ports {start}-{end}/udp (first {taken[0]})")
    return busy


# --------------------------------------------------------------------------- the stack


class LocalStack:
    """Start, stop and inspect one local stack; see the module docstring."""

    def __init__(self, cfg: StackConfig | None = None, *, log: Any = print) -> None:
        self.cfg = cfg or StackConfig.from_files()
        self.log = log
        self.state_path = self.cfg.state_dir / "state.json"
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # ----- configs ---------------------------------------------------------------------

    def render_configs(self) -> tuple[Path, Path | None, StackInfo]:
        """Write the server (and bridge) YAML for this config into the state directory."""
        cfg = self.cfg
        lk = load_yaml(CONFIG_DIR / "livekit.yaml")
        lk["port"] = cfg.http_port
        lk["rtc"].update(tcp_port=cfg.rtc_tcp_port, udp_port=cfg.rtc_udp_port)
        lk["redis"] = {"address": f"{cfg.redis_host}:{cfg.redis_port}", "db": cfg.redis_db}
        key, secret = next(iter(lk["keys"].items()))
        url = f"ws://127.0.0.1:{cfg.http_port}"
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        lk_path = cfg.state_dir / "livekit.yaml"
        lk_path.write_text(yaml.safe_dump(lk, sort_keys=False))
        sip_path = None
        sip_address = health = None
        if cfg.sip:
            sip = load_yaml(CONFIG_DIR / "sip.yaml")
            sip.update(
                api_key=key,
                api_secret=secret,
                ws_url=url,
                redis=dict(lk["redis"]),
                sip_port=cfg.sip_port,
                health_port=cfg.sip_health_port,
                rtp_port=f"{cfg.rtp_ports[0]}-{cfg.rtp_ports[1]}",
            )
            sip_path = cfg.state_dir / "sip.yaml"
            sip_path.write_text(yaml.safe_dump(sip, sort_keys=False))
            sip_address = f"{sip.get('listen_ip', '127.0.0.1')}:{cfg.sip_port}"
            health = f"http://127.0.0.1:{cfg.sip_health_port}/"
        info = StackInfo(
            url=url,
            api_key=str(key),
            api_secret=str(secret),
            redis=f"{cfg.redis_host}:{cfg.redis_port}/{cfg.redis_db}",
            sip_address=sip_address,
            sip_health_url=health,
            state_dir=str(cfg.state_dir),
        )
        return lk_path, sip_path, info

    # ----- up --------------------------------------------------------------------------

    def running(self) -> StackState | None:
        """The recorded stack when at least one of its processes still runs."""
        state = StackState.load(self.state_path)
        if state is None:
            return None
        if any(pid_alive(c.pid, c.binary) for c in state.components):
            return state
        return None

    def up(self) -> StackInfo:
        """Start everything and wait until healthy, or stop what was started and raise."""
        cfg = self.cfg
        if self.running() is not None:
            raise StackError(
                f"a local stack from {self.state_path} is already running: "
                "`livekit_local.py status`, or `down` first"
            )
        server_bin = ensure_binary(SERVER, build=cfg.build, log=self.log)
        sip_bin = ensure_binary(SIP, build=cfg.build, log=self.log) if cfg.sip else None
        redis_bin: str | None = None
        start_redis = cfg.own_redis or not redis_answers(cfg.redis_host, cfg.redis_port)
        if start_redis:
            redis_bin = shutil.which("redis-server")
            if redis_bin is None:
                raise StackError(
                    f"no Redis answers at {cfg.redis_host}:{cfg.redis_port} and redis-server "
                    "is not installed: apt-get install -y redis-server"
                )
        busy = ports_in_use(cfg, redis_needed=start_redis)
        if busy:
            raise StackError(
                "ports already in use: " + "; ".join(busy) + ". Stop what holds them "
                "(`livekit_local.py status` shows a stack started here), or change the ports "
                "in deploy/local/"
            )
        lk_conf, sip_conf, info = self.render_configs()
        state = StackState(info)
        try:
            if redis_bin is not None:
                redis = self._start_redis(redis_bin)
                state.components.append(redis)
                self._wait(redis, lambda: redis_answers(cfg.redis_host, cfg.redis_port))
            state.save(self.state_path)
            server = self._spawn(
                "livekit-server", [str(server_bin), "--config", str(lk_conf)], server_bin
            )
            server.health_url = f"http://127.0.0.1:{cfg.http_port}/"
            state.components.append(server)
            state.save(self.state_path)
            self._wait(server, lambda: http_status(server.health_url or "") == 200)
            if sip_bin is not None and sip_conf is not None:
                bridge = self._spawn(
                    "livekit-sip", [str(sip_bin), "--config", str(sip_conf)], sip_bin
                )
                bridge.health_url = info.sip_health_url
                state.components.append(bridge)
                state.save(self.state_path)
                self._wait(bridge, lambda: http_status(bridge.health_url or "") == 200)
        except BaseException:
            self._stop_components(state.components)
            with contextlib.suppress(OSError):
                self.state_path.unlink()
            raise
        state.save(self.state_path)
        return info

    def _start_redis(self, redis_bin: str) -> Component:
        cfg = self.cfg
        return self._spawn(
            "redis",
            [
                redis_bin,
                "--bind", cfg.redis_host,
                "--port", str(cfg.redis_port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(cfg.state_dir),
            ],
            Path(redis_bin),
        )  # fmt: skip

    def _spawn(self, name: str, argv: list[str], binary: Path) -> Component:
        log_path = self.cfg.state_dir / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cfg.state_dir,
                start_new_session=True,  # Ctrl-C in the terminal does not reach it
            )
        self._children[proc.pid] = proc
        return Component(name=name, pid=proc.pid, binary=str(binary), log=str(log_path))

    def _alive(self, comp: Component) -> bool:
        """Our own child: ask it (its /proc cmdline is Python's until it has exec'd)."""
        proc = self._children.get(comp.pid)
        if proc is not None:
            return proc.poll() is None
        return pid_alive(comp.pid, comp.binary)

    def _wait(self, comp: Component, healthy: Any, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if healthy():
                return
            if not self._alive(comp):
                raise StackError(f"{comp.name} exited during start-up:\n{_tail(comp.log)}")
            time.sleep(0.2)
        raise StackError(
            f"{comp.name} did not become healthy within {timeout:.0f} s:\n{_tail(comp.log)}"
        )

    # ----- down / status ---------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop every process of the recorded stack; returns what was stopped."""
        state = StackState.load(self.state_path)
        if state is None:
            return []
        stopped = self._stop_components(state.components)
        with contextlib.suppress(OSError):
            self.state_path.unlink()
        return stopped

    def _stop_components(self, components: list[Component]) -> list[str]:
        stopped = []
        for comp in reversed(components):
            if not self._alive(comp):
                continue
            # livekit-sip: SIGTERM waits for calls to end; SIGINT hangs them up and exits
            sig = signal.SIGINT if comp.name == "livekit-sip" else signal.SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.kill(comp.pid, sig)
            if not self._wait_gone(comp, 15.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(comp.pid, signal.SIGKILL)
                self._wait_gone(comp, 5.0)
            stopped.append(comp.name)
        return stopped

    def _wait_gone(self, comp: Component, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(comp):
                return True
            time.sleep(0.1)
        return False

    def status(self) -> list[tuple[str, int, str]]:
        """(component, pid, "healthy" / "running, unhealthy (HTTP n)" / "not running")."""
        state = StackState.load(self.state_path)
        if state is None:
            return []
        rows = []
        for comp in state.components:
            if not pid_alive(comp.pid, comp.binary):
                rows.append((comp.name, comp.pid, "not running"))
                continue
            if comp.health_url:
                code = http_status(comp.health_url)
                rows.append(
                    (comp.name, comp.pid, "healthy" if code == 200 else f"unhealthy (HTTP {code})")
                )
            else:
                host, _, rest = state.info.redis.partition(":")
                ok = redis_answers(host, int(rest.split("/")[0]))
                rows.append((comp.name, comp.pid, "healthy" if ok else "not answering"))
        return rows


def _tail(path: str, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in text[-lines:]) + f"\n  (log: {path})"


# --------------------------------------------------------------------------- free ports


_handed_out: set[int] = set()
"""Ports this process already picked: never handed out twice (several stacks, phones)."""


def _ephemeral_start() -> int:
    """The first port of the kernel's range for outgoing connections: ports picked below it
    cannot be taken by some process's connect() between our check and the server's bind."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _pick(lo: int, hi: int, free: Any, what: str) -> int:
    import random

    for _ in range(500):
        port = random.randrange(lo, hi)
        if port not in _handed_out and free(port):
            _handed_out.add(port)
            return port
    raise StackError(f"no free port for {what} in {lo}-{hi}")


def _tcp_free_everywhere(port: int) -> bool:
    # livekit-server binds its ICE/TCP port on every address, the rest on loopback
    return tcp_port_free(port, "0.0.0.0")


def free_tcp_port() -> int:
    """A TCP port nothing listens on, at random in 12000-19999 (below the ephemeral range and
    the RTP ranges of `free_udp_range`), so concurrent stacks on one machine rarely meet."""
    return _pick(12000, 20000, _tcp_free_everywhere, "TCP")


def free_udp_tcp_port() -> int:
    """A port free for both UDP and TCP (any address): SIP listens on both."""
    return _pick(12000, 20000, lambda p: _tcp_free_everywhere(p) and udp_port_free(p), "UDP+TCP")


def free_udp_range(size: int, *, lo: int = 20000, hi: int | None = None) -> tuple[int, int]:
    """`size` consecutive UDP ports free right now (an even start, as RTP wants), below the
    ephemeral range."""
    import random

    top = hi if hi is not None else max(lo + size + 2, _ephemeral_start())
    for _ in range(200):
        start = random.randrange(lo, top - size) & ~1
        ports = range(start, start + size)
        if not _handed_out.intersection(ports) and all(udp_port_free(p) for p in ports):
            _handed_out.update(ports)
            return start, start + size - 1
    raise StackError(f"no {size} consecutive free UDP ports in {lo}-{top}")


def private_config(state_dir: Path, *, sip: bool) -> StackConfig:
    """A stack on free ports with its own Redis (tests, benchmarks): never the defaults."""
    return StackConfig.from_files(
        state_dir=state_dir,
        http_port=free_tcp_port(),
        rtc_tcp_port=free_tcp_port(),
        rtc_udp_port=free_udp_tcp_port(),
        redis_port=free_tcp_port(),
        own_redis=True,
        sip=sip,
        sip_port=free_udp_tcp_port(),
        sip_health_port=free_tcp_port(),
        rtp_ports=free_udp_range(100),
        build=False,
    )


def start_private_stack(
    state_dir: Path, *, sip: bool, log: Any = print, attempts: int = 3
) -> tuple[LocalStack, StackInfo]:
    """`private_config` started; on fresh ports again when another process took one between
    the pick and the bind ("address already in use"), which a shared machine makes possible."""
    for attempt in range(1, attempts + 1):
        where = state_dir if attempt == 1 else state_dir.with_name(f"{state_dir.name}-{attempt}")
        stack = LocalStack(private_config(where, sip=sip), log=log)
        try:
            return stack, stack.up()
        except StackError as exc:
            taken = [line for line in str(exc).splitlines() if "address already in use" in line]
            if not taken or attempt == attempts:
                raise
            log(f"a port was taken during start-up, trying other ports: {taken[0].strip()}")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_stack(cfg: StackConfig, *, log: Any = print) -> Iterator[StackInfo]:
    """`with running_stack(cfg) as info:` ... always stopped on exit."""
    stack = LocalStack(cfg, log=log)
    try:
        yield stack.up()
    finally:
        stack.down()


# --------------------------------------------------------------------------- CLI


def _cmd_build(args: argparse.Namespace) -> int:
    path = ensure_binary(SERVER)
    print(f"{SERVER.name}: {path} ({binary_version(path)})")
    if args.no_sip:
        return 0
    try:
        sip_path = ensure_binary(SIP)
    except StackError as exc:
        print(f"{SIP.name}: not available: {exc}")
        return 0 if args.allow_missing_sip else 1
    print(f"{SIP.name}: {sip_path} ({binary_version(sip_path)})")
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    cfg = StackConfig.from_files(state_dir=args.state_dir, sip=not args.no_sip)
    info = LocalStack(cfg).up()
    print(f"LiveKit is up (state and logs in {info.state_dir}):")
    print(f"  URL          {info.url}")
    print(f"  API key      {info.api_key}   (development key pair of deploy/local/livekit.yaml)")
    print(f"  Redis        {info.redis}")
    if info.sip_address:
        print(f"  SIP address  sip:<number>@{info.sip_address} (UDP/TCP)")
    else:
        print("  SIP          not started (--no-sip): no phone calls, WebRTC clients and API only")
    print(
        'Next: eval "$(uv run python scripts/livekit_local.py env)", then '
        "scripts/setup_sip.py apply and `callcenter dev` (README, self-hosted quickstart)."
    )
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    state = StackState.load(args.state_dir / "state.json")
    if state is None:
        print("no local stack recorded: run `livekit_local.py up` first", file=sys.stderr)
        return 1
    for name, value in state.info.env().items():
        print(f"export {name}={value}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    stack = LocalStack(replace(StackConfig.from_files(), state_dir=args.state_dir))
    rows = stack.status()
    if not rows:
        print("no local stack recorded (nothing started by `up` runs)")
        return 1
    state = StackState.load(stack.state_path)
    for name, pid, what in rows:
        print(f"  {name:<15} pid {pid:<8} {what}")
    if state is not None:
        print(f"  URL {state.info.url}   SIP {state.info.sip_address or 'not started'}")
    return 0 if all(what == "healthy" for _, _, what in rows) else 1


def _cmd_down(args: argparse.Namespace) -> int:
    stopped = LocalStack(replace(StackConfig.from_files(), state_dir=args.state_dir)).down()
    print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livekit_local.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="pids, rendered configs, logs"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Redis (if none answers), livekit-server, livekit-sip")
    up.add_argument("--no-sip", action="store_true", help="server only: no phone calls")
    sub.add_parser("down", help="stop what `up` started")
    sub.add_parser("status", help="show what runs and whether it is healthy")
    sub.add_parser("env", help="print export lines for LIVEKIT_URL/_API_KEY/_API_SECRET")
    build = sub.add_parser("build", help="build (or reuse) the pinned binaries, start nothing")
    build.add_argument("--no-sip", action="store_true", help="only livekit-server")
    build.add_argument(
        "--allow-missing-sip",
        action="store_true",
        help="exit 0 when livekit-sip cannot be built (CI: the e2e tests that need it skip)",
    )
    args = parser.parse_args(argv)
    handler = {
        "up": _cmd_up,
        "down": _cmd_down,
        "status": _cmd_status,
        "env": _cmd_env,
        "build": _cmd_build,
    }[args.command]
    try:
        return handler(args)
    except StackError as exc:
        print(f"livekit_local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
