from __future__ import annotations

from staff_console.throttle import MAX_KEYS, PER_ADDRESS, PER_USERNAME, WINDOW_S, SignInThrottle


def test_a_username_is_locked_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    throttle = SignInThrottle()
    for second in range(PER_USERNAME):
        assert throttle.wait_s("10.0.0.5", "hoa", second) == 0
        throttle.failed("10.0.0.5", "hoa", second)
    assert throttle.wait_s("10.0.0.6", "hoa", PER_USERNAME) == WINDOW_S - PER_USERNAME, "from any address"
    assert throttle.wait_s("10.0.0.6", "lan", PER_USERNAME) == 0, "another username from another address"
    assert throttle.wait_s("10.0.0.6", "hoa", WINDOW_S) == 0, "the first failure left the window"


def test_an_address_guessing_many_usernames_is_locked() -> None:
    throttle = SignInThrottle()
    for n in range(PER_ADDRESS):
        throttle.failed("10.0.0.9", f"user{n}", float(n))
    assert throttle.wait_s("10.0.0.9", "someone-new", PER_ADDRESS) > 0
    assert throttle.wait_s("10.0.0.10", "someone-new", PER_ADDRESS) == 0


def test_a_good_sign_in_clears_its_failures() -> None:
    throttle = SignInThrottle()
    for second in range(PER_USERNAME - 1):
        throttle.failed("10.0.0.5", "hoa", second)
    throttle.succeeded("10.0.0.5", "hoa")
    throttle.failed("10.0.0.5", "hoa", 10)
    assert throttle.wait_s("10.0.0.5", "hoa", 11) == 0


def test_memory_is_bounded_by_forgetting_the_least_recent() -> None:
    throttle = SignInThrottle()
    for n in range(MAX_KEYS):
        throttle.failed(f"10.1.{n // 256}.{n % 256}", "hoa", 0.0)
    assert len(throttle._failures) <= MAX_KEYS
