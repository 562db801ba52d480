"""The citizen web as a process: uvicorn serving the pages, the MQTT bridge, systemd's READY=1 and watchdog."""

from __future__ import annotations

import asyncio

from citizen_web.bridge import Bridge
from citizen_web.config import WebConfig
from citizen_web.limits import ClientLimits
from citizen_web.web import Phones, make_app
from protocol.agent import Clock
from protocol.link import MqttLink
from protocol.topics import Topics
from ui.web import run, uvicorn_config


def serve(config: WebConfig, clock: Clock | None = None) -> int:
    topics = Topics(config.center_id)
    link = MqttLink(config.mqtt, client_id=config.mqtt.client_id or f"{config.center_id}-{config.web_id}",
                    status_topic=topics.device_status(config.web_id))
    phones: Phones | None = None

    def woken() -> None:
        if phones is not None:
            phones.wake_from_thread()

    bridge = Bridge(link, topics, config.web_id, woken)
    phones = Phones(bridge, config, ClientLimits())
    app = make_app(phones, clock)
    # Behind the reverse proxy the client is the address the proxy saw (X-Forwarded-For, from trusted proxies only)
    server = uvicorn_config(app, config.listen, config.port, config.max_phones + 200, proxy_headers=True,
                            forwarded_allow_ips=list(config.trusted_proxies))

    def tick() -> None:
        bridge.follow_connection()
        phones.refresh()

    def started(loop: asyncio.AbstractEventLoop) -> None:
        phones.bind(loop)
        bridge.start()

    def stopped() -> None:
        bridge.stop()
        phones.close()

    return run(app, server, f"citizen_web: serving {config.address}", tick, started, stopped)
