"""A faster `paho.mqtt.properties.Properties`: the same behaviour, without per-message table builds.

paho-mqtt 2.x rebuilds two 40-entry lookup tables in `Properties.__init__` for every message
that carries properties, and finds names by scanning them with `str.replace` on each entry.
Every request and reply of the contract carries properties (Response Topic, Correlation
Data), so on the central server this was the largest single cost after the socket calls.
`install()` swaps in methods that share the tables built once and look names up in dicts.
Packing is untouched; tests/protocol/test_paho_properties.py checks that the
patched class encodes and decodes exactly as the original. `unpack` also reads in one pass:
paho's re-slices the rest of the buffer after each property, so a packet stuffed with user
properties took the network thread seconds to minutes (quadratic) before the handler ran.
"""

from __future__ import annotations

import logging
from typing import Any

import paho.mqtt
from paho.mqtt.exception import MalformedPacket, MQTTException
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

_PRIVATE = frozenset({"packetType", "types", "names", "properties"})
_RANGES = {
    "ReceiveMaximum": (1, 65535),
    "TopicAlias": (1, 65535),
    "TopicAliasMaximum": (0, 65535),
    "MaximumPacketSize": (1, 268435455),
    "SubscriptionIdentifier": (1, 268435455),
    "RequestResponseInformation": (0, 1),
    "RequestProblemInformation": (0, 1),
    "PayloadFormatIndicator": (0, 1),
}
ORIGINAL = {name: getattr(Properties, name) for name in
            ("__init__", "__setattr__", "getIdentFromName", "getNameFromIdent", "clear", "isEmpty", "unpack")}


class _Tables:
    def __init__(self) -> None:
        prototype = Properties.__new__(Properties)
        ORIGINAL["__init__"](prototype, 0)
        self.types: list[str] = prototype.types
        self.names: dict[str, int] = prototype.names
        self.properties: dict[int, tuple[int, list[int]]] = prototype.properties
        self.ident_of = {name.replace(" ", ""): ident for name, ident in self.names.items()}
        self.name_of = {ident: name for name, ident in self.names.items()}


_tables: _Tables | None = None


def _init(self: Any, packetType: int) -> None:
    assert _tables is not None
    object.__setattr__(self, "packetType", packetType)
    object.__setattr__(self, "types", _tables.types)
    object.__setattr__(self, "names", _tables.names)
    object.__setattr__(self, "properties", _tables.properties)


def _ident_from_name(self: Any, compressed_name: str) -> int:
    assert _tables is not None
    return _tables.ident_of.get(compressed_name, -1)


def _name_from_ident(self: Any, identifier: int) -> str | None:
    assert _tables is not None
    return _tables.name_of.get(identifier)


def _setattr(self: Any, name: str, value: Any) -> None:
    assert _tables is not None
    name = name.replace(" ", "")
    if name in _PRIVATE:
        object.__setattr__(self, name, value)
        return
    ident = _tables.ident_of.get(name)
    if ident is None:
        raise MQTTException(f"Property name must be one of {_tables.names.keys()}")
    if self.packetType not in _tables.properties[ident][1]:
        raise MQTTException(f"Property {name} does not apply to packet type {self.packetType}")
    if not isinstance(value, list) and name in _RANGES:
        low, high = _RANGES[name]
        if not low <= value <= high:
            raise MQTTException(f"{name} property value must be in the range {low}-{high}")
    if ident in _REPEATABLE:
        if not isinstance(value, list):
            value = [value]
        if name in self.__dict__:  # in place: paho's `old + new` made many user properties quadratic
            self.__dict__[name].extend(value)
            return
        value = list(value)
    object.__setattr__(self, name, value)


_REPEATABLE = (11, 38)  # Subscription Identifier and User Property
_BYTE, _TWO, _FOUR, _VARINT, _BINARY, _UTF8, _PAIR = range(7)  # paho's `types` order


def _unpack(self: Any, buffer: bytes) -> tuple[Any, int]:
    """paho's `unpack` in one pass over the buffer (paho re-slices the rest after each property)."""
    assert _tables is not None
    self.clear()
    data = bytes(buffer)
    length, pos = _varint(data, 0)
    end = pos + length
    if end > len(data):
        raise MalformedPacket("properties longer than the packet")
    while pos < end:
        ident, pos = _varint(data, pos, end)
        if ident not in _tables.properties:
            raise MalformedPacket(f"unknown property identifier {ident}")
        value, pos = _read(data, pos, end, _tables.properties[ident][0])
        name = _tables.name_of[ident]
        if ident not in _REPEATABLE and name.replace(" ", "") in self.__dict__:
            raise MQTTException(f"Property '{name}' must not exist more than once")
        setattr(self, name, value)
    return self, end


def _varint(data: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    limit = len(data) if end is None else end
    value = 0
    for shift in range(0, 28, 7):
        if pos >= limit:
            raise MalformedPacket("truncated Variable Byte Integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise MalformedPacket("Variable Byte Integer is more than four bytes long")


def _read(data: bytes, pos: int, end: int, kind: int) -> tuple[Any, int]:
    if kind == _VARINT:
        return _varint(data, pos, end)
    if kind == _PAIR:
        key, pos = _read(data, pos, end, _UTF8)
        value, pos = _read(data, pos, end, _UTF8)
        return (key, value), pos
    width = {_BYTE: 1, _TWO: 2, _FOUR: 4}.get(kind)
    if width is not None:
        if pos + width > end:
            raise MalformedPacket("truncated property")
        return int.from_bytes(data[pos : pos + width], "big"), pos + width
    if pos + 2 > end:
        raise MalformedPacket("Not enough data to read length")
    size = int.from_bytes(data[pos : pos + 2], "big")
    start, stop = pos + 2, pos + 2 + size
    if stop > end:
        raise MalformedPacket("Length delimited data too long")
    if kind == _BINARY:
        return data[start:stop], stop
    try:
        text = data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPacket("invalid UTF-8 in a property") from None
    if "\x00" in text or "\ufeff" in text:
        raise MalformedPacket("[MQTT-1.5.4] null or U+FEFF in UTF-8 data")
    return text, stop


def _present(self: Any) -> list[str]:
    assert _tables is not None
    return [name for name in self.__dict__ if name in _tables.ident_of]


def _clear(self: Any) -> None:
    for name in _present(self):
        delattr(self, name)


def _is_empty(self: Any) -> bool:
    return not _present(self)


def install() -> bool:
    """Patch `Properties` once; leaves an unknown paho release alone. Returns whether it patched."""
    global _tables
    if _tables is not None:
        return True
    if not paho.mqtt.__version__.startswith("2."):
        log.info("paho-mqtt %s: Properties left as they are", paho.mqtt.__version__)
        return False
    _tables = _Tables()
    patches = {"__init__": _init, "__setattr__": _setattr, "getIdentFromName": _ident_from_name,
               "getNameFromIdent": _name_from_ident, "clear": _clear, "isEmpty": _is_empty, "unpack": _unpack}
    for name, function in patches.items():
        setattr(Properties, name, function)
    return True


def uninstall() -> None:
    """Restore paho's own methods (for tests that compare both)."""
    global _tables
    for name, function in ORIGINAL.items():
        setattr(Properties, name, function)
    _tables = None
