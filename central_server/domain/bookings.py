"""Appointments (issue 18): the slots a center offers on a day, and the booking codes a citizen types at the kiosk.

A slot is a stretch of one of the day's sessions, `slot_min` long; the last one ends where tickets stop being
given (the session's end, less the last-ticket cut-off), so a citizen booked in it is still served that session.
A booking code is 8 digits typed on the kiosk's keypad: 7 drawn at random and a Damm check digit, which catches
every single mistyped digit and every swap of two neighbouring ones before anything is asked of the server.

Pure: no I/O (the random digits come from the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from protocol.hours import Hours

CODE_DIGITS = 8
# Damm's quasigroup of order 10 (totally anti-symmetric, zero diagonal).
DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3), (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6), (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7), (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    start: datetime
    end: datetime


def slots(hours: Hours, day: date, slot_min: int, zone: tzinfo) -> list[Slot]:
    """The day's slots, in order: none on a closed day or date."""
    found = []
    step = timedelta(minutes=slot_min)
    for session in hours.sessions_on(day):
        start = datetime.combine(day, session.start, zone)
        end = (datetime.combine(day + timedelta(days=1), time(0), zone) if session.end == time.max
               else datetime.combine(day, session.end, zone)) - timedelta(minutes=hours.last_ticket_min)
        while start + step <= end:
            found.append(Slot(start, start + step))
            start += step
    return found


def check_digit(digits: str) -> str:
    interim = 0
    for digit in digits:
        interim = DAMM[interim][int(digit)]
    return str(interim)


def new_code(random_below: Callable[[int], int]) -> str:
    """A booking code: `random_below(n)` draws 0..n-1 (`secrets.randbelow` in production)."""
    body = f"{random_below(10 ** (CODE_DIGITS - 1)):0{CODE_DIGITS - 1}d}"
    return body + check_digit(body)


def code_ok(code: str) -> bool:
    """Whether `code` could be a booking code: 8 ASCII digits whose check digit holds."""
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit() and check_digit(code) == "0"
