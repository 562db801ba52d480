"""The citizen web's config and its `--check` (python -m citizen_web)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "firmware_configs" / "citizen_web.example.toml"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "citizen_web", "--config", str(path), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_example_passes_check_with_its_summary() -> None:
    done = check(EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "citizen web web-1 of center rach-gia", "mqtt mqtt://127.0.0.1:1883",
        "serving http://127.0.0.1:8090/", "trusted proxies: 127.0.0.1", "at most 3000 pages followed at once"]


@pytest.mark.parametrize(("old", "new", "said"), [
    ('port = 8090', 'port = 70000', "[web].port: must be at most 65535, got 70000"),
    ('max_phones = 3000', 'max_phones = 10', "[web].max_phones"),
    ('trusted_proxies = ["127.0.0.1"]', 'trusted_proxies = ["proxy.local"]', "[web].trusted_proxies"),
    ('id = "web-1"', 'id = "web 1"', "[web].id"),
    ('[web]', '[webb]', "web"),
])
def test_a_wrong_key_exits_2_with_one_line_naming_file_and_key(tmp_path: Path, old: str, new: str, said: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "citizen_web.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    done = check(path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"citizen_web: {path.name}: ") and said in done.stderr, done.stderr
