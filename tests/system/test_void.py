"""The manager voids a kiosk's flood through the running server: `python -m central_server void`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devkit.local_broker import LocalBroker
from tests.harness import ROOT, ServerProcess, device, watching

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def void(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central_server", "void", "--config", str(server.config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_kiosks_flood_is_voided_and_the_citizens_who_wait_stay(server: ServerProcess, broker: LocalBroker,
                                                                  center_id: str) -> None:
    with device(broker, center_id, "thief") as thief, device(broker, center_id, "honest") as honest:
        flood = [thief.ticket("dat-dai", kiosk="thief")["ticket"]["number"] for _ in range(12)]
        citizen = honest.ticket("dat-dai", kiosk="honest")["ticket"]
    now = datetime.now(HCM)
    done = void(server, "--kiosk", "thief", "--from", (now - timedelta(minutes=5)).isoformat(),  # ISO: near
                "--to", (now + timedelta(minutes=2)).isoformat(), "--by", "Nguyễn Văn Quản")  # midnight too
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Đã huỷ 12 phiếu của ki-ốt thief") and ", ".join(flood) in done.stdout
    with sqlite3.connect(server.config.parent / "center.db") as db:
        states = dict(db.execute("SELECT shown, state FROM tickets"))
        (detail,) = db.execute("SELECT detail FROM events WHERE kind = 'voided' LIMIT 1").fetchone()
    assert states == {**dict.fromkeys(flood, "voided"), citizen["number"]: "waiting"}
    assert "Nguyễn Văn Quản" in detail, "who did it is kept"
    with watching(broker, center_id, "board/state") as board:
        assert board.next("board/state")[1]["waiting"]["dat-dai"] == 1


def test_a_wrong_time_is_one_line_and_exit_2(server: ServerProcess) -> None:
    wrong = void(server, "--kiosk", "k1", "--from", "8h", "--to", "09:00", "--by", "A")
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "--from" in wrong.stderr
