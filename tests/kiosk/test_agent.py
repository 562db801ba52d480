"""The kiosk agent's workers: bad answers and broken prints never stop them, and are never silent."""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.agent import KioskAgent
from kiosk.config import load
from kiosk.flow import Event, PrintDone, PrinterChecked, RequestTicket, TicketAnswered, TicketFailed
from kiosk.journal import Cancel, Journal
from kiosk.model import IssuedTicket, PrinterStatus
from kiosk.printer import FakePrinter
from kiosk.ticket_layout import RenderedTicket, TicketFonts
from protocol.link import MqttLink

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "kiosk.example.toml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TICKET = {"id": "20261123-000001", "number": "1001", "area": "dat-dai", "area_name": "Đất đai",
          "issued_at": "2026-11-23T08:00:00+07:00", "waiting_ahead": 0, "estimated_wait_s": 0, "priority": "none"}


class PaperRunsOut(FakePrinter):
    """Takes the ticket without complaint, then says the roll is empty."""

    def print_ticket(self, ticket: RenderedTicket) -> None:
        super().print_ticket(ticket)
        self.next_status = PrinterStatus.PAPER_OUT


def agent(printer: FakePrinter) -> KioskAgent:
    config = load(EXAMPLE)
    link = MqttLink(config.mqtt, client_id="test-kiosk", status_topic="qms/v1/t/device/k1/status")  # not started
    return KioskAgent(config, link, printer, display=None, clock=lambda: datetime.now(ZONE),
                      fonts=TicketFonts.default(), journal=Journal(None))


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        json.dumps({"v": 1, "request_id": "r", "ok": True}).encode(),
        json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": None}).encode(),
        json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": "1001"}).encode(),
        json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": [1]}).encode(),
        json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": {**TICKET, "issued_at": "hôm nay"}}).encode(),
        json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": {**TICKET, "number": 1001}}).encode(),
    ],
)
def test_an_unusable_answer_fails_the_request_and_nothing_else(payload: bytes) -> None:
    assert agent(FakePrinter())._answer("r", payload) == TicketFailed("r")


def test_a_good_answer_gives_the_ticket() -> None:
    payload = json.dumps({"v": 1, "request_id": "r", "ok": True, "ticket": TICKET}).encode()
    answered = agent(FakePrinter())._answer("r", payload)
    assert isinstance(answered, TicketAnswered) and answered.ticket is not None
    assert answered.ticket.number == "1001" and answered.ticket.issued_at.utcoffset() is not None


def test_a_request_that_fails_unexpectedly_is_given_up_and_cancelled_with_the_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    kiosk = agent(FakePrinter())

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("the network stack said no")

    monkeypatch.setattr(kiosk._link, "request", broken)
    kiosk._requests.put(RequestTicket("r1", "dat-dai", "none"))
    kiosk._requests.put(None)
    kiosk._request_worker()
    assert kiosk.events.get_nowait() == TicketFailed("r1")
    assert kiosk._journal.to_cancel() == [Cancel("r1", "unanswered")], "it may have reached the server"
    assert kiosk._cancelling.is_set(), "the canceller is woken"


def run_printer_worker(kiosk: KioskAgent, tickets: list[IssuedTicket]) -> list[Event]:
    worker = threading.Thread(target=kiosk._printer_worker)
    worker.start()
    for ticket in tickets:
        kiosk._prints.put(ticket)
    kiosk._prints.put(None)
    worker.join(30)
    assert not worker.is_alive()
    events = []
    while True:
        try:
            events.append(kiosk.events.get_nowait())
        except queue.Empty:
            return events


def issued(ticket_id: str = "t1") -> IssuedTicket:
    return IssuedTicket(ticket_id, "1001", "dat-dai", "Đất đai", datetime(2026, 11, 23, 8, tzinfo=ZONE), 0, 0)


def test_paper_running_out_during_a_ticket_counts_as_not_printed() -> None:
    events = run_printer_worker(agent(PaperRunsOut()), [issued()])
    assert PrintDone("t1", ok=False) in events
    assert PrinterChecked(PrinterStatus.PAPER_OUT) in events


def test_a_ticket_that_cannot_even_be_rendered_is_reported_and_the_worker_goes_on() -> None:
    printer = FakePrinter()
    events = run_printer_worker(agent(printer), [issued("x" * 4000), issued("t2")])
    done = [e for e in events if isinstance(e, PrintDone)]
    assert done == [PrintDone("x" * 4000, ok=False), PrintDone("t2", ok=True)]
    assert len(printer.printed) == 1
