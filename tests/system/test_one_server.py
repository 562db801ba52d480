"""One server per SQLite database: a second `python -m central_server` started by hand on the same config
is refused in one line naming the server that holds the file, while the first goes on serving; a server
killed with SIGKILL leaves no lock behind."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from central_server.config import load
from devkit.local_broker import LocalBroker
from tests.harness import ROOT, ServerProcess, device, sqlite_file


def second_server(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central_server", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_a_second_server_on_the_same_sqlite_file_exits_1_saying_which_holds_it(
        server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path) -> None:
    assert server.proc is not None
    with device(broker, center_id) as client:
        assert client.ticket("dat-dai")["ticket"]["number"] == "1001"
        second = second_server(center_toml)
        assert second.returncode == 1, second.stderr[-2000:]
        said = second.stderr.strip().splitlines()
        assert len(said) == 1, said
        database = sqlite_file(load(center_toml))
        assert said[0].startswith(f"central_server: {database} is in use by another server")
        assert f"pid {server.proc.pid} on {socket.gethostname()}" in said[0]
        assert server.proc.poll() is None
        assert client.ticket("dat-dai")["ticket"]["number"] == "1002", "the first server goes on serving"


def test_a_server_killed_with_sigkill_leaves_no_lock_behind(server: ServerProcess, broker: LocalBroker,
                                                             center_id: str, center_toml: Path) -> None:
    with device(broker, center_id) as client:
        assert client.ticket("dat-dai")["ticket"]["number"] == "1001"
    server.kill()
    lock = sqlite_file(load(center_toml)).with_name("center.db.lock")
    assert lock.exists(), "the lock file stays; the kernel let go of its lock"
    server.start()  # returns once online
    assert server.proc is not None
    assert f"pid {server.proc.pid} " in lock.read_text()
    with device(broker, center_id) as client:
        assert client.ticket("dat-dai")["ticket"]["number"] == "1002"
    assert server.stop() == 0
