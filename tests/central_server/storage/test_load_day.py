"""A day read back from SQLite equals the day the center made, field by field, offsets included; and the
objects that repeat are shared (a busy day's memory depends on it)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from central_server.config import load
from central_server.domain.center import Center, Changes
from central_server.domain.tickets import Ticket, TicketState
from central_server.storage.port import Batch
from central_server.storage.rows import NULLABLE_TICKET_COLUMNS
from central_server.storage.sqlite import SqliteStorage
from devkit.local_broker import LocalBroker
from tests.harness import sqlite_file, write_center_config

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_loaded_day_equals_the_stored_one_field_by_field(tmp_path: Path) -> None:
    config = load(write_center_config(tmp_path, LocalBroker(tmp_path), "load"))
    storage = SqliteStorage(sqlite_file(config))
    now = datetime(2026, 11, 23, 8, 0, tzinfo=HCM)
    center = Center(config.rules, now)
    for i in range(30):  # three tickets a moment, as a batch issues them
        moment = now + timedelta(seconds=i // 3)
        center.issue("dat-dai" if i % 2 else "tu-phap", "elderly" if i % 7 == 0 else "none", moment, f"k{i % 4}")
    later = now + timedelta(minutes=5)
    center.issue("dat-dai", "none", later.astimezone(UTC), "k9")  # the same instant in another offset
    center.issue("tu-phap", "none", later, "k9")
    for step in range(12):
        moment = later + timedelta(seconds=step)
        center.next("1", moment)
        center.next("2", moment)
        if step == 3:
            center.start("2", moment)
        if step == 5:
            center.skip("1", moment)
        if step == 7:
            center.transfer("2", "dat-dai", moment)
    storage.commit(Batch(center.take_changes()))

    loaded = storage.load_day(center.day, config.rules.counters, config.rules.policy.regular_per_priority)
    made = sorted(center.tickets.values(), key=lambda t: t.seq)
    assert [t.id for t in loaded.tickets] == [t.id for t in made]
    assert {t.state for t in made} >= {TicketState.SERVED, TicketState.MISSED, TicketState.TRANSFERRED,
                                       TicketState.CALLED, TicketState.WAITING}
    for read, kept in zip(loaded.tickets, made, strict=True):
        assert read == kept
        for field in fields(Ticket):
            value, expected = getattr(read, field.name), getattr(kept, field.name)
            assert type(value) is type(expected), field.name
            if isinstance(value, datetime):  # == holds across offsets: each must read back with its own
                assert value.isoformat() == expected.isoformat(), field.name
    storage.close()

    first, second = loaded.tickets[0], loaded.tickets[1]
    assert first.issued_at is second.issued_at  # one moment, one object
    assert first.kiosk_id is not None and first.kiosk_id is loaded.tickets[4].kiosk_id  # "k0"
    assert first.place is first.seq
    in_utc, in_hcm = loaded.tickets[30], loaded.tickets[31]
    assert in_utc.issued_at == in_hcm.issued_at and in_utc.issued_at is not in_hcm.issued_at
    assert in_utc.issued_at.utcoffset() == timedelta(0) and in_hcm.issued_at.utcoffset() == timedelta(hours=7)


def test_an_empty_column_reads_back_empty_and_a_text_0_reads_back_0(tmp_path: Path) -> None:
    """SQLite's statement binds an empty column as the integer 0 and stores NULL for it: a text "0" (a counter may be
    called "0") must stay "0", and every empty column must stay empty."""
    config = load(write_center_config(tmp_path, LocalBroker(tmp_path), "zero"))
    storage = SqliteStorage(sqlite_file(config))
    now = datetime(2026, 11, 23, 8, 0, tzinfo=HCM)
    center = Center(config.rules, now)
    empty = center.issue("dat-dai", "none", now, None).ticket
    zeros = replace(center.issue("dat-dai", "none", now, "0").ticket, counter_id="0", transferred_from="0",
                    transferred_to="0", rating="0", booking="0", id_tail="0", called_at=now, rating_until=now)
    texts = {"kiosk_id", "counter_id", "transferred_from", "transferred_to", "rating", "booking", "id_tail"}
    assert texts < set(NULLABLE_TICKET_COLUMNS)
    assert all(getattr(empty, column, ()) in (None, ()) for column in NULLABLE_TICKET_COLUMNS)
    storage.commit(Batch(Changes(tickets={empty.id: empty, zeros.id: zeros})))

    loaded = {t.id: t for t in storage.load_day(center.day, config.rules.counters,
                                                config.rules.policy.regular_per_priority).tickets}
    storage.close()
    assert loaded[empty.id] == empty
    assert loaded[zeros.id] == zeros
    assert {column: getattr(loaded[zeros.id], column) for column in texts} == dict.fromkeys(texts, "0")
