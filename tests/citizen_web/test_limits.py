"""What one client, and all together, may ask of the citizen web (citizen_web/limits.py)."""

from __future__ import annotations

from citizen_web import limits
from citizen_web.limits import ClientLimits, client_of


def test_a_client_gets_its_burst_then_its_rate() -> None:
    table = ClientLimits()
    allowed = [table.request("1.2.3.4", 0.0) for _ in range(limits.BURST + 5)]
    assert allowed.count(True) == limits.BURST
    assert table.request("5.6.7.8", 0.0), "another client is not held back"
    assert table.request("1.2.3.4", 1.0 / limits.RATE_PER_S)


def test_a_guesser_is_stopped_after_its_failures_until_they_age_out() -> None:
    table = ClientLimits()
    for n in range(limits.MAX_FAILURES):
        assert table.may_look_up("1.2.3.4", float(n))
        table.failed("1.2.3.4", float(n))
    assert not table.may_look_up("1.2.3.4", 20.0)
    assert table.may_look_up("5.6.7.8", 20.0)
    assert table.may_look_up("1.2.3.4", limits.FAILURE_WINDOW_S + 1.0)


def test_an_ipv6_client_is_its_64() -> None:
    assert client_of("2001:db8:1:2:aaaa::1") == client_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_of("2001:db8:1:3::1") != client_of("2001:db8:1:2::1")
    assert client_of("203.0.113.5") == "203.0.113.5"


def test_streams_per_client_are_bounded_and_given_back() -> None:
    table = ClientLimits()
    assert all(table.open_stream("1.2.3.4", 0.0) for _ in range(limits.STREAMS_PER_CLIENT))
    assert not table.open_stream("1.2.3.4", 0.0)
    table.close_stream("1.2.3.4")
    assert table.open_stream("1.2.3.4", 0.0)


def test_the_table_of_clients_is_bounded() -> None:
    table = ClientLimits()
    for n in range(limits.MAX_CLIENTS + 10):
        table.request(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", 0.0)
    assert table.clients == limits.MAX_CLIENTS
