"""The console as a process: uvicorn serving the pages, the MQTT bridge, systemd's READY=1 and watchdog."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime

from protocol.agent import AGENT_ZONE, Clock
from protocol.link import MqttLink
from protocol.topics import Topics
from staff_console.accounts import Accounts
from staff_console.bridge import Bridge
from staff_console.config import ConsoleConfig
from staff_console.reports import Reports
from staff_console.throttle import SignInThrottle
from staff_console.web import MAX_STREAMS, Console, Hub, make_app
from ui.web import run, uvicorn_config

log = logging.getLogger(__name__)

MAX_CONNECTIONS = MAX_STREAMS + 100


def serve(config: ConsoleConfig, accounts: Accounts, clock: Clock) -> int:
    topics = Topics(config.center_id)
    hub = Hub()
    link = MqttLink(config.mqtt, client_id=config.mqtt.client_id or f"{config.center_id}-{config.console_id}",
                    status_topic=topics.device_status(config.console_id))
    bridge = Bridge(link, topics, config.console_id, hub.wake_from_thread, clock)
    console = Console(config, accounts, bridge, hub, SignInThrottle(), Reports(config.center_config))
    app = make_app(console)
    server = uvicorn_config(
        app, config.listen, config.port, MAX_CONNECTIONS,
        ssl_certfile=str(config.tls.cert_file) if config.tls else None,
        ssl_keyfile=str(config.tls.key_file) if config.tls else None,
    )

    def started(loop: asyncio.AbstractEventLoop) -> None:
        hub.bind(loop)
        bridge.start()

    return run(app, server, f"staff_console: serving {config.address}", bridge.follow_connection, started,
               bridge.stop)


def main_serve(config: ConsoleConfig, clock: Clock | None = None) -> int:
    """`clock`: the real one unless given (the demo runs the console on its simulated clock, `devkit/run.py`)."""
    from staff_console.accounts import AccountsError

    try:
        accounts = Accounts(config.accounts)
    except AccountsError as exc:
        print(f"staff_console: {exc}", file=sys.stderr)
        return 2
    try:
        return serve(config, accounts, clock or (lambda: datetime.now(AGENT_ZONE)))
    finally:
        accounts.close()
