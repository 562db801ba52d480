"""The kiosk agent: wires the flow to MQTT, the printer, the screen and the buttons.

The loop is protocol/agent_loop.py's; it also owns pygame. The link's and gpiozero's callbacks
only enqueue events; three workers do the slow I/O and enqueue what came of it: one asks the
server for tickets and check-ins with a booking (retrying with the same request_id), one renders
and prints them and queries the printer's status every few seconds while idle, one cancels with
the server what was given up. The touch screen and the QR scanner are polled every frame.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from PIL import Image

from kiosk.config import KioskConfig
from kiosk.flow import (
    DEFAULT_TIMINGS,
    Ask,
    ConfigReceived,
    ConnectionChanged,
    Effect,
    Event,
    KioskFlow,
    PrintDone,
    PrinterChecked,
    PrintTicket,
    ReportStatus,
    RequestCheckIn,
    RequestTicket,
    Scanned,
    Tick,
    TicketAnswered,
    TicketFailed,
    Timings,
    Touched,
)
from kiosk.journal import Journal
from kiosk.model import IssuedTicket, KioskView, PrinterStatus
from kiosk.printer import PrinterError, TicketPrinter
from kiosk.scanner import CodeScanner
from kiosk.ticket_layout import PAPER_58MM, PAPER_80MM, TicketFonts, TicketText, render_ticket
from protocol.agent import Clock
from protocol.agent_loop import AgentLoop
from protocol.errors import BadMessage
from protocol.link import Link, RequestTimeout
from protocol.messages import (
    WAIT_ESTIMATE,
    Cancellation,
    CenterConfigMessage,
    CheckIn,
    Refusal,
    TicketCancel,
    TicketIssued,
    TicketRequest,
)

log = logging.getLogger(__name__)

REQUEST_TRY_S = 1.5  # one attempt; the touch is retried with the same request_id
REQUEST_GIVE_UP_S = 8.0  # then the citizen is told that no number was issued, and the request is cancelled
CANCEL_TRY_S = 3.0
CANCEL_EVERY_S = 5.0  # how often requests to cancel are tried again while the server cannot be reached
STATUS_EVERY_S = 5.0
FRAME_S = 0.05
STOP_WAIT_S = 15.0  # on stop, how long a ticket being printed may take to finish


class Display(Protocol):
    """The screen: shows a view, reports touches as targets of the last view shown."""

    def show(self, view: KioskView) -> None: ...

    def touches(self) -> list[str]: ...

    def close(self) -> None: ...


class KioskAgent(AgentLoop[Event]):
    worker_grace_s = STOP_WAIT_S

    def __init__(
        self,
        config: KioskConfig,
        link: Link,
        printer: TicketPrinter,
        *,
        display: Display | None,
        clock: Clock,
        fonts: TicketFonts,
        journal: Journal,
        timings: Timings = DEFAULT_TIMINGS,
        scanner: CodeScanner | None = None,
    ) -> None:
        super().__init__(link, config.center_id, clock)
        self.config = config
        self._journal = journal
        self._cancelling = threading.Event()  # wakes the canceller: a request was given up
        self.flow = KioskFlow(lambda: uuid.uuid4().hex, clock(), timings, scanner=scanner is not None)
        self._printer = printer
        self._display = display
        self._scanner = scanner
        self._fonts = fonts
        self._requests: queue.SimpleQueue[Ask | None] = queue.SimpleQueue()
        self._prints: queue.SimpleQueue[tuple[IssuedTicket, TicketText] | None] = queue.SimpleQueue()
        self._reach: tuple[bool, bool] | None = None  # (the server is online, the broker is reached), as last said
        self._shown: KioskView | None = None
        self._center: ConfigReceived | None = None  # the center's config as last heard: its name and public_url
        self._request_topic = self.topics.ticket_request(config.kiosk_id)
        self._response_topic = self.topics.ticket_response(config.kiosk_id)
        self.subscribe(self.topics.config(), CenterConfigMessage.from_wire, ConfigReceived.of)
        link.expect_replies(self._response_topic)

    # --- the main loop's parts ------------------------------------------------------------

    def workers(self, stop: threading.Event) -> dict[str, Callable[[], None]]:
        """Joined in this order on stop: the ticket being printed is finished before the link goes."""
        return {"canceller": partial(self._canceller, stop), "printer": self._printer_worker,
                "requests": self._request_worker}

    def wake_workers(self) -> None:
        self._requests.put(None)
        self._prints.put(None)
        self._cancelling.set()

    def wait_s(self) -> float:
        return FRAME_S

    def inputs(self) -> list[Event]:
        """Touches, then scans (a keyboard scanner's keys are the window's: read by `touches()` first)."""
        events: list[Event] = [Touched(t) for t in self._display.touches()] if self._display is not None else []
        if self._scanner is not None:
            try:
                events += [Scanned(text) for text in self._scanner.scans()]
            except Exception:  # a hardware adapter: the kiosk goes on without this frame's scans
                log.exception("reading the QR scanner failed")
        return events

    def connection_events(self, server_online: bool | None) -> list[Event]:
        reach = self._reached(server_online)
        return [] if reach is None else [ConnectionChanged(*reach)]

    def tick(self, now: datetime) -> Event:
        return Tick(now)

    def handle(self, event: Event) -> None:
        if isinstance(event, ConfigReceived):
            self._configured(event)
        for effect in self.flow.handle(event):
            self._carry_out(effect)

    def _configured(self, config: ConfigReceived) -> None:
        """The center's config, the first or a changed one (it may change while the kiosk runs)."""
        if config == self._center:
            return  # the same config again (a reconnect): nothing to say
        self._center = config
        log.info("center config: %d areas, %d open", len(config.areas), sum(1 for a in config.areas if a.open))
        known = {area.id: area for area in config.areas}
        for button in self.config.buttons:
            area = known.get(button.area)
            if area is None:
                log.warning("the button on GPIO %d is for area %r, which the center does not have: "
                            "pressing it gives no ticket", button.pin, button.area)
            elif not area.open:
                log.info("the button on GPIO %d is for area %r, closed now: pressing it gives no ticket",
                         button.pin, button.area)

    def after_step(self) -> None:
        view = self.flow.view()
        drawn = replace(view, now=view.now.replace(second=0, microsecond=0))  # the clock shows minutes
        if self._display is not None and drawn != self._shown:
            self._show(view)
            self._shown = drawn

    def ready(self) -> bool:
        return self.flow.online and self.flow.printer is not None

    def close(self) -> None:
        if self._display is not None:
            self._display.close()

    def _show(self, view: KioskView) -> None:
        assert self._display is not None
        try:
            self._display.show(view)
        except Exception:  # a hardware adapter: a bad frame must not crash the kiosk (a restart would redo it)
            log.exception("could not draw the %s screen", view.screen)

    def _reached(self, changed: bool | None) -> tuple[bool, bool] | None:
        """(server online, broker reached) when either changed; the change is logged with its reason."""
        online = (self._reach is not None and self._reach[0]) if changed is None else changed
        reach = (online, self.link.connected.is_set())
        if reach == self._reach:
            return None
        self._reach = reach
        if online:
            log.info("the server is reached: tickets can be issued")
        elif reach[1]:
            log.warning("no tickets: the broker is reached but the server is not online (server/status)")
        elif self.link.broker_error:  # not while the first connection is still being made
            log.warning("no tickets: the broker cannot be reached (%s)", self.link.broker_error)
        return reach

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, RequestTicket | RequestCheckIn):
            self._requests.put(effect)
        elif isinstance(effect, PrintTicket):  # its text as at the answer: a config changed meanwhile alters nothing
            self._prints.put((effect.ticket, self._ticket_text()))
        elif isinstance(effect, ReportStatus):
            self.link.set_status(printer=effect.printer.value, unprinted=list(effect.unprinted))

    # --- workers ------------------------------------------------------------------------------

    def _request_worker(self) -> None:
        while (request := self._requests.get()) is not None:
            try:
                self.events.put(self._ask(request))
            except Exception:  # a worker must never die: the flow would wait on it for ever
                log.exception("request %s failed; cancelling it", request.request_id)
                self.events.put(TicketFailed(request.request_id))
                with contextlib.suppress(Exception):  # a journal that cannot write: the next start cancels it
                    self._give_up(request.request_id)

    def _ask(self, request: Ask) -> Event:
        """One ticket request or check-in, journalled, retried with its request_id, given up after a while."""
        if isinstance(request, RequestCheckIn):
            payload = CheckIn(request.request_id, request.code).to_wire()
            log.info("check-in with a booking: request %s", request.request_id)
        else:
            payload = TicketRequest(request.request_id, request.area, request.priority).to_wire()
        self._journal.asked(request.request_id)  # on disk before it goes out
        give_up = time.monotonic() + REQUEST_GIVE_UP_S
        while (left := give_up - time.monotonic()) > 0:
            try:  # the broker drops a request the kiosk no longer waits for, and so does the server
                reply = self.link.request(self._request_topic, payload, response_topic=self._response_topic,
                                           timeout_s=min(REQUEST_TRY_S, left), expiry_s=math.ceil(left))
            except RequestTimeout:
                log.info("no answer yet to request %s; asking again", request.request_id)
                continue
            answer = self._answer(request.request_id, reply.payload)
            if isinstance(answer, TicketFailed):
                self._give_up(request.request_id)
            return answer
        log.warning("request %s: no answer within %.0f s; cancelling it", request.request_id, REQUEST_GIVE_UP_S)
        self._give_up(request.request_id)
        return TicketFailed(request.request_id)

    def _give_up(self, request_id: str) -> None:
        self._journal.give_up(request_id)
        self._cancelling.set()

    def _canceller(self, stop: threading.Event) -> None:
        """Cancel with the server every request given up on, or answered and never printed (found in the
        journal at start): the server never makes that ticket, or voids it. Tried again until answered."""
        while not stop.is_set():
            for cancel in self._journal.to_cancel():
                if stop.is_set() or not self.link.ready.is_set():
                    break
                body = TicketCancel(uuid.uuid4().hex, cancel.request_id, cancel.reason).to_wire()
                try:
                    reply = Cancellation.from_wire(self.link.request(self._request_topic, body,
                                                                     response_topic=self._response_topic,
                                                                     timeout_s=CANCEL_TRY_S).payload)
                except (RequestTimeout, BadMessage) as exc:
                    log.warning("cancelling request %s: %s", cancel.request_id, exc)
                    break
                if isinstance(reply, Cancellation):
                    self._journal.done(cancel.request_id)
                    log.info("request %s cancelled (%s): %s", cancel.request_id, cancel.reason,
                             "ticket voided" if reply.voided else "no ticket left behind")
            self._cancelling.wait(CANCEL_EVERY_S)
            self._cancelling.clear()

    def _answer(self, request_id: str, payload: bytes) -> Event:
        try:
            reply = TicketIssued.from_wire(payload)
            if isinstance(reply, Refusal):
                message, code = reply.error.message, reply.error.code
                log.info("request %s refused: %s", request_id, code or "?")
                self._journal.done(request_id)  # no ticket: nothing to undo
                return TicketAnswered(request_id, None, message, code)
            view = reply.ticket
        except BadMessage as bad:
            log.warning("unusable answer to request %s: %s", request_id, bad.reason)
            return TicketFailed(request_id)
        ticket = IssuedTicket(view.id, view.number, view.area, view.area_name, view.issued_at,
                              view.waiting_ahead or 0, view.estimated_wait_s or 0, view.priority,
                              view.wait_basis or WAIT_ESTIMATE, view.token or "", view.channel, view.slot_start,
                              view.slot_end, view.booking or "")
        log.info("ticket %s number %s (%s) for request %s", ticket.id, ticket.number, ticket.channel, request_id)
        self._journal.answered(request_id, ticket.id)  # until it is printed
        return TicketAnswered(request_id, ticket)

    def _printer_worker(self) -> None:
        self._check_printer()
        while True:
            try:
                job = self._prints.get(timeout=STATUS_EVERY_S)
            except queue.Empty:
                self._check_printer()
                continue
            if job is None:
                return
            ticket, text = job
            printed = self._print(ticket, text)
            self._journal.done_ticket(ticket.id)  # on paper, or its number on screen for the citizen to note
            after = self._check_printer()
            # A roll that ran out (or a cover opened) during the ticket makes no write fail: ask.
            self.events.put(PrintDone(ticket.id, printed and after.can_print))

    def _check_printer(self) -> PrinterStatus:
        try:
            status = self._printer.status()
        except Exception:  # a hardware adapter: whatever it raises, the kiosk goes on
            log.exception("printer status query failed")
            status = PrinterStatus.OFFLINE
        self.events.put(PrinterChecked(status))
        return status

    def _ticket_text(self) -> TicketText:
        center = self._center
        return TicketText(center.center_name if center else "", self.config.footer, self.config.qr,
                          center.public_url if center else "")

    def _print(self, ticket: IssuedTicket, text: TicketText) -> bool:
        try:
            return self._render_and_print(ticket, text)
        except Exception:  # never silent, never fatal: the flow shows the number and reports it
            log.exception("ticket %s number %s not printed", ticket.id, ticket.number)
            return False

    def _render_and_print(self, ticket: IssuedTicket, text: TicketText) -> bool:
        config = self.config
        paper = PAPER_58MM if config.printer.paper == "58mm" else PAPER_80MM
        paper = replace(paper, native_digits=config.printer.native_digits, native_qr=config.printer.native_qr)
        rendered = render_ticket(ticket, text, paper, self._fonts)
        if config.save_tickets is not None:
            _save(rendered.preview, config.save_tickets / f"{ticket.id}-{ticket.number}.png")
        try:
            self._printer.print_ticket(rendered)
        except PrinterError as exc:
            log.error("ticket %s number %s not printed: %s", ticket.id, ticket.number, exc)
            return False
        log.info("printed ticket %s number %s", ticket.id, ticket.number)
        return True


def _save(image: Image.Image, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    except OSError as exc:
        log.warning("could not save %s: %s", path, exc)

