"""What the two web processes (the staff console and the citizen web) share: the uvicorn server stopped by the
agents' own signal handling, READY=1 and the watchdog, the security headers and POST guard, the bounded form,
and the checks of a listen address.

Imports uvicorn and Starlette: only the web processes import this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.agent import Watchdog, notify, stop_on_signals
from protocol.config import Table

log = logging.getLogger(__name__)

FOLLOW_S = 0.2  # how often the stop signal and the connection are looked at, and the watchdog pinged
GRACEFUL_S = 2  # open streams are cut this long after SIGTERM
BODY_S = 10.0  # a POST's body must arrive within this (a client sending it byte by byte holds nothing longer)
MAX_PORT = 65535
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"(?=.{{1,253}}$)(?:{LABEL}\.)*(?!\d+$){LABEL}")  # the last label not all digits: "1.2.3"


class QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The process's own handlers (`stop_on_signals`): SIGTERM ends it with exit 0 as it ends every agent,
        where uvicorn's would raise the signal again once stopped (and a hung stop is cut after a grace)."""
        yield


def run(app: Starlette, config: uvicorn.Config, announce: str, tick: Callable[[], None],
        started: Callable[[asyncio.AbstractEventLoop], None], stopped: Callable[[], None]) -> int:
    """Serve `app` until SIGTERM or SIGINT (then exit 0): `started` with the event loop once it runs (bind what
    wakes the streams, start the MQTT link), `announce` printed and READY=1 once the socket listens, `tick` every
    FOLLOW_S, `stopped` at the end (after STOPPING=1). 1 when it could not serve (its port taken)."""
    stop = stop_on_signals()
    server = QuietServer(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        started(asyncio.get_running_loop())
        follower = asyncio.create_task(follow(server, announce, stop, tick))
        try:
            yield
        finally:
            notify("STOPPING=1")
            follower.cancel()
            stopped()

    app.router.lifespan_context = lifespan
    server.run()
    return 0 if server.started else 1


async def follow(server: uvicorn.Server, announce: str, stop: threading.Event, tick: Callable[[], None]) -> None:
    """Print `announce` once the socket listens (and READY=1), then keep the watchdog fed while the loop runs and
    call `tick` every FOLLOW_S; stop serving on SIGTERM or SIGINT."""
    watchdog = Watchdog()
    announced = False
    while not server.should_exit:
        if stop.is_set():
            server.should_exit = True
        if server.started and not announced:
            announced = True
            print(announce, flush=True)
            notify("READY=1")
        tick()
        watchdog.ping()
        await asyncio.sleep(FOLLOW_S)


class Guard:
    """Every response gets the security headers; a POST over `max_body`, or from another site, is refused.

    Plain ASGI: Starlette's BaseHTTPMiddleware would pass every chunk of every open stream through a memory
    stream and a task of its own."""

    def __init__(self, app: ASGIApp, *, csp: str, static_prefix: str, max_body: int) -> None:
        self.app = app
        self.csp = csp
        self.static_prefix = static_prefix
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        static = request.url.path.startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Chrome send "Origin: null"
                headers["X-Frame-Options"] = "DENY"
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        if request.method == "POST":
            refusal = self._post_refusal(request)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)

    def _post_refusal(self, request: Request) -> Response | None:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > self.max_body:
            return JSONResponse({"ok": False, "message": "Yêu cầu quá lớn."}, status_code=413)
        origin = request.headers.get("origin")
        if origin is not None and not same_site(origin, request):
            log.warning("refused a POST to %s from origin %r", request.url.path, origin[:100])
            return JSONResponse({"ok": False, "message": "Yêu cầu không hợp lệ."}, status_code=403)
        return None


def same_site(origin: str, request: Request) -> bool:
    """The browser's Origin is this site: its host as the request names it (a reverse proxy must pass the Host
    on: `proxy_set_header Host $host`), its scheme as the request came (behind a proxy, X-Forwarded-Proto)."""
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme == request.url.scheme


async def read_form(request: Request, max_body: int, max_fields: int = 16) -> FormData:
    """The POST's form (read once per request: Starlette caches it), bounded in fields, size and time."""
    try:
        return await asyncio.wait_for(request.form(max_files=0, max_fields=max_fields, max_part_size=max_body),
                                      BODY_S)
    except TimeoutError:
        log.warning("a POST to %s did not send its body within %g s", request.url.path, BODY_S)
        return FormData()


def listen_address(table: Table) -> str:
    """`listen`: an IPv4 or IPv6 address, or a host name of dot-separated labels."""
    text: str = table.text("listen", "127.0.0.1")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not HOSTNAME.fullmatch(text):
            raise table.error("listen", f"{text!r} must be an IP address or a host name") from None
    return text


def at_most(table: Table, key: str, value: int, maximum: int) -> int:
    if value > maximum:
        raise table.error(key, f"must be at most {maximum}, got {value}")
    return value


def address(listen: str, port: int, tls: bool) -> str:
    host = f"[{listen}]" if ":" in listen else listen
    return f"{'https' if tls else 'http'}://{host}:{port}/"


def uvicorn_config(app: Any, listen: str, port: int, max_connections: int, **extra: Any) -> uvicorn.Config:
    """Quiet (the process logs what matters itself), no Server header, and at most `max_connections` at once:
    past it 503 at once (each open page holds one for its stream). X-Forwarded-For is believed only when `extra`
    says from whom (uvicorn would believe it from 127.0.0.1: any local process)."""
    extra.setdefault("proxy_headers", False)
    return uvicorn.Config(app, host=listen, port=port, log_config=None, access_log=False, lifespan="on",
                          timeout_graceful_shutdown=GRACEFUL_S, server_header=False,
                          limit_concurrency=max_connections, **extra)
