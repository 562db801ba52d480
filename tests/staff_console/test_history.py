"""The history page's words (`staff_console/history.py`): every kind of change the server records, said in
Vietnamese, naming areas and counters by their names as they were then."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from central_server.config import build, load
from central_server.live_config import KEYED_LISTS, LIVE_TABLES, changes
from protocol.agent import AGENT_ZONE
from protocol.config import Table, read_toml
from protocol.messages import ConfigChange, ConfigVersion
from staff_console.history import LABELS, describe, names_of, source_text, versions, who

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "center.example.toml"
DOCUMENT = load(EXAMPLE, on_this_host=False).document
AT = datetime(2026, 12, 2, 3, 5, tzinfo=UTC)  # 10:05 in Vietnam


def said(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What the history says of the change from `before` to `after`, as the server records it."""
    return [line for change in changes(before, after)
            for line in describe(change, names_of(before), names_of(after))]


def edited(**edits: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    for path, value in edits.items():
        table, _, rest = path.partition("__")
        target = document[table]
        if rest:
            key, _, field = rest.partition("__")
            target = next(t for t in target if t["id"] == key.replace("_", "-")) if isinstance(target, list) \
                else target
            rest = field or key
        target[rest] = value
    return document


def test_an_area_renamed_closed_and_given_a_quota_target_and_hours() -> None:
    after = copy.deepcopy(DOCUMENT)
    dat_dai = after["areas"][0]
    dat_dai.update(name="Đất đai – Nhà ở", open=False, daily_quota=100, target_wait_min=20,
                   hours={"weekdays": ["07:30-11:30"]})
    assert said(DOCUMENT, after) == [
        "Lĩnh vực «Đất đai»: hạn mức mỗi ngày: không giới hạn → 100 phiếu",
        "Lĩnh vực «Đất đai»: giờ riêng từ thứ Hai đến thứ Sáu: theo giờ chung của trung tâm → 07:30–11:30",
        "Lĩnh vực «Đất đai»: tên: «Đất đai» → «Đất đai – Nhà ở»",
        "Lĩnh vực «Đất đai»: tạm ngừng tiếp nhận",
        "Lĩnh vực «Đất đai»: thời gian chờ mục tiêu: 30 phút → 20 phút",
    ]
    reopened = copy.deepcopy(DOCUMENT)
    reopened["areas"][6]["open"] = True
    assert said(DOCUMENT, reopened) == ["Lĩnh vực «Tài nguyên và Môi trường»: tiếp nhận trở lại"]


def test_areas_and_counters_added_and_removed_and_a_counters_areas() -> None:
    after = copy.deepcopy(DOCUMENT)
    after["counters"].append({"id": "9", "name": "Quầy 9", "areas": ["dat-dai", "bhxh"]})
    after["counters"][1]["areas"] = ["tu-phap", "kinh-doanh"]
    after["areas"].append({"id": "nha-o", "name": "Nhà ở", "first": 1, "last": 99, "prefix": "G", "open": False})
    del after["counters"][0]
    assert said(DOCUMENT, after) == [
        "Thêm lĩnh vực «Nhà ở» (số G01–G99)",
        "Quầy «Quầy 2»: lĩnh vực: Đất đai, Xây dựng → Tư pháp – Hộ tịch, Đăng ký kinh doanh",
        "Thêm quầy «Quầy 9» (lĩnh vực: Đất đai, Bảo hiểm xã hội)",
        "Bỏ quầy «Quầy 1»",
    ]
    assert said(after, DOCUMENT)[0] == "Bỏ lĩnh vực «Nhà ở»"


def test_the_notice_the_levels_the_hours_and_other_tables() -> None:
    after = copy.deepcopy(DOCUMENT)
    after["board"]["notice"] = "Nghỉ Tết."
    after["rating"]["levels"] = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]
    after["rating"]["window_s"] = 180
    after["hours"].update(sat=["07:30-11:30"], wed=[], closed_dates=["2027-01-01", "2027-02-16"], last_ticket_min=20)
    after["queue"]["priority_mode"] = "interleaved"
    after["center"] = {"name": "Trung tâm Phục vụ hành chính công"}
    assert said(DOCUMENT, after) == [
        "Tên trung tâm: «Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá» → «Trung tâm Phục vụ hành chính công»",
        "Mức đánh giá: Rất hài lòng, Hài lòng, Không hài lòng → Rất hài lòng, Hài lòng, Bình thường, Không hài "
        "lòng, Rất không hài lòng",
        "Thời gian đánh giá tại quầy: 120 giây → 180 giây",
        "Cách gọi số ưu tiên: gọi số ưu tiên trước → xen kẽ số ưu tiên và số thường",
        "Ngày nghỉ của trung tâm: thêm 16/02/2027; bỏ 30/04/2027, 01/05/2027, 02/09/2027",
        "Ngừng cấp số trước khi hết buổi: 15 phút → 20 phút",
        "Giờ làm việc thứ Bảy: nghỉ → 07:30–11:30",
        "Giờ làm việc thứ Tư: như từ thứ Hai đến thứ Sáu → nghỉ",
        "Thông báo trên bảng gọi số: «Bộ phận Tiếp nhận và Trả kết quả làm việc từ thứ Hai đến thứ Sáu, sáng "
        "7h30–11h30, chiều 13h30–17h00. Xin cảm ơn!» → «Nghỉ Tết.»",
    ]


def test_a_table_set_or_removed_whole_is_said_key_by_key() -> None:
    without = {key: value for key, value in DOCUMENT.items() if key not in ("board", "hours")}
    assert said(without, DOCUMENT)[-1].startswith("Thông báo trên bảng gọi số: (không đặt) → «Bộ phận")
    assert said(without, DOCUMENT)[0] == "Giờ làm việc từ thứ Hai đến thứ Sáu: (không đặt) → 07:30–11:30, 13:30–17:00"
    assert "Thông báo trên bảng gọi số: «Bộ phận" in said(DOCUMENT, without)[-1]
    empty = copy.deepcopy(DOCUMENT)
    empty["board"]["notice"] = ""
    assert said(DOCUMENT, empty)[0].endswith("→ (không có thông báo)")


def test_an_unknown_path_is_said_as_it_is() -> None:
    change = ConfigChange("future.key", 1, 2)
    assert describe(change, names_of(DOCUMENT), names_of(DOCUMENT)) == ["future.key: 1 → 2"]
    assert describe(ConfigChange("areas#order", ["dat-dai", "bhxh"], ["bhxh", "dat-dai"]), names_of(DOCUMENT),
                    names_of(DOCUMENT)) == ["Thứ tự các lĩnh vực: Đất đai, Bảo hiểm xã hội → Bảo hiểm xã hội, Đất đai"]


def test_the_versions_name_things_as_they_were_then_newest_first() -> None:
    renamed = copy.deepcopy(DOCUMENT)
    renamed["areas"][0]["name"] = "Đất đai – Nhà ở"
    renamed["counters"][1]["name"] = "Quầy 2A"
    again = copy.deepcopy(renamed)
    again["counters"][1]["areas"] = ["dat-dai"]
    history = [
        ConfigVersion(3, AT, "console", "an.nv", "Nguyễn Văn An", changes(renamed, again)),
        ConfigVersion(2, AT, "console", "an.nv", "Nguyễn Văn An", changes(DOCUMENT, renamed)),
        ConfigVersion(1, AT, "file", "center.toml", ""),
    ]
    current = ConfigVersion(3, AT, "console", "an.nv", "Nguyễn Văn An")  # config_show's: without its changes
    rows = versions(current, history, again, AGENT_ZONE)
    assert [(row.version, row.current) for row in rows] == [(3, True), (2, False), (1, False)]
    assert rows[0].changes == ("Quầy «Quầy 2A»: lĩnh vực: Đất đai – Nhà ở, Xây dựng → Đất đai – Nhà ở",)
    assert rows[1].changes == ("Lĩnh vực «Đất đai»: tên: «Đất đai» → «Đất đai – Nhà ở»",
                               "Quầy «Quầy 2»: tên: «Quầy 2» → «Quầy 2A»")
    assert (rows[1].at, rows[1].source, rows[1].who) == ("02/12/2026 10:05", "Trang quản trị", "Nguyễn Văn An (an.nv)")
    assert (rows[2].source, rows[2].who, rows[2].changes) == ("Tệp cấu hình center.toml", "", ())


def test_where_a_version_came_from() -> None:
    restore = ConfigVersion(5, AT, "restore", "an.nv", "Nguyễn Văn An", restored_from=2)
    assert source_text(restore) == "Khôi phục phiên bản 2"
    assert who(restore) == "Nguyễn Văn An (an.nv)"
    assert who(ConfigVersion(6, AT, "console", "an.nv", "")) == "an.nv"


def test_every_key_of_the_live_tables_the_server_reads_has_a_vietnamese_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader itself says which keys there are: each key it reads from a live table (every live table there,
    the example's and those it leaves out) is named in Vietnamese by the history, not shown as `table.key`."""
    read: set[tuple[str, str]] = set()
    get = Table._get

    def recording(table: Table, key: str, *args: Any, **kwargs: Any) -> Any:
        read.add((table.where, key))
        return get(table, key, *args, **kwargs)

    monkeypatch.setattr(Table, "_get", recording)
    root = read_toml(EXAMPLE)
    for table in LIVE_TABLES:
        root.data.setdefault(table, {})  # a table the example leaves out: its keys are read with their defaults
    build(root, on_this_host=False)
    plain = [table for table in LIVE_TABLES if table not in KEYED_LISTS]
    keys = {f"{where[1:-1]}.{key}" for where, key in read if where[1:-1] in plain} | {"center.name"}
    assert {"dossiers.pattern", "rating.criteria", "hours.sat"} <= keys
    assert sorted(keys - set(LABELS)) == []


def test_the_dossier_rules_and_the_rating_figures_are_said_in_vietnamese() -> None:
    before = copy.deepcopy(DOCUMENT)  # the example's, without what the test sets
    before["rating"].pop("criteria", None)
    before.pop("dossiers", None)
    after = copy.deepcopy(before)
    after["rating"].update(dissatisfied=["satisfied", "dissatisfied"], criteria=["attitude", "time"])
    after["dossiers"] = {"national": False, "pattern": "HS-[0-9]{6}", "per_ticket": 5}
    assert said(before, after) == [
        "Tiêu chí đánh giá thêm qua điện thoại: (không đặt) → Thái độ của cán bộ, Thời gian giải quyết",
        "Các mức tính là không hài lòng: (không đặt) → Hài lòng, Không hài lòng",
        "Kiểm tra mã hồ sơ theo định dạng quốc gia: (không đặt) → không",
        "Mẫu mã hồ sơ của trung tâm: (không đặt) → «HS-[0-9]{6}»",
        "Số hồ sơ tối đa mỗi phiếu: (không đặt) → 5",
    ]
