"""The citizen web's config: TOML -> a frozen dataclass; errors name the file and the key."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from protocol.config import MqttSettings, Table, load_mqtt, read_toml
from protocol.topics import DEVICE_ID, ID
from ui.web import MAX_PORT, address, at_most, listen_address

MIN_PHONES, MAX_PHONES = 100, 20_000


@dataclass(frozen=True, slots=True)
class WebConfig:
    path: Path
    web_id: str
    center_id: str
    mqtt: MqttSettings
    listen: str
    port: int
    trusted_proxies: tuple[str, ...]  # whose X-Forwarded-For names the client
    max_phones: int  # live pages followed at once, all clients together

    @property
    def address(self) -> str:
        return address(self.listen, self.port, False)

    def summary(self) -> str:
        proxies = ", ".join(self.trusted_proxies) or "none (clients are counted by their own address)"
        return "\n".join([f"citizen web {self.web_id} of center {self.center_id}", f"mqtt {self.mqtt.summary()}",
                          f"serving {self.address}", f"trusted proxies: {proxies}",
                          f"at most {self.max_phones} pages followed at once"])


def load(path: Path) -> WebConfig:
    root = read_toml(path)
    web = root.table("web")
    web_id = web.text("id", pattern=DEVICE_ID)
    center_id = web.text("center", pattern=ID)
    listen = listen_address(web)
    port = at_most(web, "port", web.integer("port", 8090, minimum=1), MAX_PORT)
    proxies = _proxies(web)
    max_phones = at_most(web, "max_phones", web.integer("max_phones", 3000, minimum=MIN_PHONES), MAX_PHONES)
    web.finish()
    mqtt = load_mqtt(root.table("mqtt"))
    root.finish()
    return WebConfig(path, web_id, center_id, mqtt, listen, port, proxies, max_phones)


def _proxies(table: Table) -> tuple[str, ...]:
    """IP addresses (uvicorn's forwarded_allow_ips takes addresses and networks; a name would never match)."""
    proxies: list[str] = table.strings("trusted_proxies", ["127.0.0.1"])
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise table.error("trusted_proxies", f"{proxy!r} is not an IP address or network") from None
    return tuple(proxies)
