"""The booking pages (citizen_web/booking_pages.py) over HTTP (Starlette's TestClient), with a bridge that answers
as the server would (a book of appointments, answers kept by request_id) and counts what it was asked: what a
citizen sees, what reaches the server, and that a form sent again books nothing twice."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from citizen_web import booking_pages, limits, web
from citizen_web.booking_view import request_id
from citizen_web.bridge import Refused
from citizen_web.config import WebConfig
from citizen_web.follow import Names, Queue
from citizen_web.limits import ClientLimits
from citizen_web.web import Phones, make_app
from protocol.booking_code import check_digit, grouped
from protocol.messages import (
    BookingInfo,
    BookingView,
    FreeDay,
    FreeSlot,
    SlotsAnswer,
    WebBook,
    WebBooking,
    WebLookup,
    WebRate,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = datetime.now(ZONE).date()  # the pages' today too (the client's clock): a run across midnight stays one day
TOMORROW = TODAY + timedelta(days=1)
CCCD = "001090123456"
PHONE = "0912345678"
RULES = BookingInfo(slot_minutes=30, days_ahead=14, early_minutes=30, late_minutes=15, remote=True, remote_minutes=60,
                    retention_days=30)
AREAS = {"dat-dai": "Đất đai", "ho-tich": "Hộ tịch", "xay-dung": "Xây dựng"}
NAMES = Names("Bộ phận Một cửa", AREAS, {"1": "Quầy 1"}, ("very_satisfied", "satisfied", "dissatisfied"), ZONE, RULES,
              {"dat-dai": "Đất đai", "ho-tich": "Hộ tịch"}, AREAS)  # remote numbers in every open area


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def code_of(n: int) -> str:
    body = f"{n:07d}"
    return body + check_digit(body)


class Server:
    """The server's side of the web's booking requests: slots with their free places, a booking per request_id
    (a retry is answered with the first answer), one booking per CCCD and area a day, cancelling."""

    def __init__(self) -> None:
        self.names: Names = NAMES
        self.free = {at(TOMORROW, 8): 2, at(TOMORROW, 8, 30): 0, at(TOMORROW, 9): 1}
        self.asked: list[tuple[str, str]] = []  # (action, request_id)
        self.answers: dict[str, BookingView | Refused] = {}
        self.bookings: dict[str, tuple[BookingView, str]] = {}  # code -> (booking, CCCD)
        self.refuse: Refused | None = None  # the next answer, whatever was asked
        self._lock = threading.Lock()

    def picture(self) -> tuple[Names | None, Queue | None, bool]:
        return self.names, None, True

    def ask(self, request: WebLookup | WebRate) -> None:
        raise AssertionError("no ticket is looked up here")

    def slots(self, area: str, day: date | None = None) -> SlotsAnswer:
        self.asked.append(("slots", area))
        if self.refuse is not None:
            raise self.refuse
        days = (FreeDay(TOMORROW, sum(self.free.values())), FreeDay(TOMORROW + timedelta(days=1), 0))
        slots = tuple(FreeSlot(start, start + timedelta(minutes=30), free) for start, free in self.free.items()
                      if day == start.date())
        return SlotsAnswer("r", area, days, slots, remote_free=10)

    def book(self, request: WebBook) -> BookingView:
        with self._lock:
            self.asked.append((request.action, request.request_id))
            answer = self.answers.get(request.request_id)
            if answer is None:
                answer = self.answers[request.request_id] = self._book(request)
        if isinstance(answer, Refused):
            raise answer
        return answer

    def _book(self, request: WebBook) -> BookingView | Refused:
        if self.refuse is not None:
            refused, self.refuse = self.refuse, None
            return refused
        day = TODAY if request.start is None else request.start.date()
        if any(cccd == request.cccd and b.area == request.area and b.day == day and b.state != "cancelled"
               for b, cccd in self.bookings.values()):
            return Refused("person_limit", "Mỗi công dân được đặt tối đa 1 lịch hẹn hoặc số từ xa cho lĩnh vực Đất đai "
                                           f"trong một ngày; ngày {day:%d/%m/%Y} Ông/Bà đã đủ.")
        code = code_of(1234567 + len(self.bookings))
        if request.start is None:
            booking = BookingView(code, request.area, NAMES.areas[request.area], day, "remote", "booked",
                                  at(TODAY, 9, 45), at(TODAY, 9, 45), at(TODAY, 10, 45))
        else:
            self.free[request.start] -= 1
            booking = BookingView(code, request.area, NAMES.areas[request.area], day, "booked", "booked",
                                  at(TODAY, 7), request.start - timedelta(minutes=30),
                                  request.start + timedelta(minutes=15), request.start,
                                  request.start + timedelta(minutes=30))
        self.bookings[code] = (booking, request.cccd)
        return booking

    def booking(self, request: WebBooking) -> BookingView:
        self.asked.append((request.action, request.request_id))
        if self.refuse is not None:
            raise self.refuse
        found = self.bookings.get(request.code)
        if found is None or found[1] != request.cccd:
            raise Refused("unknown_booking", "Không tìm thấy lịch hẹn với mã này.")
        booking = found[0]
        if request.cancel:
            if booking.state not in ("booked", "cancelled"):
                raise Refused("not_cancellable", "Lịch hẹn này đã được sử dụng hoặc đã hết hạn, không huỷ được nữa.")
            booking = replace(booking, state="cancelled")
            self.bookings[request.code] = (booking, request.cccd)
        return booking

    def made(self) -> list[str]:
        """The requests that changed something (book, remote, cancel_booking), by request_id, each once."""
        return sorted({rid for action, rid in self.asked if action not in ("slots", "booking")})


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def client(server: Server, tmp_path: Path) -> Iterator[TestClient]:
    config = WebConfig(tmp_path / "citizen_web.toml", "web-1", "c", None, "127.0.0.1",  # type: ignore[arg-type]
                       8090, ("127.0.0.1",), 100)
    phones = Phones(server, config, ClientLimits())  # type: ignore[arg-type]  # the bridge's calls
    with TestClient(make_app(phones, lambda: at(TODAY, 10))) as test_client:
        yield test_client
    phones.close()


def nonce_of(page: str) -> str:
    found = re.search(r'name="yeu_cau" value="([0-9a-f]{32})"', page)
    assert found is not None, "the form carries its nonce"
    return found[1]


SLOT_URL = f"/dat-lich/dat-dai/{TOMORROW.isoformat()}/0900"


def book(client: TestClient, nonce: str, url: str = SLOT_URL, **fields: str) -> tuple[int, str]:
    answer = client.post(url, data={"yeu_cau": nonce, "cccd": CCCD, "dien_thoai": PHONE, "dong_y": "1", **fields})
    return answer.status_code, answer.text


def weekday(day: date) -> str:
    return ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")[day.weekday()]


# --- choosing ------------------------------------------------------------------------------------


def test_the_areas_that_take_bookings_are_offered_and_linked_from_the_index(client: TestClient) -> None:
    page = client.get("/dat-lich").text
    assert 'href="/dat-lich/dat-dai">Đất đai' in page and 'href="/dat-lich/ho-tich">Hộ tịch' in page
    assert "Xây dựng" not in page  # its capacity is 0: it takes no booking
    home = client.get("/").text
    assert 'href="/dat-lich"' in home and 'href="/so-tu-xa"' in home and 'href="/lich-hen"' in home


def test_without_bookings_the_pages_say_so_and_nothing_links_to_them(client: TestClient, server: Server) -> None:
    server.names = replace(NAMES, bookings=None, bookable={})
    for path in ("/dat-lich", "/dat-lich/dat-dai", "/so-tu-xa", "/lich-hen"):
        answer = client.get(path)
        assert answer.status_code == 404 and booking_pages.OFF_VI in answer.text, path
    assert "/dat-lich" not in client.get("/").text
    assert server.asked == []


def test_a_center_without_remote_numbers_offers_none(client: TestClient, server: Server) -> None:
    server.names = replace(NAMES, bookings=replace(RULES, remote=False))
    answer = client.get("/so-tu-xa")
    assert answer.status_code == 404 and booking_pages.REMOTE_OFF_VI in answer.text
    assert "/so-tu-xa" not in client.get("/dat-lich").text


def test_a_center_with_remote_numbers_only_offers_them_and_the_look_up(client: TestClient, server: Server) -> None:
    server.names = replace(NAMES, bookable={})
    answer = client.get("/dat-lich")
    assert answer.status_code == 404 and booking_pages.NO_BOOKING_VI in answer.text
    home = client.get("/").text
    assert 'href="/dat-lich"' not in home and 'href="/so-tu-xa"' in home and 'href="/lich-hen"' in home
    assert client.get("/so-tu-xa").status_code == 200 and client.get("/lich-hen").status_code == 200


def test_an_areas_days_say_their_weekday_date_and_free_places(client: TestClient) -> None:
    page = client.get("/dat-lich/dat-dai").text
    after = TOMORROW + timedelta(days=1)
    assert (f'<a href="/dat-lich/dat-dai/{TOMORROW.isoformat()}">{weekday(TOMORROW)}, {TOMORROW:%d/%m/%Y} '
            "(Ngày mai)<span>Còn 3 chỗ</span></a>") in page
    assert f"{weekday(after)}, {after:%d/%m/%Y}<span>Đã hết chỗ</span>" in page
    assert f"/dat-lich/dat-dai/{after.isoformat()}" not in page  # a full day is no link


def test_a_days_slots_are_shown_with_their_places_and_a_full_one_as_full(client: TestClient) -> None:
    page = client.get(f"/dat-lich/dat-dai/{TOMORROW.isoformat()}").text
    assert f'<a href="{SLOT_URL[:-4]}0800">08:00–08:30<span>Còn 2 chỗ</span></a>' in page
    assert '<span class="full">08:30–09:00<span>Đã hết chỗ</span></span>' in page
    assert f'<a href="{SLOT_URL}">09:00–09:30<span>Còn 1 chỗ</span></a>' in page


@pytest.mark.parametrize("path", ["/dat-lich/xay-dung", "/dat-lich/khong-co", f"/dat-lich/xay-dung/{TOMORROW}",
                                  "/dat-lich/dat-dai/2020-01-01", "/dat-lich/dat-dai/ngay-mai",
                                  f"/dat-lich/dat-dai/{TODAY + timedelta(days=15)}", f"{SLOT_URL[:-4]}2561"])
def test_an_area_day_or_slot_that_takes_no_booking_is_refused_without_asking_the_server(
        client: TestClient, server: Server, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404 and "Vui lòng chọn" in answer.text
    assert server.asked == []


def test_a_slots_form_asks_the_identity_and_says_how_it_is_kept(client: TestClient) -> None:
    page = client.get(SLOT_URL).text
    assert "Khung giờ: <b>09:00–09:30</b>" in page and f"{TOMORROW:%d/%m/%Y}" in page
    assert 'name="cccd"' in page and 'name="dien_thoai"' in page
    assert 'name="dong_y" type="checkbox" value="1" required' in page
    said = " ".join(page.split())
    assert ("Số CCCD không được lưu: trung tâm chỉ lưu mã băm có khoá của số này, để áp dụng giới hạn số lần đặt "
            "của mỗi người, và 4 chữ số cuối, để cán bộ đối chiếu với thẻ khi Ông/Bà đến quầy; cả hai được xoá 30 ngày "
            "sau ngày hẹn. Số điện thoại chỉ dùng để báo tin về lịch hẹn này và được xoá khi hết ngày hẹn.") in said
    assert nonce_of(page) != nonce_of(client.get(SLOT_URL).text), "a fresh nonce for every form"


def test_a_full_or_unknown_slots_form_says_so(client: TestClient) -> None:
    full = client.get(f"{SLOT_URL[:-4]}0830")
    assert full.status_code == 409 and booking_pages.FULL_VI in full.text and 'name="cccd"' not in full.text
    unknown = client.get(f"{SLOT_URL[:-4]}1000")
    assert unknown.status_code == 404 and booking_pages.NO_SLOT_VI in unknown.text


# --- booking --------------------------------------------------------------------------------------


def test_a_booking_shows_its_code_qr_slot_and_check_in_window_and_never_the_identity(
        client: TestClient, server: Server) -> None:
    status, page = book(client, nonce_of(client.get(SLOT_URL).text), cccd="001 090 123 456", dien_thoai="0912.345.678")
    code = next(iter(server.bookings))
    assert status == 200 and "Đặt lịch hẹn thành công" in page
    assert f'<p id="ma" class="code">{grouped(code)}</p>' in page
    assert f'src="/ma-qr/{code}.png"' in page
    assert "Đất đai" in page and f"{weekday(TOMORROW)}, {TOMORROW:%d/%m/%Y}" in page and "09:00–09:30" in page
    assert ("Vui lòng đến ki-ốt từ 08:30 đến 09:15, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR."
            in page)
    for shown in ("001 090 123 456", "001090123456", "0912.345.678", "0912345678", "090 123"):
        assert shown not in page


def test_a_form_sent_again_is_the_same_request_and_books_once(client: TestClient, server: Server) -> None:
    nonce = nonce_of(client.get(SLOT_URL).text)
    first, again = book(client, nonce), book(client, nonce)  # a reload, a double tap
    assert first == again and first[0] == 200
    assert len(server.made()) == 1 and len(server.bookings) == 1 and server.free[at(TOMORROW, 9)] == 0
    rid = server.made()[0]
    assert rid == request_id(nonce, "dat-dai", at(TOMORROW, 9).isoformat(), CCCD, PHONE)
    assert CCCD not in rid and nonce not in rid


def test_a_double_tap_books_once(client: TestClient, server: Server) -> None:
    nonce = nonce_of(client.get(SLOT_URL).text)
    pages: list[tuple[int, str]] = []
    taps = [threading.Thread(target=lambda: pages.append(book(client, nonce))) for _ in range(4)]
    for tap in taps:
        tap.start()
    for tap in taps:
        tap.join()
    assert len({page for page in pages}) == 1 and pages[0][0] == 200
    assert len(server.bookings) == 1 and len(server.made()) == 1


def test_the_same_form_with_other_numbers_is_a_new_request(client: TestClient, server: Server) -> None:
    nonce = nonce_of(client.get(SLOT_URL).text)
    book(client, nonce)
    status, page = book(client, nonce, url=f"{SLOT_URL[:-4]}0800", dien_thoai="0987654321")
    assert len(server.made()) == 2
    assert status == 409 and "Mỗi công dân được đặt tối đa 1 lịch hẹn" in page  # the server's limit, as it says it


def test_a_refused_booking_shows_the_servers_words_and_an_empty_form_with_a_fresh_nonce(
        client: TestClient, server: Server) -> None:
    nonce = nonce_of(client.get(SLOT_URL).text)
    server.refuse = Refused("bad_identity", "Số căn cước công dân gồm đúng 12 chữ số, in trên thẻ căn cước.")
    status, page = book(client, nonce, cccd="00109012345")
    assert status == 400 and "Số căn cước công dân gồm đúng 12 chữ số" in page
    assert nonce_of(page) != nonce and "00109012345" not in page and PHONE not in page
    assert 'name="cccd"' in page and "Khung giờ: <b>09:00–09:30</b>" in page


def test_no_answer_keeps_the_nonce_so_sending_again_is_a_retry(client: TestClient, server: Server) -> None:
    nonce = nonce_of(client.get(SLOT_URL).text)
    server.refuse = Refused("no_answer", "Trung tâm chưa trả lời. Vui lòng thử lại sau giây lát.")
    status, page = book(client, nonce)
    assert status == 503 and "Trung tâm chưa trả lời" in page and nonce_of(page) == nonce


@pytest.mark.parametrize(("fields", "said"), [
    ({"dong_y": ""}, booking_pages.CONSENT_VI),
    ({"cccd": " "}, booking_pages.CCCD_MISSING_VI),
    ({"dien_thoai": ""}, booking_pages.PHONE_MISSING_VI),
    ({"cccd": "1" * 33}, booking_pages.TOO_LONG_VI),
    ({"yeu_cau": "cu"}, booking_pages.STALE_FORM_VI),
])
def test_an_incomplete_form_is_refused_without_asking_the_server(
        client: TestClient, server: Server, fields: dict[str, str], said: str) -> None:
    status, page = book(client, "a" * 32, **fields)
    assert status == 400 and said in page and 'name="cccd"' in page
    assert server.asked == []


def test_a_post_from_another_site_or_too_big_never_reaches_the_server(client: TestClient, server: Server) -> None:
    fields = {"yeu_cau": "a" * 32, "cccd": CCCD, "dien_thoai": PHONE, "dong_y": "1"}
    assert client.post(SLOT_URL, data=fields, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post(SLOT_URL, data={**fields, "x": "y" * web.MAX_BODY}).status_code == 413  # the site's limit
    assert server.asked == []
    assert client.post(SLOT_URL, data=fields, headers={"Origin": "http://testserver"}).status_code == 200


def test_a_client_past_its_rate_is_told_so(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "RATE_PER_S", 0.0)  # nothing refills while the test runs, however slowly
    statuses = [client.get("/dat-lich").status_code for _ in range(limits.BURST + 5)]
    assert statuses[:limits.BURST] == [200] * limits.BURST and set(statuses[limits.BURST:]) == {429}
    assert "Ông/Bà thao tác quá nhanh" in client.get("/lich-hen").text


# --- remote numbers -------------------------------------------------------------------------------


def test_a_remote_number_shows_its_code_and_the_time_to_be_at_the_kiosk(client: TestClient, server: Server) -> None:
    form = client.get("/so-tu-xa").text
    assert 'name="linh_vuc" value="dat-dai"' in form and 'name="linh_vuc" value="xay-dung"' in form
    assert "trong vòng 60 phút" in form
    status, page = book(client, nonce_of(form), url="/so-tu-xa", linh_vuc="ho-tich")
    code = next(iter(server.bookings))
    assert status == 200 and "Đã nhận số từ xa" in page and grouped(code) in page
    assert f"{weekday(TODAY)}, {TODAY:%d/%m/%Y} (Hôm nay)" in page
    assert "Vui lòng đến ki-ốt trước 10:45, chọn «Tôi đã đặt lịch» và nhập mã hoặc quét mã QR." in page
    assert server.made() == [request_id(nonce_of(form), "ho-tich", "remote", CCCD, PHONE)]
    assert book(client, nonce_of(form), url="/so-tu-xa", linh_vuc="ho-tich")[1] == page  # sent again: the same
    assert len(server.bookings) == 1


def test_a_remote_number_needs_an_open_area(client: TestClient, server: Server) -> None:
    server.names = replace(NAMES, remote_areas={"dat-dai": "Đất đai"})
    status, page = book(client, "a" * 32, url="/so-tu-xa", linh_vuc="xay-dung")
    assert status == 400 and booking_pages.AREA_MISSING_VI in page and server.asked == []


# --- looking up and cancelling --------------------------------------------------------------------


def booked(client: TestClient, server: Server) -> str:
    book(client, nonce_of(client.get(SLOT_URL).text))
    return next(iter(server.bookings))


def test_a_booking_is_looked_up_by_its_code_and_cccd_and_cancelled(client: TestClient, server: Server) -> None:
    code = booked(client, server)
    assert f'value="{code}"' in client.get(f"/lich-hen?ma={grouped(code)}").text  # from the confirmation's link
    page = client.post("/lich-hen", data={"ma": grouped(code), "cccd": CCCD}).text
    assert '<p id="tinh-trang" class="state">Đã đặt</p>' in page and grouped(code) in page
    assert "Vui lòng đến ki-ốt từ 08:30 đến 09:15" in page and CCCD not in page
    assert 'action="/lich-hen/huy"' in page and "Huỷ lịch hẹn" in page
    cancelled = client.post("/lich-hen/huy", data={"ma": code, "cccd": CCCD, "yeu_cau": nonce_of(page)})
    assert cancelled.status_code == 200 and booking_pages.CANCELLED_VI in cancelled.text
    assert '<p id="tinh-trang" class="state">Đã huỷ</p>' in cancelled.text
    assert 'action="/lich-hen/huy"' not in cancelled.text and CCCD not in cancelled.text


def test_a_cancel_with_another_cccd_cancels_nothing(client: TestClient, server: Server) -> None:
    code = booked(client, server)
    answer = client.post("/lich-hen/huy", data={"ma": code, "cccd": "001090999999", "yeu_cau": "b" * 32})
    assert answer.status_code == 404 and booking_pages.NOT_CANCELLED_VI in answer.text
    assert server.bookings[code][0].state == "booked"


def test_a_booking_no_longer_cancellable_is_shown_as_it_is(client: TestClient, server: Server) -> None:
    code = booked(client, server)
    server.bookings[code] = (replace(server.bookings[code][0], state="checked_in", number="1005"), CCCD)
    answer = client.post("/lich-hen/huy", data={"ma": code, "cccd": CCCD, "yeu_cau": "b" * 32})
    assert answer.status_code == 409 and "không huỷ được nữa" in answer.text
    assert "Đã đến nhận phiếu (phiếu số 1005)" in answer.text


@pytest.mark.parametrize(("state", "number", "said", "note"), [
    ("checked_in", "1005", "Đã đến nhận phiếu (phiếu số 1005)",
     "Ông/Bà đã đến ki-ốt và nhận phiếu số 1005."),
    ("cancelled", None, "Đã huỷ", "Lịch hẹn này đã được huỷ."),
    ("no_show", None, "Không đến", "đã không đến ki-ốt nhận phiếu trong thời gian hẹn"),
    ("late", "1012", "Đến muộn (phiếu số 1012)", "trung tâm đã cấp phiếu số 1012 như người đến trực tiếp"),
])
def test_a_bookings_state_is_said_in_vietnamese(client: TestClient, server: Server, state: str, number: str | None,
                                                said: str, note: str) -> None:
    code = booked(client, server)
    server.bookings[code] = (replace(server.bookings[code][0], state=state, number=number), CCCD)
    page = client.post("/lich-hen", data={"ma": code, "cccd": CCCD}).text
    assert f'<p id="tinh-trang" class="state">{said}</p>' in page and note in page
    assert 'action="/lich-hen/huy"' not in page and "/ma-qr/" not in page


def test_a_mistyped_code_is_said_at_once_and_wrong_ones_are_bounded(client: TestClient, server: Server) -> None:
    mistyped = client.post("/lich-hen", data={"ma": "1234 5679", "cccd": CCCD})
    assert mistyped.status_code == 400 and booking_pages.BAD_CODE_VI in mistyped.text
    short = client.post("/lich-hen", data={"ma": "1234", "cccd": CCCD})
    assert short.status_code == 400 and booking_pages.CODE_VI in short.text
    assert server.asked == []
    statuses = [client.post("/lich-hen", data={"ma": code_of(n), "cccd": CCCD}).status_code for n in range(15)]
    assert statuses == [404] * limits.MAX_FAILURES + [429] * (15 - limits.MAX_FAILURES)
    assert len(server.asked) == limits.MAX_FAILURES
    assert booking_pages.TOO_MANY_WRONG_VI in client.post("/lich-hen", data={"ma": code_of(1), "cccd": CCCD}).text


def test_a_bookings_qr_is_a_png_of_its_code(client: TestClient, tmp_path: Path) -> None:
    code = code_of(7654321)
    answer = client.get(f"/ma-qr/{code}.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.content[:8] == b"\x89PNG\r\n\x1a\n" and len(answer.content) < 2000
    assert "img-src 'self'" in answer.headers["content-security-policy"]
    assert client.get("/ma-qr/12345678.png").status_code == 404  # its check digit is wrong
    assert client.get("/ma-qr/abc.png").status_code == 404
    if shutil.which("zbarimg"):
        (tmp_path / "qr.png").write_bytes(answer.content)
        read = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "qr.png")], capture_output=True, text=True,
                              check=False)
        assert read.stdout.strip() == code
