"""The citizen web's pure parts: a ticket's token, and every waiting ticket's call played forward by hand."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from central_server.domain.estimate import Forecast, Queued, StaffedCounter, rough_call_times
from central_server.domain.policies import QueuePolicy
from central_server.domain.tokens import make_token, read_token

KEY = bytes(range(32))
DAY = date(2026, 12, 2)


def test_a_token_names_its_ticket_and_is_27_url_safe_characters() -> None:
    token = make_token(KEY, "rach-gia", DAY, 3)
    assert len(token) == 27 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    named = read_token(KEY, "rach-gia", token)
    assert named is not None and (named.day, named.seq, named.ticket_id) == (DAY, 3, "20261202-000003")
    raw = base64.urlsafe_b64decode(token + "=")
    assert raw[:8] == (20261202).to_bytes(4, "big") + (3).to_bytes(4, "big")


@given(st.binary(max_size=100), st.integers(min_value=1, max_value=999_999))
def test_a_tokens_mac_is_hmac_sha256_of_its_ticket_as_the_module_says(key: bytes, seq: int) -> None:
    raw = base64.urlsafe_b64decode(make_token(key, "rach-gia", DAY, seq) + "=")
    message = f"qms-ticket-v1|rach-gia|20261202-{seq:06d}".encode()
    assert raw[8:] == hmac.digest(key, message, "sha256")[:12]


def test_a_token_of_another_key_or_center_or_with_a_changed_byte_is_nobodys() -> None:
    token = make_token(KEY, "rach-gia", DAY, 3)
    assert read_token(bytes(32), "rach-gia", token) is None
    assert read_token(KEY, "ha-tien", token) is None
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[7] ^= 1  # the next ticket's seq with this ticket's MAC: a guess at a neighbour's token
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert read_token(KEY, "rach-gia", forged) is None


@given(st.text(max_size=40))
def test_no_text_but_a_made_token_reads(text: str) -> None:
    assert read_token(KEY, "rach-gia", text) is None or text == make_token(KEY, "rach-gia", DAY, 0)


def test_a_non_canonical_spelling_of_a_tokens_bytes_is_refused() -> None:
    token = make_token(KEY, "rach-gia", DAY, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    other = token[:-1] + alphabet[last | 1 if last % 4 == 0 else last & ~3]  # the same 160 bits, other padding bits
    assert other != token and base64.urlsafe_b64decode(other + "=") == base64.urlsafe_b64decode(token + "=")
    assert read_token(KEY, "rach-gia", other) is None


T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def at(seconds: int) -> tuple[datetime, int]:
    return (T0 + timedelta(seconds=seconds), seconds)


def test_every_waiting_ticket_is_called_when_the_hand_played_queue_says() -> None:
    """Counter A serves x; counter B serves x and y; both free now; x takes 100 s a citizen, y 200 s.
    Waiting, oldest first: x1, y1, x2 (priority), x3. By hand, priority first then the oldest of a counter's areas
    (a tie goes to the counter listed first): at 0 A calls x2 (priority), B calls x1; at 100 A calls x3 and B calls
    y1. So x2 and x1 are called at once, x3 and y1 after 100 s."""
    counters = [StaffedCounter("A", ("x",), 0.0), StaffedCounter("B", ("x", "y"), 0.0)]
    waiting = [Queued("x", False, at(1)), Queued("y", False, at(2)), Queued("x", True, at(3)),
               Queued("x", False, at(4))]
    times = Forecast(counters, waiting, {"x": 100.0, "y": 200.0}, QueuePolicy()).call_times()
    assert times == {("x", at(3)): 0.0, ("x", at(1)): 0.0, ("x", at(4)): 100.0, ("y", at(2)): 100.0}


def test_a_busy_counter_starts_when_its_citizen_is_done_and_an_area_nobody_serves_has_no_time() -> None:
    counters = [StaffedCounter("A", ("x",), 250.0)]
    waiting = [Queued("x", False, at(1)), Queued("x", False, at(2)), Queued("z", False, at(3))]
    times = Forecast(counters, waiting, {"x": 100.0, "z": 100.0}, QueuePolicy()).call_times()
    assert times == {("x", at(1)): 250.0, ("x", at(2)): 350.0}


def test_a_long_queue_shares_the_work_ahead_between_the_counters_of_the_area() -> None:
    """Two counters of x (one free in 50 s), one of them also y: the work before a ticket (priority first, then
    by issue) in the areas they serve, divided by the two, after the first is free."""
    counters = [StaffedCounter("A", ("x",), 50.0), StaffedCounter("B", ("x", "y"), 80.0)]
    waiting = [Queued("x", False, at(1)), Queued("y", False, at(2)), Queued("x", True, at(3)),
               Queued("x", False, at(4)), Queued("z", False, at(5))]
    times = rough_call_times(counters, waiting, {"x": 100.0, "y": 200.0, "z": 60.0})
    # order: x@3 (priority), x@1, y@2, x@4; work before each: 0, 100, 200, 400, shared by A and B from 50 s on;
    # y is B's alone: from 80 s on, after x@3 and x@1 (200 s of work B may have to do)
    assert times == {("x", at(3)): 50.0, ("x", at(1)): 100.0, ("x", at(4)): 250.0, ("y", at(2)): 80.0 + 200.0}
