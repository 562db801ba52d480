"""What ships to a device imports no development tool, and the server stands beside the agents, not above."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("protocol", "ui", "central_server", "kiosk", "display_board", "rating_terminal")
AGENTS = frozenset({"kiosk", "display_board", "rating_terminal"})
# What each shipped package may import of the project (besides itself).
ALLOWED = {
    "protocol": frozenset(),
    "ui": frozenset({"protocol"}),
    "central_server": frozenset({"protocol"}),
    "kiosk": frozenset({"protocol", "ui"}),
    "display_board": frozenset({"protocol", "ui"}),
    "rating_terminal": frozenset({"protocol"}),
}
PROJECT = frozenset({*SHIPPED, "devkit", "tests", "benchmarks"})


def imported(path: Path) -> set[str]:
    """The top-level packages of the project a module imports, wherever in it (functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def graph() -> dict[str, set[str]]:
    return {package: set().union(*(imported(p) for p in (ROOT / package).rglob("*.py"))) - {package}
            for package in SHIPPED}


def test_shipped_packages_import_only_what_ships_below_them() -> None:
    edges = graph()
    assert {package: uses - ALLOWED[package] for package, uses in edges.items() if uses - ALLOWED[package]} == {}


def test_the_graph_is_read_from_the_code() -> None:
    """The scan finds what is there: each agent's use of protocol, the server's, a lazy import in a function."""
    edges = graph()
    assert all("protocol" in edges[agent] for agent in AGENTS) and "protocol" in edges["central_server"]
    lazy = ROOT / "central_server" / "__main__.py"  # imports `provision` and `void` only when asked
    assert "central_server" in imported(lazy)
