"""The hall board's device config: TOML -> frozen dataclasses; errors name the file and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from display_board.numbers import Reading
from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.topics import DEVICE_ID, ID

CODEC_NAMES = ("qms", "modbus-rtu", "four-byte")
DEFAULT_CLIPS = Path(__file__).resolve().parents[1] / ".venv" / "share" / "qms-voice"


@dataclass(frozen=True, slots=True)
class LedBus:
    port: str
    codec: str
    baudrate: int
    digits: int
    addresses: dict[str, int]  # counter id -> the address of its display on this bus


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

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"{self.center_id}-board-{self.board_id}"

    def summary(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "at the display's own size"
        lines = [f"board {self.board_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                 f"screen {size}" if self.screen else "no screen",
                 f"voice from {self.clips}" + (f" and {self.custom_clips}" if self.custom_clips else "")
                 if self.voice else "no voice"]
        if self.leds is not None:
            lines.append(f"LED displays on {self.leds.port} ({self.leds.codec}, {self.leds.baudrate} baud): "
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
    reading = _reading(voice)
    voice.finish()
    leds = _leds(root.table("leds")) if root.has("leds") else None
    root.finish()
    return BoardConfig(path, board_id, center_id, mqtt, enabled, width, height, fullscreen, notice, screenshots,
                       every, speaks, clips, custom, reading, leds)


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
    codec = table.text("protocol", "qms")
    if codec not in CODEC_NAMES:
        raise table.error("protocol", f"expected one of {', '.join(CODEC_NAMES)}, got {codec!r}")
    bus = LedBus(table.text("port"), codec, table.integer("baudrate", 9600, minimum=1200),
                 table.integer("digits", 4, minimum=1), {})
    for display in table.tables("displays"):
        counter, address = display.text("counter", pattern=ID), display.integer("address", minimum=0)
        if address > 247:
            raise display.error("address", f"{address} is not a bus address (0-247)")
        if counter in bus.addresses:
            raise display.error("counter", f"counter {counter!r} already has a display")
        bus.addresses[counter] = address
        display.finish()
    table.finish()
    return bus
