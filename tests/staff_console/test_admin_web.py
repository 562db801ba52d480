"""The administrator's pages over HTTP (Starlette's TestClient) on a real accounts database, the real Bridge on a
FakeLink, and a stand-in for the server's config requests (`config_center.py`): who may open them, CSRF, a form's
mistakes said next to its fields, the server's refusals said at the top with the values kept, the history, the
restore after a confirmation, the download."""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from protocol.link import FakeLink
from protocol.topics import Topics
from staff_console.accounts import Accounts
from staff_console.bridge import Bridge
from staff_console.config import load
from staff_console.reports import Reports
from staff_console.throttle import SignInThrottle
from staff_console.users import new_user
from staff_console.web import Console, Hub, make_app
from tests.staff_console.config_center import ConfigCenter
from tests.staff_console.test_accounts import FAST
from tests.staff_console.test_web import PASSWORD, csrf_of, form_secret

CENTER = "rach-gia"
ORIGIN = "http://testserver"
FOR_ADMINS = "Trang này dành cho quản trị viên của trung tâm."


@pytest.fixture
def center() -> ConfigCenter:
    return ConfigCenter()


@pytest.fixture
def link(center: ConfigCenter) -> FakeLink:
    return FakeLink(center)


@pytest.fixture
def client(tmp_path: Path, center: ConfigCenter, link: FakeLink) -> Iterator[TestClient]:
    (tmp_path / "console.toml").write_text(
        f'[console]\nid = "console-1"\ncenter = "{CENTER}"\naccounts = "accounts.db"\n[mqtt]\n'
        'url = "mqtt://127.0.0.1:1883"\n', encoding="utf-8")
    config = load(tmp_path / "console.toml")
    accounts = Accounts(config.accounts, FAST)
    accounts.add(new_user("an.nv", "Nguyễn Văn An", "admin"), PASSWORD)
    accounts.add(new_user("lan", "Trần Thị Lan", "manager"), PASSWORD)
    accounts.add(new_user("hoa", "Nguyễn Thị Hoà", "official"), PASSWORD)
    hub = Hub()
    bridge = Bridge(link, Topics(CENTER), "console-1", hub.wake_from_thread, lambda: datetime.now(UTC))
    bridge.start()
    link.deliver(f"qms/v1/{CENTER}/config", center.retained_config(CENTER), retained=True)
    with TestClient(make_app(Console(config, accounts, bridge, hub, SignInThrottle(), Reports(None))),
                    follow_redirects=False) as running:
        yield running
    accounts.close()


def sign_in(client: TestClient, username: str) -> str:
    """Signed in as `username`; the sign-in's CSRF secret."""
    answer = client.post("/dang-nhap", data={"csrf": form_secret(client), "username": username,
                                              "password": PASSWORD}, headers={"origin": ORIGIN})
    assert answer.status_code == 303
    return csrf_of(client, "/quay")


def post(client: TestClient, path: str, csrf: str, **data: Any) -> Any:
    return client.post(path, data={"csrf": csrf, "base_version": "1", **data}, headers={"origin": ORIGIN})


def changes_asked(center: ConfigCenter) -> list[dict[str, Any]]:
    return [body for body in center.asked if body.get("action") in ("config_change", "config_restore")]


def area(center: ConfigCenter, area_id: str) -> dict[str, Any]:
    return next(a for a in center.document["areas"] if a["id"] == area_id)


AREA = {"name": "Đất đai – Nhà ở", "hours": "", "daily_quota": "0", "target_wait_min": "30"}


@pytest.mark.parametrize("username", ["lan", "hoa"])
def test_a_manager_and_an_official_get_the_403_page_and_send_nothing(client: TestClient, center: ConfigCenter,
                                                                     username: str) -> None:
    csrf = sign_in(client, username)
    assert 'href="/quan-tri"' not in client.get("/quay").text
    for path in ("/quan-tri", "/quan-tri/lich-su", "/quan-tri/tai-ve"):
        answer = client.get(path)
        assert answer.status_code == 403 and FOR_ADMINS in answer.text, path
    for path, data in (("/quan-tri/linh-vuc/dat-dai", AREA), ("/quan-tri/thong-bao", {"notice": "x"}),
                       ("/quan-tri/khoi-phuc", {"version": "1", "confirm": "1"})):
        answer = post(client, path, csrf, **data)
        assert answer.status_code == 403 and FOR_ADMINS in answer.text, path
    assert center.asked == []


def test_a_stranger_is_sent_to_sign_in(client: TestClient, center: ConfigCenter) -> None:
    assert client.get("/quan-tri").headers["location"] == "/dang-nhap"
    assert client.post("/quan-tri/thong-bao", data={"notice": "x"}).status_code == 401
    assert center.asked == []


def test_the_administrator_sees_the_overview_and_a_link_to_it(client: TestClient) -> None:
    sign_in(client, "an.nv")
    assert '<a href="/quan-tri">Quản trị</a>' in client.get("/quay").text
    page = client.get("/quan-tri")
    assert page.status_code == 200
    assert "Phiên bản đang dùng: <strong>số 1</strong>" in page.text and "Tệp cấu hình center.example.toml" in page.text
    for text in ('value="Lao động – Thương binh và Xã hội"', "B001–B999", "Tạm ngừng tiếp nhận", "Tiếp nhận trở lại",
                 'value="07:30-11:30"', 'value="80"', "Thêm lĩnh vực", "Thêm quầy", "Lưu thông báo",
                 "3 mức: Rất hài lòng, Hài lòng, Không hài lòng", "01/01/2027, 30/04/2027, 01/05/2027, 02/09/2027",
                 "Tải về phần cấu hình đang dùng (TOML)", "nút tốt nhất là mức tốt nhất"):
        assert text in page.text, text


def test_a_change_is_sent_whole_applied_and_said(client: TestClient, center: ConfigCenter,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    csrf = sign_in(client, "an.nv")
    with caplog.at_level(logging.INFO, "staff_console"):
        answer = post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **AREA)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/quan-tri?ap-dung=2&o=area%3Adat-dai#linh-vuc-dat-dai"
    sent = changes_asked(center)
    assert len(sent) == 1 and sent[0]["base_version"] == 1
    assert sent[0]["official"] == "an.nv" and sent[0]["official_name"] == "Nguyễn Văn An"
    assert sent[0]["document"]["areas"][1:] == center.versions[0][1]["areas"][1:], "the whole document is sent"
    assert area(center, "dat-dai")["name"] == "Đất đai – Nhà ở"
    assert "an.nv (Nguyễn Văn An) changed the configuration: version 2, 1 changes" in caplog.text
    page = client.get(answer.headers["location"])
    assert "Đã áp dụng phiên bản 2." in page.text and 'value="Đất đai – Nhà ở"' in page.text


def test_each_form_reaches_the_document(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    forms: list[tuple[str, dict[str, Any]]] = [
        ("/quan-tri/linh-vuc", {"id": "nha-o", "name": "Nhà ở", "first": "1", "last": "99", "prefix": "G"}),
        ("/quan-tri/quay", {"id": "9", "name": "Quầy 9", "areas": ["nha-o", "bhxh"]}),
        ("/quan-tri/linh-vuc/nha-o/tiep-nhan", {"open": "1"}),
        ("/quan-tri/linh-vuc/dat-dai/tiep-nhan", {"open": "0"}),
        ("/quan-tri/quay/2", {"name": "Quầy 2A", "areas": ["tu-phap"]}),
        ("/quan-tri/thong-bao", {"notice": "Nghỉ Tết từ 14/02/2027."}),
        ("/quan-tri/danh-gia", {"levels": "5"}),
        ("/quan-tri/gio-lam-viec", {"weekdays": "07:00-11:00, 13:00-17:00", "sat": "07:30-11:30",
                                    "closed_dates": "01/01/2027", "last_ticket_min": "10"}),
    ]
    for version, (path, data) in enumerate(forms, start=2):
        answer = client.post(path, data={"csrf": csrf, "base_version": str(version - 1), **data},
                             headers={"origin": ORIGIN})
        assert answer.status_code == 303, (path, answer.text[:3000])
        assert answer.headers["location"].startswith(f"/quan-tri?ap-dung={version}&"), path
    document = center.document
    assert area(center, "nha-o") == {"id": "nha-o", "name": "Nhà ở", "first": 1, "last": 99, "prefix": "G",
                                     "open": True}
    assert area(center, "dat-dai")["open"] is False
    assert document["counters"][1] == {"id": "2", "name": "Quầy 2A", "areas": ["tu-phap"]}
    assert document["counters"][-1] == {"id": "9", "name": "Quầy 9", "areas": ["bhxh", "nha-o"]}
    assert document["board"] == {"notice": "Nghỉ Tết từ 14/02/2027."}
    assert len(document["rating"]["levels"]) == 5
    assert document["hours"] == {"weekdays": ["07:00-11:00", "13:00-17:00"], "closed_dates": ["2027-01-01"],
                                 "last_ticket_min": 10, "sat": ["07:30-11:30"]}


def test_a_counter_added_is_on_the_officials_list_once_the_center_says_so(client: TestClient, center: ConfigCenter,
                                                                         link: FakeLink) -> None:
    csrf = sign_in(client, "an.nv")
    assert post(client, "/quan-tri/quay", csrf, id="9", name="Quầy 9", areas=["bhxh"]).status_code == 303
    link.deliver(f"qms/v1/{CENTER}/config", center.retained_config(CENTER), retained=True)  # the server republishes
    assert '<a class="counter-link" href="/quay/9">Quầy 9</a>' in client.get("/quay").text


def test_a_counter_form_with_a_checkbox_for_each_of_many_areas_is_read(client: TestClient,
                                                                      center: ConfigCenter) -> None:
    areas = center.document["areas"]
    for n in range(30):
        areas.append({"id": f"lv-{n}", "name": f"Lĩnh vực {n}", "first": 1, "last": 9, "open": False})
    csrf = sign_in(client, "an.nv")
    chosen = [a["id"] for a in areas]
    answer = post(client, "/quan-tri/quay/1", csrf, name="Quầy 1", areas=chosen)
    assert answer.status_code == 303, answer.text[:2000]
    assert center.document["counters"][0]["areas"] == chosen


def test_a_post_without_the_csrf_secret_changes_nothing(client: TestClient, center: ConfigCenter) -> None:
    sign_in(client, "an.nv")
    for csrf in ("", "not-the-secret"):
        answer = post(client, "/quan-tri/thong-bao", csrf, notice="Tin giả")
        assert answer.status_code == 403 and "mã bảo vệ" in answer.text
    answer = client.post("/quan-tri/thong-bao", data={"notice": "Tin giả"}, headers={"origin": "http://evil.example"})
    assert answer.status_code == 403
    assert changes_asked(center) == [] and center.document["board"]["notice"].startswith("Bộ phận")


def test_a_forms_mistakes_are_said_next_to_their_fields_with_the_values_kept(client: TestClient,
                                                                            center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    answer = post(client, "/quan-tri/quay", csrf, id="Quầy 9", name="Quầy chín <b>")
    assert answer.status_code == 400
    page = answer.text
    assert "Chưa lưu: vui lòng sửa các ô được đánh dấu." in page and 'href="#them-quay"' in page
    assert "Mã chỉ gồm chữ thường không dấu" in page and "Chọn ít nhất một lĩnh vực cho quầy." in page
    assert 'value="Quầy chín &lt;b&gt;"' in page and 'value="Quầy 9"' in page, "escaped, and kept"
    assert 'aria-invalid="true" aria-describedby="new-counter-id-ghi-chu"' in page
    answer = post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **{**AREA, "hours": "7:30 đến 11:30"})
    assert answer.status_code == 400
    assert "«7:30 đến 11:30» không đúng dạng giờ." in answer.text
    assert 'value="7:30 đến 11:30"' in answer.text and 'value="Đất đai – Nhà ở"' in answer.text
    assert changes_asked(center) == []


@pytest.mark.parametrize(("code", "status"), [("config_refused", 409), ("storage_full", 503)])
def test_a_refusal_of_the_server_is_said_at_the_top_with_the_values_kept(client: TestClient, center: ConfigCenter,
                                                                         code: str, status: int) -> None:
    csrf = sign_in(client, "an.nv")
    center.refuse = code
    answer = post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **AREA)
    assert answer.status_code == status
    message = {"config_refused": "Không thể thay đổi lúc này: lĩnh vực vẫn còn công dân đang chờ.",
               "storage_full": "Không thực hiện được."}[code]
    assert f'<div class="notice error" role="alert">{message}' in answer.text
    assert f"Chi tiết kỹ thuật: refused: {code}" in answer.text
    assert 'value="Đất đai – Nhà ở"' in answer.text
    assert area(center, "dat-dai")["name"] == "Đất đai"


def test_the_servers_own_validation_is_said_in_vietnamese(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    answer = post(client, "/quan-tri/linh-vuc/tai-nguyen-moi-truong/tiep-nhan", csrf, open="1")
    assert answer.status_code == 400
    assert "Chưa có quầy nào phục vụ lĩnh vực «Tài nguyên và Môi trường» đang tiếp nhận" in answer.text
    assert "no counter serves the open area" in answer.text
    assert len(center.versions) == 1


def test_a_change_made_meanwhile_by_another_is_not_undone_unseen(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    client.get("/quan-tri")
    assert post(client, "/quan-tri/thong-bao", csrf, notice="Của người khác").status_code == 303  # version 2
    answer = post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **AREA)  # the page still says version 1
    assert answer.status_code == 409
    assert "Cấu hình vừa được người khác thay đổi." in answer.text
    assert "Trang đã tải lại cấu hình mới nhất (phiên bản 2)" in answer.text
    assert '<input type="hidden" name="base_version" value="2">' in answer.text
    assert 'value="Đất đai – Nhà ở"' in answer.text and area(center, "dat-dai")["name"] == "Đất đai"


def test_a_form_corrected_after_a_mistake_still_does_not_undo_a_change_made_meanwhile(
        client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    client.get("/quan-tri")  # the page at version 1
    assert post(client, "/quan-tri/thong-bao", csrf, notice="Của người khác").status_code == 303  # version 2
    wrong = post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **{**AREA, "target_wait_min": "abc"})
    assert wrong.status_code == 400
    form = wrong.text[wrong.text.index('id="sua-linh-vuc-dat-dai"'):]
    base = re.search(r'name="base_version" value="(\d+)"', form)
    assert base is not None and base.group(1) == "1", "the values were typed against version 1"
    corrected = client.post("/quan-tri/linh-vuc/dat-dai", data={"csrf": csrf, "base_version": base.group(1), **AREA},
                            headers={"origin": ORIGIN})
    assert corrected.status_code == 409, "a conflict, never the other change overwritten"
    assert center.document["board"] == {"notice": "Của người khác"}


def test_a_form_that_changes_nothing_sends_nothing(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    answer = post(client, "/quan-tri/danh-gia", csrf, levels="3")
    assert answer.headers["location"] == "/quan-tri?khong-doi=1&o=levels#danh-gia"
    assert "Không có gì thay đổi: cấu hình vẫn như cũ." in client.get(answer.headers["location"]).text
    assert changes_asked(center) == []


def test_an_unknown_area_or_counter_in_the_address_is_404(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    answer = post(client, "/quan-tri/linh-vuc/khong-co", csrf, **AREA)
    assert answer.status_code == 404 and "không có lĩnh vực mã «khong-co»" in answer.text
    assert post(client, "/quan-tri/quay/99", csrf, name="x", areas=["bhxh"]).status_code == 404
    assert changes_asked(center) == []


def test_without_the_broker_the_pages_say_so(client: TestClient, link: FakeLink) -> None:
    sign_in(client, "an.nv")
    link.lose()
    answer = client.get("/quan-tri")
    assert answer.status_code == 503 and "Mất kết nối với máy chủ trung tâm" in answer.text


def test_the_history_says_each_version_and_a_restore_asks_first(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    post(client, "/quan-tri/linh-vuc/dat-dai", csrf, **AREA)
    client.post("/quan-tri/quay", data={"csrf": csrf, "base_version": "2", "id": "9", "name": "Quầy 9",
                                        "areas": ["dat-dai"]}, headers={"origin": ORIGIN})
    page = client.get("/quan-tri/lich-su").text
    assert page.index('id="phien-ban-3"') < page.index('id="phien-ban-2"') < page.index('id="phien-ban-1"')
    assert "Lĩnh vực «Đất đai»: tên: «Đất đai» → «Đất đai – Nhà ở»" in page
    assert "Thêm quầy «Quầy 9» (lĩnh vực: Đất đai – Nhà ở)" in page
    assert "Trang quản trị · Nguyễn Văn An (an.nv)" in page and "Tệp cấu hình center.example.toml" in page
    assert page.count("Khôi phục phiên bản này") == 2, "not on the version in use"

    answer = client.post("/quan-tri/khoi-phuc", data={"csrf": csrf, "version": "1", "base_version": "3"},
                         headers={"origin": ORIGIN})
    assert answer.status_code == 200 and "Khôi phục phiên bản 1?" in answer.text
    assert '<input type="hidden" name="confirm" value="1">' in answer.text
    assert changes_asked(center) == [body for body in changes_asked(center) if body["action"] == "config_change"]
    answer = client.post("/quan-tri/khoi-phuc", data={"csrf": csrf, "version": "1", "base_version": "3",
                                                      "confirm": "1"}, headers={"origin": ORIGIN})
    assert answer.headers["location"] == "/quan-tri/lich-su?khoi-phuc=1&ap-dung=4"
    assert center.document == center.versions[0][1]
    page = client.get(answer.headers["location"]).text
    assert "Đã khôi phục phiên bản 1: đã áp dụng phiên bản 4." in page
    assert "Khôi phục phiên bản 1 · Nguyễn Văn An (an.nv)" in page and "Bỏ quầy «Quầy 9»" in page


def test_a_refused_restore_is_said_on_the_history(client: TestClient, center: ConfigCenter) -> None:
    csrf = sign_in(client, "an.nv")
    answer = client.post("/quan-tri/khoi-phuc", data={"csrf": csrf, "version": "1", "base_version": "1",
                                                      "confirm": "1"}, headers={"origin": ORIGIN})
    assert answer.status_code == 503 and "Cấu hình không có gì thay đổi." in answer.text
    answer = client.post("/quan-tri/khoi-phuc", data={"csrf": csrf, "version": "x", "confirm": "1"},
                         headers={"origin": ORIGIN})
    assert answer.status_code == 400


def test_the_live_part_downloads_as_toml_that_reads_back_the_same(client: TestClient, center: ConfigCenter) -> None:
    sign_in(client, "an.nv")
    answer = client.get("/quan-tri/tai-ve")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/toml")
    assert answer.headers["content-disposition"] == 'attachment; filename="cau-hinh-phien-ban-1.toml"'
    assert tomllib.loads(answer.text) == center.document
    assert re.search(r"# Phiên bản 1, \d\d/\d\d/2\d{3} \d\d:\d\d, Tệp cấu hình center.example.toml\.", answer.text)
