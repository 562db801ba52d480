"""devkit/py313.py's choice of interpreter: one that runs and is 3.13, never a pyenv shim that only complains; and
without one it says so in one line and lets `make test` go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.py313 import find_python313, main


def interpreter(tmp_path: Path, name: str, answer: str, status: int = 0) -> str:
    """A stand-in for an interpreter: prints `answer` to the version question and exits with `status`."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho {answer}\nexit {status}\n")
    path.chmod(0o755)
    return str(path)


def test_a_python_that_says_it_is_3_13_is_taken(tmp_path: Path) -> None:
    good = interpreter(tmp_path, "python3.13", "True")
    assert find_python313(good) == good


@pytest.mark.parametrize(("answer", "status"), [("False", 0), ("pyenv: python3.13: command not found", 127)],
                         ids=["other-version", "pyenv-shim"])
def test_another_version_or_a_shim_that_fails_is_not_taken(tmp_path: Path, answer: str, status: int) -> None:
    assert find_python313(interpreter(tmp_path, "python3.13", answer, status)) is None
    assert find_python313(str(tmp_path / "nowhere")) is None


def test_without_python_3_13_it_says_so_in_one_line_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shim = interpreter(tmp_path, "python3.13", "False")
    assert main(["--python", shim]) == 0
    out = capsys.readouterr().out
    assert out == (f"py313: {shim} is not a Python 3.13: the code was NOT tried under Python 3.13 (Debian 13's); "
                   "install one (apt on trixie, or pyenv) or name it with --python\n")
