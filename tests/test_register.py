"""One register for citizens everywhere: "công dân", never "bạn"; the paper is a "phiếu", never a "vé".

Every string the code holds is read (kiosk, ticket, board, voice, refusals, hours, reports), not only the
screens: a refusal from the server or a sentence of the opening hours reaches a citizen as well.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "central_server", "kiosk", "display_board", "rating_terminal", "ui", "staff_console")
INFORMAL = re.compile(r"\b(bạn|vé)\b", re.IGNORECASE)


def strings_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_string_speaks_to_a_citizen_as_ban_or_calls_the_paper_ve(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    found = [f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}" for path in files
             for line, text in strings_of(path) if INFORMAL.search(text)]
    assert found == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('MESSAGE = "Số người đang chờ trước bạn"\nLABEL = "Vé đã cấp"\n', encoding="utf-8")
    assert [text for _, text in strings_of(sample) if INFORMAL.search(text)] == ["Số người đang chờ trước bạn",
                                                                                   "Vé đã cấp"]
