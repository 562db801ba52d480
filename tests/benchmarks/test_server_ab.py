"""benchmarks/server_ab.py: each version of the server runs its own code, and a directory that holds none is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.server_ab import checkout
from benchmarks.server_bench import Server
from devkit.local_broker import LocalBroker


def version(root: Path, says: str) -> Path:
    """A version of the server whose `python -m central_server` only says which it is."""
    (root / "central_server").mkdir(parents=True)
    (root / "central_server" / "__init__.py").write_text("")
    (root / "central_server" / "__main__.py").write_text(f"print({says!r})\n")
    (root / "protocol").mkdir()
    (root / "protocol" / "__init__.py").write_text("")
    return root


def test_a_server_runs_the_code_of_its_version_not_this_repository(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = version(tmp_path / "before", "before")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # this repository, as `make` sets it
    config = tmp_path / "run" / "center.toml"
    config.parent.mkdir()
    server = Server(config, LocalBroker(tmp_path / "run"), code=checkout(str(before)))
    assert server.proc.wait(30) == 0
    assert server.log.read_text().strip() == "before"


def test_a_directory_without_the_server_is_refused_in_one_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "central_server").mkdir()
    with pytest.raises(SystemExit) as exit_:
        checkout(str(tmp_path))
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (f"server_ab: {tmp_path}: no central_server/__main__.py there"
                                       " (a checkout of the repository is needed)\n")
