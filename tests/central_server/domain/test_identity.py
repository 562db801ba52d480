"""Who books (issue 18): CCCD and phone numbers checked, and the CCCD kept only as a keyed hash."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central_server.domain.identity import (
    BIRTH_VI,
    CCCD_VI,
    PHONE_VI,
    PROVINCE_CODES,
    PROVINCE_VI,
    IdentityRefused,
    check_cccd,
    check_phone,
    person_key,
)

TODAY = date(2026, 12, 2)


def test_a_cccd_number_is_read_as_typed_and_its_parts_checked() -> None:
    assert check_cccd("091 085 012 345", TODAY).number == "091085012345"  # Kiên Giang, a man born in 1985
    assert check_cccd("091.085.012.345", TODAY).birth_year == 1985
    assert check_cccd("０９１３０５０１２３４５", TODAY).birth_year == 2005  # full-width digits of a phone's keyboard
    assert check_cccd("001200000001", TODAY).birth_year == 2000


@pytest.mark.parametrize(("typed", "message"), [
    ("09108501234", CCCD_VI), ("0910850123456", CCCD_VI), ("09108501234x", CCCD_VI), ("", CCCD_VI),
    ("٠٩١٠٨٥٠١٢٣٤٥", CCCD_VI),  # digits of another script
    ("003085012345", PROVINCE_VI), ("099085012345", PROVINCE_VI), ("000085012345", PROVINCE_VI),
    ("091299012345", BIRTH_VI),  # 2099: not born yet
])
def test_a_mistyped_cccd_number_is_refused_in_vietnamese(typed: str, message: str) -> None:
    with pytest.raises(IdentityRefused) as refused:
        check_cccd(typed, TODAY)
    assert refused.value.message == message


def test_there_are_63_province_codes() -> None:
    assert len(PROVINCE_CODES) == 63 and {"001", "079", "091", "096"} <= PROVINCE_CODES


@pytest.mark.parametrize(("typed", "kept"), [
    ("0912 345 678", "0912345678"), ("+84 912 345 678", "0912345678"), ("84912345678", "0912345678"),
    ("0389.123.456", "0389123456"), ("07-0123-4567", "0701234567"),
])
def test_a_mobile_number_is_read_as_typed(typed: str, kept: str) -> None:
    assert check_phone(typed) == kept


@pytest.mark.parametrize("typed", ["0212345678", "091234567", "09123456789", "+1 912 345 678", "số của tôi", ""])
def test_a_number_that_is_no_vietnamese_mobile_is_refused(typed: str) -> None:
    with pytest.raises(IdentityRefused) as refused:
        check_phone(typed)
    assert refused.value.message == PHONE_VI


@given(st.sampled_from(sorted(PROVINCE_CODES)), st.integers(0, 3), st.integers(0, 26), st.integers(0, 999_999))
def test_the_keyed_hash_is_one_persons_under_one_key_and_hides_the_number(province: str, century: int, year: int,
                                                                           serial: int) -> None:
    cccd = check_cccd(f"{province}{century}{year:02d}{serial:06d}", TODAY)
    center, other = b"k" * 32, b"o" * 32
    kept = person_key(center, cccd)
    assert kept == person_key(center, check_cccd(" ".join(cccd.number), TODAY)), "the same person, however typed"
    assert kept != person_key(other, cccd), "another center's key, another value"
    assert cccd.number not in kept and len(kept) == 64
