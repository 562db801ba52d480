"""The console as a process: uvicorn serving the pages, the MQTT bridge, systemd's READY=1 and watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import uvicorn
from starlette.applications import Starlette

from protocol.agent import AGENT_ZONE, Clock, Watchdog, notify, stop_on_signals
from protocol.link import MqttLink
from protocol.topics import Topics
from staff_console.accounts import Accounts
from staff_console.bridge import Bridge
from staff_console.config import ConsoleConfig
from staff_console.reports import Reports
from staff_console.throttle import SignInThrottle
from staff_console.web import MAX_STREAMS, Console, Hub, make_app

log = logging.getLogger(__name__)

FOLLOW_S = 0.2  # how often the stop signal and the connection are looked at, and the watchdog pinged
GRACEFUL_S = 2  # open streams are cut this long after SIGTERM
MAX_CONNECTIONS = MAX_STREAMS + 100


def serve(config: ConsoleConfig, accounts: Accounts, clock: Clock) -> int:
    topics = Topics(config.center_id)
    hub = Hub()
    link = MqttLink(config.mqtt, client_id=config.mqtt.client_id or f"{config.center_id}-{config.console_id}",
                    status_topic=topics.device_status(config.console_id))
    bridge = Bridge(link, topics, config.console_id, hub.wake_from_thread, clock)
    console = Console(config, accounts, bridge, hub, SignInThrottle(), Reports(config.center_config))
    app = make_app(console)
    stop = stop_on_signals()
    server = _Server(uvicorn.Config(
        app, host=config.listen, port=config.port, log_config=None, access_log=False, lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_S, server_header=False,
        limit_concurrency=MAX_CONNECTIONS,  # past it: 503 at once (each open page holds one for its stream)
        ssl_certfile=str(config.tls.cert_file) if config.tls else None,
        ssl_keyfile=str(config.tls.key_file) if config.tls else None,
    ))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        bridge.start()
        follower = asyncio.create_task(_follow(server, bridge, config, stop))
        try:
            yield
        finally:
            notify("STOPPING=1")
            follower.cancel()
            bridge.stop()

    app.router.lifespan_context = lifespan
    server.run()
    return 0 if server.started else 1


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The console's own handlers (`stop_on_signals`): SIGTERM ends it with exit 0 as it ends every agent,
        where uvicorn's would raise the signal again once stopped (and a hung stop is cut after a grace)."""
        yield


async def _follow(server: uvicorn.Server, bridge: Bridge, config: ConsoleConfig, stop: threading.Event) -> None:
    """Say where the pages are once the socket listens (READY=1), then keep the watchdog fed while the loop runs;
    stop serving on SIGTERM or SIGINT."""
    watchdog = Watchdog()
    announced = False
    while not server.should_exit:
        if stop.is_set():
            server.should_exit = True
        if server.started and not announced:
            announced = True
            print(f"staff_console: serving {config.address}", flush=True)
            notify("READY=1")
        bridge.follow_connection()
        watchdog.ping()
        await asyncio.sleep(FOLLOW_S)


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
