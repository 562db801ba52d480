"""The citizen web's bridge (citizen_web/bridge.py) on a FakeLink: what the center's config tells the booking pages,
and the booking requests as they go on the wire and come back (answers, refusals, retries)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from citizen_web import bridge as bridge_module
from citizen_web.bridge import Bridge, Refused
from protocol.link import FakeLink, Message
from protocol.messages import (
    AreaInfo,
    BookingAnswer,
    BookingInfo,
    BookingView,
    CenterConfigMessage,
    ErrorInfo,
    FreeDay,
    FreeSlot,
    Refusal,
    SlotsAnswer,
    WebBook,
    WebBooking,
)
from protocol.topics import Topics

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TOPICS = Topics("c")
START = datetime(2026, 12, 3, 9, 0, tzinfo=ZONE)
VIEW = BookingView("12345671", "dat-dai", "Đất đai", date(2026, 12, 3), "booked", "booked",
                   datetime(2026, 12, 2, 18, 0, tzinfo=ZONE), datetime(2026, 12, 3, 8, 30, tzinfo=ZONE),
                   datetime(2026, 12, 3, 9, 15, tzinfo=ZONE), START, datetime(2026, 12, 3, 9, 30, tzinfo=ZONE))


def config(bookings: BookingInfo | None) -> bytes:
    return CenterConfigMessage("c", "Một cửa", (
        AreaInfo("dat-dai", "Đất đai", "1", 1000, 1999, booking_capacity=3),
        AreaInfo("xay-dung", "Xây dựng", "2", 2000, 2999)), (), ("satisfied",), bookings=bookings).to_wire()


def made(answer: Any = None) -> tuple[Bridge, FakeLink]:
    link = FakeLink(answer)
    bridge = Bridge(link, TOPICS, "web-1", lambda: None)
    bridge.start()
    return bridge, link


def asked(link: FakeLink) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in link.sent(TOPICS.web_request("web-1"))]


def test_the_config_says_which_areas_take_bookings_and_the_centers_rules() -> None:
    bridge, link = made()
    rules = BookingInfo(30, 14, 30, 15, remote=True, remote_minutes=60)
    link.deliver(TOPICS.config(), config(rules), retained=True)
    names = bridge.picture()[0]
    assert names is not None and names.bookings == rules and dict(names.bookable) == {"dat-dai": "Đất đai"}
    assert dict(names.remote_areas) == {"dat-dai": "Đất đai", "xay-dung": "Xây dựng"}  # any open area
    link.deliver(TOPICS.config(), config(None), retained=True)  # the center stopped taking bookings
    names = bridge.picture()[0]
    assert names is not None and names.bookings is None and dict(names.bookable) == dict(names.remote_areas) == {}


def test_slots_book_and_cancel_go_as_the_contract_says_and_their_answers_are_read() -> None:
    def answer(request: Message) -> bytes:
        body = json.loads(request.payload)
        if body["action"] == "slots":
            return SlotsAnswer(body["request_id"], "dat-dai", (FreeDay(date(2026, 12, 3), 4),),
                               (FreeSlot(START, START.replace(minute=30), 2),), 7).to_wire()
        return BookingAnswer(body["request_id"], VIEW).to_wire()

    bridge, link = made(answer)
    free = bridge.slots("dat-dai", date(2026, 12, 3))
    assert (free.days[0].free, free.slots[0].start, free.remote_free) == (4, START, 7)
    assert bridge.book(WebBook("r-1", "dat-dai", "001 090 123 456", "0912345678", START)) == VIEW
    assert bridge.booking(WebBooking("r-2", "12345671", "001090123456", cancel=True)) == VIEW
    bodies = asked(link)
    assert bodies[0]["action"] == "slots" and bodies[0]["day"] == "2026-12-03" and bodies[0]["v"] == 1
    assert bodies[1] == {"v": 1, "request_id": "r-1", "action": "book", "area": "dat-dai",
                         "cccd": "001 090 123 456", "phone": "0912345678", "start": "2026-12-03T09:00:00+07:00"}
    assert bodies[2] == {"v": 1, "request_id": "r-2", "action": "cancel_booking", "code": "12345671",
                         "cccd": "001090123456"}


def test_a_refusal_carries_the_servers_code_and_words_and_a_bad_answer_says_so_in_vietnamese() -> None:
    refusal = Refusal("r-1", ErrorInfo("person_limit", "Ông/Bà đã đủ số lịch hẹn trong ngày."))
    bridge, _link = made(lambda _request: refusal.to_wire())
    with pytest.raises(Refused) as refused:
        bridge.book(WebBook("r-1", "dat-dai", "001090123456", "0912345678"))
    assert (refused.value.code, refused.value.message) == ("person_limit", "Ông/Bà đã đủ số lịch hẹn trong ngày.")
    bridge, _link = made(lambda _request: b'{"v":1,"request_id":"r-1","ok":true,"booking":{"code":"1"}}')
    with pytest.raises(Refused) as refused:
        bridge.booking(WebBooking("r-1", "12345671", "001090123456"))
    assert (refused.value.code, refused.value.message) == ("bad_answer", bridge_module.BAD_ANSWER_VI)


def test_a_request_not_answered_is_sent_again_with_its_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge_module, "TRY_S", 0.05)
    tries: list[str] = []

    def answer(request: Message) -> bytes | None:
        body = json.loads(request.payload)
        tries.append(body["request_id"])
        if len(tries) == 1:
            return None  # lost: the web asks again
        if len(tries) == 2:
            return Refusal(body["request_id"], ErrorInfo("too_many_requests", "Bận.")).to_wire()
        return BookingAnswer(body["request_id"], VIEW).to_wire()

    bridge, _link = made(answer)
    assert bridge.book(WebBook("r-7", "dat-dai", "001090123456", "0912345678", START)) == VIEW
    assert tries == ["r-7"] * 3


def test_nothing_is_asked_while_the_broker_is_not_reached() -> None:
    bridge, link = made(lambda _request: None)
    link.lose()
    with pytest.raises(Refused) as refused:
        bridge.slots("dat-dai")
    assert refused.value.code == "not_connected" and asked(link) == []
