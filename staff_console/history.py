"""The live configuration's versions as the history page says them, in Vietnamese: when, who, where from, and
each change ("Lĩnh vực «Đất đai»: tên: «Đất đai» → «Đất đai – Nhà ở»", "Thêm quầy «Quầy 9»").

Pure. Areas and counters are named by their names as they were then, not by their ids: the names are followed
back from the live document through each version's changes, newest first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from central_server.domain.areas import Area
from protocol.messages import CRITERIA_LABELS, RATING_LABELS, ConfigChange, ConfigVersion

Names = dict[str, dict[str, str]]  # "areas" / "counters" -> id -> name
KEYED = re.compile(r"(?P<table>areas|counters)\[(?P<id>[^\]]*)\](?:\.(?P<rest>.+))?")
ORDER = re.compile(r"(?P<table>areas|counters)#order")
DAYS = {"weekdays": "từ thứ Hai đến thứ Sáu", "mon": "thứ Hai", "tue": "thứ Ba", "wed": "thứ Tư", "thu": "thứ Năm",
        "fri": "thứ Sáu", "sat": "thứ Bảy", "sun": "Chủ nhật"}
WHOSE = {"areas": "Lĩnh vực", "counters": "Quầy"}
LABELS = {
    "center.name": "Tên trung tâm",
    "rating.levels": "Mức đánh giá",
    "rating.window_s": "Thời gian đánh giá tại quầy",
    "rating.phone_window_s": "Thời gian đánh giá qua điện thoại",
    "rating.dissatisfied": "Các mức tính là không hài lòng",
    "rating.criteria": "Tiêu chí đánh giá thêm qua điện thoại",
    "board.notice": "Thông báo trên bảng gọi số",
    "queue.priority_mode": "Cách gọi số ưu tiên",
    "queue.regular_per_priority": "Số phiếu thường giữa hai phiếu ưu tiên",
    "queue.max_calls": "Số lần gọi tối đa",
    "queue.default_service_s": "Thời gian phục vụ ước tính ban đầu",
    "queue.extra_priority_categories": "Nhóm ưu tiên bổ sung",
    "limits.tickets_per_minute": "Số phiếu mỗi phút của một ki-ốt",
    "limits.priority_per_minute": "Số phiếu ưu tiên mỗi phút của một ki-ốt",
    "limits.commands_per_minute": "Số lệnh mỗi phút của một quầy",
    "limits.kiosk_answers_per_day": "Số câu trả lời lưu mỗi ngày của một ki-ốt",
    "limits.counter_answers_per_day": "Số câu trả lời lưu mỗi ngày của một quầy",
    "hours.closed_dates": "Ngày nghỉ của trung tâm",
    "hours.last_ticket_min": "Ngừng cấp số trước khi hết buổi",
    **{f"hours.{key}": f"Giờ làm việc {day}" for key, day in DAYS.items()},
    "bookings.slot_minutes": "Độ dài khung giờ đặt lịch (phút)",
    "bookings.capacity": "Số lịch hẹn mỗi khung giờ",
    "bookings.days_ahead": "Số ngày được đặt trước",
    "bookings.per_person_per_day": "Số lịch hẹn mỗi người một ngày",
    "bookings.per_person_per_area": "Số lịch hẹn mỗi người một lĩnh vực",
    "bookings.check_in_early_minutes": "Được nhận phiếu sớm trước giờ hẹn (phút)",
    "bookings.check_in_late_minutes": "Được nhận phiếu muộn sau giờ hẹn (phút)",
    "bookings.too_early": "Đến quá sớm",
    "bookings.too_late": "Đến quá muộn",
    "bookings.share_percent": "Tỷ lệ lượt gọi dành cho lịch hẹn (%)",
    "bookings.retention_days": "Số ngày lưu dữ liệu cá nhân của lịch hẹn",
    "bookings.remind_minutes": "Nhắc lịch trước giờ hẹn (phút)",
    "bookings.remote": "Cấp số từ xa",
    "bookings.remote_per_area": "Số từ xa mỗi lĩnh vực một ngày",
    "bookings.remote_minutes": "Thời hạn nhận phiếu của số từ xa (phút)",
    "dossiers.national": "Kiểm tra mã hồ sơ theo định dạng quốc gia",
    "dossiers.pattern": "Mẫu mã hồ sơ của trung tâm",
    "dossiers.per_ticket": "Số hồ sơ tối đa mỗi phiếu",
}
FIELDS = {  # an area's or a counter's fields
    "name": "tên", "first": "số đầu", "last": "số cuối", "prefix": "tiền tố", "areas": "lĩnh vực",
    "target_wait_min": "thời gian chờ mục tiêu", "daily_quota": "hạn mức mỗi ngày",
    "booking_capacity": "số lịch hẹn mỗi khung giờ",
    "hours.closed_dates": "ngày nghỉ riêng", "hours.last_ticket_min": "ngừng cấp số trước khi hết buổi",
    **{f"hours.{key}": f"giờ riêng {day}" for key, day in DAYS.items()},
}
SOURCES = {"console": "Trang quản trị"}
PRIORITY_MODES = {"strict": "gọi số ưu tiên trước", "interleaved": "xen kẽ số ưu tiên và số thường"}
ARRIVAL_POLICIES = {"wait": "vẫn cấp phiếu, gọi từ giờ hẹn", "refuse": "không cấp phiếu",
                    "walk_in": "cấp phiếu thường"}
NOT_SET = "(không đặt)"
DEFAULTS = Area("", "", 0, 0)  # what an area's keys left out say (central_server/config.py)
MAX_SHOWN = 160  # characters of a long text (the notice) in one line of the history


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: int
    at: str  # dd/mm/yyyy HH:MM on the center's clock
    source: str  # "Tệp cấu hình center.toml", "Trang quản trị", "Khôi phục phiên bản 3"
    who: str  # "Nguyễn Văn An (an.nv)"; "" for the file
    changes: tuple[str, ...]
    restored_from: int | None
    current: bool


def versions(current: ConfigVersion, history: Sequence[ConfigVersion], document: Mapping[str, Any],
             zone: tzinfo) -> list[VersionRow]:
    """Every version known, newest first (`history` with or without the current one), each change said."""
    known = {current.version: current}  # the history's own entry of it, when there is one, says its changes
    known.update((v.version, v) for v in history)
    names = names_of(document)
    rows = []
    for version in sorted(known.values(), key=lambda v: v.version, reverse=True):
        before = names_before(names, version.changes)
        rows.append(VersionRow(version.version, when(version, zone), source_text(version), who(version),
                               tuple(line for change in version.changes for line in describe(change, before, names)),
                               version.restored_from, version.version == current.version))
        names = before
    return rows


def when(version: ConfigVersion, zone: tzinfo) -> str:
    return version.at.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def source_text(version: ConfigVersion) -> str:
    if version.source == "file":
        return f"Tệp cấu hình {version.by}"
    if version.source == "restore":
        return f"Khôi phục phiên bản {version.restored_from}" if version.restored_from is not None else "Khôi phục"
    return SOURCES.get(version.source, version.source)


def who(version: ConfigVersion) -> str:
    if version.source == "file":
        return ""
    return f"{version.by_name} ({version.by})" if version.by_name else version.by


def names_of(document: Mapping[str, Any]) -> Names:
    names: Names = {"areas": {}, "counters": {}}
    for key, found in names.items():
        for table in document.get(key) or []:
            if isinstance(table, Mapping) and isinstance(table.get("name"), str):
                found[str(table.get("id"))] = table["name"]
    return names


def names_before(after: Names, changes: Sequence[ConfigChange]) -> Names:
    """The names as they were before `changes` (an added one keeps its name: nothing older names it)."""
    before = {key: dict(found) for key, found in after.items()}
    for change in changes:
        keyed = KEYED.fullmatch(change.path)
        if keyed is None:
            continue
        table, table_id, rest = keyed["table"], keyed["id"], keyed["rest"]
        if rest is None and isinstance(change.before, Mapping) and isinstance(change.before.get("name"), str):
            before[table][table_id] = change.before["name"]
        elif rest == "name" and isinstance(change.before, str):
            before[table][table_id] = change.before
    return before


def describe(change: ConfigChange, before: Names, after: Names) -> list[str]:
    """One change in Vietnamese (a whole table set or removed: one line per key of it)."""
    keyed = KEYED.fullmatch(change.path)
    if keyed is not None:
        return _keyed(keyed["table"], keyed["id"], keyed["rest"], change, before, after)
    order = ORDER.fullmatch(change.path)
    if order is not None:
        table = order["table"]
        label = "Thứ tự các lĩnh vực" if table == "areas" else "Thứ tự các quầy"
        return [f"{label}: {_names(change.before, before[table])} → {_names(change.after, after[table])}"]
    if isinstance(change.before, Mapping) or isinstance(change.after, Mapping):
        return [line for leaf in _leaves(change) for line in describe(leaf, before, after)]
    label = LABELS.get(change.path, change.path)
    key = change.path.rsplit(".", 1)[-1]
    if change.path == "hours.closed_dates":
        return [f"{label}: {_dates_changed(change.before, change.after)}"]
    return [f"{label}: {_value(key, change.before, before)} → {_value(key, change.after, after)}"]


def _keyed(table: str, table_id: str, rest: str | None, change: ConfigChange, before: Names,
           after: Names) -> list[str]:
    whose = WHOSE[table]
    if rest is None:
        if change.before is None and isinstance(change.after, Mapping):
            name = after[table].get(table_id) or str(change.after.get("name", table_id))
            return [f"Thêm {whose.lower()} «{name}»{_added(table, change.after, after)}"]
        if change.after is None and isinstance(change.before, Mapping):
            name = before[table].get(table_id) or str(change.before.get("name", table_id))
            return [f"Bỏ {whose.lower()} «{name}»"]
        rest = ""  # neither added nor removed: its fields, one by one
    subject = f"{whose} «{before[table].get(table_id) or after[table].get(table_id) or table_id}»"
    if isinstance(change.before, Mapping) or isinstance(change.after, Mapping):
        leaves = _leaves(ConfigChange(rest, change.before, change.after))
        return [line for leaf in leaves for line in _field(subject, leaf, before, after)]
    return _field(subject, ConfigChange(rest, change.before, change.after), before, after)


def _field(subject: str, change: ConfigChange, before: Names, after: Names) -> list[str]:
    if change.path == "open":
        return [f"{subject}: {'tạm ngừng tiếp nhận' if change.after is False else 'tiếp nhận trở lại'}"]
    label = FIELDS.get(change.path, change.path)
    if change.path == "hours.closed_dates":
        return [f"{subject}: {label}: {_dates_changed(change.before, change.after)}"]
    return [f"{subject}: {label}: {_area_value(change.path, change.before, before)} → "
            f"{_area_value(change.path, change.after, after)}"]


def _area_value(path: str, value: Any, names: Names) -> str:
    """An area's or a counter's value: an area's own key left out says its default, or the center's hours."""
    if value is None and path == "target_wait_min":
        value = DEFAULTS.target_wait_min
    if value is None and path == "hours.weekdays":
        return "theo giờ chung của trung tâm"
    return _value(path.rsplit(".", 1)[-1], value, names)


def _added(table: str, added: Mapping[str, Any], names: Names) -> str:
    if table == "counters":
        return f" (lĩnh vực: {_names(added.get('areas'), names['areas'])})" if added.get("areas") else ""
    first, last, prefix = added.get("first"), added.get("last"), added.get("prefix") or ""
    if isinstance(first, int) and isinstance(last, int):
        width = len(str(last))
        return f" (số {prefix}{first:0{width}d}–{prefix}{last:0{width}d})"
    return ""


def _leaves(change: ConfigChange) -> list[ConfigChange]:
    """A table set, removed or changed as a whole, as the changes of its keys."""
    old = change.before if isinstance(change.before, Mapping) else {}
    new = change.after if isinstance(change.after, Mapping) else {}
    leaves = []
    for key in [*old, *(k for k in new if k not in old)]:
        path = f"{change.path}.{key}" if change.path else key
        if old.get(key) != new.get(key):
            leaves.append(ConfigChange(path, old.get(key), new.get(key)))
    return leaves


def _value(key: str, value: Any, names: Names) -> str:
    """A value as the history says it, by the key it is of."""
    if key in DAYS:
        if value is None:
            return "nghỉ" if key in ("sat", "sun") else ("như từ thứ Hai đến thứ Sáu" if key != "weekdays"
                                                          else NOT_SET)
        return ", ".join(str(v).replace("-", "–") for v in value) if isinstance(value, list) and value else "nghỉ"
    if key == "areas" and isinstance(value, list):
        return _names(value, names["areas"])
    if key in ("levels", "dissatisfied") and isinstance(value, list):
        return ", ".join(RATING_LABELS.get(str(v), str(v)) for v in value)
    if key == "criteria" and isinstance(value, list):
        return ", ".join(CRITERIA_LABELS.get(str(v), str(v)) for v in value) or "(không có)"
    if key == "daily_quota":
        return f"{value} phiếu" if isinstance(value, int) and value else "không giới hạn"
    if key == "open":
        return "tạm ngừng tiếp nhận" if value is False else "đang tiếp nhận"
    if key == "priority_mode" and value in PRIORITY_MODES:
        return PRIORITY_MODES[value]
    if key in ("too_early", "too_late") and value in ARRIVAL_POLICIES:
        return ARRIVAL_POLICIES[value]
    if value is None:
        return NOT_SET
    if key.endswith("_min") and isinstance(value, int):
        return f"{value} phút"
    if key.endswith("_s") and isinstance(value, int):
        return f"{value} giây"
    if key == "notice" and value == "":
        return "(không có thông báo)"
    if isinstance(value, str):
        return f"«{value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + '…'}»"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, list):
        return ", ".join(_value("", v, names) for v in value) or "(trống)"
    return str(value)


def _names(ids: Any, names: Mapping[str, str]) -> str:
    if not isinstance(ids, list):
        return NOT_SET
    return ", ".join(names.get(str(i), str(i)) for i in ids) or "(không có)"


def _dates_changed(before: Any, after: Any) -> str:
    old = {str(d) for d in before} if isinstance(before, list) else set()
    new = {str(d) for d in after} if isinstance(after, list) else set()
    parts = []
    if new - old:
        parts.append("thêm " + ", ".join(_date(d) for d in sorted(new - old)))
    if old - new:
        parts.append("bỏ " + ", ".join(_date(d) for d in sorted(old - new)))
    return "; ".join(parts) or "không đổi"


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text
