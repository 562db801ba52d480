"""The benchmark-only asyncio MQTT 5 client (benchmarks/mqtt5_client.py) against a real Mosquitto."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.mqtt5_client import Message, Mqtt5Client, MqttConnectError
from devkit.local_broker import LocalBroker, free_port

HOST = "127.0.0.1"
TIMEOUT = 10.0


@pytest.fixture
def broker_port(broker: LocalBroker) -> int:
    return broker.port


async def _connect(port: int, client_id: str) -> Mqtt5Client:
    return await asyncio.wait_for(Mqtt5Client.connect(HOST, port, client_id), TIMEOUT)


def test_request_reply_properties_survive_the_broker(broker_port: int) -> None:
    async def scenario() -> Message:
        sub = await _connect(broker_port, "sub")
        pub = await _connect(broker_port, "pub")
        try:
            await asyncio.wait_for(sub.subscribe("t/+/x", qos=1), TIMEOUT)
            await asyncio.wait_for(
                pub.publish(
                    "t/counter-7/x",
                    b"\x00payload\xff",
                    qos=1,
                    response_topic="reply/counter-7",
                    correlation_data=b"\x01\x02corr",
                ),
                TIMEOUT,
            )
            return await sub.next_message(timeout=TIMEOUT)
        finally:
            await pub.close()
            await sub.close()

    message = asyncio.run(scenario())
    assert message == Message(
        topic="t/counter-7/x",
        payload=b"\x00payload\xff",
        correlation_data=b"\x01\x02corr",
        response_topic="reply/counter-7",
        retain=False,
    )


def test_500_concurrent_qos1_publishes_are_all_acked_and_delivered(broker_port: int) -> None:
    count = 500

    async def scenario() -> list[Message]:
        sub = await _connect(broker_port, "sub")
        pub = await _connect(broker_port, "pub")
        try:
            await asyncio.wait_for(sub.subscribe("load/#", qos=1), TIMEOUT)
            publishes = (pub.publish(f"load/{i % 7}", str(i).encode(), qos=1) for i in range(count))
            await asyncio.wait_for(asyncio.gather(*publishes), TIMEOUT)
            return [await sub.next_message(timeout=TIMEOUT) for _ in range(count)]
        finally:
            await pub.close()
            await sub.close()

    received = asyncio.run(scenario())
    assert sorted(int(m.payload) for m in received) == list(range(count))
    assert all(m.topic == f"load/{int(m.payload) % 7}" for m in received)


def test_retained_message_reaches_a_later_subscriber(broker_port: int) -> None:
    async def scenario() -> Message:
        pub = await _connect(broker_port, "pub")
        try:
            await asyncio.wait_for(pub.publish("state/desk-3", b"serving 42", qos=1, retain=True), TIMEOUT)
        finally:
            await pub.close()
        sub = await _connect(broker_port, "late-sub")
        try:
            await asyncio.wait_for(sub.subscribe("state/#", qos=1), TIMEOUT)
            return await sub.next_message(timeout=TIMEOUT)
        finally:
            await sub.close()

    message = asyncio.run(scenario())
    assert (message.topic, message.payload, message.retain) == ("state/desk-3", b"serving 42", True)


def test_on_message_callback_and_large_payload(broker_port: int) -> None:
    payload = bytes(range(256)) * 200  # 51 kB: a 3-byte remaining length, under the broker's 200 KiB packets

    async def scenario() -> list[Message]:
        loop = asyncio.get_running_loop()
        got: asyncio.Future[list[Message]] = loop.create_future()
        seen: list[Message] = []

        def on_message(message: Message) -> None:
            seen.append(message)
            if len(seen) == 2 and not got.done():
                got.set_result(seen)

        sub = await _connect(broker_port, "sub")
        pub = await _connect(broker_port, "pub")
        sub.on_message = on_message
        try:
            await asyncio.wait_for(sub.subscribe("big", qos=1), TIMEOUT)
            await asyncio.wait_for(pub.publish("big", payload, qos=1), TIMEOUT)
            await asyncio.wait_for(pub.publish("big", b"", qos=0), TIMEOUT)
            return await asyncio.wait_for(got, TIMEOUT)
        finally:
            await pub.close()
            await sub.close()

    first, second = asyncio.run(scenario())
    assert first.payload == payload
    assert second.payload == b""


def test_connect_to_closed_port_raises() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises((ConnectionError, OSError)):
        asyncio.run(asyncio.wait_for(Mqtt5Client.connect(HOST, port, "nobody"), TIMEOUT))


def test_refused_connect_raises_connection_error_with_reason_code(tmp_path: Path) -> None:
    with LocalBroker(tmp_path, anonymous=False) as locked, pytest.raises(ConnectionError) as info:
        asyncio.run(_connect(locked.port, "anonymous"))
    assert isinstance(info.value, MqttConnectError)
    assert info.value.reason_code == 0x87  # Not authorized


def test_pingreq_keeps_an_idle_connection_alive(broker_port: int) -> None:
    """With keepalive=1 the broker drops a client silent for 1.5 s; PINGREQs prevent that.

    Mosquitto 2.0 only checks keepalives every 5 s, so the client must stay idle for > 6.5 s
    for this test to mean anything (without the ping task it fails at 6 s, passes at 5 s).
    """

    async def scenario() -> Message:
        client = await asyncio.wait_for(Mqtt5Client.connect(HOST, broker_port, "idle", keepalive=1), TIMEOUT)
        try:
            await asyncio.wait_for(client.subscribe("idle/echo"), TIMEOUT)
            await asyncio.sleep(7)  # deliberately idle: longer than 1.5 x keepalive + the broker's check period
            await asyncio.wait_for(client.publish("idle/echo", b"still here"), TIMEOUT)
            return await client.next_message(timeout=TIMEOUT)
        finally:
            await client.close()

    assert asyncio.run(scenario()).payload == b"still here"
