"""Booking codes: 8 digits whose Damm check digit catches every typo and every swap of neighbours."""

from __future__ import annotations

import random
import secrets

from hypothesis import given
from hypothesis import strategies as st

from protocol.booking_code import CODE_DIGITS, check_digit, code_ok, grouped, new_code


def test_a_booking_code_is_eight_digits_whose_check_digit_holds() -> None:
    code = new_code(secrets.randbelow)
    assert len(code) == CODE_DIGITS and code.isdigit() and code_ok(code)
    assert new_code(lambda n: 0) == "00000000" and new_code(lambda n: 572) == "00005724"
    for wrong in ("1234567", "123456789", "1234567a", "１２３４５６７８", ""):
        assert not code_ok(wrong)
    assert grouped("12345678") == "1234 5678"


@given(st.integers(0, 10 ** (CODE_DIGITS - 1) - 1), st.integers(0, CODE_DIGITS - 1), st.integers(1, 9))
def test_every_mistyped_digit_is_caught(body: int, place: int, shift: int) -> None:
    code = new_code(lambda n: body)
    typo = code[:place] + str((int(code[place]) + shift) % 10) + code[place + 1:]
    assert code_ok(code) and not code_ok(typo)


@given(st.integers(0, 10 ** (CODE_DIGITS - 1) - 1), st.integers(0, CODE_DIGITS - 2))
def test_every_swap_of_two_neighbouring_digits_is_caught(body: int, place: int) -> None:
    code = new_code(lambda n: body)
    swapped = code[:place] + code[place + 1] + code[place] + code[place + 2:]
    assert swapped == code or not code_ok(swapped)


def test_check_digits_are_spread_evenly() -> None:
    drawn = [check_digit(f"{random.Random(n).randrange(10 ** 7):07d}") for n in range(5000)]
    assert all(350 < drawn.count(str(d)) < 650 for d in range(10))
