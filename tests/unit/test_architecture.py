"""The domain stays pure: it imports no hardware, network or storage library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
