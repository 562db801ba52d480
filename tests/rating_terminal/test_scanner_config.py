"""The terminal's optional `[scanner]`: the input device of a barcode scanner for dossier codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.terminal_config import example_config
from rating_terminal.__main__ import main
from rating_terminal.config import load
from tests.firmware_configs.test_shipped_configs import uncomment_block

DEVICE = "/dev/input/by-id/usb-Newtologic_NT-1228BL-event-kbd"


def config_file(tmp_path: Path, scanner: str | None = None) -> Path:
    """The shipped example (its outbox in `tmp_path`), with its commented-out `[scanner]` made live, or with
    `scanner` as the table's lines instead."""
    text = example_config("1", "rach-gia", tmp_path / "outbox.db", "mqtt://127.0.0.1:1883")
    text = uncomment_block(text, "# [scanner]")
    if scanner is not None:
        text = text.replace(f'[scanner]\ndevice = "{DEVICE}"\n', f"[scanner]\n{scanner}\n")
        assert scanner in text
    path = tmp_path / "counter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_examples_scanner_loads_and_is_shown_by_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path)
    assert load(path).scanner == Path(DEVICE)
    assert main(["--config", str(path), "--check"]) == 0
    assert f"dossier scanner {DEVICE}" in capsys.readouterr().out.splitlines()


def test_without_a_scanner_table_there_is_none(tmp_path: Path) -> None:
    path = tmp_path / "counter.toml"
    path.write_text(example_config("1", "rach-gia", tmp_path / "outbox.db", "mqtt://127.0.0.1:1883"),
                    encoding="utf-8")
    assert load(path).scanner is None


def test_a_relative_device_is_taken_from_the_configs_folder(tmp_path: Path) -> None:
    assert load(config_file(tmp_path, 'device = "scanner-fifo"')).scanner == tmp_path / "scanner-fifo"


@pytest.mark.parametrize(("lines", "says"), [
    ("", "counter.toml: [scanner].device: is missing"),
    ("device = 3", "counter.toml: [scanner].device: expected a string, got 3"),
    ('device = ""', "counter.toml: [scanner].device: must not be empty"),
    (f'device = "{DEVICE}"\nlayout = "fr"', "counter.toml: [scanner].layout: unknown key"),
    (f'devise = "{DEVICE}"', "counter.toml: [scanner].devise: unknown key (did you mean 'device'?)"),
    (f'device = "{DEVICE}"\n[usb_keypad]\ndevice = "{DEVICE}"',
     "counter.toml: [scanner].device: is the USB keypad's device too ([usb_keypad].device)"),
])
def test_a_wrong_scanner_exits_2_with_one_line_naming_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str, says: str
) -> None:
    path = config_file(tmp_path, lines)
    assert main(["--config", str(path), "--check"]) == 2
    assert capsys.readouterr().err == f"rating_terminal: {says}\n"
