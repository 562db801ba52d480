"""The patched paho Properties encode and decode exactly as paho's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from paho.mqtt.exception import MalformedPacket, MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from protocol import paho_properties

SAMPLES: list[tuple[int, dict[str, Any]]] = [
    (PacketTypes.PUBLISH, {"ResponseTopic": "qms/v1/c/kiosk/k1/ticket/response", "CorrelationData": b"\x00\x01z"}),
    (PacketTypes.PUBLISH, {"PayloadFormatIndicator": 1, "MessageExpiryInterval": 30, "ContentType": "json",
                           "UserProperty": [("a", "1"), ("b", "Tiếng Việt")], "TopicAlias": 7}),
    (PacketTypes.CONNECT, {"SessionExpiryInterval": 0, "ReceiveMaximum": 100, "MaximumPacketSize": 65536}),
    (PacketTypes.SUBSCRIBE, {"SubscriptionIdentifier": 5}),
]


def build(packet_type: int, values: dict[str, Any]) -> Properties:
    properties = Properties(packet_type)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


def observe(packet_type: int, values: dict[str, Any]) -> tuple[bytes, dict[str, Any], bool, str]:
    packed = build(packet_type, values).pack()  # type: ignore[no-untyped-call]
    unpacked, _ = Properties(packet_type).unpack(packed)  # type: ignore[no-untyped-call]
    empty = Properties(packet_type).isEmpty()  # type: ignore[no-untyped-call]
    cleared = build(packet_type, values)
    cleared.clear()  # type: ignore[no-untyped-call]
    return packed, unpacked.json(), empty and cleared.isEmpty(), str(unpacked)  # type: ignore[no-untyped-call]


@pytest.fixture
def both() -> Iterator[None]:
    yield
    paho_properties.install()


@pytest.mark.parametrize(("packet_type", "values"), SAMPLES)
def test_patched_properties_behave_as_paho_own(both: None, packet_type: int, values: dict[str, Any]) -> None:
    paho_properties.uninstall()
    original = observe(packet_type, values)
    assert paho_properties.install()
    assert observe(packet_type, values) == original


def test_patched_properties_refuse_what_paho_refuses(both: None) -> None:
    assert paho_properties.install()
    with pytest.raises(MQTTException):
        build(PacketTypes.PUBLISH, {"NoSuchProperty": 1})
    with pytest.raises(MQTTException):
        build(PacketTypes.PUBLISH, {"ReceiveMaximum": 10})  # a CONNECT property
    with pytest.raises(MQTTException):
        build(PacketTypes.CONNECT, {"ReceiveMaximum": 0})


def test_a_packet_stuffed_with_user_properties_unpacks_in_one_pass(both: None) -> None:
    """60,000 user properties: paho's own unpack re-slices the buffer each time (minutes here)."""
    assert paho_properties.install()
    pairs = [(f"k{i}", "") for i in range(60_000)]
    body = b"".join(b"\x26" + len(k).to_bytes(2, "big") + k.encode() + b"\x00\x00" for k, _ in pairs)
    packed = VariableByteIntegers.encode(len(body)) + body  # type: ignore[no-untyped-call]
    unpacked, used = Properties(PacketTypes.PUBLISH).unpack(packed)  # type: ignore[no-untyped-call]
    assert used == len(packed)
    assert unpacked.UserProperty == pairs


@pytest.mark.parametrize(
    "packed",
    [
        b"\x05\x08\x00\x05ab",  # a string longer than the properties
        b"\x03\x09\x00",  # binary data cut short
        b"\x02\x02\x00",  # a four-byte integer cut short
        b"\x04\x0b\xff\xff\xff",  # a variable byte integer that never ends
        b"\x02\xff\x01",  # an unknown property identifier
        b"\x09\x08\x00\x06ab\x00cd",  # a null character in a string
        b"\x06\x08\x00\x03\xc3\x28\x41",  # invalid UTF-8
        b"\x0a\x08\x00\x01a\x08\x00\x01b",  # a Response Topic twice
    ],
)
def test_malformed_properties_are_refused_as_paho_refuses_them(both: None, packed: bytes) -> None:
    paho_properties.uninstall()
    with pytest.raises(Exception):  # noqa: B017 (paho raises several kinds, ours MalformedPacket/MQTTException)
        Properties(PacketTypes.PUBLISH).unpack(packed)  # type: ignore[no-untyped-call]
    assert paho_properties.install()
    with pytest.raises((MalformedPacket, MQTTException)):
        Properties(PacketTypes.PUBLISH).unpack(packed)  # type: ignore[no-untyped-call]
