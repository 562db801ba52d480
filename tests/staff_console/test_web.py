"""The console's pages over HTTP (Starlette's TestClient), on a real accounts database and a FakeLink for the
center: sign-in, CSRF, the roles, the sign-in throttle and the actions sent for the signed-in official."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from protocol.agent import AGENT_ZONE
from protocol.link import FakeLink, Message
from protocol.messages import MAX_DOSSIER, ConsoleRequest
from protocol.topics import Topics
from staff_console.accounts import Accounts
from staff_console.bridge import Bridge
from staff_console.config import load
from staff_console.reports import Reports
from staff_console.throttle import PER_PERSON, SignInThrottle
from staff_console.users import new_user
from staff_console.web import FORM_COOKIE, SESSION_COOKIE, Console, Hub, make_app
from tests.staff_console.test_accounts import FAST

CENTER = "rach-gia"
PASSWORD = "mật khẩu đủ dài"
ORIGIN = "http://testserver"
REQUEST_TOPIC = f"qms/v1/{CENTER}/console/console-1/request"
CONFIG = {"v": 1, "center": {"id": CENTER, "name": "Bộ phận Một cửa TP. Rạch Giá", "timezone": "Asia/Ho_Chi_Minh"},
          "areas": [{"id": "dat-dai", "name": "Đất đai", "prefix": "", "first": 1001, "last": 1999}],
          "counters": [{"id": "1", "name": "Quầy 1", "areas": ["dat-dai"]}],
          "rating_levels": ["very_satisfied", "satisfied", "dissatisfied"]}


class Center:
    """Answers the console's requests as the server would: `refuse` makes it refuse with that code."""

    def __init__(self) -> None:
        self.asked: list[dict[str, object]] = []
        self.refuse: str | None = None

    def __call__(self, message: Message) -> bytes:
        body = json.loads(message.payload)
        self.asked.append(body)
        if self.refuse:
            return json.dumps({"v": 1, "request_id": body["request_id"], "ok": False,
                               "error": {"code": self.refuse, "message": "Quầy đang tạm nghỉ."}}).encode()
        return json.dumps({"v": 1, "request_id": body["request_id"], "ok": True, "ticket": None,
                           "status": "idle"}).encode()


@pytest.fixture
def center() -> Center:
    return Center()


links: list[FakeLink] = []


def seat(official: str | None) -> None:
    """What the server says of counter 1: `official` sits there (None: nobody)."""
    state = {"v": 1, "status": "idle", "ticket": None, "counter_id": "1", "counter_name": "Quầy 1"}
    if official is not None:
        state["official"] = {"username": official, "name": "Nguyễn Thị Hoà"}
    links[-1].deliver(f"qms/v1/{CENTER}/counter/1/state", json.dumps(state).encode(), retained=True)


@pytest.fixture
def client(tmp_path: Path, center: Center) -> Iterator[TestClient]:
    (tmp_path / "console.toml").write_text(
        f'[console]\nid = "console-1"\ncenter = "{CENTER}"\naccounts = "accounts.db"\n[mqtt]\n'
        'url = "mqtt://127.0.0.1:1883"\n', encoding="utf-8")
    config = load(tmp_path / "console.toml")
    accounts = Accounts(config.accounts, FAST)
    accounts.add(new_user("hoa", "Nguyễn Thị Hoà", "official"), PASSWORD)
    accounts.add(new_user("lan", "Trần Thị Lan", "manager"), PASSWORD)
    link = FakeLink(center)
    links.append(link)
    hub = Hub()
    bridge = Bridge(link, Topics(CENTER), "console-1", hub.wake_from_thread, lambda: datetime.now(UTC))
    bridge.start()
    link.deliver(f"qms/v1/{CENTER}/config", json.dumps(CONFIG).encode(), retained=True)
    with TestClient(make_app(Console(config, accounts, bridge, hub, SignInThrottle(), Reports(None))),
                    follow_redirects=False) as running:
        yield running
    accounts.close()


def form_secret(client: TestClient) -> str:
    page = client.get("/dang-nhap")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None and client.cookies.get(FORM_COOKIE) == found.group(1)
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    answer = client.post("/dang-nhap", data={"csrf": form_secret(client), "username": username,
                                              "password": password}, headers={"origin": ORIGIN})
    return answer.status_code


def csrf_of(client: TestClient, path: str) -> str:
    found = re.search(r'<meta name="csrf" content="([^"]+)">', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_a_stranger_is_sent_to_the_sign_in_page(client: TestClient) -> None:
    for path in ("/", "/quay", "/quay/1", "/san"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dang-nhap"), path
    assert client.post("/quay/1/lenh", data={"action": "next"}).status_code == 401


def test_an_official_signs_in_to_the_counters_and_a_manager_to_the_floor(client: TestClient) -> None:
    assert sign_in(client, "hoa") == 303
    set_cookie = client.get("/dang-nhap")  # the cookie's attributes, as the sign-in set them, are checked below
    assert set_cookie.status_code == 200
    assert client.get("/").headers["location"] == "/quay"
    client.cookies.clear()
    answer = client.post("/dang-nhap", data={"csrf": form_secret(client), "username": "lan", "password": PASSWORD})
    cookie = next(value for name, value in answer.headers.multi_items()
                  if name == "set-cookie" and value.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/").headers["location"] == "/san"
    assert "Toàn trung tâm" in client.get("/san").text


def test_a_wrong_password_is_refused_in_vietnamese_and_opens_nothing(client: TestClient) -> None:
    answer = client.post("/dang-nhap", data={"csrf": form_secret(client), "username": "hoa", "password": "sai rồi"})
    assert answer.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/quay").status_code == 303


def test_a_sign_in_without_the_forms_secret_is_refused(client: TestClient) -> None:
    form_secret(client)
    answer = client.post("/dang-nhap", data={"csrf": "not-the-secret", "username": "hoa", "password": PASSWORD})
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies
    client.cookies.clear()
    answer = client.post("/dang-nhap", data={"csrf": "", "username": "hoa", "password": PASSWORD})
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_guessing_a_password_is_stopped_and_the_right_one_waits_too(client: TestClient) -> None:
    for _ in range(PER_PERSON):
        assert sign_in(client, "hoa", "đoán mò mật khẩu") == 401
    client.cookies.clear()
    answer = client.post("/dang-nhap", data={"csrf": form_secret(client), "username": "hoa", "password": PASSWORD})
    assert answer.status_code == 429 and "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert sign_in(client, "lan") == 303, "another person at the same desk is not locked out"


def test_an_official_cannot_open_the_managers_floor_or_its_stream(client: TestClient) -> None:
    sign_in(client, "hoa")
    for path in ("/san", "/san/luong"):
        answer = client.get(path)
        assert answer.status_code == 403 and "Trang này dành cho quản lý trung tâm." in answer.text, path


def test_an_action_without_the_sign_ins_csrf_secret_is_refused_and_sends_nothing(client: TestClient,
                                                                                 center: Center) -> None:
    sign_in(client, "hoa")
    answer = client.post("/quay/1/lenh", data={"action": "next"})  # a form: the refusal is a page
    assert answer.status_code == 403 and "Yêu cầu không hợp lệ (thiếu mã bảo vệ)." in answer.text
    answer = client.post("/quay/1/lenh", data={"action": "next"}, headers={"x-csrf-token": "x" * 43})
    assert answer.status_code == 403 and "mã bảo vệ" in answer.json()["message"]  # the page's script
    assert center.asked == []


def test_an_action_goes_to_the_center_for_the_signed_in_official(client: TestClient, center: Center) -> None:
    sign_in(client, "hoa")
    seat("hoa")
    csrf = csrf_of(client, "/quay/1")
    answer = client.post("/quay/1/lenh", data={"action": "transfer", "to_area": "dat-dai"},
                         headers={"x-csrf-token": csrf, "origin": ORIGIN})
    assert answer.status_code == 200 and answer.json()["ok"] is True
    asked = center.asked[0]
    assert {key: asked[key] for key in ("counter", "official", "official_name", "action", "to_area")} == {
        "counter": "1", "official": "hoa", "official_name": "Nguyễn Thị Hoà", "action": "transfer",
        "to_area": "dat-dai"}
    center.refuse = "counter_paused"
    refused = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf}).json()
    assert refused == {"ok": False, "message": "Quầy đang tạm nghỉ."}


def test_a_dossier_code_goes_to_the_center_with_its_number_and_removal(client: TestClient, center: Center) -> None:
    sign_in(client, "hoa")
    seat("hoa")
    csrf = csrf_of(client, "/quay/1")
    code = "000.00.04.H12-261202-0001"
    for form in ({"code": code}, {"code": code, "number": "1002", "remove": "1"}):
        answer = client.post("/quay/1/lenh", data={"action": "dossier", **form}, headers={"x-csrf-token": csrf})
        assert answer.status_code == 200 and answer.json()["ok"] is True
    sent = [{key: asked[key] for key in ("action", "code", "number", "remove") if key in asked}
            for asked in center.asked]
    assert sent == [{"action": "dossier", "code": code, "remove": False},
                    {"action": "dossier", "code": code, "number": "1002", "remove": True}]
    request = ConsoleRequest.from_wire(json.dumps(center.asked[1]).encode())  # as the server reads it
    assert (request.code, request.number, request.remove) == (code, "1002", True)
    center.refuse = "bad_dossier"
    refused = client.post("/quay/1/lenh", data={"action": "dossier", "code": "abc", "csrf": csrf}).json()
    assert refused["ok"] is False and refused["message"]


@pytest.mark.parametrize("code", ["", "0" * (MAX_DOSSIER + 1)])
def test_a_dossier_code_empty_or_too_long_is_refused_whole_before_the_center_hears_of_it(
        client: TestClient, center: Center, code: str) -> None:
    sign_in(client, "hoa")
    seat("hoa")
    csrf = csrf_of(client, "/quay/1")
    answer = client.post("/quay/1/lenh", data={"action": "dossier", "code": code, "csrf": csrf})
    assert answer.status_code == 400
    assert answer.json() == {"ok": False, "message": "Mã hồ sơ phải có từ 1 đến 64 ký tự. Vui lòng kiểm tra lại."}
    assert center.asked == []


def test_the_counter_page_has_the_dossier_field_for_a_scanner(client: TestClient) -> None:
    sign_in(client, "hoa")
    page = client.get("/quay/1").text
    field = re.search(r'<input name="code" id="ma-ho-so"[^>]*>', page)
    assert field is not None
    for attribute in ('maxlength="64"', 'autocomplete="off"', 'spellcheck="false"'):
        assert attribute in field.group(0)
    assert "Gắn hồ sơ" in page and 'data-action="dossier"' in page


def test_unknown_actions_and_counters_are_refused_before_the_center_hears_of_them(client: TestClient,
                                                                                 center: Center) -> None:
    sign_in(client, "hoa")
    csrf = csrf_of(client, "/quay/1")
    assert client.post("/quay/1/lenh", data={"action": "void", "csrf": csrf}).status_code == 400
    assert client.post("/quay/9/lenh", data={"action": "next", "csrf": csrf}).status_code == 400
    assert client.get("/quay/9").status_code == 404
    assert center.asked == []


def test_a_post_from_another_site_or_too_large_is_refused(client: TestClient, center: Center) -> None:
    sign_in(client, "hoa")
    csrf = csrf_of(client, "/quay/1")
    other = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf},
                        headers={"origin": "http://evil.example"})
    assert other.status_code == 403
    large = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf, "pad": "x" * 20_000})
    assert large.status_code == 413
    assert center.asked == []


def test_signing_out_ends_the_session_for_good(client: TestClient) -> None:
    sign_in(client, "hoa")
    token = client.cookies[SESSION_COOKIE]
    csrf = csrf_of(client, "/quay")
    assert client.post("/dang-xuat", data={"csrf": csrf}).headers["location"] == "/dang-nhap"
    client.cookies.set(SESSION_COOKIE, token)  # the cookie kept (copied, stolen): it opens nothing
    assert client.get("/quay").status_code == 303


def test_every_page_carries_the_security_headers_and_only_its_own_scripts(client: TestClient) -> None:
    page = client.get("/dang-nhap")
    assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert re.findall(r'src="([^"]+)"', page.text) == ["/tep/console.js"]
    assert "http" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', page.text))


def test_the_counter_page_embeds_what_the_center_said_of_the_counter(client: TestClient) -> None:
    sign_in(client, "hoa")
    page = client.get("/quay/1").text
    data = json.loads(re.search(r'<script type="application/json" id="du-lieu">(.*?)</script>', page, re.S)
                      .group(1))  # type: ignore[union-attr]
    assert data["names"]["counters"] == {"1": "Quầy 1"} and data["transfer_to"] == [["dat-dai", "Đất đai"]]
    assert data["names"]["levels"][0] == ["very_satisfied", "Rất hài lòng"]


def test_reports_are_the_managers_and_say_when_they_cannot_be_made(client: TestClient) -> None:
    sign_in(client, "hoa")
    assert client.get("/bao-cao").status_code == 403
    client.cookies.clear()
    sign_in(client, "lan")
    page = client.get("/bao-cao")
    assert page.status_code == 200 and "chưa được cấu hình để lập báo cáo" in page.text
    assert f'value="{datetime.now(AGENT_ZONE):%d/%m/%Y}"' in page.text, "dates as Vietnamese write them"
    csrf = csrf_of(client, "/bao-cao")
    refused = client.post("/bao-cao", data={"csrf": csrf, "from": "01/12/2026", "to": "01/11/2026"})
    assert refused.status_code == 400 and "«Đến ngày» phải sau hoặc trùng «Từ ngày»." in refused.text


def test_only_the_official_sitting_at_a_counter_acts_there_others_may_only_take_it(client: TestClient,
                                                                                     center: Center) -> None:
    sign_in(client, "hoa")
    csrf = csrf_of(client, "/quay/1")
    for sitting in (None, "lan"):
        seat(sitting)
        refused = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf})
        assert refused.status_code == 409 and "chưa nhận quầy này" in refused.json()["message"]
    assert center.asked == []
    assert client.post("/quay/1/lenh", data={"action": "sit", "csrf": csrf}).json()["ok"] is True
    assert [asked["action"] for asked in center.asked] == ["sit"]


def test_a_post_whose_origin_has_another_scheme_is_refused(client: TestClient, center: Center) -> None:
    sign_in(client, "hoa")
    seat("hoa")
    csrf = csrf_of(client, "/quay/1")
    answer = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf}, headers={"origin": "https://testserver"})
    assert answer.status_code == 403 and center.asked == []


def test_a_password_reset_signs_out_whoever_signed_in_with_the_old_one(client: TestClient, tmp_path: Path) -> None:
    sign_in(client, "hoa")
    assert client.get("/quay").status_code == 200
    accounts = Accounts(tmp_path / "accounts.db", FAST)
    accounts.add(new_user("hoa", "Nguyễn Thị Hoà", "official"), "một mật khẩu mới đủ dài", replace=True)
    accounts.close()
    assert client.get("/quay").status_code == 303


def test_signing_out_ends_the_sign_ins_streams_and_a_fifth_page_closes_the_first() -> None:
    async def run() -> None:
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        mine = [hub.join("token-a") for _ in range(4)]
        other = hub.join("token-b")
        fifth = hub.join("token-a")
        assert mine[0] is not None and mine[0].ended and fifth is not None and not fifth.ended
        hub.end_session("token-a")
        assert all(stream is not None and stream.ended for stream in [*mine, fifth])
        assert other is not None and not other.ended and hub.open_streams == 1

    asyncio.run(run())


def test_a_page_stream_is_sent_only_its_own_changes_each_with_the_time_of_sending() -> None:
    from tests.staff_console.test_live import state

    clock = [datetime(2026, 12, 2, 1, 0, tzinfo=UTC)]
    link = FakeLink(Center())
    bridge = Bridge(link, Topics(CENTER), "console-1", lambda: None, lambda: clock[0])
    bridge.start()
    two = {**CONFIG, "counters": [{"id": n, "name": f"Quầy {n}", "areas": ["dat-dai"]} for n in ("1", "2")]}
    link.deliver(f"qms/v1/{CENTER}/config", json.dumps(two).encode(), retained=True)
    first, body = bridge.counter_event("1")
    assert json.loads(body) == {**bridge.counter_view("1"), "now": "2026-12-02T01:00:00+00:00"}
    floor, _ = bridge.floor_event()
    link.deliver(f"qms/v1/{CENTER}/counter/2/state", state("1002"), retained=True)
    clock[0] = datetime(2026, 12, 2, 1, 5, tzinfo=UTC)
    again, body = bridge.counter_event("1")
    assert again == first and json.loads(body)["now"] == "2026-12-02T01:05:00+00:00"  # counter 2's change: not 1's
    assert bridge.floor_event()[0] != floor
    link.deliver(f"qms/v1/{CENTER}/counter/1/state", state("1001"), retained=True)
    changed, body = bridge.counter_event("1")
    assert changed != first and json.loads(body)["state"]["ticket"]["number"] == "1001"
    assert bridge.counter_event("nope")[1] and "quay/nope" not in bridge._shown  # a made-up id is not kept


def test_no_action_is_sent_while_the_broker_is_not_reached(client: TestClient, center: Center) -> None:
    """paho would send it once reconnected, long after the official was told it was not done."""
    sign_in(client, "hoa")
    seat("hoa")
    csrf = csrf_of(client, "/quay/1")
    links[-1].lose()
    answer = client.post("/quay/1/lenh", data={"action": "next", "csrf": csrf}).json()
    assert answer == {"ok": False, "message": "Mất kết nối với máy chủ trung tâm: lệnh chưa được gửi. Vui lòng thử "
                                              "lại sau giây lát."}
    assert center.asked == [] and links[-1].sent(REQUEST_TOPIC) == []
