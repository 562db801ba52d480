"""Check-in with a booking in the kiosk agent (issue 18), on a `FakeLink`: the CheckIn on the wire, retried with its
request_id, cancelled when unanswered, the ticket printed with its slot; a scanner's scans."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

import kiosk.agent as kiosk_agent
from devkit.scanner_keys import FakeScanner
from kiosk.agent import KioskAgent
from kiosk.flow import Touched
from kiosk.journal import DONE, Journal
from kiosk.model import BOOKING_BUTTON, KEY_CONFIRM, NOT_CHECKED_IN, SCAN_WRONG, IssuedTicket, Screen, key_target
from kiosk.printer import FakePrinter
from kiosk.ticket_layout import RenderedTicket, TicketText, render_ticket
from protocol.link import FakeLink, Message
from protocol.messages import BookingInfo
from tests.harness import until
from tests.kiosk.test_agent import CONFIG, TICKET, Server, answer, kiosk_running

BOOKINGS = dataclasses.replace(CONFIG, bookings=BookingInfo(30, 7, 30, 15))
CODE = "12345671"
BOOKED = {**TICKET, "id": "20261123-000007", "number": "1007", "channel": "booked", "booking": CODE,
          "slot_start": "2026-11-23T09:00:00+07:00", "slot_end": "2026-11-23T09:30:00+07:00"}


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[IssuedTicket]:
    """The tickets the kiosk rendered for the printer, as it rendered them."""
    tickets: list[IssuedTicket] = []

    def render(ticket: IssuedTicket, text: TicketText, *args: Any) -> RenderedTicket:
        tickets.append(ticket)
        return render_ticket(ticket, text, *args)

    monkeypatch.setattr(kiosk_agent, "render_ticket", render)
    return tickets


def type_on_keypad(kiosk: KioskAgent, code: str) -> None:
    """What a citizen's fingers hand the kiosk: the menu's button, the digits, "Xác nhận"."""
    for target in (BOOKING_BUTTON, *(key_target(d) for d in code), KEY_CONFIRM):
        kiosk.events.put(Touched(target))


def check_ins(server: Server) -> list[dict[str, Any]]:
    return [body for body in server.asked if "booking" in body]


def test_a_code_typed_on_the_keypad_checks_in_and_prints_the_booked_slot(rendered: list[IssuedTicket]) -> None:
    server, printer, journal = Server(answer(ticket=BOOKED)), FakePrinter(), Journal(None)
    with kiosk_running(server, printer, journal=journal, center=BOOKINGS) as (kiosk, link):
        until(lambda: kiosk.flow.view().bookings)
        type_on_keypad(kiosk, CODE)
        until(lambda: len(printer.printed) == 1)
        shown = kiosk.flow.view()
        [asked] = link.sent(kiosk.topics.ticket_request("k1"))
    body = json.loads(asked.payload)
    assert body == {"v": 1, "request_id": body["request_id"], "booking": CODE}, "a CheckIn, no area"
    assert asked.response_topic == kiosk.topics.ticket_response("k1")
    assert journal.state(body["request_id"]) == DONE
    [ticket] = rendered
    assert (ticket.number, ticket.channel, ticket.booking) == ("1007", "booked", CODE)
    assert ticket.slot_start is not None and ticket.slot_end is not None
    assert f"{ticket.slot_start:%H:%M}–{ticket.slot_end:%H:%M}" == "09:00–09:30"
    assert shown.screen is Screen.TICKET and shown.ticket == ticket
    assert server.cancelled() == []


def test_an_unanswered_check_in_is_retried_with_the_same_request_id(rendered: list[IssuedTicket]) -> None:
    attempts: list[Message] = []
    server = Server(answer(ticket=BOOKED))

    def late_server(request: Message) -> bytes | None:
        attempts.append(request)
        return None if len(attempts) == 1 else server(request)

    printer = FakePrinter()
    with kiosk_running(server, printer, FakeLink(late_server), center=BOOKINGS) as (kiosk, _):
        type_on_keypad(kiosk, CODE)
        until(lambda: len(printer.printed) == 1)
    first, second = (json.loads(a.payload) for a in attempts)
    assert first == second and first["booking"] == CODE, "the same request, the same request_id"
    assert [t.number for t in rendered] == ["1007"]


def test_a_check_in_never_answered_is_cancelled_with_the_server_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kiosk_agent, "REQUEST_TRY_S", 0.2)
    monkeypatch.setattr(kiosk_agent, "REQUEST_GIVE_UP_S", 0.7)
    server = Server(answer(ticket=BOOKED))

    def silent_to_check_ins(request: Message) -> bytes | None:
        return None if b'"booking"' in request.payload else server(request)

    journal, printer = Journal(None), FakePrinter()
    with kiosk_running(server, printer, FakeLink(silent_to_check_ins), journal, center=BOOKINGS) as (kiosk, link):
        type_on_keypad(kiosk, CODE)
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        message = kiosk.flow.view().message
        asked = json.loads(link.sent(kiosk.topics.ticket_request("k1"))[0].payload)["request_id"]
        until(lambda: server.cancelled() == [asked])
        until(lambda: journal.to_cancel() == [])
    assert message == NOT_CHECKED_IN
    assert printer.printed == []


def test_the_servers_refusal_is_shown_and_nothing_is_cancelled() -> None:
    words = "Lịch hẹn của công dân bắt đầu lúc 10:00. Mời công dân quay lại từ 09:30."

    def too_early(body: dict[str, Any]) -> bytes:
        return json.dumps({"v": 1, "request_id": body["request_id"], "ok": False,
                           "error": {"code": "too_early", "message": words}}).encode()

    server, printer = Server(too_early), FakePrinter()
    with kiosk_running(server, printer, center=BOOKINGS) as (kiosk, _):
        type_on_keypad(kiosk, CODE)
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        shown = kiosk.flow.view().message
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
    assert shown == words
    assert server.cancelled() == [] and printer.printed == []


def test_a_scan_checks_in_and_a_mistyped_code_asks_nothing(rendered: list[IssuedTicket]) -> None:
    scanner, printer = FakeScanner(), FakePrinter()
    server = Server(answer(ticket=BOOKED))
    with kiosk_running(server, printer, center=BOOKINGS, scanner=scanner) as (kiosk, _):
        until(lambda: kiosk.flow.view().bookings and kiosk.flow.view().scanner)
        scanner.scan("1234 5675")  # the check digit does not hold
        until(lambda: kiosk.flow.view().screen is Screen.REFUSED)
        message = kiosk.flow.view().message
        until(lambda: kiosk.flow.view().screen is Screen.MENU)
        scanner.scan(" 1234 5671\r")
        until(lambda: len(printer.printed) == 1)
    assert message == SCAN_WRONG
    assert [body["booking"] for body in check_ins(server)] == [CODE]
    assert [t.channel for t in rendered] == ["booked"]


def test_a_scanner_that_fails_stops_nothing(rendered: list[IssuedTicket]) -> None:
    class Broken(FakeScanner):
        def scans(self) -> list[str]:
            raise OSError("the scanner's driver said no")

    server, printer = Server(answer(ticket=TICKET)), FakePrinter()
    with kiosk_running(server, printer, center=BOOKINGS, scanner=Broken()) as (kiosk, _):
        type_on_keypad(kiosk, CODE)
        until(lambda: len(printer.printed) == 1)
    assert len(rendered) == 1


@pytest.mark.parametrize(("extra", "channel", "late"), [
    ({"channel": "remote", "booking": CODE}, "remote", False),
    ({"booking": CODE, "slot_start": "2026-11-23T07:30:00+07:00", "slot_end": "2026-11-23T08:00:00+07:00"},
     "walk_in", True),  # checked in too late: the center made it a walk-in ticket
    ({"channel": "teleported"}, "walk_in", False),  # a channel this kiosk does not know: a ticket all the same
])
def test_what_the_server_says_of_the_ticket_reaches_the_paper(rendered: list[IssuedTicket], extra: dict[str, Any],
                                                              channel: str, late: bool) -> None:
    reply: Callable[[dict[str, Any]], bytes] = answer(ticket={**TICKET, **extra})
    server, printer = Server(reply), FakePrinter()
    with kiosk_running(server, printer, center=BOOKINGS) as (kiosk, _):
        type_on_keypad(kiosk, CODE)
        until(lambda: len(printer.printed) == 1)
    [ticket] = rendered
    assert (ticket.channel, ticket.late_booking) == (channel, late)
