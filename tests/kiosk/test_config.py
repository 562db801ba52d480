"""The kiosk's config: the example loads; each mistake is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load
from protocol.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "kiosk.example.toml"


def test_the_example_loads() -> None:
    config = load(EXAMPLE)
    assert (config.kiosk_id, config.center_id, config.printer.connection) == ("k1", "rach-gia", "network")
    assert config.printer.paper == "80mm" and config.screen and not config.buttons
    assert (config.printer.model, config.printer.cut, config.printer.native_qr) == ("Xprinter XP-N160II", True, False)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('id = "k1"', 'id = "k 1"', "kiosk.toml: [kiosk].id: 'k 1' must match"),
        ('center = "rach-gia"', 'center = "Rach Gia"', "kiosk.toml: [kiosk].center:"),
        ('connection = "network"', 'connection = "bluetooth"', "kiosk.toml: [printer].connection: expected one of"),
        ('# paper = "80mm"', 'paper = "57mm"', "kiosk.toml: [printer].paper: expected"),
        ('model = "xprinter-xp-n160ii"', 'model = "xp-n160ii"',
         "kiosk.toml: [printer].model: unknown printer model 'xp-n160ii' (did you mean 'xprinter-xp-n160ii'?)"),
        ('model = "xprinter-xp-n160ii"', "model = 160", "kiosk.toml: [printer].model: expected a string, got 160"),
        ("# cut = true", 'cut = "no"', "kiosk.toml: [printer].cut: expected true or false, got 'no'"),
        ("port = 9100", 'port = "9100"', "kiosk.toml: [printer].port: expected an integer"),
        ("enabled = true", "enabled = false",
         "kiosk.toml: [screen].enabled: a kiosk without a screen needs [[buttons]]"),
        ("fullscreen = true", "fullscreen = true\nbrightness = 3", "kiosk.toml: [screen].brightness: unknown key"),
        ('url = "mqtt://127.0.0.1:1883"', 'url = "tcp://x"', "kiosk.toml: [mqtt].url: expected mqtt://"),
        ("# [[buttons]]\n# pin = 17 ", '[[buttons]]\npin = 40\narea = "dat-dai"\n# pin = 17 ',
         "kiosk.toml: [[buttons]] #1.pin: GPIO 40 is not on the 40-pin header"),
        ("# [[buttons]]\n# pin = 17 ", '[[buttons]]\npin = 2\narea = "dat-dai"\n# pin = 17 ',
         "kiosk.toml: [[buttons]] #1.pin: GPIO 2 (physical pin 3) is I2C1 SDA"),
    ],
)
def test_a_mistake_is_one_line_naming_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "kiosk.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load(path)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(expected), message


# --- the QR scanner (issue 18) ------------------------------------------------------------------------------------


def with_scanner(tmp_path: Path, table: str, old: str = "", new: str = "") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "kiosk.toml"
    path.write_text(f"{text}\n[scanner]\n{table}\n", encoding="utf-8")
    return path


def test_without_a_scanner_table_there_is_no_scanner() -> None:
    assert load(EXAMPLE).scanner is None


def test_a_keyboard_scanner_and_a_serial_one_load(tmp_path: Path) -> None:
    keyboard = load(with_scanner(tmp_path, 'kind = "keyboard"')).scanner
    assert keyboard is not None and keyboard.kind == "keyboard"
    config = load(with_scanner(tmp_path, 'kind = "serial"\nport = "/dev/ttyACM0"'))
    assert config.scanner is not None
    assert (config.scanner.kind, config.scanner.port, config.scanner.baudrate) == ("serial", "/dev/ttyACM0", 9600)
    assert "QR scanner on /dev/ttyACM0 at 9600 baud" in config.summary()
    fast = load(with_scanner(tmp_path, 'kind = "serial"\nport = "/dev/serial/by-id/usb-scanner"\nbaudrate = 115200'))
    assert fast.scanner is not None and fast.scanner.baudrate == 115200


@pytest.mark.parametrize(
    ("table", "old", "new", "expected"),
    [
        ('kind = "camera"', "", "", "kiosk.toml: [scanner].kind: expected \"keyboard\" or \"serial\", got 'camera'"),
        ("kind = 1", "", "", "kiosk.toml: [scanner].kind: expected a string, got 1"),
        ('port = "/dev/ttyACM0"', "", "", "kiosk.toml: [scanner].kind: is missing"),
        ('kind = "serial"', "", "", "kiosk.toml: [scanner].port: is missing"),
        ('kind = "serial"\nport = "ttyACM0"', "", "", "kiosk.toml: [scanner].port: expected a device file"),
        ('kind = "serial"\nport = "/dev/ttyACM0"\nbaudrate = "9600"', "", "",
         "kiosk.toml: [scanner].baudrate: expected an integer, got '9600'"),
        ('kind = "serial"\nport = "/dev/ttyACM0"\nbaudrate = 300', "", "",
         "kiosk.toml: [scanner].baudrate: must be at least 1200, got 300"),
        ('kind = "serial"\nport = "/dev/ttyACM0"\nbaud = 9600', "", "", "kiosk.toml: [scanner].baud: unknown key"),
        ('kind = "keyboard"\nport = "/dev/ttyACM0"', "", "",
         "kiosk.toml: [scanner].port: a keyboard scanner has none: it types into the kiosk's screen"),
        ('kind = "serial"\nport = "/dev/ttyACM0"\n[[buttons]]\npin = 17\narea = "dat-dai"', "enabled = true",
         "enabled = false", "kiosk.toml: [scanner].kind: a QR scanner needs the screen"),
    ],
)
def test_a_scanner_mistake_is_one_line_naming_file_and_key(tmp_path: Path, table: str, old: str, new: str,
                                                            expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(with_scanner(tmp_path, table, old, new))
    message = str(refused.value)
    assert "\n" not in message and message.startswith(expected), message
