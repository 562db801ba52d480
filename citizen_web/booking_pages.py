"""The citizen's booking pages (issue 18): book a slot (`/dat-lich`), take a remote number for today (`/so-tu-xa`),
look a booking up and cancel it (`/lich-hen`), and a booking's QR code (`/ma-qr/<code>.png`).

Plain pages and forms, whole without JavaScript. The server decides everything (free places, the per-person
limits, whether a CCCD or a phone number is one); the web only asks and shows its answer, in its own Vietnamese
words. A form carries a fresh nonce: the same form sent again (a reload, a double tap) is the same request to the
server (`booking_view.request_id`), which answers a retry with its first answer, so nothing is booked twice. Every
request counts against the client's rate (`limits.py`), a booking code that is no booking's counts as a failure
as a wrong ticket token does, and no page ever shows a CCCD or a phone number back (a form that failed is shown
empty: the citizen types them again).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from citizen_web.booking_view import (
    NONCE,
    booking_view,
    code_typed,
    day_note,
    day_of,
    day_text,
    days_view,
    hhmm,
    request_id,
    site_context,
    slot_start,
    slot_text,
    slots_view,
    typed,
)
from citizen_web.bridge import Refused
from citizen_web.follow import NOT_READY_VI, Names
from citizen_web.limits import TOO_MANY_VI, client_of
from citizen_web.qr_image import qr_png
from protocol.agent import Clock
from protocol.booking_code import code_ok
from protocol.messages import MAX_TYPED, BookingView, SlotsAnswer, WebBook, WebBooking
from ui.web import read_form

if TYPE_CHECKING:
    from citizen_web.web import Phones

log = logging.getLogger(__name__)

MAX_BODY = 1024  # a booking form: a nonce, an area, a CCCD and a phone number as typed (at most 32 characters each)
MAX_FIELDS = 6  # the largest form (a remote number): nonce, area, CCCD, phone, consent
SLOTS_FRESH_S = 2.0  # an area's free places are asked again at most this often (a crowd browsing the same days)
MAX_CACHED = 256  # (area, day) answers kept at most
OFF_VI = "Trung tâm hiện chưa nhận đặt lịch hẹn trực tuyến. Mời Ông/Bà đến lấy số tại ki-ốt."
NO_BOOKING_VI = "Trung tâm hiện chưa nhận đặt lịch hẹn theo khung giờ. Mời Ông/Bà lấy số tại ki-ốt."
REMOTE_OFF_VI = "Trung tâm hiện không cấp số từ xa. Mời Ông/Bà đặt lịch hẹn hoặc lấy số tại ki-ốt."
NO_AREA_VI = "Lĩnh vực này không nhận đặt lịch hẹn trực tuyến. Vui lòng chọn lĩnh vực khác."
NO_DAY_VI = "Ngày này không nhận đặt lịch hẹn. Vui lòng chọn ngày khác."
NO_SLOT_VI = "Khung giờ này không nhận đặt lịch hẹn (đã qua hoặc ngoài giờ làm việc). Vui lòng chọn khung giờ khác."
FULL_VI = "Khung giờ này đã hết chỗ. Vui lòng chọn khung giờ khác."
STALE_FORM_VI = "Biểu mẫu đã hết hiệu lực. Vui lòng điền lại và gửi lần nữa."
CONSENT_VI = "Vui lòng đánh dấu vào ô đồng ý trước khi gửi."
CCCD_MISSING_VI = "Vui lòng nhập số căn cước công dân (12 chữ số)."
PHONE_MISSING_VI = "Vui lòng nhập số điện thoại di động."
TOO_LONG_VI = "Số đã nhập quá dài. Vui lòng kiểm tra lại."
AREA_MISSING_VI = "Vui lòng chọn lĩnh vực."
CODE_VI = "Mã đặt lịch gồm 8 chữ số. Vui lòng kiểm tra lại."
BAD_CODE_VI = "Mã đặt lịch có một chữ số bị gõ nhầm. Vui lòng kiểm tra và nhập lại mã."
TOO_MANY_WRONG_VI = "Đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau ít phút."
NOT_CANCELLED_VI = ("Không huỷ được: mã đặt lịch và số căn cước công dân không khớp với lịch hẹn nào. Vui lòng nhập "
                    "lại đúng số căn cước công dân đã dùng khi đặt lịch.")
CANCELLED_VI = "Đã huỷ lịch hẹn. Cảm ơn Ông/Bà đã báo trước để người khác có thể đặt chỗ này."
TRANSIENT = ("not_connected", "no_answer", "too_many_requests", "bad_answer", "busy")
WRONG_BOOKING = ("unknown_booking",)  # a code + CCCD that name no booking: what a guesser gets


def client_address(request: Request) -> str:
    return client_of(request.client.host) if request.client else "?"


def status_of(refused: Refused) -> int:
    """The HTTP status of a page that shows the server's refusal."""
    if refused.code in TRANSIENT:
        return 503
    if refused.code in WRONG_BOOKING:
        return 404
    if refused.code in ("bad_identity", "bad_code", "bad_request"):
        return 400
    return 409  # slot_full, slot_unavailable, person_limit, remote_off, remote_full, not_cancellable, ...


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


class BookingPages:
    def __init__(self, phones: Phones, templates: Jinja2Templates, clock: Clock | None = None) -> None:
        self.phones = phones
        self._clock = clock
        self.bridge = phones.bridge
        self.limits = phones.limits
        self.templates = templates
        self._free: dict[tuple[str, date | None], tuple[float, SlotsAnswer]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/dat-lich", self.areas),
            Route("/dat-lich/{area}", self.days),
            Route("/dat-lich/{area}/{day}", self.slots),
            Route("/dat-lich/{area}/{day}/{start}", self.book, methods=["GET", "POST"]),
            Route("/so-tu-xa", self.remote, methods=["GET", "POST"]),
            Route("/lich-hen", self.look_up, methods=["GET", "POST"]),
            Route("/lich-hen/huy", self.cancel, methods=["POST"]),
            Route("/ma-qr/{code}.png", self.qr),
        ]

    # --- pages -----------------------------------------------------------------------------------

    async def areas(self, request: Request) -> Response:
        names = self._gate(request)
        if isinstance(names, Response):
            return names
        return self._page(request, "booking_areas.html", names,
                          areas=[{"id": area, "name": name} for area, name in names.bookable.items()])

    async def days(self, request: Request) -> Response:
        names = self._gate(request)
        if isinstance(names, Response):
            return names
        area = request.path_params["area"]
        if area not in names.bookable:
            return self._message(request, 404, names, NO_AREA_VI, back=("/dat-lich", "Chọn lĩnh vực khác"))
        try:
            free = await self._slots(area, None)
        except Refused as refused:
            return self._message(request, status_of(refused), names, refused.message)
        return self._page(request, "booking_days.html", names, area={"id": area, "name": names.bookable[area]},
                          days=days_view(free.days, self._today(names)))

    async def slots(self, request: Request) -> Response:
        names = self._gate(request)
        if isinstance(names, Response):
            return names
        chosen = self._area_day(request, names)
        if isinstance(chosen, Response):
            return chosen
        area, day = chosen
        try:
            free = await self._slots(area, day)
        except Refused as refused:
            return self._message(request, status_of(refused), names, refused.message)
        shown = {"iso": day.isoformat(), "text": day_text(day), "note": day_note(day, self._today(names))}
        return self._page(request, "booking_slots.html", names, area={"id": area, "name": names.bookable[area]},
                          day=shown, slots=slots_view(free.slots, names.zone))

    async def book(self, request: Request) -> Response:
        """A slot's form (GET), and the booking it asks for (POST)."""
        names = self._gate(request)
        if isinstance(names, Response):
            return names
        chosen = self._area_day(request, names)
        if isinstance(chosen, Response):
            return chosen
        area, day = chosen
        start = slot_start(day, request.path_params["start"], names.zone)
        back = (f"/dat-lich/{area}/{day.isoformat()}", "Chọn khung giờ khác")
        if start is None:
            return self._message(request, 404, names, NO_SLOT_VI, back=back)
        assert names.bookings is not None  # _gate
        slot = {"text": slot_text(start, start + timedelta(minutes=names.bookings.slot_minutes), names.zone),
                "action": f"/dat-lich/{area}/{day.isoformat()}/{hhmm(start, names.zone)}"}
        form: dict[str, Any] = {"area": {"id": area, "name": names.bookable[area]}, "day": day_text(day),
                                "slot": slot, "back": back}
        if request.method == "GET":
            try:
                free = await self._slots(area, day)
            except Refused as refused:
                return self._message(request, status_of(refused), names, refused.message, back=back)
            offered = {s.start: s for s in free.slots}
            if start not in offered:
                return self._message(request, 404, names, NO_SLOT_VI, back=back)
            slot["text"] = slot_text(offered[start].start, offered[start].end, names.zone)
            if offered[start].free <= 0:
                return self._message(request, 409, names, FULL_VI, back=back)
            return self._page(request, "booking_form.html", names, nonce=_nonce(), **form)
        return await self._booked(request, names, "booking_form.html", form,
                                  lambda nonce, cccd, phone: WebBook(request_id(nonce, area, start.isoformat(),
                                                                                typed(cccd), typed(phone)),
                                                                     area, cccd, phone, start))

    async def remote(self, request: Request) -> Response:
        """The remote number's form (GET), and the number it asks for (POST)."""
        names = self._gate(request, "remote")
        if isinstance(names, Response):
            return names
        assert names.bookings is not None  # _gate
        form: dict[str, Any] = {"areas": [{"id": a, "name": n} for a, n in names.remote_areas.items()],
                                "minutes": names.bookings.remote_minutes, "chosen": ""}
        if request.method == "GET":
            return self._page(request, "remote_form.html", names, nonce=_nonce(), **form)
        fields = await read_form(request, MAX_BODY, max_fields=MAX_FIELDS)
        area = _field(fields, "linh_vuc")
        if area not in names.remote_areas:
            return self._page(request, "remote_form.html", names, status=400, nonce=_nonce(), message=AREA_MISSING_VI,
                              **form)
        form["chosen"] = area
        return await self._booked(request, names, "remote_form.html", form,
                                  lambda nonce, cccd, phone: WebBook(request_id(nonce, area, "remote", typed(cccd),
                                                                                typed(phone)),
                                                                     area, cccd, phone))

    async def _booked(self, request: Request, names: Names, template: str, form: dict[str, Any],
                      made: Callable[[str, str, str], WebBook]) -> Response:
        """The booking a form asks for: its confirmation, or the form again (empty) with why not."""
        fields = await read_form(request, MAX_BODY, max_fields=MAX_FIELDS)
        nonce, cccd, phone = _field(fields, "yeu_cau"), _field(fields, "cccd").strip(), _field(fields, "dien_thoai")
        phone = phone.strip()

        def again(status: int, message: str, same_nonce: bool = False) -> Response:
            return self._page(request, template, names, status=status, message=message,
                              nonce=nonce if same_nonce else _nonce(), **form)

        if not NONCE.fullmatch(nonce):
            return again(400, STALE_FORM_VI)
        if _field(fields, "dong_y") != "1":
            return again(400, CONSENT_VI, same_nonce=True)
        if not cccd:
            return again(400, CCCD_MISSING_VI, same_nonce=True)
        if not phone:
            return again(400, PHONE_MISSING_VI, same_nonce=True)
        if len(cccd) > MAX_TYPED or len(phone) > MAX_TYPED:
            return again(400, TOO_LONG_VI, same_nonce=True)
        wanted = made(nonce, cccd, phone)
        try:
            booking = await self.phones.once(f"book:{wanted.request_id}", lambda: self.bridge.book(wanted))
        except Refused as refused:
            log.info("a %s was refused: %s", wanted.action, refused.code)
            if refused.code in ("slot_full", "remote_full"):
                self._forget(wanted.area)
            # an answer that may yet come (none, or the server busy): the same form sent again is the same request
            return again(status_of(refused), refused.message, same_nonce=refused.code in TRANSIENT)
        self._forget(booking.area)
        log.info("a %s made", wanted.action)
        return self._page(request, "booked.html", names, booking=self._view(booking, names))

    async def look_up(self, request: Request) -> Response:
        """The look-up form (GET, its code filled in from `?ma=`), and the booking it names (POST)."""
        names = self._gate(request, "lookup")
        if isinstance(names, Response):
            return names
        if request.method == "GET":
            return self._page(request, "lookup_form.html", names, code=code_typed(request.query_params.get("ma", "")))
        fields = await read_form(request, MAX_BODY, max_fields=MAX_FIELDS)
        code, cccd = code_typed(_field(fields, "ma")), _field(fields, "cccd").strip()
        refusal = self._code_refusal(code, cccd, _field(fields, "ma"))
        if refusal is not None:
            return self._page(request, "lookup_form.html", names, status=400, code=code, message=refusal)
        address = client_address(request)
        if not self.limits.may_look_up(address, time.monotonic()):
            log.warning("refused a booking look-up from %s: too many wrong codes", address)
            return self._page(request, "lookup_form.html", names, status=429, code=code, message=TOO_MANY_WRONG_VI)
        asked = WebBooking(uuid.uuid4().hex, code, cccd)
        try:
            booking = await self.phones.once(f"booking:{asked.request_id}", lambda: self.bridge.booking(asked))
        except Refused as refused:
            self._count_wrong(refused, address)
            return self._page(request, "lookup_form.html", names, status=status_of(refused), code=code,
                              message=refused.message)
        return self._page(request, "booking.html", names, booking=self._view(booking, names), nonce=_nonce())

    async def cancel(self, request: Request) -> Response:
        """A booking cancelled: its code (the page's), the CCCD typed again (what confirms it), the form's nonce."""
        names = self._gate(request, "lookup")
        if isinstance(names, Response):
            return names
        fields = await read_form(request, MAX_BODY, max_fields=MAX_FIELDS)
        code, cccd, nonce = code_typed(_field(fields, "ma")), _field(fields, "cccd").strip(), _field(fields, "yeu_cau")
        refusal = self._code_refusal(code, cccd, _field(fields, "ma"))
        if refusal is None and not NONCE.fullmatch(nonce):
            refusal = STALE_FORM_VI
        if refusal is not None:
            return self._page(request, "lookup_form.html", names, status=400, code=code, message=refusal)
        address = client_address(request)
        if not self.limits.may_look_up(address, time.monotonic()):
            return self._page(request, "lookup_form.html", names, status=429, code=code, message=TOO_MANY_WRONG_VI)
        asked = WebBooking(request_id(nonce, code, typed(cccd)), code, cccd, cancel=True)
        try:
            booking = await self.phones.once(f"cancel:{asked.request_id}", lambda: self.bridge.booking(asked))
        except Refused as refused:
            log.info("a cancellation was refused: %s", refused.code)
            self._count_wrong(refused, address)
            if refused.code == "not_cancellable":  # the booking as it now is, and why
                look = WebBooking(uuid.uuid4().hex, code, cccd)
                try:
                    found = await self.phones.once(f"booking:{look.request_id}", lambda: self.bridge.booking(look))
                except Refused:
                    pass
                else:
                    return self._page(request, "booking.html", names, status=409, message=refused.message,
                                      booking=self._view(found, names), nonce=_nonce())
            message = NOT_CANCELLED_VI if refused.code in WRONG_BOOKING else refused.message
            return self._page(request, "lookup_form.html", names, status=status_of(refused), code=code,
                              message=message)
        self._forget(booking.area)
        log.info("a booking cancelled")
        return self._page(request, "booking.html", names, booking=self._view(booking, names),
                          done=CANCELLED_VI if booking.state == "cancelled" else "")

    async def qr(self, request: Request) -> Response:
        """A booking code's QR (what the kiosk's scanner reads): a PNG of its 8 digits, nothing more."""
        if not self.limits.request(client_address(request), time.monotonic()):
            return PlainTextResponse(TOO_MANY_VI, status_code=429)
        code = request.path_params["code"]
        if not code_ok(code):
            return PlainTextResponse("Không có mã này.", status_code=404)
        return Response(qr_png(code), media_type="image/png")

    # --- helpers -----------------------------------------------------------------------------------

    def _gate(self, request: Request, page: str = "booking") -> Names | Response:
        """The center's names when the client is within its rate and the center offers `page` ("booking": slots
        in some area; "remote": remote numbers; "lookup": either, once); else the page that says why not."""
        names, _queue, _reached = self.bridge.picture()
        if not self.limits.request(client_address(request), time.monotonic()):
            return self._message(request, 429, names, TOO_MANY_VI)
        if names is None:
            return self._message(request, 503, names, NOT_READY_VI)
        if names.bookings is None:
            return self._message(request, 404, names, OFF_VI)
        if page == "booking" and not names.bookable:
            return self._message(request, 404, names, NO_BOOKING_VI)
        if page == "remote" and not (names.bookings.remote and names.remote_areas):
            return self._message(request, 404, names, REMOTE_OFF_VI)
        return names

    @staticmethod
    def _code_refusal(code: str, cccd: str, as_typed: str) -> str | None:
        """What is wrong with a code and a CCCD as typed, said before anything is asked of the server."""
        if not code:
            return CODE_VI
        if not code_ok(code):
            return BAD_CODE_VI
        if not cccd:
            return CCCD_MISSING_VI
        if len(cccd) > MAX_TYPED or len(as_typed) > MAX_TYPED:
            return TOO_LONG_VI
        return None

    def _count_wrong(self, refused: Refused, address: str) -> None:
        if refused.code in WRONG_BOOKING:
            self.limits.failed(address, time.monotonic())
            log.info("a wrong booking code or CCCD from %s", address)

    async def _slots(self, area: str, day: date | None) -> SlotsAnswer:
        """The server's free days (and `day`'s slots) of `area`, asked again at most every SLOTS_FRESH_S."""
        key = (area, day)
        cached = self._free.get(key)
        if cached is not None and time.monotonic() - cached[0] < SLOTS_FRESH_S:
            return cached[1]
        answer = await self.phones.once(f"slots:{area}:{day}", lambda: self.bridge.slots(area, day))
        if len(self._free) >= MAX_CACHED:
            self._free.clear()
        self._free[key] = (time.monotonic(), answer)
        return answer

    def _forget(self, area: str) -> None:
        """A booking changed the area's free places: the next page asks the server again."""
        for key in [key for key in self._free if key[0] == area]:
            del self._free[key]

    def _view(self, booking: BookingView, names: Names) -> dict[str, Any]:
        return booking_view(booking, names.zone, self._today(names))

    def _area_day(self, request: Request, names: Names) -> tuple[str, date] | Response:
        """The bookable area and day a page's path names, or the page saying it names none."""
        area, day = request.path_params["area"], day_of(request.path_params["day"])
        if area not in names.bookable:
            return self._message(request, 404, names, NO_AREA_VI, back=("/dat-lich", "Chọn lĩnh vực khác"))
        if day is None or not self._bookable_day(names, day):
            return self._message(request, 404, names, NO_DAY_VI, back=(f"/dat-lich/{area}", "Chọn ngày khác"))
        return area, day

    def _today(self, names: Names) -> date:
        return (self._clock() if self._clock is not None else datetime.now(names.zone)).astimezone(names.zone).date()

    def _bookable_day(self, names: Names, day: date) -> bool:
        assert names.bookings is not None
        today = self._today(names)
        return today <= day <= today + timedelta(days=names.bookings.days_ahead)

    def _page(self, request: Request, template: str, names: Names | None, status: int = 200,
              **context: Any) -> Response:
        return self.templates.TemplateResponse(request, template, {**site_context(names), **context},
                                               status_code=status)

    def _message(self, request: Request, status: int, names: Names | None, message: str,
                 back: tuple[str, str] | None = None) -> Response:
        return self._page(request, "message.html", names, status, message=message, back=back)


def _nonce() -> str:
    return uuid.uuid4().hex

