"""The center config (CONTRACT.md §2): TOML -> frozen dataclasses, one-line errors naming file and key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from central_server.domain.areas import Area
from central_server.domain.bookings import BookingRules
from central_server.domain.center import CenterRules
from central_server.domain.counters import CounterSpec
from central_server.domain.dossiers import (
    MAX_PATTERN,
    MOST_PER_TICKET,
    PER_TICKET,
    DossierRules,
    default_dissatisfied,
)
from central_server.domain.limits import Limits
from central_server.domain.policies import PriorityMode, QueuePolicy
from central_server.live_config import Document, document_of, merged, not_live
from central_server.storage.url import PostgresDatabase, SqliteFile, StorageUrl
from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.errors import ConfigError
from protocol.hours import HH_MM, WEEKDAY_KEYS, Hours, Session, parse_sessions
from protocol.messages import (
    CRITERIA_LABELS,
    MAX_PAYLOAD,
    PRIORITY_CATEGORIES,
    AreaInfo,
    BookingInfo,
    CenterConfigMessage,
    CounterInfo,
)
from protocol.topics import DEVICE_ID, ID, Topics

PREFIX = re.compile(r"[A-Z]{0,3}")
PHONE_WINDOW_S = 1800  # [rating].phone_window_s by default: half an hour to rate from the phone after "finish"
MAX_PHONE_WINDOW_S = 86_400
MAX_PUBLIC_URL = 200  # [citizen_web].url: the QR code on a 58 mm ticket stays readable
LABEL = re.compile(r"[a-z0-9_-]+")  # rating levels and priority categories
MIN_KEY_BYTES = 32  # [storage].identity_key_file
MAX_NOTICE = 500  # [board].notice: characters of the line the hall boards scroll
NOTICE = re.compile(rf".{{0,{MAX_NOTICE}}}")  # may be empty: the center shows no notice
# The broker's settings (firmware_configs/mosquitto/tuning.conf): its max_packet_size bounds the retained config.
BROKER_TUNING = Path(__file__).resolve().parents[1] / "firmware_configs" / "mosquitto" / "tuning.conf"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A kiosk, hall board or staff console of the center: only `central_server provision` needs to know them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CitizenWeb:
    """[citizen_web]: where the tickets' QR codes point (`<url>/phieu/<token>`) and the processes serving it."""

    url: str | None
    ids: tuple[DeviceSpec, ...]


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """[notify]: how a booking's notices reach the citizen's phone (`central_server/notify.py`): appended to a
    file (`outbox`), or a program run for each (`command`)."""

    kind: str
    path: Path | None = None
    command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CenterConfig:
    path: Path
    center_id: str
    name: str
    timezone: str
    day_starts: time
    mqtt: MqttSettings
    storage: StorageUrl
    rules: CenterRules
    warnings: tuple[str, ...]
    kiosks: tuple[DeviceSpec, ...] = ()
    boards: tuple[DeviceSpec, ...] = ()
    limits: Limits = field(default_factory=Limits)
    consoles: tuple[DeviceSpec, ...] = ()
    citizen_web: CitizenWeb | None = None  # [citizen_web]: the public web for citizens' phones (issue 16)
    notice: str | None = None  # [board].notice: what the hall boards scroll (None: the center sets none)
    notify: NotifySpec | None = None  # [notify]: how booking notices are sent (None: they are not)
    identity_key_file: Path | None = None  # [storage]: the CCCD hashes' key, outside the database (None: inside)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the tables it was read from

    @property
    def overlaps(self) -> list[tuple[Area, Area]]:
        return overlapping(self.rules.areas)

    @property
    def document(self) -> Document:
        """Its live part (`live_config.py`): what may change while the server runs."""
        return document_of(self.raw)

    @property
    def webs(self) -> tuple[DeviceSpec, ...]:
        """The citizen web processes (one broker user and `web/<id>/...` each)."""
        return () if self.citizen_web is None else self.citizen_web.ids

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-server"

    def summary(self) -> str:
        rules = self.rules
        lines = [
            f"center {self.center_id}: {self.name} ({self.timezone}, day starts {self.day_starts:%H:%M})",
            f"mqtt {self.mqtt.summary()}, storage {self.storage.url}",
            f"{len(rules.areas)} areas, {len(rules.counters)} counters, rating levels {', '.join(rules.rating_levels)}"
            f" within {int(rules.rating_window.total_seconds())} s"
            f" ({int(rules.phone_window.total_seconds())} s from a phone)",
            f"priority {rules.policy.mode.value}, "
            + (f"missed after {rules.policy.max_calls} calls" if rules.policy.max_calls else "recalls unlimited"),
        ]
        dossiers = rules.dossiers
        lines.append(f"satisfaction: {', '.join(rules.dissatisfied)} count as dissatisfied"
                     + (f"; phones asked {', '.join(rules.criteria)}" if rules.criteria else "")
                     + f"; dossier codes {'of the national form' if dossiers.national else 'any'}"
                     + (f" matching {dossiers.pattern.pattern}" if dossiers.pattern is not None else "")
                     + f", at most {dossiers.per_ticket} a ticket")
        if rules.hours is not None:
            lines.append(f"hours: {_hours_summary(rules.hours)}")
        if rules.bookings is not None:
            b = rules.bookings
            lines.append(f"bookings: slots of {b.slot_min} min, {b.capacity} a slot, {b.days_ahead} days ahead, "
                         f"{b.per_person_per_day} a person a day ({b.per_person_per_area} an area), check-in from "
                         f"{b.early_min} min before to {b.late_min} min after, {b.share_percent} % of calls"
                         + (f"; remote numbers ({b.remote_per_area} an area)" if b.remote else ""))
        if self.notify is not None:
            lines.append(f"booking notices: {self.notify.kind} "
                         f"{self.notify.path if self.notify.path else ' '.join(self.notify.command)}")
        if self.notice is not None:
            lines.append(f"hall boards' notice: {self.notice!r}" if self.notice else "hall boards' notice: none")
        if self.limits != Limits():
            limits = self.limits
            lines.append(f"limits per device: {limits.tickets_per_minute} tickets ({limits.priority_per_minute} "
                         f"priority) and {limits.commands_per_minute} commands a minute; "
                         f"{limits.kiosk_answers_per_day} (kiosk) and {limits.counter_answers_per_day} (counter) "
                         "answers kept a day")
        for area in rules.areas:
            state = "" if area.open else " (closed)"
            extra = "".join([f", at most {area.daily_quota} tickets a day" if area.daily_quota else "",
                             f", its own hours: {_hours_summary(area.hours)}" if area.hours else ""])
            lines.append(f"  area {area.id}: {area.name} {area.shown(area.first)}..{area.shown(area.last)}{state}"
                         f"{extra}")
        for counter in rules.counters:
            lines.append(f"  counter {counter.id}: {counter.name} serves {', '.join(counter.areas)}")
        lines.extend(f"  kiosk {kiosk.id}: {kiosk.name}" for kiosk in self.kiosks)
        lines.extend(f"  board {board.id}: {board.name}" for board in self.boards)
        lines.extend(f"  console {console.id}: {console.name}" for console in self.consoles)
        if self.citizen_web is not None:
            lines.append(f"  citizen web {', '.join(w.id for w in self.webs) or '(no process)'}"
                         + (f": tickets' QR codes open {self.citizen_web.url}/phieu/..." if self.citizen_web.url
                            else ": no url, the tickets carry no QR code of it"))
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _hours_summary(hours: Hours) -> str:
    cut = f", no new ticket in the last {hours.last_ticket_min} min of a session" if hours.last_ticket_min else ""
    closed = f", closed on {len(hours.closed_dates)} dates" if hours.closed_dates else ""
    return f"{hours.describe()}{cut}{closed}"


def load(path: Path, *, on_this_host: bool = True) -> CenterConfig:
    """The center config; `on_this_host=False` skips what only the server's own machine has.

    That is the storage folder and the MQTT password file: `provision` reads the config on any
    machine, before the server is installed, and writes the password file itself.
    """
    return build(read_toml(path), on_this_host=on_this_host)


def with_document(config: CenterConfig, document: Mapping[str, Any], *, on_this_host: bool = True) -> CenterConfig:
    """The center config with its live part replaced by `document`, validated as `--check` validates a file
    (ConfigError naming the first mistake as the file would; `vietnamese` when a page could have made it)."""
    part = not_live(document)
    if part is not None:
        raise ConfigError(f"{config.path.name}: {part}: no part of the live configuration (it changes in the file, "
                          "at a restart)", "Phần này của cấu hình chỉ thay đổi được trong tệp cấu hình, khi khởi động "
                                           "lại máy chủ.")
    return build(Table(merged(config.raw, document), config.path, ""), on_this_host=on_this_host)


def restart_only(running: CenterConfig, read: CenterConfig) -> str | None:
    """What changed in the file that the running server cannot take without a restart, if anything."""
    parts = {
        "[center].id": (running.center_id, read.center_id),
        "[center].timezone": (running.timezone, read.timezone),
        "[center].day_starts": (running.day_starts, read.day_starts),
        "[mqtt]": (running.mqtt, read.mqtt),
        "[storage]": (running.storage, read.storage),
        "[storage].identity_key_file": (running.identity_key_file, read.identity_key_file),
        "[citizen_web]": (running.citizen_web, read.citizen_web),
        "[notify]": (running.notify, read.notify),
    }
    changed = [part for part, (before, after) in parts.items() if before != after]
    return changed[0] if changed else None


def build(root: Table, *, on_this_host: bool = True) -> CenterConfig:
    """The center config of TOML tables (a file's, or a file's with a live part from the database)."""
    path = root.file
    center = root.table("center")
    center_id = center.text("id", pattern=ID)
    name = center.text("name")
    zone_name = center.text("timezone", "Asia/Ho_Chi_Minh")
    zone = _zone(center, zone_name)
    day_starts = _clock(center, center.text("day_starts", "00:00"))
    center.finish()
    mqtt = load_mqtt(root.table("mqtt"), read_files=on_this_host)
    storage, key_file = _storage(root.table("storage"), on_this_host)
    rating = _rating(root.table("rating"))
    policy = _policy(root.table("queue", required=False))
    limits = _limits(root.table("limits", required=False))
    hours = _hours(root.table("hours")) if root.has("hours") else None
    area_tables = root.tables("areas")
    areas = tuple(_area(t, hours) for t in area_tables)
    _unique(root, "areas", [a.id for a in areas])
    counter_tables = root.tables("counters")
    counters = tuple(_counter(t, {a.id for a in areas}) for t in counter_tables)
    _unique(root, "counters", [c.id for c in counters])
    _unique_counter_names(counter_tables, counters)
    taken = {f"counter-{c.id}" for c in counters}  # device ids share device/<id>/status with counter terminals
    kiosks, boards = _devices(root, "kiosks", taken), _devices(root, "boards", taken)
    consoles = _devices(root, "consoles", taken)  # a console's status id is its id as is, like a kiosk's
    citizen_web = _citizen_web(root.table("citizen_web"), taken) if root.has("citizen_web") else None
    notice = _notice(root.table("board")) if root.has("board") else None
    bookings = _bookings(root.table("bookings"), hours) if root.has("bookings") else None
    notify = _notify(root.table("notify"), on_this_host) if root.has("notify") else None
    dossiers = _dossiers(root.table("dossiers")) if root.has("dossiers") else DossierRules()
    root.finish()  # before what counters do for areas: a counter under a misspelt table is named as such
    _every_open_area_served(area_tables, areas, counters)
    rules = CenterRules(areas, counters, zone, day_starts, policy, rating.levels, rating.window, hours,
                        rating.phone_window, bookings, rating.dissatisfied, rating.criteria, dossiers)
    config = CenterConfig(path, center_id, name, zone_name, day_starts, mqtt, storage, rules,
                          _warnings(path, areas), kiosks, boards, limits, consoles, citizen_web, notice, notify,
                          key_file, root.data)
    _config_message_fits(root, config)
    return config


def _zone(table: Table, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.error("timezone", f"unknown time zone {name!r}") from None


def _clock(table: Table, text: str) -> time:
    if not HH_MM.fullmatch(text):
        raise table.error("day_starts", f"expected HH:MM (24 h), got {text!r}")
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _storage(table: Table, on_this_host: bool) -> tuple[StorageUrl, Path | None]:
    url = table.text("url")
    key_file = _key_file(table, on_this_host)
    table.finish()
    return _storage_url(table, url, on_this_host), key_file


def _key_file(table: Table, on_this_host: bool) -> Path | None:
    """[storage].identity_key_file: the key of the CCCD numbers' keyed hashes (issue 18) kept outside the database,
    so that the database alone (a backup, a copy) cannot be searched for a number."""
    given = table.text("identity_key_file", None)
    if given is None:
        return None
    path = Path(given)
    if not path.is_absolute():
        raise table.error("identity_key_file", f"the path must be absolute, got {given!r}")
    if on_this_host:
        try:
            size = len(path.read_bytes())
        except OSError as exc:
            raise table.error("identity_key_file", f"cannot read {path}: {exc.strerror}") from None
        if size < MIN_KEY_BYTES:
            raise table.error("identity_key_file", f"{path} holds {size} bytes; make it with "
                                                   f"`head -c {MIN_KEY_BYTES} /dev/urandom > {path}`")
    return path


def _storage_url(table: Table, url: str, on_this_host: bool) -> StorageUrl:
    if url.startswith(("postgresql://", "postgres://")):
        if not urlsplit(url).hostname and "host=" not in url:
            raise table.error("url", "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        return PostgresDatabase(url)
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise table.error("url", f"expected sqlite:///ABSOLUTE/PATH or postgresql://..., got {url!r}")
    if not Path(url[len("sqlite://") :]).is_absolute():
        raise table.error("url", "the SQLite path must be absolute (sqlite:////srv/qms/center.db)")
    database = SqliteFile.of(url)
    if on_this_host and not database.path.parent.is_dir():
        raise table.error("url", f"folder {database.path.parent} does not exist")
    return database


@dataclass(frozen=True, slots=True)
class RatingSpec:
    """[rating]: the levels, best first; how long a ticket may be rated at the counter and from a phone; which
    levels count as "không hài lòng"; the optional criteria a phone asks."""

    levels: tuple[str, ...]
    window: timedelta
    phone_window: timedelta
    dissatisfied: tuple[str, ...]
    criteria: tuple[str, ...]


def _rating(table: Table) -> RatingSpec:
    levels = tuple(table.strings("levels", pattern=LABEL))
    if not 2 <= len(levels) <= 5:
        raise table.error("levels", "expected 2 to 5 levels, best first", "Cần từ 2 đến 5 mức đánh giá.")
    dissatisfied = tuple(table.strings("dissatisfied", list(default_dissatisfied(levels)), pattern=LABEL))
    if not dissatisfied or not set(dissatisfied) <= set(levels[1:]):
        raise table.error("dissatisfied", f"expected some of the levels but the best ({', '.join(levels[1:])})",
                          "Mức «không hài lòng» phải là một hoặc nhiều mức đánh giá, trừ mức cao nhất.")
    if set(dissatisfied) != set(levels[len(levels) - len(dissatisfied):]):
        raise table.error("dissatisfied", f"expected the worst {len(dissatisfied)} of the levels "
                                          f"({', '.join(levels[len(levels) - len(dissatisfied):])}): a level worse "
                                          "than one counted dissatisfied counts too",
                          "Mức kém hơn một mức «không hài lòng» cũng phải được tính là không hài lòng.")
    criteria = tuple(table.strings("criteria", ()))
    unknown = [c for c in criteria if c not in CRITERIA_LABELS]
    if unknown:
        raise table.error("criteria", f"{unknown[0]!r} is none of {', '.join(CRITERIA_LABELS)}",
                          "Tiêu chí đánh giá chỉ có thể là thái độ, hướng dẫn hoặc thời gian giải quyết.")
    window_s = table.integer("window_s", 120, minimum=1)
    phone_s = table.integer("phone_window_s", max(PHONE_WINDOW_S, window_s), minimum=1)
    if not window_s <= phone_s <= MAX_PHONE_WINDOW_S:
        raise table.error("phone_window_s", f"must be from window_s ({window_s}) to {MAX_PHONE_WINDOW_S} seconds, "
                                            f"got {phone_s}")
    table.finish()
    return RatingSpec(levels, timedelta(seconds=window_s), timedelta(seconds=phone_s),
                      tuple(level for level in levels if level in dissatisfied), criteria)


def _dossiers(table: Table) -> DossierRules:
    """[dossiers] (issue 19): which dossier codes a counter may attach to a ticket."""
    national = table.flag("national", True)
    text = table.text("pattern", None)
    pattern = None
    if text is not None:
        if not text or len(text) > MAX_PATTERN:
            raise table.error("pattern", f"expected a regular expression of 1 to {MAX_PATTERN} characters",
                              f"Mẫu mã hồ sơ phải có từ 1 đến {MAX_PATTERN} ký tự.")
        try:  # codes are kept in capitals: a pattern in small letters still matches them
            pattern = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise table.error("pattern", f"not a regular expression: {exc}",
                              "Mẫu mã hồ sơ không phải một biểu thức chính quy hợp lệ.") from None
    if not national and pattern is None:
        raise table.error("pattern", "is needed when national = false: codes must be checked against something",
                          "Khi không kiểm tra định dạng quốc gia, trung tâm phải khai báo mẫu mã hồ sơ.")
    per_ticket = table.integer("per_ticket", PER_TICKET, minimum=1)
    if per_ticket > MOST_PER_TICKET:
        raise table.error("per_ticket", f"at most {MOST_PER_TICKET}, got {per_ticket}",
                          f"Mỗi phiếu gắn được tối đa {MOST_PER_TICKET} hồ sơ.")
    table.finish()
    return DossierRules(national, pattern, per_ticket)


def _citizen_web(table: Table, taken: set[str]) -> CitizenWeb:
    """[citizen_web]: its url (what a ticket's QR code opens) and the ids of its processes, each a device whose
    id no other device has."""
    url = table.text("url", None)
    if url is not None:
        url = url.rstrip("/")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise table.error("url", f"{url[:80]!r} is not a URL") from None
        if (parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment
                or "?" in url or "#" in url or " " in url or len(url) > MAX_PUBLIC_URL):
            raise table.error("url", f"expected https://HOST[/PATH] (or http://) without query or fragment, at most "
                                     f"{MAX_PUBLIC_URL} characters, got {url[:80]!r}")
    ids = []
    for web_id in table.strings("ids", ("web-1",), pattern=DEVICE_ID):
        if web_id in taken:
            raise table.error("ids", f"id {web_id!r} is already another device's")
        taken.add(web_id)
        ids.append(DeviceSpec(web_id, web_id))
    table.finish()
    return CitizenWeb(url, tuple(ids))


def _notice(table: Table) -> str:
    """[board].notice: one line the hall boards scroll ("" for none)."""
    given = table.data.get("notice")
    if isinstance(given, str) and len(given) > MAX_NOTICE:
        raise table.error("notice", f"at most {MAX_NOTICE} characters, got {len(given)}",
                          f"Thông báo dài tối đa {MAX_NOTICE} ký tự.")
    notice: str = table.text("notice", pattern=NOTICE)
    table.finish()
    return notice


def _policy(table: Table) -> QueuePolicy:
    mode_name = table.text("priority_mode", PriorityMode.STRICT.value)
    if mode_name not in PriorityMode._value2member_map_:
        raise table.error("priority_mode", f"expected \"strict\" or \"interleaved\", got {mode_name!r}")
    extra = table.strings("extra_priority_categories", (), pattern=LABEL)
    clash = set(extra) & {*PRIORITY_CATEGORIES, "none"}
    if clash:
        raise table.error("extra_priority_categories", f"{sorted(clash)[0]!r} is already a category")
    policy = QueuePolicy(
        mode=PriorityMode(mode_name),
        regular_per_priority=table.integer("regular_per_priority", 3, minimum=1),
        max_calls=table.integer("max_calls", 0, minimum=0),
        priority_categories=PRIORITY_CATEGORIES + tuple(extra),
        default_service_s=table.integer("default_service_s", 300, minimum=1),
    )
    table.finish()
    return policy


def _area(table: Table, center_hours: Hours | None) -> Area:
    area = Area(
        id=table.text("id", pattern=ID),
        name=table.text("name"),
        first=table.integer("first", minimum=0),
        last=table.integer("last", minimum=0),
        prefix=table.text("prefix", "", pattern=PREFIX),
        open=table.flag("open", True),
        target_wait_min=table.integer("target_wait_min", 30, minimum=1),
        hours=_hours(table.table("hours"), center_hours) if table.has("hours") else None,
        daily_quota=table.integer("daily_quota", 0, minimum=0),
        booking_capacity=table.integer("booking_capacity", None, minimum=0),
    )
    if area.last < area.first:
        raise table.error("last", f"must not be below first ({area.first})",
                          f"Lĩnh vực «{area.name}»: số cuối không được nhỏ hơn số đầu ({area.first}).")
    table.finish()
    return area


def _bookings(table: Table, hours: Hours | None) -> BookingRules:
    """[bookings]: appointments and remote numbers (issue 18); their slots come from the opening hours."""
    if hours is None:
        raise table.error(None, "bookings need the center's [hours]: slots are made from them",
                          "Cần khai báo giờ làm việc của trung tâm trước khi nhận đặt lịch.")
    default = BookingRules()
    numbers = {key: table.integer(name, getattr(default, key), minimum=low) for key, name, low in BOOKING_NUMBERS}
    for key, name, _low in BOOKING_NUMBERS:
        if numbers[key] > BOOKING_MOST[key]:
            raise table.error(name, f"at most {BOOKING_MOST[key]}, got {numbers[key]}",
                              f"Đặt lịch: «{name}» tối đa {BOOKING_MOST[key]}.")
    if numbers["per_person_per_area"] > numbers["per_person_per_day"]:
        raise table.error("per_person_per_area", "must not be above per_person_per_day",
                          "Đặt lịch: số lịch mỗi lĩnh vực không được lớn hơn số lịch mỗi ngày.")
    too_early, too_late = table.text("too_early", default.too_early), table.text("too_late", default.too_late)
    if too_early not in ("wait", "refuse"):
        raise table.error("too_early", f"expected \"wait\" or \"refuse\", got {too_early!r}")
    if too_late not in ("walk_in", "refuse"):
        raise table.error("too_late", f"expected \"walk_in\" or \"refuse\", got {too_late!r}")
    rules = BookingRules(**numbers, too_early=too_early, too_late=too_late, remote=table.flag("remote", False))
    table.finish()
    return rules


def _notify(table: Table, on_this_host: bool) -> NotifySpec:
    kind = table.text("kind")
    if kind == "outbox":
        path = Path(table.text("path"))
        if not path.is_absolute() or (on_this_host and not path.parent.is_dir()):
            raise table.error("path", f"expected an absolute path in an existing folder, got {str(path)!r}")
        spec = NotifySpec(kind, path=path)
    elif kind == "command":
        command = table.strings("command")
        if not command or not command[0]:
            raise table.error("command", "expected the program and its arguments, e.g. [\"gammu-smsd-inject\", "
                                         "\"TEXT\", \"{phone}\", \"-text\", \"{text}\"]")
        spec = NotifySpec(kind, command=tuple(command))
    else:
        raise table.error("kind", f"expected \"outbox\" or \"command\", got {kind!r}")
    table.finish()
    return spec


# [bookings]' numbers: (field, key, least); and the most each may be
BOOKING_NUMBERS = (("slot_min", "slot_minutes", 5), ("capacity", "capacity", 0), ("days_ahead", "days_ahead", 0),
                   ("per_person_per_day", "per_person_per_day", 1), ("per_person_per_area", "per_person_per_area", 1),
                   ("early_min", "check_in_early_minutes", 0), ("late_min", "check_in_late_minutes", 0),
                   ("share_percent", "share_percent", 1), ("retention_days", "retention_days", 1),
                   ("remind_min", "remind_minutes", 0), ("remote_per_area", "remote_per_area", 1),
                   ("remote_min", "remote_minutes", 5))
BOOKING_MOST = {"slot_min": 240, "capacity": 100, "days_ahead": 60, "per_person_per_day": 10,
                "per_person_per_area": 10, "early_min": 240, "late_min": 240, "share_percent": 100,
                "retention_days": 3650, "remind_min": 1440, "remote_per_area": 1000, "remote_min": 480}


def _limits(table: Table) -> Limits:
    """[limits]: what one device may make the server do (optional; the defaults suit a center)."""
    default = Limits()
    limits = Limits(**{key: table.integer(key, getattr(default, key), minimum=1)
                       for key in ("tickets_per_minute", "priority_per_minute", "commands_per_minute",
                                   "kiosk_answers_per_day", "counter_answers_per_day")})
    table.finish()
    return limits


def _hours(table: Table, center: Hours | None = None) -> Hours:
    """[hours], or an area's [areas.hours] (`center`: the center's): sessions per weekday, closed dates, the
    last-ticket cut-off. An area's own sessions replace the center's; the center's closed dates still hold
    for it, and its cut-off unless it sets its own."""
    weekdays = _sessions(table, "weekdays", ())
    week = tuple(_sessions(table, key, weekdays if index < 5 else ()) for index, key in enumerate(WEEKDAY_KEYS))
    closed = set(center.closed_dates) if center is not None else set()
    for text in table.strings("closed_dates", ()):
        try:
            closed.add(date.fromisoformat(text))
        except ValueError:
            raise table.error("closed_dates", f"{text!r} is not a date YYYY-MM-DD",
                              f"Ngày nghỉ «{text[:20]}» không đúng dạng ngày.") from None
    last = table.integer("last_ticket_min", center.last_ticket_min if center is not None else 0, minimum=0)
    table.finish()
    sessions = [session for day in week for session in day]
    if not sessions:
        raise table.error(None, "no session on any day: give weekdays = [\"07:30-11:30\", ...] or mon ... sun",
                          "Chưa có buổi làm việc nào trong tuần.")
    shortest = min(sessions, key=lambda s: _minutes(s.end) - _minutes(s.start))
    if last >= _minutes(shortest.end) - _minutes(shortest.start):
        raise table.error("last_ticket_min", f"{last} minutes leaves no time to take a ticket in {shortest}",
                          f"Ngừng cấp số {last} phút trước khi hết buổi thì không còn thời gian nào để lấy số trong "
                          f"buổi {shortest}.")
    return Hours(week, frozenset(closed), last)


def _sessions(table: Table, key: str, default: tuple[Session, ...]) -> tuple[Session, ...]:
    values = table.strings(key, None)
    if values is None:
        return default
    try:
        return parse_sessions(values)
    except ValueError as exc:
        raise table.error(key, f"{exc}; expected a list of \"HH:MM-HH:MM\" sessions",
                          "Giờ làm việc phải có dạng 07:30-11:30, 13:30-17:00 (giờ bắt đầu trước giờ kết thúc, "
                          "các buổi không chồng lên nhau).") from None


def _minutes(moment: time) -> int:
    return 24 * 60 if moment == time.max else moment.hour * 60 + moment.minute


def _counter(table: Table, area_ids: set[str]) -> CounterSpec:
    counter = CounterSpec(table.text("id", pattern=ID), table.text("name"), table.strings("areas", pattern=ID))
    if not counter.areas:
        raise table.error("areas", "a counter must serve at least one area",
                          f"Quầy «{counter.name}» phải phục vụ ít nhất một lĩnh vực.")
    unknown = [a for a in counter.areas if a not in area_ids]
    if unknown:
        raise table.error("areas", f"unknown area {unknown[0]!r}", f"Không có lĩnh vực mã «{unknown[0]}».")
    table.finish()
    return counter


def _unique_counter_names(tables: list[Table], counters: tuple[CounterSpec, ...]) -> None:
    """Refuse two counters the board and the voice could not tell apart: the same name, once
    written the same way (NFC), in the same case and with the same spaces."""
    seen: dict[str, CounterSpec] = {}
    for table, counter in zip(tables, counters, strict=True):
        folded = " ".join(unicodedata.normalize("NFC", counter.name).casefold().split())
        if folded in seen:
            raise table.error("name", f"{counter.name!r} is already the name of counter {seen[folded].id!r}; the "
                                      "board and the voice could not tell the two apart",
                              f"Tên «{counter.name}» đã là tên của quầy mã «{seen[folded].id}»: bảng gọi số và loa "
                              "gọi không phân biệt được hai quầy.")
        seen[folded] = counter


def _every_open_area_served(tables: list[Table], areas: tuple[Area, ...], counters: tuple[CounterSpec, ...]) -> None:
    """Refuse an open area that no counter serves: its tickets would be printed and never called."""
    served = {area for counter in counters for area in counter.areas}
    for table, area in zip(tables, areas, strict=True):
        if area.open and area.id not in served:
            raise table.error(None, f"no counter serves the open area {area.id!r}; add it to a counter's areas "
                                    "or set open = false",
                              f"Chưa có quầy nào phục vụ lĩnh vực «{area.name}» đang tiếp nhận: giao lĩnh vực này "
                              "cho một quầy, hoặc tạm ngừng tiếp nhận lĩnh vực.")


def config_message(config: CenterConfig) -> CenterConfigMessage:
    """The retained `config` message every device reads (CONTRACT.md §3): the one way to build it."""
    rules = config.rules
    return CenterConfigMessage(
        center_id=config.center_id,
        center_name=config.name,
        areas=tuple(AreaInfo(a.id, a.name, a.prefix, a.first, a.last, a.open, a.hours, a.daily_quota,
                             booking_capacity(rules, a)) for a in rules.areas),
        counters=tuple(CounterInfo(c.id, c.name, c.areas) for c in rules.counters),
        rating_levels=rules.rating_levels,
        priority_categories=rules.policy.priority_categories,
        timezone=config.timezone,
        rating_window_s=int(rules.rating_window.total_seconds()),
        hours=rules.hours,
        public_url=None if config.citizen_web is None else config.citizen_web.url,
        rating_phone_window_s=None if config.citizen_web is None else int(rules.phone_window.total_seconds()),
        notice=config.notice,
        bookings=None if rules.bookings is None else BookingInfo(
            rules.bookings.slot_min, rules.bookings.days_ahead, rules.bookings.early_min, rules.bookings.late_min,
            rules.bookings.remote, rules.bookings.remote_min, rules.bookings.retention_days),
        rating_criteria=rules.criteria,
    )


def booking_capacity(rules: CenterRules, area: Area) -> int:
    """Bookings a slot of the area takes: its own, else the center's (0: none, or no bookings at all)."""
    if rules.bookings is None:
        return 0
    return rules.bookings.capacity if area.booking_capacity is None else area.booking_capacity


def config_payload_limit(topic: str, tuning: Path = BROKER_TUNING) -> int:
    """The largest retained config payload every device gets: what protocol.messages.decode takes, and
    what the broker's max_packet_size leaves once the topic and the packet's header are counted."""
    limit = MAX_PAYLOAD
    try:
        found = re.search(r"(?m)^\s*max_packet_size\s+(\d+)\s*$", tuning.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        found = None  # not shipped beside the code: decode's limit is the only one known
    if found is not None and int(found.group(1)) > 0:  # 0: Mosquitto's "no limit"
        # fixed header (1 + 4), topic (2 + its bytes), packet id (2), properties (4 + what a publish may carry)
        overhead = 1 + 4 + 2 + len(topic.encode()) + 2 + 4 + 64
        limit = min(limit, int(found.group(1)) - overhead)
    return limit


def _config_message_fits(root: Table, config: CenterConfig) -> None:
    """Refuse a center whose retained config devices would refuse (or the broker would not carry),
    naming the part of the file that makes it large."""
    message = config_message(config)
    size = len(message.to_wire())
    limit = config_payload_limit(Topics(config.center_id).config())
    if size <= limit:
        return
    parts = {
        "[[areas]]": replace(message, areas=()),
        "[[counters]]": replace(message, counters=()),
        "[center].name": replace(message, center_name=""),
        "[queue].extra_priority_categories": replace(message, priority_categories=()),
    }
    taken = {part: size - len(smaller.to_wire()) for part, smaller in parts.items()}
    largest = max(taken, key=lambda part: taken[part])
    raise root.error(largest, f"the retained config message would be {size} bytes, over the {limit} that every "
                              f"device accepts; {largest} takes {taken[largest]} of them (shorter names or fewer)",
                     "Cấu hình quá lớn để gửi tới các thiết bị: hãy rút ngắn tên hoặc bớt lĩnh vực, quầy.")


def _devices(root: Table, key: str, taken: set[str]) -> tuple[DeviceSpec, ...]:
    """[[kiosks]], [[boards]] or [[consoles]]: optional; a device's id is part of its topics (device/<id>/status)
    and ids are unique across them all and the counters' `counter-<id>`."""
    if not root.has(key):
        return ()
    devices = []
    for table in root.tables(key):
        device_id = table.text("id", pattern=DEVICE_ID)
        if device_id in taken:
            raise table.error("id", f"id {device_id!r} is already another device's")
        taken.add(device_id)
        devices.append(DeviceSpec(device_id, table.text("name", device_id)))
        table.finish()
    return tuple(devices)


def _unique(root: Table, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    whose = {"areas": "lĩnh vực", "counters": "quầy"}.get(key, "thiết bị")
    for item in ids:
        if item in seen:
            raise root.error(key, f"id {item!r} is used twice", f"Mã «{item}» đã là mã của một {whose} khác.")
        seen.add(item)


def overlapping(areas: tuple[Area, ...]) -> list[tuple[Area, Area]]:
    """Areas that share a prefix and overlapping ranges: they could show the same number twice."""
    return [(one, other) for index, one in enumerate(areas) for other in areas[index + 1:]
            if one.prefix == other.prefix and one.first <= other.last and other.first <= one.last]


def _warnings(path: Path, areas: tuple[Area, ...]) -> tuple[str, ...]:
    return tuple(f"{path.name}: areas {one.id!r} and {other.id!r} share prefix {one.prefix!r} and overlapping numbers;"
                 " citizens of both could hold the same number" for one, other in overlapping(areas))


__all__ = ["CenterConfig", "ConfigError", "load"]
