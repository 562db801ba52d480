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

ROOT = Path(__file__).resolve().parents[2]
Main = Callable[[Sequence[str] | None], int]
AGENTS: dict[str, tuple[Main, str, str]] = {  # name -> main, example file, its first table
    "central_server": (server_main, "center.example.toml", "center"),
    "kiosk": (kiosk_main, "kiosk.example.toml", "kiosk"),
    "display_board": (board_main, "board.example.toml", "board"),
    "rating_terminal": (terminal_main, "counter.example.toml", "terminal"),
}


def first_table_key(text: str, table: str) -> str:
    """The first `key = ` line of `[table]`."""
    body = text.split(f"[{table}]", 1)[1]
    found = re.search(r"(?m)^(\w+)\s*=", body)
    assert found is not None
    return found.group(1)


def _with_line(text: str, table: str, line: str) -> str:
    return text.replace(f"[{table}]\n", f"[{table}]\n{line}\n", 1)


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
