"""A rating that arrives after its window counts only when its terminal really could not deliver it in time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from central_server.report.command import make_report
from tests.unit.test_service import Clock, Rig


def served_with_a_pressed_rating(rig: Rig) -> tuple[dict[str, Any], Any]:
    rig.ticket("dat-dai")
    rig.command("1", "next")
    served = rig.command("1", "finish")["ticket"]
    return served, rig.clock.now + timedelta(seconds=30)  # pressed inside the 120 s window


def terminal(rig: Rig, online: bool) -> None:
    rig.send(rig.topics.device_status("counter-1"), json.dumps({"v": 1, "online": online}).encode(), None)


def test_a_terminal_online_all_along_could_have_sent_it_in_time(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    terminal(rig, online=True)
    served, pressed = served_with_a_pressed_rating(rig)
    rig.clock.advance(seconds=250)  # 130 s past the window, the terminal never went away
    late = rig.rate("1", served["id"], pressed)
    assert late["ok"] is False and late["error"]["code"] == "rating_closed"


def test_a_terminal_cut_off_meanwhile_delivers_it_late_and_the_report_marks_it(tmp_path: Path) -> None:
    clock = Clock()
    rig = Rig(tmp_path, clock)
    terminal(rig, online=True)
    served, pressed = served_with_a_pressed_rating(rig)
    clock.advance(seconds=40)
    terminal(rig, online=False)  # its will: the network went away just after the press
    clock.advance(hours=1)
    terminal(rig, online=True)
    ack = rig.rate("1", served["id"], pressed)
    assert ack["ok"] is True and ack["late"] is True
    day = rig.service.center.day
    ratings = make_report(rig.config, day, day, as_of=clock.now).tables[-1]
    center_row = ratings.rows[-1]
    assert center_row[ratings.columns.index("Trong đó gửi muộn (quầy mất kết nối)")] == 1


def test_a_terminal_the_server_never_heard_keeps_the_contracts_rule(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    served, pressed = served_with_a_pressed_rating(rig)
    rig.clock.advance(hours=1)
    assert rig.rate("1", served["id"], pressed)["ok"] is True, "no evidence it could have sent it in time"


def test_a_server_restarted_after_the_press_could_not_have_received_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    terminal(rig, online=True)
    served, pressed = served_with_a_pressed_rating(rig)
    rig.clock.advance(minutes=10)
    rig.restart()
    terminal(rig, online=True)  # the retained status, heard again after the restart
    assert rig.rate("1", served["id"], pressed)["ok"] is True
