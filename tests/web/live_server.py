"""A real `callcenter web` process on 127.0.0.1 over a copy of the seeded SQLite database,
for the browser and API-fuzzing tests (they need a server, not an in-process app)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from callcenter.data import Database
from callcenter.data.users import Role, UserStore
from callcenter.web.passwords import hash_password

PASSWORD = "correct horse battery staple"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    """The running console, and a way to act on its database as another process would."""

    def __init__(self, url: str, db_url: str, env: dict[str, str], workdir: Path) -> None:
        self.url = url
        self.db_url = db_url
        self.env = env
        self.workdir = workdir

    def run(self, fn: Callable[[Database], Awaitable[T]]) -> T:
        async def go() -> T:
            db = await Database.open(self.db_url)
            try:
                return await fn(db)
            finally:
                await db.close()

        # in a thread of its own: Playwright's sync API keeps an event loop in this one
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()


@contextmanager
def serve(
    workdir: Path, template_db: Path, users: dict[str, tuple[Role, int | None]]
) -> Iterator[Site]:
    """Copy the template database, add `users` (email -> role, supervisor), start the console."""
    db_file = workdir / "callcenter.db"
    shutil.copy(template_db, db_file)
    db_url = f"sqlite+aiosqlite:///{db_file}"
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CALLCENTER_", "OPENAI_", "DEEPGRAM_", "ELEVEN", "DATABASE_URL"))
        },
        "DATABASE_URL": db_url,
        "CALLCENTER_PROVIDER_MODE": "degraded",
        "CALLCENTER_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    site = Site(f"http://127.0.0.1:{port}", db_url, env, workdir)

    async def add_users(db: Database) -> None:
        store = UserStore(db)
        hashed = hash_password(PASSWORD)
        for email, (role, supervisor) in users.items():
            await store.add(email, hashed, role, supervisor)

    site.run(add_users)
    server = subprocess.Popen(
        [sys.executable, "-m", "callcenter.cli", "web", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None:
                output = server.stdout.read().decode() if server.stdout else ""
                raise RuntimeError(f"callcenter web exited: {output[-2000:]}")
            time.sleep(0.1)
        else:
            raise RuntimeError("callcenter web did not start in 30 s")
        yield site
    finally:
        server.terminate()
        server.wait(timeout=10)
