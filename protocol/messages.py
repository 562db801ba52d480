"""One frozen dataclass per payload of the contract, with strict `from_wire` and `to_wire`.

Validation compares types with `type(x) is kind`: JSON `true` would pass both `== 1` and
`isinstance(x, int)`. Every refusal is a `BadMessage("bad_request", reason)`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, TypeAlias, TypeVar

import orjson

from protocol.errors import BadMessage
from protocol.hours import Hours
from protocol.record import record

VERSION = 1
MAX_PAYLOAD = 64 * 1024
MAX_ID = 128
PRIORITY_NONE = "none"
# The contract's priority categories, with what a citizen reads on the kiosk and the ticket (a center may add
# its own categories, which have no label here: they show as the center names them).
PRIORITY_LABELS = {
    "elderly": "Người cao tuổi",
    "disabled": "Người khuyết tật",
    "pregnant": "Phụ nữ mang thai",
    "veteran": "Người có công với cách mạng",
    "child_under_6": "Người đi cùng trẻ em dưới 6 tuổi",
}
PRIORITY_CATEGORIES = tuple(PRIORITY_LABELS)
# The usual rating levels' Vietnamese names (a center's own level shows by its id).
RATING_LABELS = {"very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng", "neutral": "Bình thường",
                 "dissatisfied": "Không hài lòng", "very_dissatisfied": "Rất không hài lòng"}
# The optional criteria a citizen's phone may be asked besides the level (an extension, issue 19: a center chooses
# which), with their Vietnamese names.
CRITERIA_LABELS = {"attitude": "Thái độ của cán bộ", "guidance": "Hướng dẫn hồ sơ, thủ tục",
                   "time": "Thời gian giải quyết"}
# What a ticket's estimated wait rests on (the `wait_basis` of a ticket reply, an extension of the contract):
WAIT_FREE_COUNTER = "free_counter"  # a free counter waits for this area: the citizen is called at once
WAIT_ESTIMATE = "estimate"  # `estimated_wait_s` is an estimate from the queue and the day's pace
WAIT_NO_COUNTER = "no_counter"  # no counter serves the area now: no estimate can be given
WAIT_BASES = (WAIT_FREE_COUNTER, WAIT_ESTIMATE, WAIT_NO_COUNTER)
ACTIONS = ("next", "recall", "skip", "finish", "transfer", "call", "pause", "resume", "start", "cancel", "dossier")
MAX_DOSSIER = 64  # characters of a dossier code as typed or scanned (an extension, issue 19), checked by the server
# The staff console's actions (an extension): a counter's, but `cancel`, and an official's seat.
SEAT_ACTIONS = ("sit", "leave")
CONSOLE_ACTIONS = (*(a for a in ACTIONS if a != "cancel"), *SEAT_ACTIONS)
OFFICIAL_USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
COUNTER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a counter id as it may stand in a topic (topics.DEVICE_ID)
MAX_OFFICIAL_NAME = 100
# A ticket's public token (an extension, issue 16): 20 bytes in unpadded base64url. A `token` field that is no
# string or longer than MAX_TOKEN is a bad request; one of the wrong shape is a token nobody was given.
TOKEN = re.compile(r"[A-Za-z0-9_-]{27}")
MAX_TOKEN = 64
# The citizen web's booking requests (an extension, issue 18): a day's free slots, a booking of one (`book`) or a
# remote number for today (`remote`), a booking looked up or cancelled by its code and the CCCD that made it.
BOOKING_ACTIONS = ("slots", "book", "remote", "booking", "cancel_booking")
WEB_ACTIONS = ("lookup", "rate", *BOOKING_ACTIONS)
READ_ONLY_WEB = ("lookup", "slots", "booking")  # answered, never kept
# How a ticket came (an extension, issue 18): taken at the kiosk, booked for a slot, or a remote number for today.
CHANNELS = ("walk_in", "booked", "remote")
BOOKING_STATES = ("booked", "checked_in", "cancelled", "no_show", "late")
MAX_TYPED = 32  # a CCCD or a phone number as the citizen typed it (spaces, dots), checked by the server
BOOKING_CODE = re.compile(r"[0-9]{8}")
# An administrator's, at the staff console (an extension, issue 17): the live configuration.
CONFIG_ACTIONS = ("config_show", "config_history", "config_change", "config_restore")
CONFIG_SOURCES = ("file", "console", "restore")  # where a version of the live configuration came from
TICKET_STATES = ("waiting", "called", "serving", "served", "missed", "transferred", "voided")

T = TypeVar("T")
Body = dict[str, Any]
_MISSING: Any = object()


def parse_object(payload: bytes) -> Body:
    """The JSON object of a payload: size cap, UTF-8, JSON, an object. The version is not checked.

    orjson reads it (a fifth of the json module's time); an integer past 64 bits it reads as a float, refused where
    an integer is expected. What it refuses and JSON allows (a number past a double's range, NaN, a lone surrogate)
    the json module reads again, as it always did (an integer of over 40 digits as infinity)."""
    if len(payload) > MAX_PAYLOAD:
        raise BadMessage("bad_request", f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = _read_slowly(payload)
    if type(body) is not dict:
        raise BadMessage("bad_request", "payload is not a JSON object")
    return body


def _read_slowly(payload: bytes) -> Any:
    try:
        return _DECODER.decode(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadMessage("bad_request", "payload is not UTF-8") from None
    except (ValueError, RecursionError):
        raise BadMessage("bad_request", "payload is not JSON") from None


def _bounded_int(digits: str) -> int | float:
    """An integer as JSON wrote it; one too long to be any of ours stands as infinity, refused where an
    integer is expected and ignored elsewhere (Python refuses to parse over 4,300 digits at all)."""
    return int(digits) if len(digits) <= 40 else float("inf")


# Made once: json.loads with options builds a new one at every call
_DECODER = json.JSONDecoder(parse_int=_bounded_int)


def check_version(body: Body) -> Body:
    version = body.get("v")
    if type(version) is not int or version != VERSION:
        raise BadMessage("bad_request", f"field 'v' must be the integer {VERSION}")
    return body


def decode(payload: bytes) -> Body:
    """The checked JSON object of a payload: size cap, UTF-8, an object, exact integer `v == 1`."""
    return check_version(parse_object(payload))


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON in UTF-8 (orjson: a tenth of the json module's time; the same bytes for what is sent here)."""
    wire = {"v": VERSION, **body}
    wire["v"] = VERSION  # a body field may not change the version
    return orjson.dumps(wire, option=orjson.OPT_NON_STR_KEYS)


def field_of(body: Mapping[str, Any], name: str, kind: type[T], default: Any = _MISSING) -> T:
    """`body[name]`, exactly of type `kind`; absent or null gives `default` when there is one."""
    value = body.get(name)
    if value is None:
        if default is _MISSING:
            raise BadMessage("bad_request", f"field {name!r} is missing")
        return default  # type: ignore[no-any-return]
    if type(value) is not kind:
        raise BadMessage("bad_request", f"field {name!r} must be {_KIND_NAMES.get(kind, kind.__name__)}")
    if isinstance(value, str) and not _encodable(value):
        raise BadMessage("bad_request", f"field {name!r} is not valid Unicode text")
    return value


def _encodable(text: str) -> bool:
    """JSON may escape lone surrogates ("\\ud800") that no UTF-8 reply could carry back."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}


def id_of(body: Mapping[str, Any], name: str) -> str:
    """A non-empty identifier of at most MAX_ID characters."""
    value = field_of(body, name, str)
    if not value or len(value) > MAX_ID:
        raise BadMessage("bad_request", f"field {name!r} must be 1 to {MAX_ID} characters")
    return value


def usable_id(payload: bytes, name: str) -> str | None:
    """The payload's id field if it is usable, even in a payload refused for another reason (a wrong version, a
    bad field), else None: what its refusal echoes (null), and what a retry of it is known by."""
    try:
        return _id_or_none(parse_object(payload), name)
    except BadMessage:
        return None


def _id_or_none(body: Body, name: str) -> str | None:
    try:
        return id_of(body, name)
    except BadMessage:
        return None


def time_of(body: Mapping[str, Any], name: str) -> datetime:
    """An ISO 8601 time that carries its offset."""
    text = field_of(body, name, str)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadMessage("bad_request", f"field {name!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise BadMessage("bad_request", f"field {name!r} must carry its UTC offset")
    return value


def iso(moment: datetime) -> str:
    """The time to the second with its offset. The last one is remembered: the times of a batch's messages are
    mostly one object (its `now`), and formatting with a ZoneInfo is slow."""
    global _last_iso
    last = _last_iso
    if last[0] is moment:
        return last[1]
    text = moment.isoformat(timespec="seconds")
    _last_iso = (moment, text)  # one assignment: a reader in another thread sees one pair or the other
    return text


_last_iso: tuple[datetime | None, str] = (None, "")


# --- requests: device -> server -----------------------------------------------------------


@record
class TicketRequest:
    request_id: str
    area: str
    priority: str = PRIORITY_NONE
    v: ClassVar[int] = VERSION

    @classmethod
    def from_wire(cls, payload: bytes) -> TicketRequest:
        return cls.from_body(decode(payload))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TicketRequest:
        return cls(
            request_id=id_of(body, "request_id"),
            area=id_of(body, "area"),
            priority=field_of(body, "priority", str, PRIORITY_NONE),
        )

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "area": self.area, "priority": self.priority})


@dataclass(frozen=True, slots=True)
class TicketCancel:
    """On the ticket request topic (an extension): the kiosk gave up on request `cancels`, or restarted
    before printing its answer. The server makes sure it never makes a ticket nobody holds."""

    request_id: str
    cancels: str
    reason: str = "unanswered"  # "unanswered" or "unprinted", for the event
    v: ClassVar[int] = VERSION

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TicketCancel:
        reason = field_of(body, "reason", str, "unanswered")
        if reason not in ("unanswered", "unprinted"):
            raise BadMessage("bad_request", "field 'reason' must be \"unanswered\" or \"unprinted\"")
        return cls(request_id=id_of(body, "request_id"), cancels=id_of(body, "cancels"), reason=reason)

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "cancels": self.cancels, "reason": self.reason})


@dataclass(frozen=True, slots=True)
class VoidTickets:
    """On `admin/<id>/request` (an extension): void one kiosk's tickets issued from `start` to before `end`
    that still wait (a kiosk's flood), recorded with who asked (`by`)."""

    request_id: str
    kiosk: str
    start: datetime
    end: datetime
    by: str
    action: ClassVar[str] = "void"
    v: ClassVar[int] = VERSION

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> VoidTickets:
        if field_of(body, "action", str) != cls.action:
            raise BadMessage("bad_request", "field 'action' must be \"void\"")
        void = cls(request_id=id_of(body, "request_id"), kiosk=id_of(body, "kiosk"), start=time_of(body, "from"),
                   end=time_of(body, "to"), by=id_of(body, "by"))
        if void.end <= void.start:
            raise BadMessage("bad_request", "field 'to' must be after 'from'")
        return void

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "action": self.action, "kiosk": self.kiosk,
                       "from": iso(self.start), "to": iso(self.end), "by": self.by})


@record
class CounterCommand:
    request_id: str
    action: str
    to_area: str | None = None
    number: str | None = None
    cancels: str | None = None  # "cancel": the request_id of a command whose answer never came
    # "dossier" (an extension, issue 19): the dossier code to attach to the counter's ticket (`number`: to the
    # ticket of that number it called today), or, `remove`, to take off it
    code: str | None = None
    remove: bool = False
    v: ClassVar[int] = VERSION

    @classmethod
    def from_wire(cls, payload: bytes) -> CounterCommand:
        return cls.from_body(decode(payload))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CounterCommand:
        request_id = id_of(body, "request_id")
        action = field_of(body, "action", str)
        if action not in ACTIONS:
            raise BadMessage("bad_request", f"unknown action {action[:40]!r}")
        to_area = id_of(body, "to_area") if action == "transfer" else None
        number = id_of(body, "number") if action == "call" else None
        cancels = id_of(body, "cancels") if action == "cancel" else None
        if action == "dossier":
            code = field_of(body, "code", str)
            if not 0 < len(code) <= MAX_DOSSIER:
                raise BadMessage("bad_request", f"field 'code' must be 1 to {MAX_DOSSIER} characters")
            number = id_of(body, "number") if body.get("number") is not None else None
            return cls(request_id, action, number=number, code=code, remove=field_of(body, "remove", bool, False))
        return cls(request_id=request_id, action=action, to_area=to_area, number=number, cancels=cancels)

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "action": self.action}
        if self.to_area is not None:
            body["to_area"] = self.to_area
        if self.number is not None:
            body["number"] = self.number
        if self.cancels is not None:
            body["cancels"] = self.cancels
        if self.code is not None:
            body["code"] = self.code
        if self.remove:
            body["remove"] = True
        return encode(body)


@dataclass(frozen=True, slots=True)
class ConsoleRequest:
    """On `console/<console_id>/request` (an extension): the staff console acts for `counter` on behalf of the
    official signed in there. The counter actions are checked as a counter's own command is (`command()`);
    `sit` and `leave` take or give up the counter's seat."""

    request_id: str
    counter: str
    official: str  # the staff username
    official_name: str  # the full name, NFC, spaces collapsed
    action: str
    to_area: str | None = None
    number: str | None = None
    code: str | None = None
    remove: bool = False
    v: ClassVar[int] = VERSION

    @classmethod
    def from_wire(cls, payload: bytes) -> ConsoleRequest:
        return cls.from_body(decode(payload))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ConsoleRequest:
        request_id = id_of(body, "request_id")
        counter = field_of(body, "counter", str)
        if not COUNTER_ID.fullmatch(counter):
            raise BadMessage("bad_request", "field 'counter' must be 1 to 64 of A-Z, a-z, 0-9, '_', '.', '-'")
        official, name = _official(body)
        action = field_of(body, "action", str)
        if action in SEAT_ACTIONS:
            return cls(request_id, counter, official, name, action)
        if action == "cancel":
            raise BadMessage("bad_request", "action 'cancel' is a counter terminal's, not the console's")
        command = CounterCommand.from_body(body)  # the action and its extra fields, checked as a counter's
        return cls(request_id, counter, official, name, command.action, command.to_area, command.number,
                   command.code, command.remove)

    def command(self) -> CounterCommand:
        """The counter command this request is (not for `sit` and `leave`)."""
        return CounterCommand(self.request_id, self.action, to_area=self.to_area, number=self.number,
                              code=self.code, remove=self.remove)

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "counter": self.counter, "official": self.official,
                      "official_name": self.official_name, "action": self.action}
        if self.to_area is not None:
            body["to_area"] = self.to_area
        if self.number is not None:
            body["number"] = self.number
        if self.code is not None:
            body["code"] = self.code
        if self.remove:
            body["remove"] = True
        return encode(body)


def _official(body: Mapping[str, Any]) -> tuple[str, str]:
    """The staff username and full name (NFC, spaces collapsed) a console request acts for."""
    official = field_of(body, "official", str)
    if not OFFICIAL_USERNAME.fullmatch(official):
        raise BadMessage("bad_request", "field 'official' must be 3 to 32 of a-z, 0-9, '.', '_', '-'")
    name = " ".join(unicodedata.normalize("NFC", field_of(body, "official_name", str)).split())
    if not name or len(name) > MAX_OFFICIAL_NAME or not name.isprintable():
        raise BadMessage("bad_request", f"field 'official_name' must be 1 to {MAX_OFFICIAL_NAME} printable characters")
    return official, name


@dataclass(frozen=True, slots=True)
class ConfigRequest:
    """On `console/<console_id>/request` (an extension, issue 17): an administrator signed in at the console reads
    the center's live configuration (`config_show`) or its history (`config_history`), changes it
    (`config_change`, with `document`: the live part of the center config, in the TOML's tables, as it is to
    become) or puts an earlier version back (`config_restore`, with `version`). A change or a restore names the
    version the administrator's page showed (`base_version`): when another change came first it is refused
    (`config_conflict`) rather than undo that one unseen."""

    request_id: str
    official: str
    official_name: str
    action: str
    base_version: int | None = None
    document: Mapping[str, Any] | None = None
    version: int | None = None
    v: ClassVar[int] = VERSION

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ConfigRequest:
        request_id = id_of(body, "request_id")
        official, name = _official(body)
        action = field_of(body, "action", str)
        if action not in CONFIG_ACTIONS:
            raise BadMessage("bad_request", f"unknown action {action[:40]!r}")
        if action in ("config_show", "config_history"):
            return cls(request_id, official, name, action)
        base = _count(body, "base_version")
        if action == "config_change":
            return cls(request_id, official, name, action, base, document=field_of(body, "document", dict))
        return cls(request_id, official, name, action, base, version=_count(body, "version"))

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "official": self.official, "official_name": self.official_name,
                      "action": self.action}
        extra = {"base_version": self.base_version, "document": self.document, "version": self.version}
        body.update({key: value for key, value in extra.items() if value is not None})
        return encode(body)


@dataclass(frozen=True, slots=True)
class Rating:
    rating_id: str
    ticket_id: str
    level: str
    pressed_at: datetime
    v: ClassVar[int] = VERSION

    @classmethod
    def from_wire(cls, payload: bytes) -> Rating:
        return cls.from_body(decode(payload))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Rating:
        return cls(
            rating_id=id_of(body, "rating_id"),
            ticket_id=id_of(body, "ticket_id"),
            level=id_of(body, "level"),
            pressed_at=time_of(body, "pressed_at"),
        )

    def to_wire(self) -> bytes:
        return encode(
            {
                "rating_id": self.rating_id,
                "ticket_id": self.ticket_id,
                "level": self.level,
                "pressed_at": iso(self.pressed_at),
            }
        )


@dataclass(frozen=True, slots=True)
class WebLookup:
    """On `web/<web_id>/request` (an extension): a citizen's phone asks after the ticket of `token`. Read-only:
    its answer is never stored."""

    request_id: str
    token: str
    action: ClassVar[str] = "lookup"
    v: ClassVar[int] = VERSION

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "action": self.action, "token": self.token})


@dataclass(frozen=True, slots=True)
class WebRate:
    """On `web/<web_id>/request` (an extension): a citizen rates the ticket of `token` from the phone. Stored and
    answered again to a retry, as every request that changes something."""

    request_id: str
    token: str
    level: str
    # Issue 19 (extensions): the center's optional criteria the citizen rated too (criterion id -> level, in the
    # center's order), and what they wrote (phản ánh, kiến nghị)
    criteria: tuple[tuple[str, str], ...] = ()
    comment: str | None = None
    action: ClassVar[str] = "rate"
    v: ClassVar[int] = VERSION

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "action": self.action, "token": self.token, "level": self.level}
        if self.criteria:
            body["criteria"] = dict(self.criteria)
        if self.comment is not None:
            body["comment"] = self.comment
        return encode(body)


@dataclass(frozen=True, slots=True)
class WebSlots:
    """On `web/<web_id>/request` (an extension, issue 18): an area's bookable days (each with its free places), and,
    with `day`, that day's slots. Read-only."""

    request_id: str
    area: str
    day: date | None = None
    action: ClassVar[str] = "slots"
    v: ClassVar[int] = VERSION

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "action": self.action, "area": self.area}
        if self.day is not None:
            body["day"] = self.day.isoformat()
        return encode(body)


@dataclass(frozen=True, slots=True)
class WebBook:
    """On `web/<web_id>/request` (an extension, issue 18): a citizen books the slot of an area beginning at `start`
    (action "book"), or takes a remote number for today (action "remote", no `start`). `cccd` and `phone` are as
    typed; the server checks them, keeps the CCCD only as a keyed hash, and never answers either back."""

    request_id: str
    area: str
    cccd: str
    phone: str
    start: datetime | None = None
    v: ClassVar[int] = VERSION

    @property
    def action(self) -> str:
        return "remote" if self.start is None else "book"

    def to_wire(self) -> bytes:
        body: Body = {"request_id": self.request_id, "action": self.action, "area": self.area, "cccd": self.cccd,
                      "phone": self.phone}
        if self.start is not None:
            body["start"] = iso(self.start)
        return encode(body)


@dataclass(frozen=True, slots=True)
class WebBooking:
    """On `web/<web_id>/request` (an extension, issue 18): a booking looked up (action "booking", read-only) or
    cancelled ("cancel_booking") by its code, with the CCCD that made it."""

    request_id: str
    code: str
    cccd: str
    cancel: bool = False
    v: ClassVar[int] = VERSION

    @property
    def action(self) -> str:
        return "cancel_booking" if self.cancel else "booking"

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "action": self.action, "code": self.code, "cccd": self.cccd})


WebRequest: TypeAlias = WebLookup | WebRate | WebSlots | WebBook | WebBooking


def web_request_of(body: Mapping[str, Any]) -> WebRequest:
    request_id = id_of(body, "request_id")
    action = field_of(body, "action", str)
    if action not in WEB_ACTIONS:
        raise BadMessage("bad_request", f"unknown action {action[:40]!r}")
    if action in BOOKING_ACTIONS:
        return _booking_request(request_id, action, body)
    token = field_of(body, "token", str)
    if not token or len(token) > MAX_TOKEN:
        raise BadMessage("bad_request", f"field 'token' must be 1 to {MAX_TOKEN} characters")
    if action == "lookup":
        return WebLookup(request_id, token)
    return WebRate(request_id, token, id_of(body, "level"), _criteria(body), _comment(body))


MAX_CRITERIA = 10
MAX_COMMENT = 500


def _criteria(body: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    criteria = field_of(body, "criteria", dict, {})
    if len(criteria) > MAX_CRITERIA:
        raise BadMessage("bad_request", f"field 'criteria' holds at most {MAX_CRITERIA} criteria")
    if any(len(name) > MAX_ID for name in criteria):
        raise BadMessage("bad_request", f"a criterion's name in 'criteria' is over {MAX_ID} characters")
    return tuple((name, id_of(criteria, name)) for name in criteria)


def written(text: str) -> bool:
    """Whether `text` is what a person writes: printable, where a symbol newer than this Python's Unicode tables (an
    emoji of the last years, in the planes from U+1F000) counts as printable too."""
    return all(c.isprintable() or (ord(c) >= 0x1F000 and unicodedata.category(c) == "Cn") for c in text)


def _comment(body: Mapping[str, Any]) -> str | None:
    """The citizen's text, NFC with its spaces collapsed (None: none written)."""
    comment = body.get("comment")
    if comment is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", field_of(body, "comment", str)).split())
    if len(text) > MAX_COMMENT or not written(text):
        raise BadMessage("bad_request", f"field 'comment' must be at most {MAX_COMMENT} printable characters")
    return text or None


def _booking_request(request_id: str, action: str, body: Mapping[str, Any]) -> WebSlots | WebBook | WebBooking:
    if action == "slots":
        day = field_of(body, "day", str, None)
        return WebSlots(request_id, id_of(body, "area"), None if day is None else _day_of(day, "day"))
    cccd = _typed(body, "cccd")
    if action in ("booking", "cancel_booking"):
        return WebBooking(request_id, booking_code_of(body, "code"), cccd, cancel=action == "cancel_booking")
    start = time_of(body, "start") if action == "book" else None
    return WebBook(request_id, id_of(body, "area"), cccd, _typed(body, "phone"), start)


def _typed(body: Mapping[str, Any], name: str) -> str:
    value = field_of(body, name, str)
    if not value or len(value) > MAX_TYPED:
        raise BadMessage("bad_request", f"field {name!r} must be 1 to {MAX_TYPED} characters")
    return value


def _day_of(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadMessage("bad_request", f"field {name!r} is not an ISO 8601 date") from None


def booking_code_of(body: Mapping[str, Any], name: str) -> str:
    """A booking code's shape (8 ASCII digits); whether its check digit holds is the server's to say, in
    Vietnamese."""
    code = field_of(body, name, str)
    if not BOOKING_CODE.fullmatch(code):
        raise BadMessage("bad_request", f"field {name!r} must be 8 digits")
    return code


@dataclass(frozen=True, slots=True)
class CheckIn:
    """On the ticket request topic (an extension, issue 18): a citizen checks in at the kiosk with a booking's
    code (typed on the keypad, or read from its QR). Answered as a ticket request: a TicketIssued whose ticket
    says its channel and slot, or a Refusal saying why not (in Vietnamese)."""

    request_id: str
    code: str
    v: ClassVar[int] = VERSION

    def to_wire(self) -> bytes:
        return encode({"request_id": self.request_id, "booking": self.code})


def _token_or_none(body: Mapping[str, Any]) -> str | None:
    token = body.get("token")
    return token if type(token) is str and TOKEN.fullmatch(token) else None


# The requests a device sends on a request topic and gets its answer to on its Response Topic (a rating is no
# such request: it is acknowledged by `rating_id`, and read by `Rating.from_wire`).
Request: TypeAlias = (TicketRequest | TicketCancel | CheckIn | CounterCommand | VoidTickets | ConsoleRequest
                      | ConfigRequest | WebRequest)


def decode_request(kind: str, payload: bytes) -> Request:
    """The typed request of a payload on a request topic of `kind` (an `Inbound.kind`: "ticket_request",
    "command", "admin", "console" or "web")."""
    body = decode(payload)
    if kind == "ticket_request":
        if _is_cancel(body):
            return TicketCancel.from_body(body)
        if _is_check_in(body):
            return CheckIn(id_of(body, "request_id"), booking_code_of(body, "booking"))
        return TicketRequest.from_body(body)
    if kind == "command":
        return CounterCommand.from_body(body)
    if kind == "admin":
        return VoidTickets.from_body(body)
    if kind == "console":
        return ConfigRequest.from_body(body) if body.get("action") in CONFIG_ACTIONS else ConsoleRequest.from_body(body)
    if kind == "web":
        return web_request_of(body)
    raise ValueError(f"{kind!r} is not a request topic")


def _is_cancel(body: Body) -> bool:
    """A kiosk's TicketCancel shares the ticket request topic: it names what it cancels and no area (a ticket
    request with an extra `cancels` field is still a ticket request: the contract ignores unknown fields)."""
    return "cancels" in body and "area" not in body


def _is_check_in(body: Body) -> bool:
    """A kiosk's CheckIn shares the ticket request topic: it names a booking and no area."""
    return "booking" in body and "area" not in body


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A request that did not decode (a wrong version, a bad field), and what can still be read of it."""

    error: BadMessage
    request_id: str | None  # what its refusal echoes (null), and what a retry of it is known by
    cancel: bool  # a kiosk's cancel all the same: it draws on the kiosk's cancel rate, never its ticket rate

    @classmethod
    def of(cls, error: BadMessage, payload: bytes) -> Unreadable:
        try:
            body = parse_object(payload)
        except BadMessage:
            return cls(error, None, False)
        return cls(error, _id_or_none(body, "request_id"), _is_cancel(body))


# --- replies: server -> device ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    message: str  # Vietnamese, fit to show to a citizen or an official
    detail: str | None = None  # for the technician: which field was wrong, in English

    def to_body(self) -> Body:
        body: Body = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ErrorInfo:
        return cls(field_of(body, "code", str), field_of(body, "message", str), field_of(body, "detail", str, None))


def _reply(id_name: str, reply_id: str | None, ok: bool, answer: Body) -> bytes:
    """`{"v":1,<id_name>,"ok",...answer}`: every reply's envelope."""
    return encode({id_name: reply_id, "ok": ok, **answer})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Any request's `ok:false` answer, and a rating's (then `id_name` is "rating_id"). `request_id` is null
    when the request's own id was unusable."""

    request_id: str | None
    error: ErrorInfo
    id_name: str = "request_id"

    def to_wire(self) -> bytes:
        return _reply(self.id_name, self.request_id, False, {"error": self.error.to_body()})

    @classmethod
    def from_body(cls, body: Mapping[str, Any], id_name: str = "request_id") -> Refusal:
        request_id = body.get(id_name)
        error = ErrorInfo.from_body(field_of(body, "error", dict))
        return cls(request_id if type(request_id) is str else None, error, id_name)


@record
class TicketIssued:
    """The answer to a TicketRequest: the ticket made."""

    request_id: str
    ticket: TicketView

    def to_wire(self) -> bytes:
        return _reply("request_id", self.request_id, True, {"ticket": self.ticket.to_body()})

    @classmethod
    def from_wire(cls, payload: bytes) -> TicketIssued | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(field_of(body, "request_id", str), TicketView.from_body(field_of(body, "ticket", dict)))


@record
class CommandDone:
    """The answer to a CounterCommand (but "cancel"): the ticket it concerns, if any, and the counter's status."""

    request_id: str
    ticket: TicketView | None
    status: str  # "idle", "serving" or "paused"

    def to_wire(self) -> bytes:
        ticket = None if self.ticket is None else self.ticket.to_body()
        return _reply("request_id", self.request_id, True, {"ticket": ticket, "status": self.status})

    @classmethod
    def from_wire(cls, payload: bytes) -> CommandDone | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        ticket = field_of(body, "ticket", dict, None)
        return cls(field_of(body, "request_id", str), None if ticket is None else TicketView.from_body(ticket),
                   field_of(body, "status", str))


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The answer to a TicketCancel or a counter's "cancel": `cancelled` when the request it cancels had not been
    answered (it never acts now); else `answer` is the answer that request had, and for a kiosk's ticket
    `voided` tells whether its ticket left the queue."""

    request_id: str
    cancelled: bool
    answer: Mapping[str, Any] | None = None  # the earlier answer, as it was sent
    voided: bool | None = None

    def to_wire(self) -> bytes:
        body: Body = {"cancelled": self.cancelled}
        if self.voided is not None:
            body["voided"] = self.voided
        if self.answer is not None:
            body["answer"] = self.answer
        return _reply("request_id", self.request_id, True, body)

    @classmethod
    def from_wire(cls, payload: bytes) -> Cancellation | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(field_of(body, "request_id", str), field_of(body, "cancelled", bool),
                   field_of(body, "answer", dict, None), field_of(body, "voided", bool, None))


@dataclass(frozen=True, slots=True)
class VoidedTicket:
    id: str
    number: str
    area: str

    def to_body(self) -> Body:
        return {"id": self.id, "number": self.number, "area": self.area}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> VoidedTicket:
        return cls(field_of(body, "id", str), field_of(body, "number", str), field_of(body, "area", str))


@dataclass(frozen=True, slots=True)
class TicketsVoided:
    """The answer to VoidTickets: the tickets that left the queue."""

    request_id: str
    tickets: tuple[VoidedTicket, ...]

    def to_wire(self) -> bytes:
        return _reply("request_id", self.request_id, True, {"voided": [t.to_body() for t in self.tickets]})

    @classmethod
    def from_wire(cls, payload: bytes) -> TicketsVoided | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        tickets = tuple(VoidedTicket.from_body(_object(t)) for t in field_of(body, "voided", list))
        return cls(field_of(body, "request_id", str), tickets)


@dataclass(frozen=True, slots=True)
class RatingRecorded:
    """A rating's acknowledgement when it counts (`late`: delivered late from a terminal's outbox)."""

    rating_id: str
    ticket_id: str
    level: str
    late: bool = False

    def to_wire(self) -> bytes:
        body: Body = {"ticket_id": self.ticket_id, "level": self.level}
        if self.late:
            body["late"] = True
        return _reply("rating_id", self.rating_id, True, body)

    @classmethod
    def from_wire(cls, payload: bytes) -> RatingRecorded | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body, "rating_id")
        return cls(field_of(body, "rating_id", str), field_of(body, "ticket_id", str), field_of(body, "level", str),
                   field_of(body, "late", bool, False))


@dataclass(frozen=True, slots=True)
class PublicRating:
    """A public ticket's rating: its level once rated, until when a phone may rate it, and whether it may now."""

    level: str | None
    until: datetime | None
    open: bool

    def to_body(self) -> Body:
        return {"level": self.level, "until": None if self.until is None else iso(self.until), "open": self.open}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> PublicRating:
        return cls(field_of(body, "level", str, None), _time_or_none(body, "until"), field_of(body, "open", bool))


@dataclass(frozen=True, slots=True)
class PublicTicket:
    """A ticket as a citizen's phone sees it (an extension): the current ticket of the chain its token started
    (a transferred ticket is answered by its continuation), and no more than its holder may know."""

    id: str
    token: str
    number: str
    area: str
    area_name: str
    priority: str
    issued_at: datetime
    state: str  # one of TICKET_STATES but "transferred" (the chain's current ticket never is)
    counter_id: str | None
    counter_name: str | None
    called_at: datetime | None
    calls: int
    waiting_ahead: int | None  # while waiting: as in the `queue` snapshot
    estimated_wait_s: int | None
    wait_basis: str | None
    finished_at: datetime | None
    rating: PublicRating

    def to_body(self) -> Body:
        return {
            "id": self.id, "token": self.token, "number": self.number, "area": self.area,
            "area_name": self.area_name, "priority": self.priority, "issued_at": iso(self.issued_at),
            "state": self.state, "counter_id": self.counter_id, "counter_name": self.counter_name,
            "called_at": None if self.called_at is None else iso(self.called_at), "calls": self.calls,
            "waiting_ahead": self.waiting_ahead, "estimated_wait_s": self.estimated_wait_s,
            "wait_basis": self.wait_basis,
            "finished_at": None if self.finished_at is None else iso(self.finished_at),
            "rating": self.rating.to_body(),
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> PublicTicket:
        state = field_of(body, "state", str)
        if state not in TICKET_STATES:
            raise BadMessage("bad_request", f"unknown ticket state {state[:40]!r}")
        ahead, wait = body.get("waiting_ahead"), body.get("estimated_wait_s")
        return cls(
            id=id_of(body, "id"), token=field_of(body, "token", str), number=field_of(body, "number", str),
            area=field_of(body, "area", str), area_name=field_of(body, "area_name", str),
            priority=field_of(body, "priority", str, PRIORITY_NONE), issued_at=time_of(body, "issued_at"),
            state=state, counter_id=field_of(body, "counter_id", str, None),
            counter_name=field_of(body, "counter_name", str, None), called_at=_time_or_none(body, "called_at"),
            calls=_count(body, "calls"), waiting_ahead=None if ahead is None else _count(body, "waiting_ahead"),
            estimated_wait_s=None if wait is None else _count(body, "estimated_wait_s"),
            wait_basis=_wait_basis(body), finished_at=_time_or_none(body, "finished_at"),
            rating=PublicRating.from_body(field_of(body, "rating", dict)),
        )


@dataclass(frozen=True, slots=True)
class TicketFound:
    """The answer to a WebLookup or a WebRate (an extension): the ticket as the phone shows it."""

    request_id: str
    ticket: PublicTicket

    def to_wire(self) -> bytes:
        return _reply("request_id", self.request_id, True, {"ticket": self.ticket.to_body()})

    @classmethod
    def from_wire(cls, payload: bytes) -> TicketFound | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(id_of(body, "request_id"), PublicTicket.from_body(field_of(body, "ticket", dict)))


@dataclass(frozen=True, slots=True)
class FreeSlot:
    """A bookable slot (an extension, issue 18) and the places still free in it."""

    start: datetime
    end: datetime
    free: int

    def to_body(self) -> Body:
        return {"start": iso(self.start), "end": iso(self.end), "free": self.free}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FreeSlot:
        return cls(time_of(body, "start"), time_of(body, "end"), _count(body, "free"))


@dataclass(frozen=True, slots=True)
class FreeDay:
    """A bookable day and the places still free in its slots."""

    day: date
    free: int

    def to_body(self) -> Body:
        return {"day": self.day.isoformat(), "free": self.free}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FreeDay:
        return cls(_day_of(field_of(body, "day", str), "day"), _count(body, "free"))


@dataclass(frozen=True, slots=True)
class SlotsAnswer:
    """The answer to WebSlots: the area's bookable days from today, and the slots of the day asked for (if one
    was); whether it gives remote numbers today, and how many it has left."""

    request_id: str
    area: str
    days: tuple[FreeDay, ...]
    slots: tuple[FreeSlot, ...] = ()
    remote_free: int = 0

    def to_wire(self) -> bytes:
        return _reply("request_id", self.request_id, True, {
            "area": self.area, "days": [d.to_body() for d in self.days], "slots": [s.to_body() for s in self.slots],
            "remote_free": self.remote_free})

    @classmethod
    def from_wire(cls, payload: bytes) -> SlotsAnswer | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(id_of(body, "request_id"), field_of(body, "area", str),
                   tuple(FreeDay.from_body(_object(d)) for d in field_of(body, "days", list)),
                   tuple(FreeSlot.from_body(_object(s)) for s in field_of(body, "slots", list, [])),
                   field_of(body, "remote_free", int, 0))


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as its holder may see it (an extension, issue 18): nothing personal. A booked slot has its
    `start` and `end`; a remote number has neither. The citizen checks in at the kiosk from `check_in_from` to
    `check_in_until`; `number` is the ticket's once checked in."""

    code: str
    area: str
    area_name: str
    day: date
    channel: str  # "booked" or "remote"
    state: str  # one of BOOKING_STATES
    created_at: datetime
    check_in_from: datetime
    check_in_until: datetime
    start: datetime | None = None
    end: datetime | None = None
    number: str | None = None

    def to_body(self) -> Body:
        body: Body = {"code": self.code, "area": self.area, "area_name": self.area_name, "day": self.day.isoformat(),
                      "channel": self.channel, "state": self.state, "created_at": iso(self.created_at),
                      "check_in_from": iso(self.check_in_from), "check_in_until": iso(self.check_in_until)}
        if self.start is not None and self.end is not None:
            body["start"], body["end"] = iso(self.start), iso(self.end)
        if self.number is not None:
            body["number"] = self.number
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> BookingView:
        channel, state = field_of(body, "channel", str), field_of(body, "state", str)
        if channel not in CHANNELS[1:] or state not in BOOKING_STATES:
            raise BadMessage("bad_request", "a booking's channel or state is not known")
        return cls(booking_code_of(body, "code"), field_of(body, "area", str), field_of(body, "area_name", str, ""),
                   _day_of(field_of(body, "day", str), "day"), channel, state, time_of(body, "created_at"),
                   time_of(body, "check_in_from"), time_of(body, "check_in_until"), _time_or_none(body, "start"),
                   _time_or_none(body, "end"), field_of(body, "number", str, None))


@dataclass(frozen=True, slots=True)
class BookingAnswer:
    """The answer to WebBook and WebBooking: the booking as it now is."""

    request_id: str
    booking: BookingView

    def to_wire(self) -> bytes:
        return _reply("request_id", self.request_id, True, {"booking": self.booking.to_body()})

    @classmethod
    def from_wire(cls, payload: bytes) -> BookingAnswer | Refusal:
        body = decode(payload)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(id_of(body, "request_id"), BookingView.from_body(field_of(body, "booking", dict)))


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One difference between two versions of the live configuration: `path` names it as the TOML does
    (`areas[dat-dai].name`, `counters[2]`, `board.notice`, `areas#order`), `before` and `after` are its values
    (None where there was or is none)."""

    path: str
    before: Any
    after: Any

    def to_body(self) -> Body:
        return {"path": self.path, "before": self.before, "after": self.after}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ConfigChange:
        return cls(field_of(body, "path", str), body.get("before"), body.get("after"))


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """A version of the live configuration: when, where from (one of CONFIG_SOURCES), by whom (a staff username
    and full name, or the config file's name), and what changed from the version before it."""

    version: int
    at: datetime
    source: str
    by: str
    by_name: str
    changes: tuple[ConfigChange, ...] = ()
    restored_from: int | None = None

    def to_body(self) -> Body:
        return {"version": self.version, "at": iso(self.at), "source": self.source, "by": self.by,
                "by_name": self.by_name, "restored_from": self.restored_from,
                "changes": [change.to_body() for change in self.changes]}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ConfigVersion:
        source = field_of(body, "source", str)
        if source not in CONFIG_SOURCES:
            raise BadMessage("bad_request", f"unknown source {source[:40]!r}")
        restored = body.get("restored_from")
        return cls(_count(body, "version"), time_of(body, "at"), source, field_of(body, "by", str),
                   field_of(body, "by_name", str, ""),
                   tuple(ConfigChange.from_body(_object(c)) for c in field_of(body, "changes", list, [])),
                   None if restored is None else _count(body, "restored_from"))


@dataclass(frozen=True, slots=True)
class ConfigAnswer:
    """The answer to a ConfigRequest: the live version, with its `document` (show, change, restore) or the
    versions before it, newest first (`history`; as many as fit in one answer)."""

    request_id: str
    current: ConfigVersion
    document: Mapping[str, Any] | None = None
    history: tuple[ConfigVersion, ...] = ()

    def to_wire(self) -> bytes:
        body: Body = {"config": self.current.to_body()}
        if self.document is not None:
            body["document"] = self.document
        if self.history:
            body["history"] = [version.to_body() for version in self.history]
        return _reply("request_id", self.request_id, True, body)

    @classmethod
    def from_wire(cls, payload: bytes) -> ConfigAnswer | Refusal:
        body = parse_object(payload)
        check_version(body)
        if not field_of(body, "ok", bool):
            return Refusal.from_body(body)
        return cls(id_of(body, "request_id"), ConfigVersion.from_body(field_of(body, "config", dict)),
                   field_of(body, "document", dict, None),
                   tuple(ConfigVersion.from_body(_object(v)) for v in field_of(body, "history", list, [])))


# Whatever the server answers a request with.
Reply: TypeAlias = (TicketIssued | CommandDone | Cancellation | TicketsVoided | TicketFound | ConfigAnswer | SlotsAnswer
                    | BookingAnswer | Refusal)


# --- retained state and events: server -> devices ------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    online: bool
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> bytes:
        return encode({"online": self.online, **self.extra})

    @classmethod
    def from_wire(cls, payload: bytes) -> Status:
        body = decode(payload)
        extra = {k: v for k, v in body.items() if k not in ("v", "online")}
        return cls(field_of(body, "online", bool), extra)


ONLINE = Status(True).to_wire()
OFFLINE = Status(False).to_wire()


@dataclass(frozen=True, slots=True)
class AreaInfo:
    id: str
    name: str
    prefix: str
    first: int
    last: int
    open: bool = True
    hours: Hours | None = None  # the area's own opening hours (else the center's)
    daily_quota: int = 0  # tickets a day at most (an extension, written when set): a kiosk sees it raised
    booking_capacity: int = 0  # bookings per slot (an extension, issue 18, written when set): 0, none

    def to_body(self) -> Body:
        body: Body = {"id": self.id, "name": self.name, "prefix": self.prefix, "first": self.first,
                      "last": self.last, "open": self.open}
        if self.hours is not None:
            body["hours"] = self.hours.to_body()
        if self.daily_quota:
            body["daily_quota"] = self.daily_quota
        if self.booking_capacity:
            body["booking_capacity"] = self.booking_capacity
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> AreaInfo:
        return cls(field_of(body, "id", str), field_of(body, "name", str), field_of(body, "prefix", str, ""),
                   field_of(body, "first", int), field_of(body, "last", int), field_of(body, "open", bool, True),
                   _hours(body), field_of(body, "daily_quota", int, 0), field_of(body, "booking_capacity", int, 0))


@dataclass(frozen=True, slots=True)
class BookingInfo:
    """What the retained `config` says of the center's appointments (an extension, issue 18), when it takes them:
    the kiosk offers "Tôi đã đặt lịch", the citizen web its booking pages."""

    slot_minutes: int
    days_ahead: int
    early_minutes: int  # a booked citizen checks in from this long before the slot
    late_minutes: int  # to this long after its start
    remote: bool = False  # whether remote numbers are given
    remote_minutes: int = 0  # a remote number counts if checked in within this long after it was taken
    retention_days: int = 0  # the CCCD's keyed hash and last digits are erased this long after the booking's day

    def to_body(self) -> Body:
        return {"slot_minutes": self.slot_minutes, "days_ahead": self.days_ahead,
                "early_minutes": self.early_minutes, "late_minutes": self.late_minutes, "remote": self.remote,
                "remote_minutes": self.remote_minutes, "retention_days": self.retention_days}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> BookingInfo:
        return cls(_count(body, "slot_minutes"), _count(body, "days_ahead"), _count(body, "early_minutes"),
                   _count(body, "late_minutes"), field_of(body, "remote", bool, False),
                   field_of(body, "remote_minutes", int, 0), field_of(body, "retention_days", int, 0))


@dataclass(frozen=True, slots=True)
class CounterInfo:
    id: str
    name: str
    areas: tuple[str, ...]

    def to_body(self) -> Body:
        return {"id": self.id, "name": self.name, "areas": list(self.areas)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CounterInfo:
        areas = field_of(body, "areas", list)
        if not all(type(a) is str for a in areas):
            raise BadMessage("bad_request", "field 'areas' must list strings")
        return cls(field_of(body, "id", str), field_of(body, "name", str), tuple(areas))


@dataclass(frozen=True, slots=True)
class CenterConfigMessage:
    """The retained `config` topic: what every device needs to know about the center."""

    center_id: str
    center_name: str
    areas: tuple[AreaInfo, ...]
    counters: tuple[CounterInfo, ...]
    rating_levels: tuple[str, ...]
    priority_categories: tuple[str, ...] = PRIORITY_CATEGORIES
    timezone: str = "Asia/Ho_Chi_Minh"
    rating_window_s: int = 120
    hours: Hours | None = None  # the center's opening hours (None: tickets at any time)
    # The citizen web (extensions, written only when the center has one): where a ticket's QR code points
    # (`<public_url>/phieu/<token>`), and how long after "finish" a ticket may be rated from a phone.
    public_url: str | None = None
    rating_phone_window_s: int | None = None
    # The hall boards' scrolling notice (an extension, issue 17), when the center sets one ("": none): it replaces
    # a board's own `notice`. None: the center says nothing, each board shows its own.
    notice: str | None = None
    bookings: BookingInfo | None = None  # the center's appointments (an extension, issue 18), when it takes them
    rating_criteria: tuple[str, ...] = ()  # what a phone may ask besides the level (an extension, issue 19)

    def to_wire(self) -> bytes:
        center: Body = {"id": self.center_id, "name": self.center_name, "timezone": self.timezone}
        if self.hours is not None:
            center["hours"] = self.hours.to_body()
        body: Body = {
            "center": center,
            "areas": [a.to_body() for a in self.areas],
            "counters": [c.to_body() for c in self.counters],
            "rating_levels": list(self.rating_levels),
            "rating_window_s": self.rating_window_s,
            "priority_categories": list(self.priority_categories),
        }
        if self.public_url is not None:
            body["public_url"] = self.public_url
        if self.rating_phone_window_s is not None:
            body["rating_phone_window_s"] = self.rating_phone_window_s
        if self.notice is not None:
            body["notice"] = self.notice
        if self.bookings is not None:
            body["bookings"] = self.bookings.to_body()
        if self.rating_criteria:
            body["rating_criteria"] = list(self.rating_criteria)
        return encode(body)

    @classmethod
    def from_wire(cls, payload: bytes) -> CenterConfigMessage:
        body = decode(payload)
        center = field_of(body, "center", dict)
        return cls(
            center_id=field_of(center, "id", str),
            center_name=field_of(center, "name", str),
            areas=tuple(AreaInfo.from_body(_object(a)) for a in field_of(body, "areas", list)),
            counters=tuple(CounterInfo.from_body(_object(c)) for c in field_of(body, "counters", list)),
            rating_levels=tuple(_strings(body, "rating_levels")),
            priority_categories=tuple(_strings(body, "priority_categories", list(PRIORITY_CATEGORIES))),
            timezone=field_of(center, "timezone", str, "Asia/Ho_Chi_Minh"),
            rating_window_s=field_of(body, "rating_window_s", int, 120),
            hours=_hours(center),
            public_url=field_of(body, "public_url", str, None),
            rating_phone_window_s=field_of(body, "rating_phone_window_s", int, None),
            notice=field_of(body, "notice", str, None),
            bookings=None if body.get("bookings") is None else BookingInfo.from_body(field_of(body, "bookings", dict)),
            rating_criteria=tuple(_strings(body, "rating_criteria", [])),
        )


def _hours(body: Mapping[str, Any]) -> Hours | None:
    hours = field_of(body, "hours", dict, None)
    return None if hours is None else Hours.from_body(hours)


def _object(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise BadMessage("bad_request", "expected a JSON object in a list")
    return value


def _strings(body: Mapping[str, Any], name: str, default: Any = _MISSING) -> list[str]:
    values = field_of(body, name, list, default)
    if not all(type(v) is str for v in values):
        raise BadMessage("bad_request", f"field {name!r} must list strings")
    return values


@record
class TicketView:
    """A ticket as devices see it (in replies and in counter state)."""

    id: str
    number: str
    area: str
    area_name: str
    issued_at: datetime
    priority: str
    state: str
    counter_id: str | None = None
    calls: int = 0
    waiting_ahead: int | None = None
    estimated_wait_s: int | None = None
    wait_basis: str | None = None  # one of WAIT_BASES, with `estimated_wait_s`
    token: str | None = None  # the ticket's public token (an extension): in a ticket reply only, for its QR code
    # How it came (an extension, issue 18; written when not "walk_in"), the booked slot, and the booking's code when
    # it came from one (a booking checked in too late may become a walk-in ticket: the kiosk says so).
    channel: str = "walk_in"
    slot_start: datetime | None = None
    slot_end: datetime | None = None
    booking: str | None = None
    # The CCCD's last 4 digits of the booking it came from (an extension, issue 18): in what a counter and the staff
    # console are told only, for the official to compare with the citizen's card (a code may have changed hands).
    id_tail: str | None = None
    dossiers: tuple[str, ...] = ()  # the dossier codes attached to it (an extension, issue 19; written when any)

    def to_body(self) -> Body:
        body: Body = {
            "id": self.id, "number": self.number, "area": self.area, "area_name": self.area_name,
            "issued_at": iso(self.issued_at), "priority": self.priority, "state": self.state,
            "counter_id": self.counter_id, "calls": self.calls,
        }
        if self.waiting_ahead is not None:
            body["waiting_ahead"] = self.waiting_ahead
        if self.estimated_wait_s is not None:
            body["estimated_wait_s"] = self.estimated_wait_s
        if self.wait_basis is not None:
            body["wait_basis"] = self.wait_basis
        if self.token is not None:
            body["token"] = self.token
        if self.channel != "walk_in":
            body["channel"] = self.channel
        if self.slot_start is not None and self.slot_end is not None:
            body["slot_start"], body["slot_end"] = iso(self.slot_start), iso(self.slot_end)
        if self.booking is not None:
            body["booking"] = self.booking
        if self.id_tail is not None:
            body["id_tail"] = self.id_tail
        if self.dossiers:
            body["dossiers"] = list(self.dossiers)
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TicketView:
        return cls(
            id=field_of(body, "id", str), number=field_of(body, "number", str),
            area=field_of(body, "area", str), area_name=field_of(body, "area_name", str, ""),
            issued_at=time_of(body, "issued_at"), priority=field_of(body, "priority", str, "none"),
            state=field_of(body, "state", str, "waiting"), counter_id=field_of(body, "counter_id", str, None),
            calls=field_of(body, "calls", int, 0), waiting_ahead=field_of(body, "waiting_ahead", int, None),
            estimated_wait_s=field_of(body, "estimated_wait_s", int, None),
            wait_basis=_wait_basis(body), token=_token_or_none(body), channel=_channel(body),
            slot_start=_time_or_none(body, "slot_start"), slot_end=_time_or_none(body, "slot_end"),
            booking=field_of(body, "booking", str, None), id_tail=field_of(body, "id_tail", str, None),
            dossiers=tuple(_strings(body, "dossiers", [])),
        )


def _channel(body: Mapping[str, Any]) -> str:
    """One of CHANNELS; one this side does not know reads as a walk-in (the ticket must not be dropped for it)."""
    channel = body.get("channel")
    return channel if channel in CHANNELS else "walk_in"



def _wait_basis(body: Mapping[str, Any]) -> str | None:
    """One of WAIT_BASES; one this side does not know (a newer server's) reads as no basis: the ticket
    the server made must not be dropped for it."""
    basis = body.get("wait_basis")
    return basis if basis in WAIT_BASES else None


@record
class RatingWindow:
    ticket_id: str
    number: str
    until: datetime

    def to_body(self) -> Body:
        return {"ticket_id": self.ticket_id, "number": self.number, "until": iso(self.until)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RatingWindow:
        return cls(field_of(body, "ticket_id", str), field_of(body, "number", str), time_of(body, "until"))


@dataclass(frozen=True, slots=True)
class Official:
    """Who sits at a counter (an extension): the staff username and the full name."""

    username: str
    name: str

    def to_body(self) -> Body:
        return {"username": self.username, "name": self.name}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Official:
        return cls(field_of(body, "username", str), field_of(body, "name", str))


@dataclass(frozen=True, slots=True)
class LastRating:
    """The last rating recorded for a ticket a counter served (an extension), until its next call."""

    ticket_id: str
    number: str
    level: str

    def to_body(self) -> Body:
        return {"ticket_id": self.ticket_id, "number": self.number, "level": self.level}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> LastRating:
        return cls(field_of(body, "ticket_id", str), field_of(body, "number", str), field_of(body, "level", str))


@record
class DossierTarget:
    """The ticket a counter's `dossier` command attaches to when it names no number (an extension, issue 19): its
    current ticket, else the one it served last while its rating is awaited or was just given; and its codes."""

    ticket_id: str
    number: str
    codes: tuple[str, ...]

    def to_body(self) -> Body:
        return {"ticket_id": self.ticket_id, "number": self.number, "codes": list(self.codes)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DossierTarget:
        return cls(field_of(body, "ticket_id", str), field_of(body, "number", str), tuple(_strings(body, "codes")))


@record
class CounterStateMessage:
    """The retained `counter/<id>/state`. `official`, `last_rating` and `dossiers` (extensions) are written only
    when there is one: absent reads as null, and a state without them keeps the bytes it always had."""

    counter_id: str
    counter_name: str
    status: str  # "idle", "serving" or "paused"
    ticket: TicketView | None
    rating: RatingWindow | None = None
    official: Official | None = None
    last_rating: LastRating | None = None
    dossiers: DossierTarget | None = None

    def to_wire(self) -> bytes:
        body: Body = {
            "status": self.status,
            "ticket": None if self.ticket is None else self.ticket.to_body(),
            "counter_id": self.counter_id,
            "counter_name": self.counter_name,
        }
        if self.rating is not None:
            body["rating"] = self.rating.to_body()
        if self.official is not None:
            body["official"] = self.official.to_body()
        if self.last_rating is not None:
            body["last_rating"] = self.last_rating.to_body()
        if self.dossiers is not None:
            body["dossiers"] = self.dossiers.to_body()
        return encode(body)

    @classmethod
    def from_wire(cls, payload: bytes) -> CounterStateMessage:
        body = decode(payload)
        ticket = field_of(body, "ticket", dict, None)
        rating = field_of(body, "rating", dict, None)
        official = field_of(body, "official", dict, None)
        last_rating = field_of(body, "last_rating", dict, None)
        dossiers = field_of(body, "dossiers", dict, None)
        return cls(
            counter_id=field_of(body, "counter_id", str, ""),
            counter_name=field_of(body, "counter_name", str, ""),
            status=field_of(body, "status", str),
            ticket=None if ticket is None else TicketView.from_body(ticket),
            rating=None if rating is None else RatingWindow.from_body(rating),
            official=None if official is None else Official.from_body(official),
            last_rating=None if last_rating is None else LastRating.from_body(last_rating),
            dossiers=None if dossiers is None else DossierTarget.from_body(dossiers),
        )


@record
class Call:
    """A `board/call`: a ticket called (or recalled) to a counter."""

    number: str
    counter_id: str
    counter_name: str
    area: str
    recall: bool
    called_at: datetime
    area_name: str = ""
    ticket_id: str = ""

    def to_body(self) -> Body:
        return {
            "number": self.number, "counter_id": self.counter_id, "counter_name": self.counter_name,
            "area": self.area, "area_name": self.area_name, "recall": self.recall,
            "called_at": iso(self.called_at), "ticket_id": self.ticket_id,
        }

    def to_wire(self) -> bytes:
        return encode(self.to_body())

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Call:
        return cls(
            number=field_of(body, "number", str), counter_id=field_of(body, "counter_id", str),
            counter_name=field_of(body, "counter_name", str), area=field_of(body, "area", str),
            recall=field_of(body, "recall", bool), called_at=time_of(body, "called_at"),
            area_name=field_of(body, "area_name", str, ""), ticket_id=field_of(body, "ticket_id", str, ""),
        )

    @classmethod
    def from_wire(cls, payload: bytes) -> Call:
        return cls.from_body(decode(payload))


@dataclass(frozen=True, slots=True)
class BoardState:
    """The retained `board/state`: the latest calls, newest first, and who waits per area."""

    recent_calls: tuple[Call, ...]
    waiting: Mapping[str, int]

    def to_wire(self) -> bytes:
        return encode({"recent_calls": [c.to_body() for c in self.recent_calls], "waiting": dict(self.waiting)})

    @classmethod
    def from_wire(cls, payload: bytes) -> BoardState:
        body = decode(payload)
        waiting = field_of(body, "waiting", dict)
        if not all(type(n) is int for n in waiting.values()):
            raise BadMessage("bad_request", "field 'waiting' must map areas to integers")
        calls = tuple(Call.from_body(_object(c)) for c in field_of(body, "recent_calls", list))
        return cls(calls, waiting)


# --- the manager's floor (an extension): server -> console, retained ---------------------------


def _time_or_none(body: Mapping[str, Any], name: str) -> datetime | None:
    return None if body.get(name) is None else time_of(body, name)


def _count(body: Mapping[str, Any], name: str) -> int:
    value = field_of(body, name, int)
    if value < 0:
        raise BadMessage("bad_request", f"field {name!r} must not be negative")
    return value


def _share(body: Mapping[str, Any], name: str) -> float | None:
    """A share 0..1 or null; JSON may write 0 and 1 as integers."""
    value = body.get(name)
    if value is None:
        return None
    if type(value) not in (int, float) or not 0 <= value <= 1:
        raise BadMessage("bad_request", f"field {name!r} must be a number from 0 to 1")
    return float(value)


def _list_of(body: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [_object(item) for item in field_of(body, name, list)]


@dataclass(frozen=True, slots=True)
class FloorCounter:
    id: str
    name: str
    status: str  # "idle", "serving" or "paused"
    since: datetime | None  # when the current status began (None: nothing happened today)
    served: int  # citizens it served today
    official: Official | None = None

    def to_body(self) -> Body:
        return {"id": self.id, "name": self.name, "status": self.status,
                "since": None if self.since is None else iso(self.since), "served": self.served,
                "official": None if self.official is None else self.official.to_body()}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FloorCounter:
        official = field_of(body, "official", dict, None)
        return cls(field_of(body, "id", str), field_of(body, "name", str), field_of(body, "status", str),
                   _time_or_none(body, "since"), _count(body, "served"),
                   None if official is None else Official.from_body(official))


@dataclass(frozen=True, slots=True)
class FloorArea:
    id: str
    name: str
    waiting: int
    priority_waiting: int
    oldest_issued_at: datetime | None
    served: int
    missed: int
    target_wait_s: int
    open: bool

    def to_body(self) -> Body:
        return {"id": self.id, "name": self.name, "waiting": self.waiting, "priority_waiting": self.priority_waiting,
                "oldest_issued_at": None if self.oldest_issued_at is None else iso(self.oldest_issued_at),
                "served": self.served, "missed": self.missed, "target_wait_s": self.target_wait_s,
                "open": self.open}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FloorArea:
        return cls(field_of(body, "id", str), field_of(body, "name", str), _count(body, "waiting"),
                   _count(body, "priority_waiting"), _time_or_none(body, "oldest_issued_at"), _count(body, "served"),
                   _count(body, "missed"), _count(body, "target_wait_s"), field_of(body, "open", bool))


@dataclass(frozen=True, slots=True)
class FloorDevice:
    id: str
    online: bool
    since: datetime | None  # when its online/offline state last changed (None: unknown)
    printer: str | None = None

    def to_body(self) -> Body:
        return {"id": self.id, "online": self.online, "since": None if self.since is None else iso(self.since),
                "printer": self.printer}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FloorDevice:
        return cls(field_of(body, "id", str), field_of(body, "online", bool), _time_or_none(body, "since"),
                   field_of(body, "printer", str, None))


@dataclass(frozen=True, slots=True)
class FloorToday:
    issued: int
    served: int
    missed: int
    waiting: int
    mean_wait_s: int | None
    p90_wait_s: int | None
    within_target: float | None  # 0..1
    ratings: Mapping[str, int]  # level -> count
    satisfied: float | None  # 0..1

    def to_body(self) -> Body:
        return {"issued": self.issued, "served": self.served, "missed": self.missed, "waiting": self.waiting,
                "mean_wait_s": self.mean_wait_s, "p90_wait_s": self.p90_wait_s, "within_target": self.within_target,
                "ratings": dict(self.ratings), "satisfied": self.satisfied}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> FloorToday:
        ratings = field_of(body, "ratings", dict)
        if not all(type(n) is int and n >= 0 for n in ratings.values()):
            raise BadMessage("bad_request", "field 'ratings' must map levels to counts")
        mean, p90 = field_of(body, "mean_wait_s", int, None), field_of(body, "p90_wait_s", int, None)
        return cls(_count(body, "issued"), _count(body, "served"), _count(body, "missed"), _count(body, "waiting"),
                   mean, p90, _share(body, "within_target"), ratings, _share(body, "satisfied"))


@dataclass(frozen=True, slots=True)
class FloorState:
    """The retained `floor` (an extension): what the manager's live floor shows, as the server sees it `at`."""

    at: datetime
    counters: tuple[FloorCounter, ...]
    areas: tuple[FloorArea, ...]
    devices: tuple[FloorDevice, ...]
    today: FloorToday

    def to_wire(self) -> bytes:
        return encode({"at": iso(self.at), "counters": [c.to_body() for c in self.counters],
                       "areas": [a.to_body() for a in self.areas], "devices": [d.to_body() for d in self.devices],
                       "today": self.today.to_body()})

    @classmethod
    def from_wire(cls, payload: bytes) -> FloorState:
        body = decode(payload)
        return cls(time_of(body, "at"), tuple(FloorCounter.from_body(c) for c in _list_of(body, "counters")),
                   tuple(FloorArea.from_body(a) for a in _list_of(body, "areas")),
                   tuple(FloorDevice.from_body(d) for d in _list_of(body, "devices")),
                   FloorToday.from_body(field_of(body, "today", dict)))


# --- the citizen web's queue (an extension): server -> citizen web, retained -----------------------


@dataclass(frozen=True, slots=True)
class CalledNow:
    """A ticket of the day called to a counter or being served there now."""

    seq: int
    counter_id: str
    called_at: datetime
    calls: int

    def to_body(self) -> list[Any]:
        return [self.seq, self.counter_id, iso(self.called_at), self.calls]


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The retained `queue` (an extension): each area's waiting tickets of `day` in call order, as
    `(seq, estimated_wait_s or None)` (an entry's index is how many wait ahead of it), and who is called now.
    `truncated`: how many were left off an area's tail to keep the payload within MAX_PAYLOAD."""

    at: datetime
    day: date
    waiting: Mapping[str, tuple[tuple[int, int | None], ...]]
    called: tuple[CalledNow, ...]
    truncated: Mapping[str, int] = field(default_factory=dict)

    def to_wire(self) -> bytes:
        body: Body = {"at": iso(self.at), "day": self.day.isoformat(),
                      "waiting": {area: [list(entry) for entry in entries] for area, entries in self.waiting.items()}}
        if self.truncated:
            body["truncated"] = dict(self.truncated)
        body["called"] = [c.to_body() for c in self.called]
        return encode(body)

    @classmethod
    def from_wire(cls, payload: bytes) -> QueueSnapshot:
        body = decode(payload)
        try:
            day = date.fromisoformat(field_of(body, "day", str))
        except ValueError:
            raise BadMessage("bad_request", "field 'day' is not a date YYYY-MM-DD") from None
        waiting = {}
        for area, entries in field_of(body, "waiting", dict).items():
            if type(entries) is not list:
                raise BadMessage("bad_request", "field 'waiting' must map areas to lists")
            waiting[area] = tuple(_waiting_entry(entry) for entry in entries)
        truncated = field_of(body, "truncated", dict, {})
        if not all(type(n) is int and n >= 0 for n in truncated.values()):
            raise BadMessage("bad_request", "field 'truncated' must map areas to counts")
        called = tuple(_called_entry(entry) for entry in field_of(body, "called", list))
        return cls(time_of(body, "at"), day, waiting, called, truncated)


def _waiting_entry(entry: Any) -> tuple[int, int | None]:
    if (type(entry) is not list or len(entry) != 2 or type(entry[0]) is not int or entry[0] < 1
            or not (entry[1] is None or (type(entry[1]) is int and entry[1] >= 0))):
        raise BadMessage("bad_request", "a waiting entry must be [seq, seconds or null]")
    return entry[0], entry[1]


def _called_entry(entry: Any) -> CalledNow:
    if (type(entry) is not list or len(entry) != 4 or type(entry[0]) is not int or entry[0] < 1
            or type(entry[1]) is not str or type(entry[2]) is not str or type(entry[3]) is not int or entry[3] < 0):
        raise BadMessage("bad_request", "a called entry must be [seq, counter_id, called_at, calls]")
    return CalledNow(entry[0], entry[1], time_of({"called_at": entry[2]}, "called_at"), entry[3])
