"""The citizen web's pages and its look-ups (citizen_web/web.py) over HTTP (Starlette's TestClient), with a bridge
that answers as the server would and counts what it was asked: what reaches the server, and when."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from citizen_web import web
from citizen_web.bridge import Refused
from citizen_web.config import WebConfig
from citizen_web.follow import Names, Queue
from citizen_web.limits import ClientLimits
from citizen_web.web import Phones, make_app
from protocol.config import MqttSettings
from protocol.messages import PublicTicket, WebLookup, WebRate

TOKEN = "T" * 27
DAY = date(2026, 12, 2)
NAMES = Names("Bộ phận <b>Một cửa</b>", {"dat-dai": "Đất đai"}, {"1": "Quầy 1"},
              ("very_satisfied", "satisfied", "dissatisfied"), ZoneInfo("Asia/Ho_Chi_Minh"),
              criteria=("attitude", "time"))


def public(**fields: Any) -> PublicTicket:
    return PublicTicket.from_body({
        "id": "20261202-000007", "token": TOKEN, "number": "1005", "area": "dat-dai", "area_name": "Đất đai",
        "priority": "none", "issued_at": "2026-12-02T08:10:00+07:00", "state": "waiting", "calls": 0,
        "waiting_ahead": 2, "estimated_wait_s": 600, "rating": {"level": None, "until": None, "open": False},
        **fields})


class Center:
    """The bridge's side: the center's names and queue, and the server's answers (counted)."""

    def __init__(self) -> None:
        self.ticket: PublicTicket | Refused = public()
        now = datetime.now(UTC)
        self.queue: Queue | None = Queue(DAY, now, now, {7: ("dat-dai", 2, 600)}, {}, {"dat-dai": 1})
        self.asked: list[tuple[str, str]] = []
        self.ratings: list[WebRate] = []
        self._lock = threading.Lock()

    def picture(self) -> tuple[Names | None, Queue | None, bool]:
        return NAMES, self.queue, True

    def ask(self, request: WebLookup | WebRate) -> PublicTicket:
        with self._lock:
            self.asked.append((request.action, request.token))
            if isinstance(request, WebRate):
                self.ratings.append(request)
        if isinstance(self.ticket, Refused):
            raise self.ticket
        return self.ticket


@pytest.fixture
def center() -> Center:
    return Center()


@pytest.fixture
def phones(center: Center, tmp_path: Path) -> Iterator[Phones]:
    config = WebConfig(tmp_path / "citizen_web.toml", "web-1", "c", MqttSettings("127.0.0.1", 1883), "127.0.0.1",
                       8090, ("127.0.0.1",), 100)
    made = Phones(center, config, ClientLimits())  # type: ignore[arg-type]  # the bridge's two calls
    yield made
    made.close()


@pytest.fixture
def client(phones: Phones) -> Iterator[TestClient]:
    with TestClient(make_app(phones)) as test_client:
        yield test_client


def test_a_page_without_its_script_shows_the_ticket_as_it_is_now(
        client: TestClient, center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Trước Ông/Bà còn" in client.get(f"/phieu/{TOKEN}").text
    center.queue = Queue(DAY, datetime.now(UTC), datetime.now(UTC), {}, {}, {})  # it left the queue: served
    center.ticket = public(state="served", counter_id="1", rating={"level": None, "until": None, "open": True})
    monkeypatch.setattr(web, "RELOOK_S", 0.0)
    page = client.get(f"/phieu/{TOKEN}").text
    assert "Đã phục vụ xong tại Quầy 1" in page and 'value="very_satisfied"' in page
    assert center.asked == [("lookup", TOKEN)] * 2


def test_a_refused_look_up_is_not_asked_again_at_every_change(phones: Phones, center: Center) -> None:
    async def scenario() -> None:
        phones.bind(asyncio.get_running_loop())
        await phones.look_up(TOKEN)
        assert phones.join(TOKEN) is not None
        center.queue = Queue(DAY, datetime.now(UTC), datetime.now(UTC), {}, {}, {})  # it left the queue
        center.ticket = Refused("too_many_requests", "Hệ thống đang nhận quá nhiều yêu cầu.")
        known = phones.known(TOKEN)
        assert known is not None
        known.looked_at -= web.RELOOK_S  # as if looked up a while ago
        for _ in range(20):  # every change of the center, every tick
            phones.refresh()
            await asyncio.sleep(0.01)
    asyncio.run(scenario())
    assert center.asked == [("lookup", TOKEN)] * 2


def test_a_ticket_the_server_no_longer_knows_ends_its_pages(phones: Phones, center: Center) -> None:
    async def scenario() -> dict[str, Any]:
        phones.bind(asyncio.get_running_loop())
        await phones.look_up(TOKEN)
        center.ticket = Refused("expired_token", "Phiếu này là của ngày 01/12/2026, đã hết hiệu lực.")
        with pytest.raises(Refused):
            await phones.look_up(TOKEN)
        return phones.view(TOKEN)
    view = asyncio.run(scenario())
    assert (view["state"], view["notes"]) == ("expired", ["Phiếu này là của ngày 01/12/2026, đã hết hiệu lực."])


@pytest.mark.parametrize(("ticket", "said"), [
    (public(state="served", rating={"level": "satisfied", "until": None, "open": False}),
     "Phiếu số 1005 đã được đánh giá. Cảm ơn Ông/Bà."),
    (public(state="served", rating={"level": None, "until": None, "open": False}),
     "Đã hết thời gian đánh giá cho phiếu số 1005."),
    (public(), "Phiếu số 1005 chưa được phục vụ xong; Ông/Bà có thể đánh giá sau khi cán bộ hoàn tất hồ sơ."),
])
def test_a_rating_that_cannot_count_never_reaches_the_server(
        client: TestClient, center: Center, ticket: PublicTicket, said: str) -> None:
    center.ticket = ticket
    center.queue = None
    client.get(f"/phieu/{TOKEN}")
    answer = client.post(f"/phieu/{TOKEN}/danh-gia", data={"level": "very_satisfied"})
    assert answer.status_code == 409 and said in answer.text
    assert center.asked == [("lookup", TOKEN)]


def test_what_the_center_names_is_escaped_and_no_ticket_id_reaches_the_page(client: TestClient) -> None:
    page = client.get(f"/phieu/{TOKEN}").text
    assert "Bộ phận &lt;b&gt;Một cửa&lt;/b&gt;" in page and "<b>Một cửa" not in page
    assert "20261202" not in page and "000007" not in page


# --- the rating form (issue 19) -----------------------------------------------------------------------------------

SERVED = public(state="served", counter_id="1", rating={"level": None, "until": "2026-12-02T09:30:00+07:00",
                                                         "open": True})


def test_the_rating_form_asks_the_centers_criteria_and_a_feedback_none_chosen_and_stays_put(
        client: TestClient, center: Center) -> None:
    center.ticket, center.queue = SERVED, None
    page = client.get(f"/phieu/{TOKEN}").text
    for criterion in ("attitude", "time"):
        for level in ("very_satisfied", "satisfied", "dissatisfied"):
            assert f'name="criterion.{criterion}" value="{level}">' in page  # none checked
    assert "criterion.guidance" not in page and "Thái độ của cán bộ" in page and "Thời gian giải quyết" in page
    assert 'name="comment" rows="4" maxlength="500"\n        aria-describedby="phan-anh-gui"></textarea>' in page
    assert "Phản ánh, kiến nghị (nếu có)" in page and "được gửi đến trung tâm" in page and "bạn" not in page.lower()
    assert 'http-equiv="refresh"' not in page  # a page without script must not wipe what is being written
    assert '<details id="them">' in page  # folded: the overall level is the first thing to press


def test_a_rating_with_criteria_and_a_comment_reaches_the_server_whole(client: TestClient, center: Center) -> None:
    center.ticket, center.queue = SERVED, None
    client.get(f"/phieu/{TOKEN}")
    answer = client.post(f"/phieu/{TOKEN}/danh-gia", data={
        "level": "satisfied", "criterion.time": "dissatisfied", "criterion.attitude": "very_satisfied",
        "comment": "Chờ hơi lâu,\r\nnhưng cán bộ   hướng dẫn rất kỹ."})
    assert answer.status_code == 200 and "Phản ánh, kiến nghị của Ông/Bà đã được gửi đến trung tâm." in answer.text
    [rating] = center.ratings
    assert (rating.token, rating.level, rating.criteria, rating.comment) == (
        TOKEN, "satisfied", (("attitude", "very_satisfied"), ("time", "dissatisfied")),
        "Chờ hơi lâu, nhưng cán bộ hướng dẫn rất kỹ.")


@pytest.mark.parametrize(("fields", "said"), [
    ({"criterion.cleanliness": "satisfied"}, "Tiêu chí đánh giá không hợp lệ (trang có thể đã cũ)."),
    ({"criterion.time": "great"}, "Mức đánh giá cho tiêu chí «Thời gian giải quyết» không hợp lệ."),
    ({"comment": "Chờ lâu. " + "x" * 500}, "Phản ánh, kiến nghị được tối đa 500 ký tự"),
    ({"level": "great"}, "Mức đánh giá không hợp lệ."),
])
def test_a_form_the_page_never_makes_is_refused_and_nothing_reaches_the_server(
        client: TestClient, center: Center, fields: dict[str, str], said: str) -> None:
    center.ticket, center.queue = SERVED, None
    client.get(f"/phieu/{TOKEN}")
    answer = client.post(f"/phieu/{TOKEN}/danh-gia", data={"level": "satisfied", "criterion.attitude": "satisfied",
                                                            "comment": "Chờ lâu.", **fields})
    assert answer.status_code == 400 and said in answer.text
    assert center.asked == [("lookup", TOKEN)] and center.ratings == []
    # shown again as filled: the choice that was the center's and the text as typed
    assert 'name="criterion.attitude" value="satisfied" checked>' in answer.text
    assert f">{fields.get('comment', 'Chờ lâu.')}</textarea>" in answer.text
    assert '<details id="them" open>' in answer.text


def test_a_rating_the_center_did_not_take_keeps_what_was_written(client: TestClient, center: Center) -> None:
    center.ticket, center.queue = SERVED, None
    client.get(f"/phieu/{TOKEN}")
    center.ticket = Refused("no_answer", "Trung tâm chưa trả lời. Vui lòng thử lại sau giây lát.")
    answer = client.post(f"/phieu/{TOKEN}/danh-gia", data={"level": "satisfied", "comment": "Cảm ơn cán bộ."})
    assert answer.status_code == 409 and "Trung tâm chưa trả lời." in answer.text
    assert ">Cảm ơn cán bộ.</textarea>" in answer.text  # to send again without writing it again
