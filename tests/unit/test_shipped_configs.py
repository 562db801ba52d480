"""Every shipped example config passes its agent's --check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [("central_server", "center.example.toml"), ("kiosk", "kiosk.example.toml"),
            ("display_board", "board.example.toml"), ("rating_terminal", "counter.example.toml")]


@pytest.mark.parametrize(("agent", "name"), EXAMPLES)
def test_the_example_config_passes_check(agent: str, name: str) -> None:
    checked = subprocess.run([sys.executable, "-m", agent, "--config", str(ROOT / "firmware_configs" / name),
                              "--check"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip()


def test_every_example_in_firmware_configs_is_checked() -> None:
    shipped = {p.name for p in (ROOT / "firmware_configs").glob("*.example.toml")}
    assert shipped == {name for _, name in EXAMPLES}
