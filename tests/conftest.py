"""Shared fixtures: a real Mosquitto on a free loopback port, a real central server process."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # before anything imports pygame
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.local_broker import LocalBroker
from tests.harness import ServerProcess, write_center_config

_center_ids = itertools.count(1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path) as running:
        yield running


@pytest.fixture
def center_id() -> str:
    """Each test its own center id, so no retained message of another test can leak in."""
    return f"t{os.getpid()}-{next(_center_ids)}"


@pytest.fixture
def center_toml(tmp_path: Path, broker: LocalBroker, center_id: str) -> Path:
    return write_center_config(tmp_path, broker, center_id)


@pytest.fixture
def server(center_toml: Path, broker: LocalBroker, center_id: str) -> Iterator[ServerProcess]:
    process = ServerProcess(center_toml, broker, center_id)
    process.start()
    try:
        yield process
    finally:
        process.stop()
