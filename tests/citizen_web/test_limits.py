"""What one client, and all together, may ask of the citizen web (citizen_web/limits.py)."""

from __future__ import annotations

from citizen_web import limits
from citizen_web.limits import ClientLimits


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


def test_guessers_spread_over_many_addresses_stop_new_look_ups_for_a_while() -> None:
    table = ClientLimits()
    for n in range(limits.MAX_WRONG - 1):
        table.failed(f"10.0.{n >> 8}.{n & 255}", 0.0)
    assert table.server_may_be_asked(1.0), "honest look-ups are never counted, only wrong tokens"
    table.failed("10.9.9.9", 1.0)
    assert not table.server_may_be_asked(2.0)
    assert table.may_look_up("10.9.9.8", 2.0), "each of them alone is within its own bound"
    assert table.server_may_be_asked(limits.WRONG_WINDOW_S + 1.5)


def test_streams_per_client_are_bounded_and_given_back() -> None:
    table = ClientLimits()
    assert all(table.open_stream("1.2.3.4", 0.0) for _ in range(limits.STREAMS_PER_CLIENT))
    assert not table.open_stream("1.2.3.4", 0.0)
    table.close_stream("1.2.3.4")
    assert table.open_stream("1.2.3.4", 0.0)


def test_the_table_of_clients_is_bounded(monkeypatch: object) -> None:
    table = ClientLimits()
    for n in range(limits.MAX_CLIENTS + 10):
        table.request(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", 0.0)
    assert table.clients == limits.MAX_CLIENTS
