"""A rating that arrives after its window counts only when its terminal really could not deliver it in time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from central_server.report.command import make_report
from tests.central_server.test_service import Clock, Rig


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
    ratings = next(t for t in make_report(rig.config, day, day, as_of=clock.now).tables if t.slug == "danh-gia")
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


def test_a_server_cut_from_the_broker_meanwhile_hears_the_terminal_afresh(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    terminal(rig, online=True)
    served, pressed = served_with_a_pressed_rating(rig)
    rig.clock.advance(minutes=10)  # the broker restarted: no will fired, nobody could deliver
    rig.service.link_lost()  # the server's link to the broker was cut, and is back
    terminal(rig, online=True)  # the terminal's retained status, heard again
    ack = rig.rate("1", served["id"], pressed)
    assert ack["ok"] is True and ack["late"] is True


def test_a_rating_pressed_in_time_that_arrives_just_after_the_window_was_on_its_way(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    terminal(rig, online=True)
    served, _ = served_with_a_pressed_rating(rig)
    pressed = rig.clock.now + timedelta(seconds=119)
    rig.clock.advance(seconds=125)  # a busy batch, a broker's queue: 5 s after the window
    ack = rig.rate("1", served["id"], pressed)
    assert ack["ok"] is True and "late" not in ack, "on time: the terminal sent it at once"


def test_a_rating_pressed_after_the_window_is_refused_however_soon_it_arrives(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    served, finished = served_with_a_pressed_rating(rig)[0], rig.clock.now
    rig.clock.advance(seconds=122)
    assert rig.rate("1", served["id"], finished + timedelta(seconds=121))["error"]["code"] == "rating_closed"


def test_an_online_terminals_rating_past_the_time_in_transit_is_refused(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Clock())
    terminal(rig, online=True)
    served, finished = served_with_a_pressed_rating(rig)[0], rig.clock.now
    rig.clock.advance(seconds=131)  # 11 s after the window: more than a message spends on its way
    assert rig.rate("1", served["id"], finished + timedelta(seconds=119))["error"]["code"] == "rating_closed"
