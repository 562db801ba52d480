"""The domain stays pure: it imports no hardware, network or storage library. What ships to a device imports no
development tool, and the server stands beside the agents, not above them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"paho", "pygame", "gpiozero", "escpos", "serial", "sqlite3", "socket", "psycopg", "threading"}
PURE = [ROOT / "central_server" / "domain"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_sources_import_nothing_impure() -> None:
    files = [f for folder in PURE for f in folder.rglob("*.py")]
    assert files
    for path in files:
        assert not imported_modules(path) & FORBIDDEN, path


def test_importing_the_domain_loads_no_impure_module() -> None:
    probe = (
        "import sys, central_server.domain.center, central_server.domain.policies;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


SHIPPED = ("protocol", "ui", "central_server", "kiosk", "display_board", "rating_terminal", "staff_console",
           "citizen_web")
# What each shipped package may import of the project besides itself (devkit, tests and benchmarks never).
ALLOWED = {
    "protocol": frozenset(),
    "ui": frozenset({"protocol"}),
    "central_server": frozenset({"protocol"}),
    "kiosk": frozenset({"protocol", "ui"}),
    "display_board": frozenset({"protocol", "ui"}),
    "rating_terminal": frozenset({"protocol"}),
    # the console makes the center's report from its database (read-only), with the server's own report code
    "staff_console": frozenset({"protocol", "central_server", "ui"}),
    # the public web faces the internet: it holds nothing of the server's, only the contract and the web's plumbing
    "citizen_web": frozenset({"protocol", "ui"}),
}
PROJECT = frozenset({*SHIPPED, "devkit", "tests", "benchmarks"})


def import_graph() -> dict[str, set[str]]:
    """Which packages of the project each shipped package imports, wherever in its code (functions too)."""
    return {package: set().union(*(imported_modules(p) & PROJECT for p in (ROOT / package).rglob("*.py")))
            - {package} for package in SHIPPED}


def test_shipped_packages_import_only_what_ships_below_them() -> None:
    graph = import_graph()
    assert {package: uses - ALLOWED[package] for package, uses in graph.items() if uses - ALLOWED[package]} == {}
    agents = ("kiosk", "display_board", "rating_terminal", "staff_console", "citizen_web")
    assert all("protocol" in graph[agent] for agent in agents), "the scan finds what is there"
    assert "central_server" in imported_modules(ROOT / "central_server" / "__main__.py"), "imports in functions too"
