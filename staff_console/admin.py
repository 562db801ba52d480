"""The administrator's pages as pure functions: what the overview shows of the live configuration, and each
form's fields turned into the whole new document, checked field by field first (a Vietnamese message per field).

The document is the server's (`central_server/live_config.py`: the center config's live tables as JSON). An edit
changes only what its form is about, on a copy; every key the pages do not edit stays as it was, and a field that
says the same as the document in other words (a session written "07:30–11:30", a date) leaves the document's
own text. The server validates the whole document again, as `--check` validates a file.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from central_server.config import MAX_NOTICE, PREFIX
from central_server.domain.areas import Area
from protocol.hours import SESSION, WEEKDAY_KEYS, Session, parse_sessions
from protocol.messages import RATING_LABELS
from protocol.topics import ID

Document = dict[str, Any]
MAX_ID = 32
MAX_NAME = 100
MAX_NUMBER = 999_999  # a ticket number: six digits are already more than a ticket shows well
MAX_TARGET_WAIT_MIN = 24 * 60
MAX_DAILY_QUOTA = 100_000
MAX_LAST_TICKET_MIN = 240
DEFAULTS = Area("", "", 0, 0)  # an area's keys the document may leave out take these (central_server/config.py)
SCALES = {  # the usual rating scales, best first
    "3": ("very_satisfied", "satisfied", "dissatisfied"),
    "5": ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"),
}
DAY_NAMES = {"mon": "Thứ Hai", "tue": "Thứ Ba", "wed": "Thứ Tư", "thu": "Thứ Năm", "fri": "Thứ Sáu",
             "sat": "Thứ Bảy", "sun": "Chủ nhật"}
WORKDAYS = WEEKDAY_KEYS[:5]  # the days `weekdays` sets
DAY_OFF = "nghỉ"  # what a day's field says for a day without a session
DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
SEPARATORS = re.compile(r"[,;\s]+")

OWN_HOURS_KEPT_VI = ("Lĩnh vực này còn ngày nghỉ riêng hoặc giờ ngừng cấp số riêng: để lĩnh vực theo giờ làm việc "
                     "chung, hãy bỏ chúng trong tệp cấu hình trước.")
ID_VI = f"Mã chỉ gồm chữ thường không dấu (a-z), chữ số và dấu gạch ngang, dài tối đa {MAX_ID} ký tự."
NAME_VI = f"Tên không được để trống và dài tối đa {MAX_NAME} ký tự."
INVISIBLE_VI = "Không được chứa ký tự điều khiển hoặc ký tự vô hình."
PREFIX_VI = "Tiền tố gồm tối đa 3 chữ cái in hoa không dấu (A-Z), hoặc để trống."
SESSIONS_VI = ("Giờ làm việc phải có dạng 07:30-11:30, 13:30-17:00 (giờ bắt đầu trước giờ kết thúc, các buổi "
               "không chồng lên nhau).")
NO_SESSION_VI = "Chưa có buổi làm việc nào trong tuần."
NO_AREA_VI = "Chọn ít nhất một lĩnh vực cho quầy."
NOTICE_VI = f"Thông báo dài tối đa {MAX_NOTICE} ký tự."
LEVELS_VI = "Chọn thang đánh giá 3 mức hoặc 5 mức."


@dataclass(frozen=True, slots=True)
class Fields:
    """A submitted form: each field's values, as the browser sent them (a checkbox list has several)."""

    values: Mapping[str, Sequence[str]]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Fields:
        values: dict[str, list[str]] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        return cls(values)

    def get(self, key: str) -> str:
        found = self.values.get(key)
        return found[0] if found else ""

    def getlist(self, key: str) -> list[str]:
        return list(self.values.get(key, ()))


class FormErrors(Exception):
    """Fields that are wrong: field name -> what is wrong with it, in Vietnamese."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


class NotFound(Exception):
    """The area or counter a form names is not in the document (an old page, a made-up address)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- what the overview shows ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AreaRow:
    id: str
    name: str
    numbers: str  # "1001–1999", "B001–B999"
    open: bool
    hours: str  # its own Monday-to-Friday sessions as the field shows them ("" : the center's)
    other_days: str  # its own sessions on other days, said in words ("" when none)
    daily_quota: int
    target_wait_min: int


@dataclass(frozen=True, slots=True)
class CounterRow:
    id: str
    name: str
    areas: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overview:
    areas: tuple[AreaRow, ...]
    counters: tuple[CounterRow, ...]
    area_names: dict[str, str]
    notice: str | None  # None: the center sets none (each hall board shows its own)
    levels: tuple[str, ...]
    scale: str  # "3", "5", or "" when the center's levels are another scale
    hours: dict[str, str]  # the hours form's fields as the document has them
    has_hours: bool


def overview(document: Mapping[str, Any]) -> Overview:
    areas = tuple(_area_row(area) for area in _tables(document, "areas"))
    counters = tuple(CounterRow(str(c.get("id", "")), str(c.get("name", "")), tuple(map(str, c.get("areas", []))))
                     for c in _tables(document, "counters"))
    board = document.get("board")
    notice = board.get("notice") if isinstance(board, Mapping) and isinstance(board.get("notice"), str) else None
    levels = tuple(map(str, (document.get("rating") or {}).get("levels", [])))
    scale = next((key for key, scale in SCALES.items() if scale == levels), "")
    hours = document.get("hours")
    return Overview(areas, counters, {a.id: a.name for a in areas}, notice, levels, scale,
                    hours_fields(hours if isinstance(hours, Mapping) else {}), isinstance(hours, Mapping))


def _area_row(area: Mapping[str, Any]) -> AreaRow:
    first, last, prefix = area.get("first", 0), area.get("last", 0), area.get("prefix", DEFAULTS.prefix)
    shape = Area("", "", first, last, prefix) if isinstance(first, int) and isinstance(last, int) \
        and isinstance(prefix, str) else None
    numbers = f"{shape.shown(first)}–{shape.shown(last)}" if shape is not None else ""
    hours = _table_of(area, "hours")
    other = [f"{DAY_NAMES[key]}: {sessions_text(hours[key]) or DAY_OFF}" for key in WEEKDAY_KEYS if key in hours]
    return AreaRow(str(area.get("id", "")), str(area.get("name", "")), numbers, area.get("open", True) is not False,
                   sessions_text(hours.get("weekdays", [])), "; ".join(other),
                   _int(area.get("daily_quota"), DEFAULTS.daily_quota),
                   _int(area.get("target_wait_min"), DEFAULTS.target_wait_min))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def hours_fields(hours: Mapping[str, Any]) -> dict[str, str]:
    """The center's hours as its form shows them: sessions "07:30-11:30, 13:30-17:00", a day without a session
    "nghỉ", closed dates dd/mm/yyyy."""
    fields = {"weekdays": sessions_text(hours.get("weekdays", []))}
    for key in WEEKDAY_KEYS:
        fields[key] = (sessions_text(hours[key]) or DAY_OFF) if key in hours else ""
    dates = [_shown_date(text) for text in hours.get("closed_dates", []) if isinstance(text, str)]
    fields["closed_dates"] = ", ".join(dates)
    last = hours.get("last_ticket_min")
    fields["last_ticket_min"] = str(last) if isinstance(last, int) else ""
    return fields


def sessions_text(values: Any) -> str:
    return ", ".join(v for v in values if isinstance(v, str)) if isinstance(values, list) else ""


def _shown_date(text: str) -> str:
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text


def _table_of(table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = table.get(key)
    return found if isinstance(found, Mapping) else {}


def _tables(document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    tables = document.get(key)
    return [t for t in tables if isinstance(t, Mapping)] if isinstance(tables, list) else []


# --- forms -> the new document --------------------------------------------------------------------


def edit_area(document: Mapping[str, Any], area_id: str, fields: Fields) -> Document:
    """An area's name, own Monday-to-Friday hours, daily quota and target wait."""
    new = copy.deepcopy(dict(document))
    area = _find(new, "areas", area_id)
    errors: dict[str, str] = {}
    name = _name(fields, "name", errors)
    sessions = _sessions(fields, "hours", errors, allow_empty=True)
    quota = _number(fields, "daily_quota", 0, MAX_DAILY_QUOTA, errors)
    target = _number(fields, "target_wait_min", 1, MAX_TARGET_WAIT_MIN, errors)
    if errors:
        raise FormErrors(errors)
    _set(area, "name", name, area.get("name"))
    _set(area, "daily_quota", quota, _int(area.get("daily_quota"), DEFAULTS.daily_quota))
    _set(area, "target_wait_min", target, _int(area.get("target_wait_min"), DEFAULTS.target_wait_min))
    hours = dict(_table_of(area, "hours"))
    _set_sessions(hours, "weekdays", sessions)
    if any(key in hours for key in ("weekdays", *WEEKDAY_KEYS)):
        area["hours"] = hours
    elif any(key not in ("weekdays", *WEEKDAY_KEYS) for key in hours):  # its own holidays or cut-off: never lost
        raise FormErrors({"hours": OWN_HOURS_KEPT_VI})
    else:  # no session of its own left: the area keeps the center's hours
        area.pop("hours", None)
    return new


def set_area_open(document: Mapping[str, Any], area_id: str, is_open: bool) -> Document:
    """Stop or start taking tickets for an area ("open" in the center config)."""
    new = copy.deepcopy(dict(document))
    area = _find(new, "areas", area_id)
    if (area.get("open", DEFAULTS.open) is not False) != is_open:
        area["open"] = is_open
    return new


def add_area(document: Mapping[str, Any], fields: Fields) -> Document:
    """A new area, closed until a counter serves it (the server refuses an open area nobody serves)."""
    new = copy.deepcopy(dict(document))
    errors: dict[str, str] = {}
    area_id = _new_id(fields, [str(a.get("id")) for a in _tables(new, "areas")], "lĩnh vực", errors)
    name = _name(fields, "name", errors)
    first = _number(fields, "first", 0, MAX_NUMBER, errors)
    last = _number(fields, "last", 0, MAX_NUMBER, errors)
    prefix = str(fields.get("prefix") or "").strip().upper()
    if not PREFIX.fullmatch(prefix):
        errors["prefix"] = PREFIX_VI
    if first is not None and last is not None and last < first:
        errors["last"] = f"Số cuối không được nhỏ hơn số đầu ({first})."
    if errors:
        raise FormErrors(errors)
    area: Document = {"id": area_id, "name": name, "first": first, "last": last}
    if prefix:
        area["prefix"] = prefix
    area["open"] = False
    new["areas"] = [*new.get("areas", []), area]
    return new


def edit_counter(document: Mapping[str, Any], counter_id: str, fields: Fields) -> Document:
    """A counter's name and the areas it serves."""
    new = copy.deepcopy(dict(document))
    counter = _find(new, "counters", counter_id)
    errors: dict[str, str] = {}
    name = _name(fields, "name", errors)
    areas = _chosen_areas(new, fields, errors)
    _unique_counter_name(new, name, counter_id, errors)
    if errors:
        raise FormErrors(errors)
    _set(counter, "name", name, counter.get("name"))
    _set(counter, "areas", areas, counter.get("areas"))
    return new


def add_counter(document: Mapping[str, Any], fields: Fields) -> Document:
    new = copy.deepcopy(dict(document))
    errors: dict[str, str] = {}
    counter_id = _new_id(fields, [str(c.get("id")) for c in _tables(new, "counters")], "quầy", errors)
    name = _name(fields, "name", errors)
    areas = _chosen_areas(new, fields, errors)
    _unique_counter_name(new, name, None, errors)
    if errors:
        raise FormErrors(errors)
    new["counters"] = [*new.get("counters", []), {"id": counter_id, "name": name, "areas": areas}]
    return new


def set_notice(document: Mapping[str, Any], fields: Fields) -> Document:
    """The hall boards' notice: one line (line breaks become spaces); "" says none."""
    new = copy.deepcopy(dict(document))
    notice = " ".join(unicodedata.normalize("NFC", str(fields.get("notice") or "")).split())
    if len(notice) > MAX_NOTICE:
        raise FormErrors({"notice": f"{NOTICE_VI} Nội dung đang có {len(notice)} ký tự."})
    if not notice.isprintable():
        raise FormErrors({"notice": INVISIBLE_VI})
    board = new.get("board")
    if not isinstance(board, dict):
        if not notice:
            return new  # the center still sets none: each board keeps its own
        board = new["board"] = {}
    _set(board, "notice", notice, board.get("notice"))
    return new


def set_levels(document: Mapping[str, Any], fields: Fields) -> Document:
    new = copy.deepcopy(dict(document))
    choice = str(fields.get("levels") or "")
    if choice == "":  # "keep the center's own"
        return new
    if choice not in SCALES:
        raise FormErrors({"levels": LEVELS_VI})
    rating = new.setdefault("rating", {})
    levels = list(SCALES[choice])
    if levels != rating.get("levels"):
        # The levels counted "không hài lòng" (issue 19) were chosen for the old scale: the new one takes the
        # server's default (those named so, else the worst), rather than keep a choice nobody made for it
        rating.pop("dissatisfied", None)
    _set(rating, "levels", levels, rating.get("levels"))
    return new


def set_hours(document: Mapping[str, Any], fields: Fields) -> Document:
    """The center's hours: Monday-to-Friday sessions, a day of its own where one differs ("nghỉ": none that
    day; empty: Monday to Friday as the week, Saturday and Sunday closed), closed dates, the last-ticket cut-off."""
    new = copy.deepcopy(dict(document))
    errors: dict[str, str] = {}
    weekdays = _sessions(fields, "weekdays", errors, allow_empty=True)
    days = {key: _sessions(fields, key, errors, allow_empty=True, day_off=True) for key in WEEKDAY_KEYS}
    closed = _dates(fields, "closed_dates", errors)
    last = _number(fields, "last_ticket_min", 0, MAX_LAST_TICKET_MIN, errors, blank=0)
    if errors:
        raise FormErrors(errors)
    old = new.get("hours")
    hours: Document = old if isinstance(old, dict) else {}
    week = [days[key] if days[key] is not None else (weekdays if key in WORKDAYS else None) for key in WEEKDAY_KEYS]
    sessions = [s for day in week for s in day or ()]
    if not sessions:
        if old is None and not closed and not last:
            return new  # the center keeps giving tickets at any time
        raise FormErrors({"weekdays": NO_SESSION_VI})
    shortest = min(sessions, key=lambda s: _minutes(s.end) - _minutes(s.start))
    if last is not None and last >= _minutes(shortest.end) - _minutes(shortest.start):
        raise FormErrors({"last_ticket_min": f"Ngừng cấp số {last} phút trước khi hết buổi thì không còn thời gian "
                                             f"nào để lấy số trong buổi {shortest}."})
    _set_sessions(hours, "weekdays", weekdays)
    for key, sessions_of_day in days.items():
        _set_sessions(hours, key, sessions_of_day)
    old_dates = {d for d in (_iso(t) for t in hours.get("closed_dates", []) if isinstance(t, str)) if d}
    if set(closed) != old_dates:
        if closed:
            hours["closed_dates"] = [d.isoformat() for d in sorted(closed)]
        else:
            hours.pop("closed_dates", None)
    _set(hours, "last_ticket_min", last, _int(hours.get("last_ticket_min"), 0))
    new["hours"] = hours
    return new


# --- field checks -----------------------------------------------------------------------------


def clean_name(text: str) -> str:
    """A name as the center keeps it: NFC, its spaces collapsed (Unikey's composed or decomposed typing alike)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _name(fields: Fields, key: str, errors: dict[str, str]) -> str:
    name = clean_name(str(fields.get(key) or ""))
    if not name or len(name) > MAX_NAME:
        errors[key] = NAME_VI
    elif not name.isprintable():
        errors[key] = INVISIBLE_VI
    return name


def _new_id(fields: Fields, taken: Sequence[str], whose: str, errors: dict[str, str]) -> str:
    given = str(fields.get("id") or "").strip()
    if not ID.fullmatch(given) or len(given) > MAX_ID:
        errors["id"] = ID_VI
    elif given in taken:
        errors["id"] = f"Mã «{given}» đã là mã của một {whose} khác."
    return given


def _number(fields: Fields, key: str, low: int, high: int, errors: dict[str, str],
            blank: int | None = None) -> int | None:
    text = str(fields.get(key) or "").strip().replace(".", "")  # "1.000": how a Vietnamese writes a thousand
    if not text and blank is not None:
        return blank
    if not text.isdigit() or not low <= int(text) <= high:
        errors[key] = f"Nhập một số nguyên từ {low} đến {high:,}.".replace(",", ".")
        return None
    return int(text)


def _sessions(fields: Fields, key: str, errors: dict[str, str], *, allow_empty: bool,
              day_off: bool = False) -> tuple[Session, ...] | None:
    """The sessions a field lists ("07:30-11:30, 13:30-17:00"); None for an empty field, () for "nghỉ"."""
    text = str(fields.get(key) or "").strip()
    if not text:
        if not allow_empty:
            errors[key] = SESSIONS_VI
        return None
    if day_off and unicodedata.normalize("NFC", text).casefold() == DAY_OFF:
        return ()
    parts = [part for part in re.split(r"[,;]+", text) if part.strip()]
    for part in parts:
        if not SESSION.fullmatch(part.replace("–", "-").replace(" ", "")):
            errors[key] = f"«{part.strip()[:20]}» không đúng dạng giờ. {SESSIONS_VI}"
            return None
    try:
        return parse_sessions(parts)
    except ValueError:
        errors[key] = SESSIONS_VI
        return None


def _dates(fields: Fields, key: str, errors: dict[str, str]) -> list[date]:
    found = []
    for part in SEPARATORS.split(str(fields.get(key) or "")):
        if not part:
            continue
        match = DATE.fullmatch(part)
        try:
            if match is None:
                raise ValueError(part)
            found.append(date(int(match[3]), int(match[2]), int(match[1])))
        except ValueError:
            errors[key] = f"«{part[:20]}» không phải một ngày dạng ngày/tháng/năm (ví dụ 01/01/2027)."
            return []
    return sorted(set(found))


def _chosen_areas(document: Mapping[str, Any], fields: Fields, errors: dict[str, str]) -> list[str]:
    known = [str(a.get("id")) for a in _tables(document, "areas")]
    chosen = {str(value) for value in fields.getlist("areas")}
    areas = [area_id for area_id in known if area_id in chosen]  # in the document's order
    if not areas:
        errors["areas"] = NO_AREA_VI
    return areas


def _unique_counter_name(document: Mapping[str, Any], name: str, counter_id: str | None,
                         errors: dict[str, str]) -> None:
    folded = name.casefold()
    for counter in _tables(document, "counters"):
        if counter.get("id") != counter_id and clean_name(str(counter.get("name", ""))).casefold() == folded:
            errors.setdefault("name", f"Tên «{name}» đã là tên của quầy mã «{counter.get('id')}»: bảng gọi số và "
                                      "loa gọi không phân biệt được hai quầy.")


def _find(document: Document, key: str, table_id: str) -> Document:
    for table in document.get(key, []):
        if isinstance(table, dict) and table.get("id") == table_id:
            return table
    whose = {"areas": "lĩnh vực", "counters": "quầy"}[key]
    raise NotFound(f"Cấu hình đang dùng không có {whose} mã «{table_id[:32]}».")


def _set(table: Document, key: str, value: Any, shown: Any) -> None:
    """Write `value` unless the table already says it (`shown`: what it says, its default when absent)."""
    if value != shown:
        table[key] = value


def _set_sessions(table: Document, key: str, sessions: tuple[Session, ...] | None) -> None:
    """A day's (or `weekdays`') sessions: None removes the key; the table's own text stays when it means the same."""
    if sessions is None:
        table.pop(key, None)
        return
    old = table.get(key)
    if isinstance(old, list) and all(isinstance(v, str) for v in old):
        try:
            if parse_sessions(old) == sessions:
                return
        except ValueError:
            pass
    table[key] = [_session_text(s) for s in sessions]


def _session_text(session: Session) -> str:
    return f"{session.start:%H:%M}-{'24:00' if session.end == time.max else f'{session.end:%H:%M}'}"


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _minutes(moment: time) -> int:
    return 24 * 60 if moment == time.max else moment.hour * 60 + moment.minute


def level_names(levels: Sequence[str]) -> str:
    return ", ".join(RATING_LABELS.get(level, level) for level in levels)
