"""A pipelined service (`CenterService.pipeline`): a batch is made durable in the committer's thread while the next
is acted on, on a real SQLite file, and what it caused is given to publish once it is; a commit made to fail undoes
both batches."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central_server.service import READ_EVERY, CenterService
from central_server.storage.port import Batch, StorageFull
from central_server.storage.sqlite import SqliteStorage
from central_server.wire import Outbound
from protocol.link import Message
from tests.central_server.test_service import Clock, Rig, reply_of
from tests.harness import sqlite_file


class GatedStorage(SqliteStorage):
    """A real SQLite storage whose next commit can be held, and made to fail as a full disk fails (in its writing,
    or in making it durable)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_next = False
        self.fail_write = False
        self.threads: set[str] = set()  # where batches were made durable
        self.writers: set[str] = set()  # where their rows were written

    def write(self, batch: Batch) -> None:
        self.writers.add(threading.current_thread().name)
        if self.fail_write:
            self.fail_write = False
            raise StorageFull("no space left on device (made to fail)")
        super().write(batch)

    def finish(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail_next:
            self.fail_next = False
            self._db.execute("ROLLBACK")  # as SQLite does by itself when the disk is full
            raise StorageFull("no space left on device (made to fail)")
        super().finish()


class Pipelined:
    def __init__(self, folder: Path, *, first: bool = True) -> None:
        self.rig = Rig(folder, Clock())
        self.rig.storage.close()
        self.storage = GatedStorage(sqlite_file(self.rig.config))
        self.service = CenterService(self.rig.config, self.storage, self.rig.clock)
        self.published: list[Outbound] = []  # what the service gave to publish, settled
        self.reads = 0  # how often the service gave the server a turn to read from its broker
        self.service.pipeline(self.published.extend, self.read)
        self.topics = self.rig.topics
        if first:  # the first batch closes the earlier days' bookings: committed in this thread (see the last test)
            assert self.service.handle_batch([self.request("k0", "r0", area="tu-phap")]) != []
            self.storage.threads.clear()
            self.storage.entered.clear()

    def read(self) -> None:
        self.reads += 1

    def request(self, kiosk: str, request_id: str, area: str = "dat-dai") -> Message:
        body = {"v": 1, "request_id": request_id, "area": area}
        return Message(self.topics.ticket_request(kiosk), json.dumps(body).encode(), self.topics.ticket_response(kiosk),
                       request_id.encode())

    def handle(self, *messages: Message) -> list[Outbound]:
        """`handle_batch`: what it gives to publish, kept in `published` too."""
        out = self.service.handle_batch(list(messages))
        self.published.extend(out)
        return out

    def settle(self) -> list[Outbound]:
        out = self.service.settle()
        self.published.extend(out)
        return out

    def tickets_stored(self) -> int:
        return int(self.storage._db.execute("SELECT count(*) FROM tickets").fetchone()[0])


def answers(out: list[Outbound]) -> dict[bytes | None, dict[str, Any]]:
    return {o.correlation: json.loads(o.payload) for o in out if o.correlation is not None}


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[Pipelined]:
    yield from _pipelined(tmp_path, first=True)


def _pipelined(folder: Path, *, first: bool) -> Iterator[Pipelined]:
    made = Pipelined(folder, first=first)
    yield made
    made.storage.gate.set()
    made.service.settle()
    made.service.close()


def test_a_batch_is_made_durable_off_the_state_thread_and_given_to_publish_in_order(pipe: Pipelined) -> None:
    assert pipe.handle(pipe.request("k1", "r1")) == []  # in flight
    for n in range(2, 4):  # what the batch before it caused, durable: between its requests, or at its end
        pipe.handle(pipe.request("k1", f"r{n}"))
        assert list(answers(pipe.published)) == [f"r{m}".encode() for m in range(1, n)]
    assert list(answers(pipe.settle())) == [b"r3"]
    assert pipe.settle() == []
    numbers = [answers([o])[f"r{n}".encode()]["ticket"]["number"]
               for n, o in zip(range(1, 4), [o for o in pipe.published if o.correlation], strict=True)]
    assert numbers == ["1001", "1002", "1003"]
    assert pipe.storage.threads == {"committer"}
    assert pipe.storage.writers == {threading.current_thread().name}, "rows are written in the state thread"
    assert pipe.tickets_stored() == 4
    board = [o.topic for o in pipe.published].index(pipe.topics.board_state())
    assert board < [o.correlation for o in pipe.published].index(b"r1"), "state before the reply it caused"


def test_a_durable_batchs_answers_go_out_between_the_next_batchs_requests(pipe: Pipelined) -> None:
    pipe.handle(pipe.request("k1", "r1"))
    assert pipe.service._committer is not None
    pipe.service._committer.idle()  # r1 is durable, not settled
    out = pipe.handle(pipe.request("k1", "r2"), pipe.request("k1", "r3"))
    assert list(answers(pipe.published)) == [b"r1"] and out == [], "published after r2, not at the batch's end"
    assert list(answers(pipe.settle())) == [b"r2", b"r3"]


def test_the_server_is_given_a_turn_to_read_every_read_every_requests_of_a_batch(pipe: Pipelined) -> None:
    pipe.handle(*(pipe.request(f"k{n % 7}", f"r{n}") for n in range(2 * READ_EVERY + 1)))
    assert pipe.reads == 2
    pipe.handle(*(pipe.request("k1", f"s{n}") for n in range(READ_EVERY - 1)))
    assert pipe.reads == 2
    assert len(answers(pipe.settle())) == READ_EVERY - 1


def test_nothing_is_given_to_publish_before_its_commit_is_durable(pipe: Pipelined) -> None:
    pipe.storage.gate.clear()
    assert pipe.handle(pipe.request("k1", "r1")) == []
    assert pipe.storage.entered.wait(5)
    threading.Timer(0.2, pipe.storage.gate.set).start()
    assert answers(pipe.settle())[b"r1"]["ok"] is True  # waited for the gate
    assert pipe.storage.gate.is_set()


def test_a_failed_commit_undoes_its_batch_and_the_next_acted_on_over_it(pipe: Pipelined) -> None:
    pipe.handle(pipe.request("k1", "r1"))
    pipe.settle()
    pipe.storage.gate.clear()
    pipe.storage.fail_next = True
    pipe.handle(pipe.request("k1", "r2"))  # in flight, held, then fails
    assert pipe.storage.entered.wait(5)
    threading.Timer(0.2, pipe.storage.gate.set).start()
    out = pipe.handle(pipe.request("k2", "r3"))  # acted on over r2, then settles
    said = answers(out)
    assert set(said) == {b"r2", b"r3"}
    assert {a["error"]["code"] for a in said.values()} == {"storage_full"}
    assert [o.correlation for o in pipe.published if o.correlation in (b"r2", b"r3")] == [b"r2", b"r3"]
    assert pipe.tickets_stored() == 2
    assert sorted(t.shown for t in pipe.service.center.tickets.values()) == ["1001", "B001"]
    assert pipe.service.health()["storage"] == "full"
    # storage writes again: the retries are acted on, numbered after what was durable
    assert pipe.service.check_storage() == []
    assert pipe.service.writable
    pipe.published.clear()
    pipe.handle(pipe.request("k1", "r2"), pipe.request("k2", "r3"))
    pipe.settle()
    numbers = {c: a["ticket"]["number"] for c, a in answers(pipe.published).items()}
    assert numbers == {b"r2": "1002", b"r3": "1003"}


def test_a_write_that_fails_in_the_state_thread_undoes_its_batch_alone(pipe: Pipelined) -> None:
    pipe.handle(pipe.request("k1", "r1"))  # in flight, made durable
    pipe.storage.fail_write = True
    pipe.handle(pipe.request("k2", "r2"))  # settles r1's, then its own writing fails
    assert {c: (a["ok"], a.get("error", {}).get("code")) for c, a in answers(pipe.published).items()} == {
        b"r1": (True, None), b"r2": (False, "storage_full")}
    assert pipe.tickets_stored() == 2
    assert sorted(t.shown for t in pipe.service.center.tickets.values()) == ["1001", "B001"]
    assert pipe.service.check_storage() == []
    pipe.handle(pipe.request("k2", "r2"))
    pipe.settle()
    assert answers(pipe.published)[b"r2"]["ticket"]["number"] == "1002"
    assert pipe.tickets_stored() == 3


def test_a_retry_of_a_request_in_flight_gets_its_first_answer(pipe: Pipelined) -> None:
    pipe.storage.gate.clear()
    pipe.handle(pipe.request("k1", "r1"))
    assert pipe.storage.entered.wait(5)
    threading.Timer(0.2, pipe.storage.gate.set).start()
    out = pipe.handle(pipe.request("k1", "r1"))  # waits for r1's commit; the retry has nothing to write
    assert [o.correlation for o in out if o.correlation] == [b"r1"]
    assert [o.correlation for o in pipe.published if o.correlation] == [b"r1", b"r1"], "the first answer first"
    pipe.settle()
    first, again = [json.loads(o.payload) for o in pipe.published if o.correlation == b"r1"]
    assert first == again and first["ticket"]["number"] == "1001"
    assert pipe.tickets_stored() == 2


def test_the_first_batch_changes_more_than_the_day_and_is_committed_in_the_state_thread(tmp_path: Path) -> None:
    """The first batch of a service also closes the earlier days' bookings: it is not pipelined."""
    made = _pipelined(tmp_path, first=False)
    pipe = next(made)
    out = pipe.handle(pipe.request("k1", uuid.uuid4().hex))
    assert reply_of(out, pipe.topics.ticket_response("k1"))["ticket"]["number"] == "1001"
    assert pipe.storage.threads == {threading.current_thread().name}
    assert pipe.settle() == []
    assert list(made) == []


def test_a_batch_logs_one_line_once_durable_and_none_when_its_commit_fails(
        pipe: Pipelined, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="central_server")
    pipe.handle(pipe.request("k1", "r1"), pipe.request("k2", "r2"))
    pipe.settle()
    pipe.storage.fail_next = True
    pipe.handle(pipe.request("k1", "r3"))
    pipe.settle()
    lines = [r.getMessage() for r in caplog.records if "message(s)" in r.getMessage()]
    assert len(lines) == 1 and re.fullmatch(
        r"2 message\(s\): ticket 1001 for kiosk k1; ticket 1002 for kiosk k2; committed in \d+\.\d ms", lines[0]), lines
