"""The staff console's config: TOML -> a frozen dataclass; errors name the file and the key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.topics import DEVICE_ID, ID
from ui.web import MAX_PORT, address, at_most, listen_address

MAX_SESSION_HOURS = 24  # a session outliving a working day is a stolen cookie's gift


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    path: Path
    console_id: str
    center_id: str
    mqtt: MqttSettings
    accounts: Path
    listen: str
    port: int
    session_hours: int
    tls: TlsFiles | None = None  # HTTPS with this certificate; None: plain HTTP (behind a proxy, or on loopback)
    center_config: Path | None = None  # the center's config, read for reports (its database read-only)

    @property
    def address(self) -> str:
        return address(self.listen, self.port, self.tls is not None)

    def summary(self) -> str:
        return "\n".join([f"staff console {self.console_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                          f"accounts {self.accounts}", f"serving {self.address}",
                          f"sessions end after {self.session_hours} h",
                          f"reports from {self.center_config}" if self.center_config else "no reports (no [report])"])


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert_file: Path
    key_file: Path


def load(path: Path) -> ConsoleConfig:
    root = read_toml(path)
    console = root.table("console")
    console_id = console.text("id", pattern=DEVICE_ID)
    center_id = console.text("center", pattern=ID)
    accounts = _accounts(console)
    listen = listen_address(console)
    port = at_most(console, "port", console.integer("port", 8080, minimum=1), MAX_PORT)
    session_hours = at_most(console, "session_hours", console.integer("session_hours", 10, minimum=1),
                             MAX_SESSION_HOURS)
    console.finish()
    mqtt = load_mqtt(root.table("mqtt"))
    tls = _tls(root.table("tls", required=False)) if root.has("tls") else None
    center_config = _center_config(root.table("report")) if root.has("report") else None
    root.finish()
    return ConsoleConfig(path, console_id, center_id, mqtt, accounts, listen, port, session_hours, tls, center_config)


def _tls(table: Table) -> TlsFiles:
    """The console's own certificate and key (PEM), both given, both readable files."""
    files = [_readable(table, key) for key in ("cert_file", "key_file")]
    table.finish()
    return TlsFiles(*files)


def _center_config(table: Table) -> Path:
    path = _readable(table, "center_config")
    table.finish()
    return path


def _readable(table: Table, key: str) -> Path:
    path: Path = table.path(key)
    if not path.is_file():
        raise table.error(key, f"no such file: {path}")
    if not os.access(path, os.R_OK):
        raise table.error(key, f"cannot read {path}")
    return path


def _accounts(table: Table) -> Path:
    """The accounts database's path: its folder must exist (the file is made on first use), and it is no folder."""
    path: Path = table.path("accounts")
    if path.is_dir():
        raise table.error("accounts", f"{path} is a folder, not a database file")
    if not path.parent.is_dir():
        raise table.error("accounts", f"folder {path.parent} does not exist")
    return path
