"""The GPIO pin map: firmware_configs/gpio/README.md agrees with protocol/gpio_header.py and with the example
configs, and the configs refuse the reserved pins and a pin used twice, in one line naming the file and key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import load as load_kiosk
from protocol.errors import ConfigError
from protocol.gpio_header import BCM_TO_PHYSICAL, GROUND_PINS, HEADER, RESERVED, physical_pin, pin_problem
from rating_terminal.config import load as load_counter
from tests.firmware_configs.test_shipped_configs import CONFIGS, ROOT, kiosk_with_buttons

DOC = (CONFIGS / "gpio" / "README.md").read_text(encoding="utf-8")
COUNTER_EXAMPLE = (CONFIGS / "counter.example.toml").read_text(encoding="utf-8")


def section(heading: str) -> str:
    start = DOC.index(f"\n## {heading}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else len(DOC)]


def table(text: str) -> list[list[str]]:
    """The rows (cells without backticks) of the one markdown table in `text`, without its header."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) > 2 and set(lines[1]) <= set("|-: "), text
    return [[cell.strip().strip("`") for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


# --- the header ---------------------------------------------------------------------------------------------


def test_the_module_knows_the_40_pins_and_the_28_gpios() -> None:
    assert sorted(HEADER) == list(range(1, 41))
    assert sorted(BCM_TO_PHYSICAL) == list(range(28))
    assert len(set(BCM_TO_PHYSICAL.values())) == 28
    assert GROUND_PINS == (6, 9, 14, 20, 25, 30, 34, 39)
    assert [pin for pin, name in HEADER.items() if name in ("3V3", "5V")] == [1, 2, 4, 17]
    assert (physical_pin(17), physical_pin(0), physical_pin(21)) == (11, 27, 40)


def test_the_doc_header_table_matches_the_module_pin_by_pin() -> None:
    seen: list[int] = []
    for row in table(section("The header")):
        assert len(row) == 6, row
        for what, bcm, pin in ((row[0], row[1], row[2]), (row[5], row[4], row[3])):
            physical = int(pin)
            seen.append(physical)
            if bcm == "–":
                assert physical not in BCM_TO_PHYSICAL.values()
                assert what.split()[0] == HEADER[physical], row
            else:
                assert BCM_TO_PHYSICAL[int(bcm)] == physical, row
                assert HEADER[physical].startswith(f"GPIO{bcm}"), row
                assert ("(refused)" in what) == (int(bcm) in RESERVED), row
        assert int(row[2]) % 2 == 1 and int(row[3]) == int(row[2]) + 1, row
    assert seen and sorted(seen) == list(range(1, 41))


def test_the_doc_names_the_ground_pins_of_the_module() -> None:
    found = re.search(r"The GND pins are ([\d, and]+)", DOC)
    assert found is not None
    assert tuple(int(n) for n in re.findall(r"\d+", found.group(1))) == GROUND_PINS


def test_the_doc_lists_the_refused_pins_of_the_module() -> None:
    pairs = re.findall(r"\*\*GPIO (\d+) and (\d+)\*\*", section("Pins the configs refuse"))
    listed = {int(number) for pair in pairs for number in pair}
    assert listed == set(RESERVED)


@pytest.mark.parametrize("bcm", range(-1, 30))
def test_pin_problem_refuses_exactly_the_reserved_and_missing_gpios(bcm: int) -> None:
    problem = pin_problem(bcm)
    if bcm in RESERVED:
        assert problem is not None and f"GPIO {bcm} (physical pin {BCM_TO_PHYSICAL[bcm]}) is " in problem
    elif 0 <= bcm <= 27:
        assert problem is None
    else:
        assert problem == f"GPIO {bcm} is not on the 40-pin header (0-27)"


# --- the wiring of the examples -----------------------------------------------------------------------------


def test_the_counter_example_uses_exactly_the_pins_of_the_doc_wiring_table() -> None:
    config = load_counter(CONFIGS / "counter.example.toml")
    used: dict[str, int | None] = {f"keys.{key.value}": pin for key, pin in config.keys.items()}
    for rating in config.ratings:
        used[f"ratings.{rating.label}.button"] = rating.button  # the doc names each button after its sticker
        used[f"ratings.{rating.label}.led"] = rating.led
    used |= {"pins.feedback_led": config.feedback_led, "pins.buzzer": config.buzzer}
    documented: dict[str, int | None] = {}
    for part, key, bcm, pin, ground, _wiring in table(section("The counter terminal")):
        assert BCM_TO_PHYSICAL[int(bcm)] == int(pin), part
        assert HEADER[int(ground)] == "GND", part
        documented[key] = int(bcm)
    assert documented == used


def test_the_kiosk_example_buttons_are_exactly_those_of_the_doc_wiring_table(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(kiosk_with_buttons(), encoding="utf-8")
    buttons = load_kiosk(path).buttons
    documented = []
    for _name, place, area, priority, bcm, pin, ground in table(section("The kiosk's area buttons")):
        assert BCM_TO_PHYSICAL[int(bcm)] == int(pin), place
        assert HEADER[int(ground)] == "GND", place
        documented.append((place, int(bcm), area, priority))
    assert documented == [(f"[[buttons]] #{n}", b.pin, b.area, b.priority) for n, b in enumerate(buttons, 1)]


@pytest.mark.parametrize("name", ["counter.example.toml", "kiosk.example.toml"])
def test_the_physical_pins_in_the_examples_comments_are_right(name: str) -> None:
    text = (CONFIGS / name).read_text(encoding="utf-8")
    pairs = re.findall(r"(?m)^(?:# )?[a-z_]+ = (\d+) +# (?:physical )?pin (\d+)", text)
    assert len(pairs) >= 4
    for bcm, pin in pairs:
        assert BCM_TO_PHYSICAL[int(bcm)] == int(pin), (bcm, pin)
    for ground in re.findall(r"GND: pin (\d+)", text):
        assert HEADER[int(ground)] == "GND"


# --- the configs refuse --------------------------------------------------------------------------------------


def refused(load: object, path: Path, text: str) -> str:
    assert callable(load)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load(path)
    message = str(error.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("bcm", sorted(RESERVED))
def test_the_kiosk_refuses_a_reserved_pin(tmp_path: Path, bcm: int) -> None:
    text = kiosk_with_buttons().replace("pin = 22 ", f"pin = {bcm} ")
    message = refused(load_kiosk, tmp_path / "kiosk.toml", text)
    assert message.startswith(f"kiosk.toml: [[buttons]] #3.pin: GPIO {bcm} (physical pin {BCM_TO_PHYSICAL[bcm]}) "
                              f"is {RESERVED[bcm]}"), message


def test_the_kiosk_refuses_a_pin_used_twice(tmp_path: Path) -> None:
    text = kiosk_with_buttons().replace("pin = 23 ", "pin = 17 ")
    message = refused(load_kiosk, tmp_path / "kiosk.toml", text)
    assert message == "kiosk.toml: [[buttons]] #4.pin: GPIO 17 is already the pin of [[buttons]] #1"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("next = 5 ", "next = 14 ", "counter.toml: [keys].next: GPIO 14 (physical pin 8) is the UART's TXD"),
        ("led = 4 ", "led = 1 ", "counter.toml: [[ratings]] #1.led: GPIO 1 (physical pin 28) is ID_SC"),
        ("buzzer = 16 ", "buzzer = 3 ", "counter.toml: [pins].buzzer: GPIO 3 (physical pin 5) is I2C1 SCL"),
        ("button = 27 ", "button = 28 ", "counter.toml: [[ratings]] #2.button: GPIO 28 is not on the 40-pin header"),
        ("button = 17 ", "button = 5 ", "counter.toml: [[ratings]] #1.button: GPIO 5 is already [keys].next"),
        ("button = 27 ", "button = 4 ", "counter.toml: [[ratings]] #2.button: GPIO 4 is already [[ratings]] #1.led"),
        ("buzzer = 16 ", "buzzer = 20 ", "counter.toml: [pins].buzzer: GPIO 20 is already [pins].feedback_led"),
        ("feedback_led = 20 ", "feedback_led = 24 ",
         "counter.toml: [pins].feedback_led: GPIO 24 is already [[ratings]] #3.led"),
    ],
)
def test_the_counter_refuses_a_reserved_pin_or_a_pin_used_twice(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert COUNTER_EXAMPLE.count(old) == 1, old
    message = refused(load_counter, tmp_path / "counter.toml", COUNTER_EXAMPLE.replace(old, new))
    assert message.startswith(expected), message


def test_check_exits_2_with_one_line_for_a_reserved_pin(tmp_path: Path) -> None:
    path = tmp_path / "counter.toml"
    path.write_text(COUNTER_EXAMPLE.replace("pause = 21 ", "pause = 0 "), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "QMS_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "rating_terminal", "--config", str(path), "--check"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.splitlines() == [
        "rating_terminal: counter.toml: [keys].pause: GPIO 0 (physical pin 27) is ID_SD, the HAT ID EEPROM's bus, "
        "which the firmware reads at boot: choose another pin (firmware_configs/gpio/README.md)"]
