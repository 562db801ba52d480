"""The counter terminal's device config: TOML -> frozen dataclasses; errors name the file and the key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.errors import ConfigError
from protocol.gpio_header import physical_pin, pin_problem
from protocol.topics import DEVICE_ID, ID
from rating_terminal.model import Key
from rating_terminal.usb_keypad import DEFAULT_KEYS, KEY_CODES

LABEL = re.compile(r"[a-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class RatingPins:
    level: str
    button: int
    led: int


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    path: Path
    counter_id: str
    center_id: str
    mqtt: MqttSettings
    outbox: Path
    keys: dict[Key, int]
    ratings: tuple[RatingPins, ...]
    feedback_led: int | None
    buzzer: int | None
    long_press_s: float
    usb_keypad: Path | None = None  # a USB numeric keypad (/dev/input/by-id/...-event-kbd)
    usb_keys: dict[Key, str] | None = None  # key -> the keypad key's name (KPENTER, KPPLUS, ...)

    @property
    def device_id(self) -> str:
        return f"counter-{self.counter_id}"

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-{self.device_id}"

    def summary(self) -> str:
        keys = ", ".join(f"{key.value} {_gpio(pin)}" for key, pin in self.keys.items()) or "no keys"
        ratings = (", ".join(f"{r.level} {_gpio(r.button)}/LED {_gpio(r.led)}" for r in self.ratings)
                   or "no rating buttons")
        lights = [f"{what} {_gpio(pin)}" for what, pin in (("feedback LED", self.feedback_led),
                                                           ("buzzer", self.buzzer)) if pin is not None]
        return "\n".join([f"terminal of counter {self.counter_id}, center {self.center_id}",
                          f"mqtt {self.mqtt.summary()}", f"outbox {self.outbox}", f"keys: {keys}",
                          f"ratings: {ratings}", f"signals: {', '.join(lights) or 'none'}"])


def _gpio(pin: int) -> str:
    return f"GPIO{pin} (pin {physical_pin(pin)})"


def load(path: Path) -> TerminalConfig:
    root = read_toml(path)
    terminal = root.table("terminal")
    counter_id, center_id = terminal.text("counter", pattern=ID), terminal.text("center", pattern=ID)
    outbox = terminal.path("outbox")
    long_press_ms = terminal.integer("long_press_ms", 1000, minimum=200)
    terminal.finish()
    if not DEVICE_ID.fullmatch(f"counter-{counter_id}"):
        raise terminal.error("counter", "too long for a device id")
    mqtt = load_mqtt(root.table("mqtt"))
    key_table = root.table("keys", required=False)
    keys = _keys(key_table)
    rating_tables = root.tables("ratings") if root.has("ratings") else []
    ratings = tuple(_rating(t) for t in rating_tables)
    if len({r.level for r in ratings}) != len(ratings):
        raise root.error("ratings", "a rating level is listed twice")
    usb_keypad, usb_keys = _usb(root.table("usb_keypad", required=False))
    pins = root.table("pins", required=False)
    feedback_led, buzzer = _pin(pins, "feedback_led"), _pin(pins, "buzzer")
    pins.finish()
    root.finish()
    _once_each([*((key_table, key.value, pin) for key, pin in keys.items()),
                *((table, key, pin) for table, r in zip(rating_tables, ratings, strict=True)
                  for key, pin in (("button", r.button), ("led", r.led))),
                *((pins, key, pin) for key, pin in (("feedback_led", feedback_led), ("buzzer", buzzer))
                  if pin is not None)])
    if not outbox.parent.is_dir():
        raise root.error("terminal", f"outbox folder {outbox.parent} does not exist")
    return TerminalConfig(path, counter_id, center_id, mqtt, outbox, keys, ratings, feedback_led, buzzer,
                          long_press_ms / 1000, usb_keypad, usb_keys)


def load_for_center(path: Path, center: Path) -> TerminalConfig:
    """The terminal's config, refused unless every `[[ratings]] level` is one of the center config's
    `[rating] levels` (`--center`): a button for a level the center does not have never lights."""
    config = load(path)
    problem = levels_problem(config, center_levels(center), f"{center.name}'s [rating]")
    if problem is not None:
        raise ConfigError(problem)
    return config


def center_levels(path: Path) -> tuple[str, ...]:
    """Only the `[rating] levels` of a center config: the terminal does not need the server's package."""
    levels: tuple[str, ...] = read_toml(path).table("rating").strings("levels", pattern=LABEL)
    return levels


def levels_problem(config: TerminalConfig, levels: Sequence[str], whose: str) -> str | None:
    """One line naming the first `[[ratings]] #n.level` that is not one of the center's `levels`, if any."""
    for index, rating in enumerate(config.ratings, start=1):
        if rating.level not in levels:
            return (f"{config.path.name}: [[ratings]] #{index}.level: {rating.level!r} is not one of {whose} levels "
                    f"({', '.join(levels)})")
    return None


def _keys(table: Table) -> dict[Key, int]:
    keys = {key: pin for key in Key if (pin := _pin(table, key.value)) is not None}
    table.finish()
    return keys


def _usb(table: Table) -> tuple[Path | None, dict[Key, str] | None]:
    device: Path | None = table.path("device", None)
    keys = dict(DEFAULT_KEYS)
    for key in Key:
        name = table.text(key.value, keys[key])
        if name not in KEY_CODES:
            raise table.error(key.value, f"unknown keypad key {name!r} (one of {', '.join(KEY_CODES)})")
        keys[key] = name
    table.finish()
    if len(set(keys.values())) != len(keys):
        raise table.error(None, "two actions on one keypad key")
    return (device, keys) if device is not None else (None, None)


def _rating(table: Table) -> RatingPins:
    level = table.text("level", pattern=LABEL)
    pins = RatingPins(level, _usable(table, "button", table.integer("button", minimum=0)),
                      _usable(table, "led", table.integer("led", minimum=0)))
    table.finish()
    return pins


def _pin(table: Table, key: str) -> int | None:
    pin: int | None = table.integer(key, None, minimum=0)
    return None if pin is None else _usable(table, key, pin)


def _usable(table: Table, key: str, pin: int) -> int:
    """The BCM GPIO number, if it may take a button, an LED or a buzzer (protocol/gpio_header.py)."""
    problem = pin_problem(pin)
    if problem is not None:
        raise table.error(key, problem)
    return pin


def _once_each(uses: list[tuple[Table, str, int]]) -> None:
    """Refuse a GPIO given to two things, naming the second and what already has it."""
    first: dict[int, str] = {}
    for table, key, pin in uses:
        if pin in first:
            raise table.error(key, f"GPIO {pin} is already {first[pin]}")
        first[pin] = f"{table.where}.{key}" if table.where else key
