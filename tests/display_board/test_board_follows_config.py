"""End to end on a real Mosquitto: the center's retained config changes while the hall board runs (issue 17), and
the board follows it at its next frame: areas added, renamed, closed with citizens still waiting, removed; the
center's notice; a counter's new name in new calls. The first test plays the server's part on the wire, the second
runs the real server and changes its config file with a SIGHUP."""

from __future__ import annotations

import shutil
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pygame

from devkit.local_broker import LocalBroker
from display_board.agent import BoardAgent
from display_board.config import load
from display_board.model import BoardView, WaitingLine
from display_board.screen import PygameBoardScreen
from display_board.view import WAITING_CLOSED, BoardRenderer, Ticker
from protocol.link import MqttLink
from protocol.messages import AreaInfo, BoardState, Call, CenterConfigMessage, CounterInfo, Status
from protocol.topics import Topics
from tests.harness import TIMEOUT, Device, ServerProcess, device, run_beside, until

LOOK = Path("/tmp/agents-follow-screens")  # a copy to look at; the test uses tmp_path
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SIZE = (1366, 768)
OWN_NOTICE = "Xin cảm ơn quý công dân"
CENTER_NOTICE = "Chiều nay Bộ phận Tiếp nhận và Trả kết quả tạm ngừng nhận hồ sơ đất đai. Xin cảm ơn!"
BOARD_TOML = """
[board]
id = "board-1"
center = "{center_id}"

[mqtt]
url = "{url}"

[screen]
width = {width}
height = {height}
fullscreen = false
notice = "{notice}"

[voice]
enabled = false
"""
LEVELS = ("very_satisfied", "satisfied", "dissatisfied")
AREAS = (AreaInfo("dat-dai", "Đất đai", "", 1001, 1999), AreaInfo("tu-phap", "Tư pháp – Hộ tịch", "B", 1, 999),
         AreaInfo("bhxh", "Bảo hiểm xã hội", "H", 1, 999))
COUNTERS = (CounterInfo("1", "Quầy 1", ("dat-dai",)), CounterInfo("2", "Quầy 2", ("tu-phap", "bhxh")))
# Land renamed and closed for the afternoon with three citizens still waiting, construction added, social
# insurance removed, counter 2 renamed, and the center's own notice.
CHANGED_AREAS = (AreaInfo("dat-dai", "Đất đai – Nhà ở", "", 1001, 1999, open=False),
                 AreaInfo("tu-phap", "Tư pháp – Hộ tịch", "B", 1, 999),
                 AreaInfo("xay-dung", "Xây dựng", "X", 1, 999))
CHANGED_COUNTERS = (CounterInfo("1", "Quầy 1", ("dat-dai",)), CounterInfo("2", "Quầy 2 – Hộ tịch", ("tu-phap",)))


class RecordingScreen(PygameBoardScreen):
    """The real screen; keeps the last view it drew, and saves a frame when asked (on the agent's thread)."""

    def __init__(self) -> None:
        super().__init__(*SIZE, fullscreen=False)
        self.last: BoardView | None = None
        self._save: tuple[Path, Callable[[BoardView], bool]] | None = None
        self.saved: BoardView | None = None
        self.saved_event = threading.Event()

    def show(self, view: BoardView) -> None:
        super().show(view)
        self.last = view
        if self._save is not None and self._save[1](view):
            self.save(self._save[0])
            self._save, self.saved = None, view
            self.saved_event.set()

    def save_when(self, path: Path, shows: Callable[[BoardView], bool]) -> None:
        """Save the first frame drawn from now on whose view `shows` accepts."""
        self._save = (path, shows)


def publish(tester: Device, topic: str, payload: bytes, *, retain: bool = True) -> None:
    tester.link.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT)


def config(center_id: str, areas: tuple[AreaInfo, ...], counters: tuple[CounterInfo, ...],
           notice: str | None) -> bytes:
    return CenterConfigMessage(center_id, "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm", areas, counters,
                               LEVELS, notice=notice).to_wire()


def call(number: str, counter: CounterInfo, area: AreaInfo, minutes: int) -> Call:
    return Call(number, counter.id, counter.name, area.id, False,
                datetime(2026, 12, 2, 13, tzinfo=ZONE) + timedelta(minutes=minutes), area.name, f"t-{number}")


def test_the_board_follows_areas_notice_and_counter_names_changed_while_it_runs(
    broker: LocalBroker, center_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "board.toml"
    path.write_text(BOARD_TOML.format(center_id=center_id, url=broker.url, width=SIZE[0], height=SIZE[1],
                                      notice=OWN_NOTICE), encoding="utf-8")
    board_config = load(path)
    topics = Topics(center_id)
    seen: dict[str, Any] = {}
    with device(broker, center_id, "server-stand-in") as server:
        justice = AREAS[1]
        first_call = call("B001", COUNTERS[1], justice, 0)
        publish(server, topics.server_status(), Status(True).to_wire())
        publish(server, topics.config(), config(center_id, AREAS, COUNTERS, None))
        publish(server, topics.board_state(), BoardState((first_call,), {"dat-dai": 3, "tu-phap": 1, "bhxh": 0})
                .to_wire())
        screen = RecordingScreen()
        agent = BoardAgent(board_config, MqttLink(board_config.mqtt, client_id=board_config.client_id,
                                                  status_topic=topics.device_status("board-1")),
                           screen=screen, voice=None, leds=None, clock=lambda: datetime.now(ZONE))
        before = (WaitingLine("Đất đai", 3), WaitingLine("Tư pháp – Hộ tịch", 1), WaitingLine("Bảo hiểm xã hội", 0))
        after = (WaitingLine("Đất đai – Nhà ở", 3, closed=True), WaitingLine("Tư pháp – Hộ tịch", 0),
                 WaitingLine("Xây dựng", 2))

        def changed(view: BoardView) -> bool:
            return (view.waiting == after and view.notice == CENTER_NOTICE and view.newest is not None
                    and view.newest.counter_name == "Quầy 2 – Hộ tịch")

        def scenario() -> None:
            until(lambda: screen.last is not None and screen.last.waiting == before and screen.last.online)
            seen["before"] = screen.last
            screen.save_when(tmp_path / "board-changed.png", changed)
            publish(server, topics.config(), config(center_id, CHANGED_AREAS, CHANGED_COUNTERS, CENTER_NOTICE))
            publish(server, topics.board_state(), BoardState((first_call,), {"dat-dai": 3, "tu-phap": 0,
                                                                             "xay-dung": 2}).to_wire())
            publish(server, topics.board_call(), call("B002", CHANGED_COUNTERS[1], justice, 5).to_wire(),
                    retain=False)
            assert screen.saved_event.wait(TIMEOUT), f"the board shows {screen.last}"
            publish(server, topics.board_state(), BoardState((), {"dat-dai": 0, "tu-phap": 0, "xay-dung": 2})
                    .to_wire())  # the last citizen of the closed area served: it goes
            until(lambda: screen.last is not None and [w.area_name for w in screen.last.waiting]
                  == ["Tư pháp – Hộ tịch", "Xây dựng"])
            publish(server, topics.config(), config(center_id, CHANGED_AREAS, CHANGED_COUNTERS, None))
            until(lambda: screen.last is not None and screen.last.notice == OWN_NOTICE)  # the center sets none

        run_beside(agent, scenario)
    before_view, shown = seen["before"], screen.saved
    assert before_view.notice == OWN_NOTICE, "no notice from the center: the board's own"
    assert shown is not None and shown.newest is not None and [c.counter_name for c in shown.recent] == ["Quầy 2"]
    assert shown.notice_offset < 1920, "the new notice scrolls from its start"
    # The frame saved is that view, drawn: the closed area's note, the new names and the new notice on it.
    renderer = BoardRenderer(SIZE)
    scene = renderer.layout(shown)
    waiting = [t.text for t in scene.texts() if scene.regions["waiting"].contains(t.rect)]
    assert waiting.count(WAITING_CLOSED) == 1 and "Đất đai – Nhà ở" in waiting and "Xây dựng" in waiting
    assert "Bảo hiểm xã hội" not in waiting
    assert [item.text for item in scene.items if isinstance(item, Ticker)] == [CENTER_NOTICE]
    expected = pygame.Surface(SIZE)
    renderer.draw(shown, expected)
    saved = pygame.image.load(str(tmp_path / "board-changed.png"))
    assert pygame.image.tobytes(saved, "RGB") == pygame.image.tobytes(expected, "RGB")
    LOOK.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "board-changed.png", LOOK / "board-changed.png")


def test_with_the_real_server_an_area_closed_by_sighup_keeps_its_waiting_citizens_on_the_board(
    server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path, tmp_path: Path
) -> None:
    """The review of 2026-12-01: "closing an area hid its waiting citizens from the board". Closed now by a SIGHUP
    while two citizens wait for it, the area stays with its count, marked, until the last is called."""
    path = tmp_path / "board.toml"
    path.write_text(BOARD_TOML.format(center_id=center_id, url=broker.url, width=SIZE[0], height=SIZE[1],
                                      notice=OWN_NOTICE), encoding="utf-8")
    board_config = load(path)
    screen = RecordingScreen()
    agent = BoardAgent(board_config, MqttLink(board_config.mqtt, client_id=board_config.client_id,
                                              status_topic=Topics(center_id).device_status("board-1")),
                       screen=screen, voice=None, leds=None, clock=lambda: datetime.now(ZONE))
    seen: dict[str, Any] = {}

    def justice(view: BoardView | None) -> list[WaitingLine]:
        return [] if view is None else [line for line in view.waiting if line.area_name == "Tư pháp – Hộ tịch"]

    def scenario() -> None:
        with device(broker, center_id) as citizen_and_official:
            for _ in range(2):
                assert citizen_and_official.ticket("tu-phap")["ok"] is True
            until(lambda: justice(screen.last) == [WaitingLine("Tư pháp – Hộ tịch", 2)])
            text = center_toml.read_text(encoding="utf-8")
            closed = (text.replace('prefix = "B"\n', 'prefix = "B"\nopen = false\n')
                      .replace('name = "Quầy 2"', 'name = "Quầy số 2"')
                      + f'\n[board]\nnotice = "{CENTER_NOTICE}"\n')
            center_toml.write_text(closed, encoding="utf-8")
            assert server.proc is not None
            server.proc.send_signal(signal.SIGHUP)
            until(lambda: justice(screen.last) == [WaitingLine("Tư pháp – Hộ tịch", 2, closed=True)]
                  and screen.last is not None and screen.last.notice == CENTER_NOTICE)
            refused = citizen_and_official.ticket("tu-phap")
            seen["refused"] = refused["error"]["code"] if not refused["ok"] else "issued"
            called = citizen_and_official.command("2", "next")["ticket"]  # still called: the closed area's first
            until(lambda: screen.last is not None and screen.last.newest is not None
                  and screen.last.newest.number == called["number"])
            seen["newest"] = screen.last.newest if screen.last else None
            until(lambda: justice(screen.last) == [WaitingLine("Tư pháp – Hộ tịch", 1, closed=True)])
            citizen_and_official.command("2", "next")
            until(lambda: screen.last is not None and justice(screen.last) == [])  # served: it goes

    run_beside(agent, scenario)
    assert seen["refused"] == "area_closed", "no new ticket for it"
    assert seen["newest"].counter_name == "Quầy số 2" and seen["newest"].area_name == "Tư pháp – Hộ tịch"
