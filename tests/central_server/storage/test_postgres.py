"""The PostgreSQL storage against a real PostgreSQL: the same day through the same service gives the same
tables as SQLite, across restarts, retries and a rating counted once."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from central_server.__main__ import main as server_main
from central_server.config import load
from central_server.service import CenterService
from central_server.storage.port import Storage
from central_server.storage.postgres import PostgresStorage
from central_server.storage.sqlite import SqliteStorage, StorageError
from central_server.storage.url import PostgresDatabase
from devkit.local_broker import LocalBroker
from devkit.local_postgres import LocalPostgres
from protocol.link import Message
from protocol.topics import Topics
from tests.harness import Device, ServerProcess, device, write_center_config
from tests.system import test_faults as faults

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TABLES = {
    "tickets": "SELECT * FROM tickets ORDER BY id",
    "counters": "SELECT * FROM counters ORDER BY id",
    "cursors": "SELECT * FROM cursors ORDER BY day, area",
    "replies": "SELECT device, day, request_id, payload FROM replies ORDER BY device, day, request_id",
    "ratings": "SELECT * FROM ratings ORDER BY counter_id, rating_id",
    "events": "SELECT day, at, kind, ticket_id, counter_id, detail FROM events ORDER BY seq",
    "config_versions": "SELECT version, source, by_who, by_name, restored_from, document, file_digest, changes"
                       " FROM config_versions ORDER BY version",
}


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    with LocalPostgres() as server:
        yield server


@pytest.fixture
def database(postgres: LocalPostgres) -> str:
    """A fresh database of the test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # a name we made
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


class Day:
    """The service on one storage, driven by the same messages at the same simulated times."""

    def __init__(self, folder: Path, open_storage: Callable[[], Storage], extra: str = "") -> None:
        folder.mkdir()
        path = write_center_config(folder, LocalBroker(folder), "pg")
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
        self.config = load(path)
        self.topics = Topics("pg")
        self.now = datetime(2026, 11, 23, 7, 30, tzinfo=HCM)
        self._open = open_storage
        self.storage = open_storage()
        self.service = CenterService(self.config, self.storage, lambda: self.now)

    def restart(self) -> None:
        self.storage.close()
        self.storage = self._open()
        self.service = CenterService(self.config, self.storage, lambda: self.now)

    def send(self, topic: str, body: dict[str, Any], response: str) -> dict[str, Any]:
        self.now += timedelta(seconds=37)
        out = self.service.handle_batch([Message(topic, json.dumps(body).encode(), response, b"c")])
        return dict(json.loads(next(o.payload for o in out if o.topic == response)))

    def ticket(self, area: str, request_id: str, **extra: str) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id, "area": area, **extra}
        return self.send(self.topics.ticket_request("k1"), body, self.topics.ticket_response("k1"))

    def command(self, counter: str, action: str, request_id: str, **extra: str) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id, "action": action, **extra}
        return self.send(self.topics.counter_command(counter), body, self.topics.counter_command_response(counter))

    def console(self, counter: str, action: str, request_id: str, **extra: str) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id, "counter": counter, "action": action, "official": "lan.nt",
                "official_name": "Nguyễn Thị Lan", **extra}
        return self.send(self.topics.console_request("c1"), body, self.topics.console_response("c1"))

    def web(self, action: str, token: str, request_id: str, **extra: str) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id, "action": action, "token": token, **extra}
        return self.send(self.topics.web_request("w1"), body, self.topics.web_response("w1"))

    def retained(self) -> dict[str, bytes]:
        return {o.topic: o.payload for o in self.service.retained_state() if o.topic != self.topics.floor()}

    def rate(self, counter: str, ticket_id: str, rating_id: str) -> dict[str, Any]:
        body = {"v": 1, "rating_id": rating_id, "ticket_id": ticket_id, "level": "satisfied",
                "pressed_at": self.now.isoformat()}
        return self.send(self.topics.counter_rating(counter), body, self.topics.rating_ack(counter))


def a_morning(day: Day) -> list[dict[str, Any]]:
    """Tickets, priority, calls, a transfer, a no-show, ratings, retries and restarts: what was answered."""
    answers = [day.ticket("dat-dai", "t1"), day.ticket("dat-dai", "t2"),
               day.ticket("tu-phap", "t3", priority="elderly"),
               day.ticket("nho", "t4"), day.ticket("nho", "t5"), day.ticket("nho", "t6")]  # the third: area_full
    answers.append(day.ticket("dat-dai", "t1"))  # a retry: the same ticket
    called = day.command("1", "next", "c1")
    answers += [called, day.command("1", "finish", "c2")]
    answers.append(day.rate("1", called["ticket"]["id"], "r1"))
    day.restart()
    answers.append(day.rate("1", called["ticket"]["id"], "r1"))  # again after a restart: counted once
    answers += [day.console("2", "sit", "q1"),
                day.command("2", "next", "c3"), day.command("2", "transfer", "c4", to_area="dat-dai"),
                day.command("1", "next", "c5"), day.command("1", "skip", "c6"), day.command("2", "call", "c7",
                                                                                            number="1002")]
    day.restart()
    answers += [day.command("2", "call", "c7", number="1002"), day.console("2", "finish", "q2"),
                day.command("3", "pause", "c8"),
                day.command("3", "next", "c9"), day.ticket("dat-dai", "t7")]
    served = answers[1]["ticket"]["token"]  # 1002, called back by number and finished at counter 2
    answers += [day.web("lookup", served, "w1"), day.web("rate", served, "w2", level="satisfied")]
    day.restart()
    answers += [day.web("rate", served, "w2", level="satisfied"),  # a retry after a restart: counted once
                day.rate("2", answers[-1]["ticket"]["id"], "r2")]  # then the buttons: already rated
    kept: list[dict[str, Any]] = without_tokens(answers)
    return kept


def without_tokens(value: Any) -> Any:
    """What was answered but the tickets' tokens: each database has its own key."""
    if isinstance(value, dict):
        return {k: without_tokens(v) for k, v in value.items() if k != "token"}
    if isinstance(value, list):
        return [without_tokens(v) for v in value]
    return value


def rows(db: sqlite3.Connection | psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    """A table as stored: the two schemas are compared row by row, so the test reads them itself."""
    return [tuple(_payload(bytes(v)) if isinstance(v, (memoryview, bytes)) else v for v in row)
            for row in db.execute(TABLES[table])]


def _payload(stored: bytes) -> Any:
    """A stored answer, but the tickets' tokens (each database has its own key)."""
    return without_tokens(json.loads(stored))


def test_an_instance_started_while_another_commits_reads_the_day_again_before_its_first_batch(
        tmp_path: Path, database: str) -> None:
    first = Day(tmp_path / "first", lambda: PostgresStorage(database))
    with first.service.exclusive():
        first.ticket("dat-dai", "t1")
    second = Day(tmp_path / "second", lambda: PostgresStorage(database))  # loads the day: t1 only
    with first.service.exclusive():
        made = first.ticket("dat-dai", "t2")["ticket"]  # committed after the second loaded the day
    second.now = first.now
    with second.service.exclusive():  # its first lock: what it loaded may be behind, so it is read again
        after = second.ticket("dat-dai", "t3")["ticket"]
    assert (made["id"], made["number"]) == ("20261123-000002", "1002")
    assert (after["id"], after["number"]) == ("20261123-000003", "1003"), "no ticket made twice"
    first.storage.close()
    second.storage.close()


def test_the_same_morning_makes_the_same_tables_on_postgresql_as_on_sqlite(tmp_path: Path, database: str) -> None:
    lite = Day(tmp_path / "lite", lambda: SqliteStorage(tmp_path / "lite" / "center.db"))
    pg = Day(tmp_path / "pg", lambda: PostgresStorage(database))
    morning = a_morning(pg)
    assert morning == a_morning(lite)
    lookup, phone, again, buttons = morning[-4]["ticket"], morning[-3]["ticket"]["rating"], morning[-2], morning[-1]
    assert lookup["state"] == "served" and lookup["rating"]["open"] is True
    assert phone["level"] == "satisfied" and phone["open"] is False and again == morning[-3]
    assert buttons["error"]["code"] == "already_rated"
    with closing(sqlite3.connect(tmp_path / "lite" / "center.db")) as lite_db, psycopg.connect(database) as pg_db:
        for table in TABLES:
            assert rows(pg_db, table) == rows(lite_db, table), table
        assert [row[-4] for row in rows(pg_db, "ratings")] == ["buttons", "phone"]  # then criteria, comment, ...
        assert len(rows(pg_db, "tickets")) >= 7
    assert pg.storage.schema_version() == 6  # type: ignore[attr-defined]
    pg.storage.close()
    lite.storage.close()


def test_the_seats_and_the_last_rating_are_restored_from_postgresql(tmp_path: Path, database: str) -> None:
    pg = Day(tmp_path / "pg", lambda: PostgresStorage(database))
    pg.ticket("dat-dai", "t1")
    called = pg.console("1", "next", "q1")
    pg.console("1", "finish", "q2")
    assert pg.rate("1", called["ticket"]["id"], "r1")["ok"] is True
    before = pg.retained()
    state = json.loads(before[pg.topics.counter_state("1")])
    assert state["official"] == {"username": "lan.nt", "name": "Nguyễn Thị Lan"}
    assert state["last_rating"]["ticket_id"] == called["ticket"]["id"]
    pg.restart()
    assert pg.retained() == before
    pg.storage.close()


def test_a_database_from_a_newer_release_is_refused(database: str) -> None:
    PostgresStorage(database).close()
    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StorageError, match="schema version 99 is newer"):
        PostgresStorage(database)


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    with pytest.raises(StorageError) as refused:
        PostgresStorage("postgresql://qms:s3cret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "s3cret" not in str(refused.value) and "\n" not in str(refused.value)


def test_the_server_process_runs_on_postgresql_and_the_report_reads_it(tmp_path: Path, broker: LocalBroker,
                                                                       center_id: str, database: str) -> None:
    config = write_center_config(tmp_path, broker, center_id)
    config.write_text(config.read_text().replace(f'url = "sqlite:///{tmp_path / "center.db"}"',
                                                 f'url = "{database}"'), encoding="utf-8")
    assert isinstance(load(config).storage, PostgresDatabase)
    server = ServerProcess(config, broker, center_id)
    server.start()
    try:
        with device(broker, center_id, "k1") as kiosk:
            numbers = [kiosk.ticket("dat-dai", request_id=f"r{n}")["ticket"]["number"] for n in range(3)]
            server.stop()
            server.start()  # what it answered is in PostgreSQL: a retry gets the same ticket
            assert kiosk.ticket("dat-dai", request_id="r1")["ticket"]["number"] == numbers[1]
            assert kiosk.ticket("dat-dai")["ticket"]["number"] == "1004"
    finally:
        server.stop()
    assert numbers == ["1001", "1002", "1003"]
    today = datetime.now(HCM).date().isoformat()
    assert server_main(["report", "--config", str(config), "--from", today, "--to", today,
                        "--out", str(tmp_path / "report")]) == 0
    with (tmp_path / "report" / "csv" / "tong-hop.csv").open(encoding="utf-8-sig") as summary:
        assert "Số phiếu đã cấp,4" in summary.read()


def test_a_report_on_a_database_without_the_tables_says_so_and_creates_none(
        tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_center_config(tmp_path, LocalBroker(tmp_path), "pg")
    config.write_text(config.read_text().replace(f'url = "sqlite:///{tmp_path / "center.db"}"',
                                                 f'url = "{database}"'), encoding="utf-8")
    assert server_main(["report", "--config", str(config), "--from", "2026-11-23", "--to", "2026-11-23",
                        "--out", str(tmp_path / "report")]) == 2
    said = capsys.readouterr().err
    assert "cannot read the PostgreSQL database" in said and len(said.strip().splitlines()) == 1
    with psycopg.connect(database) as db:
        assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


@pytest.mark.timeout(300)
def test_two_instances_share_the_load_and_one_killed_loses_and_doubles_nothing(
        tmp_path: Path, broker: LocalBroker, center_id: str, database: str) -> None:
    """50 kiosks and 20 counters against two server instances on one PostgreSQL, taking the requests in
    turns (MQTT 5 shared subscription); one is killed mid-morning and started again."""
    config = tmp_path / "center.toml"
    counters = "".join(f'\n[[counters]]\nid = "{n}"\nname = "Quầy {n}"\nareas = ["dat-dai", "tu-phap"]\n'
                       for n in range(1, faults.COUNTERS + 1))
    config.write_text(faults.FAULT_CENTER.format(center_id=center_id, url=broker.url, db="x", counters=counters)
                      .replace('url = "sqlite:///x"', f'url = "{database}"'), encoding="utf-8")
    (tmp_path / "b").mkdir()
    other = tmp_path / "b" / "center.toml"
    other.write_text(config.read_text(), encoding="utf-8")
    first, second = ServerProcess(config, broker, center_id), ServerProcess(other, broker, center_id)
    first.start()
    second.start()
    seen, stop = faults.Seen(), threading.Event()
    devices = [Device(broker, center_id, f"k{n}") for n in range(faults.KIOSKS)]
    devices += [Device(broker, center_id, f"counter-{n}") for n in range(1, faults.COUNTERS + 1)]
    workers = [threading.Thread(target=faults.kiosk_loop, args=(d, d.id, seen, stop, random.Random(n)))
               for n, d in enumerate(devices[:faults.KIOSKS])]
    workers += [threading.Thread(target=faults.counter_loop, args=(d, d.id.removeprefix("counter-"), seen, stop,
                                                                   random.Random(100 + n)))
                for n, d in enumerate(devices[faults.KIOSKS:])]
    try:
        for worker in workers:
            worker.start()
        time.sleep(4)
        first.kill()  # the other carries on alone
        time.sleep(4)
        first.start()
        time.sleep(4)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
        for server in (first, second):
            server.stop()
        for one in devices:
            one.close()
    with psycopg.connect(database) as db:
        doubled = db.execute(f"SELECT area, shown, count(*) FROM tickets WHERE state IN {faults.HOLDING} "
                             "GROUP BY area, shown HAVING count(*) > 1").fetchall()
        stored = {ticket_id for (ticket_id,) in db.execute("SELECT id FROM tickets")}
        kiosk_replies = db.execute("SELECT payload FROM replies WHERE device LIKE 'kiosk/%'")
        answers = [json.loads(bytes(payload)) for (payload,) in kiosk_replies]
        ratings = db.execute("SELECT rating_id, ticket_id FROM ratings").fetchall()
    issued_by = [a["ticket"]["id"] for a in answers if a["ok"]]
    assert len(seen.tickets) > 100 and len(seen.rated) > 10, "the load must have been real"
    served = [server.log_text().count(" ticket ") for server in (first, second)]
    assert min(served) > 20, f"both instances must have served: {served}"
    assert doubled == [], "two tickets held one number"
    assert set(seen.tickets.values()) <= stored, "a ticket a kiosk received is not in the store"
    assert sorted(issued_by) == sorted(stored), "a ticket was made without its answer kept, or twice"
    assert len(ratings) == len({ticket for _, ticket in ratings}), "a ticket was rated twice"
    assert set(seen.rated) <= {rating_id for rating_id, _ in ratings}, "an acknowledged rating was lost"


def test_a_configuration_changed_by_one_instance_is_followed_by_the_other(tmp_path: Path, database: str) -> None:
    first = Day(tmp_path / "first", lambda: PostgresStorage(database))
    second = Day(tmp_path / "second", lambda: PostgresStorage(database))
    with first.service.exclusive():
        first.ticket("dat-dai", "t1")  # commits version 1 (from the file)
    with second.service.exclusive():
        second.ticket("dat-dai", "t2")
    admin = {"official": "an.nv", "official_name": "Nguyễn Văn An"}
    with first.service.exclusive():
        shown = first.send(first.topics.console_request("c1"),
                           {"v": 1, "request_id": "s1", "action": "config_show", **admin},
                           first.topics.console_response("c1"))
        document = shown["document"]
        document["counters"].append({"id": "9", "name": "Quầy 9", "areas": ["dat-dai"]})
        changed = first.send(first.topics.console_request("c1"),
                             {"v": 1, "request_id": "s2", "action": "config_change", **admin,
                              "base_version": shown["config"]["version"], "document": document},
                             first.topics.console_response("c1"))
    assert changed["ok"] is True and changed["config"]["version"] == 2
    with second.service.exclusive():  # another instance committed: it reads the day and the configuration again
        called = second.command("9", "next", "n1")
    assert called["ok"] is True and called["ticket"]["number"] == "1001", called
    assert second.service.version == 2
    config = json.loads(second.retained()[second.topics.config()])
    assert [c["id"] for c in config["counters"]] == ["1", "2", "3", "9"]
    first.storage.close()
    second.storage.close()


BOOKINGS = '\n[hours]\nweekdays = ["07:30-11:30", "13:30-17:00"]\n\n[bookings]\ncapacity = 1\n'


def test_a_booking_made_on_one_instance_is_checked_in_on_the_other_and_taken_once(tmp_path: Path,
                                                                                   database: str) -> None:
    first = Day(tmp_path / "first", lambda: PostgresStorage(database), BOOKINGS)
    second = Day(tmp_path / "second", lambda: PostgresStorage(database), BOOKINGS)
    nine = datetime(2026, 11, 23, 9, 0, tzinfo=HCM).isoformat()
    booking = {"v": 1, "action": "book", "area": "dat-dai", "start": nine, "phone": "0912345678"}
    with first.service.exclusive():
        made = first.send(first.topics.web_request("w1"), {**booking, "request_id": "b1", "cccd": "079203001234"},
                          first.topics.web_response("w1"))
    code = made["booking"]["code"]
    second.now = first.now
    with second.service.exclusive():  # the slot's one place is taken on the other instance: it knows
        full = second.send(second.topics.web_request("w1"), {**booking, "request_id": "b2", "cccd": "001185004321"},
                           second.topics.web_response("w1"))
    assert full["error"]["code"] == "slot_full"
    second.now = datetime(2026, 11, 23, 8, 50, tzinfo=HCM)
    with second.service.exclusive():
        checked = second.send(second.topics.ticket_request("k1"), {"v": 1, "request_id": "ci", "booking": code},
                              second.topics.ticket_response("k1"))
    assert checked["ticket"]["channel"] == "booked" and checked["ticket"]["booking"] == code
    first.now = second.now
    with first.service.exclusive():
        again = first.send(first.topics.ticket_request("k2"), {"v": 1, "request_id": "ci2", "booking": code},
                           first.topics.ticket_response("k2"))
    assert again["error"]["code"] == "already_checked_in"
    with psycopg.connect(database) as db:
        stored = db.execute("SELECT code, state, ticket_id, person FROM bookings").fetchall()
    assert [(c, s, t) for c, s, t, _p in stored] == [(code, "checked_in", checked["ticket"]["id"])]
    assert "079203001234" not in stored[0][3]
    first.storage.close()
    second.storage.close()
