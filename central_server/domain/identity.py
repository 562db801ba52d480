"""Who books (issue 18): a citizen's CCCD number and phone number, checked, and the CCCD kept only as a keyed hash.

A CCCD (căn cước công dân) number is 12 digits: the code of the province where the citizen was registered at
birth (3 digits, Thông tư 59/2021/TT-BCA), a digit for the century of birth and the sex, the last two digits of
the year of birth, then 6 digits. Checking those parts refuses most mistyped numbers; nothing here can tell
whether a number was really issued. The number itself is never stored: only `person_key`, an HMAC-SHA256 under
the center's own key, which is enough to apply the per-person limits and says nothing to whoever reads the
database without the key.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# The provinces' codes as CCCD numbers carry them (the 63 provinces before the 2025 merger: numbers issued
# before it keep their codes).
PROVINCE_CODES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024", "025",
    "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045", "046", "048",
    "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
})
# The fourth digit: the century of birth and the sex, which is never kept (Thông tư 07/2016/TT-BCA: 0/1 the 20th
# century, 2/3 the 21st, ... 8/9 the 24th).
CENTURIES = {"0": 1900, "1": 1900, "2": 2000, "3": 2000, "4": 2100, "5": 2100, "6": 2200, "7": 2200,
             "8": 2300, "9": 2300}
CCCD = re.compile(r"\d{12}")
MOBILE = re.compile(r"0[35789]\d{8}")  # a Vietnamese mobile number, 10 digits
CCCD_VI = "Số căn cước công dân gồm đúng 12 chữ số, in trên thẻ căn cước. Vui lòng kiểm tra lại."
PROVINCE_VI = "Ba chữ số đầu của số căn cước công dân không phải mã tỉnh, thành phố nào. Vui lòng kiểm tra lại."
BIRTH_VI = "Năm sinh trong số căn cước công dân (chữ số thứ 4 đến thứ 6) không hợp lệ. Vui lòng kiểm tra lại."
PHONE_VI = "Số điện thoại di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 (hoặc +84). Vui lòng kiểm tra lại."


class IdentityRefused(ValueError):
    """What a citizen typed is refused; `message` says why, in Vietnamese, for the page that shows it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Cccd:
    """A CCCD number whose parts were checked; only `person_key` of it may be kept."""

    number: str

    @property
    def birth_year(self) -> int:
        return CENTURIES[self.number[3]] + int(self.number[4:6])


def check_cccd(text: str, today: date) -> Cccd:
    """The number as typed (spaces, dots and dashes between digits allowed; full-width digits read as digits),
    its parts checked: a province's code, a year of birth that has come."""
    digits = "".join(unicodedata.normalize("NFKC", text).split()).replace(".", "").replace("-", "")
    if not CCCD.fullmatch(digits) or not digits.isascii():
        raise IdentityRefused(CCCD_VI)
    if digits[:3] not in PROVINCE_CODES:
        raise IdentityRefused(PROVINCE_VI)
    cccd = Cccd(digits)
    if cccd.birth_year > today.year:
        raise IdentityRefused(BIRTH_VI)
    return cccd


def check_phone(text: str) -> str:
    """A Vietnamese mobile number as 10 digits starting with 0 (typed with spaces, dots, dashes or +84)."""
    digits = "".join(unicodedata.normalize("NFKC", text).split()).replace(".", "").replace("-", "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not digits.isascii() or not MOBILE.fullmatch(digits):
        raise IdentityRefused(PHONE_VI)
    return digits


def person_key(key: bytes, cccd: Cccd) -> str:
    """The keyed hash a booking keeps instead of the number: the same person, the same key, under one center's
    key; without the key, nothing to learn from it (a CCCD has too few unknown digits for a plain hash)."""
    return hmac.new(key, b"cccd:" + cccd.number.encode(), hashlib.sha256).hexdigest()
