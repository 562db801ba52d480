"""Printer and LED display profiles: a profile gives the defaults, a key in the device config wins, and a
wrong model or a wrong profile file is one line naming the file and the key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from display_board.config import LED_MODELS, load_led_model
from display_board.config import load as load_board
from kiosk.config import PRINTER_MODELS, escpos_profiles, load_printer_model
from kiosk.config import load as load_kiosk
from protocol.config import shipped_models
from protocol.errors import ConfigError
from tests.firmware_configs.test_shipped_configs import CONFIGS, ROOT, board_with_leds, with_model

KIOSK_EXAMPLE = (CONFIGS / "kiosk.example.toml").read_text(encoding="utf-8")
GOOD_PRINTER = """\
name = "Our printer"
paper = "80mm"
dots = 576
profile = "default"
cut = true
"""
GOOD_LED = """\
name = "Our display"
protocol = "qms"
baudrate = 19200
digits = 5
"""


def kiosk(tmp_path: Path, model: str, extra: str = "", *, connection: str = "network") -> Path:
    """The kiosk example naming `model`, with `extra` lines added to its [printer] table."""
    text = with_model(KIOSK_EXAMPLE, model).replace("port = 9100\n", f"port = 9100\n{extra}")
    text = text.replace('connection = "network"', f'connection = "{connection}"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def board(tmp_path: Path, model: str, extra: str = "", displays: str = "") -> Path:
    text = with_model(board_with_leds(), model).replace(f'model = "{model}"', f'model = "{model}"\n{extra}')
    path = tmp_path / "board.toml"
    path.write_text(text + displays, encoding="utf-8")
    return path


def refused(load: object, path: Path) -> str:
    assert callable(load)
    with pytest.raises(ConfigError) as error:
        load(path)
    message = str(error.value)
    assert "\n" not in message, message
    return message


def check_fails(agent: str, config: Path) -> str:
    """`--check` exits 2 with one stderr line and nothing on stdout; that line."""
    env = {k: v for k, v in os.environ.items() if k != "QMS_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", agent, "--config", str(config), "--check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# --- printer profiles: the defaults and what wins -------------------------------------------------------------


def test_the_profile_gives_the_printer_its_defaults(tmp_path: Path) -> None:
    printer = load_kiosk(kiosk(tmp_path, "xprinter-xp-58iih")).printer
    assert (printer.paper, printer.profile, printer.cut, printer.native_qr, printer.native_digits) == (
        "58mm", "POS-5890", False, False, True)
    assert printer.model == "Xprinter XP-58IIH" and printer.status_query
    assert "Xprinter XP-58IIH, 58mm paper (384 dots), profile POS-5890, no cutter" in printer.summary()


def test_a_key_written_in_the_kiosk_config_wins_over_the_profile(tmp_path: Path) -> None:
    extra = 'paper = "80mm"\nprofile = "default"\ncut = true\nnative_qr = true\nstatus_query = false\n'
    printer = load_kiosk(kiosk(tmp_path, "xprinter-xp-58iih", extra)).printer
    assert (printer.paper, printer.profile, printer.cut, printer.native_qr, printer.status_query) == (
        "80mm", "default", True, True, False)
    assert printer.native_digits  # not written: still the profile's


def test_the_epson_profile_prints_qr_codes_itself(tmp_path: Path) -> None:
    printer = load_kiosk(kiosk(tmp_path, "epson-tm-t20iii")).printer
    assert (printer.profile, printer.native_qr, printer.cut, printer.paper) == ("TM-T20II", True, True, "80mm")


def test_a_centers_own_profile_is_a_path_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "printers").mkdir()
    (tmp_path / "printers" / "ours.toml").write_text(
        GOOD_PRINTER + "status_query = false\nbaudrate = 9600\nvendor_id = 0x0416\nproduct_id = 0x5011\n",
        encoding="utf-8")
    printer = load_kiosk(kiosk(tmp_path, "printers/ours.toml")).printer
    assert (printer.model, printer.status_query, printer.baudrate) == ("Our printer", False, 9600)
    usb = load_kiosk(kiosk(tmp_path, "printers/ours.toml", connection="usb")).printer
    assert (usb.vendor_id, usb.product_id) == (0x0416, 0x5011)  # the profile's ids satisfy a USB printer


def test_a_status_query_the_profile_allows_is_still_only_asked_over_network_and_serial(tmp_path: Path) -> None:
    assert not load_kiosk(kiosk(tmp_path, "epson-tm-t20iii", 'path = "/dev/usb/lp0"\n',
                                connection="file")).printer.status_query
    assert load_kiosk(kiosk(tmp_path, "epson-tm-t20iii", "vendor_id = 1\nproduct_id = 2\nstatus_query = true\n",
                            connection="usb")).printer.status_query


def test_without_a_model_the_kiosk_keeps_its_own_defaults(tmp_path: Path) -> None:
    path = kiosk(tmp_path, "generic-80mm")
    path.write_text(path.read_text(encoding="utf-8").replace('model = "generic-80mm"', ""), encoding="utf-8")
    printer = load_kiosk(path).printer
    assert (printer.paper, printer.profile, printer.native_qr, printer.cut, printer.model) == (
        "80mm", "default", True, True, "")


# --- printer profiles: mistakes -----------------------------------------------------------------------------


def test_an_unknown_model_names_the_kiosk_config_and_the_key(tmp_path: Path) -> None:
    message = refused(load_kiosk, kiosk(tmp_path, "xprinter-xp-58ii"))
    assert message.startswith("kiosk.toml: [printer].model: unknown printer model 'xprinter-xp-58ii' "
                              "(did you mean 'xprinter-xp-58iih'?): one of "), message
    assert "generic-80mm" in message


def test_a_missing_profile_file_names_the_kiosk_config_and_the_key(tmp_path: Path) -> None:
    message = refused(load_kiosk, kiosk(tmp_path, "ours.toml"))
    assert message.startswith("kiosk.toml: [printer].model: no such printer profile file: "), message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("cut = true", "cutter = true", "ours.toml: cut: is missing"),
        ("cut = true", "cut = true\ncutter = true", "ours.toml: cutter: unknown key"),
        ("cut = true", 'cut = "yes"', "ours.toml: cut: expected true or false, got 'yes'"),
        ("dots = 576", 'dots = "576"', "ours.toml: dots: expected an integer, got '576'"),
        ("dots = 576", "dots = 512", "ours.toml: dots: 512 dots a line: tickets are laid out for 384 (58mm) or "
                                     "576 (80mm) dots only"),
        ("dots = 576", "dots = 384", "ours.toml: dots: 384 dots a line is not 80mm paper (576 dots)"),
        ('paper = "80mm"', 'paper = "76mm"', "ours.toml: paper: expected \"58mm\" or \"80mm\", got '76mm'"),
        ('profile = "default"', 'profile = "TM-T20"', "ours.toml: profile: 'TM-T20' is not a python-escpos "
                                                      "capabilities profile; did you mean 'TM-T20II'?"),
        ('name = "Our printer"', "", "ours.toml: name: is missing"),
        ("cut = true", "cut = true\nbaudrate = 300", "ours.toml: baudrate: must be at least 1200, got 300"),
        ("cut = true", "cut = true\nnative_qr = 1", "ours.toml: native_qr: expected true or false, got 1"),
        ("cut = true", "cut = true\n[printer]", "ours.toml: printer: unknown key"),
        ("dots = 576", "dots = ", "ours.toml: not valid TOML"),
    ],
)
def test_a_wrong_profile_is_one_line_naming_the_profile_file_and_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert GOOD_PRINTER.count(old) == 1
    (tmp_path / "ours.toml").write_text(GOOD_PRINTER.replace(old, new), encoding="utf-8")
    message = refused(load_kiosk, kiosk(tmp_path, "ours.toml"))
    assert message.startswith(expected), message


def test_a_wrong_escpos_profile_in_the_kiosk_config_names_the_kiosk_config(tmp_path: Path) -> None:
    message = refused(load_kiosk, kiosk(tmp_path, "generic-58mm", 'profile = "POS5890"\n'))
    assert message.startswith("kiosk.toml: [printer].profile: 'POS5890' is not a python-escpos capabilities "
                              "profile; did you mean 'POS-5890'?"), message


def test_check_exits_2_with_one_line_for_an_unknown_model(tmp_path: Path) -> None:
    line = check_fails("kiosk", kiosk(tmp_path, "tm-t88v"))
    assert line.startswith("kiosk: kiosk.toml: [printer].model: unknown printer model 'tm-t88v'"), line


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("cut = true", 'cut = "no"', "kiosk: ours.toml: cut: expected true or false, got 'no'"),
        ("cut = true", "cut = true\ncuts = true", "kiosk: ours.toml: cuts: unknown key"),
    ],
)
def test_check_exits_2_with_one_line_naming_a_broken_profile(tmp_path: Path, old: str, new: str, expected: str) -> None:
    (tmp_path / "ours.toml").write_text(GOOD_PRINTER.replace(old, new), encoding="utf-8")
    assert check_fails("kiosk", kiosk(tmp_path, "./ours.toml")) == expected


# --- the shipped printer profiles against python-escpos ------------------------------------------------------


@pytest.mark.parametrize("name", shipped_models(PRINTER_MODELS))
def test_a_shipped_printer_profile_agrees_with_its_python_escpos_profile(name: str) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name)
    model = load_printer_model(CONFIGS / "printers" / f"{name}.toml")
    capabilities = _escpos_capabilities()[model.defaults["profile"]]
    features = capabilities["features"]
    if model.defaults["cut"]:  # else python-escpos's cut() would send no cut command
        assert features.get("paperFullCut") or features.get("paperPartCut")
    if model.defaults.get("native_qr"):
        assert features.get("qrCode")
    pixels = capabilities.get("media", {}).get("width", {}).get("pixels")
    assert not isinstance(pixels, int) or pixels == model.dots


def _escpos_capabilities() -> dict[str, Any]:
    """python-escpos's printer database, as its own loader reads it."""
    profiles: dict[str, Any] = json.loads(
        (resources.files("escpos") / "capabilities.json").read_text(encoding="utf-8"))["profiles"]
    assert escpos_profiles() == frozenset(profiles)
    return profiles


@pytest.mark.parametrize(("folder", "shipped"), [("printers", shipped_models(PRINTER_MODELS)),
                                                ("led_displays", shipped_models(LED_MODELS))])
def test_the_readme_lists_every_shipped_profile(folder: str, shipped: list[str]) -> None:
    readme = (CONFIGS / folder / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| Profile (`model =`) |"):].split("\n\n")[0]
    assert sorted(re.findall(r"(?m)^\| `([a-z0-9-]+)` \|", table)) == shipped


# --- LED display profiles -----------------------------------------------------------------------------------


def test_the_led_profile_gives_the_bus_its_defaults(tmp_path: Path) -> None:
    leds = load_board(board(tmp_path, "four-byte-3digit")).leds
    assert leds is not None
    assert (leds.codec, leds.baudrate, leds.digits, leds.model) == (
        "four-byte", 9600, 3, "Four-byte-frame numeric display, 3 digits")


def test_a_key_written_in_the_board_config_wins_over_the_led_profile(tmp_path: Path) -> None:
    leds = load_board(board(tmp_path, "modbus-ascii-4digit", "baudrate = 19200\ndigits = 5")).leds
    assert leds is not None
    assert (leds.codec, leds.baudrate, leds.digits) == ("modbus-rtu", 19200, 5)


def test_a_centers_own_led_profile_is_a_path_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "ours.toml").write_text(GOOD_LED, encoding="utf-8")
    leds = load_board(board(tmp_path, "ours.toml")).leds
    assert leds is not None
    assert (leds.codec, leds.baudrate, leds.digits, leds.model) == ("qms", 19200, 5, "Our display")


def test_an_unknown_led_model_names_the_board_config_and_the_key(tmp_path: Path) -> None:
    message = refused(load_board, board(tmp_path, "qms-4digits"))
    assert message.startswith("board.toml: [leds].model: unknown LED display model 'qms-4digits' "
                              "(did you mean 'qms-4digit'?)"), message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('protocol = "qms"', 'protocol = "modbus"', "ours.toml: protocol: expected one of qms, modbus-rtu, four-byte"),
        ("baudrate = 19200", 'baudrate = "19200"', "ours.toml: baudrate: expected an integer, got '19200'"),
        ("digits = 5", "digits = 5\nparity = \"E\"", "ours.toml: parity: unknown key"),
        ("digits = 5", "", "ours.toml: digits: is missing"),
        ('protocol = "qms"', 'protocol = "four-byte"', "ours.toml: digits: a four-byte display has at most 4 digits"),
    ],
)
def test_a_wrong_led_profile_is_one_line_naming_the_profile_file_and_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert GOOD_LED.count(old) == 1
    (tmp_path / "ours.toml").write_text(GOOD_LED.replace(old, new), encoding="utf-8")
    message = refused(load_board, board(tmp_path, "ours.toml"))
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("digits = 5", "digits = 0", "display_board: ours.toml: digits: must be at least 1, got 0"),
        ("digits = 5", 'digits = "5"', "display_board: ours.toml: digits: expected an integer, got '5'"),
        ("digits = 5", "digits = 5\nstopbits = 2", "display_board: ours.toml: stopbits: unknown key"),
    ],
)
def test_check_exits_2_with_one_line_naming_a_broken_led_profile(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    (tmp_path / "ours.toml").write_text(GOOD_LED.replace(old, new), encoding="utf-8")
    assert check_fails("display_board", board(tmp_path, "ours.toml")) == expected


def test_check_exits_2_with_one_line_for_an_unknown_led_model(tmp_path: Path) -> None:
    line = check_fails("display_board", board(tmp_path, "dm36"))
    assert line.startswith("display_board: board.toml: [leds].model: unknown LED display model 'dm36'"), line


@pytest.mark.parametrize(
    ("model", "address", "expected"),
    [
        ("qms-4digit", 0, "board.toml: [[displays]] #3.address: 0 is not a qms bus address (1-247)"),
        ("modbus-ascii-4digit", 248, "board.toml: [[displays]] #3.address: 248 is not a modbus-rtu bus address"),
        ("four-byte-3digit", 256, "board.toml: [[displays]] #3.address: 256 is not a four-byte bus address (0-255)"),
        ("qms-4digit", 2, "board.toml: [[displays]] #3.address: address 2 is already counter '2''s display"),
    ],
)
def test_each_protocol_takes_its_own_addresses_once(tmp_path: Path, model: str, address: int, expected: str) -> None:
    third = f'\n[[leds.displays]]\ncounter = "3"\naddress = {address}\n'
    message = refused(load_board, board(tmp_path, model, displays=third))
    assert message.startswith(expected), message


def test_a_four_byte_display_at_address_0_is_accepted(tmp_path: Path) -> None:
    third = '\n[[leds.displays]]\ncounter = "3"\naddress = 0\n'
    leds = load_board(board(tmp_path, "four-byte-3digit", displays=third)).leds
    assert leds is not None and leds.addresses["3"] == 0


def test_too_many_digits_for_the_protocol_name_the_board_config(tmp_path: Path) -> None:
    message = refused(load_board, board(tmp_path, "four-byte-3digit", "digits = 6"))
    assert message.startswith("board.toml: [leds].digits: a four-byte display has at most 4 digits, not 6"), message


@pytest.mark.parametrize("name", shipped_models(LED_MODELS))
def test_a_shipped_led_profile_loads(name: str) -> None:
    model = load_led_model(CONFIGS / "led_displays" / f"{name}.toml")
    assert model.name and set(model.defaults) == {"protocol", "baudrate", "digits"}
