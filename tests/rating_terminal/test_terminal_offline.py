"""Counter terminals cut off from the broker for a simulated hour (one of them losing power meanwhile),
with ratings pressed: each is delivered exactly once when the network is back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devkit.clock import SimulatedClock
from devkit.local_broker import LocalBroker, free_port
from tests.harness import ServerProcess, device
from tests.rating_terminal.test_terminal_e2e import Terminal, ratings_at_server

SPEED = 120.0  # 30 real seconds are a simulated hour


class CuttableLink:
    """A TCP relay in front of the broker: the counters' network, which the test can cut and mend."""

    def __init__(self, broker: LocalBroker) -> None:
        self.port, self._target = free_port(), (broker.host, broker.port)
        self._open = threading.Event()
        self._open.set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()  # the cable is out: nobody gets through
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._pairs.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def mend(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._server.close()


@pytest.mark.timeout(180)
def test_ratings_pressed_during_an_hour_offline_arrive_once_each(tmp_path: Path, broker: LocalBroker,
                                                                center_id: str, center_toml: Path) -> None:
    clock = SimulatedClock(datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")), SPEED, time.time()).to_arg()
    server = ServerProcess(center_toml, broker, center_id, clock=clock)
    server.start()
    network = CuttableLink(broker)
    terminals = []
    for counter in ("1", "2"):
        (tmp_path / counter).mkdir()
        terminals.append(Terminal(tmp_path / counter, broker, center_id, counter=counter, url=network.url,
                                  clock=clock))
    try:
        for terminal in terminals:
            terminal.start()
        with device(broker, center_id) as kiosk:
            for _ in terminals:
                kiosk.ticket("dat-dai")
        for terminal in terminals:
            terminal.press("next")
            terminal.send("key finish")
            terminal.expect("signal ok", "armed very_satisfied satisfied dissatisfied")
        network.cut()  # both counters' network goes down with a citizen about to rate at each
        for terminal, level in zip(terminals, ("very_satisfied", "dissatisfied"), strict=True):
            terminal.send(f"rate {level}")
            terminal.expect(f"thanks {level}")  # kept in the outbox, then thanked, though offline
        terminals[1].stop(kill=True)  # and counter 2 loses power during the hour
        time.sleep(30)  # an hour, simulated: the rating windows (120 s) are long over
        assert ratings_at_server(server, 2, timeout_s=0) == []
        assert [t.pending_in_outbox() for t in terminals] == [1, 1]
        network.mend()
        terminals[1].start()  # power back: it comes up with its outbox
        rows = ratings_at_server(server, 2, timeout_s=30)
        time.sleep(3)  # the outboxes resend every 3 s until acknowledged: nothing more may come
        assert sorted(level for _, level in ratings_at_server(server, 3, timeout_s=0)) == ["dissatisfied",
                                                                                          "very_satisfied"]
        assert len(rows) == 2
        deadline = time.monotonic() + 15
        while any(t.pending_in_outbox() for t in terminals):
            assert time.monotonic() < deadline, "an acknowledgement never reached its outbox"
            time.sleep(0.1)
    finally:
        for terminal in terminals:
            terminal.stop()
        network.close()
        server.stop()
