"""The counter terminal's device config: TOML -> frozen dataclasses; errors name the file and the key."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.gpio_header import physical_pin, pin_problem
from protocol.topics import DEVICE_ID, ID
from rating_terminal.levels import explain
from rating_terminal.model import Key
from rating_terminal.usb_keypad import DEFAULT_KEYS, KEY_CODES

LABEL = re.compile(r"[a-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class RatingPins:
    """One rating button and its LED; the `[[ratings]]` tables are the buttons in order, best first."""

    button: int
    led: int
    label: str | None = None  # the optional `level`: what the button's sticker says, never what it sends


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
    scanner: Path | None = None  # a barcode scanner for dossier codes, typing as a keyboard (/dev/input/by-id/...)
    center: tuple[str, tuple[str, ...]] | None = None  # `--center`: that file's name and its rating levels

    @property
    def device_id(self) -> str:
        return f"counter-{self.counter_id}"

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-{self.device_id}"

    def summary(self) -> str:
        keys = ", ".join(f"{key.value} {_gpio(pin)}" for key, pin in self.keys.items()) or "no keys"
        ratings = ", ".join(f"#{n} {_gpio(r.button)}/LED {_gpio(r.led)}{f' labelled {r.label!r}' if r.label else ''}"
                            for n, r in enumerate(self.ratings, start=1)) or "no rating buttons"
        lights = [f"{what} {_gpio(pin)}" for what, pin in (("feedback LED", self.feedback_led),
                                                           ("buzzer", self.buzzer)) if pin is not None]
        devices = [f"{what} {path}" for what, path in (("USB keypad", self.usb_keypad),
                                                        ("dossier scanner", self.scanner)) if path is not None]
        return "\n".join([f"terminal of counter {self.counter_id}, center {self.center_id}",
                          f"mqtt {self.mqtt.summary()}", f"outbox {self.outbox}", f"keys: {keys}", *devices,
                          f"rating buttons, best first: {ratings}", f"signals: {', '.join(lights) or 'none'}",
                          *self._mapping()])

    def _mapping(self) -> list[str]:
        """With `--center`: what each button would mean with that center's levels, as the running terminal logs it."""
        if self.center is None:
            return []
        name, levels = self.center
        lines = explain([r.label for r in self.ratings], levels)
        return [f"with {name}'s rating levels ({', '.join(levels)}):",
                *(f"  {'warning: ' if level > logging.INFO else ''}{line}" for level, line in lines)]


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
    labels = [r.label for r in ratings if r.label is not None]
    if len(set(labels)) != len(labels):
        raise root.error("ratings", "two buttons have the same level (sticker)")
    usb_keypad, usb_keys = _usb(root.table("usb_keypad", required=False))
    scanner = _scanner(root.table("scanner"), usb_keypad) if root.has("scanner") else None
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
                          long_press_ms / 1000, usb_keypad, usb_keys, scanner)


def load_for_center(path: Path, center: Path) -> TerminalConfig:
    """The terminal's config with a center config's `[rating] levels` (`--center`), so that `--check` shows what
    each button would mean there before the terminal is installed; running, the center's retained config decides."""
    return replace(load(path), center=(center.name, center_levels(center)))


def center_levels(path: Path) -> tuple[str, ...]:
    """Only the `[rating] levels` of a center config: the terminal does not need the server's package."""
    levels: tuple[str, ...] = read_toml(path).table("rating").strings("levels", pattern=LABEL)
    return levels


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


def _scanner(table: Table, usb_keypad: Path | None) -> Path:
    """[scanner]: the input device of a barcode scanner that types as a keyboard (issue 19)."""
    device: Path = table.path("device")
    table.finish()
    if usb_keypad is not None and device.resolve() == usb_keypad.resolve():  # a by-id link and its eventN alike
        raise table.error("device", "is the USB keypad's device too ([usb_keypad].device)")
    return device


def _rating(table: Table) -> RatingPins:
    label: str | None = table.text("level", None, pattern=LABEL)
    pins = RatingPins(_usable(table, "button", table.integer("button", minimum=0)),
                      _usable(table, "led", table.integer("led", minimum=0)), label)
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
