from __future__ import annotations

from staff_console.throttle import MAX_KEYS, PER_ADDRESS, PER_PERSON, PER_USERNAME, WINDOW_S, SignInThrottle


def test_a_person_mistyping_waits_until_the_oldest_try_leaves_the_window() -> None:
    throttle = SignInThrottle()
    for second in range(PER_PERSON):
        assert throttle.attempt("10.0.0.5", "hoa", second) == 0
    assert throttle.attempt("10.0.0.5", "hoa", PER_PERSON) == WINDOW_S - PER_PERSON
    assert throttle.attempt("10.0.0.6", "hoa", PER_PERSON) == 0, "a colleague cannot lock her out from elsewhere"
    assert throttle.attempt("10.0.0.5", "lan", PER_PERSON) == 0, "another person at the same PC"
    assert throttle.attempt("10.0.0.5", "hoa", WINDOW_S) == 0, "the first try left the window"


def test_tries_are_counted_before_their_password_is_looked_at() -> None:
    throttle = SignInThrottle()
    let_through = [throttle.attempt("10.0.0.5", "hoa", 0.0) == 0 for _ in range(3 * PER_PERSON)]
    assert let_through == [True] * PER_PERSON + [False] * (2 * PER_PERSON), "parallel tries count at once"


def test_an_address_guessing_many_usernames_and_a_username_guessed_from_many_addresses_are_stopped() -> None:
    throttle = SignInThrottle()
    for n in range(PER_ADDRESS):
        throttle.attempt("10.0.0.9", f"user{n}", float(n))
    assert throttle.attempt("10.0.0.9", "someone-new", PER_ADDRESS) > 0
    assert throttle.attempt("10.0.0.10", "someone-new", PER_ADDRESS) == 0
    for n in range(PER_USERNAME):
        throttle.attempt(f"10.2.{n // 256}.{n % 256}", "lan", 100.0)
    assert throttle.attempt("10.3.0.1", "lan", 101.0) > 0


def test_good_sign_ins_take_their_tries_back_so_a_center_behind_one_address_signs_in() -> None:
    throttle = SignInThrottle()
    for n in range(3 * PER_ADDRESS):
        tried_at = float(n)
        assert throttle.attempt("10.0.0.1", f"official{n}", tried_at) == 0, n
        throttle.succeeded("10.0.0.1", f"official{n}", tried_at)


def test_memory_is_bounded_by_forgetting_the_least_recent() -> None:
    throttle = SignInThrottle()
    for n in range(MAX_KEYS):
        throttle.attempt(f"10.1.{n // 256}.{n % 256}", "hoa", 0.0)
    assert len(throttle._tries) <= MAX_KEYS
