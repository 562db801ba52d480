"""Every .toml shipped under firmware_configs/ passes its agent's --check: each example as is, each printer
profile through the kiosk example naming it, each LED display profile through the board example naming it,
and the examples' commented-out hardware blocks once uncommented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from display_board.config import load as load_board
from display_board.numbers import read_number

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "firmware_configs"
EXAMPLES = [("central_server", "center.example.toml"), ("kiosk", "kiosk.example.toml"),
            ("display_board", "board.example.toml"), ("rating_terminal", "counter.example.toml"),
            ("staff_console", "staff_console.example.toml"), ("citizen_web", "citizen_web.example.toml")]
PRINTERS = sorted(p.name for p in (CONFIGS / "printers").glob("*.toml"))
LED_DISPLAYS = sorted(p.name for p in (CONFIGS / "led_displays").glob("*.toml"))


def check(agent: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", agent, "--config", str(config), "--check"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def passes(agent: str, config: Path) -> str:
    checked = check(agent, config)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip()
    return checked.stdout


def uncomment_block(text: str, first_line: str) -> str:
    """The text with the commented-out block starting at `first_line` ("# [leds]") made live, up to the
    first line that is not a commented TOML line."""
    lines = text.splitlines()
    start = lines.index(first_line)
    end = start
    while end < len(lines) and re.match(r"# (\[|[a-z_]+ = )", lines[end]):
        end += 1
    return "\n".join([*lines[:start], *(line[2:] for line in lines[start:end]), *lines[end:]]) + "\n"


def kiosk_with_buttons() -> str:
    return uncomment_block((CONFIGS / "kiosk.example.toml").read_text(encoding="utf-8"), "# [[buttons]]")


def board_with_leds() -> str:
    return uncomment_block((CONFIGS / "board.example.toml").read_text(encoding="utf-8"), "# [leds]")


def with_model(text: str, model: str) -> str:
    """The example with its `model = "..."` line naming `model` instead."""
    changed, count = re.subn(r'(?m)^model = "[^"]*"', f'model = "{model}"', text)
    assert count == 1
    return changed


@pytest.mark.parametrize(("agent", "name"), EXAMPLES)
def test_the_example_config_passes_check(agent: str, name: str) -> None:
    passes(agent, CONFIGS / name)


def test_the_counter_examples_stickers_agree_with_the_center_examples_rating_levels() -> None:
    """`--center` shows what each button means with the center's [rating] levels: the shipped pair need no warning."""
    checked = subprocess.run([sys.executable, "-m", "rating_terminal", "--config",
                              str(CONFIGS / "counter.example.toml"), "--center", str(CONFIGS / "center.example.toml"),
                              "--check"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == passes("rating_terminal", CONFIGS / "counter.example.toml") + (
        "with center.example.toml's rating levels (very_satisfied, satisfied, dissatisfied):\n"
        "  buttons 1..3 -> very_satisfied, satisfied, dissatisfied\n")


def test_the_example_board_reads_numbers_the_way_rach_gia_says_them() -> None:
    """The example center is in Rạch Giá, in the south: "ngàn", "lẻ", and "bốn" after "mươi"."""
    reading = load_board(CONFIGS / "board.example.toml").reading
    assert " ".join(read_number(1005, reading)) == "một ngàn không trăm lẻ năm"
    assert " ".join(read_number(24, reading)) == "hai mươi bốn"


def test_the_kiosk_example_with_its_commented_buttons_passes_check(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(kiosk_with_buttons(), encoding="utf-8")
    shown = passes("kiosk", path)
    assert "GPIO 17 (pin 11) -> dat-dai (none)" in shown and "GPIO 23 (pin 16) -> bhxh (none)" in shown


def test_the_board_example_with_its_commented_leds_passes_check(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(board_with_leds(), encoding="utf-8")
    assert "LED displays on /dev/serial/by-id/" in passes("display_board", path)


@pytest.mark.parametrize("name", PRINTERS)
def test_the_kiosk_example_passes_check_with_every_printer_profile(tmp_path: Path, name: str) -> None:
    text = (CONFIGS / "kiosk.example.toml").read_text(encoding="utf-8")
    path = tmp_path / "kiosk.toml"
    path.write_text(with_model(text, name.removesuffix(".toml")), encoding="utf-8")
    shown = passes("kiosk", path)
    assert f"network printer 127.0.0.1:9100, {_name(CONFIGS / 'printers' / name)}, " in shown


@pytest.mark.parametrize("name", LED_DISPLAYS)
def test_the_board_example_passes_check_with_every_led_display_profile(tmp_path: Path, name: str) -> None:
    path = tmp_path / "board.toml"
    path.write_text(with_model(board_with_leds(), name.removesuffix(".toml")), encoding="utf-8")
    assert f"({_name(CONFIGS / 'led_displays' / name)}, " in passes("display_board", path)


def _name(profile: Path) -> str:
    found = re.search(r'(?m)^name = "([^"]+)"', profile.read_text(encoding="utf-8"))
    assert found is not None, profile
    return found.group(1)


def test_every_toml_in_firmware_configs_is_checked() -> None:
    shipped = {p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*.toml")}
    covered = ({name for _, name in EXAMPLES} | {f"printers/{n}" for n in PRINTERS}
               | {f"led_displays/{n}" for n in LED_DISPLAYS})
    assert shipped == covered
    assert len(PRINTERS) >= 8 and len(LED_DISPLAYS) >= 3
