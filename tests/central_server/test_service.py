"""The service on a real SQLite file with a controlled clock: replay, windows, days, restarts."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central_server.config import CenterConfig, load
from central_server.domain.center import DEFAULT_GAP_S
from central_server.service import ACTS, CenterService
from central_server.storage.sqlite import SqliteStorage
from central_server.wire import Outbound
from devkit.local_broker import LocalBroker
from protocol.link import Message
from protocol.messages import ACTIONS
from protocol.topics import Topics
from tests.harness import sqlite_file, write_center_config

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 7, 30, tzinfo=HCM)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Rig:
    """A service over a real SQLite file; messages go in as they would come from MQTT."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.config: CenterConfig = load(write_center_config(folder, LocalBroker(folder), "svc"))
        self.topics = Topics("svc")
        self.clock = clock
        self.storage = SqliteStorage(sqlite_file(self.config))
        self.service = CenterService(self.config, self.storage, clock)

    def restart(self) -> None:
        self.storage.close()
        self.storage = SqliteStorage(sqlite_file(self.config))
        self.service = CenterService(self.config, self.storage, self.clock)

    def send(self, topic: str, body: dict[str, Any] | bytes, response_topic: str | None) -> list[Outbound]:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.service.handle_batch([Message(topic, payload, response_topic, b"corr")])

    def ticket(self, area: str, request_id: str | None = None, kiosk: str = "k1") -> dict[str, Any]:
        out = self.send(self.topics.ticket_request(kiosk),
                        {"v": 1, "request_id": request_id or uuid.uuid4().hex, "area": area},
                        self.topics.ticket_response(kiosk))
        return reply_of(out, self.topics.ticket_response(kiosk))

    def command(self, counter: str, action: str, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        out = self.send(self.topics.counter_command(counter),
                        {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, **extra},
                        self.topics.counter_command_response(counter))
        return reply_of(out, self.topics.counter_command_response(counter))

    def rate(self, counter: str, ticket_id: str, pressed_at: datetime, rating_id: str = "r1") -> dict[str, Any]:
        body = {"v": 1, "rating_id": rating_id, "ticket_id": ticket_id, "level": "satisfied",
                "pressed_at": pressed_at.isoformat()}
        return reply_of(self.send(self.topics.counter_rating(counter), body, None), self.topics.rating_ack(counter))


def reply_of(out: list[Outbound], topic: str) -> dict[str, Any]:
    replies = [o for o in out if o.topic == topic]
    assert len(replies) == 1, out
    decoded: dict[str, Any] = json.loads(replies[0].payload)
    return decoded


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path, Clock())


def test_replies_go_out_after_the_state_they_caused(rig: Rig) -> None:
    rig.ticket("dat-dai")
    out = rig.send(rig.topics.counter_command("1"), {"v": 1, "request_id": "n1", "action": "next"},
                   rig.topics.counter_command_response("1"))
    topics = [o.topic.removeprefix(rig.topics.root + "/") for o in out]
    assert topics == ["counter/1/state", "board/call", "board/state", "counter/1/command/response"]
    assert [o.retain for o in out] == [True, False, True, False]
    assert out[-1].correlation == b"corr"


def test_rating_window_closes_and_the_counter_state_says_so(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    rig.clock.advance(seconds=119)
    assert rig.service.tick() == []
    rig.clock.advance(seconds=2)
    out = rig.service.tick()
    assert [o.topic for o in out] == [rig.topics.counter_state("1")]
    assert "rating" not in json.loads(out[0].payload)
    late = rig.rate("1", served["id"], rig.clock.now)
    assert late["ok"] is False and late["error"]["code"] == "rating_closed"


def test_a_rating_from_an_outbox_counts_when_pressed_inside_the_window(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    pressed = rig.clock.now + timedelta(seconds=30)
    rig.clock.advance(hours=1)
    rig.service.tick()
    assert rig.rate("1", served["id"], pressed)["ok"] is True
    assert rig.storage.totals().ratings == 1


def test_numbering_and_idempotency_restart_with_the_service_day(rig: Rig) -> None:
    first = rig.ticket("dat-dai", request_id="same")
    assert first["ticket"]["number"] == "1001"
    rig.ticket("dat-dai")
    rig.clock.advance(days=1)
    next_day = rig.ticket("dat-dai", request_id="same")
    assert next_day["ticket"]["number"] == "1001" and next_day["ticket"]["id"] != first["ticket"]["id"]
    rig.restart()
    assert rig.ticket("dat-dai", request_id="same") == next_day
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1002"


def test_a_restart_resumes_queues_counters_and_the_board(rig: Rig) -> None:
    for area in ("dat-dai", "dat-dai", "tu-phap"):
        rig.ticket(area)
    rig.ticket("dat-dai")
    called = rig.command("2", "next")["ticket"]
    rig.command("2", "transfer", to_area="tu-phap")
    before = {o.topic: o.payload for o in rig.service.retained_state()}
    rig.restart()
    after = {o.topic: o.payload for o in rig.service.retained_state()}
    assert after == before
    assert rig.command("2", "next")["ticket"]["number"] == called["number"]  # kept its place by issue time


def test_answers_kept_under_schema_6_still_answer_their_retries_after_migration_7(rig: Rig) -> None:
    """Migration 7 keeps the answers in the order they were made: each retry kept before it gets its answer."""
    first = {(kiosk, rid): rig.ticket("dat-dai", request_id=rid, kiosk=kiosk)
             for kiosk in ("k1", "k2") for rid in ("a", "b")}
    rig.storage.close()
    with closing(sqlite3.connect(sqlite_file(rig.config))) as db:  # the answers as release 6 kept them
        db.executescript("""
            CREATE TABLE old_replies (device TEXT NOT NULL, day TEXT NOT NULL, request_id TEXT NOT NULL,
                payload BLOB NOT NULL, PRIMARY KEY (device, day, request_id)) WITHOUT ROWID;
            INSERT INTO old_replies SELECT device, day, request_id, payload FROM replies;
            DROP TABLE replies;
            ALTER TABLE old_replies RENAME TO replies;
            PRAGMA user_version = 6;
        """)
    rig.restart()
    assert rig.storage.schema_version() == 7
    for (kiosk, rid), answer in first.items():
        assert rig.ticket("dat-dai", request_id=rid, kiosk=kiosk) == answer
    made = rig.ticket("dat-dai", request_id="c")
    rig.restart()
    assert rig.ticket("dat-dai", request_id="c") == made
    assert tickets_and_events(rig)[0] == 5


def test_the_schema_is_versioned_and_a_newer_one_is_refused(rig: Rig) -> None:
    assert rig.storage.schema_version() == 7
    rig.storage.close()
    with closing(sqlite3.connect(sqlite_file(rig.config))) as db:  # what a newer release would leave
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(Exception, match="newer than this release"):
        SqliteStorage(sqlite_file(rig.config))


REQUEST_IDS = st.sampled_from([f"r{i}" for i in range(6)])
DEVICES = st.sampled_from(["k1", "k2"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("ticket"), DEVICES, REQUEST_IDS, st.sampled_from(["dat-dai", "tu-phap", "nho", "x"])),
        st.tuples(st.just("command"), st.sampled_from(["1", "2", "3"]), REQUEST_IDS,
                  st.sampled_from(["next", "finish", "skip", "recall", "pause", "resume"])),
        st.tuples(st.just("clock"), st.just(""), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=40,
)


def tickets_and_events(rig: Rig) -> tuple[int, int]:
    totals = rig.storage.totals()
    return totals.tickets, totals.events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_a_replayed_request_id_gets_the_first_answer_and_changes_nothing(tmp_path_factory: Any,
                                                                        steps: list[tuple[str, ...]]) -> None:
    rig = Rig(tmp_path_factory.mktemp("replay"), Clock())
    answers: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind, device, request_id, arg in steps:
        if kind == "clock":
            rig.clock.advance(minutes=5)
            continue
        key = (kind, device, request_id)
        before = (tickets_and_events(rig), rig.service.retained_state())
        reply = rig.ticket(arg, request_id, device) if kind == "ticket" else rig.command(device, arg, request_id)
        if key in answers:
            assert reply == answers[key]
            assert (tickets_and_events(rig), rig.service.retained_state()) == before
        else:
            answers[key] = reply
    rig.restart()
    for (kind, device, request_id), first in answers.items():
        again = (rig.ticket("dat-dai", request_id, device) if kind == "ticket"
                 else rig.command(device, "next", request_id))
        if first["ok"]:
            assert again == first, "a stored answer changed across a restart"


def test_a_clock_that_goes_back_does_not_take_the_center_back_a_day(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.clock.advance(hours=-8)  # 23:30 the day before
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1002"
    assert rig.service.center.waiting_counts()["dat-dai"] == 2


def test_a_server_booted_with_a_stale_clock_resumes_the_real_day_when_the_clock_is_set(rig: Rig) -> None:
    for _ in range(3):
        rig.ticket("dat-dai")
    rig.clock.advance(days=-1)  # power cut; the Pi boots with yesterday's time
    rig.restart()
    stale = rig.ticket("dat-dai")["ticket"]
    rig.clock.advance(days=1, minutes=5)  # NTP sets the clock
    fresh = rig.ticket("dat-dai")["ticket"]
    assert fresh["number"] == "1004" and fresh["id"].startswith("20261123-")
    assert rig.service.center.waiting_counts()["dat-dai"] == 4
    assert stale["id"].startswith("20261122-") and rig.storage.totals().tickets == 5


def test_a_new_day_republishes_the_board_and_every_counter(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.clock.advance(days=1)
    topics = {o.topic for o in rig.service.tick()}
    assert topics == {rig.topics.board_state(), *(rig.topics.counter_state(c) for c in ("1", "2", "3"))}


def test_a_ticket_held_overnight_keeps_its_number_and_says_nothing_about_the_pace(rig: Rig) -> None:
    assert rig.ticket("nho")["ticket"]["number"] == "N1"
    rig.command("3", "next")
    rig.clock.advance(days=1)
    assert rig.ticket("nho")["ticket"]["number"] == "N2", "N1 is still at counter 3"
    rig.restart()
    assert rig.ticket("nho")["error"]["code"] == "area_full", "N1 (at counter 3) and N2 (waiting) are held"
    rig.command("3", "finish")  # yesterday's ticket, served after 24 hours
    waiting = rig.ticket("dat-dai")
    assert waiting["ticket"]["estimated_wait_s"] == 0
    second = rig.ticket("dat-dai")["ticket"]
    # No terminal said it is online, and no counter called anyone today: no estimate to print; the
    # figure (for clients that show only it) is the default pace over the two counters of dat-dai.
    assert second["wait_basis"] == "no_counter"
    assert second["estimated_wait_s"] == round((300 + DEFAULT_GAP_S) / 2), "the default pace, not 24 hours"


def test_two_ratings_of_an_earlier_days_ticket_in_one_batch_count_once(rig: Rig) -> None:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    pressed = rig.clock.now + timedelta(seconds=10)
    rig.clock.advance(days=1)
    rig.restart()

    def rating(rating_id: str, level: str) -> Message:
        body = {"v": 1, "rating_id": rating_id, "ticket_id": served["id"], "level": level,
                "pressed_at": pressed.isoformat()}
        return Message(rig.topics.counter_rating("1"), json.dumps(body).encode())

    out = rig.service.handle_batch([rating("a", "satisfied"), rating("b", "dissatisfied")])
    acks = [json.loads(o.payload) for o in out if o.topic == rig.topics.rating_ack("1")]
    assert [(a["rating_id"], a["ok"]) for a in acks] == [("a", True), ("b", False)]
    assert acks[1]["error"]["code"] == "already_rated"
    assert rig.storage.totals().ratings == 1
    assert rig.rate("1", served["id"], pressed, rating_id="a")["ok"] is True, "the recorded one is acked again"


def test_rating_ids_are_per_counter(rig: Rig) -> None:
    tickets = []
    for counter in ("1", "2"):
        rig.ticket("dat-dai")
        rig.command(counter, "next")
        tickets.append(rig.command(counter, "finish")["ticket"])
    assert rig.rate("1", tickets[0]["id"], rig.clock.now, rating_id="same")["ok"] is True
    second = rig.rate("2", tickets[1]["id"], rig.clock.now, rating_id="same")
    assert second["ok"] is True and second["ticket_id"] == tickets[1]["id"]
    assert rig.storage.totals().ratings == 2


def test_answers_to_unknown_counters_and_foreign_topics_are_not_stored(rig: Rig) -> None:
    before = rig.storage.totals().replies
    reply = rig.command("x" * 60, "next")
    assert reply["error"]["code"] == "unknown_counter"
    assert rig.send(rig.topics.counter_command("x" * 70), {"v": 1, "request_id": "r", "action": "next"},
                    rig.topics.counter_command_response("x" * 70)) == []
    assert rig.storage.totals().replies == before


def test_a_request_whose_echo_would_be_huge_is_neither_acted_on_nor_answered(rig: Rig) -> None:
    """An answer echoes the Response Topic and the Correlation Data: 64 KiB of each would make a packet the
    broker cuts the server off for. Ratings are still acknowledged, on the counter's own ack topic."""
    kiosk = rig.topics.ticket_request("k1")
    long_topic = rig.topics.ticket_response("k1") + "/" + "x" * 600

    def ask(response_topic: str, correlation: bytes) -> list[Outbound]:
        body = json.dumps({"v": 1, "request_id": uuid.uuid4().hex, "area": "dat-dai"}).encode()
        return rig.service.handle_batch([Message(kiosk, body, response_topic, correlation)])

    assert ask(long_topic, b"c") == [] and ask(rig.topics.ticket_response("k1"), b"c" * 300) == []
    assert rig.storage.totals().tickets == 0
    fitting = ask(rig.topics.ticket_response("k1") + "/" + "x" * 400, b"c" * 256)
    assert reply_of(fitting, rig.topics.ticket_response("k1") + "/" + "x" * 400)["ok"] is True
    ticket_id = rig.command("1", "next")["ticket"]["id"]
    rating = {"v": 1, "rating_id": "r1", "ticket_id": ticket_id, "level": "satisfied",
              "pressed_at": rig.clock().isoformat()}
    rig.command("1", "finish")
    out = rig.service.handle_batch([Message(rig.topics.counter_rating("1"), json.dumps(rating).encode(),
                                            rig.topics.rating_ack("1") + "/mine", b"c" * 1000)])
    ack = [o for o in out if o.topic == rig.topics.rating_ack("1")]
    assert len(ack) == 1 and ack[0].correlation is None and json.loads(ack[0].payload)["ok"] is True


def test_a_cancelled_command_that_arrives_late_changes_nothing(rig: Rig) -> None:
    rig.ticket("dat-dai")
    cancel = rig.command("1", "cancel", cancels="late-next")
    assert cancel["ok"] is True and cancel["cancelled"] is True
    late = rig.command("1", "next", request_id="late-next")
    assert late["ok"] is False and late["error"]["code"] == "cancelled"
    assert rig.service.center.waiting_counts()["dat-dai"] == 1, "the late next called nobody"


def test_cancelling_a_command_that_was_applied_says_so(rig: Rig) -> None:
    rig.ticket("dat-dai")
    applied = rig.command("1", "next", request_id="n1")
    cancel = rig.command("1", "cancel", cancels="n1")
    assert cancel["cancelled"] is False and cancel["answer"] == applied
    assert rig.command("1", "cancel")["error"]["code"] == "bad_request"


def device_events(rig: Rig) -> list[dict[str, Any]]:
    return [event.detail for event in rig.storage.events("device")]


def test_a_kiosks_printer_state_is_kept_when_it_changes_and_never_answered(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    status = rig.topics.device_status("k1")
    assert rig.send(status, {"v": 1, "online": True, "printer": "ready"}, None) == []
    rig.send(status, {"v": 1, "online": True, "printer": "ready", "unprinted": []}, None)  # the same again
    rig.send(status, {"v": 1, "online": True, "printer": "paper_out"}, "qms/v1/svc/kiosk/k1/x")  # never answered
    clock.advance(minutes=1)  # a device's status is recorded at most about once a minute
    rig.send(status, {"v": 1, "online": False}, None)  # its will
    clock.advance(minutes=1)
    rig.send(status, {"v": 1, "online": True, "printer": "<script>"}, None)  # not a printer state: left out
    assert device_events(rig) == [{"device": "k1", "online": True, "printer": "ready"},
                                  {"device": "k1", "online": True, "printer": "paper_out"},
                                  {"device": "k1", "online": False}, {"device": "k1", "online": True}]


@pytest.mark.parametrize("payload", [b"not json", b'{"v": 1}', b'{"v": 1, "online": "yes"}',
                                     b'{"v": 2, "online": true}'])
def test_a_bad_status_changes_nothing(tmp_path: Path, payload: bytes) -> None:
    rig = Rig(tmp_path, Clock())
    assert rig.send(rig.topics.device_status("k1"), payload, None) == []
    assert device_events(rig) == []


def test_refusals_are_kept_up_to_a_days_cap_and_answers_that_act_always(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("central_server.service.MAX_REFUSALS_KEPT", 3)
    clock = Clock()
    rig = Rig(tmp_path, clock)
    for n in range(5):
        clock.advance(seconds=1)  # within the kiosk's rate
        assert rig.ticket("no-such-area", request_id=f"bad-{n}")["error"]["code"] == "unknown_area"
    assert rig.ticket("dat-dai", request_id="good")["ok"] is True
    assert rig.storage.totals().replies == 4  # three refusals and the ticket
    assert rig.ticket("dat-dai", request_id="good")["ticket"]["number"] == "1001"  # the retry: the same ticket
    assert rig.storage.totals().tickets == 1


def test_what_the_terminals_said_is_read_back_with_the_day(rig: Rig) -> None:
    status = {"v": 1, "online": True, "server": True}
    rig.send(rig.topics.device_status("counter-1"), json.dumps(status).encode(), None)
    assert rig.ticket("dat-dai")["ticket"]["wait_basis"] != "no_counter"
    rig.restart()  # a restarted instance (or one that shares the center) hears no retained status again
    assert rig.service.center.devices["counter-1"] == (True, None)
    assert rig.ticket("dat-dai")["ticket"]["wait_basis"] == "estimate", "counter 1 is staffed: an estimate"


def test_a_device_flapping_its_status_is_recorded_about_once_a_minute_and_its_last_state_kept(
        tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    status = rig.topics.device_status("counter-1")
    for n in range(600):  # ten a second for a minute
        rig.send(status, {"v": 1, "online": n % 2 == 0}, None)
        clock.advance(seconds=0.1)
    assert len(device_events(rig)) <= 6 + 1, "a burst of six, then one a minute"
    assert rig.service.center.devices["counter-1"] == (False, None), "what it says now is known at once"
    clock.advance(minutes=1)
    rig.service.tick()  # the last change, kept when the device may be recorded again
    assert device_events(rig)[-1] == {"device": "counter-1", "online": False}


# --- a clock that jumps (central_server/domain/clock.py, applied by the service) ----------------------


class MachineClock(Clock):
    """The server's wall clock and its time since boot: `advance` is time passing (both move), `set` someone or
    something setting the wall clock (it alone moves)."""

    def __init__(self, now: datetime | None = None) -> None:
        super().__init__()
        self.now = now or self.now
        self.since_boot = 30.0

    def advance(self, **delta: float) -> None:
        super().advance(**delta)
        self.since_boot += timedelta(**delta).total_seconds()

    def set(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def elapsed(self) -> float:
        return self.since_boot


def judged(rig: Rig, clock: MachineClock) -> Rig:
    """The rig's service as the server runs it: the wall clock judged against the time since boot."""
    rig.service = CenterService(rig.config, rig.storage, clock, elapsed=clock.elapsed)
    return rig


def test_a_clock_jumping_a_day_forward_and_back_never_leaves_the_real_day(tmp_path: Path) -> None:
    clock = MachineClock()
    rig = judged(Rig(tmp_path, clock), clock)
    clock.advance(minutes=20)  # running well past start-up
    held = [rig.ticket("tu-phap")["ticket"] for _ in range(10)]
    clock.set(days=1)
    rig.service.tick()
    assert rig.service.health()["clock"] == "suspect"
    during = rig.ticket("tu-phap")["ticket"]
    assert during["number"] == "B011" and during["id"].startswith("20261123-"), "no new day on a jump"
    assert during["issued_at"].startswith("2026-11-23T07:50"), "stamped with the center's own time"
    assert rig.command("2", "next")["ticket"]["number"] == "B001", "yesterday's citizens are still called"
    called = rig.command("2", "call", number="B002")["ticket"]
    assert called["id"] == held[1]["id"], "B002 by number is today's B002"
    clock.advance(minutes=30)
    clock.set(days=-1)  # corrected
    rig.service.tick()
    assert rig.service.health() == {"storage": "ok", "clock": "ok"}
    after = rig.ticket("tu-phap")["ticket"]
    assert after["number"] == "B012" and after["issued_at"].startswith("2026-11-23T08:20")
    assert rig.service.center.waiting_counts()["tu-phap"] == 10


def test_a_jumped_clock_that_keeps_its_new_time_begins_the_next_day_ten_minutes_later_if_the_day_is_unused(
        tmp_path: Path) -> None:
    clock = MachineClock()
    rig = judged(Rig(tmp_path, clock), clock)
    clock.advance(minutes=20)
    clock.set(hours=17)  # 00:50 the next day, and it stays so (the earlier time was the wrong one)
    assert rig.service.tick() == [] and rig.service.health()["clock"] == "suspect"
    clock.advance(minutes=9)
    assert rig.service.tick() == [] and rig.service.center.day.isoformat() == "2026-11-23"
    clock.advance(minutes=1)
    assert rig.service.tick(), "the new day's board and counters"
    assert rig.service.center.day.isoformat() == "2026-11-24"
    assert rig.service.health()["clock"] == "ok"
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1001"


def test_a_jumped_clock_never_begins_a_new_day_by_itself_while_citizens_wait_a_restart_goes_by_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = MachineClock()
    rig = judged(Rig(tmp_path, clock), clock)
    clock.advance(minutes=20)
    waiting = [rig.ticket("dat-dai")["ticket"] for _ in range(3)]
    clock.set(days=1)  # someone types tomorrow's date
    for _ in range(12):  # two hours
        clock.advance(minutes=10)
        rig.service.tick()
    assert rig.service.center.day.isoformat() == "2026-11-23" and rig.service.health()["clock"] == "suspect"
    assert rig.service.center.waiting_counts()["dat-dai"] == 3, "no one is dropped from the queue"
    assert rig.command("1", "next")["ticket"]["id"] == waiting[0]["id"]
    assert sum("restart the server" in r.message for r in caplog.records) == 1, "the log says what to do, once"
    rig.restart()  # the staff decides the clock is right
    rig.service = CenterService(rig.config, rig.storage, clock, elapsed=clock.elapsed)
    assert rig.service.center.day.isoformat() == "2026-11-24" and rig.service.health()["clock"] == "ok"


def test_a_same_day_jump_still_settles_after_ten_minutes(tmp_path: Path) -> None:
    clock = MachineClock()
    rig = judged(Rig(tmp_path, clock), clock)
    clock.advance(minutes=20)
    rig.ticket("dat-dai")
    clock.set(hours=4)  # 11:50 the same day: the earlier time was wrong
    rig.service.tick()
    assert rig.service.health()["clock"] == "suspect"
    clock.advance(minutes=10)
    rig.service.tick()
    assert rig.service.health()["clock"] == "ok" and rig.ticket("dat-dai")["ticket"]["number"] == "1002"


def test_a_day_that_passes_begins_the_next_at_day_starts_however_coarsely_it_is_read(tmp_path: Path) -> None:
    """Time passing is told from a jump by the time since boot, not by the size of the step between readings."""
    clock = MachineClock()
    rig = judged(Rig(tmp_path, clock), clock)
    rig.ticket("dat-dai")
    for _ in range(4):  # to 23:30, four hours at a time (a server stalled that long reads no oftener)
        clock.advance(hours=4)
        rig.service.tick()
    assert rig.service.center.day.isoformat() == "2026-11-23"
    clock.advance(hours=4)
    assert rig.service.tick(), "the new day's board and counters"
    assert rig.service.center.day.isoformat() == "2026-11-24" and rig.service.health()["clock"] == "ok"


def test_a_pi_that_boots_at_1970_goes_on_with_its_stored_day_until_ntp_sets_the_clock(tmp_path: Path) -> None:
    clock = MachineClock()
    rig = Rig(tmp_path, clock)
    for _ in range(3):
        rig.ticket("dat-dai")
    rig.storage.close()
    boot = MachineClock(datetime(1970, 1, 1, 7, 0, tzinfo=HCM))
    rig.storage = SqliteStorage(sqlite_file(rig.config))
    judged(rig, boot)
    assert rig.service.health()["clock"] == "suspect"
    early = rig.ticket("dat-dai")["ticket"]
    assert early["number"] == "1004" and early["id"].startswith("20261123-"), "not a day of 1970"
    boot.advance(minutes=1)
    boot.set(seconds=(datetime(2026, 11, 23, 8, 31, tzinfo=HCM) - boot.now).total_seconds())  # NTP
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1005"
    assert rig.service.health()["clock"] == "ok"


def test_a_pi_booted_at_its_last_saved_time_begins_the_real_day_when_ntp_sets_the_clock(tmp_path: Path) -> None:
    clock = MachineClock(datetime(2026, 11, 22, 16, 45, tzinfo=HCM))
    rig = Rig(tmp_path, clock)
    rig.ticket("dat-dai")
    rig.storage.close()
    boot = MachineClock(datetime(2026, 11, 22, 17, 30, tzinfo=HCM))  # saved at the evening's shutdown
    rig.storage = SqliteStorage(sqlite_file(rig.config))
    judged(rig, boot)
    boot.advance(minutes=1)
    boot.set(hours=14)  # NTP, a minute after boot: the real morning
    rig.service.tick()
    assert rig.service.center.day.isoformat() == "2026-11-23" and rig.service.health()["clock"] == "ok"
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1001"


def test_a_day_begun_on_a_clock_set_ahead_is_left_when_the_clock_is_set_back_before_any_ticket(
        tmp_path: Path) -> None:
    clock = MachineClock()
    rig = Rig(tmp_path, clock)
    rig.ticket("dat-dai")
    rig.storage.close()
    ahead = MachineClock(clock.now + timedelta(days=1, minutes=10))  # a real-time clock a day ahead
    rig.storage = SqliteStorage(sqlite_file(rig.config))
    judged(rig, ahead)
    assert rig.service.center.day.isoformat() == "2026-11-24"
    ahead.advance(minutes=1)
    ahead.set(days=-1)  # NTP sets it back, before anyone came
    assert rig.ticket("dat-dai")["ticket"]["number"] == "1002"
    assert rig.service.center.day.isoformat() == "2026-11-23"


def test_every_action_of_the_contract_is_carried_out() -> None:
    assert {*ACTS, "cancel"} == set(ACTIONS)
