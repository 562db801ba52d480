"""Dossier codes (mã hồ sơ) and how ratings count toward the 2025 satisfaction figures (issue 19).

Since 1 July 2025 a one-stop shop works under Nghị định 118/2025/NĐ-CP and Thông tư 03/2025/TT-VPCP, and its
province is scored by Quyết định 766/QĐ-TTg, whose satisfaction ratio counts dossiers, not citizens:
(dossiers received − dossiers rated "không hài lòng" or complained about) / dossiers received. A rating counts
only through the dossiers its ticket carries, so the official attaches each dossier received to the ticket.

The national form of a dossier code (Thông tư 01/2018/TT-VPCP, Điều 19, as later amended) is
`V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`: the receiving unit's electronic code (three digits, two, two, then a
letter and two digits), the day of receipt, and the dossier's number in that day. Provinces' one-stop systems
number a day's dossiers with 4 digits; longer sequences (up to 6) are accepted, as some systems print them. A
center whose province prints other codes switches the national check off and gives its own pattern.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

NATIONAL = re.compile(r"(?P<unit>\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(?P<day>\d{6})-(?P<seq>\d{4,6})")
FIRST_DAY = date(2019, 1, 1)  # the form came with Thông tư 01/2018/TT-VPCP, in force from 2019: "96..." is a typo
MAX_CODE = 64  # characters of a code as typed or scanned, before it is checked
MAX_PATTERN = 200  # characters of a center's pattern
PER_TICKET = 10  # dossiers one ticket may carry by default (a citizen filing for a family, a company's runner)
MOST_PER_TICKET = 50

FORMAT_VI = ("Mã hồ sơ không đúng định dạng quốc gia (ví dụ 000.00.04.H12-250701-0001: mã đơn vị, ngày tiếp nhận "
             "YYMMDD, số thứ tự). Vui lòng kiểm tra lại.")
PATTERN_VI = "Mã hồ sơ không đúng mẫu mã hồ sơ của trung tâm. Vui lòng kiểm tra lại."
DAY_VI = ("Ngày tiếp nhận trong mã hồ sơ (6 chữ số giữa, YYMMDD) không hợp lệ, trước năm 2019 hoặc sau ngày hôm "
          "nay.")


class DossierError(ValueError):
    """A code that is not a dossier code of this center; the message says why, in Vietnamese."""


@dataclass(frozen=True, slots=True)
class DossierRules:
    """[dossiers]: whether codes must have the national form, the center's own pattern (the whole code must match
    it), and how many dossiers a ticket may carry."""

    national: bool = True
    pattern: re.Pattern[str] | None = None
    per_ticket: int = PER_TICKET

    def check(self, typed: str, today: date) -> str:
        """The code as kept (spaces trimmed, letters upper case), or DossierError."""
        code = normalize(typed)
        if not code or len(code) > MAX_CODE or not code.isprintable() or not code.isascii():
            raise DossierError(FORMAT_VI if self.national else PATTERN_VI)
        if self.national:
            match = NATIONAL.fullmatch(code)
            if match is None:
                raise DossierError(FORMAT_VI)
            received = _day(match["day"])
            if received is None or not FIRST_DAY <= received <= today:
                raise DossierError(DAY_VI)
        if self.pattern is not None and self.pattern.fullmatch(code) is None:
            raise DossierError(PATTERN_VI)
        return code


def normalize(typed: str) -> str:
    """What a scanner or a hand gives, as a code is kept: no surrounding or inner spaces, upper case."""
    return "".join(typed.split()).upper()


def _day(digits: str) -> date | None:
    try:
        return datetime.strptime(digits, "%y%m%d").date()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Dossier:
    """A dossier attached to a ticket: its code, when, by whom (the official's username, None when nobody had
    signed in at the counter) and at which counter."""

    code: str
    at: datetime
    official: str | None
    counter_id: str


def default_dissatisfied(levels: tuple[str, ...]) -> tuple[str, ...]:
    """The levels that count as "không hài lòng" unless the center says: those named so, else the worst level."""
    named = tuple(level for level in levels if level in ("dissatisfied", "very_dissatisfied"))
    return named or levels[-1:]
