"""Tickets nobody holds are voided: a kiosk's request it gave up on, an answer it never printed, a flood."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from central_server.config import load
from central_server.domain.center import Center, DaySnapshot
from central_server.report.command import make_report
from central_server.void import _moment
from devkit.local_broker import LocalBroker
from protocol.link import Message
from tests.central_server.test_service import Clock, Rig, reply_of
from tests.harness import write_center_config
from tests.protocol.test_hours import WEDNESDAY, on, rules


def cancel(rig: Rig, cancels: str, reason: str = "unanswered", kiosk: str = "k1") -> dict[str, Any]:
    body = {"v": 1, "request_id": f"cancel-{cancels}", "cancels": cancels, "reason": reason}
    out = rig.send(rig.topics.ticket_request(kiosk), json.dumps(body).encode(), rig.topics.ticket_response(kiosk))
    return reply_of(out, rig.topics.ticket_response(kiosk))


def states(rig: Rig) -> dict[str, str]:
    return {t.shown: t.state.value for t in rig.storage.period(date.min, date.max).tickets}


def test_a_request_cancelled_before_it_arrives_never_makes_a_ticket(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    assert cancel(rig, "late")["cancelled"] is True
    late = rig.ticket("dat-dai", request_id="late")  # it arrives after all (a server that was stalled)
    assert late["ok"] is False and late["error"]["code"] == "cancelled"
    assert "ki-ốt" in late["error"]["message"] and rig.storage.totals().tickets == 0


def test_an_answer_the_kiosk_never_printed_is_voided_and_its_number_freed(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    made = rig.ticket("dat-dai", request_id="r1")["ticket"]
    assert rig.service.center.waiting_counts()["dat-dai"] == 1
    answer = cancel(rig, "r1", reason="unprinted")
    assert answer["voided"] is True and answer["answer"]["ticket"]["id"] == made["id"]
    assert states(rig) == {"1001": "voided"} and rig.service.center.waiting_counts()["dat-dai"] == 0
    assert rig.command("1", "next")["ticket"] is None, "nobody to call"
    assert [e.detail for e in rig.storage.events("voided")] == [{"by": "kiosk/k1", "reason": "unprinted",
                                                                 "number": "1001"}]
    assert rig.ticket("dat-dai", request_id="r1")["ticket"]["id"] == made["id"], "a retry still gets its answer"


def test_a_ticket_already_called_is_not_voided(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    rig.ticket("dat-dai", request_id="r1")
    rig.command("1", "next")  # the citizen is at the counter: the kiosk's journal was wrong about the paper
    assert cancel(rig, "r1", reason="unprinted")["voided"] is False
    assert states(rig) == {"1001": "called"}


def test_a_voided_ticket_takes_nothing_from_the_quota_even_after_a_restart() -> None:
    center = Center(rules(quota=1), on(WEDNESDAY, 8))
    flooded = center.issue("bhxh", "none", on(WEDNESDAY, 8)).ticket
    assert center.void(flooded, on(WEDNESDAY, 8), by="kiosk/k1", reason="unprinted")
    restarted = Center(rules(quota=1), on(WEDNESDAY, 9))
    restarted.restore(DaySnapshot(restarted.day, [flooded], {}, [], [], 2))
    assert restarted.issue("bhxh", "none", on(WEDNESDAY, 9)).ticket.shown == "E01", "its number is free too"


def test_a_kiosks_flood_is_voided_by_time_range_and_only_what_waits(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    honest = rig.ticket("dat-dai", kiosk="k2")["ticket"]
    flood = [rig.ticket("dat-dai", kiosk="thief")["ticket"] for _ in range(5)]
    rig.command("1", "next")  # calls the honest citizen
    clock.advance(minutes=10)
    later = rig.ticket("dat-dai", kiosk="thief")["ticket"]  # after the range: kept
    start, end = rig.service.center.tickets[flood[0]["id"]].issued_at, clock.now
    voided = rig.service.center.void_from("thief", start, end, clock.now, by="admin/quanly")
    assert [t.id for t in voided] == [t["id"] for t in flood]
    assert rig.service.center.waiting_counts()["dat-dai"] == 1 and honest["number"] == "1001"
    assert rig.command("1", "next")["ticket"]["id"] == later["id"]


def test_the_report_leaves_voided_tickets_out_and_says_how_many(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    rig.ticket("dat-dai", request_id="r1")
    rig.ticket("dat-dai", request_id="r2")
    cancel(rig, "r2", reason="unprinted")
    rig.command("1", "next")
    clock.advance(minutes=5)
    rig.command("1", "finish")
    day = rig.service.center.day
    summary = {row[0]: row[1] for row in make_report(rig.config, day, day, as_of=clock.now).tables[0].rows}
    assert summary["Số phiếu đã cấp"] == 1 and summary["Đã phục vụ"] == 1
    assert summary["Phiếu đã huỷ (không tính trong các số trên)"] == 1


def test_a_request_whose_asker_gave_up_is_neither_acted_on_nor_answered(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    body = json.dumps({"v": 1, "request_id": "stale", "area": "dat-dai"}).encode()
    expired = Message(rig.topics.ticket_request("k1"), body, rig.topics.ticket_response("k1"), b"c",
                      expires_at=time.monotonic() - 1)
    assert rig.service.handle_batch([expired]) == [] and rig.storage.totals().tickets == 0
    alive = Message(rig.topics.ticket_request("k1"), body, rig.topics.ticket_response("k1"), b"c",
                    expires_at=time.monotonic() + 5)
    assert rig.service.handle_batch([alive])[-1].topic == rig.topics.ticket_response("k1")


def test_the_void_tools_times_fall_on_the_service_day_whose_night_passes_midnight(tmp_path: Path) -> None:
    config = load(write_center_config(tmp_path, LocalBroker(tmp_path), "svc", day_starts="03:00"))
    day = date(2026, 12, 2)
    assert _moment(config, day, "23:30", "--from") == datetime(2026, 12, 2, 23, 30, tzinfo=config.rules.zone)
    assert _moment(config, day, "01:00", "--to") == datetime(2026, 12, 3, 1, 0, tzinfo=config.rules.zone)
    utc = _moment(config, day, "2026-12-02T02:00:00+00:00", "--from")
    assert (utc.hour, utc.utcoffset()) == (9, timedelta(hours=7)), "shown in the center's time"
