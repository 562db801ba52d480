"""A full disk stops the center cleanly, says why, and the center recovers by itself once space returns.

On a real file system that really fills: a small tmpfs mounted for the test (root only; skipped with the
reason otherwise). The database lies on it; the server's config and log do not.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central_server.config import load
from central_server.service import CenterService
from central_server.storage.port import Space
from central_server.storage.sqlite import SqliteStorage
from devkit.local_broker import LocalBroker
from protocol.link import Message
from protocol.topics import Topics
from tests.harness import ROOT, ServerProcess, Watcher, device, watching, write_center_config

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DISK_MB = 8


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MB MiB: a file system that fills for real."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is made by mounting a small tmpfs, which needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def config_on(tmp_path: Path, disk: Path, broker: LocalBroker, center_id: str) -> Path:
    """The test center's config (and so the server's log) in tmp_path, its database on the small disk."""
    path = write_center_config(tmp_path, broker, center_id)
    path.write_text(path.read_text(encoding="utf-8").replace(str(tmp_path / "center.db"), str(disk / "center.db")),
                    encoding="utf-8")
    return path


def free(disk: Path) -> int:
    found = os.statvfs(disk)
    return found.f_bavail * found.f_frsize


def fill(disk: Path, leave: int = 0) -> None:
    """Write a file until only `leave` bytes are free (0: until the file system says it is full)."""
    with (disk / f"filler-{uuid.uuid4().hex[:8]}").open("wb") as filler:
        try:
            while (room := free(disk) - leave) > 0:
                filler.write(b"\0" * min(room, 64 * 1024))
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    if not leave:
        assert free(disk) == 0


def empty(disk: Path) -> None:
    for filler in disk.glob("filler-*"):
        filler.unlink()


def status_until(watcher: Watcher, wanted: dict[str, Any], timeout_s: float = 10.0) -> float:
    """Seconds until the retained server/status is exactly `wanted`."""
    start = time.monotonic()
    while True:
        _, body = watcher.next("server/status", timeout_s=max(0.1, start + timeout_s - time.monotonic()))
        if body == wanted:
            return time.monotonic() - start


def listen(notify: socket.socket, said: list[str]) -> None:
    while True:
        said.append(notify.recv(256).decode())


def refused(reply: dict[str, Any], code: str) -> None:
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert "bộ nhớ" in reply["error"]["message"] and "đầy" in reply["error"]["message"], reply


def stored_tickets(database: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, area, shown, state FROM tickets ORDER BY seq").fetchall()


def assert_nothing_lost_or_made_twice(database: Path, acknowledged: dict[str, dict[str, Any]]) -> None:
    tickets = stored_tickets(database)
    ids = [t[0] for t in tickets]
    assert len(ids) == len(set(ids))
    held = [(area, shown) for _, area, shown, state in tickets if state in ("waiting", "called", "serving", "missed")]
    assert len(held) == len(set(held)), "two held tickets share a number"
    for request_id, reply in acknowledged.items():
        assert reply["ticket"]["id"] in ids, f"acknowledged ticket of {request_id} lost"
    assert len(tickets) == len(acknowledged), "a ticket nobody was told of"


def test_a_full_disk_refuses_cleanly_and_the_server_recovers_by_itself(
        tmp_path: Path, disk: Path, broker: LocalBroker, center_id: str) -> None:
    config = config_on(tmp_path, disk, broker, center_id)
    server = ServerProcess(config, broker, center_id)
    server.start()
    acknowledged: dict[str, dict[str, Any]] = {}
    space = Space(free(disk), DISK_MB * 1024 * 1024)
    try:
        with device(broker, center_id) as client, watching(broker, center_id, "server/status") as status:
            for n in range(5):
                acknowledged[f"a{n}"] = client.ticket("dat-dai", request_id=f"a{n}")

            fill(disk, leave=(space.low_mark + space.full_mark) // 2)  # below the warning, above full
            warned = status_until(status, {"v": 1, "online": True, "storage": "low_space"})
            acknowledged["low"] = client.ticket("dat-dai", request_id="low")
            assert acknowledged["low"]["ok"] is True, "low space still serves"

            fill(disk)
            stopped = status_until(status, {"v": 1, "online": True, "storage": "full"})
            refused(client.ticket("dat-dai", request_id="during"), "storage_full")
            refused(client.command("1", "next"), "storage_full")
            assert client.ticket("dat-dai", request_id="a1") == acknowledged["a1"], "an answer given stays given"
            assert server.proc is not None and server.proc.poll() is None, "the server did not die"

            empty(disk)
            recovered = status_until(status, {"v": 1, "online": True})
            retried = client.ticket("dat-dai", request_id="during")  # refused while full, never acted on: now it is
            assert retried["ticket"]["number"] == "1007"
            acknowledged["during"] = retried
            assert client.command("1", "next")["ticket"]["number"] == "1001"
        print(f"\nlow space said in {warned:.2f} s, full in {stopped:.2f} s, recovered in {recovered:.2f} s")
    finally:
        assert server.stop() == 0
    log = server.log_text()
    assert "low disk space" in log and "disk full" in log and "storage writes again" in log
    assert "Traceback" not in log and "cannot rollback" not in log
    assert_nothing_lost_or_made_twice(disk / "center.db", acknowledged)


def test_a_server_restarted_on_a_full_disk_is_not_online_until_it_can_write(
        tmp_path: Path, disk: Path, broker: LocalBroker, center_id: str) -> None:
    config = config_on(tmp_path, disk, broker, center_id)
    first = ServerProcess(config, broker, center_id)
    first.start()
    with device(broker, center_id) as client:
        acknowledged = {"a": client.ticket("dat-dai", request_id="a")}
    first.kill()
    fill(disk)

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    said: list[str] = []  # what the server told "systemd", read at once (a full socket would block its sender)
    threading.Thread(target=listen, args=(notify, said), daemon=True).start()
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "2000000"}
    with (tmp_path / "restarted.log").open("wb") as log:
        restarted = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(config)], cwd=ROOT,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with device(broker, center_id) as client, watching(broker, center_id, "server/status") as status:
            status_until(status, {"v": 1, "online": False, "storage": "full"}, timeout_s=15)
            refused(client.ticket("dat-dai", request_id="b"), "storage_full")  # subscribed, and says why
            time.sleep(2)
            assert all(body.get("online") is False for _, body in status.drain()), "online on a full disk"
            assert "READY=1" not in said and "WATCHDOG=1" in said, "alive for the watchdog, not ready"
            assert restarted.poll() is None

            empty(disk)
            recovered = status_until(status, {"v": 1, "online": True})
            deadline = time.monotonic() + 5  # READY=1 follows the online status
            while "READY=1" not in said:
                assert time.monotonic() < deadline, f"no READY=1 after the disk had room again: {said[-5:]}"
                time.sleep(0.01)
            acknowledged["b"] = client.ticket("dat-dai", request_id="b")
            assert acknowledged["b"]["ticket"]["number"] == "1002"
        print(f"\nonline {recovered:.2f} s after space was freed")
    finally:
        restarted.terminate()
        assert restarted.wait(15) == 0
    log_text = (tmp_path / "restarted.log").read_text(encoding="utf-8")
    assert "disk full" in log_text and "Traceback" not in log_text
    assert_nothing_lost_or_made_twice(disk / "center.db", acknowledged)


def test_a_server_that_cannot_even_open_its_database_on_a_full_disk_waits_for_space(
        tmp_path: Path, disk: Path, broker: LocalBroker, center_id: str) -> None:
    """After a clean stop SQLite has removed the WAL and its shared memory: on a full disk they cannot be made
    again, and the database does not open ("disk I/O error"). The server waits, rather than exit in a loop."""
    config = config_on(tmp_path, disk, broker, center_id)
    server = ServerProcess(config, broker, center_id)
    server.start()
    with device(broker, center_id) as client:
        acknowledged = {"a": client.ticket("dat-dai", request_id="a")}
    assert server.stop() == 0
    assert not (disk / "center.db-wal").exists()
    fill(disk)
    with (tmp_path / "waiting.log").open("wb") as log:
        waiting = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(config)], cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        with device(broker, center_id) as client, watching(broker, center_id, "server/status") as status:
            time.sleep(3)
            assert waiting.poll() is None, "it waits"
            assert all(body.get("online") is not True for _, body in status.drain()), "online on a full disk"
            assert "disk full: cannot open" in (tmp_path / "waiting.log").read_text(encoding="utf-8")
            empty(disk)
            recovered = status_until(status, {"v": 1, "online": True})
            acknowledged["b"] = client.ticket("dat-dai", request_id="b")
            assert acknowledged["b"]["ticket"]["number"] == "1002"
        print(f"\nopened and online {recovered:.2f} s after space was freed")
    finally:
        waiting.terminate()
        assert waiting.wait(15) == 0
    assert_nothing_lost_or_made_twice(disk / "center.db", acknowledged)


def test_a_batch_whose_commit_finds_the_disk_full_is_undone_and_refused(
        tmp_path: Path, disk: Path, broker: LocalBroker) -> None:
    """The service on its own, on the full disk: no free-space check comes first, the commit itself fails."""
    config = load(config_on(tmp_path, disk, broker, "svc"))
    storage = SqliteStorage(disk / "center.db")
    service = CenterService(config, storage, lambda: datetime(2026, 11, 23, 8, 0, tzinfo=HCM))
    topics = Topics("svc")

    def ticket(request_id: str) -> dict[str, Any]:
        message = Message(topics.ticket_request("k1"),
                          json.dumps({"v": 1, "request_id": request_id, "area": "dat-dai"}).encode(),
                          topics.ticket_response("k1"), b"c")
        replies = [o for o in service.handle_batch([message]) if o.topic == topics.ticket_response("k1")]
        assert len(replies) == 1, "one answer, exactly"
        answer: dict[str, Any] = json.loads(replies[0].payload)
        return answer

    acknowledged = {"a": ticket("a")}
    fill(disk)
    answers = [ticket(f"full-{n}") for n in range(40)]  # the WAL may still have room for the first few
    served = [a for a in answers if a["ok"]]
    assert len(served) < len(answers), "the disk never filled"
    first_refused = answers.index(next(a for a in answers if not a["ok"]))
    assert all(not a["ok"] for a in answers[first_refused:]), "nothing acted on once a write failed"
    refused(answers[first_refused], "storage_full")
    acknowledged.update({f"full-{n}": a for n, a in enumerate(answers) if a["ok"]})
    assert service.center.waiting_counts()["dat-dai"] == len(acknowledged), "the failed batch left no trace"

    empty(disk)
    assert service.check_storage() == [] and service.writable
    again = ticket(f"full-{first_refused}")
    assert again["ticket"]["number"] == f"{1001 + len(acknowledged)}", "the number was not used up"
    acknowledged[f"full-{first_refused}"] = again
    storage.close()
    assert_nothing_lost_or_made_twice(disk / "center.db", acknowledged)
