"""The staff console's config: TOML -> a frozen dataclass; errors name the file and the key."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.topics import DEVICE_ID, ID

LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"(?=.{{1,253}}$)(?:{LABEL}\.)*(?!\d+$){LABEL}")  # the last label not all digits: "1.2.3"
MAX_PORT = 65535
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

    def summary(self) -> str:
        host = f"[{self.listen}]" if ":" in self.listen else self.listen
        return "\n".join([f"staff console {self.console_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                          f"accounts {self.accounts}",
                          f"listen {host}:{self.port} (serving the pages is issue 15's next step)",
                          f"sessions end after {self.session_hours} h"])


def load(path: Path) -> ConsoleConfig:
    root = read_toml(path)
    console = root.table("console")
    console_id = console.text("id", pattern=DEVICE_ID)
    center_id = console.text("center", pattern=ID)
    accounts = _accounts(console)
    listen = _listen(console)
    port = _at_most(console, "port", console.integer("port", 8080, minimum=1), MAX_PORT)
    session_hours = _at_most(console, "session_hours", console.integer("session_hours", 10, minimum=1),
                             MAX_SESSION_HOURS)
    console.finish()
    mqtt = load_mqtt(root.table("mqtt"))
    root.finish()
    return ConsoleConfig(path, console_id, center_id, mqtt, accounts, listen, port, session_hours)


def _accounts(table: Table) -> Path:
    """The accounts database's path: its folder must exist (the file is made on first use), and it is no folder."""
    path: Path = table.path("accounts")
    if path.is_dir():
        raise table.error("accounts", f"{path} is a folder, not a database file")
    if not path.parent.is_dir():
        raise table.error("accounts", f"folder {path.parent} does not exist")
    return path


def _listen(table: Table) -> str:
    """An IPv4 or IPv6 address, or a host name of dot-separated labels."""
    text: str = table.text("listen", "127.0.0.1")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not HOSTNAME.fullmatch(text):
            raise table.error("listen", f"{text!r} must be an IP address or a host name") from None
    return text


def _at_most(table: Table, key: str, value: int, maximum: int) -> int:
    if value > maximum:
        raise table.error(key, f"must be at most {maximum}, got {value}")
    return value
