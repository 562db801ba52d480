"""The citizen web's requests through the service on a real SQLite file: look-ups by token, phone ratings, the
retained `queue` (issue 16)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from central_server.config import load
from central_server.domain.limits import WEB_LOOKUP_BURST, WEB_LOOKUPS_PER_S
from central_server.domain.tokens import make_token
from central_server.queue_snapshot import queue_snapshot
from central_server.storage.port import TOKEN_KEY
from protocol.link import Message
from protocol.messages import MAX_PAYLOAD, QueueSnapshot, TicketFound
from tests.central_server.test_service import Clock, Rig, reply_of
from tests.harness import sqlite_file

WEB = 'url = "https://hang-doi.example.gov.vn"\nids = ["web-1"]\n'


class WebRig(Rig):
    def __init__(self, folder: Path, clock: Clock) -> None:
        super().__init__(folder, clock)
        path = folder / "center.toml"
        path.write_text(path.read_text(encoding="utf-8").replace("[queue]\n", f"[citizen_web]\n{WEB}\n[queue]\n"),
                        encoding="utf-8")
        self.storage.close()
        self.config = load(path)
        self.restart()

    def web(self, action: str, token: str, request_id: str | None = None, web: str = "web-1",
            **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, "token": token, **extra}
        return reply_of(self.send(self.topics.web_request(web), body, self.topics.web_response(web)),
                        self.topics.web_response(web))

    def issued(self, area: str, **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": uuid.uuid4().hex, "area": area, **extra}
        reply = reply_of(self.send(self.topics.ticket_request("k1"), body, self.topics.ticket_response("k1")),
                         self.topics.ticket_response("k1"))
        ticket: dict[str, Any] = reply["ticket"]
        return ticket

    def online(self, *devices: str) -> None:
        self.service.handle_batch([Message(self.topics.device_status(d), b'{"v":1,"online":true}', None, None,
                                           retained=True) for d in devices])

    def queue(self) -> QueueSnapshot:
        return QueueSnapshot.from_wire(self.service.queue().payload)

    def key(self) -> bytes:
        with closing(sqlite3.connect(sqlite_file(self.config))) as db:
            return bytes(db.execute("SELECT value FROM secrets WHERE name = ?", (TOKEN_KEY,)).fetchone()[0])


@pytest.fixture
def rig(tmp_path: Path) -> WebRig:
    return WebRig(tmp_path, Clock())


def test_a_ticket_is_followed_by_its_token_through_call_transfer_and_service_and_rated_once(rig: WebRig) -> None:
    issued = rig.issued("dat-dai")
    token = issued["token"]
    waiting = rig.web("lookup", token)
    parsed = TicketFound.from_wire(json.dumps(waiting).encode())  # as the web side reads it
    assert isinstance(parsed, TicketFound) and parsed.ticket.token == token
    ticket = waiting["ticket"]
    assert (ticket["id"], ticket["number"], ticket["state"], ticket["waiting_ahead"]) == (issued["id"], "1001",
                                                                                          "waiting", 0)
    assert ticket["rating"] == {"level": None, "until": None, "open": False}
    rig.command("1", "next")
    called = rig.web("lookup", token)["ticket"]
    assert (called["state"], called["counter_id"], called["counter_name"], called["calls"]) == ("called", "1",
                                                                                                 "Quầy 1", 1)
    assert called["waiting_ahead"] is None and called["estimated_wait_s"] is None
    rig.command("1", "transfer", to_area="tu-phap")
    moved = rig.web("lookup", token)["ticket"]  # the same token answers the ticket that continues it
    assert (moved["area"], moved["area_name"], moved["state"], moved["number"], moved["token"]) == (
        "tu-phap", "Tư pháp – Hộ tịch", "waiting", "1001", token)
    assert moved["id"] != issued["id"] and moved["waiting_ahead"] == 0
    rig.command("2", "next")
    rig.clock.advance(minutes=5)
    done = rig.command("2", "finish")["ticket"]
    served = rig.web("lookup", token)["ticket"]
    until = rig.clock.now + timedelta(seconds=1800)
    assert served["state"] == "served" and served["finished_at"] == rig.clock.now.isoformat(timespec="seconds")
    assert served["rating"] == {"level": None, "until": until.isoformat(timespec="seconds"), "open": True}
    rated = rig.web("rate", token, request_id="w1", level="very_satisfied")
    assert rated["ok"] and rated["ticket"]["rating"]["level"] == "very_satisfied"
    assert rated["ticket"]["rating"]["open"] is False
    assert rig.web("rate", token, request_id="w1", level="very_satisfied") == rated  # a retry: its first answer
    state = json.loads({o.topic: o.payload for o in rig.service.retained_state()}[rig.topics.counter_state("2")])
    assert "rating" not in state  # the terminal stops waiting for the buttons
    assert state["last_rating"] == {"ticket_id": done["id"], "number": "1001", "level": "very_satisfied"}
    buttons = rig.rate("2", done["id"], rig.clock.now)
    assert buttons["ok"] is False and buttons["error"]["code"] == "already_rated"
    again = rig.web("rate", token, level="satisfied")
    assert again["error"]["code"] == "already_rated" and "bạn" not in again["error"]["message"]
    rows = rig.storage.period(rig.clock.now.date(), rig.clock.now.date()).ratings
    assert [(r.channel, r.counter_id, r.rating_id, r.level) for r in rows] == [("phone", "2", "phone-w1",
                                                                                "very_satisfied")]
    (event,) = rig.storage.events("rated")
    assert event.detail["channel"] == "phone" and event.counter_id == "2"


def test_the_buttons_first_then_the_phone_gets_already_rated(rig: WebRig) -> None:
    token = rig.issued("dat-dai")["token"]
    rig.command("1", "next")
    done = rig.command("1", "finish")["ticket"]
    assert rig.rate("1", done["id"], rig.clock.now)["ok"] is True
    refused = rig.web("rate", token, level="satisfied")
    assert refused["ok"] is False and refused["error"]["code"] == "already_rated"
    assert rig.web("lookup", token)["ticket"]["rating"]["level"] == "satisfied"
    assert [r.channel for r in rig.storage.period(done_day(rig), done_day(rig)).ratings] == ["buttons"]


def done_day(rig: WebRig) -> Any:
    return rig.clock.now.date()


def test_a_phone_rating_is_refused_before_service_after_its_window_and_for_an_unknown_level(rig: WebRig) -> None:
    token = rig.issued("dat-dai")["token"]
    assert rig.web("rate", token, level="satisfied")["error"]["code"] == "not_served"
    rig.command("1", "next")
    rig.command("1", "finish")
    unknown = rig.web("rate", token, level="ecstatic")
    assert unknown["error"]["code"] == "bad_request"
    rig.clock.advance(seconds=1801)
    closed = rig.web("rate", token, level="satisfied")
    assert closed["error"]["code"] == "rating_closed"
    assert rig.web("lookup", token)["ticket"]["rating"]["open"] is False
    assert rig.storage.totals().ratings == 0


def test_a_wrong_forged_or_old_token_tells_nothing(rig: WebRig) -> None:
    issued = rig.issued("dat-dai")
    unknown = rig.web("lookup", "A" * 27)
    assert unknown["error"] == {"code": "unknown_token",
                                "message": "Không tìm thấy phiếu. Vui lòng quét lại mã QR trên phiếu."}
    assert rig.web("lookup", "not a token")["error"]["code"] == "unknown_token"
    other_key = make_token(bytes(32), "svc", rig.clock.now.date(), issued_seq(issued))
    assert rig.web("lookup", other_key)["error"]["code"] == "unknown_token"  # a forged MAC
    assert rig.web("lookup", "x" * 65)["error"]["code"] == "bad_request"  # over MAX_TOKEN: not even a token
    yesterday = make_token(rig.key(), "svc", rig.clock.now.date() - timedelta(days=1), 1)
    expired = rig.web("lookup", yesterday)
    assert expired["error"] == {"code": "expired_token",
                                "message": "Phiếu này là của ngày 22/11/2026, đã hết hiệu lực."}
    assert rig.web("lookup", issued["token"])["ok"] is True
    rig.clock.advance(days=1)
    assert rig.web("lookup", issued["token"])["error"]["message"] == (
        "Phiếu này là của ngày 23/11/2026, đã hết hiệu lực.")
    assert rig.web("rate", issued["token"], level="satisfied")["error"]["code"] == "expired_token"


def issued_seq(ticket: dict[str, Any]) -> int:
    return int(ticket["id"].split("-")[1])


def test_lookups_are_never_stored_and_the_token_key_survives_a_restart(rig: WebRig) -> None:
    token = rig.issued("dat-dai")["token"]
    before = rig.storage.totals()
    for _ in range(20):
        rig.web("lookup", token)
    rig.web("lookup", "B" * 27)
    rig.web("lookup", token, request_id=None)
    assert rig.storage.totals() == before
    rig.restart()
    assert rig.web("lookup", token)["ok"] is True


def test_the_queue_is_each_areas_call_order_with_the_hand_played_estimates(rig: WebRig) -> None:
    """Counters 1 (dat-dai) and 2 (tu-phap, dat-dai) are staffed and free; counter 3 (nho) is not. The pace of
    each area is the default 300 s and the pause between citizens 15 s: 315 s a citizen. Waiting: A1, B1
    (priority, tu-phap), A2, A3 (priority), N1 (nho). By hand: at 0 counter 1 calls A3 (priority) and counter 2
    B1 (priority); at 315 counter 1 calls A1 and counter 2 A2. N1 has no counter: no estimate."""
    rig.online("counter-1", "counter-2")
    a1 = rig.issued("dat-dai")
    rig.clock.advance(seconds=1)
    b1 = rig.issued("tu-phap", priority="elderly")
    rig.clock.advance(seconds=1)
    a2 = rig.issued("dat-dai")
    rig.clock.advance(seconds=1)
    a3 = rig.issued("dat-dai", priority="pregnant")
    rig.clock.advance(seconds=1)
    n1 = rig.issued("nho")
    rig.clock.advance(seconds=10)
    snapshot = rig.queue()
    seq = {name: issued_seq(t) for name, t in (("a1", a1), ("b1", b1), ("a2", a2), ("a3", a3), ("n1", n1))}
    assert snapshot.day == rig.clock.now.date() and snapshot.at == rig.clock.now
    assert dict(snapshot.waiting) == {
        "dat-dai": ((seq["a3"], 0), (seq["a1"], 315), (seq["a2"], 315)),
        "tu-phap": ((seq["b1"], 0),), "nho": ((seq["n1"], None),), "dong": ()}
    assert snapshot.called == () and not snapshot.truncated
    looked = rig.web("lookup", a2["token"])["ticket"]
    assert (looked["waiting_ahead"], looked["estimated_wait_s"], looked["wait_basis"]) == (2, 315, "estimate")
    nobody = rig.web("lookup", n1["token"])["ticket"]
    assert (nobody["waiting_ahead"], nobody["estimated_wait_s"], nobody["wait_basis"]) == (0, None, "no_counter")
    rig.clock.advance(seconds=3)  # the same plan, 3 s on: its figures count from its moment
    assert rig.web("lookup", a2["token"])["ticket"]["estimated_wait_s"] == 312
    rig.clock.advance(seconds=100)  # played afresh: both counters are still free, nobody was called
    assert rig.web("lookup", a2["token"])["ticket"]["estimated_wait_s"] == 315
    rig.command("1", "next")
    after = rig.queue()
    assert [s for s, _ in after.waiting["dat-dai"]] == [seq["a1"], seq["a2"]]
    assert [(c.seq, c.counter_id, c.calls) for c in after.called] == [(seq["a3"], "1", 1)]


def test_the_queue_is_published_after_a_change_only_for_a_center_with_a_citizen_web(rig: WebRig,
                                                                                     tmp_path: Path) -> None:
    assert rig.topics.queue() in {o.topic for o in rig.service.retained_state()}
    assert rig.service.queue_due is False
    rig.issued("dat-dai")
    assert rig.service.queue_due is True
    plain = Rig(tmp_path / "plain", Clock()) if (tmp_path / "plain").mkdir() is None else None
    assert plain is not None and plain.service.queue_due is False
    plain.ticket("dat-dai")
    assert plain.service.queue_due is False
    assert plain.topics.queue() not in {o.topic for o in plain.service.retained_state()}


def test_a_long_queue_is_cut_proportionally_to_fit_the_payload(rig: WebRig) -> None:
    for n in range(600):
        area = "dat-dai" if n % 3 else "tu-phap"
        rig.send(rig.topics.ticket_request(f"k{n % 20}"), {"v": 1, "request_id": f"r{n}", "area": area},
                 rig.topics.ticket_response(f"k{n % 20}"))
    assert len(rig.service.queue().payload) <= MAX_PAYLOAD
    center = rig.service.center
    whole = queue_snapshot(center, center.queue_plan(rig.clock.now))
    limit = len(whole.to_wire()) // 3
    cut = queue_snapshot(center, center.queue_plan(rig.clock.now), limit=limit)
    assert len(cut.to_wire()) <= limit
    parsed = QueueSnapshot.from_wire(cut.to_wire())
    waiting = center.waiting_counts()
    assert waiting["dat-dai"] == 400 and waiting["tu-phap"] == 200
    kept = {area: len(entries) for area, entries in parsed.waiting.items()}
    assert all(kept[a] + parsed.truncated.get(a, 0) == waiting[a] for a in waiting)
    assert parsed.truncated["dat-dai"] > 0 and parsed.truncated["tu-phap"] > 0
    assert abs(kept["dat-dai"] / 400 - kept["tu-phap"] / 200) < 0.01  # the same share of each area's head
    assert parsed.waiting["dat-dai"] == whole.waiting["dat-dai"][: kept["dat-dai"]]


def test_a_webs_look_ups_are_answered_up_to_its_burst_then_at_its_rate(tmp_path: Path) -> None:
    clock = Clock()
    rig = WebRig(tmp_path, clock)
    token = rig.issued("dat-dai")["token"]

    def codes(count: int) -> list[str]:
        return [rig.web("lookup", token).get("error", {}).get("code", "ok") for _ in range(count)]

    burst = codes(int(WEB_LOOKUP_BURST) + 50)
    assert burst.count("ok") == WEB_LOOKUP_BURST and set(burst) == {"ok", "too_many_requests"}
    clock.advance(seconds=1)
    assert codes(int(WEB_LOOKUP_BURST)).count("ok") == WEB_LOOKUPS_PER_S, "a second later, a second's rate"
    assert rig.issued("dat-dai")["number"], "a kiosk is not held back by the web's rate"
