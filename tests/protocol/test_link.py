"""MqttLink against a real Mosquitto: TLS, LWT and birth, reconnect, request/response, TCP_NODELAY."""

from __future__ import annotations

import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from central_server.tls import TlsFiles
from devkit.local_broker import LocalBroker, free_port, make_tls_files
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink, RequestTimeout
from protocol.topics import Topics
from tests.harness import ROOT, TIMEOUT, watching

NOT_READY_S = 3.0  # "never ready" means: not within this, and refused again on a retry

OFFLINE = {"v": 1, "online": False}
ONLINE = {"v": 1, "online": True}

# A device in its own process, so that the test can SIGKILL it.
CHILD = """
import sys
from protocol.config import MqttSettings
from protocol.link import MqttLink

host, port, client_id, status_topic = sys.argv[1:]
link = MqttLink(MqttSettings(host, int(port)), client_id=client_id, status_topic=status_topic)
link.start()
sys.stdin.read()  # until the test kills this process
"""


# --- helpers ------------------------------------------------------------------------------------


@contextmanager
def running(link: MqttLink, *, ready: bool = True) -> Iterator[MqttLink]:
    link.start()
    try:
        if ready:
            assert link.wait_ready(TIMEOUT), "link did not become ready"
        yield link
    finally:
        link.stop()


def new_link(
    settings: MqttSettings, center_id: str, device_id: str, *, announce_online: bool = True
) -> MqttLink:
    return MqttLink(
        settings, client_id=f"{center_id}-{device_id}", status_topic=Topics(center_id).device_status(device_id),
        announce_online=announce_online,
    )


def plain(broker: LocalBroker) -> MqttSettings:
    return MqttSettings(broker.host, broker.port)


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` until the deadline, for states that have no event to wait on."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def retained_status(broker: LocalBroker, center_id: str, device_id: str) -> dict[str, Any]:
    """What a client subscribing now receives on the device's status topic (the retained message)."""
    with watching(broker, center_id, f"device/{device_id}/status") as fresh:
        return fresh.next(f"device/{device_id}/status")[1]


def nodelay(link: MqttLink) -> int:
    sock = link._client.socket()
    assert isinstance(sock, socket.socket), sock
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_dir() -> Iterator[Path]:
    """A world-traversable folder: Mosquitto drops root for the user `mosquitto` before it reads certificates."""
    with tempfile.TemporaryDirectory(prefix="qms-tls-") as name:
        folder = Path(name)
        folder.chmod(0o755)
        yield folder


@pytest.fixture(scope="module")
def tls_files(tls_dir: Path) -> TlsFiles:
    return make_tls_files(tls_dir / "broker")


@pytest.fixture(scope="module")
def other_ca(tls_dir: Path) -> Path:
    return make_tls_files(tls_dir / "other").ca_file


@pytest.fixture
def tls_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path, tls=tls_files) as running_broker:
        yield running_broker


def refusals(broker: LocalBroker, openssl_error: str) -> int:
    """How many connections the broker's TLS layer refused with this OpenSSL error (one log line each)."""
    return broker.log.read_text(errors="replace").count(openssl_error)


def test_tls_link_connects_subscribes_and_round_trips(tls_broker: LocalBroker, tls_files: TlsFiles,
                                                      center_id: str) -> None:
    assert tls_broker.url.startswith("mqtts://")
    settings = MqttSettings(tls_broker.host, tls_broker.port, tls=True, ca_file=tls_files.ca_file)
    link = new_link(settings, center_id, "tls")
    echo = f"{Topics(center_id).root}/echo"
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(echo, received.put)
    with running(link):  # ready: the SUBACK came
        link.publish(echo, b"ping")
        assert received.get(timeout=TIMEOUT).payload == b"ping"
        sock = link._client.socket()
        assert isinstance(sock, ssl.SSLSocket) and str(sock.version()).startswith("TLS")
        assert nodelay(link) != 0


def assert_never_ready(link: MqttLink, broker: LocalBroker, openssl_error: str) -> None:
    """Not ready within NOT_READY_S, and refused by the broker's TLS layer at least twice (paho retried)."""
    became_ready = threading.Event()
    link.on_ready(became_ready.set)
    with running(link, ready=False):
        assert not link.wait_ready(NOT_READY_S)
        # paho's second attempt comes 1 s after a session the broker dropped, 3 s after a failed TLS handshake.
        assert wait_until(lambda: refusals(broker, openssl_error) >= 2, NOT_READY_S), broker.log.read_text()
        assert not became_ready.is_set() and not link.connected.is_set()


def test_plain_link_never_gets_ready_on_a_tls_port(tls_broker: LocalBroker, center_id: str) -> None:
    assert_never_ready(new_link(plain(tls_broker), center_id, "plain"), tls_broker, "wrong version number")


def test_tls_link_with_another_ca_never_gets_ready(tls_broker: LocalBroker, other_ca: Path, center_id: str) -> None:
    settings = MqttSettings(tls_broker.host, tls_broker.port, tls=True, ca_file=other_ca)
    assert_never_ready(new_link(settings, center_id, "wrong-ca"), tls_broker, "alert unknown ca")


# --- LWT and birth ------------------------------------------------------------------------------


def test_sigkilled_device_leaves_offline_retained(broker: LocalBroker, center_id: str, tmp_path: Path) -> None:
    topics = Topics(center_id)
    stderr = tmp_path / "child.err"
    with watching(broker, center_id, "device/d1/status") as status, stderr.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, broker.host, str(broker.port), f"{center_id}-d1", topics.device_status("d1")],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
        )
        try:
            try:
                assert status.next("device/d1/status")[1] == ONLINE
            except queue.Empty:
                pytest.fail(f"the child never announced online: {stderr.read_text()}")
        finally:
            child.kill()
            child.wait(TIMEOUT)
            assert child.stdin is not None
            child.stdin.close()
        assert status.next("device/d1/status")[1] == OFFLINE
    assert retained_status(broker, center_id, "d1") == OFFLINE


def test_online_on_connect_with_extra_fields_and_offline_on_clean_stop(broker: LocalBroker, center_id: str) -> None:
    with watching(broker, center_id, "device/d1/status") as status:
        link = new_link(plain(broker), center_id, "d1")
        with running(link):
            assert status.next("device/d1/status")[1] == ONLINE
            link.set_status(printer="paper_out")
            assert status.next("device/d1/status")[1] == {**ONLINE, "printer": "paper_out"}
            assert retained_status(broker, center_id, "d1") == {**ONLINE, "printer": "paper_out"}
        assert status.next("device/d1/status")[1] == OFFLINE
    assert retained_status(broker, center_id, "d1") == OFFLINE


# --- reconnect ----------------------------------------------------------------------------------


def test_link_reconnects_resubscribes_and_announces_online_after_broker_restart(
    broker: LocalBroker, center_id: str
) -> None:
    topics = Topics(center_id)
    command = f"{topics.root}/d1/command"
    received: queue.Queue[Message] = queue.Queue()
    link = new_link(plain(broker), center_id, "d1")
    link.subscribe(command, received.put)
    with watching(broker, center_id, "device/d1/status") as status, running(link):
        link.set_status(printer="ok")
        assert status.next("device/d1/status")[1] == ONLINE
        assert status.next("device/d1/status")[1] == {**ONLINE, "printer": "ok"}

        broker.stop()
        assert wait_until(lambda: not link.connected.is_set() and not status.link.connected.is_set(), TIMEOUT)
        # Mosquitto sends its clients' wills while it shuts down: the watcher may have got the link's.
        assert all(body == OFFLINE for _, body in status.drain())
        broker.start()  # same port; persistence is off, so every retained message is gone
        back = time.monotonic()
        assert link.wait_ready(6.0), "link did not reconnect within 6 s of the broker's restart"
        reconnect_s = time.monotonic() - back
        assert nodelay(link) != 0

        # The watcher reconnects too: it gets the new online status live or, if it resubscribes later, retained.
        assert status.link.wait_ready(6.0)
        assert status.next("device/d1/status")[1] == {**ONLINE, "printer": "ok"}

        status.link.publish(command, b"after restart")
        assert received.get(timeout=TIMEOUT).payload == b"after restart"
    assert reconnect_s < 5.0


# --- request / response -------------------------------------------------------------------------


class Responder:
    """Answers requests on one topic to their Response Topic with their Correlation Data.

    It collects `batch` requests and answers them in reverse order, so replies arrive in another
    order than the requests went out; the handler only enqueues, a thread replies.
    """

    def __init__(self, broker: LocalBroker, center_id: str, topic: str, batch: int = 1) -> None:
        self.requests: queue.Queue[Message] = queue.Queue()
        self.batch = batch
        self.link = new_link(plain(broker), center_id, "responder", announce_online=False)
        self.link.subscribe(topic, self.requests.put)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            pending: list[Message] = []
            while len(pending) < self.batch and not self._stop.is_set():
                try:
                    pending.append(self.requests.get(timeout=0.1))
                except queue.Empty:
                    continue
            for request in reversed(pending):
                assert request.response_topic is not None
                self.link.publish(request.response_topic, b"re:" + request.payload, correlation=request.correlation)

    def __enter__(self) -> Responder:
        self.link.start()
        assert self.link.wait_ready(TIMEOUT)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)
        self.link.stop()


def test_fifty_concurrent_requests_each_get_their_own_reply(broker: LocalBroker, center_id: str) -> None:
    topics = Topics(center_id)
    with Responder(broker, center_id, topics.ticket_request("k1"), batch=50), \
            running(new_link(plain(broker), center_id, "k1")) as kiosk:

        def ask(index: int) -> tuple[bytes, Message]:
            body = f"request {index}".encode()
            return body, kiosk.request(topics.ticket_request("k1"), body, response_topic=topics.ticket_response("k1"),
                                       timeout_s=TIMEOUT)

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(ask, range(50)))
    for body, reply in results:
        assert reply.payload == b"re:" + body
        assert reply.topic == topics.ticket_response("k1")
    assert len({reply.correlation for _, reply in results}) == 50


def test_first_requests_racing_on_a_new_response_topic_all_get_replies(broker: LocalBroker, center_id: str) -> None:
    """Threads that make the first request on a response topic at once all set up (or share) its route."""
    topics = Topics(center_id)
    failures: list[BaseException] = []
    with Responder(broker, center_id, topics.ticket_request("k1")), \
            running(new_link(plain(broker), center_id, "k1")) as kiosk:

        def ask(response_topic: str, start: threading.Barrier) -> None:
            start.wait(TIMEOUT)
            try:
                kiosk.request(topics.ticket_request("k1"), b"x", response_topic=response_topic, timeout_s=TIMEOUT)
            except Exception as exc:
                failures.append(exc)

        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible: it widens every race window
        try:
            for round_ in range(100):
                start = threading.Barrier(16)
                response_topic = f"{topics.root}/kiosk/k1/race/{round_}/response"
                threads = [threading.Thread(target=ask, args=(response_topic, start)) for _ in range(16)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(TIMEOUT)
        finally:
            sys.setswitchinterval(switch_interval)
    assert failures == []

def test_request_nobody_answers_times_out(broker: LocalBroker, center_id: str) -> None:
    topics = Topics(center_id)
    with running(new_link(plain(broker), center_id, "k1")) as kiosk:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            kiosk.request(topics.ticket_request("k1"), b"{}", response_topic=topics.ticket_response("k1"),
                          timeout_s=1.0)
        assert 1.0 <= time.monotonic() - started < 2.0


def test_request_times_out_when_the_broker_goes_down(broker: LocalBroker, center_id: str) -> None:
    topics = Topics(center_id)
    request_topic, response_topic = topics.ticket_request("k1"), topics.ticket_response("k1")
    with Responder(broker, center_id, request_topic), running(new_link(plain(broker), center_id, "k1")) as kiosk:
        assert kiosk.request(request_topic, b"up", response_topic=response_topic, timeout_s=TIMEOUT).payload == b"re:up"
        broker.stop()
        assert wait_until(lambda: not kiosk.connected.is_set(), TIMEOUT)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            kiosk.request(request_topic, b"down", response_topic=response_topic, timeout_s=1.0)
        assert time.monotonic() - started < 1.5


def test_request_times_out_when_the_broker_was_never_there(center_id: str) -> None:
    topics = Topics(center_id)
    nowhere = MqttSettings("127.0.0.1", free_port())
    with running(new_link(nowhere, center_id, "k1"), ready=False) as kiosk:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            kiosk.request(topics.ticket_request("k1"), b"{}", response_topic=topics.ticket_response("k1"),
                          timeout_s=1.0)
        assert time.monotonic() - started < 1.5



def test_request_keeps_its_timeout_when_the_broker_is_slow(broker: LocalBroker, center_id: str) -> None:
    """The SUBACK for the reply route and the reply share one timeout: a slow broker must not double it."""
    topics = Topics(center_id)
    pid = broker.pid
    with running(new_link(plain(broker), center_id, "k1")) as kiosk:
        os.kill(pid, signal.SIGSTOP)  # the broker stalls (a loaded Pi) and answers the SUBSCRIBE late
        resume = threading.Timer(0.6, os.kill, (pid, signal.SIGCONT))
        resume.start()
        try:
            started = time.monotonic()
            with pytest.raises(RequestTimeout):
                kiosk.request(topics.ticket_request("k1"), b"{}", response_topic=topics.ticket_response("k1"),
                              timeout_s=1.0)
            elapsed = time.monotonic() - started
        finally:
            resume.join()
            os.kill(pid, signal.SIGCONT)
    assert elapsed < 1.3

# --- socket options -----------------------------------------------------------------------------


def test_tcp_nodelay_is_set_after_connect(broker: LocalBroker, center_id: str) -> None:
    with running(new_link(plain(broker), center_id, "k1")) as link:
        assert nodelay(link) != 0



BOARD_BEFORE_BROKER = """
[board]
id = "board-early"
center = "{center_id}"

[mqtt]
url = "mqtt://127.0.0.1:{port}"

[screen]
enabled = false

[voice]
enabled = false
"""


def test_an_agent_started_before_its_broker_says_so_once_and_joins_when_it_comes(tmp_path: Path,
                                                                                  center_id: str) -> None:
    port = free_port()
    config = tmp_path / "board.toml"
    config.write_text(BOARD_BEFORE_BROKER.format(center_id=center_id, port=port), encoding="utf-8")
    stderr = tmp_path / "board.log"
    with stderr.open("wb") as log:
        board = subprocess.Popen([sys.executable, "-m", "display_board", "--config", str(config)], cwd=ROOT,
                                 stderr=log, env={**os.environ, "QMS_LOG_LEVEL": "INFO"})
    broker = LocalBroker(tmp_path, port)
    try:
        time.sleep(5.0)  # the broker is away for a few of the link's attempts (one each RECONNECT_S)
        broker.start()
        assert retained_status(broker, center_id, "board-early")["online"] is True
    finally:
        board.send_signal(signal.SIGTERM)
        board.wait(20)
        broker.stop()
    lines = stderr.read_text(encoding="utf-8").splitlines()
    outage = [line for line in lines if "cannot reach the broker" in line]
    assert len(outage) == 1 and "Connection refused" in outage[0], lines
    assert not [line for line in lines if "Client is not connected" in line], "paho's line at every attempt"
    assert any("connected to mqtt://127.0.0.1" in line and "after the first failed attempt" in line
               for line in lines), lines
