"""The citizen's pages: a ticket's page (its QR opens `/phieu/<token>`), its live stream, and the rating form; the
booking pages (issue 18) are `booking_pages.py`'s.

Starlette on uvicorn. The page is whole without JavaScript: it reloads itself every 30 s (but not while its rating
form is open, which a reload would wipe), and the rating is a plain form (`rating.py`). With JavaScript, the page
follows the ticket through Server-Sent Events, vibrates and rings when the citizen is called or close to it.
Nothing of a ticket is served without its token, every client is limited (`limits.py`), and the process holds a
bounded number of tickets and streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from citizen_web.booking_pages import MAX_BODY as BOOKING_MAX_BODY
from citizen_web.booking_pages import BookingPages
from citizen_web.booking_view import site_context
from citizen_web.bridge import Bridge, Refused
from citizen_web.config import WebConfig
from citizen_web.follow import (
    NOT_READY_VI,
    Queue,
    ended_view,
    expired_view,
    is_final,
    needs_lookup,
    ticket_seq,
    view_of,
)
from citizen_web.limits import STREAMS_PER_TOKEN, TOO_MANY_VI, ClientLimits, client_of
from citizen_web.rating import RatingForm, rating_context, read_rating
from protocol.agent import Clock
from protocol.messages import MAX_CRITERIA, PublicTicket, WebLookup, WebRate
from ui.web import Guard, read_form

log = logging.getLogger(__name__)
T = TypeVar("T")

HERE = Path(__file__).parent
TOKEN = re.compile(r"[A-Za-z0-9_-]{27}")  # base64url of 20 bytes: the day, the ticket's place, a 96-bit MAC
# A rating form: a level, the criteria, a comment of 500 characters. The page sends it as multipart/form-data, its
# letters as UTF-8 (at most 3 bytes each; percent-encoded they would take 9): the longest is under 2.5 KB, within
# this and the reverse proxy's 4 KB (firmware_configs/nginx/citizen-web.conf).
MAX_BODY = 4096
PING_S = 15.0  # a stream says something at least this often (proxies close silent connections)
LOOKUP_THREADS = 16  # requests to the server at once (each waits for its answer in a thread)
RATING_REFRESH_S = 20.0  # a finished ticket's page asks again this often: it may have been rated at the counter
RELOOK_S = 3.0  # a ticket is looked up again at most this often (whatever the server answered)
GONE = ("unknown_token", "expired_token")  # the server's word that a token names no ticket of today any more
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
TOO_MANY_WRONG_VI = "Đã tra cứu quá nhiều mã phiếu không đúng. Vui lòng thử lại sau ít phút."
NOT_FOUND_VI = "Không tìm thấy phiếu. Vui lòng quét lại mã QR trên phiếu."
COMMENT_SENT_VI = "Phản ánh, kiến nghị của Ông/Bà đã được gửi đến trung tâm."


@dataclass(slots=True)
class Known:
    """A ticket the web has looked up, by its token: the server's last answer."""

    ticket: PublicTicket
    looked_at: float  # time.monotonic()
    answered_at: datetime  # the same moment on the wall clock (the server's estimates count from then)
    streams: list[asyncio.Event] = field(default_factory=list)
    gone: str | None = None  # why its token names no ticket of today any more (the server's words), once it said

    def stale(self, queue: Queue | None, now: float) -> bool:
        """The last look-up may no longer hold (the ticket left the queue; its rating may have been given at the
        counter), and it is not too soon to ask again."""
        if self.gone is not None or now - self.looked_at < RELOOK_S:
            return False
        rating = self.ticket.rating
        return needs_lookup(self.ticket, queue) or (rating.open and rating.level is None
                                                    and now - self.looked_at >= RATING_REFRESH_S)


class Phones:
    """The tickets followed from phones: their last look-up, their open streams, and the look-ups to do again."""

    def __init__(self, bridge: Bridge, config: WebConfig, limits: ClientLimits) -> None:
        self.bridge = bridge
        self.config = config
        self.limits = limits
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._max_known = 4 * config.max_phones
        self._asking: dict[str, asyncio.Future[Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="lookup")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refreshing: set[asyncio.Future[None]] = set()
        self.open_streams = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def known(self, token: str) -> Known | None:
        return self._known.get(token)

    async def look_up(self, token: str) -> Known:
        """The ticket of `token`, asked once however many pages ask at the same moment; Refused when it is none
        (a ticket known before is then marked gone, when the server says so)."""
        try:
            ticket = await self.once(token, lambda: self.bridge.ask(WebLookup(uuid.uuid4().hex, token)))
        except Refused as refused:
            known = self._known.get(token)
            if known is not None and refused.code in GONE:
                known.gone = refused.message
                self._wake_streams(known)
            raise
        return self._remember(token, ticket)

    async def current(self, token: str) -> Known:
        """The ticket as it is now: looked up again when no stream keeps it fresh (a page without its script, a
        reload) and its last look-up may no longer hold."""
        known = self._known[token]
        _names, queue, reached = self.bridge.picture()
        if reached and not known.streams and known.stale(queue, time.monotonic()):
            with contextlib.suppress(Refused):  # the last answer stands (or it is marked gone)
                await self.look_up(token)
        return known

    async def rate(self, token: str, rating: RatingForm) -> Known:
        request = WebRate(uuid.uuid4().hex, token, rating.level, rating.criteria, rating.comment)
        ticket = await self.once(f"rate:{token}:{rating!r}", lambda: self.bridge.ask(request))
        return self._remember(token, ticket)

    async def once(self, key: str, work: Callable[[], T]) -> T:
        """`work` (a blocking request to the server) done in a thread, once however many ask for `key` at the same
        moment (a ticket's pages; a form sent twice by a double tap)."""
        asking = self._asking.get(key)
        if asking is None:
            loop = asyncio.get_running_loop()
            asking = asyncio.ensure_future(loop.run_in_executor(self._pool, work))
            self._asking[key] = asking
            asking.add_done_callback(lambda _done: self._asking.pop(key, None))
        done: T = await asyncio.shield(asking)
        return done

    def _remember(self, token: str, ticket: PublicTicket) -> Known:
        known = self._known.get(token)
        if known is None:
            known = self._known[token] = Known(ticket, time.monotonic(), datetime.now(UTC))
            self._forget_unfollowed()
        else:
            known.ticket, known.looked_at, known.answered_at = ticket, time.monotonic(), datetime.now(UTC)
            self._known.move_to_end(token)
        self._wake_streams(known)
        return known

    @staticmethod
    def _wake_streams(known: Known) -> None:
        for waiter in known.streams:
            waiter.set()

    def _forget_unfollowed(self) -> None:
        while len(self._known) > self._max_known:
            for token, known in self._known.items():
                if not known.streams:
                    del self._known[token]
                    break
            else:
                return

    def view(self, token: str) -> dict[str, Any]:
        known = self._known[token]
        names, queue, reached = self.bridge.picture()
        place = ticket_seq(known.ticket.id)
        if known.gone is not None:
            view = ended_view(known.gone)
        elif place is not None and queue is not None and place[0] < queue.day:
            view = expired_view(place[0])
        elif names is None:
            view = {"state": "unknown", "before": "", "big": "", "after": "", "notes": [NOT_READY_VI]}
        else:
            view = view_of(known.ticket, queue, names, datetime.now(UTC), known.answered_at)
        view["offline"] = not reached
        return view

    # --- following ---------------------------------------------------------------------------

    def join(self, token: str) -> asyncio.Event | None:
        """A stream for the ticket's page; the oldest of its streams ends past STREAMS_PER_TOKEN, and None when
        `max_phones` are followed."""
        known = self._known[token]
        if self.open_streams >= self.config.max_phones:
            return None
        waiter = asyncio.Event()
        if len(known.streams) >= STREAMS_PER_TOKEN:
            oldest = known.streams.pop(0)
            oldest.set()  # it sees it left the list and ends
            self.open_streams -= 1
        known.streams.append(waiter)
        self.open_streams += 1
        return waiter

    def leave(self, token: str, waiter: asyncio.Event) -> None:
        known = self._known.get(token)
        if known is not None and waiter in known.streams:
            known.streams.remove(waiter)
            self.open_streams -= 1

    def following(self, token: str, waiter: asyncio.Event) -> bool:
        known = self._known.get(token)
        return known is not None and waiter in known.streams

    def wake_from_thread(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for known in self._known.values():
            for waiter in known.streams:
                waiter.set()
        self.refresh()

    def refresh(self) -> None:
        """Look up again the followed tickets the queue no longer places, and finished ones whose rating is open
        (it may have been given at the counter). Called at every change and every few tenths of a second."""
        _names, queue, reached = self.bridge.picture()
        if not reached:
            return
        now = time.monotonic()
        for token, known in list(self._known.items()):
            if not known.streams or token in self._asking:
                continue
            if known.stale(queue, now):
                known.looked_at = now  # asked again RELOOK_S later at the soonest, whatever the answer
                task = asyncio.ensure_future(self._refresh_one(token))
                self._refreshing.add(task)
                task.add_done_callback(self._refreshing.discard)

    async def _refresh_one(self, token: str) -> None:
        with contextlib.suppress(Refused):
            await self.look_up(token)


def make_app(phones: Phones, clock: Clock | None = None) -> Starlette:
    templates = Jinja2Templates(directory=HERE / "templates")
    limits = phones.limits

    def page(request: Request, status: int, token: str = "", view: dict[str, Any] | None = None,
             message: str = "", sent: RatingForm | None = None) -> Response:
        """`sent`: a refused rating form, shown again as the citizen filled it."""
        names, _queue, _reached = phones.bridge.picture()
        context = {**site_context(names), "token": token, "view": view, "message": message,
                   **rating_context(names, sent)}
        return templates.TemplateResponse(request, "ticket.html" if view else "message.html", context,
                                          status_code=status)

    def client(request: Request) -> str:
        return client_of(request.client.host) if request.client else "?"

    async def ticket_of(request: Request) -> tuple[str, Known | Response]:
        """The ticket the URL names, or the page that says why not (the client's limits come first)."""
        address, now = client(request), time.monotonic()
        token = request.path_params["token"]
        if not limits.request(address, now):
            return token, page(request, 429, message=TOO_MANY_VI)
        if not TOKEN.fullmatch(token):
            limits.failed(address, now)
            return token, page(request, 404, message=NOT_FOUND_VI)
        if phones.known(token) is not None:
            return token, await phones.current(token)
        if not limits.may_look_up(address, now):
            log.warning("refused a look-up from %s: too many wrong tokens", address)
            return token, page(request, 429, message=TOO_MANY_WRONG_VI)
        try:
            return token, await phones.look_up(token)
        except Refused as refused:
            if refused.code == "unknown_token":
                limits.failed(address, now)
                log.info("a wrong token from %s", address)
                return token, page(request, 404, message=refused.message)
            if refused.code == "expired_token":
                return token, page(request, 410, message=refused.message)
            if refused.code in ("not_connected", "no_answer", "too_many_requests"):
                return token, page(request, 503, message=refused.message)
            return token, page(request, 400, message=refused.message)

    async def home(request: Request) -> Response:
        if not limits.request(client(request), time.monotonic()):
            return page(request, 429, message=TOO_MANY_VI)
        names, _queue, _reached = phones.bridge.picture()
        return templates.TemplateResponse(request, "home.html", site_context(names))

    async def ticket(request: Request) -> Response:
        token, found = await ticket_of(request)
        if isinstance(found, Response):
            return found
        return page(request, 200, token, phones.view(token))

    async def rate(request: Request) -> Response:
        token, found = await ticket_of(request)
        if isinstance(found, Response):
            return found
        form = await read_form(request, MAX_BODY, max_fields=2 + MAX_CRITERIA)
        names, _queue, _reached = phones.bridge.picture()
        if names is None:
            return page(request, 503, token, phones.view(token), NOT_READY_VI)
        rating = read_rating(((name, value) for name, value in form.multi_items() if isinstance(value, str)), names)
        if rating.refusal is not None:  # nothing reaches the server
            log.warning("refused a phone rating's form: %s", rating.refusal)
            return page(request, 400, token, phones.view(token), rating.refusal, rating)
        unratable = _not_ratable(found.ticket)
        if unratable is not None:  # said here: only a rating that may count reaches the server (and its disk)
            return page(request, 409, token, phones.view(token), unratable)
        try:
            await phones.rate(token, rating)
        except Refused as refused:
            log.info("a phone rating was refused: %s", refused.code)
            with contextlib.suppress(Refused):  # the page then shows what holds (rated at the counter, closed)
                await phones.look_up(token)
            return page(request, 409, token, phones.view(token), refused.message, rating)  # to send again as it was
        log.info("a phone rating: %s, %d criteria, %s", rating.level, len(rating.criteria),
                 "a comment" if rating.comment else "no comment")
        # its note thanks the citizen for the rating; the message says what they wrote reached the center
        return page(request, 200, token, phones.view(token), COMMENT_SENT_VI if rating.comment else "")

    async def stream(request: Request) -> Response:
        token, found = await ticket_of(request)
        if isinstance(found, Response):
            return found
        address = client(request)
        if not limits.open_stream(address, time.monotonic()):
            return PlainTextResponse("Quá nhiều trang đang mở.", status_code=429)
        waiter = phones.join(token)
        if waiter is None:
            limits.close_stream(address)
            return PlainTextResponse("Hệ thống đang bận.", status_code=503)
        return StreamingResponse(_events(phones, token, waiter, address), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def robots(_request: Request) -> Response:
        return PlainTextResponse("User-agent: *\nDisallow: /\n")

    routes = [
        Route("/", home),
        Route("/robots.txt", robots),
        Route("/phieu/{token}", ticket),
        Route("/phieu/{token}/luong", stream),
        Route("/phieu/{token}/danh-gia", rate, methods=["POST"]),
        *BookingPages(phones, templates, clock).routes(),
        Mount("/tep", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, csp=CSP, static_prefix="/tep/",
                                                           max_body=max(MAX_BODY, BOOKING_MAX_BODY))])


def _not_ratable(ticket: PublicTicket) -> str | None:
    """Why the ticket cannot be rated now, in the server's words, or None when it may be."""
    if ticket.rating.level is not None:
        return f"Phiếu số {ticket.number} đã được đánh giá. Cảm ơn Ông/Bà."
    if ticket.state == "served" and not ticket.rating.open:
        return f"Đã hết thời gian đánh giá cho phiếu số {ticket.number}."
    if ticket.state != "served":
        return (f"Phiếu số {ticket.number} chưa được phục vụ xong; Ông/Bà có thể đánh giá sau khi cán bộ hoàn tất "
                "hồ sơ.")
    return None


async def _events(phones: Phones, token: str, waiter: asyncio.Event, address: str) -> AsyncIterator[str]:
    """The page's view at once and after every change of it; a ping every PING_S. It ends when nothing more can
    change, or when a newer page of the ticket took its place: then it says so, and the page's script stops (the
    browser would otherwise open it again within seconds)."""
    try:
        last = ""
        while phones.following(token, waiter):
            view = phones.view(token)
            shown = json.dumps(view, ensure_ascii=False)
            if shown != last:
                last = shown
                yield f"data: {shown}\n\n"
            if is_final(view):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), PING_S)
            if not waiter.is_set():
                yield ": còn kết nối\n\n"
            waiter.clear()
        yield "event: xong\ndata: {}\n\n"
    finally:
        phones.leave(token, waiter)
        phones.limits.close_stream(address)
