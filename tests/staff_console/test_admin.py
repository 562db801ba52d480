"""The administrator's forms turned into the live document (`staff_console/admin.py`): each form changes only what
it is about, keeps every key it does not edit, checks each field with a Vietnamese message, and what it makes
passes the server's own validation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from central_server.config import load, with_document
from staff_console.admin import (
    Fields,
    FormErrors,
    NotFound,
    add_area,
    add_counter,
    edit_area,
    edit_counter,
    hours_fields,
    overview,
    set_area_open,
    set_hours,
    set_levels,
    set_notice,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "center.example.toml"
CONFIG = load(EXAMPLE, on_this_host=False)


@pytest.fixture
def document() -> dict[str, Any]:
    found = copy.deepcopy(CONFIG.document)
    found["areas"][0]["future_key"] = {"kept": True}  # keys a newer server knows and this page does not
    found["future_table"] = {"x": 1}
    return found


def fields(**values: str | list[str]) -> Fields:
    return Fields({key: value if isinstance(value, list) else [value] for key, value in values.items()})


def area(document: dict[str, Any], area_id: str) -> dict[str, Any]:
    return next(a for a in document["areas"] if a["id"] == area_id)


def counter(document: dict[str, Any], counter_id: str) -> dict[str, Any]:
    return next(c for c in document["counters"] if c["id"] == counter_id)


def valid(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the server would take it (`--check`'s rules), unknown tables left out."""
    known = {key: copy.deepcopy(value) for key, value in document.items() if key != "future_table"}
    for table in known["areas"]:
        table.pop("future_key", None)
    with_document(CONFIG, known)
    return document


def errors(call: Any, *args: Any) -> dict[str, str]:
    with pytest.raises(FormErrors) as raised:
        call(*args)
    return raised.value.errors


def test_an_areas_form_changes_its_name_hours_quota_and_target_and_nothing_else(document: dict[str, Any]) -> None:
    new = valid(edit_area(document, "dat-dai", fields(name="  Đất đai   –  Nhà ở ", hours="07:30-11:30",
                                                      daily_quota="1.000", target_wait_min="20")))
    assert area(new, "dat-dai") == {"id": "dat-dai", "name": "Đất đai – Nhà ở", "first": 1001, "last": 1999,
                                    "future_key": {"kept": True}, "daily_quota": 1000, "target_wait_min": 20,
                                    "hours": {"weekdays": ["07:30-11:30"]}}
    assert {k: v for k, v in new.items() if k != "areas"} == {k: v for k, v in document.items() if k != "areas"}
    assert new["areas"][1:] == document["areas"][1:]
    assert area(document, "dat-dai")["name"] == "Đất đai", "the document shown is not changed"


def test_a_field_that_says_what_the_document_says_leaves_its_text_and_defaults_absent(document: dict[str, Any]) -> None:
    same = edit_area(document, "bhxh", fields(name="Bảo hiểm xã hội", hours="07:30 – 11:30", daily_quota="80",
                                              target_wait_min="30"))
    assert same == document
    decomposed = edit_area(document, "dat-dai", fields(name="Đất đai", hours="", daily_quota="0",
                                                       target_wait_min="30"))
    assert decomposed == document, "NFC: a name typed decomposed is the same name"


def test_an_areas_own_hours_emptied_go_back_to_the_centers_unless_other_days_remain(document: dict[str, Any]) -> None:
    new = valid(edit_area(document, "bhxh", fields(name="Bảo hiểm xã hội", hours="", daily_quota="80",
                                                   target_wait_min="30")))
    assert "hours" not in area(new, "bhxh")
    area(document, "bhxh")["hours"]["sat"] = ["07:30-11:30"]
    new = edit_area(document, "bhxh", fields(name="Bảo hiểm xã hội", hours="", daily_quota="80",
                                             target_wait_min="30"))
    assert area(new, "bhxh")["hours"] == {"sat": ["07:30-11:30"]}


def test_an_areas_own_holidays_are_never_dropped_by_emptying_its_hours(document: dict[str, Any]) -> None:
    area(document, "bhxh")["hours"].update(closed_dates=["2027-01-02"], last_ticket_min=10)
    found = errors(edit_area, document, "bhxh", fields(name="Bảo hiểm xã hội", hours="", daily_quota="80",
                                                        target_wait_min="30"))
    assert found["hours"].startswith("Lĩnh vực này còn ngày nghỉ riêng hoặc giờ ngừng cấp số riêng")


def test_an_areas_fields_are_checked_each_with_its_message(document: dict[str, Any]) -> None:
    found = errors(edit_area, document, "dat-dai", fields(name=" ", hours="7h30-11h30", daily_quota="-1",
                                                          target_wait_min="0"))
    assert found["name"] == "Tên không được để trống và dài tối đa 100 ký tự."
    assert found["hours"].startswith("«7h30-11h30» không đúng dạng giờ.")
    assert found["daily_quota"] == "Nhập một số nguyên từ 0 đến 100.000."
    assert found["target_wait_min"] == "Nhập một số nguyên từ 1 đến 1.440."
    assert errors(edit_area, document, "dat-dai", fields(name="x" * 101, hours="13:30-17:00, 07:30-14:00",
                                                         daily_quota="", target_wait_min="x")) == {
        "name": "Tên không được để trống và dài tối đa 100 ký tự.",
        "hours": "Giờ làm việc phải có dạng 07:30-11:30, 13:30-17:00 (giờ bắt đầu trước giờ kết thúc, các buổi "
                 "không chồng lên nhau).",
        "daily_quota": "Nhập một số nguyên từ 0 đến 100.000.",
        "target_wait_min": "Nhập một số nguyên từ 1 đến 1.440."}
    assert "ký tự điều khiển" in errors(edit_area, document, "dat-dai",
                                         fields(name="Đất\u200bđai", hours="", daily_quota="0",
                                                target_wait_min="30"))["name"]
    with pytest.raises(NotFound, match="không có lĩnh vực mã «khong-co»"):
        edit_area(document, "khong-co", fields(name="x"))


def test_an_area_closes_and_opens_and_saying_what_it_is_changes_nothing(document: dict[str, Any]) -> None:
    closed = set_area_open(document, "dat-dai", False)
    assert area(closed, "dat-dai")["open"] is False
    assert set_area_open(document, "dat-dai", True) == document
    assert area(set_area_open(closed, "dat-dai", True), "dat-dai")["open"] is True
    assert set_area_open(document, "tai-nguyen-moi-truong", False) == document


def test_a_new_area_is_added_closed_its_prefix_in_capitals(document: dict[str, Any]) -> None:
    new = valid(add_area(document, fields(id="nha-o", name="Nhà ở", first="1", last="999", prefix="g")))
    assert new["areas"][-1] == {"id": "nha-o", "name": "Nhà ở", "first": 1, "last": 999, "prefix": "G",
                                "open": False}
    assert new["areas"][:-1] == document["areas"]


def test_a_new_areas_fields_are_checked(document: dict[str, Any]) -> None:
    assert errors(add_area, document, fields(id="Nhà ở", name="", first="x", last="5", prefix="ABCD")) == {
        "id": "Mã chỉ gồm chữ thường không dấu (a-z), chữ số và dấu gạch ngang, dài tối đa 32 ký tự.",
        "name": "Tên không được để trống và dài tối đa 100 ký tự.",
        "first": "Nhập một số nguyên từ 0 đến 999.999.",
        "prefix": "Tiền tố gồm tối đa 3 chữ cái in hoa không dấu (A-Z), hoặc để trống."}
    assert errors(add_area, document, fields(id="dat-dai", name="Đất", first="9", last="5")) == {
        "id": "Mã «dat-dai» đã là mã của một lĩnh vực khác.", "last": "Số cuối không được nhỏ hơn số đầu (9)."}
    assert "id" in errors(add_area, document, fields(id="a" * 33, name="x", first="1", last="2"))


def test_a_counters_form_renames_it_and_assigns_areas_in_the_documents_order(document: dict[str, Any]) -> None:
    new = valid(edit_counter(document, "2", fields(name="Quầy 2A", areas=["tu-phap", "dat-dai", "not-an-area"])))
    assert counter(new, "2") == {"id": "2", "name": "Quầy 2A", "areas": ["dat-dai", "tu-phap"]}
    assert edit_counter(document, "2", fields(name="Quầy 2", areas=["xay-dung", "dat-dai"])) == document
    assert errors(edit_counter, document, "2", fields(name="quầy  1", areas=[])) == {
        "areas": "Chọn ít nhất một lĩnh vực cho quầy.",
        "name": "Tên «quầy 1» đã là tên của quầy mã «1»: bảng gọi số và loa gọi không phân biệt được hai quầy."}


def test_a_new_counter_is_added_with_its_areas(document: dict[str, Any]) -> None:
    new = valid(add_counter(document, fields(id="9", name="Quầy 9", areas=["bhxh"])))
    assert new["counters"][-1] == {"id": "9", "name": "Quầy 9", "areas": ["bhxh"]}
    assert errors(add_counter, document, fields(id="2", name="Quầy 2", areas=["bhxh"])) == {
        "id": "Mã «2» đã là mã của một quầy khác.",
        "name": "Tên «Quầy 2» đã là tên của quầy mã «2»: bảng gọi số và loa gọi không phân biệt được hai quầy."}


def test_the_notice_is_one_line_of_at_most_500_characters(document: dict[str, Any]) -> None:
    new = valid(set_notice(document, fields(notice="Nghỉ Tết\r\ntừ 14/02/2027.  ")))
    assert new["board"] == {"notice": "Nghỉ Tết từ 14/02/2027."}
    assert valid(set_notice(document, fields(notice="")))["board"] == {"notice": ""}
    assert set_notice(document, fields(notice="x" * 500))["board"]["notice"] == "x" * 500
    assert errors(set_notice, document, fields(notice="x" * 501)) == {
        "notice": "Thông báo dài tối đa 500 ký tự. Nội dung đang có 501 ký tự."}
    without = {key: value for key, value in document.items() if key != "board"}
    assert set_notice(without, fields(notice="  ")) == without, "no [board]: each board keeps its own notice"
    assert set_notice(without, fields(notice="Xin chào"))["board"] == {"notice": "Xin chào"}


def test_the_rating_levels_are_three_or_five_or_the_centers_own_kept(document: dict[str, Any]) -> None:
    five = valid(set_levels(document, fields(levels="5")))
    assert five["rating"] == {**document["rating"], "levels": ["very_satisfied", "satisfied", "neutral",
                                                                "dissatisfied", "very_dissatisfied"]}
    assert set_levels(document, fields(levels="3")) == document
    assert set_levels(document, fields(levels="")) == document
    assert errors(set_levels, document, fields(levels="4")) == {"levels": "Chọn thang đánh giá 3 mức hoặc 5 mức."}
    assert overview(five).scale == "5" and overview(document).scale == "3"
    document["rating"]["levels"] = ["satisfied", "dissatisfied"]
    assert overview(document).scale == ""


def test_a_new_scale_takes_the_servers_default_of_the_levels_counted_dissatisfied(document: dict[str, Any]) -> None:
    """The levels counted "không hài lòng" were chosen for the old scale: a new one takes the default (on five levels
    the server counts dissatisfied and very_dissatisfied); the same scale again keeps the center's choice."""
    five = valid(set_levels(document, fields(levels="5")))
    five["rating"]["dissatisfied"] = ["neutral", "dissatisfied", "very_dissatisfied"]
    assert valid(set_levels(five, fields(levels="5")))["rating"]["dissatisfied"] == [
        "neutral", "dissatisfied", "very_dissatisfied"]
    assert "dissatisfied" not in valid(set_levels(five, fields(levels="3")))["rating"]
    three = valid(set_levels(document, fields(levels="3")))
    three["rating"]["dissatisfied"] = ["dissatisfied"]
    assert "dissatisfied" not in valid(set_levels(three, fields(levels="5")))["rating"]


def test_the_centers_hours_weekdays_days_of_their_own_closed_dates_and_cut_off(document: dict[str, Any]) -> None:
    form = {**hours_fields(document["hours"]), "sat": "07:30-11:30", "wed": "nghỉ",
            "closed_dates": "01/01/2027, 30/04/2027\n1/5/2027; 02/09/2027 16/2/2027", "last_ticket_min": "20"}
    new = valid(set_hours(document, fields(**form)))
    assert new["hours"] == {"weekdays": ["07:30-11:30", "13:30-17:00"], "sat": ["07:30-11:30"], "wed": [],
                            "closed_dates": ["2027-01-01", "2027-02-16", "2027-04-30", "2027-05-01", "2027-09-02"],
                            "last_ticket_min": 20}
    assert hours_fields(new["hours"])["wed"] == "nghỉ"
    assert hours_fields(new["hours"])["closed_dates"] == "01/01/2027, 16/02/2027, 30/04/2027, 01/05/2027, 02/09/2027"
    assert set_hours(document, fields(**hours_fields(document["hours"]))) == document
    back = set_hours(new, fields(**{**hours_fields(new["hours"]), "sat": "", "wed": ""}))
    assert "sat" not in back["hours"] and "wed" not in back["hours"]


def test_the_centers_hours_are_checked(document: dict[str, Any]) -> None:
    form = hours_fields(document["hours"])
    assert errors(set_hours, document, fields(**{**form, "closed_dates": "31/02/2027"})) == {
        "closed_dates": "«31/02/2027» không phải một ngày dạng ngày/tháng/năm (ví dụ 01/01/2027)."}
    assert errors(set_hours, document, fields(**{**form, "weekdays": ""})) == {
        "weekdays": "Chưa có buổi làm việc nào trong tuần."}
    assert errors(set_hours, document, fields(**{**form, "sat": "07:30-08:00", "last_ticket_min": "30"})) == {
        "last_ticket_min": "Ngừng cấp số 30 phút trước khi hết buổi thì không còn thời gian nào để lấy số trong "
                           "buổi 7h30–8h00."}
    assert errors(set_hours, document, fields(**{**form, "last_ticket_min": "241"})) == {
        "last_ticket_min": "Nhập một số nguyên từ 0 đến 240."}
    without = {key: value for key, value in document.items() if key != "hours"}
    assert set_hours(without, fields(weekdays="", closed_dates="", last_ticket_min="")) == without
    assert valid(set_hours(without, fields(weekdays="08:00-12:00")))["hours"] == {"weekdays": ["08:00-12:00"]}


def test_the_overview_shows_each_area_and_counter_as_the_document_has_them(document: dict[str, Any]) -> None:
    shown = overview(document)
    rows = {row.id: row for row in shown.areas}
    assert (rows["tu-phap"].numbers, rows["tu-phap"].open) == ("B001–B999", True)
    assert (rows["tai-nguyen-moi-truong"].open, rows["bhxh"].hours, rows["bhxh"].daily_quota) == (False, "07:30-11:30",
                                                                                                  80)
    assert (rows["dat-dai"].target_wait_min, rows["dat-dai"].daily_quota) == (30, 0)
    assert shown.counters[1].areas == ("dat-dai", "xay-dung")
    assert shown.area_names["ldtbxh"] == "Lao động – Thương binh và Xã hội"
    assert shown.notice is not None and shown.notice.startswith("Bộ phận")
    assert shown.hours["weekdays"] == "07:30-11:30, 13:30-17:00" and shown.has_hours
    area(document, "bhxh")["hours"]["sat"] = []
    assert overview(document).areas[5].other_days == "Thứ Bảy: nghỉ"
