"""A faster `paho.mqtt.properties.Properties`: the same behaviour, without per-message table builds.

paho-mqtt 2.x rebuilds two 40-entry lookup tables in `Properties.__init__` for every message
that carries properties, and finds names by scanning them with `str.replace` on each entry.
Every request and reply of the contract carries properties (Response Topic, Correlation
Data), so on the central server this was the largest single cost after the socket calls.
`install()` swaps in methods that share the tables built once and look names up in dicts.
Packing and unpacking are untouched; tests/unit/test_paho_properties.py checks that the
patched class encodes and decodes exactly as the original.
"""

from __future__ import annotations

import logging
from typing import Any

import paho.mqtt
from paho.mqtt.exception import MQTTException
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
            ("__init__", "__setattr__", "getIdentFromName", "getNameFromIdent", "clear", "isEmpty")}


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
    if ident in (11, 38):  # Subscription Identifier and User Property may repeat
        if not isinstance(value, list):
            value = [value]
        if name in self.__dict__:
            value = self.__dict__[name] + value
    object.__setattr__(self, name, value)


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
               "getNameFromIdent": _name_from_ident, "clear": _clear, "isEmpty": _is_empty}
    for name, function in patches.items():
        setattr(Properties, name, function)
    return True


def uninstall() -> None:
    """Restore paho's own methods (for tests that compare both)."""
    global _tables
    for name, function in ORIGINAL.items():
        setattr(Properties, name, function)
    _tables = None
