"""What one device may make the server do: a rate per kind of request, and a daily budget of stored answers.

Pure: the caller passes the time. A kiosk whose credentials were stolen can then take a few tickets a
second and a few priority tickets a minute, not a whole area's numbers in a second; a counter a few
commands and ratings a second; and no device more than its day's budget of answers kept for retries (beyond it, it
is refused and nothing is stored). A device's status is recorded at most about once a minute.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from central_server.domain.errors import DomainError

MAX_DEVICES = 10_000  # devices whose buckets are kept; the least recently heard is forgotten past it
# The citizen web (issue 16) asks for thousands of phones at once, so its rates are a crowd's, not a device's:
# look-ups (read-only, never stored, no daily budget) 400 a second with bursts of 2,500 (a web restarted while
# 2,000 phones follow looks them all up again within seconds), and phone ratings (stored and answered again to a
# retry) 20 a second with bursts of 60, each per web process. Its stored answers (the ratings', and their
# refusals) are kept up to WEB_ANSWERS_PER_DAY a day: one per ticket at most is a rating.
WEB_LOOKUPS_PER_S, WEB_LOOKUP_BURST = 400.0, 2500.0
WEB_RATINGS_PER_S, WEB_RATING_BURST = 20.0, 60.0
WEB_ANSWERS_PER_DAY = 50_000
# Bookings made or cancelled (issue 18), per web process: a center's whole day of bookings in a few minutes, no more.
WEB_BOOKINGS_PER_S, WEB_BOOKING_BURST = 5.0, 50.0
# Slots looked up (issue 18), per web process: each costs a day's or the days ahead's slots of an area.
WEB_SLOTS_PER_S, WEB_SLOTS_BURST = 20.0, 100.0
# A kiosk's check-ins, beyond its ticket rate: codes tried one after another (guessing) soon wait.
CHECK_INS_PER_MINUTE = 20


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: float


@dataclass(frozen=True, slots=True)
class Limits:
    """The center config's [limits]: generous for an honest device, tight for a flood. A burst of a quarter
    of a minute's worth (at least ten) passes at once."""

    tickets_per_minute: int = 120  # a kiosk: a citizen every half second
    priority_per_minute: int = 6
    commands_per_minute: int = 240  # a counter's keys
    kiosk_answers_per_day: int = 3_000  # a busy kiosk issues a few hundred tickets a day
    counter_answers_per_day: int = 5_000  # a counter sends a few commands per citizen

    def rates(self) -> dict[str, Rate]:
        def per_minute(count: int) -> Rate:
            return Rate(per_second=count / 60, burst=max(10.0, count / 4))

        return {"ticket": per_minute(self.tickets_per_minute), "priority": per_minute(self.priority_per_minute),
                "cancel": per_minute(self.tickets_per_minute),  # a kiosk's cancels: its own, so none takes a ticket's
                "command": per_minute(self.commands_per_minute), "rating": per_minute(self.commands_per_minute),
                "retry": per_minute(self.commands_per_minute),  # an answered request asked again
                "status": Rate(per_second=1 / 60, burst=6),  # a status change recorded (always known at once)
                "lookup": Rate(WEB_LOOKUPS_PER_S, WEB_LOOKUP_BURST),  # the citizen web's
                "phone_rating": Rate(WEB_RATINGS_PER_S, WEB_RATING_BURST),
                "booking": Rate(WEB_BOOKINGS_PER_S, WEB_BOOKING_BURST),
                "slots": Rate(WEB_SLOTS_PER_S, WEB_SLOTS_BURST),
                "check_in": Rate(CHECK_INS_PER_MINUTE / 60, 10)}

    def budget(self) -> dict[str, int]:
        # a console's are kept per counter it acts for ("console/<id>/<counter>"): a counter's budget each
        return {"kiosk": self.kiosk_answers_per_day, "counter": self.counter_answers_per_day,
                "console": self.counter_answers_per_day, "web": WEB_ANSWERS_PER_DAY}


TOO_MANY_PRIORITY = DomainError("too_many_priority", "Đã cấp quá nhiều phiếu ưu tiên trong ít phút qua. "
                                                     "Mời công dân liên hệ cán bộ hướng dẫn.")
TOO_MANY_CHECK_INS = DomainError("too_many_requests", "Ki-ốt đã nhận quá nhiều mã đặt lịch trong ít phút qua. "
                                                     "Mời công dân chờ giây lát hoặc liên hệ cán bộ hướng dẫn.")
# A kiosk's refusal is read by a citizen on its screen; a counter's (or a manager tool's) by an official.
_TOO_MANY = {"kiosk": DomainError("too_many_requests", "Thiết bị gửi quá nhiều yêu cầu trong thời gian ngắn. "
                                                       "Mời công dân thử lại sau ít phút."),
             "staff": DomainError("too_many_requests", "Thiết bị gửi quá nhiều lệnh trong thời gian ngắn. "
                                                       "Vui lòng thử lại sau giây lát."),
             "web": DomainError("too_many_requests", "Hệ thống đang nhận quá nhiều yêu cầu. "
                                                     "Mời Ông/Bà thử lại sau ít phút.")}
_OVER_BUDGET = {"kiosk": DomainError("device_limit", "Thiết bị đã gửi quá nhiều yêu cầu trong ngày. "
                                                     "Mời công dân liên hệ cán bộ hướng dẫn."),
                "staff": DomainError("device_limit", "Thiết bị đã gửi quá nhiều lệnh trong ngày. "
                                                     "Vui lòng liên hệ cán bộ kỹ thuật."),
                "web": DomainError("device_limit", "Hệ thống đã nhận quá nhiều yêu cầu trong ngày. "
                                                   "Mời Ông/Bà liên hệ cán bộ hướng dẫn tại trung tâm.")}


def _reader(device: str) -> str:
    kind = device.split("/", 1)[0]
    return kind if kind in ("kiosk", "web") else "staff"


def too_many(device: str) -> DomainError:
    """The refusal of a request over `device`'s rate ("kiosk/k1", "counter/1", "web/web-1"), in its reader's
    words (a kiosk's and a web's are a citizen's)."""
    return _TOO_MANY[_reader(device)]


def over_budget(device: str) -> DomainError:
    """The refusal of a request past `device`'s budget for the day, in its reader's words."""
    return _OVER_BUDGET[_reader(device)]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


class DeviceLimits:
    def __init__(self, limits: Limits) -> None:
        self._rates = limits.rates()
        self._budget = limits.budget()
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._kept: dict[str, int] = {}
        self._day: date | None = None

    def follow(self, limits: Limits) -> None:
        """New limits (the live configuration changed): what each device has used stays counted."""
        self._rates, self._budget = limits.rates(), limits.budget()

    def allow(self, device: str, kind: str, now: datetime) -> bool:
        """Take one of `device`'s `kind` (e.g. "kiosk/k1", "ticket"); False when it has none left now."""
        rate = self._rates[kind]
        key = (device, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate.burst, now)
            if len(self._buckets) > MAX_DEVICES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, (now - bucket.at).total_seconds())  # a clock set back refills nothing then,
            bucket.tokens = min(rate.burst, bucket.tokens + elapsed * rate.per_second)
            bucket.at = now  # and refills from its new time on
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def check(self, device: str, kind: str, now: datetime, refusal: DomainError) -> None:
        """`allow`, or the refusal."""
        if not self.allow(device, kind, now):
            raise refusal

    def keep(self, device: str, day: date) -> bool:
        """Whether one more answer of `device` ("kiosk/k1") may be kept today (and count it)."""
        if day != self._day:
            self._day, self._kept = day, {}
        kept = self._kept.get(device)
        if kept is None and len(self._kept) >= MAX_DEVICES:
            return False
        if (kept or 0) >= self._budget.get(device.split("/", 1)[0], min(self._budget.values())):
            return False
        self._kept[device] = (kept or 0) + 1
        return True

    def already_kept(self, day: date, counts: dict[str, int]) -> None:
        """What storage already holds for `day` (after a restart, or a new day read from storage)."""
        self._day, self._kept = day, dict(counts)
