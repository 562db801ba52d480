"""A PostgreSQL server on a free loopback port in a folder of its own, for tests and `make bench`.

Debian's postgresql package: `initdb` and `postgres` from /usr/lib/postgresql/<version>/bin. The
server refuses to run as root, so as root it runs as the user `postgres` (which the package makes),
in a temporary folder of its own (removed at `stop`): pytest's are closed to other users.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from devkit.local_broker import free_port


def postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise FileNotFoundError("PostgreSQL is not installed: apt-get install postgresql")
    return versions[-1].parent


class LocalPostgres:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="qms-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.log = self.folder / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._as = "postgres" if os.geteuid() == 0 else None  # postgres will not run as root

    @property
    def url(self) -> str:
        user = self._as or pwd.getpwuid(os.geteuid()).pw_name
        return f"postgresql://{user}@127.0.0.1:{self.port}/postgres"

    def _run_as(self, *command: str) -> list[str]:
        return ["runuser", "-u", self._as, "--", *command] if self._as else list(command)

    def start(self, timeout_s: float = 30.0) -> None:
        binaries = postgres_bin()
        if self._as:
            shutil.chown(self.folder, self._as, self._as)
        if not self.data.exists():
            subprocess.run(self._run_as(str(binaries / "initdb"), "-D", str(self.data), "-A", "trust",
                                        "-U", self._as or pwd.getpwuid(os.geteuid()).pw_name, "--no-sync"),
                           check=True, capture_output=True)
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                self._run_as(str(binaries / "postgres"), "-D", str(self.data), "-p", str(self.port),
                             "-h", "127.0.0.1", "-k", str(self.folder), "-c", "max_connections=50"),
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                time.sleep(0.2)  # listening comes a moment before accepting logins
                return
            except OSError:
                time.sleep(0.05)  # polling the port until the server listens
        raise RuntimeError(f"postgres did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()  # SIGTERM: "smart" shutdown, then fast after the clients go
        try:
            self._proc.wait(20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
