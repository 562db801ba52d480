"""Wire messages (CONTRACT.md §3-4): strict parsing, exact typing, refusals as BadMessage, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import BadMessage
from protocol.messages import (
    ACTIONS,
    CONSOLE_ACTIONS,
    MAX_ID,
    MAX_PAYLOAD,
    OFFLINE,
    ONLINE,
    AreaInfo,
    BoardState,
    Call,
    Cancellation,
    CenterConfigMessage,
    CommandDone,
    ConsoleRequest,
    CounterCommand,
    CounterInfo,
    CounterStateMessage,
    ErrorInfo,
    FloorArea,
    FloorCounter,
    FloorDevice,
    FloorState,
    FloorToday,
    LastRating,
    Official,
    Rating,
    RatingRecorded,
    RatingWindow,
    Refusal,
    Status,
    TicketCancel,
    TicketIssued,
    TicketRequest,
    TicketsVoided,
    TicketView,
    Unreadable,
    VoidedTicket,
    VoidTickets,
    check_version,
    decode,
    decode_request,
    field_of,
    id_of,
    parse_object,
    usable_id,
)

ICT = timezone(timedelta(hours=7))
PRESSED = datetime(2026, 11, 23, 9, 15, 30, tzinfo=ICT)


def wire(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def refused(call: Any, *args: Any) -> BadMessage:
    """The BadMessage a call raises; it must carry the contract's bad_request code."""
    with pytest.raises(BadMessage) as caught:
        call(*args)
    assert caught.value.code == "bad_request"
    assert caught.value.reason
    assert str(caught.value) == caught.value.reason
    return caught.value


# --- decode / parse_object / check_version ---------------------------------------------------


def padded_object(size: int) -> bytes:
    """A valid ticket request of exactly `size` bytes."""
    head = b'{"v":1,"request_id":"r1","area":"dat-dai","pad":"'
    tail = b'"}'
    payload = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(payload) == size
    return payload


def test_a_payload_of_exactly_64_kib_is_accepted() -> None:
    assert MAX_PAYLOAD == 64 * 1024
    assert decode(padded_object(MAX_PAYLOAD))["request_id"] == "r1"
    assert TicketRequest.from_wire(padded_object(MAX_PAYLOAD)) == TicketRequest("r1", "dat-dai")


def test_a_payload_over_64_kib_is_refused_before_parsing() -> None:
    bad = refused(parse_object, padded_object(MAX_PAYLOAD + 1))
    assert "payload" in bad.reason
    assert str(MAX_PAYLOAD + 1) in bad.reason
    refused(TicketRequest.from_wire, padded_object(MAX_PAYLOAD + 1))
    refused(parse_object, b" " * (MAX_PAYLOAD + 1))  # not even JSON: the size is what is judged first


@pytest.mark.parametrize(
    "payload",
    [b'{"v":1,"area":"\xff"}', b"\xc3\x28", b'{"v":1,"request_id":"\xed\xa0\x80"}', b"\x80"],
    ids=["invalid-byte", "bad-continuation", "encoded-surrogate", "lone-continuation"],
)
def test_a_payload_that_is_not_utf8_is_refused(payload: bytes) -> None:
    bad = refused(parse_object, payload)
    assert "UTF-8" in bad.reason
    assert "payload" in bad.reason


@pytest.mark.parametrize(
    "payload",
    [b"", b"   ", b"{", b"{'v': 1}", b'{"v":1,}', b"v=1", b'{"v":1} trailing'],
    ids=["empty", "blank", "unclosed", "single-quotes", "trailing-comma", "toml", "trailing-text"],
)
def test_a_payload_that_is_not_json_is_refused(payload: bytes) -> None:
    bad = refused(parse_object, payload)
    assert "JSON" in bad.reason
    assert "payload" in bad.reason


def test_deeply_nested_json_under_the_size_cap_is_refused_not_crashing() -> None:
    for payload in (b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        assert len(payload) <= MAX_PAYLOAD
        bad = refused(parse_object, payload)
        assert "payload" in bad.reason
        refused(TicketRequest.from_wire, payload)


def test_deep_nesting_inside_an_ignored_field_is_refused_as_well() -> None:
    depth = 15_000
    payload = b'{"v":1,"request_id":"r","area":"a","x":' + b"[" * depth + b"]" * depth + b"}"
    assert len(payload) <= MAX_PAYLOAD
    refused(TicketRequest.from_wire, payload)


@pytest.mark.parametrize("payload", [b"[]", b'[{"v":1}]', b"1", b'"text"', b"null", b"true", b"1.5"])
def test_a_json_value_that_is_not_an_object_is_refused(payload: bytes) -> None:
    bad = refused(parse_object, payload)
    assert "object" in bad.reason
    assert "payload" in bad.reason


def test_parse_object_does_not_judge_the_version() -> None:
    assert parse_object(b'{"v":2,"request_id":"r9"}') == {"v": 2, "request_id": "r9"}
    assert parse_object(b'{"request_id":"r9"}') == {"request_id": "r9"}


@pytest.mark.parametrize(
    "body",
    [{}, {"v": 2}, {"v": 0}, {"v": True}, {"v": 1.0}, {"v": "1"}, {"v": None}, {"v": [1]}, {"v": -1}],
    ids=["missing", "two", "zero", "true", "float", "string", "null", "list", "minus-one"],
)
def test_anything_but_the_integer_1_as_v_is_refused(body: dict[str, Any]) -> None:
    bad = refused(check_version, body)
    assert "'v'" in bad.reason
    refused(decode, wire(body))
    refused(TicketRequest.from_wire, wire({**body, "request_id": "r1", "area": "dat-dai"}))
    refused(CounterCommand.from_wire, wire({**body, "request_id": "r1", "action": "next"}))
    refused(Rating.from_wire, wire({**body, "rating_id": "x", "ticket_id": "t", "level": "satisfied",
                                    "pressed_at": PRESSED.isoformat()}))


def test_decode_returns_the_object_when_v_is_exactly_1() -> None:
    assert decode(b'{"v":1,"a":[1,2]}') == {"v": 1, "a": [1, 2]}
    assert check_version({"v": 1}) == {"v": 1}


# --- field_of / id_of -------------------------------------------------------------------------


def test_field_of_returns_values_of_exactly_the_asked_type() -> None:
    body = {"s": "chữ", "i": 0, "b": False, "o": {"k": 1}, "l": []}
    assert field_of(body, "s", str) == "chữ"
    assert field_of(body, "i", int) == 0
    assert field_of(body, "b", bool) is False
    assert field_of(body, "o", dict) == {"k": 1}
    assert field_of(body, "l", list) == []


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (True, int, "an integer"),
        (False, int, "an integer"),
        (1, bool, "true or false"),
        (0, bool, "true or false"),
        (1.0, int, "an integer"),
        ("1", int, "an integer"),
        (1, str, "a string"),
        (["a"], str, "a string"),
        ("true", bool, "true or false"),
        ([], dict, "an object"),
        ({}, list, "a list"),
    ],
)
def test_field_of_refuses_a_value_of_another_json_type(value: Any, kind: type, expected: str) -> None:
    bad = refused(field_of, {"count": value}, "count", kind)
    assert "'count'" in bad.reason
    assert expected in bad.reason


def test_field_of_treats_null_as_absent() -> None:
    assert "'name'" in refused(field_of, {}, "name", str).reason
    assert "missing" in refused(field_of, {}, "name", str).reason
    assert "'name'" in refused(field_of, {"name": None}, "name", str).reason
    assert field_of({"name": None}, "name", str, "mặc định") == "mặc định"
    assert field_of({}, "name", str, None) is None
    assert field_of({"name": None}, "name", int, 7) == 7


def test_field_of_still_checks_the_type_when_there_is_a_default() -> None:
    bad = refused(field_of, {"priority": 3}, "priority", str, "none")
    assert "'priority'" in bad.reason


def test_id_of_accepts_1_to_128_characters() -> None:
    assert MAX_ID == 128
    assert id_of({"request_id": "a"}, "request_id") == "a"
    assert id_of({"request_id": "a" * 128}, "request_id") == "a" * 128
    # characters, not bytes: 128 Vietnamese letters are 384 bytes of UTF-8
    assert id_of({"request_id": "ệ" * 128}, "request_id") == "ệ" * 128


@pytest.mark.parametrize("value", ["", "a" * 129, "ệ" * 129], ids=["empty", "129-ascii", "129-vietnamese"])
def test_id_of_refuses_empty_and_over_128_characters(value: str) -> None:
    bad = refused(id_of, {"request_id": value}, "request_id")
    assert "'request_id'" in bad.reason


@pytest.mark.parametrize("value", [None, 12, True, ["r1"], {"id": "r1"}])
def test_id_of_refuses_a_missing_or_non_string_id(value: Any) -> None:
    body = {} if value is None else {"rating_id": value}
    assert "'rating_id'" in refused(id_of, body, "rating_id").reason


def test_usable_id_gives_none_for_an_unusable_id() -> None:
    assert usable_id(b'{"v":1,"request_id":"r1"}', "request_id") == "r1"
    assert usable_id(b"not json", "request_id") is None
    assert usable_id(b"{}", "request_id") is None
    assert usable_id(b'{"v":1,"request_id":5}', "request_id") is None
    assert usable_id(wire({"v": 1, "request_id": "x" * 129}), "request_id") is None


def test_an_unreadable_request_keeps_its_id_and_whether_it_was_a_cancel() -> None:
    error = BadMessage("bad_request", "field 'reason' is wrong")
    newer_cancel = Unreadable.of(error, b'{"v":1,"request_id":"c1","cancels":"r1","reason":"newer"}')
    assert newer_cancel == Unreadable(error, "c1", cancel=True)
    assert Unreadable.of(error, b'{"v":2,"request_id":"r1","area":"dat-dai"}') == Unreadable(error, "r1", False)
    assert Unreadable.of(error, b"not json") == Unreadable(error, None, False)


def test_usable_id_is_found_in_a_payload_refused_for_another_reason() -> None:
    """A refusal echoes the request's id whenever it can: a wrong version or a bad field does not hide it."""
    assert usable_id(b'{"v":2,"request_id":"r1"}', "request_id") == "r1"
    assert usable_id(b'{"request_id":"r1","area":5}', "request_id") == "r1"
    assert usable_id(b'{"v":1,"rating_id":"rt-1","level":null}', "rating_id") == "rt-1"


# --- TicketRequest ----------------------------------------------------------------------------


def test_ticket_request_parses_and_defaults_priority_to_none() -> None:
    assert TicketRequest.from_wire(b'{"v":1,"request_id":"7f1c","area":"dat-dai"}') == TicketRequest(
        "7f1c", "dat-dai", "none"
    )
    assert TicketRequest.from_wire(wire({"v": 1, "request_id": "7f1c", "area": "dat-dai", "priority": None}))\
        .priority == "none"
    assert TicketRequest.from_wire(wire({"v": 1, "request_id": "r", "area": "a", "priority": "elderly"}))\
        .priority == "elderly"


def test_ticket_request_ignores_unknown_extra_fields() -> None:
    payload = wire({"v": 1, "request_id": "r1", "area": "tu-phap", "kiosk_model": "X", "extra": {"a": [1]}})
    assert TicketRequest.from_wire(payload) == TicketRequest("r1", "tu-phap")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"request_id": None}, "request_id"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": 17}, "request_id"),
        ({"request_id": "r" * 129}, "request_id"),
        ({"area": None}, "area"),
        ({"area": ""}, "area"),
        ({"area": ["dat-dai"]}, "area"),
        ({"area": "a" * 129}, "area"),
        ({"priority": 1}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": ["elderly"]}, "priority"),
    ],
)
def test_ticket_request_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    body = {"v": 1, "request_id": "r1", "area": "dat-dai", **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert repr(field) in refused(TicketRequest.from_wire, wire(body)).reason


# --- CounterCommand ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["next", "recall", "skip", "finish", "pause", "resume"])
def test_every_simple_counter_action_parses(action: str) -> None:
    assert CounterCommand.from_wire(wire({"v": 1, "request_id": "c1", "action": action})) == CounterCommand(
        "c1", action
    )


def test_every_contract_action_is_known() -> None:
    assert {"next", "recall", "skip", "finish", "transfer", "call", "pause", "resume"} <= set(ACTIONS)


def test_transfer_carries_to_area() -> None:
    command = CounterCommand.from_wire(wire({"v": 1, "request_id": "c1", "action": "transfer", "to_area": "tu-phap"}))
    assert command == CounterCommand("c1", "transfer", to_area="tu-phap")


def test_call_carries_the_shown_number() -> None:
    command = CounterCommand.from_wire(wire({"v": 1, "request_id": "c1", "action": "call", "number": "B001"}))
    assert command == CounterCommand("c1", "call", number="B001")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "transfer"}, "to_area"),
        ({"action": "transfer", "to_area": None}, "to_area"),
        ({"action": "transfer", "to_area": ""}, "to_area"),
        ({"action": "transfer", "to_area": 3}, "to_area"),
        ({"action": "call"}, "number"),
        ({"action": "call", "number": 1001}, "number"),
        ({"action": "call", "number": ""}, "number"),
        ({"action": "call", "number": "9" * 129}, "number"),
    ],
)
def test_transfer_needs_to_area_and_call_needs_number(body: dict[str, Any], field: str) -> None:
    bad = refused(CounterCommand.from_wire, wire({"v": 1, "request_id": "c1", **body}))
    assert repr(field) in bad.reason


def test_extra_fields_of_other_actions_are_ignored() -> None:
    command = CounterCommand.from_wire(
        wire({"v": 1, "request_id": "c1", "action": "next", "to_area": 5, "number": ["x"]})
    )
    assert command == CounterCommand("c1", "next")


@pytest.mark.parametrize("action", ["jump", "NEXT", "Next", " next", "", "x" * 500])
def test_an_unknown_action_is_refused_naming_the_field(action: str) -> None:
    bad = refused(CounterCommand.from_wire, wire({"v": 1, "request_id": "c1", "action": action}))
    assert "action" in bad.reason
    assert len(bad.reason) < 120  # a long action is not copied whole into the log


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": None}, "action"),
        ({"action": 1}, "action"),
        ({"action": ["next"]}, "action"),
        ({"request_id": None}, "request_id"),
        ({"request_id": True}, "request_id"),
        ({"request_id": "r" * 129}, "request_id"),
    ],
)
def test_counter_command_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {"v": 1, "request_id": "c1", "action": "next", **change}.items() if v is not None}
    assert repr(field) in refused(CounterCommand.from_wire, wire(body)).reason


# --- Rating -----------------------------------------------------------------------------------


def rating_body(**change: Any) -> dict[str, Any]:
    body = {"v": 1, "rating_id": "rt-1", "ticket_id": "t-1", "level": "satisfied",
            "pressed_at": "2026-11-23T09:15:30+07:00", **change}
    return {k: v for k, v in body.items() if v is not None}


def test_rating_parses_with_an_offset_time() -> None:
    rating = Rating.from_wire(wire(rating_body()))
    assert rating == Rating("rt-1", "t-1", "satisfied", PRESSED)
    assert rating.pressed_at.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    "text",
    ["2026-11-23T02:15:30Z", "2026-11-23T02:15:30+00:00", "2026-11-23T09:15:30.250+07:00",
     "2026-11-22T21:15:30-05:00"],
)
def test_rating_accepts_any_iso_8601_offset(text: str) -> None:
    pressed = Rating.from_wire(wire(rating_body(pressed_at=text))).pressed_at
    assert pressed.tzinfo is not None
    assert abs(pressed - PRESSED) < timedelta(seconds=1)


@pytest.mark.parametrize(
    "text",
    ["2026-11-23T09:15:30", "2026-11-23 09:15:30", "2026-11-23", "09:15:30+07:00", "hôm qua", "", "1763864130",
     "2026-13-01T00:00:00+07:00", "2026-11-23T09:15:30+25:00"],
    ids=["naive", "naive-space", "date-only", "time-only", "words", "empty", "epoch-text", "month-13", "offset-25h"],
)
def test_rating_refuses_a_pressed_at_without_offset_or_not_iso(text: str) -> None:
    bad = refused(Rating.from_wire, wire(rating_body(pressed_at=text)))
    assert "'pressed_at'" in bad.reason


@pytest.mark.parametrize("value", [1763864130, 1763864130.5, True, ["2026-11-23T09:15:30+07:00"]])
def test_rating_refuses_a_pressed_at_that_is_not_a_string(value: Any) -> None:
    assert "'pressed_at'" in refused(Rating.from_wire, wire(rating_body(pressed_at=value))).reason


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating_id": ""}, "rating_id"),
        ({"rating_id": "x" * 129}, "rating_id"),
        ({"rating_id": 5}, "rating_id"),
        ({"ticket_id": "t" * 129}, "ticket_id"),
        ({"ticket_id": None}, "ticket_id"),
        ({"level": None}, "level"),
        ({"level": 1}, "level"),
        ({"level": ""}, "level"),
        ({"pressed_at": None}, "pressed_at"),
    ],
)
def test_rating_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    assert repr(field) in refused(Rating.from_wire, wire(rating_body(**change))).reason


def test_rating_ids_of_128_characters_are_accepted() -> None:
    rating = Rating.from_wire(wire(rating_body(rating_id="r" * 128, ticket_id="t" * 128)))
    assert (rating.rating_id, rating.ticket_id) == ("r" * 128, "t" * 128)


# --- round trips and UTF-8 ---------------------------------------------------------------------

TICKET = TicketView(
    id="20261123-dat-dai-1001", number="1001", area="dat-dai", area_name="Đất đai",
    issued_at=datetime(2026, 11, 23, 7, 31, tzinfo=ICT), priority="elderly", state="called", counter_id="2", calls=1,
    waiting_ahead=3, estimated_wait_s=540,
)
CALL = Call(number="B001", counter_id="3", counter_name="Quầy 3", area="tu-phap", recall=False,
            called_at=datetime(2026, 11, 23, 8, 0, 5, tzinfo=ICT), area_name="Tư pháp – Hộ tịch", ticket_id="t-b001")
RECALL = Call(number="1001", counter_id="1", counter_name="Quầy 1", area="dat-dai", recall=True,
              called_at=datetime(2026, 11, 23, 8, 1, tzinfo=ICT))
CONFIG = CenterConfigMessage(
    center_id="rach-gia",
    center_name="Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá",
    areas=(AreaInfo("dat-dai", "Đất đai", "", 1001, 1999), AreaInfo("tu-phap", "Tư pháp – Hộ tịch", "B", 1, 999),
           AreaInfo("dong", "Lĩnh vực tạm đóng", "C", 1, 99, open=False)),
    counters=(CounterInfo("1", "Quầy 1", ("dat-dai",)), CounterInfo("2", "Quầy 2", ("tu-phap", "dat-dai"))),
    rating_levels=("very_satisfied", "satisfied", "dissatisfied"),
    priority_categories=("elderly", "disabled", "pregnant", "veteran", "child_under_6", "dan-toc"),
    timezone="Asia/Ho_Chi_Minh",
    rating_window_s=90,
)

ROUND_TRIPS: list[Any] = [
    TicketRequest("7f1c", "dat-dai"),
    TicketRequest("r-ưu-tiên", "tu-phap", "pregnant"),
    *(CounterCommand("c1", action) for action in ("next", "recall", "skip", "finish", "pause", "resume")),
    CounterCommand("c2", "transfer", to_area="xây-dựng"),
    CounterCommand("c3", "call", number="B001"),
    Rating("rt-1", "t-1", "very_satisfied", PRESSED),
    Rating("rt-2", "t-2", "dissatisfied", datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    Status(True),
    Status(False),
    Status(True, {"device": "kiosk-1", "printer": "paper_low", "ghi_chú": "Hết giấy"}),
    CONFIG,
    CenterConfigMessage("x", "Trung tâm", (), (), ("good", "bad")),
    CALL,
    RECALL,
    BoardState((CALL, RECALL), {"dat-dai": 4, "tu-phap": 0}),
    BoardState((), {}),
    CounterStateMessage("2", "Quầy 2", "serving", TICKET),
    CounterStateMessage("1", "Quầy 1", "idle", None,
                        RatingWindow("t-9", "1009", datetime(2026, 11, 23, 8, 10, tzinfo=ICT))),
    CounterStateMessage("3", "Quầy 3", "paused",
                        TicketView("t", "B002", "tu-phap", "Tư pháp", datetime(2026, 11, 23, 7, tzinfo=ICT), "none",
                                   "waiting")),
    TicketIssued("r1", TICKET),
    CommandDone("r2", None, "idle"),
    CommandDone("r2", TICKET, "serving"),
    Cancellation("r4", True),
    Cancellation("r4", False, answer={"v": 1, "request_id": "c1", "ok": True, "ticket": None, "status": "idle"}),
    Cancellation("r4", False, answer={"v": 1, "request_id": "k1", "ok": True, "ticket": TICKET.to_body()},
                 voided=True),
    TicketsVoided("r5", (VoidedTicket("t-1", "1001", "dat-dai"), VoidedTicket("t-2", "B002", "tu-phap"))),
    TicketsVoided("r5", ()),
    RatingRecorded("rt-1", "t-1", "very_satisfied"),
    RatingRecorded("rt-2", "t-2", "dissatisfied", late=True),
    Refusal(None, ErrorInfo("bad_request", "Yêu cầu không hợp lệ")),
    Refusal("r3", ErrorInfo("area_full", "Lĩnh vực này đã hết số trong ngày.")),
    Refusal("r3", ErrorInfo("bad_request", "Yêu cầu không hợp lệ.", "field 'area' is missing")),
]


def _from_wire(message: Any, payload: bytes) -> Any:
    if isinstance(message, Refusal):  # read by whichever reply the asker expected
        return (RatingRecorded if message.id_name == "rating_id" else TicketIssued).from_wire(payload)
    return type(message).from_wire(payload)


@pytest.mark.parametrize("message", ROUND_TRIPS, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_the_wire(message: Any) -> None:
    payload = message.to_wire()
    assert isinstance(payload, bytes)
    assert _from_wire(message, payload) == message
    assert decode(payload)["v"] == 1


def test_a_rating_acknowledgement_round_trips_under_rating_id() -> None:
    ack = Refusal("rt-1", ErrorInfo("already_rated", "Đã đánh giá."), id_name="rating_id")
    body = json.loads(ack.to_wire())
    assert body["rating_id"] == "rt-1"
    assert "request_id" not in body
    assert RatingRecorded.from_wire(ack.to_wire()) == ack


def test_a_reply_with_an_unusable_request_id_carries_null() -> None:
    body = json.loads(Refusal(None, ErrorInfo("bad_request", "x")).to_wire())
    assert body == {"v": 1, "request_id": None, "ok": False, "error": {"code": "bad_request", "message": "x"}}


# The bytes the server sent before its replies were typed: the wire must not change by one byte.
REPLY_BYTES = [
    (TicketIssued("r1", TicketView("t-1", "1001", "dat-dai", "Đất đai", datetime(2026, 11, 23, 7, 31, tzinfo=ICT),
                                   "none", "waiting", waiting_ahead=2, estimated_wait_s=300, wait_basis="estimate")),
     '{"v":1,"request_id":"r1","ok":true,"ticket":{"id":"t-1","number":"1001","area":"dat-dai","area_name":"Đất đai",'
     '"issued_at":"2026-11-23T07:31:00+07:00","priority":"none","state":"waiting","counter_id":null,"calls":0,'
     '"waiting_ahead":2,"estimated_wait_s":300,"wait_basis":"estimate"}}'),
    (CommandDone("c1", None, "idle"), '{"v":1,"request_id":"c1","ok":true,"ticket":null,"status":"idle"}'),
    (Cancellation("c2", True), '{"v":1,"request_id":"c2","ok":true,"cancelled":true}'),
    (Cancellation("c2", False, answer={"v": 1, "request_id": "c1", "ok": True}),
     '{"v":1,"request_id":"c2","ok":true,"cancelled":false,"answer":{"v":1,"request_id":"c1","ok":true}}'),
    (Cancellation("k2", False, answer={"v": 1, "request_id": "k1", "ok": False}, voided=False),
     '{"v":1,"request_id":"k2","ok":true,"cancelled":false,"voided":false,'
     '"answer":{"v":1,"request_id":"k1","ok":false}}'),
    (TicketsVoided("a1", (VoidedTicket("t-1", "1001", "dat-dai"),)),
     '{"v":1,"request_id":"a1","ok":true,"voided":[{"id":"t-1","number":"1001","area":"dat-dai"}]}'),
    (RatingRecorded("rt-1", "t-1", "satisfied"),
     '{"v":1,"rating_id":"rt-1","ok":true,"ticket_id":"t-1","level":"satisfied"}'),
    (RatingRecorded("rt-1", "t-1", "satisfied", late=True),
     '{"v":1,"rating_id":"rt-1","ok":true,"ticket_id":"t-1","level":"satisfied","late":true}'),
    (Refusal("rt-1", ErrorInfo("rating_closed", "Hết giờ."), id_name="rating_id"),
     '{"v":1,"rating_id":"rt-1","ok":false,"error":{"code":"rating_closed","message":"Hết giờ."}}'),
    (Refusal(None, ErrorInfo("bad_request", "Yêu cầu không hợp lệ.", "payload is not JSON")),
     '{"v":1,"request_id":null,"ok":false,"error":{"code":"bad_request","message":"Yêu cầu không hợp lệ.",'
     '"detail":"payload is not JSON"}}'),
]


@pytest.mark.parametrize(("reply", "sent"), REPLY_BYTES, ids=lambda r: type(r).__name__)
def test_every_reply_writes_the_bytes_the_server_always_sent(reply: Any, sent: str) -> None:
    assert reply.to_wire() == sent.encode()


@pytest.mark.parametrize("reader", [TicketIssued, CommandDone, Cancellation, TicketsVoided])
def test_every_reply_reads_a_refusal_as_a_refusal(reader: Any) -> None:
    refusal = Refusal("r1", ErrorInfo("counter_paused", "Quầy đang tạm nghỉ."))
    assert reader.from_wire(refusal.to_wire()) == refusal


def test_a_refusal_whose_request_id_is_unusable_reads_as_null() -> None:
    assert TicketIssued.from_wire(b'{"v":1,"request_id":5,"ok":false,"error":{"code":"c","message":"m"}}') == \
        Refusal(None, ErrorInfo("c", "m"))


@pytest.mark.parametrize(
    ("reader", "body"),
    [
        (TicketIssued, {"request_id": "r", "ok": True}),
        (TicketIssued, {"request_id": "r", "ok": True, "ticket": None}),
        (TicketIssued, {"request_id": "r", "ok": True, "ticket": {"id": "t", "number": "1", "area": "a"}}),
        (TicketIssued, {"ok": True, "ticket": TICKET.to_body()}),
        (TicketIssued, {"request_id": "r", "ok": "yes", "ticket": TICKET.to_body()}),
        (TicketIssued, {"request_id": "r", "ok": False}),
        (TicketIssued, {"request_id": "r", "ok": False, "error": {"code": "c"}}),
        (CommandDone, {"request_id": "r", "ok": True, "ticket": None}),
        (CommandDone, {"request_id": "r", "ok": True, "ticket": [], "status": "idle"}),
        (Cancellation, {"request_id": "r", "ok": True}),
        (Cancellation, {"request_id": "r", "ok": True, "cancelled": False, "voided": "no"}),
        (TicketsVoided, {"request_id": "r", "ok": True, "voided": [{"id": "t"}]}),
        (TicketsVoided, {"request_id": "r", "ok": True, "voided": ["t"]}),
        (RatingRecorded, {"rating_id": "rt", "ok": True, "ticket_id": "t"}),
        (RatingRecorded, {"request_id": "rt", "ok": True, "ticket_id": "t", "level": "good"}),
    ],
)
def test_a_reply_missing_what_its_request_needs_is_refused(reader: Any, body: dict[str, Any]) -> None:
    refused(reader.from_wire, wire({"v": 1, **body}))


def test_times_travel_as_aware_datetimes_and_go_back_as_they_came() -> None:
    view = TicketView.from_body({**TICKET.to_body(), "issued_at": "2026-11-23T07:31:00+07:00"})
    assert view.issued_at == datetime(2026, 11, 23, 0, 31, tzinfo=UTC)
    assert view.issued_at.utcoffset() == timedelta(hours=7)
    assert view.to_body()["issued_at"] == "2026-11-23T07:31:00+07:00"
    assert Call.from_body(CALL.to_body()).called_at == CALL.called_at
    assert json.loads(CALL.to_wire())["called_at"] == "2026-11-23T08:00:05+07:00"


@pytest.mark.parametrize("moment", ["2026-11-23T07:31:00", "hôm nay", "", 20261123])
def test_a_time_without_its_offset_refuses_the_whole_message(moment: Any) -> None:
    ticket = {**TICKET.to_body(), "issued_at": moment}
    assert "'issued_at'" in refused(TicketView.from_body, ticket).reason
    call = {**CALL.to_body(), "called_at": moment}
    assert "'called_at'" in refused(Call.from_wire, wire({"v": 1, **call})).reason
    assert "'called_at'" in refused(BoardState.from_wire, wire({"v": 1, "recent_calls": [call], "waiting": {}})).reason
    state = {"v": 1, "status": "idle", "ticket": None, "rating": {"ticket_id": "t", "number": "1", "until": moment}}
    assert "'until'" in refused(CounterStateMessage.from_wire, wire(state)).reason


# --- decode_request ------------------------------------------------------------------------


def test_decode_request_gives_each_request_topic_its_typed_request() -> None:
    assert decode_request("ticket_request", TicketRequest("r1", "dat-dai", "elderly").to_wire()) == \
        TicketRequest("r1", "dat-dai", "elderly")
    assert decode_request("ticket_request", TicketCancel("r2", "r1", "unprinted").to_wire()) == \
        TicketCancel("r2", "r1", "unprinted")
    assert decode_request("command", CounterCommand("c1", "transfer", to_area="tu-phap").to_wire()) == \
        CounterCommand("c1", "transfer", to_area="tu-phap")
    void = VoidTickets("a1", "k1", PRESSED, PRESSED + timedelta(minutes=5), "Chị Lan")
    assert decode_request("admin", void.to_wire()) == void


def test_a_ticket_request_that_also_names_what_it_cancels_is_still_a_ticket_request() -> None:
    payload = wire({"v": 1, "request_id": "r2", "area": "dat-dai", "cancels": "r1"})
    assert decode_request("ticket_request", payload) == TicketRequest("r2", "dat-dai")


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("ticket_request", b"not json", "payload is not JSON"),
        ("ticket_request", b'{"v":2,"request_id":"r1","area":"a"}', "field 'v' must be the integer 1"),
        ("ticket_request", b'{"v":1,"request_id":"r1"}', "field 'area' is missing"),
        ("ticket_request", b'{"v":1,"request_id":"r2","cancels":"r1","reason":"bored"}',
         "field 'reason' must be \"unanswered\" or \"unprinted\""),
        ("command", b'{"v":1,"request_id":"c1","action":"dance"}', "unknown action 'dance'"),
        ("command", b'{"v":1,"request_id":"c1","action":"call"}', "field 'number' is missing"),
        ("admin", b'{"v":1,"request_id":"a1","action":"void","kiosk":"k1","from":"2026-11-23T08:00:00+07:00",'
                  b'"to":"2026-11-23T08:00:00+07:00","by":"x"}', "field 'to' must be after 'from'"),
        ("admin", b'{"v":1,"request_id":"a1","action":"void","kiosk":"k1","from":"2026-11-23T08:00:00",'
                  b'"to":"2026-11-23T09:00:00+07:00","by":"x"}', "field 'from' must carry its UTC offset"),
    ],
)
def test_decode_request_refuses_bad_input_as_bad_request(kind: str, payload: bytes, reason: str) -> None:
    assert refused(decode_request, kind, payload).reason == reason


def test_decode_request_knows_no_request_on_other_topics() -> None:
    with pytest.raises(ValueError, match="status"):
        decode_request("status", b'{"v":1,"online":true}')


def test_status_payloads_match_the_lwt() -> None:
    assert json.loads(ONLINE) == {"v": 1, "online": True}
    assert json.loads(OFFLINE) == {"v": 1, "online": False}
    assert Status.from_wire(OFFLINE) == Status(False)


def test_config_message_has_the_contract_shape() -> None:
    body = json.loads(CONFIG.to_wire())
    assert body["v"] == 1
    assert body["center"]["id"] == "rach-gia"
    assert body["center"]["name"] == CONFIG.center_name
    area = body["areas"][1]
    assert {k: area[k] for k in ("id", "name", "prefix", "first", "last")} == {
        "id": "tu-phap", "name": "Tư pháp – Hộ tịch", "prefix": "B", "first": 1, "last": 999}
    assert body["counters"][1] == {"id": "2", "name": "Quầy 2", "areas": ["tu-phap", "dat-dai"]}
    assert body["rating_levels"] == ["very_satisfied", "satisfied", "dissatisfied"]


def test_board_messages_have_the_contract_shape() -> None:
    call = json.loads(CALL.to_wire())
    assert {"v", "number", "counter_id", "counter_name", "area", "recall", "called_at"} <= set(call)
    board = json.loads(BoardState((CALL,), {"tu-phap": 2}).to_wire())
    assert board["v"] == 1
    assert board["waiting"] == {"tu-phap": 2}
    assert board["recent_calls"][0]["number"] == "B001"
    state = json.loads(CounterStateMessage("1", "Quầy 1", "idle", None).to_wire())
    assert state["status"] == "idle"
    assert state["ticket"] is None


@pytest.mark.parametrize("message", ROUND_TRIPS, ids=lambda m: type(m).__name__)
def test_to_wire_writes_vietnamese_as_utf8_not_escapes(message: Any) -> None:
    payload = message.to_wire()
    assert b"\\u" not in payload
    payload.decode("utf-8")  # strict: every payload is valid UTF-8


def test_vietnamese_text_is_written_as_its_utf8_bytes() -> None:
    assert "Đất đai".encode() in CONFIG.to_wire()
    assert "Tư pháp – Hộ tịch".encode() in CALL.to_wire()
    assert "Quầy 2".encode() in CounterStateMessage("2", "Quầy 2", "serving", TICKET).to_wire()
    assert "r-ưu-tiên".encode() in TicketRequest("r-ưu-tiên", "tu-phap").to_wire()
    assert "Yêu cầu".encode() in Refusal(None, ErrorInfo("bad_request", "Yêu cầu")).to_wire()


@pytest.mark.parametrize(
    ("cls", "body"),
    [
        (TicketRequest, {"request_id": "\\ud800", "area": "dat-dai"}),
        (TicketRequest, {"request_id": "r1", "area": "\\udfff"}),
        (TicketRequest, {"request_id": "r1", "area": "dat-dai", "priority": "\\ud83d"}),
        (CounterCommand, {"request_id": "\\udc00", "action": "next"}),
        (CounterCommand, {"request_id": "c1", "action": "call", "number": "B\\ud800"}),
        (Rating, {"rating_id": "\\ud800", "ticket_id": "t", "level": "satisfied",
                  "pressed_at": "2026-11-23T09:15:30+07:00"}),
    ],
)
def test_a_lone_surrogate_escape_is_refused_or_survives_the_way_back(cls: Any, body: dict[str, str]) -> None:
    """`"\\ud800"` is valid JSON but no Unicode text: whatever from_wire accepts must be writable again.

    The server echoes request ids in its replies; one it cannot encode must not get past parsing.
    """
    fields = ",".join(f'"{k}":"{v}"' for k, v in body.items())
    payload = ('{"v":1,' + fields + "}").encode()
    try:
        message = cls.from_wire(payload)
    except BadMessage as bad:
        assert bad.code == "bad_request"
        return
    assert cls.from_wire(message.to_wire()) == message


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b"])
def test_usable_id_never_gives_an_id_a_reply_cannot_carry(escape: str) -> None:
    """The server builds its refusal (even its internal_error reply) around `usable_id`."""
    request_id = usable_id(('{"v":1,"request_id":"' + escape + '"}').encode(), "request_id")
    reply = Refusal(request_id, ErrorInfo("bad_request", "Yêu cầu không hợp lệ"))
    assert json.loads(reply.to_wire())["request_id"] == request_id


# --- properties -------------------------------------------------------------------------------

ids = st.text(min_size=1, max_size=MAX_ID)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
aware_seconds = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets)\
    .map(lambda moment: moment.replace(microsecond=0))


@st.composite
def counter_commands(draw: st.DrawFn) -> CounterCommand:
    action = draw(st.sampled_from(ACTIONS))
    return CounterCommand(
        draw(ids), action,
        to_area=draw(ids) if action == "transfer" else None,
        number=draw(ids) if action == "call" or (action == "dossier" and draw(st.booleans())) else None,
        cancels=draw(ids) if action == "cancel" else None,
        code=draw(st.text(min_size=1, max_size=64)) if action == "dossier" else None,
        remove=draw(st.booleans()) if action == "dossier" else False,
    )


@given(st.builds(TicketRequest, ids, ids, st.text()))
def test_any_ticket_request_round_trips(request: TicketRequest) -> None:
    assert TicketRequest.from_wire(request.to_wire()) == request


@given(counter_commands())
def test_any_counter_command_round_trips(command: CounterCommand) -> None:
    assert CounterCommand.from_wire(command.to_wire()) == command


@given(st.builds(Rating, ids, ids, ids, aware_seconds))
def test_any_rating_round_trips(rating: Rating) -> None:
    assert Rating.from_wire(rating.to_wire()) == rating


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
FIELD_NAMES = ("v", "request_id", "area", "priority", "action", "to_area", "number", "rating_id", "ticket_id",
               "level", "pressed_at")
field_values = (
    json_values
    | st.sampled_from(ACTIONS)
    | st.just(1)
    | st.text(max_size=MAX_ID + 2)
    | st.datetimes(timezones=st.none() | offsets).map(lambda moment: moment.isoformat())
)
likely_objects = st.dictionaries(st.sampled_from(FIELD_NAMES), field_values).map(
    lambda body: body | {"v": 1} if len(body) % 3 else body
)
READERS: tuple[Any, ...] = (TicketRequest, CounterCommand, Rating)


def parses_or_refuses(payload: bytes) -> None:
    for cls in READERS:
        try:
            message = cls.from_wire(payload)
        except BadMessage as bad:
            assert bad.code == "bad_request"
            assert bad.reason
        else:
            assert type(cls.from_wire(message.to_wire())) is cls  # what was accepted can be sent on


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_either_parse_or_raise_bad_message(payload: bytes) -> None:
    parses_or_refuses(payload)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_arbitrary_json_values_either_parse_or_raise_bad_message(value: Any, ascii_only: bool) -> None:
    parses_or_refuses(json.dumps(value, ensure_ascii=ascii_only).encode())


@settings(max_examples=500, deadline=None)
@given(likely_objects)
def test_objects_with_the_known_field_names_either_parse_or_raise_bad_message(body: dict[str, Any]) -> None:
    parses_or_refuses(json.dumps(body, ensure_ascii=False).encode())


def test_a_huge_integer_in_an_unknown_field_is_ignored_and_in_a_known_one_refused() -> None:
    huge = "9" * 5000
    request = TicketRequest.from_wire(f'{{"v": 1, "request_id": "r", "area": "a", "x": {huge}}}'.encode())
    assert request.area == "a"
    with pytest.raises(BadMessage) as refused:
        decode(f'{{"v": {huge}}}'.encode())
    assert refused.value.code == "bad_request"


def test_a_wait_basis_this_side_does_not_know_reads_as_none_and_drops_no_ticket() -> None:
    body = {"id": "20261202-000001", "number": "1001", "area": "dat-dai", "issued_at": "2026-12-02T08:00:00+07:00",
            "waiting_ahead": 0, "estimated_wait_s": 60}
    assert TicketView.from_body({**body, "wait_basis": "free_counter"}).wait_basis == "free_counter"
    assert TicketView.from_body({**body, "wait_basis": "appointment_slot"}).wait_basis is None
    assert TicketView.from_body(body).wait_basis is None


# --- the staff console's messages (an extension, issue 15) -----------------------------------

SEATED = Official("lan.nt", "Nguyễn Thị Lan")
FLOOR = FloorState(
    at=datetime(2026, 11, 23, 9, 30, tzinfo=ICT),
    counters=(FloorCounter("1", "Quầy 1", "serving", datetime(2026, 11, 23, 9, 20, tzinfo=ICT), 4, SEATED),
              FloorCounter("2", "Quầy 2", "idle", None, 0)),
    areas=(FloorArea("dat-dai", "Đất đai", 3, 1, datetime(2026, 11, 23, 8, 1, tzinfo=ICT), 4, 1, 1800, True),),
    devices=(FloorDevice("k1", True, datetime(2026, 11, 23, 7, 0, tzinfo=ICT), "ready"),
             FloorDevice("counter-1", False, None)),
    today=FloorToday(issued=8, served=4, missed=1, waiting=3, mean_wait_s=310, p90_wait_s=600, within_target=0.8,
                     ratings={"very_satisfied": 2, "satisfied": 1, "dissatisfied": 0}, satisfied=1.0),
)
CONSOLE_ROUND_TRIPS = [
    ConsoleRequest("q1", "1", "lan.nt", "Nguyễn Thị Lan", "sit"),
    ConsoleRequest("q2", "1", "lan.nt", "Nguyễn Thị Lan", "leave"),
    ConsoleRequest("q3", "2", "binh_tt", "Trần Thị Bình", "next"),
    ConsoleRequest("q4", "2", "binh_tt", "Trần Thị Bình", "transfer", to_area="tu-phap"),
    ConsoleRequest("q5", "2", "binh_tt", "Trần Thị Bình", "call", number="B001"),
    CounterStateMessage("1", "Quầy 1", "serving", TICKET, official=SEATED,
                        last_rating=LastRating("t-8", "1008", "very_satisfied")),
    FLOOR,
    FloorState(datetime(2026, 11, 23, 0, 0, tzinfo=ICT), (), (), (),
               FloorToday(0, 0, 0, 0, None, None, None, {}, None)),
]


@pytest.mark.parametrize("message", CONSOLE_ROUND_TRIPS, ids=lambda m: type(m).__name__)
def test_the_console_messages_round_trip_through_the_wire(message: Any) -> None:
    payload = message.to_wire()
    assert type(message).from_wire(payload) == message
    assert b"\\u" not in payload


COUNTER_STATE_BYTES = [
    (CounterStateMessage("1", "Quầy 1", "idle", None),
     '{"v":1,"status":"idle","ticket":null,"counter_id":"1","counter_name":"Quầy 1"}'),
    (CounterStateMessage("1", "Quầy 1", "idle", None, RatingWindow("t-9", "1009", datetime(2026, 11, 23, 8, 10,
                                                                                           tzinfo=ICT))),
     '{"v":1,"status":"idle","ticket":null,"counter_id":"1","counter_name":"Quầy 1",'
     '"rating":{"ticket_id":"t-9","number":"1009","until":"2026-11-23T08:10:00+07:00"}}'),
    (CounterStateMessage("1", "Quầy 1", "idle", None, official=SEATED,
                         last_rating=LastRating("t-9", "1009", "satisfied")),
     '{"v":1,"status":"idle","ticket":null,"counter_id":"1","counter_name":"Quầy 1",'
     '"official":{"username":"lan.nt","name":"Nguyễn Thị Lan"},'
     '"last_rating":{"ticket_id":"t-9","number":"1009","level":"satisfied"}}'),
    (ConsoleRequest("q4", "2", "binh_tt", "Trần Thị Bình", "transfer", to_area="tu-phap"),
     '{"v":1,"request_id":"q4","counter":"2","official":"binh_tt","official_name":"Trần Thị Bình",'
     '"action":"transfer","to_area":"tu-phap"}'),
    (FloorState(datetime(2026, 11, 23, 9, 30, tzinfo=ICT), (FloorCounter("2", "Quầy 2", "idle", None, 0),),
                (), (FloorDevice("counter-1", False, None),), FloorToday(1, 0, 0, 1, None, None, None, {}, None)),
     '{"v":1,"at":"2026-11-23T09:30:00+07:00","counters":[{"id":"2","name":"Quầy 2","status":"idle","since":null,'
     '"served":0,"official":null}],"areas":[],"devices":[{"id":"counter-1","online":false,"since":null,'
     '"printer":null}],"today":{"issued":1,"served":0,"missed":0,"waiting":1,"mean_wait_s":null,"p90_wait_s":null,'
     '"within_target":null,"ratings":{},"satisfied":null}}'),
]


@pytest.mark.parametrize(("message", "sent"), COUNTER_STATE_BYTES, ids=lambda m: type(m).__name__)
def test_counter_state_keeps_its_bytes_and_the_extensions_have_theirs(message: Any, sent: str) -> None:
    """Without an official or a rating a counter state is byte for byte what it always was."""
    assert message.to_wire() == sent.encode()


def test_every_counter_action_but_cancel_and_the_seat_actions_come_from_the_console() -> None:
    assert set(CONSOLE_ACTIONS) == (set(ACTIONS) - {"cancel"}) | {"sit", "leave"}
    for action in CONSOLE_ACTIONS:
        extra = {"transfer": {"to_area": "a"}, "call": {"number": "1"},
                 "dossier": {"code": "000.00.04.H12-251202-0001"}}.get(action, {})
        body = {"v": 1, "request_id": "q", "counter": "1", "official": "lan.nt", "official_name": "Lan",
                "action": action, **extra}
        assert decode_request("console", wire(body)) == ConsoleRequest.from_wire(wire(body))
        assert ConsoleRequest.from_wire(wire(body)).action == action


def test_a_console_request_gives_its_counter_command() -> None:
    request = ConsoleRequest("q5", "2", "binh_tt", "Trần Thị Bình", "call", number="B001")
    assert request.command() == CounterCommand("q5", "call", number="B001")


def test_the_officials_name_is_kept_in_nfc_with_its_spaces_collapsed() -> None:
    body = {"v": 1, "request_id": "q", "counter": "1", "official": "lan.nt",
            "official_name": "  Nguye\u0302\u0303n   Thị Lan ", "action": "sit"}
    assert ConsoleRequest.from_wire(wire(body)).official_name == "Nguyễn Thị Lan"


def _console(**change: Any) -> bytes:
    body: dict[str, Any] = {"v": 1, "request_id": "q1", "counter": "1", "official": "lan.nt",
                            "official_name": "Nguyễn Thị Lan", "action": "next"}
    body.update(change)
    return wire({k: v for k, v in body.items() if v is not None})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (_console(counter=None), "field 'counter' is missing"),
        (_console(counter="1/2"), "field 'counter' must be"),
        (_console(counter=1), "field 'counter' must be a string"),
        (_console(official="ab"), "field 'official' must be"),
        (_console(official="Lan"), "field 'official' must be"),
        (_console(official="a" * 33), "field 'official' must be"),
        (_console(official_name=""), "field 'official_name' must be"),
        (_console(official_name="x" * 101), "field 'official_name' must be"),
        (_console(official_name="Lan\u0007"), "field 'official_name' must be"),
        (_console(official_name=None), "field 'official_name' is missing"),
        (_console(action="cancel", cancels="c1"), "action 'cancel' is a counter terminal's"),
        (_console(action="dance"), "unknown action 'dance'"),
        (_console(action="transfer"), "field 'to_area' is missing"),
        (_console(action="call"), "field 'number' is missing"),
        (_console(request_id="x" * 129), "field 'request_id' must be 1 to 128 characters"),
    ],
)
def test_a_bad_console_request_is_refused_with_its_reason(payload: bytes, reason: str) -> None:
    assert refused(decode_request, "console", payload).reason.startswith(reason)


def test_a_name_of_100_characters_is_accepted() -> None:
    assert ConsoleRequest.from_wire(_console(official_name="Ư" * 100)).official_name == "Ư" * 100


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b["today"].update(within_target=1.5), "field 'within_target' must be a number from 0 to 1"),
        (lambda b: b["today"].update(satisfied=True), "field 'satisfied' must be a number from 0 to 1"),
        (lambda b: b["today"].update(ratings={"good": -1}), "field 'ratings' must map levels to counts"),
        (lambda b: b["counters"][0].update(served=-1), "field 'served' must not be negative"),
        (lambda b: b["counters"][0].update(since="09:00"), "field 'since' is not an ISO 8601 time"),
        (lambda b: b["areas"][0].update(open=1), "field 'open' must be true or false"),
        (lambda b: b.update(devices={}), "field 'devices' must be a list"),
        (lambda b: b.pop("at"), "field 'at' is missing"),
    ],
)
def test_a_bad_floor_is_refused(change: Any, reason: str) -> None:
    body = json.loads(FLOOR.to_wire())
    change(body)
    assert refused(FloorState.from_wire, wire(body)).reason == reason


def test_a_floor_reads_shares_written_as_integers() -> None:
    body = json.loads(FLOOR.to_wire())
    body["today"].update(within_target=1, satisfied=0)
    today = FloorState.from_wire(wire(body)).today
    assert (today.within_target, today.satisfied) == (1.0, 0.0)
