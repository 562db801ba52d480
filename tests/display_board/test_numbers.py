"""The Vietnamese number reader: a table of hand-checked readings, then the rules over 0-9999."""

from __future__ import annotations

import unicodedata
from itertools import pairwise

import pytest

from display_board.numbers import (
    LETTER_NAMES,
    PHRASE_WORDS,
    Reading,
    announcement,
    clip_vocabulary,
    full_clip_vocabulary,
    read_number,
    read_ticket,
)

LE = Reading(linh="lẻ")
BON = Reading(four="bốn")
NGAN = Reading(thousand="ngàn")
SOUTH = Reading(linh="lẻ", four="bốn", thousand="ngàn")
DIGITS = Reading(digit_by_digit=True)

# Hand-checked: each line read aloud by a Vietnamese speaker's rules, not computed.
DEFAULT_TABLE: list[tuple[int, str]] = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (9, "chín"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (19, "mười chín"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (30, "ba mươi"),
    (31, "ba mươi mốt"),
    (44, "bốn mươi tư"),
    (45, "bốn mươi lăm"),
    (55, "năm mươi lăm"),
    (71, "bảy mươi mốt"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (120, "một trăm hai mươi"),
    (121, "một trăm hai mươi mốt"),
    (124, "một trăm hai mươi tư"),
    (125, "một trăm hai mươi lăm"),
    (200, "hai trăm"),
    (204, "hai trăm linh bốn"),
    (305, "ba trăm linh năm"),
    (515, "năm trăm mười lăm"),
    (555, "năm trăm năm mươi lăm"),
    (999, "chín trăm chín mươi chín"),
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1004, "một nghìn không trăm linh bốn"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1011, "một nghìn không trăm mười một"),
    (1014, "một nghìn không trăm mười bốn"),
    (1015, "một nghìn không trăm mười lăm"),
    (1020, "một nghìn không trăm hai mươi"),
    (1021, "một nghìn không trăm hai mươi mốt"),
    (1024, "một nghìn không trăm hai mươi tư"),
    (1050, "một nghìn không trăm năm mươi"),
    (1100, "một nghìn một trăm"),
    (1105, "một nghìn một trăm linh năm"),
    (1115, "một nghìn một trăm mười lăm"),
    (2000, "hai nghìn"),
    (2021, "hai nghìn không trăm hai mươi mốt"),
    (2024, "hai nghìn không trăm hai mươi tư"),
    (3005, "ba nghìn không trăm linh năm"),
    (4444, "bốn nghìn bốn trăm bốn mươi tư"),
    (5555, "năm nghìn năm trăm năm mươi lăm"),
    (7000, "bảy nghìn"),
    (8001, "tám nghìn không trăm linh một"),
    (9999, "chín nghìn chín trăm chín mươi chín"),
]

VARIANT_TABLE: list[tuple[Reading, int, str]] = [
    (LE, 101, "một trăm lẻ một"),
    (LE, 105, "một trăm lẻ năm"),
    (LE, 1005, "một nghìn không trăm lẻ năm"),
    (LE, 1015, "một nghìn không trăm mười lăm"),
    (LE, 110, "một trăm mười"),
    (BON, 24, "hai mươi bốn"),
    (BON, 44, "bốn mươi bốn"),
    (BON, 1024, "một nghìn không trăm hai mươi bốn"),
    (BON, 14, "mười bốn"),
    (BON, 104, "một trăm linh bốn"),
    (NGAN, 1000, "một ngàn"),
    (NGAN, 1005, "một ngàn không trăm linh năm"),
    (NGAN, 2021, "hai ngàn không trăm hai mươi mốt"),
    (SOUTH, 1004, "một ngàn không trăm lẻ bốn"),
    (SOUTH, 2024, "hai ngàn không trăm hai mươi bốn"),
    (SOUTH, 9999, "chín ngàn chín trăm chín mươi chín"),
    (DIGITS, 1005, "một không không năm"),
    (DIGITS, 21, "hai một"),
    (DIGITS, 0, "không"),
    (DIGITS, 2024, "hai không hai bốn"),
]


def test_table_is_nfc_and_large() -> None:
    assert len(DEFAULT_TABLE) + len(VARIANT_TABLE) >= 60
    for _, text in DEFAULT_TABLE:
        assert unicodedata.is_normalized("NFC", text)
    for _, _, text in VARIANT_TABLE:
        assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(("n", "expected"), DEFAULT_TABLE)
def test_hand_checked_reading(n: int, expected: str) -> None:
    assert read_number(n) == expected.split()


@pytest.mark.parametrize(("reading", "n", "expected"), VARIANT_TABLE)
def test_hand_checked_regional_reading(reading: Reading, n: int, expected: str) -> None:
    assert read_number(n, reading) == expected.split()


def test_returns_one_token_per_word() -> None:
    assert read_number(1005) == ["một", "nghìn", "không", "trăm", "linh", "năm"]


@pytest.mark.parametrize("n", [-1, 10000, 123456])
def test_out_of_range(n: int) -> None:
    with pytest.raises(ValueError):
        read_number(n)


def test_not_an_int() -> None:
    with pytest.raises(TypeError):
        read_number(True)
    with pytest.raises(TypeError):
        read_number("12")  # type: ignore[arg-type]


def test_bad_reading_choices() -> None:
    with pytest.raises(ValueError):
        Reading(linh="lẽ")
    with pytest.raises(ValueError):
        Reading(four="4")
    with pytest.raises(ValueError):
        Reading(thousand="ngìn")
    # Config files may carry decomposed text: it is accepted and kept as NFC.
    assert Reading(linh=unicodedata.normalize("NFD", "lẻ")).linh == "lẻ"
    assert Reading(four=unicodedata.normalize("NFD", "bốn")) == BON


# ---- the rules over the full range -------------------------------------------------------------

ALL_READINGS = [Reading(), LE, BON, NGAN, SOUTH]
UNIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _words(n: int, reading: Reading) -> list[str]:
    return read_number(n, reading)


def _count_pairs(words: list[str], first: str, second: str) -> int:
    return sum(1 for a, b in pairwise(words) if (a, b) == (first, second))


@pytest.mark.parametrize("reading", ALL_READINGS, ids=lambda r: f"{r.linh}-{r.four}-{r.thousand}")
def test_rules_over_full_range(reading: Reading) -> None:
    vocabulary = clip_vocabulary(reading)
    seen: dict[tuple[str, ...], int] = {}
    for n in range(10000):
        words = _words(n, reading)
        thousands, hundreds, tens, unit = n // 1000, n // 100 % 10, n // 10 % 10, n % 10
        has_tens_word = "mười" in words or "mươi" in words
        where = f"{n}: {' '.join(words)}"

        assert words, where
        assert all(unicodedata.is_normalized("NFC", w) and " " not in w for w in words), where
        assert set(words) <= vocabulary, where

        # "mốt" only as a unit 1 after "mươi" (tens ≥ 2), and then always.
        assert ("mốt" in words) == (tens >= 2 and unit == 1), where
        if "mốt" in words:
            assert words[-2:] == ["mươi", "mốt"], where
        # "lăm" exactly when the unit is 5 after a tens word; it is then the last word.
        assert ("lăm" in words) == (unit == 5 and tens >= 1), where
        assert ("lăm" in words) == (unit == 5 and has_tens_word), where
        if "lăm" in words:
            assert words[-1] == "lăm" and words.count("lăm") == 1, where
        # "linh"/"lẻ" exactly for a zero tens digit before a unit, after a hundreds part.
        assert (reading.linh in words) == (tens == 0 and unit != 0 and n >= 100), where
        if reading.linh in words:
            assert words[-2] == reading.linh and words[-3] == "trăm", where
            assert words[-1] == UNIT_WORDS[unit], where
        # "không trăm" exactly with thousands, a zero hundreds digit and something after it.
        assert (_count_pairs(words, "không", "trăm") == 1) == (n >= 1000 and hundreds == 0 and n % 100 != 0), where
        assert _count_pairs(words, "không", "trăm") <= 1, where
        # "mười" exactly for a tens digit 1, "mươi" exactly for tens ≥ 2.
        assert ("mười" in words) == (tens == 1), where
        assert ("mươi" in words) == (tens >= 2), where
        assert words.count("mười") + words.count("mươi") <= 1, where
        # "tư" only right after "mươi" (and only in the "tư" reading).
        for i, w in enumerate(words):
            if w == "tư":
                assert i > 0 and words[i - 1] == "mươi" and reading.four == "tư", where
        if tens >= 2 and unit == 4:
            assert words[-2:] == ["mươi", reading.four], where
        # "một" after "mười" (11), never "mốt"; "bốn" after "mười" (14), never "tư".
        if tens == 1 and unit in (1, 4):
            assert words[-1] == ("một" if unit == 1 else "bốn"), where
        # The thousands and hundreds words are where they belong.
        assert (reading.thousand in words) == (thousands > 0), where
        assert ("trăm" in words) == (hundreds > 0 or (thousands > 0 and n % 1000 != 0)), where
        # "không" is a word only for 0 itself or as "không trăm".
        if "không" in words:
            assert n == 0 or _count_pairs(words, "không", "trăm") == 1, where
        # Unambiguous: no two numbers read the same.
        key = tuple(words)
        assert key not in seen, f"{where} reads like {seen.get(key)}"
        seen[key] = n
    assert len(seen) == 10000


def test_vocabulary_is_exactly_what_is_used() -> None:
    for reading in ALL_READINGS:
        used: set[str] = set()
        for n in range(10000):
            used.update(read_number(n, reading))
        assert clip_vocabulary(reading) == used | set(LETTER_NAMES.values()) | PHRASE_WORDS


def test_vocabulary_is_nfc_and_one_token_per_clip() -> None:
    vocabulary = full_clip_vocabulary()
    for word in vocabulary:
        assert unicodedata.is_normalized("NFC", word)
        assert word and " " not in word and "/" not in word
    assert {"linh", "lẻ", "tư", "bốn", "nghìn", "ngàn", "mốt", "lăm", "mười", "mươi", "trăm"} <= vocabulary
    assert clip_vocabulary(DIGITS) == clip_vocabulary()
    assert "lẻ" not in clip_vocabulary() and "tư" not in clip_vocabulary(BON)


def test_digit_by_digit_over_full_range() -> None:
    for n in range(10000):
        words = read_number(n, DIGITS)
        assert len(words) == len(str(n))
        assert "mười" not in words and "trăm" not in words and "lăm" not in words


# ---- tickets and announcements -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("B012", "bê mười hai"),
        ("1005", "một nghìn không trăm linh năm"),
        ("AB07", "a bê bảy"),
        ("A001", "a một"),
        ("B000", "bê không"),
        ("C105", "xê một trăm linh năm"),
        ("D021", "dê hai mươi mốt"),
        ("Đ15", "đê mười lăm"),
        ("L3", "e-lờ ba"),
        ("S24", "ét-xì hai mươi tư"),
        ("X9", "ích-xì chín"),
        ("W1", "vê-kép một"),
        ("b012", "bê mười hai"),
        ("B-012", "bê mười hai"),
        (" B 012 ", "bê mười hai"),
        ("3", "ba"),
        ("12", "mười hai"),
        ("0", "không"),
        ("A1B2", "a một bê hai"),
        ("123456", "một hai ba bốn năm sáu"),
    ],
)
def test_read_ticket(shown: str, expected: str) -> None:
    assert read_ticket(shown) == expected.split()


def test_read_ticket_regional_and_digit_by_digit() -> None:
    assert read_ticket("B012", DIGITS) == ["bê", "không", "một", "hai"]
    assert read_ticket("1005", DIGITS) == ["một", "không", "không", "năm"]
    assert read_ticket("A105", LE) == ["a", "một", "trăm", "lẻ", "năm"]
    assert " ".join(read_ticket("1024", SOUTH)) == "một ngàn không trăm hai mươi bốn"


def test_every_letter_has_a_one_token_name() -> None:
    for letter in "ABCDĐEFGHIJKLMNOPQRSTUVWXYZ":
        tokens = read_ticket(letter)
        assert len(tokens) == 1 and tokens[0] in clip_vocabulary()


@pytest.mark.parametrize("shown", ["", "  ", "-", "B#12", "B012!", "Ñ1"])
def test_read_ticket_rejects(shown: str) -> None:
    with pytest.raises(ValueError):
        read_ticket(shown)


def test_announcement() -> None:
    assert " ".join(announcement("1005", "3")) == "mời công dân có số một nghìn không trăm linh năm đến quầy số ba"
    assert " ".join(announcement("B012", "12")) == "mời công dân có số bê mười hai đến quầy số mười hai"


def test_announcement_reads_the_counter_as_a_number() -> None:
    words = announcement("B012", "12", DIGITS)
    assert " ".join(words) == "mời công dân có số bê không một hai đến quầy số mười hai"
    assert set(words) <= clip_vocabulary(DIGITS)
    assert " ".join(announcement("A105", "4", SOUTH)) == "mời công dân có số a một trăm lẻ năm đến quầy số bốn"


def test_announcement_tokens_are_in_the_vocabulary() -> None:
    for reading in [*ALL_READINGS, DIGITS]:
        vocabulary = clip_vocabulary(reading)
        for shown in ("A0001", "B012", "Đ999", "XY2024", "1015", "9999"):
            for counter in ("1", "5", "21", "104"):
                words = announcement(shown, counter, reading)
                assert set(words) <= vocabulary
                assert all(unicodedata.is_normalized("NFC", w) for w in words)
