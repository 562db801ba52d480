"""BrokerLink (the server's own MQTT 5 link) against a real Mosquitto, and against a scripted fake broker for
what Mosquitto never does (malformed packets, refused subscriptions, a CONNACK held back).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

import central_server.broker_link as broker_link_module
from central_server.broker_link import CONNECT_TIMEOUT_S, BrokerLink, Delivery
from central_server.tls import TlsFiles
from devkit.local_broker import LocalBroker, free_port, make_tls_files
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink
from protocol.messages import OFFLINE, ONLINE
from protocol.mqtt5_codec import (
    CONNACK,
    CONNECT,
    DISCONNECT,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBLISH,
    SUBACK,
    SUBSCRIBE,
    U16,
    decode_varint,
    encode_varint,
    packet,
    parse_publish,
    publish_packet,
    read_utf8,
    take_packets,
)
from protocol.topics import Topics
from tests.harness import ROOT, TIMEOUT, watching

WORKTREE = Path(__file__).resolve().parents[2]

# The server's link in its own process, so that the test can SIGKILL it.
CHILD = """
import sys
import central_server.broker_link
from central_server.broker_link import BrokerLink
from protocol.config import MqttSettings
from protocol.messages import ONLINE

host, port, client_id, status_topic = sys.argv[1:]
link = BrokerLink(MqttSettings(host, int(port)), client_id=client_id, status_topic=status_topic)
link.start()
if not link.ready.wait(10):
    sys.exit(2)
if not link.wait(link.publish(status_topic, ONLINE, retain=True), 10):
    sys.exit(3)
print(central_server.broker_link.__file__, flush=True)
sys.stdin.read()  # until the test kills this process
"""


# --- helpers ------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], timeout_s: float = TIMEOUT) -> bool:
    """Poll `condition` until the deadline, for states that have no event to wait on."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def io_alive(link: BrokerLink) -> bool:
    """Whether the I/O thread of a link started unpolled still runs."""
    assert link._thread is not None
    return link._thread.is_alive()


def new_link(settings: MqttSettings, center_id: str = "c", name: str = "server") -> BrokerLink:
    return BrokerLink(settings, client_id=f"{center_id}-{name}-{uuid.uuid4().hex[:6]}",
                      status_topic=Topics(center_id).server_status())


def plain(broker: LocalBroker, **options: object) -> MqttSettings:
    return MqttSettings(broker.host, broker.port, **options)  # type: ignore[arg-type]


@contextmanager
def running(link: BrokerLink, *, ready: bool = True) -> Iterator[BrokerLink]:
    link.start()
    try:
        if ready:
            assert link.ready.wait(TIMEOUT), f"link did not become ready: {link.broker_error!r}"
        yield link
    finally:
        link.stop()


@contextmanager
def peer(broker: LocalBroker, *filters: str) -> Iterator[tuple[MqttLink, queue.Queue[Message]]]:
    """Another client (paho, through the devices' MqttLink) and what it receives on `filters`."""
    received: queue.Queue[Message] = queue.Queue()
    link = MqttLink(plain(broker), client_id=f"peer-{uuid.uuid4().hex[:8]}", status_topic="peer/status",
                    announce_online=False)
    for topic_filter in filters:
        link.subscribe(topic_filter, received.put)
    link.start()
    try:
        assert link.wait_ready(TIMEOUT), "the peer did not connect"
        yield link, received
    finally:
        link.stop()


def counted() -> tuple[list[float], Callable[[], None]]:
    """A callback that notes when it was called."""
    calls: list[float] = []
    return calls, lambda: calls.append(time.monotonic())


def root(center_id: str) -> str:
    return Topics(center_id).root


# --- a scripted fake broker ---------------------------------------------------------------------


class FakeConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.packets: deque[tuple[int, bytes]] = deque()

    def next(self, timeout_s: float = TIMEOUT) -> tuple[int, bytes]:
        """The next packet from the link, as (first byte, body); socket.timeout when none comes."""
        deadline = time.monotonic() + timeout_s
        while not self.packets:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the link closed the connection")
            self.buffer += data
            self.packets.extend(take_packets(self.buffer))
        return self.packets.popleft()

    def expect(self, kind: int, timeout_s: float = TIMEOUT) -> bytes:
        """The next packet of `kind`, skipping PINGREQs (answered)."""
        while True:
            first, body = self.next(timeout_s)
            if first >> 4 == PINGREQ and kind != PINGREQ:
                self.send(bytes((PINGRESP << 4, 0)))
                continue
            assert first >> 4 == kind, f"expected packet type {kind}, got {first >> 4}"
            return body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connack(self, props: bytes = b"\x00", reason: int = 0) -> None:
        self.expect(CONNECT)
        self.send(packet(CONNACK << 4, bytes((0, reason)) + props))

    def subscriptions(self, count: int) -> list[tuple[int, str]]:
        """Read `count` SUBSCRIBEs: (packet id, filter) each."""
        out = []
        for _ in range(count):
            body = self.expect(SUBSCRIBE)
            (packet_id,) = U16.unpack_from(body, 0)
            length, pos = decode_varint(body, 2)
            topic_filter, _ = read_utf8(body, pos + length)
            out.append((packet_id, topic_filter))
        return out

    def suback(self, packet_id: int, reason: int = 1) -> None:
        self.send(packet(SUBACK << 4, U16.pack(packet_id) + b"\x00" + bytes((reason,))))

    def closed(self, timeout_s: float) -> bool:
        """True when the link closed this connection (EOF or reset) within `timeout_s`."""
        try:
            while True:
                self.next(timeout_s)
        except (EOFError, ConnectionError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


class FakeBroker:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections: list[FakeConnection] = []

    def settings(self, **options: object) -> MqttSettings:
        return MqttSettings("127.0.0.1", self.port, **options)  # type: ignore[arg-type]

    def accept(self, timeout_s: float = TIMEOUT) -> FakeConnection:
        self.server.settimeout(timeout_s)
        sock, _ = self.server.accept()
        connection = FakeConnection(sock)
        self.connections.append(connection)
        return connection

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.server.close()


@pytest.fixture
def fake() -> Iterator[FakeBroker]:
    broker = FakeBroker()
    try:
        yield broker
    finally:
        broker.close()


@contextmanager
def link_on(fake: FakeBroker, *filters: str, keepalive_s: int = 30) -> Iterator[tuple[BrokerLink,
                                                                                       queue.Queue[Message]]]:
    """A link on the fake broker, subscribed to `filters`, its messages on a queue; stopped at the end."""
    link = BrokerLink(fake.settings(keepalive_s=keepalive_s), client_id="server", status_topic="s/status")
    received: queue.Queue[Message] = queue.Queue()
    for topic_filter in filters:
        link.subscribe(topic_filter, received.put)
    link.start()
    try:
        yield link, received
    finally:
        for connection in fake.connections:  # a stop must not wait for acknowledgements nobody will send
            connection.close()
        link.stop(timeout_s=0.5)


# --- the worktree's code is what runs -----------------------------------------------------------


def test_the_code_under_test_is_this_worktrees() -> None:
    assert Path(broker_link_module.__file__).resolve().is_relative_to(WORKTREE)


# --- subscriptions and readiness ----------------------------------------------------------------


def test_ready_only_after_every_suback(fake: FakeBroker) -> None:
    with link_on(fake, "a/#", "b/+", "c") as (link, _):
        readies, on_ready = counted()
        link.on_ready(on_ready)
        connection = fake.accept()
        connection.connack()
        subs = connection.subscriptions(3)
        assert [topic_filter for _, topic_filter in subs] == ["a/#", "b/+", "c"]
        assert len({packet_id for packet_id, _ in subs}) == 3
        assert link.connected.wait(TIMEOUT)
        for packet_id, _ in subs[:2]:
            connection.suback(packet_id)
        assert not link.ready.wait(0.3) and not readies
        connection.suback(subs[2][0])
        assert link.ready.wait(TIMEOUT)
        assert wait_until(lambda: len(readies) == 1)


def test_every_filter_is_in_place_once_ready(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    for topic_filter in (f"{base}/a/#", f"{base}/b/+/x", f"{base}/c"):
        link.subscribe(topic_filter, received.put)
    with running(link), peer(broker) as (other, _):
        for topic in (f"{base}/a/1/2", f"{base}/b/k1/x", f"{base}/c"):
            other.publish(topic, topic.encode())
            assert received.get(timeout=TIMEOUT).topic == topic


def test_message_topic_payload_response_topic_correlation_and_expiry_arrive(broker: LocalBroker,
                                                                             center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/kiosk/+/ticket/request", received.put)
    payload = "Đất đai \x00\xff".encode() + bytes(range(256))
    with running(link), peer(broker) as (other, _):
        before = time.monotonic()
        other.publish(f"{base}/kiosk/k1/ticket/request", payload, response_topic=f"{base}/kiosk/k1/ticket/response",
                      correlation=b"\x00\x01corr\xff", expiry_s=30)
        message = received.get(timeout=TIMEOUT)
        assert message.topic == f"{base}/kiosk/k1/ticket/request"
        assert message.payload == payload
        assert message.response_topic == f"{base}/kiosk/k1/ticket/response"
        assert message.correlation == b"\x00\x01corr\xff"
        assert message.retained is False
        assert message.expires_at is not None and before + 28 <= message.expires_at <= time.monotonic() + 30

        other.publish(f"{base}/kiosk/k2/ticket/request", b"plain")
        message = received.get(timeout=TIMEOUT)
        assert (message.response_topic, message.correlation, message.expires_at) == (None, None, None)


def test_a_retained_message_arrives_flagged_retained(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    with peer(broker) as (other, _):
        sent = other.publish(f"{base}/device/d1/status", ONLINE, retain=True)
        sent.wait_for_publish(TIMEOUT)
        assert sent.is_published()
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/device/+/status", received.put)
    with running(link):
        message = received.get(timeout=TIMEOUT)
        assert (message.topic, message.payload, message.retained) == (f"{base}/device/d1/status", ONLINE, True)


def test_replies_with_correlation_reach_another_client(broker: LocalBroker, center_id: str) -> None:
    """The server's way: a request's Response Topic and Correlation Data, echoed on the reply (MqttLink.request
    matches them)."""
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    requests: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/kiosk/+/ticket/request", requests.put)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                request = requests.get(timeout=0.05)
            except queue.Empty:
                continue
            assert request.response_topic is not None
            link.publish(request.response_topic, b"re:" + request.payload, correlation=request.correlation)

    with running(link), peer(broker) as (kiosk, _):
        responder = threading.Thread(target=answer)
        responder.start()
        try:
            for index in range(20):
                reply = kiosk.request(f"{base}/kiosk/k1/ticket/request", f"ask {index}".encode(),
                                      response_topic=f"{base}/kiosk/k1/ticket/response", timeout_s=TIMEOUT)
                assert reply.payload == f"re:ask {index}".encode()
                assert reply.topic == f"{base}/kiosk/k1/ticket/response"
        finally:
            stop.set()
            responder.join(TIMEOUT)


def test_a_retained_publish_reaches_a_later_subscriber(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    with running(new_link(plain(broker), center_id)) as link:
        assert link.wait(link.publish(f"{base}/board/state", b"serving 42", retain=True), TIMEOUT)
        with peer(broker, f"{base}/board/state") as (_, received):
            message = received.get(timeout=TIMEOUT)
    assert (message.payload, message.retained) == (b"serving 42", True)


def test_a_shared_subscription_delivers_under_the_plain_topic(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"$share/servers/{base}/kiosk/+/ticket/request", received.put)
    with running(link), peer(broker) as (other, _):
        other.publish(f"{base}/kiosk/k7/ticket/request", b"shared")
        message = received.get(timeout=TIMEOUT)
    assert (message.topic, message.payload) == (f"{base}/kiosk/k7/ticket/request", b"shared")


def test_a_handler_that_raises_does_not_stop_the_link(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()

    def handler(message: Message) -> None:
        if message.payload == b"boom":
            raise RuntimeError("a handler's bug")
        received.put(message)

    link.subscribe(f"{base}/in", handler)
    with running(link), peer(broker) as (other, _):
        other.publish(f"{base}/in", b"boom")
        other.publish(f"{base}/in", b"after")
        assert received.get(timeout=TIMEOUT).payload == b"after"
        assert link.connected.is_set() and link.ready.is_set()


def test_a_message_no_filter_matches_is_acknowledged_and_ignored(fake: FakeBroker) -> None:
    with link_on(fake, "a/+") as (link, received):
        connection = fake.accept()
        connection.connack()
        ((packet_id, _),) = connection.subscriptions(1)
        connection.suback(packet_id)
        assert link.ready.wait(TIMEOUT)
        connection.send(publish_packet("b/x", b"stray", packet_id=7) + publish_packet("a/x/y", b"deeper", packet_id=8)
                        + publish_packet("a/x", b"mine", packet_id=9))
        acks = [U16.unpack_from(connection.expect(PUBACK), 0)[0] for _ in range(3)]
        assert acks == [7, 8, 9]
        assert received.get(timeout=TIMEOUT).payload == b"mine"
        assert received.empty() and link.connected.is_set()


# --- the will and a clean stop ------------------------------------------------------------------


def test_sigkilled_server_leaves_its_will_offline_retained(broker: LocalBroker, center_id: str,
                                                           tmp_path: Path) -> None:
    topics = Topics(center_id)
    stderr = tmp_path / "child.err"
    with watching(broker, center_id, "server/status") as status, stderr.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, broker.host, str(broker.port), f"{center_id}-server",
             topics.server_status()],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            env={**os.environ, "PYTHONPATH": str(WORKTREE)},
        )
        try:
            assert child.stdout is not None
            imported = child.stdout.readline().decode().strip()
            assert imported, f"the child never got ready: {stderr.read_text()}"
            assert Path(imported).resolve().is_relative_to(WORKTREE), imported
            assert status.next("server/status")[1] == json.loads(ONLINE)
        finally:
            child.kill()
            child.wait(TIMEOUT)
            assert child.stdin is not None
            child.stdin.close()
            assert child.stdout is not None
            child.stdout.close()
        assert status.next("server/status")[1] == json.loads(OFFLINE)
    with watching(broker, center_id, "server/status") as fresh:
        message = fresh.messages.get(timeout=TIMEOUT)
        assert (message.payload, message.retained) == (OFFLINE, True)


def test_stop_publishes_offline_itself_and_the_will_does_not_fire(broker: LocalBroker, center_id: str) -> None:
    with watching(broker, center_id, "server/status") as status:
        link = new_link(plain(broker), center_id)
        link.start()
        assert link.ready.wait(TIMEOUT)
        assert link.wait(link.publish(Topics(center_id).server_status(), ONLINE, retain=True), TIMEOUT)
        assert status.next("server/status")[1] == json.loads(ONLINE)
        started = time.monotonic()
        link.stop()
        assert time.monotonic() - started < 1.0
        assert status.next("server/status")[1] == json.loads(OFFLINE)
        with pytest.raises(queue.Empty):  # a will would be a second offline, sent at once
            status.next("server/status", timeout_s=0.5)
    with watching(broker, center_id, "server/status") as fresh:
        assert fresh.messages.get(timeout=TIMEOUT).payload == OFFLINE


def test_stop_sends_the_offline_status_then_a_normal_disconnect(fake: FakeBroker) -> None:
    link = BrokerLink(fake.settings(), client_id="server", status_topic="s/status")
    link.start()
    try:
        connection = fake.accept()
        connection.expect(CONNECT)
        connection.send(packet(CONNACK << 4, b"\x00\x00\x00"))
        assert link.ready.wait(TIMEOUT)
        stopper = threading.Thread(target=link.stop)
        stopper.start()
        first, body = connection.next()
        read = parse_publish(first & 0x0F, body)
        assert (read.topic, read.payload, read.retain, read.qos) == ("s/status", OFFLINE, True, 1)
        connection.send(bytes((PUBACK << 4, 2)) + U16.pack(read.packet_id))
        assert connection.expect(DISCONNECT) in (b"", b"\x00")  # normal disconnection: no will
        stopper.join(TIMEOUT)
        assert not stopper.is_alive()
    finally:
        link.stop(timeout_s=0.5)


def test_stop_asks_the_broker_for_the_will_when_the_offline_status_is_not_acknowledged(fake: FakeBroker) -> None:
    """The broker's window is full (it is slow, or the server does not read): the offline status waits behind it.
    A normal DISCONNECT would drop the will and leave the server online."""
    link = BrokerLink(fake.settings(), client_id="server", status_topic="s/status")
    link.start()
    try:
        connection = fake.accept()
        connection.connack(props=b"\x03\x21\x00\x01")  # Receive Maximum 1
        assert link.ready.wait(TIMEOUT)
        assert link.publish("s/out", b"never acknowledged").sent
        first, body = connection.next()
        assert first >> 4 == PUBLISH and parse_publish(first & 0x0F, body).payload == b"never acknowledged"
        stopper = threading.Thread(target=link.stop, kwargs={"timeout_s": 0.3})
        stopper.start()
        assert connection.expect(DISCONNECT) == b"\x04"  # disconnect with will message: nothing published before
        stopper.join(TIMEOUT)
        assert not stopper.is_alive()
    finally:
        link.stop(timeout_s=0.1)


def test_a_polled_link_is_stopped_by_its_polling_thread_only(broker: LocalBroker, center_id: str) -> None:
    link = new_link(plain(broker), center_id)
    link.start(polled=True)
    try:
        assert poll_until(link, link.ready.is_set)
        failed: list[BaseException] = []
        other = threading.Thread(target=lambda: failed.extend(_raised(link.stop)))
        other.start()
        other.join(TIMEOUT)
        assert [type(e) for e in failed] == [RuntimeError]
    finally:
        link.stop()


def _raised(call: Callable[[], object]) -> list[BaseException]:
    try:
        call()
    except BaseException as exc:
        return [exc]
    return []


# --- stop ---------------------------------------------------------------------------------------


def test_stop_is_prompt_when_connected_and_when_the_broker_is_down(broker: LocalBroker, center_id: str) -> None:
    link = new_link(plain(broker), center_id)
    link.start()
    assert link.ready.wait(TIMEOUT)
    started = time.monotonic()
    link.stop()
    assert time.monotonic() - started < 1.0

    link = new_link(plain(broker), center_id)
    link.start()
    assert link.ready.wait(TIMEOUT)
    broker.stop()
    assert wait_until(lambda: not link.connected.is_set())
    started = time.monotonic()
    link.stop()
    assert time.monotonic() - started < 1.0
    assert not io_alive(link)


def test_stop_is_prompt_when_the_broker_was_never_there() -> None:
    link = BrokerLink(MqttSettings("127.0.0.1", free_port()), client_id="server", status_topic="s/status")
    link.start()
    assert wait_until(lambda: "refused" in link.broker_error.lower())
    started = time.monotonic()
    link.stop()
    assert time.monotonic() - started < 1.0
    assert not io_alive(link)


# --- reconnection -------------------------------------------------------------------------------


def test_reconnects_and_resubscribes_after_a_broker_restart(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/in/+", received.put)
    events: list[str] = []
    link.on_lost(lambda: events.append("lost"))
    link.on_ready(lambda: events.append("ready"))
    with running(link):
        assert wait_until(lambda: events == ["ready"]), events
        assert link.wait(link.publish(f"{base}/out", b"before"), TIMEOUT)

        broker.stop()
        assert wait_until(lambda: events == ["ready", "lost"]), events
        assert not link.connected.is_set() and not link.ready.is_set()
        assert link.broker_error
        offline = link.publish(f"{base}/out", b"while down")
        assert offline.sent is False
        started = time.monotonic()
        assert link.wait(offline, TIMEOUT) is False
        assert time.monotonic() - started < 0.5

        broker.start()  # same port
        back = time.monotonic()
        assert link.ready.wait(6.0), f"no reconnection: {link.broker_error!r}"
        assert time.monotonic() - back < 4.0
        assert wait_until(lambda: events == ["ready", "lost", "ready"]), events
        assert link.broker_error == ""
        with peer(broker, f"{base}/out") as (other, replies):
            other.publish(f"{base}/in/k1", b"after restart")
            assert received.get(timeout=TIMEOUT).payload == b"after restart"
            assert link.wait(link.publish(f"{base}/out", b"after"), TIMEOUT)
            assert replies.get(timeout=TIMEOUT).payload == b"after"


def test_refused_credentials_are_retried_and_said_without_a_crash(tmp_path: Path, center_id: str) -> None:
    with LocalBroker(tmp_path, anonymous=False) as locked:
        link = new_link(MqttSettings(locked.host, locked.port, username="server", password="wrong"), center_id)
        readies, on_ready = counted()
        link.on_ready(on_ready)
        link.start()
        try:
            assert wait_until(lambda: "0x87" in link.broker_error or "0x86" in link.broker_error), \
                link.broker_error
            assert "refused" in link.broker_error
            # retried: Mosquitto logs each refused CONNECT
            assert wait_until(lambda: locked.log.read_text(errors="replace").count("not authorised") >= 2, 5.0), \
                locked.log.read_text(errors="replace")[-2000:]
            assert io_alive(link)
            assert not link.connected.is_set() and not link.ready.is_set() and not readies
            assert link.publish("x", b"y").sent is False
        finally:
            started = time.monotonic()
            link.stop()
            assert time.monotonic() - started < 1.0


def test_a_frozen_broker_is_noticed_within_the_keepalive_and_rejoined_once_thawed(broker: LocalBroker,
                                                                                   center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker, keepalive_s=2), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/in", received.put)
    lost, on_lost = counted()
    readies, on_ready = counted()
    link.on_lost(on_lost)
    link.on_ready(on_ready)
    with running(link):
        broker.freeze(True)
        frozen = time.monotonic()
        try:
            # a ping after keepalive/2 of silence, lost keepalive later; checked every keepalive/4 at least
            assert wait_until(lambda: lost, 6.0), "the frozen broker was not noticed"
            assert lost[0] - frozen < 5.5  # keepalive/2 to the ping, keepalive to give up, a tick of 0.5 s each
            assert not link.ready.is_set()
        finally:
            broker.freeze(False)
        assert wait_until(lambda: len(readies) == 2, CONNECT_TIMEOUT_S + 4), link.broker_error
        with peer(broker) as (other, _):
            other.publish(f"{base}/in", b"thawed")
            assert received.get(timeout=TIMEOUT).payload == b"thawed"


# --- the broker's Receive Maximum and the bound on waiting publishes ----------------------------


@pytest.fixture
def roomy_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """The shipped tuning, but room for a receiver that falls behind (on a busy machine) past
    max_queued_messages, where Mosquitto would drop what it relays to it: the sender's window is under test."""
    roomy = LocalBroker(tmp_path)
    with roomy.conf.open("a") as conf:
        conf.write("max_queued_messages 5000\n")
    with roomy:
        yield roomy


def test_a_burst_of_2000_publishes_all_arrive_in_order(roomy_broker: LocalBroker, center_id: str) -> None:
    base, broker = root(center_id), roomy_broker
    receiver = new_link(plain(broker), center_id, "receiver")
    received: queue.Queue[Message] = queue.Queue()
    receiver.subscribe(f"{base}/burst", received.put)
    with running(receiver), running(new_link(plain(broker), center_id)) as link:
        assert link._window == 50  # Mosquitto's Receive Maximum: max_inflight_messages in the shipped tuning
        most_in_flight = 0
        deliveries = []
        for index in range(2000):
            deliveries.append(link.publish(f"{base}/burst", str(index).encode()))
            with link._lock:
                most_in_flight = max(most_in_flight, len(link._inflight))
        assert all(delivery.sent for delivery in deliveries)
        assert link.wait(deliveries[-1], TIMEOUT)
        assert all(delivery.acked for delivery in deliveries)
        assert 0 < most_in_flight <= 50
        payloads: list[bytes] = []
        with suppress(queue.Empty):
            while len(payloads) < 2000:
                payloads.append(received.get(timeout=3.0).payload)
        dropped = broker.log.read_text(errors="replace").count("dropped")
        assert payloads == [str(index).encode() for index in range(2000)], (len(payloads), dropped)
        assert received.empty()
        assert link._waiting_bytes == 0 and not link._waiting and not link._inflight


def test_past_the_waiting_bound_the_connection_is_made_again_and_works(broker: LocalBroker, center_id: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_link_module, "MAX_WAITING_BYTES", 20_000)
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/loop", received.put)
    events: list[str] = []
    link.on_lost(lambda: events.append("lost"))
    link.on_ready(lambda: events.append("ready"))
    with running(link):
        broker.freeze(True)  # nothing is acknowledged: past the window, publishes wait
        try:
            deliveries = [link.publish(f"{base}/loop", bytes(1000)) for _ in range(100)]
            assert wait_until(lambda: "lost" in events), "the link did not drop the connection"
            assert sum(link.wait(delivery, 0) for delivery in deliveries) < 50  # the broker stopped at once
            assert link._waiting_bytes == 0 and not link._waiting and not link._inflight and not link._out
        finally:
            broker.freeze(False)
        assert wait_until(lambda: events == ["ready", "lost", "ready"], CONNECT_TIMEOUT_S + 4), events
        assert link.wait(link.publish(f"{base}/loop", b"works again"), TIMEOUT)
        payloads: list[bytes] = []
        while (message := received.get(timeout=TIMEOUT)).payload != b"works again":
            payloads.append(message.payload)  # the first 50 may have been relayed once the broker thawed
        assert len(payloads) <= 50


def test_waiting_publishes_stay_bounded_while_the_io_thread_is_busy(broker: LocalBroker, center_id: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_link_module, "MAX_WAITING_BYTES", 20_000)
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    entered, release = threading.Event(), threading.Event()

    def blocking(_message: Message) -> None:  # as Inbox.put when the state thread's inbox is full
        entered.set()
        release.wait(TIMEOUT)

    link.subscribe(f"{base}/in", blocking)
    with running(link), peer(broker) as (other, _):
        try:
            other.publish(f"{base}/in", b"x")
            assert entered.wait(TIMEOUT)
            most = 0
            for _ in range(2000):
                link.publish(f"{base}/out", bytes(1000))
                most = max(most, link._waiting_bytes)
            assert most <= 20_000 + 1000 + len(f"{base}/out")
        finally:
            release.set()


# --- polled by the caller's thread, as the server runs it ---------------------------------------


def poll_until(link: BrokerLink, condition: Callable[[], object], timeout_s: float = TIMEOUT) -> bool:
    """Poll the link from this thread until `condition` holds (the server's state thread polls between batches)."""
    def polled() -> bool:
        if condition():
            return True
        link.poll(0.05)
        return False

    return wait_until(polled, timeout_s)


def test_a_polled_link_runs_handlers_in_the_polling_thread_and_says_offline_when_stopped(
        broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: list[tuple[bytes, int]] = []
    link.subscribe(f"{base}/in", lambda message: received.append((message.payload, threading.get_ident())))
    readies: list[int] = []
    link.on_ready(lambda: readies.append(threading.get_ident()))
    with watching(broker, center_id, "server/status") as status, peer(broker, f"{base}/out") as (other, replies):
        link.start(polled=True)
        try:
            assert poll_until(link, link.ready.is_set), f"not ready: {link.broker_error!r}"
            assert readies == [threading.get_ident()]
            assert link.wait(link.publish(Topics(center_id).server_status(), ONLINE, retain=True), TIMEOUT), \
                "wait, from the polling thread, polls for the PUBACK itself"
            assert status.next("server/status")[1] == json.loads(ONLINE)
            other.publish(f"{base}/in", b"one")
            other.publish(f"{base}/in", b"two")
            assert poll_until(link, lambda: len(received) == 2)
            assert received == [(b"one", threading.get_ident()), (b"two", threading.get_ident())]
            link.publish(f"{base}/out", b"written at once")  # no poll after it: the publish wrote it
            assert replies.get(timeout=TIMEOUT).payload == b"written at once"
        finally:
            link.stop()
        assert status.next("server/status")[1] == json.loads(OFFLINE)
        with pytest.raises(queue.Empty):  # a will would be a second offline
            status.next("server/status", timeout_s=0.5)


def test_a_publish_from_another_thread_wakes_a_waiting_poll(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    with peer(broker, f"{base}/out") as (_, replies):
        link.start(polled=True)
        try:
            assert poll_until(link, link.ready.is_set)
            threading.Timer(0.2, link.publish, args=(f"{base}/out", b"from elsewhere")).start()
            started = time.monotonic()
            link.poll(5.0)  # woken by the publish, which it writes
            assert time.monotonic() - started < 1.5, "the poll waited out its timeout"
            assert replies.get(timeout=TIMEOUT).payload == b"from elsewhere"
        finally:
            link.stop()


def test_a_polled_link_reads_nothing_while_told_not_to_and_loses_nothing(broker: LocalBroker,
                                                                         center_id: str) -> None:
    """The server's bound: with its inbox full, what devices send waits in the broker."""
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: list[bytes] = []
    link.subscribe(f"{base}/in", lambda message: received.append(message.payload))
    may_read = threading.Event()
    may_read.set()
    link.read_while(may_read.is_set)
    with peer(broker) as (other, _):
        link.start(polled=True)
        try:
            assert poll_until(link, link.ready.is_set)
            may_read.clear()
            for n in range(20):
                other.publish(f"{base}/in", str(n).encode())
            assert not poll_until(link, lambda: received, timeout_s=0.5)
            assert received == []
            may_read.set()
            assert poll_until(link, lambda: len(received) == 20)
            assert received == [str(n).encode() for n in range(20)]
        finally:
            link.stop()


def test_a_polled_link_reconnects_after_a_broker_restart(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: list[bytes] = []
    link.subscribe(f"{base}/in", lambda message: received.append(message.payload))
    events: list[tuple[str, int]] = []
    link.on_lost(lambda: events.append(("lost", threading.get_ident())))
    link.on_ready(lambda: events.append(("ready", threading.get_ident())))
    here = threading.get_ident()
    link.start(polled=True)
    try:
        assert poll_until(link, lambda: events == [("ready", here)]), events
        broker.stop()
        assert poll_until(link, lambda: len(events) == 2), events
        assert events[1] == ("lost", here) and not link.connected.is_set()
        assert link.publish(f"{base}/out", b"while down").sent is False
        broker.start()  # same port
        assert poll_until(link, lambda: len(events) == 3, 6.0), f"no reconnection: {link.broker_error!r}"
        assert events[2] == ("ready", here)
        with peer(broker) as (other, _):
            other.publish(f"{base}/in", b"after restart")
            assert poll_until(link, lambda: received == [b"after restart"])
    finally:
        link.stop()


def test_a_poll_never_waits_on_a_connection_being_made(fake: FakeBroker) -> None:
    link = BrokerLink(fake.settings(), client_id="server", status_topic="s/status")
    link.start(polled=True)
    try:
        connection = fake.accept()
        connection.expect(CONNECT)  # the CONNACK is held back: the connecting thread waits for it, not the poll
        started = time.monotonic()
        link.poll(0.1)
        link.poll(0.1)
        assert time.monotonic() - started < 0.5
        connection.send(packet(CONNACK << 4, b"\x00\x00\x00"))
        assert poll_until(link, link.ready.is_set)
    finally:
        link.stop(timeout_s=0.5)


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files() -> Iterator[TlsFiles]:
    """In a world-traversable folder: Mosquitto drops root for the user `mosquitto` before it reads them."""
    with tempfile.TemporaryDirectory(prefix="qms-tls-") as name:
        folder = Path(name)
        folder.chmod(0o755)
        yield make_tls_files(folder / "broker")


def test_tls_against_a_tls_only_broker(tmp_path: Path, tls_files: TlsFiles, center_id: str) -> None:
    base = root(center_id)
    with LocalBroker(tmp_path, tls=tls_files) as tls_broker:
        settings = MqttSettings(tls_broker.host, tls_broker.port, tls=True, ca_file=tls_files.ca_file)
        receiver = new_link(settings, center_id, "receiver")
        received: queue.Queue[Message] = queue.Queue()
        receiver.subscribe(f"{base}/tls/#", received.put)
        with running(receiver), running(new_link(settings, center_id)) as link:
            # big and many: TLS records split across reads, several packets in one, partial sends; in batches
            # the receiver's queue in the broker holds (max_queued_bytes)
            for batch in range(10):
                numbers = range(batch * 20, (batch + 1) * 20)
                payloads = [bytes([index % 251]) * (index * 997 % 30_000) for index in numbers]
                deliveries = [link.publish(f"{base}/tls/{index % 3}", body) for index, body in enumerate(payloads)]
                assert link.wait(deliveries[-1], TIMEOUT)
                got = [received.get(timeout=TIMEOUT).payload for _ in payloads]
                assert sorted(got) == sorted(payloads)

        plain_link = new_link(MqttSettings(tls_broker.host, tls_broker.port), center_id, "plain")
        with running(plain_link, ready=False):
            assert not plain_link.ready.wait(1.0)
            assert plain_link.broker_error and io_alive(plain_link)


# --- a hostile or broken broker -----------------------------------------------------------------


MALFORMED = {
    "remaining length over 4 bytes": b"\x30\xff\xff\xff\xff\x01",
    "unexpected packet type (PUBREC)": b"\x50\x02\x00\x01",
    "QoS 2 publish": b"\x34\x06\x00\x01a\x00\x01\x00",
    "topic not UTF-8": b"\x30\x04\x00\x01\xff\x00",
    "property block overruns": b"\x30\x05\x00\x01a\x09\x01",
    "DISCONNECT from the broker": b"\xe0\x01\x98",
    "PUBACK without a packet id": b"\x40\x00",
    "PUBACK with one byte": b"\x40\x01\x00",
    "SUBACK without a packet id": b"\x90\x00",
    "SUBACK without a reason code": b"\x90\x03\x00\x01\x00",
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_a_malformed_packet_drops_the_connection_and_the_link_connects_again(fake: FakeBroker, what: str) -> None:
    data = MALFORMED[what]
    with link_on(fake) as (link, _):
        lost, on_lost = counted()
        link.on_lost(on_lost)
        connection = fake.accept()
        connection.connack()
        assert link.ready.wait(TIMEOUT)
        connection.send(data)
        assert connection.closed(TIMEOUT)
        try:
            again = fake.accept(timeout_s=1.8)  # the link tries again 1 s after a lost connection
        except TimeoutError:
            pytest.fail(f"no new connection; the I/O thread is alive: {io_alive(link)}")
        again.connack()
        assert link.ready.wait(TIMEOUT)
        assert len(lost) == 1 and io_alive(link)


def test_a_callback_that_raises_does_not_kill_the_link(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    received: queue.Queue[Message] = queue.Queue()
    link.subscribe(f"{base}/in", received.put)
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a callback's bug")

    link.on_ready(flaky)
    with running(link, ready=False):
        assert wait_until(lambda: calls)
        with peer(broker) as (other, _):
            other.publish(f"{base}/in", b"still served")
            try:
                assert received.get(timeout=1.5).payload == b"still served"
            except queue.Empty:
                pytest.fail(f"the link stopped serving; I/O thread alive: {io_alive(link)}")


def _ready_with_one_subscription_refused(fake: FakeBroker, refused_first: bool) -> bool:
    with link_on(fake, "a", "b") as (link, _):
        connection = fake.accept()
        connection.connack()
        subs = connection.subscriptions(2)
        reasons = (0x87, 0x01) if refused_first else (0x01, 0x87)  # 0x87: not authorized
        for (packet_id, _), reason in zip(subs, reasons, strict=True):
            connection.suback(packet_id, reason)
        ready = link.ready.wait(1.5)
    fake.connections.clear()
    return ready


def test_a_refused_subscription_decides_readiness_whatever_the_order(fake: FakeBroker) -> None:
    assert _ready_with_one_subscription_refused(fake, True) == _ready_with_one_subscription_refused(fake, False)


def test_a_link_that_only_receives_still_pings_within_its_keepalive(fake: FakeBroker) -> None:
    with link_on(fake, keepalive_s=1) as (link, _):
        connection = fake.accept()
        connection.connack()
        assert link.ready.wait(TIMEOUT)
        started = time.monotonic()
        pinged = False
        while not pinged and time.monotonic() - started < 1.6:
            connection.send(publish_packet("s/in", b"qos 0", qos=0))
            with suppress(TimeoutError):
                pinged = connection.next(0.1)[0] >> 4 == PINGREQ
        assert pinged, "no PINGREQ in 1.6 s with a 1 s keepalive"


def test_stop_while_connecting_leaves_offline_or_the_will(fake: FakeBroker) -> None:
    link = BrokerLink(fake.settings(), client_id="server", status_topic="s/status")
    link.start()
    stopper = threading.Thread(target=link.stop, kwargs={"timeout_s": 1.0})
    try:
        connection = fake.accept()
        connection.expect(CONNECT)
        stopper.start()
        assert wait_until(lambda: link._stopping.is_set())
        connection.send(packet(CONNACK << 4, b"\x00\x00\x00"))
        said_offline = False
        try:
            while True:
                first, body = connection.next(3.0)
                if first >> 4 == PUBLISH and parse_publish(first & 0x0F, body).payload == OFFLINE:
                    said_offline = True
                if first >> 4 == DISCONNECT:
                    assert said_offline, "a normal DISCONNECT (no will) without the offline status first"
                    break
        except (EOFError, ConnectionError, TimeoutError):
            pass  # closed without DISCONNECT: the broker sends the will
    finally:
        stopper.join(TIMEOUT)


def test_a_receive_maximum_of_zero_is_refused(fake: FakeBroker) -> None:
    with link_on(fake) as (link, _):
        connection = fake.accept()
        connection.connack(props=b"\x03\x21\x00\x00")
        assert connection.closed(1.0), f"the link kept a connection with window {link._window}"


def test_a_huge_announced_packet_is_refused_before_it_is_buffered(fake: FakeBroker) -> None:
    with link_on(fake) as (link, _):
        connection = fake.accept()
        connection.connack()
        assert link.ready.wait(TIMEOUT)
        connection.send(bytes((PUBLISH << 4,)) + encode_varint(200_000_000) + bytes(4 * 65536))
        assert connection.closed(1.0), "the link keeps buffering a 200 MB packet"


# --- wait(), packet ids, the broker's maximum packet size ---------------------------------------


def test_wait_returns_false_as_soon_as_the_connection_is_lost(broker: LocalBroker, center_id: str) -> None:
    with running(new_link(plain(broker), center_id)) as link:
        broker.freeze(True)  # the publish stays unacknowledged
        delivery = link.publish(f"{root(center_id)}/out", b"never acked")
        assert delivery.sent
        results: list[tuple[bool, float]] = []
        waiter = threading.Thread(target=lambda: results.append((link.wait(delivery, TIMEOUT), time.monotonic())))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive() and not results  # still waiting
        broker.stop(kill=True)
        killed = time.monotonic()
        waiter.join(TIMEOUT)
        assert results and results[0][0] is False and results[0][1] - killed < 1.0
        broker.start()
        assert link.ready.wait(TIMEOUT)
        assert link.wait(link.publish(f"{root(center_id)}/out", b"acked"), TIMEOUT)


def test_wait_for_a_publish_of_an_earlier_connection_returns_at_once(broker: LocalBroker, center_id: str) -> None:
    with running(new_link(plain(broker), center_id)) as link:
        broker.freeze(True)
        delivery = link.publish(f"{root(center_id)}/out", b"never acked")
        broker.stop(kill=True)
        assert wait_until(lambda: not link.connected.is_set())
        broker.start()
        assert link.ready.wait(TIMEOUT)
        started = time.monotonic()
        assert link.wait(delivery, 1.0) is False
        assert time.monotonic() - started < 0.3


def test_a_publish_over_the_brokers_maximum_packet_size_is_not_sent_and_the_link_stays(broker: LocalBroker,
                                                                                       center_id: str) -> None:
    base = root(center_id)
    with running(new_link(plain(broker), center_id)) as link, peer(broker, f"{base}/out") as (_, received):
        assert link._max_packet == 204_800  # max_packet_size in the shipped tuning, told in the CONNACK
        too_big = link.publish(f"{base}/out", bytes(210_000))
        assert too_big.sent is False and link.wait(too_big, TIMEOUT) is False
        assert link.wait(link.publish(f"{base}/out", b"small"), TIMEOUT)
        assert received.get(timeout=TIMEOUT).payload == b"small"
        assert link.connected.is_set()


def test_wait_for_a_waiting_publish_refused_for_its_size_returns_at_once(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    with running(new_link(plain(broker), center_id)) as link:
        broker.freeze(True)
        try:
            small = [link.publish(f"{base}/out", b"x") for _ in range(link._window)]
            too_big = link.publish(f"{base}/out", bytes(210_000))
            assert too_big.sent  # waiting: the window is full
            results: list[tuple[bool, float]] = []
            waiter = threading.Thread(target=lambda: results.append((link.wait(too_big, 1.5), time.monotonic())))
            waiter.start()
        finally:
            broker.freeze(False)
        assert link.wait(small[-1], TIMEOUT)
        acked = time.monotonic()
        waiter.join(TIMEOUT)
        assert too_big.sent is False
        assert results[0][0] is False and results[0][1] - acked < 0.3


def test_packet_ids_skip_those_in_flight_wrap_and_are_never_zero() -> None:
    link = BrokerLink(MqttSettings("127.0.0.1", 1), client_id="server", status_topic="s/status")
    in_flight = {65_535: Delivery(sent=True), 1: Delivery(sent=True), 2: Delivery(sent=True)}
    link._inflight = dict(in_flight)
    link._next_id = 65_534
    with link._lock:
        assert [link._packet_id() for _ in range(3)] == [65_534, 3, 4]


def test_stop_while_a_handler_blocks_waits_for_it_then_says_offline(broker: LocalBroker, center_id: str) -> None:
    """As when the state thread's inbox is full at shutdown: the I/O thread waits in Inbox.put."""
    base = root(center_id)
    link = new_link(plain(broker), center_id)
    entered, release = threading.Event(), threading.Event()

    def blocking(_message: Message) -> None:
        entered.set()
        release.wait(TIMEOUT)

    link.subscribe(f"{base}/in", blocking)
    with watching(broker, center_id, "server/status") as status, peer(broker) as (other, _):
        link.start()
        assert link.ready.wait(TIMEOUT)
        other.publish(f"{base}/in", b"x")
        assert entered.wait(TIMEOUT)
        threading.Timer(0.3, release.set).start()
        started = time.monotonic()
        link.stop(timeout_s=2.0)
        assert time.monotonic() - started < 1.5
        assert not io_alive(link)
        assert status.next("server/status")[1] == json.loads(OFFLINE)


def test_a_publish_that_cannot_be_encoded_does_not_kill_the_io_thread(broker: LocalBroker, center_id: str) -> None:
    base = root(center_id)
    with running(new_link(plain(broker), center_id)) as link:
        broker.freeze(True)
        try:
            small = [link.publish(f"{base}/out", b"x") for _ in range(link._window)]
            unencodable = link.publish(f"{base}/out", b"y", correlation=bytes(70_000))
            assert not unencodable.sent  # refused at once, never queued
        finally:
            broker.freeze(False)
        link.wait(small[-1], TIMEOUT)  # the window opens: _admit takes the unencodable publish
        assert link.ready.wait(1.5) and link.wait(link.publish(f"{base}/out", b"after"), 1.5), \
            f"the I/O thread is alive: {io_alive(link)}"
