"""The patched paho Properties encode and decode exactly as paho's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

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
