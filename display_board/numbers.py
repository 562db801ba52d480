"""Vietnamese readings of ticket numbers and counter numbers, as lists of word clips.

The voice plays one pre-recorded clip per token, so every function here returns a list of
tokens, one per spoken word, and :func:`clip_vocabulary` lists every token an announcement can
use (the installer generates one clip file per token).

Numbers 0-9999 are read by the standard rules (written here, not taken from a library: see the
"Vietnamese numbers" pitfall in DESIGN.md):

- units: không một hai ba bốn năm sáu bảy tám chín;
- tens: 10 is "mười", 20-90 "hai mươi" … "chín mươi";
- a unit 1 after "mươi" (tens ≥ 2) is "mốt" (21 "hai mươi mốt"), but "một" after "mười" (11);
- a unit 5 after "mười"/"mươi" is "lăm" (15 "mười lăm", 25 "hai mươi lăm");
- a unit 4 after "mươi" is "tư" (24 "hai mươi tư") or "bốn" by region, always "bốn" after
  "mười" (14) and after "linh"/"lẻ" (104 "một trăm linh bốn");
- a zero tens digit before a non-zero unit, once there is a hundreds part, is "linh" or "lẻ"
  by region (105 "một trăm linh năm"); after it 1 is "một" and 5 is "năm";
- with thousands, a zero hundreds digit is read "không trăm" unless the last two digits are 00
  too (1005 "một nghìn không trăm linh năm", 1050 "một nghìn không trăm năm mươi", but 2000
  "hai nghìn" and 1100 "một nghìn một trăm");
- "nghìn" (northern, standard) or "ngàn" (southern).

Many centers read the digits one by one instead ("1005" → "một không không năm"):
``Reading(digit_by_digit=True)``.

Letter names (B "bê", L "e-lờ", S "ét-xì", W "vê-kép" …) are single clip tokens, hyphenated
where the name is two syllables, so the clip set has exactly one file per token and a center's
own recordings can replace them one for one. All strings are NFC.
"""

from __future__ import annotations

from dataclasses import dataclass

from ui.text import nfc

__all__ = [
    "LETTER_NAMES",
    "PHRASE_WORDS",
    "Reading",
    "announcement",
    "clip_vocabulary",
    "full_clip_vocabulary",
    "read_number",
    "read_ticket",
]

DIGITS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

LINH_CHOICES = ("linh", "lẻ")
FOUR_CHOICES = ("tư", "bốn")
THOUSAND_CHOICES = ("nghìn", "ngàn")

#: Vietnamese names of the letters a ticket prefix may use, each one clip token.
LETTER_NAMES: dict[str, str] = {
    "A": "a",
    "Ă": "á",
    "Â": "ớ",
    "B": "bê",
    "C": "xê",
    "D": "dê",
    "Đ": "đê",
    "E": "e",
    "Ê": "ê",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e-lờ",
    "M": "em-mờ",
    "N": "en-nờ",
    "O": "o",
    "Ô": "ô",
    "Ơ": "ơ",
    "P": "pê",
    "Q": "quy",
    "R": "e-rờ",
    "S": "ét-xì",
    "T": "tê",
    "U": "u",
    "Ư": "ư",
    "V": "vê",
    "W": "vê-kép",
    "X": "ích-xì",
    "Y": "i-dài",
    "Z": "dét",
}

#: The words of "Mời công dân có số … đến quầy số …".
CALL_PREFIX: tuple[str, ...] = ("mời", "công", "dân", "có", "số")
COUNTER_PREFIX: tuple[str, ...] = ("đến", "quầy", "số")
PHRASE_WORDS: frozenset[str] = frozenset(CALL_PREFIX + COUNTER_PREFIX)

#: Characters of a shown number that are not spoken (a display may write "B-012" or "B 012").
SILENT_SEPARATORS = frozenset(" -._/")

MAX_NUMBER = 9999


@dataclass(frozen=True)
class Reading:
    """The regional choices of the voice, from the board's config.

    ``linh``: the word for a zero tens digit before a unit, "linh" (north) or "lẻ" (south).
    ``four``: the unit 4 after "mươi" (tens ≥ 2), "tư" or "bốn".
    ``thousand``: "nghìn" (north, standard) or "ngàn" (south).
    ``digit_by_digit``: read a ticket's digits one by one ("1005" → "một không không năm").
    """

    linh: str = "linh"
    four: str = "tư"
    digit_by_digit: bool = False
    thousand: str = "nghìn"

    def __post_init__(self) -> None:
        # Config files may carry decomposed (NFD) text: compare and keep the NFC form.
        for name, choices in (("linh", LINH_CHOICES), ("four", FOUR_CHOICES), ("thousand", THOUSAND_CHOICES)):
            value = getattr(self, name)
            if not isinstance(value, str) or nfc(value) not in choices:
                raise ValueError(f"Reading.{name} must be one of {choices}, not {value!r}")
            object.__setattr__(self, name, nfc(value))
        if not isinstance(self.digit_by_digit, bool):
            raise ValueError(f"Reading.digit_by_digit must be a bool, not {self.digit_by_digit!r}")


DEFAULT_READING = Reading()


def _check_number(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"not an integer: {n!r}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"can only read 0-{MAX_NUMBER}, not {n}")


def _read_below_hundred(n: int, reading: Reading, after_hundreds: bool) -> list[str]:
    """0-99. ``after_hundreds``: there is a hundreds part before (so 0 is silent, 5 is "linh năm")."""
    tens, unit = divmod(n, 10)
    if tens == 0:
        if unit == 0:
            return [] if after_hundreds else [DIGITS[0]]
        return [reading.linh, DIGITS[unit]] if after_hundreds else [DIGITS[unit]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if unit == 0:
        return words
    if unit == 5:
        words.append("lăm")
    elif unit == 1 and tens >= 2:
        words.append("mốt")
    elif unit == 4 and tens >= 2:
        words.append(reading.four)
    else:
        words.append(DIGITS[unit])
    return words


def read_number(n: int, reading: Reading = DEFAULT_READING) -> list[str]:
    """The Vietnamese words for ``n`` (0-9999), one token per word.

    >>> read_number(1005)
    ['một', 'nghìn', 'không', 'trăm', 'linh', 'năm']
    >>> read_number(1005, Reading(digit_by_digit=True))
    ['một', 'không', 'không', 'năm']
    """
    _check_number(n)
    if reading.digit_by_digit:
        return [DIGITS[int(c)] for c in str(n)]
    thousands, rest = divmod(n, 1000)
    hundreds, last_two = divmod(rest, 100)
    words: list[str] = []
    if thousands:
        words += [DIGITS[thousands], reading.thousand]
        if rest == 0:
            return words
    if hundreds or thousands:
        # With thousands, a zero hundreds digit is still read: "một nghìn không trăm …".
        words += [DIGITS[hundreds], "trăm"]
    return words + _read_below_hundred(last_two, reading, after_hundreds=bool(thousands or hundreds))


def _read_digits(digits: str, reading: Reading) -> list[str]:
    if reading.digit_by_digit or int(digits) > MAX_NUMBER:
        # Too long to read as a number (no such ticket should exist): read it digit by digit.
        return [DIGITS[int(c)] for c in digits]
    return read_number(int(digits), reading)


def read_ticket(shown: str, reading: Reading = DEFAULT_READING) -> list[str]:
    """The tokens for a number as shown on the board: "B012", "1005", "AB07", a counter's "3".

    Letters are read by their Vietnamese names (one token each, see :data:`LETTER_NAMES`),
    case-insensitively. Each run of digits is read as a number with the leading zeros dropped
    ("B012" → bê mười hai; "B000" → bê không), or digit by digit, leading zeros included, with
    ``reading.digit_by_digit`` ("B012" → bê không một hai). A run of digits above 9999 is read
    digit by digit whatever the reading. Spaces, "-", ".", "_" and "/" are silent; any other
    character, or nothing to read, is a ValueError.
    """
    text = nfc(shown).strip()
    tokens: list[str] = []
    digits = ""
    for char in text:
        if char in "0123456789":
            digits += char
            continue
        if digits:
            tokens += _read_digits(digits, reading)
            digits = ""
        if char in SILENT_SEPARATORS:
            continue
        name = LETTER_NAMES.get(char.upper())
        if name is None:
            raise ValueError(f"cannot read {char!r} in {shown!r}")
        tokens.append(name)
    if digits:
        tokens += _read_digits(digits, reading)
    if not tokens:
        raise ValueError(f"nothing to read in {shown!r}")
    return tokens


def announcement(shown: str, counter_number: str, reading: Reading = DEFAULT_READING) -> list[str]:
    """The call "Mời công dân có số <ticket> đến quầy số <counter>" as clip tokens.

    The counter is always read as a number (quầy số mười hai, not một hai), with the reading's
    regional words; only the ticket follows ``reading.digit_by_digit``.
    """
    counter_reading = Reading(linh=reading.linh, four=reading.four, thousand=reading.thousand)
    return [
        *CALL_PREFIX,
        *read_ticket(shown, reading),
        *COUNTER_PREFIX,
        *read_ticket(counter_number, counter_reading),
    ]


def clip_vocabulary(reading: Reading = DEFAULT_READING) -> set[str]:
    """Every token an announcement made with ``reading`` can use, and no other.

    The number words of that reading (the counter is always read as a number, so they are needed
    even when tickets are read digit by digit), the digits, the letter names and the phrase words.
    """
    return {
        "mười",
        "mươi",
        "mốt",
        "lăm",
        "trăm",
        reading.linh,
        reading.four,
        reading.thousand,
        *DIGITS,
        *LETTER_NAMES.values(),
        *PHRASE_WORDS,
    }


def full_clip_vocabulary() -> set[str]:
    """The tokens of every regional reading: a clip set that works whatever the config says."""
    words: set[str] = set()
    for linh in LINH_CHOICES:
        for four in FOUR_CHOICES:
            for thousand in THOUSAND_CHOICES:
                words |= clip_vocabulary(Reading(linh=linh, four=four, thousand=thousand))
    return words
