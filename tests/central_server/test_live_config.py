"""The live configuration (issue 17) through the service on a real SQLite file: versions, the console's changes and
restores, the file read again (SIGHUP) and at a restart, and what the day's state forbids."""

from __future__ import annotations

import copy
import json
import tomllib
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central_server import live_command, service
from central_server.config import load
from central_server.live_config import changes, document_of, merged
from central_server.report.command import make_report
from central_server.report.figures import ReportCenter
from central_server.service import CenterService
from central_server.storage.port import StorageError
from central_server.storage.sqlite import SqliteStorage
from protocol.messages import ConfigChange
from tests.central_server.test_service import Clock, Rig, reply_of

ADMIN = {"official": "an.nv", "official_name": "Nguyễn Văn An"}


class AdminRig(Rig):
    def ask(self, action: str, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"v": 1, "request_id": request_id or uuid.uuid4().hex, "action": action, **ADMIN, **extra}
        self.out = self.send(self.topics.console_request("c1"), body, self.topics.console_response("c1"))
        return reply_of(self.out, self.topics.console_response("c1"))

    def change(self, edit: Any, request_id: str | None = None) -> dict[str, Any]:
        """Show the live document, let `edit` change it in place, send it back."""
        shown = self.ask("config_show")
        document = copy.deepcopy(shown["document"])
        edit(document)
        return self.ask("config_change", request_id, base_version=shown["config"]["version"], document=document)

    def published(self, suffix: str) -> list[bytes]:
        """What the last request's batch published on `<root>/<suffix>`, in order."""
        return [o.payload for o in self.out if o.topic == f"{self.topics.root}/{suffix}"]

    def live_state(self, suffix: str) -> bytes:
        """The retained payload on `<root>/<suffix>` as the service would publish it after a reconnect."""
        retained = {o.topic: o.payload for o in self.service.retained_state()}
        return retained[f"{self.topics.root}/{suffix}"]

    def live_config(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.live_state("config"))
        return decoded


@pytest.fixture
def rig(tmp_path: Path) -> AdminRig:
    return AdminRig(tmp_path, Clock())


def area(document: dict[str, Any], area_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in document["areas"] if a["id"] == area_id)
    return found


def counter(document: dict[str, Any], counter_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in document["counters"] if c["id"] == counter_id)
    return found


# --- the document and its differences (pure) ------------------------------------------------------


def test_the_document_is_the_live_part_of_the_file_and_merges_back_into_it(rig: AdminRig) -> None:
    raw = rig.config.raw
    document = document_of(raw)
    assert set(document) == {"center", "rating", "queue", "areas", "counters"}
    assert document["center"] == {"name": raw["center"]["name"]}
    assert merged(raw, document) == raw
    renamed = copy.deepcopy(document)
    renamed["center"]["name"] = "Trung tâm Phục vụ hành chính công"
    whole = merged(raw, renamed)
    assert whole["center"] == {**raw["center"], "name": "Trung tâm Phục vụ hành chính công"}
    assert whole["mqtt"] == raw["mqtt"] and whole["storage"] == raw["storage"]


def test_differences_name_what_changed_area_by_area_and_counter_by_counter() -> None:
    before = {"board": {"notice": "A"},
              "areas": [{"id": "a", "name": "Đất đai", "open": True}, {"id": "b", "name": "Tư pháp"}],
              "counters": [{"id": "1", "name": "Quầy 1", "areas": ["a"]}]}
    after = {"board": {"notice": "B"},
             "areas": [{"id": "b", "name": "Tư pháp"}, {"id": "a", "name": "Đất đai – Nhà ở", "open": False},
                       {"id": "c", "name": "Mới"}],
             "counters": []}
    assert changes(before, after) == (
        ConfigChange("board.notice", "A", "B"),
        ConfigChange("areas[a].name", "Đất đai", "Đất đai – Nhà ở"),
        ConfigChange("areas[a].open", True, False),
        ConfigChange("areas[c]", None, {"id": "c", "name": "Mới"}),
        ConfigChange("areas#order", ["a", "b"], ["b", "a"]),
        ConfigChange("counters[1]", {"id": "1", "name": "Quầy 1", "areas": ["a"]}, None),
    )
    assert changes(after, after) == ()


# --- versions ------------------------------------------------------------------------------------------


def test_the_first_start_keeps_the_file_as_version_1(rig: AdminRig) -> None:
    rig.clock.advance(seconds=1)
    rig.service.tick()  # the version is kept with the first commit
    shown = rig.ask("config_show")
    assert shown["ok"] is True
    assert shown["config"] == {"version": 1, "at": "2026-11-23T07:30:00+07:00", "source": "file",
                               "by": "center.toml", "by_name": "", "restored_from": None, "changes": []}
    assert shown["document"] == rig.config.document
    assert rig.storage.live_config() is not None


def test_an_area_renamed_on_the_console_goes_out_at_once_and_is_kept(rig: AdminRig) -> None:
    waiting = rig.ticket("dat-dai")["ticket"]
    answer = rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở"))
    assert answer["ok"] is True and answer["config"]["version"] == 2
    assert answer["config"]["by"] == "an.nv" and answer["config"]["by_name"] == "Nguyễn Văn An"
    config = json.loads(rig.published("config")[0])
    assert area(config, "dat-dai")["name"] == "Đất đai – Nhà ở"
    assert rig.published("board/state"), "the board goes out again with the new names"
    history = rig.ask("config_history")
    assert [v["version"] for v in history["history"]] == [2, 1]
    assert history["history"][0]["changes"] == [
        {"path": "areas[dat-dai].name", "before": "Đất đai", "after": "Đất đai – Nhà ở"}]
    rig.command("1", "next")
    state = json.loads(rig.live_state("counter/1/state"))
    assert state["ticket"]["id"] == waiting["id"] and state["ticket"]["area_name"] == "Đất đai – Nhà ở"
    rig.restart()  # the file is as it was: the console's version stays live
    assert area(rig.live_config(), "dat-dai")["name"] == "Đất đai – Nhà ở"


def test_a_changed_file_becomes_the_next_version_at_a_restart(rig: AdminRig) -> None:
    rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở"))
    path = rig.config.path
    path.write_text(path.read_text(encoding="utf-8").replace('name = "Quầy 3"', 'name = "Quầy số 3"'),
                    encoding="utf-8")
    rig.config = load(path)  # as a server started again reads it
    rig.restart()
    live = rig.live_config()
    assert counter(live, "3")["name"] == "Quầy số 3"
    assert area(live, "dat-dai")["name"] == "Đất đai", "the file's version replaces the console's"
    rig.service.tick()
    history = rig.ask("config_history")["history"]
    assert [(v["version"], v["source"]) for v in history] == [(3, "file"), (2, "console"), (1, "file")]
    assert {c["path"] for c in history[0]["changes"]} == {"counters[3].name", "areas[dat-dai].name"}


def test_sighup_applies_the_file_and_refuses_what_takes_a_restart(rig: AdminRig,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = rig.config.path
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('name = "Quầy 2"', 'name = "Quầy số 2"'), encoding="utf-8")
    out = rig.service.reload_file()
    config = [json.loads(o.payload) for o in out if o.topic == rig.topics.config()]
    assert counter(config[0], "2")["name"] == "Quầy số 2"
    assert rig.service.version == 2
    assert rig.service.reload_file() == [], "the same file again changes nothing"
    path.write_text(text.replace("center.db", "other.db"), encoding="utf-8")
    assert rig.service.reload_file() == []
    assert "[storage] changed, which only a restart of the server applies; nothing changed" in caplog.text
    path.write_text(text.replace('areas = ["nho"]', 'areas = ["khong-co"]'), encoding="utf-8")
    assert rig.service.reload_file() == []
    assert "unknown area 'khong-co'; nothing changed" in caplog.text
    assert rig.service.version == 2 and counter(rig.live_config(), "2")["name"] == "Quầy số 2"


# --- what a change may not do ----------------------------------------------------------------------


def test_a_change_made_on_an_older_page_is_refused(rig: AdminRig) -> None:
    first = rig.ask("config_show")
    rig.change(lambda d: d["board"].update(notice="Một") if "board" in d else d.update(board={"notice": "Một"}))
    late = copy.deepcopy(first["document"])
    area(late, "nho")["name"] = "Lĩnh vực nhỏ hơn"
    refused = rig.ask("config_change", base_version=1, document=late)
    assert refused["ok"] is False and refused["error"]["code"] == "config_conflict"
    assert "phiên bản 2" in refused["error"]["message"]
    assert rig.service.version == 2 and area(rig.live_config(), "nho")["name"] == "Lĩnh vực nhỏ"


def test_an_invalid_change_is_refused_in_vietnamese_and_changes_nothing(rig: AdminRig) -> None:
    before = rig.live_config()
    refused = rig.change(lambda d: counter(d, "3").update(areas=["dat-dai"]))  # "nho" is open and served by none
    assert refused["error"]["code"] == "config_invalid"
    assert refused["error"]["message"] == ("Chưa có quầy nào phục vụ lĩnh vực «Lĩnh vực nhỏ» đang tiếp nhận: giao lĩnh "
                                          "vực này cho một quầy, hoặc tạm ngừng tiếp nhận lĩnh vực.")
    assert "no counter serves the open area 'nho'" in refused["error"]["detail"]
    for part in ({"unknown": {"x": 1}}, {"storage": {"url": "sqlite:////tmp/x.db"}}, {"mqtt": {"url": "mqtt://x"}},
                 {"center": {"name": "Tên mới", "id": "khac"}}, {"center": {"name": "A", "timezone": "UTC"}}):
        refused = rig.change(lambda d, p=part: d.update(p))
        assert refused["error"]["code"] == "config_invalid", part
    assert rig.change(lambda d: None)["error"]["code"] == "no_change"
    assert rig.live_config() == before and rig.service.version == 1


def test_an_area_with_citizens_waiting_is_closed_not_removed_and_stays_callable(rig: AdminRig) -> None:
    first = rig.ticket("tu-phap")["ticket"]
    second = rig.ticket("tu-phap")["ticket"]
    removed = rig.change(lambda d: (d.update(areas=[a for a in d["areas"] if a["id"] != "tu-phap"]),
                                    counter(d, "2").update(areas=["dat-dai"])))
    assert removed["error"]["code"] == "config_refused"
    assert "«Tư pháp – Hộ tịch» còn 2 phiếu chưa xong" in removed["error"]["message"]
    unserved = rig.change(lambda d: (area(d, "tu-phap").update(open=False), counter(d, "2").update(areas=["dat-dai"])))
    assert unserved["error"]["code"] == "config_refused"
    assert "còn 2 công dân đang chờ mà không quầy nào gọi được" in unserved["error"]["message"]
    assert rig.change(lambda d: area(d, "tu-phap").update(open=False))["ok"] is True
    assert rig.ticket("tu-phap")["error"]["code"] == "area_closed"
    board = json.loads(rig.live_state("board/state"))
    assert board["waiting"]["tu-phap"] == 2, "a closed area's citizens still wait, and the board says so"
    assert rig.command("2", "next")["ticket"]["id"] == first["id"]
    assert rig.command("2", "next")["ticket"]["id"] == second["id"]
    rig.command("2", "finish")
    gone = rig.change(lambda d: (d.update(areas=[a for a in d["areas"] if a["id"] != "tu-phap"]),
                                 counter(d, "2").update(areas=["dat-dai"])))
    assert gone["ok"] is True, "once served, the area may go"
    assert "tu-phap" not in json.loads(rig.live_state("board/state"))["waiting"]


def test_a_counter_serving_someone_stays_until_it_is_done_and_its_state_is_cleared(rig: AdminRig) -> None:
    rig.ticket("nho")
    rig.command("3", "next")

    def without_3(document: dict[str, Any]) -> None:
        document["counters"] = [c for c in document["counters"] if c["id"] != "3"]
        counter(document, "2")["areas"] = ["tu-phap", "dat-dai", "nho"]

    refused = rig.change(without_3)
    assert refused["error"]["code"] == "config_refused" and "Quầy «Quầy 3» đang phục vụ số N1" in \
        refused["error"]["message"]
    rig.command("3", "finish")
    assert rig.change(without_3)["ok"] is True
    assert rig.published("counter/3/state")[-1] == b"", "its retained state is cleared"
    assert rig.command("3", "next")["error"]["code"] == "unknown_counter"


def test_a_counter_added_works_at_once_and_after_a_restart(rig: AdminRig) -> None:
    rig.ticket("dat-dai")
    added = rig.change(lambda d: d["counters"].append({"id": "9", "name": "Quầy 9", "areas": ["dat-dai"]}))
    assert added["ok"] is True
    assert json.loads(rig.published("counter/9/state")[0])["status"] == "idle"
    assert rig.command("9", "next")["ticket"]["number"] == "1001"
    rig.restart()
    assert json.loads(rig.live_state("counter/9/state"))["ticket"]["number"] == "1001"


def test_rating_levels_change_for_the_next_rating(rig: AdminRig) -> None:
    ticket = rig.ticket("dat-dai")["ticket"]
    rig.command("1", "next")
    rig.command("1", "finish")
    five = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]
    assert rig.change(lambda d: d["rating"].update(levels=five))["ok"] is True
    assert rig.live_config()["rating_levels"] == five
    body = {"v": 1, "rating_id": "r1", "ticket_id": ticket["id"], "level": "neutral",
            "pressed_at": rig.clock.now.isoformat()}
    ack = reply_of(rig.send(rig.topics.counter_rating("1"), body, None), rig.topics.rating_ack("1"))
    assert ack["ok"] is True and ack["level"] == "neutral"


def test_a_restore_puts_an_earlier_version_back_as_a_new_one(rig: AdminRig) -> None:
    rig.change(lambda d: d.update(board={"notice": "Nghỉ chiều thứ Sáu"}))
    assert rig.live_config()["notice"] == "Nghỉ chiều thứ Sáu"
    rig.change(lambda d: area(d, "nho").update(daily_quota=20))
    restored = rig.ask("config_restore", base_version=3, version=1)
    assert restored["ok"] is True and restored["config"]["source"] == "restore"
    assert restored["config"]["restored_from"] == 1 and restored["config"]["version"] == 4
    assert restored["document"] == rig.config.document
    assert "notice" not in rig.live_config()
    assert rig.ask("config_restore", base_version=4, version=99)["error"]["code"] == "unknown_version"
    changed = rig.ask("config_history")["history"][0]["changes"]
    assert {c["path"] for c in changed} == {"board", "areas[nho].daily_quota"}


def test_a_change_whose_commit_fails_is_undone(rig: AdminRig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig.ticket("dat-dai")

    def fail(batch: object) -> None:
        raise StorageError("disk I/O error")

    monkeypatch.setattr(rig.storage, "commit", fail)
    answer = rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở"))
    assert answer["ok"] is False and answer["error"]["code"] == "internal_error"
    monkeypatch.undo()
    assert rig.service.version == 1 and area(rig.live_config(), "dat-dai")["name"] == "Đất đai"
    assert rig.service.check_storage(probe=True) == [] and rig.service.writable
    assert rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở"))["config"]["version"] == 2


def test_reading_the_configuration_keeps_no_answer(rig: AdminRig) -> None:
    before = rig.storage.totals().replies
    for _ in range(3):
        rig.ask("config_show")
        rig.ask("config_history")
    assert rig.storage.totals().replies == before
    answer = rig.change(lambda d: area(d, "nho").update(target_wait_min=15), request_id="same")
    again = rig.ask("config_change", "same", base_version=1, document={})
    assert again == answer, "a retried change gets its first answer and makes no second version"


def test_the_document_loads_as_the_file_does(rig: AdminRig) -> None:
    assert load(rig.config.path).document == rig.config.document


def test_the_report_names_areas_and_counters_as_the_live_configuration_does(rig: AdminRig) -> None:
    rig.ticket("nho")
    rig.command("3", "next")
    rig.command("3", "finish")

    def renamed_without_nho(document: dict[str, Any]) -> None:
        area(document, "dat-dai")["name"] = "Đất đai – Nhà ở"
        document["areas"] = [a for a in document["areas"] if a["id"] != "nho"]
        document["counters"] = [c for c in document["counters"] if c["id"] != "3"]

    assert rig.change(renamed_without_nho)["ok"] is True
    report = make_report(rig.config, rig.clock.now.date(), rig.clock.now.date(), rig.clock.now)
    names = {a.id: a.name for a in report.center.areas}
    assert names["dat-dai"] == "Đất đai – Nhà ở"
    assert names["nho"] == "Lĩnh vực nhỏ", "an area no longer configured keeps the name it had"
    assert {c.id: c.name for c in report.center.counters}["3"] == "Quầy 3"


def test_the_console_makes_a_bounded_number_of_versions_a_day(rig: AdminRig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_CHANGES_PER_DAY", 2)
    for minutes in (10, 20):
        assert rig.change(lambda d, m=minutes: area(d, "nho").update(target_wait_min=m))["ok"] is True
    refused = rig.change(lambda d: area(d, "nho").update(target_wait_min=40))
    assert refused["error"]["code"] == "too_many_changes" and rig.service.version == 3
    rig.clock.advance(days=1)
    assert rig.change(lambda d: area(d, "nho").update(target_wait_min=40))["ok"] is True, "a new day, a new count"


def test_a_rating_pressed_before_the_levels_changed_still_counts(rig: AdminRig) -> None:
    ticket = rig.ticket("dat-dai")["ticket"]
    rig.command("1", "next")
    rig.command("1", "finish")
    pressed = rig.clock.now
    assert rig.change(lambda d: d["rating"].update(levels=["very_satisfied", "dissatisfied"]))["ok"] is True
    body = {"v": 1, "rating_id": "r1", "ticket_id": ticket["id"], "level": "satisfied",
            "pressed_at": pressed.isoformat()}  # from the terminal's outbox, under the level its button meant then
    ack = reply_of(rig.send(rig.topics.counter_rating("1"), body, None), rig.topics.rating_ack("1"))
    assert ack["ok"] is True and ack["level"] == "satisfied"


def test_the_history_is_cut_to_what_one_answer_carries(rig: AdminRig) -> None:
    long_notice = "Thông báo dài " * 30
    for turn in range(60):
        rig.clock.advance(seconds=1)  # within the console's rate of commands
        assert rig.change(lambda d, t=turn: d.update(board={"notice": f"{long_notice}{t}"[:500]}))["ok"] is True
    answer = rig.ask("config_history")
    assert len(json.dumps(answer, ensure_ascii=False).encode()) <= 64 * 1024
    versions = [v["version"] for v in answer["history"]]
    assert versions == list(range(61, 61 - len(versions), -1)) and 10 < len(versions) < 61, "the newest, in order"


def test_live_config_prints_the_newest_version_as_toml(rig: AdminRig, capsys: pytest.CaptureFixture[str]) -> None:
    assert live_command.main(["--config", str(rig.config.path)]) == 0
    assert "No version is kept yet" in capsys.readouterr().out
    rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở \"số 1\""))
    assert live_command.main(["--config", str(rig.config.path)]) == 0
    printed = capsys.readouterr().out
    assert "# Version 2, 2026-11-23T07:30:00+07:00, console: Nguyễn Văn An (an.nv)." in printed
    assert tomllib.loads(printed) == rig.service.config.document
    assert live_command.main(["--config", str(rig.folder / "missing.toml")]) == 2


# --- what a review found (each failed before its fix) --------------------------------------------------


def without_tu_phap(text: str) -> str:
    """The test center's file without the area tu-phap (counter 2 serving dat-dai alone)."""
    return (text.replace('[[areas]]\nid = "tu-phap"\nname = "Tư pháp – Hộ tịch"\nfirst = 1\nlast = 999\nprefix = "B"\n',
                         "")
            .replace('areas = ["tu-phap", "dat-dai"]', 'areas = ["dat-dai"]'))


def test_a_restart_never_applies_a_file_the_days_state_refuses_and_the_next_day_does(
        rig: AdminRig, caplog: pytest.LogCaptureFixture) -> None:
    waiting = rig.ticket("tu-phap")["ticket"]
    rig.service.tick()
    path = rig.config.path
    path.write_text(without_tu_phap(path.read_text(encoding="utf-8")), encoding="utf-8")
    rig.config = load(path)
    rig.restart()
    assert rig.service.version == 1 and "tu-phap" in rig.service.center.areas
    assert "center.toml changed since it last gave a version, but is not applied (config_refused)" in caplog.text
    assert rig.command("2", "next")["ticket"]["id"] == waiting["id"], "the citizen is still called"
    rig.command("2", "finish")
    rig.clock.advance(days=1)
    rig.service.tick()  # a new service day: the file's version, now that nobody waits for the area
    assert rig.service.version == 2 and "tu-phap" not in rig.service.center.areas


def test_a_failed_commit_undoes_a_counter_removed_and_its_levels(rig: AdminRig,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rig.command("3", "pause")

    def without_3_on_two_levels(document: dict[str, Any]) -> None:
        document["counters"] = [c for c in document["counters"] if c["id"] != "3"]
        counter(document, "2")["areas"] = ["tu-phap", "dat-dai", "nho"]
        document["rating"]["levels"] = ["very_satisfied", "dissatisfied"]

    def fail(batch: object) -> None:
        raise StorageError("disk I/O error")

    monkeypatch.setattr(rig.storage, "commit", fail)
    assert rig.change(without_3_on_two_levels)["error"]["code"] == "internal_error"
    monkeypatch.undo()
    assert rig.service.check_storage(probe=True) == [] and rig.service.writable
    rig.clock.advance(seconds=1)
    published = [o.payload for o in rig.service.tick() if o.topic == rig.topics.counter_state("3")]
    assert b"" not in published, "counter 3 still exists: its state is not cleared"
    assert json.loads(rig.live_state("counter/3/state"))["status"] == "paused"
    assert "satisfied" not in rig.service.center.former_levels


def test_a_sighup_of_the_live_configuration_keeps_later_console_changes_at_a_restart(rig: AdminRig) -> None:
    rig.change(lambda d: area(d, "dat-dai").update(name="Đất đai – Nhà ở"))
    path = rig.config.path  # the administrator pastes the live part into the file and sends SIGHUP
    path.write_text(path.read_text(encoding="utf-8").replace('name = "Đất đai"', 'name = "Đất đai – Nhà ở"'),
                    encoding="utf-8")
    rig.service.reload_file()
    assert rig.service.version == 3, "the file is kept as a version with no change: the file and the database agree"
    rig.change(lambda d: area(d, "nho").update(name="Chứng thực"))
    rig.config = load(path)
    rig.restart()
    assert rig.service.version == 4 and area(rig.live_config(), "nho")["name"] == "Chứng thực"
    assert [v["source"] for v in rig.ask("config_history")["history"]] == ["console", "file", "console", "file"]


def test_a_rating_under_former_levels_counts_after_a_restart(rig: AdminRig) -> None:
    ticket = rig.ticket("dat-dai")["ticket"]
    rig.command("1", "next")
    rig.command("1", "finish")
    pressed = rig.clock.now
    assert rig.change(lambda d: d["rating"].update(levels=["very_satisfied", "dissatisfied"]))["ok"] is True
    rig.restart()
    body = {"v": 1, "rating_id": "r1", "ticket_id": ticket["id"], "level": "satisfied",
            "pressed_at": pressed.isoformat()}
    ack = reply_of(rig.send(rig.topics.counter_rating("1"), body, None), rig.topics.rating_ack("1"))
    assert ack["ok"] is True and ack["level"] == "satisfied"


def test_areas_sharing_a_prefix_and_numbers_are_refused_on_the_console(rig: AdminRig) -> None:
    refused = rig.change(lambda d: area(d, "nho").update(prefix="B", first=1, last=999))
    assert refused["error"]["code"] == "config_invalid"
    assert refused["error"]["message"].startswith("Lĩnh vực «Tư pháp – Hộ tịch» và «Lĩnh vực nhỏ» có cùng tiền tố")
    assert rig.service.version == 1


def test_the_report_judges_ratings_on_the_scale_they_were_given_under(rig: AdminRig) -> None:
    ticket = rig.ticket("dat-dai")["ticket"]
    rig.command("1", "next")
    rig.command("1", "finish")
    assert rig.rate("1", ticket["id"], rig.clock.now)["ok"] is True  # "satisfied", on the three levels
    assert rig.change(lambda d: d["rating"].update(levels=["very_satisfied", "dissatisfied"]))["ok"] is True
    day = rig.clock.now.date()
    report = make_report(rig.config, day, day, rig.clock.now)
    assert report.total.rated == 1 and report.total.satisfied_share == 1.0
    sheet = next(s for s in report.tables if s.slug == "danh-gia")
    assert "Hài lòng" in sheet.columns and sheet.rows[-1][sheet.columns.index("Hài lòng")] == 1


def test_a_version_too_large_for_one_answer_shows_its_first_changes(rig: AdminRig) -> None:
    def areas_named(letter: str) -> Any:
        def edit(document: dict[str, Any]) -> None:
            document["areas"] = [a for a in document["areas"] if not a["id"].startswith("a")]
            document["areas"] += [{"id": f"a{n}", "name": f"{n} " + letter * 250, "first": 1, "last": 9,
                                   "prefix": f"{chr(65 + n // 26)}{chr(65 + n % 26)}", "open": False}
                                  for n in range(130)]
        return edit

    assert rig.change(areas_named("x"))["ok"] is True
    assert rig.change(areas_named("y"))["ok"] is True  # 130 names of 250 letters, each said before and after
    answer = rig.ask("config_history")
    assert len(json.dumps(answer, ensure_ascii=False).encode()) <= 64 * 1024
    newest = answer["history"][0]
    assert newest["version"] == 3 and 0 < len(newest["changes"]) < 130


# --- what a second review found ------------------------------------------------------------------------


def test_a_file_refused_by_sighup_is_the_one_applied_the_next_day(rig: AdminRig) -> None:
    rig.change(lambda d: counter(d, "1").update(name="Quầy Một"))  # version 2, before the file was edited
    rig.ticket("tu-phap")
    path = rig.config.path
    path.write_text(without_tu_phap(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert rig.service.reload_file() == [] and rig.service.version == 2, "refused: a citizen waits for tu-phap"
    rig.clock.advance(days=1)
    rig.service.tick()
    assert rig.service.version == 3 and "tu-phap" not in rig.service.center.areas, "the file read by SIGHUP"


def test_a_console_change_comes_before_a_file_waiting_for_the_next_day(rig: AdminRig) -> None:
    rig.ticket("tu-phap")
    rig.service.tick()
    path = rig.config.path
    path.write_text(without_tu_phap(path.read_text(encoding="utf-8")), encoding="utf-8")
    rig.config = load(path)
    rig.restart()  # the file waits: a citizen waits for tu-phap
    assert rig.change(lambda d: counter(d, "1").update(name="Quầy Một"))["config"]["version"] == 2
    rig.clock.advance(days=1)
    rig.service.tick()
    assert rig.service.version == 2 and counter(rig.live_config(), "1")["name"] == "Quầy Một", "the last change"
    rig.restart()
    assert rig.service.version == 2, "nor does a restart bring the file back: the console's change took it over"


def test_a_file_waiting_for_the_next_day_survives_a_failed_commit(rig: AdminRig,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rig.ticket("tu-phap")
    rig.service.tick()
    path = rig.config.path
    path.write_text(without_tu_phap(path.read_text(encoding="utf-8")), encoding="utf-8")
    rig.config = load(path)
    rig.restart()
    rig.clock.advance(days=1)

    def fail(batch: object) -> None:
        raise StorageError("disk I/O error")

    monkeypatch.setattr(rig.storage, "commit", fail)
    rig.service.tick()  # a new day: the file's version, whose commit fails
    monkeypatch.undo()
    assert rig.service.check_storage(probe=True) == [] and rig.service.version == 1
    rig.clock.advance(days=1)
    rig.service.tick()
    assert rig.service.version == 2 and "tu-phap" not in rig.service.center.areas


def test_a_changed_file_at_start_up_survives_a_failed_first_commit(rig: AdminRig,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rig.service.tick()
    path = rig.config.path
    path.write_text(path.read_text(encoding="utf-8").replace('name = "Quầy 1"', 'name = "Quầy Một"'),
                    encoding="utf-8")
    rig.config = load(path)

    def fail(batch: object) -> None:
        raise StorageError("disk I/O error")

    rig.storage.close()
    rig.storage = SqliteStorage(rig.config.storage.path)  # type: ignore[union-attr]
    monkeypatch.setattr(rig.storage, "commit", fail)
    rig.service = CenterService(rig.config, rig.storage, rig.clock)
    rig.service.tick()
    monkeypatch.undo()
    assert rig.service.check_storage(probe=True) == []
    rig.service.tick()
    assert rig.service.version == 2 and rig.storage.live_config() is not None
    assert counter(rig.live_config(), "1")["name"] == "Quầy Một"


def test_areas_a_file_already_makes_share_numbers_leave_the_console_free_to_change_the_rest(rig: AdminRig) -> None:
    path = rig.config.path
    path.write_text(path.read_text(encoding="utf-8").replace('last = 99\nprefix = "C"', 'last = 99\nprefix = "B"'),
                    encoding="utf-8")
    rig.config = load(path)
    assert rig.config.warnings, "--check warns of it"
    rig.restart()
    assert rig.change(lambda d: counter(d, "1").update(name="Quầy Một"))["ok"] is True
    refused = rig.change(lambda d: area(d, "nho").update(prefix="B", first=1, last=9))
    assert refused["error"]["code"] == "config_invalid", "a new pair sharing numbers is still refused"


def test_a_level_of_todays_scale_is_judged_by_todays_scale_only() -> None:
    five = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
    four = ("very_satisfied", "neutral", "dissatisfied", "very_dissatisfied")  # its better half takes neutral
    center = ReportCenter("Bộ phận", ZoneInfo("Asia/Ho_Chi_Minh"), (), (), five, (four, ("good", "bad")))
    assert center.satisfied_levels == {"very_satisfied", "satisfied", "good"}
    assert center.levels == (*five, "good", "bad")


def test_the_board_names_a_removed_counters_calls_and_the_floor_counts_former_levels(rig: AdminRig) -> None:
    ticket = rig.ticket("nho")["ticket"]
    rig.command("3", "next")
    rig.command("3", "finish")
    assert rig.rate("3", ticket["id"], rig.clock.now)["ok"] is True  # "satisfied", on the three levels

    def without_3_on_two_levels(document: dict[str, Any]) -> None:
        document["counters"] = [c for c in document["counters"] if c["id"] != "3"]
        counter(document, "2")["areas"] = ["tu-phap", "dat-dai", "nho"]
        document["rating"]["levels"] = ["very_satisfied", "dissatisfied"]

    assert rig.change(without_3_on_two_levels)["ok"] is True
    board = json.loads(rig.live_state("board/state"))
    assert board["recent_calls"][0]["counter_name"] == "Quầy 3", "named as it was, not by its id"
    floor = json.loads(rig.service.floor().payload)
    assert floor["today"]["ratings"]["satisfied"] == 1 and floor["today"]["satisfied"] == 1.0
    rig.restart()
    assert json.loads(rig.live_state("board/state"))["recent_calls"][0]["counter_name"] == "Quầy 3"
