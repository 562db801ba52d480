"""A booking's code (issue 18): 8 digits typed on the kiosk's keypad or read from the booking's QR code.

7 digits drawn at random and a Damm check digit, which catches every single mistyped digit and every swap of two
neighbouring ones: the kiosk says so before anything is asked of the server.
"""

from __future__ import annotations

from collections.abc import Callable

CODE_DIGITS = 8
# Damm's quasigroup of order 10 (totally anti-symmetric, zero diagonal).
DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3), (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6), (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7), (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


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


def grouped(code: str) -> str:
    """As printed and shown: "1234 5678"."""
    return f"{code[:4]} {code[4:]}"
