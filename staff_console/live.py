"""What the console knows of the center, from the retained topics it reads; and what each page is shown of it.

Pure: `take(topic, payload)` is fed each message (from the MQTT thread, under the caller's lock); the views are
plain JSON-ready dicts for the pages, which render them in the browser. Every payload is checked with the
contract's own decoders before it is believed: a message that does not decode changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocol.errors import BadMessage
from protocol.messages import (
    PRIORITY_LABELS,
    RATING_LABELS,
    CenterConfigMessage,
    CounterStateMessage,
    FloorState,
    Status,
    parse_object,
)
from protocol.topics import Topics

MAX_DEVICES = 1_000  # device statuses kept (a center has a few dozen; a flood of made-up ids is bounded)


@dataclass(slots=True)
class Live:
    """The last good payload of each retained topic the console reads, decoded to JSON objects."""

    topics: Topics
    config: dict[str, Any] | None = None
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    floor: dict[str, Any] | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    server_online: bool = False
    connected: bool = False  # the console reaches the broker and reads these topics
    version: int = 0  # bumped by every change a page may show

    def take(self, topic: str, payload: bytes) -> bool:
        """Believe one message; True when it changed what a page shows."""
        root = self.topics.root + "/"
        if not topic.startswith(root):
            return False
        parts = topic[len(root):].split("/")
        try:
            changed = self._take(parts, payload)
        except BadMessage:
            return False
        if changed:
            self.version += 1
        return changed

    def _take(self, parts: list[str], payload: bytes) -> bool:
        match parts:
            case ["config"]:
                CenterConfigMessage.from_wire(payload)
                return self._set("config", parse_object(payload))
            case ["floor"]:
                FloorState.from_wire(payload)
                return self._set("floor", parse_object(payload))
            case ["counter", counter_id, "state"]:
                CounterStateMessage.from_wire(payload)
                body = parse_object(payload)
                if self.counters.get(counter_id) == body:
                    return False
                self.counters[counter_id] = body
                return True
            case ["device", device_id, "status"]:
                status = Status.from_wire(payload)
                body = {"online": status.online, "printer": status.extra.get("printer")}
                if self.devices.get(device_id) == body:
                    return False
                if device_id not in self.devices and len(self.devices) >= MAX_DEVICES:
                    return False
                self.devices[device_id] = body
                return True
            case ["server", "status"]:
                online = Status.from_wire(payload).online
                changed = online != self.server_online
                self.server_online = online
                return changed
        return False

    def _set(self, name: str, body: dict[str, Any]) -> bool:
        if getattr(self, name) == body:
            return False
        setattr(self, name, body)
        return True

    def set_connected(self, connected: bool) -> bool:
        changed = connected != self.connected
        self.connected = connected
        if changed:
            self.version += 1
        return changed

    # --- what the pages are shown ------------------------------------------------------------

    def names(self) -> dict[str, Any]:
        """The center's names for ids: areas, counters, priority groups and rating levels, in Vietnamese."""
        config = self.config or {}
        return {
            "center": (config.get("center") or {}).get("name", ""),
            "timezone": (config.get("center") or {}).get("timezone", "Asia/Ho_Chi_Minh"),
            "areas": {area["id"]: area["name"] for area in config.get("areas", [])},
            "counters": {counter["id"]: counter["name"] for counter in config.get("counters", [])},
            "priorities": {**{category: category for category in config.get("priority_categories", [])},
                           **PRIORITY_LABELS},
            "levels": [[level, RATING_LABELS.get(level, level)] for level in config.get("rating_levels", [])],
        }

    def counter_ids(self) -> list[str]:
        return [counter["id"] for counter in (self.config or {}).get("counters", [])]

    def counter_view(self, counter_id: str) -> dict[str, Any]:
        """One counter's page: its state, the areas it serves (waiting, oldest) and where a transfer may go."""
        config = self.config or {}
        spec = next((c for c in config.get("counters", []) if c["id"] == counter_id), None)
        served = set(spec["areas"]) if spec else set()
        floor_areas = {area["id"]: area for area in (self.floor or {}).get("areas", [])}
        floor_counter = next((c for c in (self.floor or {}).get("counters", []) if c["id"] == counter_id), None)
        return {
            "kind": "counter",
            "version": self.version,
            "connected": self.connected and self.server_online,
            "counter_id": counter_id,
            "known": spec is not None,
            "state": self.counters.get(counter_id),
            "floor": floor_counter,
            "areas": [floor_areas.get(area["id"], {"id": area["id"], "name": area["name"]})
                      for area in config.get("areas", []) if area["id"] in served],
            "transfer_to": [[area["id"], area["name"]] for area in config.get("areas", []) if area.get("open", True)],
            "names": self.names(),
        }

    def floor_view(self) -> dict[str, Any]:
        """The manager's floor: the server's floor figures, every counter's state and every device's status."""
        return {
            "kind": "floor",
            "version": self.version,
            "connected": self.connected and self.server_online,
            "floor": self.floor,
            "counters": {counter_id: self.counters.get(counter_id) for counter_id in self.counter_ids()},
            "devices": dict(self.devices),  # a copy: the MQTT thread adds to it while the view is serialized
            "names": self.names(),
        }
