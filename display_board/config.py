"""The hall board's device config: TOML -> frozen dataclasses; errors name the file and the key.

`[leds] model` names an LED display profile (firmware_configs/led_displays/<model>.toml, or a path
to a center's own file, relative to the config file): its values are the defaults of the [leds]
keys, and a key written in the board config wins. A wrong profile is one line naming the profile file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from display_board.numbers import Reading
from protocol.config import MqttSettings, Table, load_mqtt, model_file, read_toml
from protocol.topics import DEVICE_ID, ID

CODEC_NAMES = ("qms", "modbus-rtu", "four-byte")
DEFAULT_CLIPS = Path(__file__).resolve().parents[1] / ".venv" / "share" / "qms-voice"
LED_MODELS = Path(__file__).resolve().parents[1] / "firmware_configs" / "led_displays"
# What each protocol's frame can carry (display_board/led_display.py): bus addresses and characters.
ADDRESSES = {"qms": (1, 247), "modbus-rtu": (1, 247), "four-byte": (0, 255)}
MAX_DIGITS = {"qms": 255, "modbus-rtu": 123, "four-byte": 4}


@dataclass(frozen=True, slots=True)
class LedBus:
    port: str
    codec: str
    baudrate: int
    digits: int
    addresses: dict[str, int]  # counter id -> the address of its display on this bus
    model: str = ""  # the LED display profile's display name ("" without `model`)


@dataclass(frozen=True, slots=True)
class LedModel:
    """One LED display profile file: its display name and the defaults it gives the [leds] keys."""

    file: Path
    name: str
    defaults: dict[str, Any]  # [leds] key -> value: protocol, baudrate, digits


@dataclass(frozen=True, slots=True)
class BoardConfig:
    path: Path
    board_id: str
    center_id: str
    mqtt: MqttSettings
    screen: bool
    width: int
    height: int
    fullscreen: bool
    notice: str
    screenshots: Path | None  # a folder to keep what the board shows, every `screenshot_every`
    screenshot_every_s: int
    voice: bool
    clips: Path
    custom_clips: Path | None
    reading: Reading
    leds: LedBus | None
    record: Path | None = None  # the voice goes into this WAV (and a .txt list beside it), not a loudspeaker
    record_max_s: int = 0  # past this many seconds in the WAV, announcements are only listed (0: no limit)

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-board-{self.board_id}"

    def summary(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "at the display's own size"
        lines = [f"board {self.board_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                 f"screen {size}" if self.screen else "no screen",
                 f"voice from {self.clips}" + (f" and {self.custom_clips}" if self.custom_clips else "")
                 + (f", recorded into {self.record}" if self.record else "") if self.voice else "no voice"]
        if self.leds is not None:
            model = f"{self.leds.model}, " if self.leds.model else ""
            lines.append(f"LED displays on {self.leds.port} ({model}{self.leds.codec}, {self.leds.digits} digits, "
                         f"{self.leds.baudrate} baud): "
                         + ", ".join(f"counter {c} at {a}" for c, a in self.leds.addresses.items()))
        return "\n".join(lines)


def load(path: Path) -> BoardConfig:
    root = read_toml(path)
    board = root.table("board")
    board_id, center_id = board.text("id", pattern=DEVICE_ID), board.text("center", pattern=ID)
    board.finish()
    mqtt = load_mqtt(root.table("mqtt"))
    screen = root.table("screen", required=False)
    enabled, width = screen.flag("enabled", True), screen.integer("width", 0, minimum=0)
    height, fullscreen = screen.integer("height", 0, minimum=0), screen.flag("fullscreen", True)
    notice = screen.text("notice", "") if screen.has("notice") else ""
    screenshots = screen.path("screenshots", None)
    every = screen.integer("screenshot_every_s", 600, minimum=1)
    screen.finish()
    voice = root.table("voice", required=False)
    speaks = voice.flag("enabled", True)
    clips = voice.path("clips", DEFAULT_CLIPS)
    custom = voice.path("custom_clips", None)
    if custom is not None and not custom.is_dir():
        raise voice.error("custom_clips", f"{'not a folder' if custom.exists() else 'no such folder'}: {custom}")
    reading = _reading(voice)
    record = voice.path("record", None)
    record_max_s = voice.integer("record_max_s", 0, minimum=0)
    voice.finish()
    leds = _leds(root.table("leds")) if root.has("leds") else None
    root.finish()
    return BoardConfig(path, board_id, center_id, mqtt, enabled, width, height, fullscreen, notice, screenshots,
                       every, speaks, clips, custom, reading, leds, record, record_max_s)


def _reading(table: Table) -> Reading:
    choices = {"linh": ("linh", "lẻ"), "four": ("tư", "bốn"), "thousand": ("nghìn", "ngàn")}
    values = {}
    for key, allowed in choices.items():
        value = table.text(key, allowed[0])
        if value not in allowed:
            raise table.error(key, f"expected \"{allowed[0]}\" or \"{allowed[1]}\", got {value!r}")
        values[key] = value
    return Reading(linh=values["linh"], four=values["four"], thousand=values["thousand"],
                   digit_by_digit=table.flag("digit_by_digit", False))


def _leds(table: Table) -> LedBus:
    model = load_led_model(model_file(table, LED_MODELS, "LED display")) if table.has("model") else None
    given = model.defaults if model is not None else {}
    codec = table.text("protocol", given.get("protocol", "qms"))
    _check_protocol(table, codec)
    digits = table.integer("digits", given.get("digits", 4), minimum=1)
    _check_digits(table, codec, digits)
    bus = LedBus(table.text("port"), codec, table.integer("baudrate", given.get("baudrate", 9600), minimum=1200),
                 digits, {}, model.name if model is not None else "")
    low, high = ADDRESSES[codec]
    used: dict[int, str] = {}
    for display in table.tables("displays"):
        counter, address = display.text("counter", pattern=ID), display.integer("address", minimum=0)
        if not low <= address <= high:
            raise display.error("address", f"{address} is not a {codec} bus address ({low}-{high})")
        if counter in bus.addresses:
            raise display.error("counter", f"counter {counter!r} already has a display")
        if address in used:
            raise display.error("address", f"address {address} is already counter {used[address]!r}'s display")
        bus.addresses[counter], used[address] = address, counter
        display.finish()
    table.finish()
    return bus


def _check_protocol(table: Table, codec: str) -> None:
    if codec not in CODEC_NAMES:
        raise table.error("protocol", f"expected one of {', '.join(CODEC_NAMES)}, got {codec!r}")


def _check_digits(table: Table, codec: str, digits: int) -> None:
    if digits > MAX_DIGITS[codec]:
        raise table.error("digits", f"a {codec} display has at most {MAX_DIGITS[codec]} digits, not {digits}")


def load_led_model(path: Path) -> LedModel:
    """Read one LED display profile; a mistake is one line naming the profile file and its key."""
    table = read_toml(path)
    name = table.text("name")
    codec = table.text("protocol")
    _check_protocol(table, codec)
    baudrate = table.integer("baudrate", minimum=1200)
    digits = table.integer("digits", minimum=1)
    _check_digits(table, codec, digits)
    table.finish()
    return LedModel(path, name, {"protocol": codec, "baudrate": baudrate, "digits": digits})
