"""A real Mosquitto running exactly what `central_server provision` wrote: who may connect, publish and read.

The expectations below are written out by hand from the issues (a kiosk publishes only its own ticket
requests, a counter only its own commands and ratings, boards only read, only the server writes the
retained state, config and calls, nobody anonymous; a device reads only what it is sent, never its own
requests, so that it cannot make the broker queue its own flood for it; the staff console asks for counters
only on its own request topic and reads the live state, never a counter's commands or its own status), not
derived from the ACL code under test.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central_server.__main__ import main as server_main
from devkit.local_broker import LocalBroker, free_port
from tests.central_server.test_provision import center_file
from tests.harness import ROOT, TIMEOUT

CENTER = "rach-gia"
ROOT_TOPIC = f"qms/v1/{CENTER}"
TOPICS = [
    "config", "server/status", "board/state", "board/call",
    "kiosk/k1/ticket/request", "kiosk/k1/ticket/response", "kiosk/k2/ticket/request", "kiosk/k2/ticket/response",
    "kiosk/k1/ticket/response/more", "kiosk/k1/other",
    "counter/1/command", "counter/1/command/response", "counter/1/rating", "counter/1/rating/ack", "counter/1/state",
    "counter/1/state/more", "counter/1/other", "counter/2/command", "counter/2/rating", "counter/2/state",
    "device/k1/status", "device/k2/status", "device/board-1/status", "device/counter-1/status",
    "device/counter-2/status", "admin/manager/request", "admin/manager/response", "admin/other/request",
    "floor", "console/console-1/request", "console/console-1/response", "console/console-1/other",
    "console/console-2/request", "console/console-2/response", "device/console-1/status", "device/console-2/status",
    "queue", "web/web-1/request", "web/web-1/response", "web/web-1/other", "web/web-2/request", "web/web-2/response",
    "device/web-1/status",
]
MAY_WRITE = {
    "kiosk-k1": {"kiosk/k1/ticket/request", "device/k1/status"},
    "counter-1": {"counter/1/command", "counter/1/rating", "device/counter-1/status"},
    "board-board-1": {"device/board-1/status"},
    "admin": {"admin/manager/request"},  # the manager's tools (`central_server void`) ask the server, nothing else
    # the staff console asks for counters through the server only: no counter's command, no kiosk's request, no
    # retained state
    "console-console-1": {"console/console-1/request", "device/console-1/status"},
    # the citizen web faces the internet: it looks tickets up and passes phone ratings on, nothing else
    "web-web-1": {"web/web-1/request", "device/web-1/status"},
}
MAY_READ = {  # what each agent subscribes to (kiosk/agent.py, rating_terminal/agent.py, display_board/agent.py)
    "kiosk-k1": {"config", "server/status", "kiosk/k1/ticket/response"},
    "kiosk-k2": {"config", "server/status", "kiosk/k2/ticket/response"},
    "counter-1": {"config", "server/status", "counter/1/command/response", "counter/1/rating/ack", "counter/1/state"},
    "board-board-1": {"config", "server/status", "board/state", "board/call", "counter/1/state", "counter/2/state"},
    "admin": {"admin/manager/response"},
    # the console's pages: its answers, the floor, the board and every counter's state, and every other device's
    # status (not its own, which it writes; not counter/+/command)
    "console-console-1": {"config", "server/status", "floor", "board/state", "counter/1/state", "counter/2/state",
                          "console/console-1/response", "device/k1/status", "device/k2/status",
                          "device/board-1/status", "device/counter-1/status", "device/counter-2/status",
                          "device/web-1/status"},
    # the citizen web: its answers, the config, the queue and the server's status; no counter, floor or board
    "web-web-1": {"config", "server/status", "queue", "web/web-1/response"},
}
USERS = {"server": f"{CENTER}-server", "kiosk-k1": f"{CENTER}-kiosk-k1", "kiosk-k2": f"{CENTER}-kiosk-k2",
         "board-board-1": f"{CENTER}-board-board-1", "counter-1": f"{CENTER}-counter-1",
         "counter-2": f"{CENTER}-counter-2", "admin": f"{CENTER}-admin",
         "console-console-1": f"{CENTER}-console-console-1", "web-web-1": f"{CENTER}-web-web-1"}


class Client:
    """A bare paho MQTT 5 client that records what the broker did: CONNACK, SUBACKs, messages."""

    def __init__(self, port: int, username: str | None, password: str | None, *, ca: Path | None = None,
                 client_id: str | None = None) -> None:
        self.messages: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._connack: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._subacks: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self.disconnected = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex,
                             protocol=mqtt.MQTTv5)
        if username is not None:
            client.username_pw_set(username, password)
        if ca is not None:
            client.tls_set(ca_certs=str(ca))
        client.on_connect = lambda _c, _u, _f, reason, _p: self._connack.put(reason.value)
        client.on_subscribe = lambda _c, _u, _m, reasons, _p: self._subacks.put([r.value for r in reasons])
        client.on_message = lambda _c, _u, message: self.messages.put((message.topic, bytes(message.payload)))
        client.on_disconnect = self._on_disconnect
        self.client = client
        self.reason: int | None = None
        try:
            client.connect("127.0.0.1", port, keepalive=30)
        except OSError:
            return
        client.loop_start()
        try:
            self.reason = self._connack.get(timeout=5)
        except queue.Empty:
            self.reason = None

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnected = True

    @property
    def accepted(self) -> bool:
        return self.reason == 0

    def subscribe(self, topic: str) -> list[int]:
        self.client.subscribe(topic, qos=1)
        return self._subacks.get(timeout=TIMEOUT)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT)

    def received_until(self, sentinel: bytes) -> dict[str, bytes]:
        """Every message up to `sentinel`: the broker keeps one publisher's order, so nothing else is coming."""
        seen: dict[str, bytes] = {}
        while True:
            topic, payload = self.messages.get(timeout=TIMEOUT)
            if payload == sentinel:
                return seen
            seen[topic] = payload

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def traversable_dir() -> Iterator[Path]:
    """Mosquitto drops to its own user before reading its files: pytest's 0700 tmp_path is closed to it."""
    folder = Path(tempfile.mkdtemp(prefix="qms-provision-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def provisioned_broker(folder: Path, *tls: str) -> tuple[Path, LocalBroker]:
    port = free_port()
    out = folder / "out"
    code = server_main(["provision", "--config", str(center_file(folder)), "--out", str(out), "--broker-host",
                        "localhost", "--bind", "127.0.0.1", "--port", str(port), "--state-dir", str(folder),
                        "--mosquitto-dir", str(out / "server" / "mosquitto"), *tls])
    assert code == 0
    broker = LocalBroker(folder, port, config=out / "server" / "mosquitto" / "qms.conf")
    broker.start()
    return out, broker


def password(out: Path, name: str) -> str:
    where = out / "server" / "admin.password" if name == "admin" else out / name / "mqtt.password"
    return where.read_text().strip()


@pytest.fixture
def secured(traversable_dir: Path) -> Iterator[tuple[Path, LocalBroker]]:
    out, broker = provisioned_broker(traversable_dir)
    try:
        yield out, broker
    finally:
        broker.stop()


def connect(out: Path, broker: LocalBroker, name: str, **extra: object) -> Client:
    client = Client(broker.port, USERS[name], password(out, name), **extra)  # type: ignore[arg-type]
    assert client.accepted, f"{name} was refused: {client.reason}"
    return client


def test_the_broker_listens_only_where_it_was_told(secured: tuple[Path, LocalBroker]) -> None:
    _, broker = secured
    opened = [line for line in broker.log.read_text().splitlines() if "listen socket" in line]
    assert opened and all(line.endswith(f"on port {broker.port}.") for line in opened), opened


def test_nobody_gets_in_without_their_own_password(secured: tuple[Path, LocalBroker]) -> None:
    out, broker = secured
    attempts = {
        "anonymous": Client(broker.port, None, None),
        "wrong password": Client(broker.port, USERS["kiosk-k1"], "not-the-password"),
        "another device's password": Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k2")),
        "unknown user": Client(broker.port, "rach-gia-kiosk-k9", password(out, "kiosk-k1")),
    }
    for what, client in attempts.items():
        assert client.reason in (134, 135), f"{what}: CONNACK {client.reason}"  # bad credentials / not authorised
        client.close()
    good = connect(out, broker, "kiosk-k1")
    good.close()


def test_each_role_publishes_only_its_own_topics(secured: tuple[Path, LocalBroker]) -> None:
    out, broker = secured
    observer = connect(out, broker, "server")
    assert observer.subscribe(f"{ROOT_TOPIC}/#") == [1]
    for name, allowed in MAY_WRITE.items():
        client = connect(out, broker, name)
        for topic in TOPICS:
            client.publish(f"{ROOT_TOPIC}/{topic}", f"{name} {topic}".encode())
        sentinel = f"{name} done".encode()
        client.publish(f"{ROOT_TOPIC}/{sorted(allowed)[0]}", sentinel)
        arrived = observer.received_until(sentinel)
        assert set(arrived) == {f"{ROOT_TOPIC}/{t}" for t in allowed}, name
        client.close()
    observer.close()


def test_each_role_reads_only_its_own_topics(secured: tuple[Path, LocalBroker]) -> None:
    out, broker = secured
    readers = {name: connect(out, broker, name) for name in MAY_READ}
    for reader in readers.values():
        for topic in TOPICS:
            reader.subscribe(f"{ROOT_TOPIC}/{topic}")
        reader.subscribe(f"{ROOT_TOPIC}/counter/+/command")  # a wildcard gets no further than the ACL either
        reader.subscribe("#")
        reader.subscribe("$SYS/#")
    server = connect(out, broker, "server")
    for topic in TOPICS:
        server.publish(f"{ROOT_TOPIC}/{topic}", f"server {topic}".encode())
    server.publish(f"{ROOT_TOPIC}/config", b"sentinel")
    server.publish(f"{ROOT_TOPIC}/admin/manager/response", b"sentinel")  # the manager's tool reads only that
    for name, reader in readers.items():
        arrived = reader.received_until(b"sentinel")
        assert set(arrived) == {f"{ROOT_TOPIC}/{t}" for t in MAY_READ[name]}, name
        reader.close()
    server.close()


def test_the_console_cannot_write_retained_state(secured: tuple[Path, LocalBroker]) -> None:
    """What the console publishes retained on the server's topics is not kept for anyone who subscribes later."""
    out, broker = secured
    console = connect(out, broker, "console-console-1")
    for topic in ("config", "server/status", "floor", "board/state", "board/call", "counter/1/state",
                  "device/k1/status"):
        console.client.publish(f"{ROOT_TOPIC}/{topic}", b"forged", qos=1, retain=True).wait_for_publish(TIMEOUT)
    console.close()
    observer = connect(out, broker, "server")
    assert observer.subscribe(f"{ROOT_TOPIC}/#") == [1]  # retained messages come right after the SUBACK
    observer.publish(f"{ROOT_TOPIC}/config", b"sentinel")
    assert observer.received_until(b"sentinel") == {}
    observer.close()


def test_the_provisioned_console_reaches_the_provisioned_server_over_tls(traversable_dir: Path) -> None:
    """The console's written [mqtt] table (mqtts URL, user, password file, CA) gets it in, and through its read
    rights it sees the real server's retained config and its online status."""
    out, broker = provisioned_broker(traversable_dir, "--tls")
    folder = out / "console-console-1"
    mqtt_table = tomllib.loads((folder / "console.toml").read_text(encoding="utf-8"))["mqtt"]
    assert mqtt_table["url"] == f"mqtts://localhost:{broker.port}"
    server = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(out / "server" / "center.toml")],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    console = Client(broker.port, mqtt_table["username"], (folder / mqtt_table["password_file"]).read_text().strip(),
                     ca=folder / mqtt_table["ca_file"])
    try:
        assert console.accepted
        console.subscribe(f"{ROOT_TOPIC}/server/status")
        while json.loads(console.messages.get(timeout=TIMEOUT)[1]).get("online") is not True:
            pass
        console.subscribe(f"{ROOT_TOPIC}/config")
        topic, payload = console.messages.get(timeout=TIMEOUT)
        assert topic == f"{ROOT_TOPIC}/config" and json.loads(payload)["center"]["id"] == CENTER
    finally:
        console.close()
        server.terminate()
        server.wait(TIMEOUT)
        broker.stop()


def test_nobody_reads_or_writes_another_centers_topics(secured: tuple[Path, LocalBroker]) -> None:
    out, broker = secured
    server = connect(out, broker, "server")
    server.subscribe("qms/v1/other/#")
    server.subscribe(f"{ROOT_TOPIC}/kiosk/k1/ticket/request")
    server.publish("qms/v1/other/board/call", b"from the server")  # acknowledged before the sentinel is sent
    kiosk = connect(out, broker, "kiosk-k1")
    kiosk.publish("qms/v1/other/kiosk/k1/ticket/request", b"from the kiosk")
    kiosk.publish(f"{ROOT_TOPIC}/kiosk/k1/ticket/request", b"sentinel")
    assert server.received_until(b"sentinel") == {}
    server.close()
    kiosk.close()


def test_a_client_id_cannot_be_used_to_take_over_another_device(secured: tuple[Path, LocalBroker]) -> None:
    out, broker = secured
    server = connect(out, broker, "server", client_id=USERS["server"])  # as the real server's default client id
    intruder = connect(out, broker, "kiosk-k1", client_id=USERS["server"])  # the %c spoof of DESIGN.md
    server.subscribe(f"{ROOT_TOPIC}/config")
    intruder.publish(f"{ROOT_TOPIC}/device/k1/status", b"still here")
    server.publish(f"{ROOT_TOPIC}/config", b"sentinel")
    assert server.received_until(b"sentinel") == {}
    assert not server.disconnected
    intruder.close()
    server.close()


def test_tls_works_and_a_plain_client_cannot_use_the_tls_listener(traversable_dir: Path) -> None:
    out, broker = provisioned_broker(traversable_dir, "--tls")
    try:
        secure = Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k1"), ca=out / "kiosk-k1" / "ca.crt")
        assert secure.accepted
        secure.close()
        plain = Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k1"))
        assert not plain.accepted
        plain.close()
        stranger = traversable_dir / "stranger"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(traversable_dir / "k"), "-out", str(stranger), "-days", "1",
                        "-subj", "/CN=stranger"], capture_output=True, check=True)
        untrusted = Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k1"), ca=stranger)
        assert not untrusted.accepted  # the devices trust the center's CA only
        untrusted.close()
    finally:
        broker.stop()


def first_ticket(kiosk: Client, *, watcher: Client) -> dict[str, Any]:
    """Once `watcher` sees the server online, kiosk k1 asks for a ticket: the server's answer."""
    watcher.subscribe(f"{ROOT_TOPIC}/server/status")
    while json.loads(watcher.messages.get(timeout=TIMEOUT)[1]).get("online") is not True:
        pass
    kiosk.subscribe(f"{ROOT_TOPIC}/kiosk/k1/ticket/response")
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = f"{ROOT_TOPIC}/kiosk/k1/ticket/response"
    body = json.dumps({"v": 1, "request_id": "r1", "area": "dat-dai"}).encode()
    kiosk.client.publish(f"{ROOT_TOPIC}/kiosk/k1/ticket/request", body, qos=1, properties=properties)
    reply: dict[str, Any] = json.loads(kiosk.messages.get(timeout=TIMEOUT)[1])
    return reply


def test_the_provisioned_server_and_kiosk_talk_over_tls(traversable_dir: Path) -> None:
    """The whole chain: the server runs its written config (mqtts, user, password file, CA) and a kiosk
    with its written credentials gets a ticket."""
    out, broker = provisioned_broker(traversable_dir, "--tls")
    kiosk = Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k1"), ca=out / "kiosk-k1" / "ca.crt")
    board = Client(broker.port, USERS["board-board-1"], password(out, "board-board-1"), ca=out / "kiosk-k1" / "ca.crt")
    server = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(out / "server" / "center.toml")],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ, "QMS_LOG_LEVEL": "INFO"})
    try:
        reply = first_ticket(kiosk, watcher=board)
        assert reply["ok"] is True and reply["ticket"]["number"] == "1001", reply
        voided = subprocess.run([sys.executable, "-m", "central_server", "void", "--config",
                                 str(out / "server" / "center.toml"), "--kiosk", "k1", "--from", "00:00", "--to",
                                 "23:59", "--by", "Trần Thị Quản"], cwd=ROOT, capture_output=True, text=True,
                                timeout=TIMEOUT)  # as the manager's own user, over TLS
        assert voided.returncode == 0 and voided.stdout.startswith("Đã huỷ 1 phiếu của ki-ốt k1"), voided
    finally:
        server.terminate()
        output = server.communicate(timeout=TIMEOUT)[0].decode(errors="replace")
        kiosk.close()
        board.close()
        broker.stop()
    assert server.returncode == 0, output


def test_the_provisioned_counter_terminal_gets_what_it_must_read(traversable_dir: Path) -> None:
    """The real terminal process on the config `provision` wrote (its pins scripted), over TLS: the answer to
    its command, its counter's state (the rating window arms the buttons) and its rating's ack all reach it
    through the narrower read rights."""
    out, broker = provisioned_broker(traversable_dir, "--tls")
    config = out / "counter-1" / "counter.toml"
    kiosk = Client(broker.port, USERS["kiosk-k1"], password(out, "kiosk-k1"), ca=out / "kiosk-k1" / "ca.crt")
    server = subprocess.Popen([sys.executable, "-m", "central_server", "--config", str(out / "server" / "center.toml")],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = traversable_dir / "terminal.log"
    with log.open("w") as log_file:
        terminal = subprocess.Popen([sys.executable, "-m", "devkit.run", "rating_terminal", "--config", str(config),
                                     "--scripted"], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                    bufsize=1)
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def read() -> None:
        for line in terminal.stdout or ():
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()

    def expect(wanted: str) -> None:
        seen: list[str] = []
        while not (seen and seen[-1].startswith(wanted)):
            try:
                seen.append(lines.get(timeout=TIMEOUT))
            except queue.Empty:
                raise AssertionError(f"no {wanted!r}: the terminal said {seen}; its log: {log.read_text()}") from None

    def press(line: str) -> None:
        assert terminal.stdin is not None
        terminal.stdin.write(line + "\n")
        terminal.stdin.flush()

    try:
        assert first_ticket(kiosk, watcher=kiosk)["ok"] is True
        deadline = time.monotonic() + TIMEOUT
        signal = ""
        while signal != "signal ok":  # a key is ignored until the terminal is ready, refused while it is offline
            assert time.monotonic() < deadline, f"the terminal's Next never worked; its log: {log.read_text()}"
            press("key next")
            try:
                while (signal := lines.get(timeout=TIMEOUT if signal == "signal busy" else 1.0)) not in (
                        "signal ok", "signal failed"):
                    pass  # "signal busy": its command is on its way (counter/1/command/response brings the answer)
            except queue.Empty:
                signal = ""
        press("key finish")
        expect("armed very_satisfied satisfied dissatisfied")  # counter/1/state opened the rating window
        press("rate satisfied")
        expect("thanks satisfied")
        deadline = time.monotonic() + TIMEOUT
        while True:  # counter/1/rating/ack: the outbox marks the rating done
            with sqlite3.connect(traversable_dir / "outbox.db") as db:
                if db.execute("SELECT count(*) FROM ratings WHERE done_at IS NOT NULL").fetchone()[0] == 1:
                    break
            assert time.monotonic() < deadline, "the rating's ack never reached the terminal"
            time.sleep(0.05)  # polling the terminal's outbox from outside
    finally:
        for process in (terminal, server):
            process.terminate()
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        kiosk.close()
        broker.stop()
