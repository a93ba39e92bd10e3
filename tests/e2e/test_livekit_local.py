"""`scripts/livekit_local.py`: bad states give one clear message and leave nothing running."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from scripts.livekit_local import (
    SIP,
    BinarySpec,
    LocalStack,
    StackError,
    build_binary,
    ensure_binary,
    find_binary,
    missing_debian_packages,
    private_config,
    start_private_stack,
    tcp_port_free,
)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_refused_module_says_so_and_names_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the Go proxy answers for github.com/livekit/sip on this network (a fake `go`)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(
        bin_dir / "go",
        'echo "go: github.com/livekit/sip/cmd/livekit-sip@v1.11.0: reading '
        "https://proxy.golang.org/github.com/livekit/sip/cmd/livekit-sip/@v/v1.11.0.info: "
        '403 Forbidden" >&2\necho "	server response: This module version is not available." >&2'
        "\nexit 1\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("LIVEKIT_BIN_DIR", str(tmp_path / "cache"))
    spec = BinarySpec(**{**SIP.__dict__, "pkg_config": (), "debian": ()})
    with pytest.raises(StackError) as err:
        build_binary(spec, log=lambda *_: None)
    text = str(err.value)
    assert "the Go module proxy refuses github.com/livekit/sip@v1.11.0" in text
    assert "This module version is not available." in text
    assert "LIVEKIT_SIP_BIN" in text and "up --no-sip" in text
    assert not (tmp_path / "cache" / "livekit-sip").exists()


def test_a_failed_build_is_remembered_for_the_skip_reason_until_one_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI runs `build --allow-missing-sip` before the tests: their skip reason must say why
    the bridge is missing (the proxy's answer), not guess."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = _script(
        bin_dir / "go",
        'echo "go: reading https://proxy.golang.org/...: 403 Forbidden" >&2\n'
        'echo "	server response: This module version is not available." >&2\nexit 1\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("LIVEKIT_BIN_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LIVEKIT_SIP_BIN", raising=False)
    spec = BinarySpec(**{**SIP.__dict__, "pkg_config": (), "debian": ()})
    with pytest.raises(StackError):
        ensure_binary(spec, log=lambda *_: None)
    path, why = find_binary(spec)
    assert path is None
    assert why.startswith(f"no livekit-sip in {tmp_path / 'cache'}; its last build failed: ")
    assert "the Go module proxy refuses github.com/livekit/sip@v1.11.0" in why
    assert "This module version is not available." in why

    _script(
        go,
        'printf \'#!/bin/sh\\necho "SIP version v1.11.0"\\n\' > "$GOBIN/livekit-sip"\n'
        'chmod +x "$GOBIN/livekit-sip"\n',
    )
    built = ensure_binary(spec, log=lambda *_: None)
    assert find_binary(spec) == (built, "")
    assert not list((tmp_path / "cache").glob("*.build-failed"))


def test_missing_cgo_libraries_are_named_as_debian_packages() -> None:
    spec = BinarySpec(
        name="x",
        package="example.com/x/cmd/x",
        version="v1.0.0",
        installed_as="x",
        env_var="X_BIN",
        cgo=True,
        pkg_config=("opus", "no-such-library-0"),
        debian=("pkg-config", "libopus-dev", "libno-such-library-dev"),
    )
    missing = missing_debian_packages(spec)
    assert "libno-such-library-dev" in missing


def test_an_override_that_is_not_a_binary_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEKIT_SIP_BIN", str(tmp_path / "nope"))
    path, why = find_binary(SIP)
    assert path is None and why == f"LIVEKIT_SIP_BIN={tmp_path / 'nope'} is not an executable file"


def test_a_port_in_use_stops_up_before_anything_starts(server_binary: Path, tmp_path: Path) -> None:
    cfg = private_config(tmp_path / "state", sip=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", cfg.http_port))
        taken.listen()
        with pytest.raises(StackError) as err:
            LocalStack(cfg, log=lambda *_: None).up()
    assert f"{cfg.http_port}/tcp (livekit-server HTTP/API)" in str(err.value)
    assert not (cfg.state_dir / "state.json").exists()
    assert tcp_port_free(cfg.redis_port), "Redis was not started"


def test_a_bridge_that_dies_at_start_up_takes_the_rest_down(
    server_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No half-started stack: Redis and livekit-server, already up, are stopped again."""
    fake = _script(
        tmp_path / "livekit-sip",
        'if [ "$1" = "--version" ]; then echo "SIP version v1.11.0"; exit 0; fi\n'
        'echo "redis configuration is required"\nexit 1\n',
    )
    monkeypatch.setenv("LIVEKIT_SIP_BIN", str(fake))
    cfg = private_config(tmp_path / "state", sip=True)
    stack = LocalStack(cfg, log=lambda *_: None)
    with pytest.raises(StackError) as err:
        stack.up()
    assert "livekit-sip exited during start-up" in str(err.value)
    assert "redis configuration is required" in str(err.value), "the log tail is shown"
    assert tcp_port_free(cfg.http_port), "livekit-server was stopped"
    assert tcp_port_free(cfg.redis_port), "Redis was stopped"
    assert stack.status() == [] and not (cfg.state_dir / "state.json").exists()


def test_up_status_down(server_binary: Path, tmp_path: Path) -> None:
    cfg = private_config(tmp_path / "state", sip=False)
    stack = LocalStack(cfg, log=lambda *_: None)
    info = stack.up()
    try:
        assert info.url == f"ws://127.0.0.1:{cfg.http_port}" and info.sip_address is None
        assert [(name, what) for name, _, what in stack.status()] == [
            ("redis", "healthy"),
            ("livekit-server", "healthy"),
        ]
        with pytest.raises(StackError, match="already running"):
            LocalStack(cfg, log=lambda *_: None).up()
    finally:
        stopped = stack.down()
    assert stopped == ["livekit-server", "redis"]
    assert tcp_port_free(cfg.http_port) and tcp_port_free(cfg.redis_port)


def test_a_port_taken_between_pick_and_bind_is_retried_on_other_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process on a shared machine can bind a picked port first; the private stack
    (tests, benchmark) starts again on fresh ports rather than failing, other errors do not."""
    tried: list[int] = []

    def up(self: LocalStack) -> object:
        tried.append(self.cfg.http_port)
        if len(tried) == 1:
            raise StackError(
                "livekit-server exited during start-up:\n"
                "  listen tcp :15801: bind: address already in use\n  (log: x)"
            )
        return "info"

    monkeypatch.setattr(LocalStack, "up", up)
    stack, info = start_private_stack(tmp_path / "s", sip=False, log=lambda *_: None)
    assert info == "info" and len(set(tried)) == 2
    assert stack.cfg.state_dir == tmp_path / "s-2"

    def broken(self: LocalStack) -> object:
        raise StackError("livekit-server exited during start-up:\n  bad config")

    monkeypatch.setattr(LocalStack, "up", broken)
    with pytest.raises(StackError, match="bad config"):
        start_private_stack(tmp_path / "t", sip=False, log=lambda *_: None)
