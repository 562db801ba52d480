"""The console's pages: sign-in, the official's counter page, the manager's floor, and their live streams (the
administrator's pages are `admin_pages.py`'s).

Starlette on uvicorn. A sign-in is a random token in an HttpOnly, SameSite=Strict cookie (Secure under TLS)
whose digest the accounts database keeps; every POST carries the sign-in's CSRF secret (the sign-in form a
double-submitted one) and, when the browser says where it comes from, an Origin of this very site. Pages
are rendered in the browser from JSON the server pushes (Server-Sent Events) whenever the center changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from protocol.agent import AGENT_ZONE
from protocol.messages import MAX_DOSSIER
from staff_console.accounts import Accounts, Session
from staff_console.admin_pages import admin_routes
from staff_console.bridge import Bridge, Refused
from staff_console.config import ConsoleConfig
from staff_console.reports import DATE_FORMAT, ReportRefused, Reports
from staff_console.throttle import SignInThrottle
from staff_console.users import MAX_PASSWORD, Role, User
from ui.web import Guard, read_form

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "qms_phien"
FORM_COOKIE = "qms_mau"  # the sign-in form's double-submitted CSRF secret (there is no session yet)
MAX_BODY = 16 * 1024  # bytes of a POST: a sign-in or an action is a few hundred
MAX_STREAMS = 200  # pages open at once (a center has a few dozen PCs)
PING_S = 15.0  # a stream says something at least this often (proxies close silent connections)
NOT_SEATED_VI = "Ông/Bà chưa nhận quầy này: bấm «Nhận quầy này» trước khi làm việc tại quầy."
MAX_STREAMS_PER_SESSION = 4  # pages of one sign-in (a reload, a second tab); the oldest is closed past it
MAX_HASHING = 2  # sign-ins checked at once: argon2 takes 64 MiB and a core each; more are told to try again
ACTIONS = {"next", "recall", "start", "skip", "finish", "transfer", "call", "pause", "resume", "sit", "leave",
           "dossier"}
DOSSIER_LENGTH_VI = f"Mã hồ sơ phải có từ 1 đến {MAX_DOSSIER} ký tự. Vui lòng kiểm tra lại."
MANAGERS = {Role.MANAGER, Role.ADMIN}
FOR_MANAGERS_VI = "Trang này dành cho quản lý trung tâm. Cán bộ làm việc tại trang Quầy."
MAX_FIELDS = 16  # of a form: an action, a sign-in (the admin pages' forms have more: admin_pages.MAX_FIELDS)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


class Busy(Exception):
    """Too many sign-ins are being checked at once."""


@dataclass(eq=False)
class Stream:
    """One open page's event stream: woken when the center changed; `ended` when its sign-in ended."""

    token: str
    waiter: asyncio.Event
    ended: bool = False


class Hub:
    """Wakes every open stream when the center changed. Woken from the MQTT thread, waited on in the loop."""

    def __init__(self) -> None:
        self._streams: dict[str, list[Stream]] = {}  # sign-in token -> its streams, oldest first
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def join(self, token: str) -> Stream | None:
        """A new stream for this sign-in; its oldest is ended past MAX_STREAMS_PER_SESSION (a page reloaded),
        and None when MAX_STREAMS are open."""
        mine = self._streams.setdefault(token, [])
        if len(mine) >= MAX_STREAMS_PER_SESSION:
            self._end(mine[0])
        elif self.open_streams >= MAX_STREAMS:
            return None
        stream = Stream(token, asyncio.Event())
        mine.append(stream)
        return stream

    def leave(self, stream: Stream) -> None:
        mine = self._streams.get(stream.token, [])
        if stream in mine:
            mine.remove(stream)
        if not mine:
            self._streams.pop(stream.token, None)

    def end_session(self, token: str) -> None:
        """Signed out: every page of this sign-in stops at once."""
        for stream in list(self._streams.get(token, [])):
            self._end(stream)

    def _end(self, stream: Stream) -> None:
        stream.ended = True
        stream.waiter.set()
        self.leave(stream)

    def wake_from_thread(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for streams in self._streams.values():
            for stream in streams:
                stream.waiter.set()

    @property
    def open_streams(self) -> int:
        return sum(len(streams) for streams in self._streams.values())


@dataclass
class Console:
    """What the pages need: the config, the accounts, the bridge to the center, the sign-in throttle."""

    config: ConsoleConfig
    accounts: Accounts
    bridge: Bridge
    hub: Hub
    throttle: SignInThrottle
    reports: Reports

    def __post_init__(self) -> None:
        self._throttle_lock = threading.Lock()
        self._hashing = 0  # sign-ins whose password is being hashed (64 MiB each): at most MAX_HASHING

    async def use_accounts(self, call: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(call, *args)

    def sign_in_attempt(self, address: str, username: str) -> tuple[float, float]:
        """(seconds to wait, 0 when the try may go on; the time it was counted at)."""
        with self._throttle_lock:
            now = time.monotonic()
            return self.throttle.attempt(address, username, now), now

    def take_back(self, address: str, username: str, tried_at: float) -> None:
        """A try that was no guess (a good sign-in, or one turned away busy) no longer counts."""
        with self._throttle_lock:
            self.throttle.succeeded(address, username, tried_at)

    async def verify(self, username: str, password: str) -> User | None:
        """The user, None for a wrong password; Busy when MAX_HASHING sign-ins are being checked already."""
        if self._hashing >= MAX_HASHING:
            raise Busy
        self._hashing += 1
        try:
            user: User | None = await run_in_threadpool(self.accounts.verify, username, password)
        finally:
            self._hashing -= 1
        return user


def make_app(console: Console) -> Starlette:
    templates = Jinja2Templates(directory=HERE / "templates")
    secure = console.config.tls is not None

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("center_name", console.bridge.names().get("center", ""))
        return templates.TemplateResponse(request, name, context, status_code=status)

    async def session_of(request: Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return None
        found: Session | None = await console.use_accounts(console.accounts.session, token)
        return found

    def signed_in(roles: set[Role] | None = None, *, refusal: str = FOR_MANAGERS_VI,
                  max_fields: int = MAX_FIELDS) -> Callable[[Callable[[Request, Session], Awaitable[Response]]],
                                                            Callable[[Request], Awaitable[Response]]]:
        """The handler, for a signed-in person of `roles` (others get a 403 page saying `refusal`); a POST's form
        (at most `max_fields`) must carry the sign-in's CSRF secret."""
        def wrap(handler: Callable[[Request, Session], Awaitable[Response]]) -> Callable[[Request],
                                                                                       Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                session = await session_of(request)
                if session is None:
                    if request.headers.get("accept", "").startswith("text/event-stream") or request.method == "POST":
                        return JSONResponse({"ok": False, "message": "Phiên đăng nhập đã hết. Vui lòng đăng nhập lại."},
                                            status_code=401)
                    return RedirectResponse("/dang-nhap", status_code=303)
                if roles is not None and session.user.role not in roles:
                    return page(request, "error.html", 403, session=session, title="Không có quyền truy cập",
                                message=refusal)
                form = await read_form(request, MAX_BODY, max_fields) if request.method == "POST" else None
                if form is not None and not _csrf_ok(request, session.csrf, form):
                    message = "Yêu cầu không hợp lệ (thiếu mã bảo vệ). Vui lòng tải lại trang."
                    if "x-csrf-token" in request.headers:  # the page's own script: it shows the message
                        return JSONResponse({"ok": False, "message": message}, status_code=403)
                    return page(request, "error.html", 403, session=session, title="Yêu cầu không hợp lệ",
                                message=message)
                return await handler(request, session)
            return endpoint
        return wrap

    async def home(request: Request) -> Response:
        session = await session_of(request)
        if session is None:
            return RedirectResponse("/dang-nhap", status_code=303)
        return RedirectResponse("/san" if session.user.role in MANAGERS else "/quay", status_code=303)

    async def sign_in_form(request: Request) -> Response:
        return _sign_in_page(request, page, secure)

    async def sign_in(request: Request) -> Response:
        form = await read_form(request, MAX_BODY)
        if not _form_csrf_ok(request, form):
            return _sign_in_page(request, page, secure, 403, "Phiên làm việc của trang đã hết. Vui lòng đăng nhập "
                                                             "lại.")
        username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:4 * MAX_PASSWORD]
        address = request.client.host if request.client else "?"
        wait_s, tried_at = console.sign_in_attempt(address, username)
        if wait_s > 0:
            minutes = max(1, round(wait_s / 60))
            log.warning("sign-in of %r from %s refused: too many failures", username, address)
            return _sign_in_page(request, page, secure, 429, "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau "
                                                             f"{minutes} phút.", username)
        try:
            user = await console.verify(username, password)
        except Busy:
            console.take_back(address, username, tried_at)
            return _sign_in_page(request, page, secure, 503, "Hệ thống đang bận. Vui lòng thử lại sau giây lát.",
                                 username)
        if user is None:
            log.warning("sign-in of %r from %s failed", username, address)
            return _sign_in_page(request, page, secure, 401, "Tên đăng nhập hoặc mật khẩu không đúng.", username)
        console.take_back(address, username, tried_at)
        session = await console.use_accounts(console.accounts.open_session, user, console.config.session_hours)
        log.info("%s (%s) signed in from %s", user.username, user.role, address)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session.token, max_age=console.config.session_hours * 3600,
                            httponly=True, samesite="strict", secure=secure, path="/")
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    @signed_in()
    async def sign_out(request: Request, session: Session) -> Response:
        await console.use_accounts(console.accounts.close_session, session.token)
        console.hub.end_session(session.token)
        response = RedirectResponse("/dang-nhap", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @signed_in()
    async def counters(request: Request, session: Session) -> Response:
        return page(request, "counters.html", session=session, view=console.bridge.floor_view())

    @signed_in()
    async def counter(request: Request, session: Session) -> Response:
        counter_id = request.path_params["counter_id"]
        view = console.bridge.counter_view(counter_id)
        if not view["known"]:
            return page(request, "error.html", 404, session=session, title="Không có quầy này",
                        message=f"Trung tâm không có quầy «{counter_id[:32]}».")
        return page(request, "counter.html", session=session, view=view, counter_id=counter_id)

    @signed_in()
    async def act(request: Request, session: Session) -> Response:
        counter_id = request.path_params["counter_id"]
        form = await read_form(request, MAX_BODY)
        action = str(form.get("action", ""))
        extra: dict[str, str | bool] = {key: str(form[key])[:64] for key in ("to_area", "number") if form.get(key)}
        view = console.bridge.counter_view(counter_id)
        if action not in ACTIONS or not view["known"]:
            return JSONResponse({"ok": False, "message": "Thao tác không hợp lệ."}, status_code=400)
        seated = ((view["state"] or {}).get("official") or {}).get("username")
        if action != "sit" and seated != session.user.username:
            return JSONResponse({"ok": False, "message": NOT_SEATED_VI}, status_code=409)
        if action == "dossier":  # a code cut short could be another dossier's: one too long is refused whole
            code = str(form.get("code", ""))
            if not 0 < len(code) <= MAX_DOSSIER:
                return JSONResponse({"ok": False, "message": DOSSIER_LENGTH_VI}, status_code=400)
            extra.update(code=code, remove=form.get("remove") == "1")
        try:
            answer = await run_in_threadpool(console.bridge.act, counter_id, session.user, action, extra)
        except Refused as refused:
            return JSONResponse({"ok": False, "message": refused.message})
        return JSONResponse({"ok": True, "answer": answer})

    @signed_in()
    async def counter_stream(request: Request, session: Session) -> Response:
        counter_id = request.path_params["counter_id"]
        return _stream(request, console, session, lambda: console.bridge.counter_event(counter_id))

    @signed_in(MANAGERS)
    async def floor(request: Request, session: Session) -> Response:
        return page(request, "floor.html", session=session, view=console.bridge.floor_view())

    @signed_in(MANAGERS)
    async def floor_stream(request: Request, session: Session) -> Response:
        return _stream(request, console, session, console.bridge.floor_event)

    @signed_in(MANAGERS)
    async def reports_form(request: Request, session: Session) -> Response:
        return _reports_page(request, page, session, console)

    @signed_in(MANAGERS)
    async def report(request: Request, session: Session) -> Response:
        form = await read_form(request, MAX_BODY)
        first, last = str(form.get("from", ""))[:10], str(form.get("to", ""))[:10]
        try:
            period = console.reports.period(first, last, datetime.now(AGENT_ZONE).date())
            name, data = await run_in_threadpool(console.reports.zipped, *period)
        except ReportRefused as refused:
            return _reports_page(request, page, session, console, refused.message, first, last)
        log.info("%s made the report of %s to %s", session.user.username, *period)
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    routes = [
        Route("/", home),
        Route("/dang-nhap", sign_in_form, methods=["GET"]),
        Route("/dang-nhap", sign_in, methods=["POST"]),
        Route("/dang-xuat", sign_out, methods=["POST"]),
        Route("/quay", counters),
        Route("/quay/{counter_id}", counter),
        Route("/quay/{counter_id}/lenh", act, methods=["POST"]),
        Route("/quay/{counter_id}/luong", counter_stream),
        Route("/san", floor),
        Route("/san/luong", floor_stream),
        Route("/bao-cao", reports_form, methods=["GET"]),
        Route("/bao-cao", report, methods=["POST"]),
        *admin_routes(console.bridge, page, signed_in),
        Mount("/tep", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, csp=CSP, static_prefix="/tep/", max_body=MAX_BODY)])


def _csrf_ok(request: Request, expected: str, form: FormData) -> bool:
    given = request.headers.get("x-csrf-token") or str(form.get("csrf", ""))
    return hmac.compare_digest(given.encode(), expected.encode())


def _form_csrf_ok(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(FORM_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), str(form.get("csrf", "")).encode())


def _sign_in_page(request: Request, page: Callable[..., Response], secure: bool, status: int = 200,
                  error: str = "", username: str = "") -> Response:
    form_secret = secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", status, csrf=form_secret, error=error, username=username)
    response.set_cookie(FORM_COOKIE, form_secret, max_age=3600, httponly=True, samesite="strict", secure=secure,
                        path="/")
    return response


def _reports_page(request: Request, page: Callable[..., Response], session: Session, console: Console,
                  error: str = "", first: str = "", last: str = "") -> Response:
    today = datetime.now(AGENT_ZONE).date().strftime(DATE_FORMAT)
    return page(request, "reports.html", 400 if error else 200, session=session, error=error, today=today,
                first=first or today, last=last or today, available=console.reports.available)


def _stream(request: Request, console: Console, session: Session, event: Callable[[], tuple[int, str]]) -> Response:
    stream = console.hub.join(session.token)
    if stream is None:
        return JSONResponse({"ok": False, "message": "Quá nhiều trang đang mở."}, status_code=503)

    async def events() -> AsyncIterator[str]:
        try:
            last, checked = -1, time.monotonic()
            while not stream.ended:
                version, shown = event()
                if version != last:
                    last = version
                    yield f"data: {shown}\n\n"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stream.waiter.wait(), PING_S)
                stream.waiter.clear()
                if time.monotonic() - checked >= PING_S:  # however busy the center: a sign-in that ended stops
                    checked = time.monotonic()
                    if await console.use_accounts(console.accounts.session, session.token) is None:
                        break
                    yield ": còn kết nối\n\n"
            yield "event: het-phien\ndata: {}\n\n"
        finally:
            console.hub.leave(stream)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
