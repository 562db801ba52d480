"""Every kind of mistake in every agent's config: exit 2 and one line saying what and where."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from central_server.__main__ import main as server_main
from display_board.__main__ import main as board_main
from kiosk.__main__ import main as kiosk_main
from rating_terminal.__main__ import main as terminal_main
from staff_console.__main__ import main as console_main

ROOT = Path(__file__).resolve().parents[1]
Main = Callable[[Sequence[str] | None], int]
AGENTS: dict[str, tuple[Main, str, str]] = {  # name -> main, example file, its first table
    "central_server": (server_main, "center.example.toml", "center"),
    "kiosk": (kiosk_main, "kiosk.example.toml", "kiosk"),
    "display_board": (board_main, "board.example.toml", "board"),
    "rating_terminal": (terminal_main, "counter.example.toml", "terminal"),
    "staff_console": (console_main, "staff_console.example.toml", "console"),
}


def first_table_key(text: str, table: str) -> str:
    """The first `key = ` line of `[table]`."""
    body = text.split(f"[{table}]", 1)[1]
    found = re.search(r"(?m)^(\w+)\s*=", body)
    assert found is not None
    return found.group(1)


def _with_line(text: str, table: str, line: str) -> str:
    return text.replace(f"[{table}]\n", f"[{table}]\n{line}\n", 1)


def _misspelt_first_key(text: str, table: str) -> tuple[bytes, str]:
    """The first key of the first table written with its last letter twice (`id` as `idd`)."""
    key = first_table_key(text, table)
    wrong = re.sub(rf"(?m)^{key}(\s*=)", rf"{key}{key[-1]}\1", text, count=1)
    return wrong.encode(), f"[{table}].{key}{key[-1]}: unknown key (did you mean '{key}'?)"


# Each mistake turns the example's text (and its first table's name) into a wrong file, and says
# what the one line must contain besides the file's name.
MISTAKES: dict[str, Callable[[str, str], tuple[bytes, str]]] = {
    "empty file": lambda text, table: (b"", table),
    "not TOML": lambda text, table: (b"[kiosk\nid = ", "not valid TOML"),
    "not UTF-8": lambda text, table: (text.encode("utf-8").replace(b"[", b"\xff[", 1), "UTF-8"),
    "binary garbage": lambda text, table: (bytes(range(256)) * 4, ""),
    "unknown key": lambda text, table: (_with_line(text, table, "colour = 1").encode(), "colour: unknown key"),
    "a table missing": lambda text, table: (text.replace(f"[{table}]", "[somewhere_else]", 1).encode(), table),
    "a key of the wrong type": lambda text, table: (
        re.sub(rf"(?m)^{first_table_key(text, table)}\s*=.*$", f"{first_table_key(text, table)} = [1, 2]",
               text, count=1).encode(), first_table_key(text, table)),
    "a control character": lambda text, table: (
        re.sub(rf"(?m)^{first_table_key(text, table)}\s*=.*$",
               lambda _line: f'{first_table_key(text, table)} = "a\\u0007b"', text, count=1).encode(),
        first_table_key(text, table)),
    "a bad MQTT url": lambda text, table: (re.sub(r'(?m)^url = "mqtt://[^"]*"', 'url = "http://x"', text,
                                                  count=1).encode(), "url"),
    "a missing password file": lambda text, table: (_with_line(text, "mqtt", 'password_file = "nope.secret"').encode(),
                                                    "password_file"),
    "password and password_file": lambda text, table: (
        _with_line(text, "mqtt", 'password = "x"\npassword_file = "nope.secret"').encode(), "password_file"),
    "a misspelt required key": _misspelt_first_key,
    "a misspelt table": lambda text, table: (text.replace("[mqtt]\n", "[mqtq]\n", 1).encode(),
                                             "wrong.toml: mqtq: unknown key (did you mean [mqtt]?)"),
    "an unknown key near a known one": lambda text, table: (
        _with_line(text, "mqtt", 'pasword = "x"').encode(), "[mqtt].pasword: unknown key (did you mean 'password'?)"),
}


@pytest.mark.parametrize("agent", sorted(AGENTS))
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_is_one_line_naming_the_file_and_exit_2(tmp_path: Path, agent: str, mistake: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    main, example, table = AGENTS[agent]
    text = (ROOT / "firmware_configs" / example).read_text(encoding="utf-8")
    wrong, says = MISTAKES[mistake](text, table)
    path = tmp_path / "wrong.toml"
    path.write_bytes(wrong)
    assert main(["--config", str(path), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "wrong.toml" in err and says in err, err


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_a_missing_file_or_a_folder_is_one_line_and_exit_2(tmp_path: Path, agent: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    main = AGENTS[agent][0]
    for path in (tmp_path / "absent.toml", tmp_path):
        assert main(["--config", str(path), "--check"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(path.name) in err, err


# --- what each agent's config cannot do although every key is right --------------------------------


def example(name: str) -> str:
    return (ROOT / "firmware_configs" / name).read_text(encoding="utf-8")


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def refused(main: Main, path: Path, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    """The one stderr line of `main --config path --check` (with `more` arguments), which must exit 2."""
    assert main(["--config", str(path), "--check", *more]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured
    return lines[0]


def passes(main: Main, path: Path, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    assert main(["--config", str(path), "--check", *more]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() and captured.err == "", captured
    return captured.out


def unserved_bhxh(text: str) -> str:
    """The example center with `bhxh` (the 6th area, open) taken off the two counters serving it."""
    text = edited(text, 'areas = ["ldtbxh", "bhxh"]', 'areas = ["ldtbxh"]')
    return edited(text, 'areas = ["xay-dung", "kinh-doanh", "bhxh"]', 'areas = ["xay-dung", "kinh-doanh"]')


def test_the_server_refuses_an_open_area_no_counter_serves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(unserved_bhxh(example("center.example.toml")), encoding="utf-8")
    assert refused(server_main, path, capsys) == (
        "central_server: wrong.toml: [[areas]] #6: no counter serves the open area 'bhxh'; add it to a counter's "
        "areas or set open = false")
    path.write_text(edited(unserved_bhxh(example("center.example.toml")), 'prefix = "E"', 'prefix = "E"\nopen = false'),
                    encoding="utf-8")
    assert "area bhxh: Bảo hiểm xã hội E001..E999 (closed)" in passes(server_main, path, capsys)


def test_the_server_refuses_two_counters_with_one_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(edited(example("center.example.toml"), 'name = "Quầy 8"', 'name = "quầy  2"'), encoding="utf-8")
    line = refused(server_main, path, capsys)
    assert line == ("central_server: wrong.toml: [[counters]] #8.name: 'quầy  2' is already the name of counter '2'; "
                    "the board and the voice could not tell the two apart")


@pytest.mark.parametrize("part", ["[[areas]]", "[[counters]]"])
def test_the_server_refuses_a_config_message_devices_would_refuse(tmp_path: Path, part: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = example("center.example.toml")
    if part == "[[areas]]":
        text = edited(text, 'name = "Xây dựng"', f'name = "Xây dựng {"và quy hoạch đô thị " * 4000}"')
    else:
        text += "".join(f'\n[[counters]]\nid = "{n}"\nname = "Quầy {n} {"tầng hai, dãy bên trái " * 10}"\n'
                        'areas = ["dat-dai"]\n' for n in range(9, 400))
    path = tmp_path / "wrong.toml"
    path.write_text(text, encoding="utf-8")
    line = refused(server_main, path, capsys)
    assert line.startswith(f"central_server: wrong.toml: {part}: the retained config message would be "), line
    assert re.search(r"would be \d{5,} bytes, over the 65536 that every device accepts", line), line


def test_the_kiosk_names_a_misspelt_printer_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(edited(example("kiosk.example.toml"), "\nconnection = ", "\nconection = "), encoding="utf-8")
    assert refused(kiosk_main, path, capsys) == (
        "kiosk: kiosk.toml: [printer].conection: unknown key (did you mean 'connection'?)")


def test_the_board_refuses_a_custom_clips_folder_that_does_not_exist(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(_with_line(example("board.example.toml"), "voice", 'custom_clips = "ghi-am"'), encoding="utf-8")
    assert refused(board_main, path, capsys) == (
        f"display_board: wrong.toml: [voice].custom_clips: no such folder: {tmp_path / 'ghi-am'}")
    (tmp_path / "ghi-am").write_text("a file")
    assert refused(board_main, path, capsys).endswith(f"[voice].custom_clips: not a folder: {tmp_path / 'ghi-am'}")
    (tmp_path / "ghi-am").unlink()
    (tmp_path / "ghi-am").mkdir()
    assert f"and {tmp_path / 'ghi-am'}" in passes(board_main, path, capsys)


CENTER_EXAMPLE = ROOT / "firmware_configs" / "center.example.toml"


def terminal_file(tmp_path: Path, *levels: str) -> Path:
    """The example counter terminal, its outbox in `tmp_path`, its rating levels `levels` (3 of them)."""
    text = example("counter.example.toml").replace("/tmp/qms-counter-1-outbox.db", str(tmp_path / "outbox.db"))
    for old, new in zip(("very_satisfied", "satisfied", "dissatisfied"), levels, strict=True):
        text = edited(text, f'level = "{old}"', f'level = "{new}"')
    path = tmp_path / "counter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_terminal_with_center_shows_what_each_button_would_mean_and_each_wrong_sticker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = terminal_file(tmp_path, "very_satisfied", "neutral", "dissatisfied")
    alone = passes(terminal_main, path, capsys)
    assert "#2 GPIO27 (pin 13)/LED GPIO23 (pin 16) labelled 'neutral'" in alone
    assert passes(terminal_main, path, capsys, "--center", str(CENTER_EXAMPLE)) == alone + (
        "with center.example.toml's rating levels (very_satisfied, satisfied, dissatisfied):\n"
        "  buttons 1..3 -> very_satisfied, satisfied, dissatisfied\n"
        "  warning: button 2 is labelled 'neutral' but now means 'satisfied': change its sticker (to \"Hài lòng\")\n")


def test_the_terminal_with_center_shows_the_mapping_of_any_number_of_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = terminal_file(tmp_path, "very_satisfied", "satisfied", "dissatisfied")
    assert passes(terminal_main, path, capsys, "--center", str(CENTER_EXAMPLE)).endswith(
        "):\n  buttons 1..3 -> very_satisfied, satisfied, dissatisfied\n")
    center = tmp_path / "center.toml"
    center.write_text(edited(example("center.example.toml"), '["very_satisfied", "satisfied", "dissatisfied"]',
                             '["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]'),
                      encoding="utf-8")
    shown = passes(terminal_main, path, capsys, "--center", str(center)).splitlines()
    assert shown[-5:] == [
        "with center.toml's rating levels (very_satisfied, satisfied, neutral, dissatisfied, very_dissatisfied):",
        "  buttons 1..3 -> very_satisfied, neutral, very_dissatisfied",
        "  warning: 3 rating buttons for the center's 5 levels: satisfied, dissatisfied cannot be given here "
        "(fit 5 buttons to offer them all)",
        "  warning: button 2 is labelled 'satisfied' but now means 'neutral': change its sticker (to \"Bình thường\")",
        "  warning: button 3 is labelled 'dissatisfied' but now means 'very_dissatisfied': change its sticker "
        "(to \"Rất không hài lòng\")"]


@pytest.mark.parametrize(("center_text", "says"), [
    (None, "absent.toml: no such file"),
    ("[rating]\nlevel = []\n", "absent.toml: [rating].level: unknown key (did you mean 'levels'?)"),
    ('[rating]\nlevels = ["Hài lòng"]\n', "absent.toml: [rating].levels: 'Hài lòng' must match"),
    ("[center\n", "absent.toml: not valid TOML"),
])
def test_the_terminal_names_the_center_file_when_it_is_wrong(tmp_path: Path, center_text: str | None, says: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    center = tmp_path / "absent.toml"
    if center_text is not None:
        center.write_text(center_text, encoding="utf-8")
    line = refused(terminal_main, terminal_file(tmp_path, "very_satisfied", "satisfied", "dissatisfied"), capsys,
                   "--center", str(center))
    assert line.startswith("rating_terminal: ") and says in line, line


def test_the_terminal_help_lists_center(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        terminal_main(["--help"])
    assert done.value.code == 0
    assert re.search(r"(?m)^  --center CENTER\.toml ", capsys.readouterr().out)
