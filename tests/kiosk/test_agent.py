"""The kiosk agent in-process on a `FakeLink`: bad answers and broken prints never stop it, and are never silent."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import kiosk.agent as kiosk_agent
from kiosk.agent import KioskAgent
from kiosk.config import AreaPin, load
from kiosk.flow import Pressed, Timings
from kiosk.journal import Journal
from kiosk.model import IssuedTicket, PrinterStatus, Screen
from kiosk.printer import FakePrinter
from kiosk.scanner import CodeScanner
from kiosk.ticket_layout import RenderedTicket, TicketFonts, TicketText, render_ticket
from protocol.link import FakeLink, Message
from protocol.messages import AreaInfo, Cancellation, CenterConfigMessage
from tests.harness import looping, until

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "kiosk.example.toml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TICKET = {"id": "20261123-000001", "number": "1001", "area": "dat-dai", "area_name": "Đất đai",
          "issued_at": "2026-11-23T08:00:00+07:00", "waiting_ahead": 0, "estimated_wait_s": 0, "priority": "none"}
QUICK = Timings(ticket=timedelta(seconds=0.2), print_failed=timedelta(seconds=0.2), notice=timedelta(seconds=0.2))
CONFIG = CenterConfigMessage("rach-gia", "Trung tâm Rạch Giá", (AreaInfo("dat-dai", "Đất đai", "", 1001, 1999),), (),
                             ("good", "bad"))


class PaperRunsOut(FakePrinter):
    """Takes the ticket without complaint, then says the roll is empty."""

    def print_ticket(self, ticket: RenderedTicket) -> None:
        super().print_ticket(ticket)
        self.next_status = PrinterStatus.PAPER_OUT


class Server:
    """Answers the kiosk's requests as the test says: `ticket` for a ticket request, ok for a cancel."""

    def __init__(self, ticket: Callable[[dict[str, Any]], bytes]) -> None:
        self._ticket = ticket
        self.asked: list[dict[str, Any]] = []

    def __call__(self, request: Message) -> bytes:
        body = json.loads(request.payload)
        self.asked.append(body)
        if "cancels" in body:
            return Cancellation(body["request_id"], True).to_wire()
        return self._ticket(body)

    def cancelled(self) -> list[str]:
        return [body["cancels"] for body in self.asked if "cancels" in body]


def answer(**reply: Any) -> Callable[[dict[str, Any]], bytes]:
    return lambda body: json.dumps({"v": 1, "request_id": body["request_id"], "ok": True, **reply}).encode()


@contextmanager
def kiosk_running(server: Server, printer: FakePrinter, link: FakeLink | None = None,
                  journal: Journal | None = None, qr: str | None = None,
                  buttons: tuple[AreaPin, ...] = (), center: CenterConfigMessage = CONFIG,
                  scanner: CodeScanner | None = None) -> Iterator[tuple[KioskAgent, FakeLink]]:
    """A kiosk on its own loop, the center's config delivered, its menu shown; `qr`: its QR template; `buttons`:
    its GPIO area buttons (only configured here: the test presses them through the agent's events); `center`: the
    retained config; `scanner`: its QR scanner."""
    link = link or FakeLink(server)
    config = dataclasses.replace(load(EXAMPLE), buttons=buttons)
    config = config if qr is None else dataclasses.replace(config, qr=qr)
    kiosk = KioskAgent(config, link, printer, display=None, clock=lambda: datetime.now(ZONE),
                       fonts=TicketFonts.default(), journal=journal or Journal(None), timings=QUICK, scanner=scanner)
    with looping(kiosk, link, (kiosk.topics.config(), center.to_wire())):
        until(lambda: kiosk.ready() and kiosk.flow.view().screen is Screen.MENU)
        yield kiosk, link


def take_number(kiosk: KioskAgent) -> None:
    """What a citizen's touch (or a GPIO button) hands the kiosk."""
    kiosk.events.put(Pressed("dat-dai", "none"))


@pytest.mark.parametrize(
    "reply",
    [
        lambda body: b"not json",
        answer(),
        answer(ticket=None),
        answer(ticket="1001"),
        answer(ticket=[1]),
        answer(ticket={**TICKET, "issued_at": "hôm nay"}),
        answer(ticket={**TICKET, "issued_at": "2026-11-23T08:00:00"}),  # no offset
        answer(ticket={**TICKET, "number": 1001}),
    ],
)
def test_an_unusable_answer_refuses_the_ticket_and_cancels_the_request_with_the_server(
        reply: Callable[[dict[str, Any]], bytes]) -> None:
    server, printer, journal = Server(reply), FakePrinter(), Journal(None)
    with kiosk_running(server, printer, journal=journal) as (kiosk, _):
        take_number(kiosk)
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        asked = server.asked[0]["request_id"]
        until(lambda: server.cancelled() == [asked])
        until(lambda: journal.to_cancel() == [])  # the server's answer is understood: nothing left to cancel
    assert printer.printed == []


def test_a_good_answer_prints_the_ticket() -> None:
    server, printer = Server(answer(ticket=TICKET)), FakePrinter()
    with kiosk_running(server, printer) as (kiosk, _):
        take_number(kiosk)
        until(lambda: len(printer.printed) == 1)
        view = kiosk.flow.view()
    assert view.screen is Screen.TICKET and view.ticket is not None and view.ticket.number == "1001"
    assert view.ticket.issued_at == datetime(2026, 11, 23, 8, tzinfo=ZONE)
    assert server.cancelled() == []


def test_a_refusal_shows_its_message_and_leaves_nothing_to_cancel() -> None:
    def refuse(body: dict[str, Any]) -> bytes:
        return json.dumps({"v": 1, "request_id": body["request_id"], "ok": False,
                           "error": {"code": "area_full", "message": "Lĩnh vực này đã hết số."}}).encode()

    server, printer = Server(refuse), FakePrinter()
    with kiosk_running(server, printer) as (kiosk, _):
        take_number(kiosk)
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        shown = kiosk.flow.view().message
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
        take_number(kiosk)  # the next citizen: after it, any cancel would have gone out
        until(lambda: len(server.asked) == 2)
    assert shown == "Lĩnh vực này đã hết số."
    assert server.cancelled() == [] and printer.printed == []


def test_a_request_that_fails_unexpectedly_is_refused_and_cancelled_with_the_server() -> None:
    server, printer = Server(answer(ticket=TICKET)), FakePrinter()

    class BrokenStack(FakeLink):
        def request(self, topic: str, payload: bytes, **kwargs: Any) -> Message:
            if b"area" in payload:
                raise OSError("the network stack said no")
            return super().request(topic, payload, **kwargs)

    journal = Journal(None)
    with kiosk_running(server, printer, BrokenStack(server), journal) as (kiosk, _):
        take_number(kiosk)
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        until(lambda: len(server.cancelled()) == 1)  # it may have reached the server
        until(lambda: journal.to_cancel() == [])
    assert printer.printed == []


def test_paper_running_out_during_a_ticket_counts_as_not_printed_and_is_reported() -> None:
    server, printer = Server(answer(ticket=TICKET)), PaperRunsOut()
    with kiosk_running(server, printer) as (kiosk, link):
        take_number(kiosk)
        until(lambda: link.status.get("printer") == PrinterStatus.PAPER_OUT.value)
        until(lambda: link.status.get("unprinted") == [TICKET["id"]])
    assert len(printer.printed) == 1


def test_a_ticket_that_cannot_even_be_rendered_is_reported_and_the_next_one_prints() -> None:
    tickets = iter([{**TICKET, "id": "x" * 4000}, {**TICKET, "id": "t2", "number": "1002"}])
    server, printer = Server(lambda body: answer(ticket=next(tickets))(body)), FakePrinter()
    with kiosk_running(server, printer, qr="https://hcc.example.vn/{ticket_id}") as (kiosk, link):  # no QR holds it
        take_number(kiosk)
        until(lambda: link.status.get("unprinted") == ["x" * 4000])
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
        take_number(kiosk)
        until(lambda: len(printer.printed) == 1)
        shown = kiosk.flow.view().ticket
    assert shown is not None and shown.number == "1002", "the worker went on"


# --- the center's config changed while the kiosk runs (issue 17) -----------------------------------------------


class HeldPrinter(FakePrinter):
    """Prints only once the test lets it: the kiosk is on its ticket screen, printing, meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.go_on = threading.Event(), threading.Event()

    def print_ticket(self, ticket: RenderedTicket) -> None:
        self.started.set()
        assert self.go_on.wait(10), "the test never let the printer go on"
        super().print_ticket(ticket)


def test_a_ticket_being_printed_when_the_config_changes_is_printed_as_it_was_then_the_menu_follows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts: list[TicketText] = []

    def rendered(ticket: IssuedTicket, text: TicketText, *args: Any) -> RenderedTicket:
        texts.append(text)
        return render_ticket(ticket, text, *args)

    monkeypatch.setattr(kiosk_agent, "render_ticket", rendered)
    server, printer = Server(answer(ticket=TICKET)), HeldPrinter()
    renamed = dataclasses.replace(CONFIG, center_name="Trung tâm Phục vụ hành chính công Rạch Giá",
                                  areas=(AreaInfo("tu-phap", "Tư pháp – Hộ tịch", "B", 1, 999),))
    with kiosk_running(server, printer) as (kiosk, link):
        take_number(kiosk)
        assert printer.started.wait(10)
        link.deliver(kiosk.topics.config(), renamed.to_wire(), retained=True)
        until(lambda: [a.id for a in kiosk.flow.view().areas] == ["tu-phap"])
        assert kiosk.flow.view().screen is Screen.TICKET, "the number stays on screen"
        printer.go_on.set()
        until(lambda: len(printer.printed) == 1)
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
        menu = kiosk.flow.view()
    assert [text.center_name for text in texts] == ["Trung tâm Rạch Giá"], "printed as it was asked"
    assert menu.center_name == "Trung tâm Phục vụ hành chính công Rạch Giá"
    assert [(a.id, a.name) for a in menu.areas] == [("tu-phap", "Tư pháp – Hộ tịch")]


def test_buttons_for_areas_the_center_closed_or_removed_say_so_in_the_log_and_ask_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    server, printer = Server(answer(ticket=TICKET)), FakePrinter()
    buttons = (AreaPin(17, "dat-dai"), AreaPin(27, "bhxh"))
    closed = dataclasses.replace(CONFIG, areas=(AreaInfo("dat-dai", "Đất đai", "", 1001, 1999, open=False),))
    with caplog.at_level(logging.INFO, logger="kiosk.agent"), kiosk_running(server, printer, buttons=buttons) as (
            kiosk, link):
        assert "GPIO 27 is for area 'bhxh', which the center does not have" in caplog.text
        link.deliver(kiosk.topics.config(), closed.to_wire(), retained=True)
        until(lambda: "GPIO 17 is for area 'dat-dai', closed now" in caplog.text)
        take_number(kiosk)  # the button on GPIO 17
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        message = kiosk.flow.view().message
        link.deliver(kiosk.topics.config(), CONFIG.to_wire(), retained=True)  # open again
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
        take_number(kiosk)
        until(lambda: len(printer.printed) == 1)
    assert message == "Lĩnh vực Đất đai hiện tạm ngừng tiếp nhận hồ sơ. Mời công dân liên hệ cán bộ hướng dẫn."
    assert [body["area"] for body in server.asked] == ["dat-dai"], "the press while it was closed asked nothing"
