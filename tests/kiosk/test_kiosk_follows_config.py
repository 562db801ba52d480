"""End to end on a real Mosquitto: the center's retained config changes while the kiosk runs (issue 17), and its
touch screen (pygame, dummy video driver) follows at the next frame: an area added, renamed, closed, removed;
a touch or a GPIO button on an area just closed or removed asks for nothing and says why. The first test plays
the server's part on the wire (the retained config and server status, the answer to a ticket request); the
second runs the real server and changes its config file with a SIGHUP."""

from __future__ import annotations

import json
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
from kiosk.agent import KioskAgent
from kiosk.config import load
from kiosk.flow import Pressed, Timings, Touched
from kiosk.journal import Journal
from kiosk.model import BACK_BUTTON, PRIORITY_BUTTON, KioskView, Screen, area_target, priority_target
from kiosk.printer import FakePrinter
from kiosk.screen import PygameDisplay
from kiosk.ticket_layout import TicketFonts
from kiosk.view import KioskRenderer
from protocol.config import MqttSettings
from protocol.link import Message, MqttLink
from protocol.messages import AreaInfo, CenterConfigMessage, CounterInfo, Status
from protocol.topics import Topics
from tests.harness import TIMEOUT, ServerProcess, run_beside, until

LOOK = Path("/tmp/agents-follow-screens")  # a copy to look at; the test uses tmp_path
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SIZE = (800, 480)
KIOSK_TOML = """
[kiosk]
id = "k1"
center = "{center_id}"

[mqtt]
url = "{url}"

[screen]
width = {width}
height = {height}
fullscreen = false

[printer]
connection = "file"
path = "/dev/null"
paper = "58mm"
"""
AREAS = (AreaInfo("dat-dai", "Đất đai", "", 1001, 1999), AreaInfo("tu-phap", "Tư pháp – Hộ tịch", "B", 1, 999),
         AreaInfo("bhxh", "Bảo hiểm xã hội", "H", 1, 999))
# Land renamed and closed for the afternoon, civil status renamed, construction added, social insurance removed.
CHANGED = (AreaInfo("dat-dai", "Đất đai – Nhà ở", "", 1001, 1999, open=False),
           AreaInfo("tu-phap", "Tư pháp – Hộ tịch – Chứng thực", "B", 1, 999),
           AreaInfo("xay-dung", "Xây dựng", "X", 1, 999))
CHANGED_MENU = [("Đất đai – Nhà ở", False), ("Tư pháp – Hộ tịch – Chứng thực", True), ("Xây dựng", True)]
TARGETS = tuple(area_target(area) for area in ("dat-dai", "tu-phap", "bhxh", "xay-dung"))
QUICK = Timings(notice=timedelta(seconds=1), ticket=timedelta(seconds=1))


def config(center_id: str, areas: tuple[AreaInfo, ...]) -> bytes:
    counters = (CounterInfo("1", "Quầy 1", tuple(a.id for a in areas)),)
    return CenterConfigMessage(center_id, "Bộ phận Tiếp nhận và Trả kết quả huyện Thử Nghiệm", areas, counters,
                               ("very_satisfied", "satisfied", "dissatisfied")).to_wire()


class StandIn:
    """The server's part: retained config and status, and an answer (a ticket) to each ticket request."""

    def __init__(self, broker: LocalBroker, center_id: str) -> None:
        self.topics = Topics(center_id)
        self.asked: list[dict[str, Any]] = []
        self.link = MqttLink(MqttSettings(broker.host, broker.port), client_id=f"{center_id}-stand-in",
                             status_topic=self.topics.device_status("stand-in"), announce_online=False)
        self.link.subscribe(self.topics.ticket_request("k1"), self._answer)
        self.link.start()
        assert self.link.wait_ready(TIMEOUT), "the stand-in did not connect"

    def publish(self, topic: str, payload: bytes) -> None:
        self.link.publish(topic, payload, qos=1, retain=True).wait_for_publish(TIMEOUT)

    def _answer(self, message: Message) -> None:  # the link's thread: publish only, never wait
        body = json.loads(message.payload)
        self.asked.append(body)
        number = f"X{len(self.asked):03d}"
        names = {area.id: area.name for area in (*AREAS, *CHANGED)}
        ticket = {"id": f"t-{number}", "number": number, "area": body["area"], "area_name": names[body["area"]],
                  "issued_at": datetime.now(ZONE).isoformat(), "waiting_ahead": 0, "estimated_wait_s": 0,
                  "priority": body.get("priority", "none")}
        reply = json.dumps({"v": 1, "request_id": body["request_id"], "ok": True, "ticket": ticket}).encode()
        assert message.response_topic is not None
        self.link.publish(message.response_topic, reply, correlation=message.correlation)

    def close(self) -> None:
        self.link.stop()


class RecordingDisplay(PygameDisplay):
    """The real screen; keeps the last view it drew, and saves a frame when asked (on the agent's thread)."""

    def __init__(self) -> None:
        super().__init__(*SIZE, fullscreen=False)
        self.last: KioskView | None = None
        self._save: tuple[Path, Callable[[KioskView], bool]] | None = None
        self.saved: KioskView | None = None
        self.saved_event = threading.Event()

    def show(self, view: KioskView) -> None:
        super().show(view)
        self.last = view
        if self._save is not None and self._save[1](view):
            self.save(self._save[0])
            self._save, self.saved = None, view
            self.saved_event.set()

    def save_when(self, path: Path, shows: Callable[[KioskView], bool]) -> None:
        """Save the first frame drawn from now on whose view `shows` accepts."""
        self._save = (path, shows)

    def touch(self, target: str) -> None:
        """A finger on `target`, once a frame shows it."""
        until(lambda: self.target_centre(target) is not None)
        centre = self.target_centre(target)
        assert centre is not None
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=centre[0] / SIZE[0], y=centre[1] / SIZE[1],
                                             touch_id=0, finger_id=0, dx=0, dy=0, pressure=1.0))


def menu_of(view: KioskView | None) -> list[tuple[str, bool]]:
    return [] if view is None else [(area.name, area.open) for area in view.areas]


def test_the_kiosk_menu_follows_areas_added_renamed_closed_and_removed_while_it_runs(
    broker: LocalBroker, center_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML.format(center_id=center_id, url=broker.url, width=SIZE[0], height=SIZE[1]),
                    encoding="utf-8")
    kiosk_config = load(path)
    topics = Topics(center_id)
    server = StandIn(broker, center_id)
    seen: dict[str, Any] = {}
    try:
        server.publish(topics.server_status(), Status(True).to_wire())
        server.publish(topics.config(), config(center_id, AREAS))
        display, printer = RecordingDisplay(), FakePrinter()
        agent = KioskAgent(kiosk_config, MqttLink(kiosk_config.mqtt, client_id=kiosk_config.client_id,
                                                  status_topic=topics.device_status("k1")),
                           printer, display=display, clock=lambda: datetime.now(ZONE), fonts=TicketFonts.default(),
                           journal=Journal(None), timings=QUICK)

        def screen_is(screen: Screen, check: Callable[[KioskView], bool] = lambda view: True) -> None:
            until(lambda: display.last is not None and display.last.screen is screen and check(display.last))

        def scenario() -> None:
            screen_is(Screen.MENU, lambda view: len(view.areas) == 3)
            display.touch(area_target("dat-dai"))  # a ticket before the change: the stand-in answers
            until(lambda: len(printer.printed) == 1)
            screen_is(Screen.MENU)
            display.touch(PRIORITY_BUTTON)  # a priority citizen is choosing when the config changes
            screen_is(Screen.PRIORITY)
            server.publish(topics.config(), config(center_id, CHANGED))
            screen_is(Screen.PRIORITY, lambda view: menu_of(view) == CHANGED_MENU)
            display.touch(priority_target("elderly"))
            screen_is(Screen.MENU, lambda view: view.chosen_priority == "elderly")
            seen["targets"] = {target for target in (*TARGETS, BACK_BUTTON) if display.target_centre(target)}
            agent.events.put(Touched(area_target("bhxh")))  # a finger on the frame drawn before the change
            screen_is(Screen.REFUSED)
            seen["gone"] = display.last.message if display.last else ""
            screen_is(Screen.MENU, lambda view: view.chosen_priority == "elderly")
            display.save_when(tmp_path / "kiosk-menu-changed.png",
                              lambda view: view.screen is Screen.MENU and view.chosen_priority is None)
            display.touch(BACK_BUTTON)
            assert display.saved_event.wait(TIMEOUT), f"the kiosk shows {display.last}"
            agent.events.put(Pressed("dat-dai"))  # its GPIO button: closed now
            screen_is(Screen.REFUSED)
            seen["closed"] = display.last.message if display.last else ""
            screen_is(Screen.MENU)
            display.touch(area_target("xay-dung"))  # the area added gives tickets
            until(lambda: len(printer.printed) == 2)

        run_beside(agent, scenario)
    finally:
        server.close()
    assert [body["area"] for body in server.asked] == ["dat-dai", "xay-dung"], (
        "nothing was asked for the removed area nor for the closed one")
    assert seen["targets"] == {area_target("tu-phap"), area_target("xay-dung"), BACK_BUTTON}, (
        "the removed area is gone, the closed one cannot be touched")
    assert seen["gone"] == "Lĩnh vực Bảo hiểm xã hội không còn tiếp nhận hồ sơ. Mời công dân chọn lĩnh vực khác."
    assert seen["closed"] == "Lĩnh vực Đất đai – Nhà ở hiện tạm ngừng tiếp nhận hồ sơ. Mời công dân chọn lĩnh vực khác."
    shown = display.saved
    assert shown is not None and menu_of(shown) == CHANGED_MENU
    # The frame saved is that view, drawn: the new names, "Xây dựng" touchable, the closed area greyed.
    renderer = KioskRenderer(SIZE)
    scene = renderer.layout(shown)
    texts = [" ".join(line.text for line in block.lines) for block in scene.texts()]
    assert "Xây dựng" in texts and "Tạm ngừng tiếp nhận" in texts and "Bảo hiểm xã hội" not in texts
    expected = pygame.Surface(SIZE)
    renderer.draw(shown, expected)
    saved = pygame.image.load(str(tmp_path / "kiosk-menu-changed.png"))
    assert pygame.image.tobytes(saved, "RGB") == pygame.image.tobytes(expected, "RGB")
    LOOK.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "kiosk-menu-changed.png", LOOK / "kiosk-menu-changed.png")


def test_with_the_real_server_an_area_added_by_sighup_is_on_the_menu_and_gives_its_tickets(
    server: ServerProcess, broker: LocalBroker, center_id: str, center_toml: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML.format(center_id=center_id, url=broker.url, width=SIZE[0], height=SIZE[1]),
                    encoding="utf-8")
    kiosk_config = load(path)
    display, printer = RecordingDisplay(), FakePrinter()
    agent = KioskAgent(kiosk_config, MqttLink(kiosk_config.mqtt, client_id=kiosk_config.client_id,
                                              status_topic=Topics(center_id).device_status("k1")),
                       printer, display=display, clock=lambda: datetime.now(ZONE), fonts=TicketFonts.default(),
                       journal=Journal(None), timings=Timings())  # the ticket on screen for 6 s: seen
    seen: dict[str, Any] = {}
    # Construction added (counter 3 serves it instead of the small area, removed), land renamed, civil status closed.
    text = center_toml.read_text(encoding="utf-8")
    small = text[text.index('[[areas]]\nid = "nho"'):text.index('[[areas]]\nid = "dong"')]
    changed = (text.replace(small, '[[areas]]\nid = "xay-dung"\nname = "Xây dựng"\nfirst = 1\nlast = 999\n'
                                   'prefix = "X"\n\n')
               .replace('name = "Đất đai"', 'name = "Đất đai – Nhà ở"')
               .replace('prefix = "B"\n', 'prefix = "B"\nopen = false\n')
               .replace('areas = ["nho"]', 'areas = ["xay-dung"]'))
    menu = [("Đất đai – Nhà ở", True), ("Tư pháp – Hộ tịch", False), ("Xây dựng", True), ("Lĩnh vực tạm đóng", False)]

    def scenario() -> None:
        until(lambda: display.last is not None and display.last.screen is Screen.MENU
              and len(display.last.areas) == 4)
        center_toml.write_text(changed, encoding="utf-8")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGHUP)
        until(lambda: display.last is not None and menu_of(display.last) == menu)
        display.touch(area_target("xay-dung"))
        until(lambda: display.last is not None and display.last.screen is Screen.TICKET)
        seen["ticket"] = display.last.ticket if display.last else None
        until(lambda: len(printer.printed) == 1)

    run_beside(agent, scenario)
    assert seen["ticket"] is not None and (seen["ticket"].number, seen["ticket"].area_name) == ("X001", "Xây dựng")
