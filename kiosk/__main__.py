"""`python -m kiosk --config FILE [--check]`: the composition root of the kiosk agent."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kiosk.config import KioskConfig, PrinterConfig, load
from protocol.agent import Clock, start_agent, stop_on_signals
from protocol.link import MqttLink
from protocol.topics import Topics

if TYPE_CHECKING:
    from kiosk.scanner import CodeScanner

log = logging.getLogger("kiosk")


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None, speed: float = 1.0,
         display: Callable[[KioskConfig], Any] | None = None) -> int:
    """`clock` (how many times faster than real time it runs) and `display` (made from the config): the real
    ones unless given (`devkit/run.py` gives a simulated clock and a screen touched by lines on stdin)."""
    # Logging is set up here, before python-escpos is imported: it calls logging.basicConfig() itself.
    started = start_agent("kiosk", "The ticket kiosk agent.", load, argv, clock)
    if isinstance(started, int):
        return started
    config, clock = started
    from kiosk.agent import KioskAgent
    from kiosk.flow import DEFAULT_TIMINGS
    from kiosk.journal import Journal
    from kiosk.printer import EscposPrinter
    from kiosk.ticket_layout import TicketFonts

    printer = EscposPrinter(open_escpos(config.printer), can_query_status=config.printer.status_query,
                            cut=config.printer.cut)
    link = MqttLink(config.mqtt, client_id=config.client_id,
                    status_topic=Topics(config.center_id).device_status(config.kiosk_id))
    screen = (display or open_display)(config) if config.screen else None
    # Under a demo's fast clock the screens still last their simulated time (the citizens live in it),
    # but a reply is late by real time: the network and the server do not run faster.
    timings = replace(DEFAULT_TIMINGS, slow_after=DEFAULT_TIMINGS.slow_after * speed,
                      starting=DEFAULT_TIMINGS.starting * speed)
    if config.journal is None:
        log.warning("no [kiosk] journal: a ticket answered but not yet printed when the kiosk stops is not voided")
    scanner = open_scanner(config, screen)
    agent = KioskAgent(config, link, printer, display=screen, clock=clock, fonts=TicketFonts.default(),
                       journal=Journal(config.journal), timings=timings, scanner=scanner)
    buttons = open_buttons(config, agent)
    try:
        return agent.run(stop_on_signals(grace_s=30.0))  # a ticket being printed may take 15 s
    finally:
        if buttons is not None:
            buttons.close()
        if scanner is not None:
            scanner.close()
        printer.close()


def open_escpos(printer: PrinterConfig):  # type: ignore[no-untyped-def]
    """The python-escpos device the config names; it connects on first use."""
    from escpos.printer import File, Network, Serial, Usb

    if printer.connection == "network":
        return Network(printer.host, printer.port, timeout=5, profile=printer.profile)
    if printer.connection == "serial":
        return Serial(printer.device, baudrate=printer.baudrate, timeout=1, dsrdtr=False, profile=printer.profile)
    if printer.connection == "usb":
        return Usb(printer.vendor_id, printer.product_id, timeout=5000, profile=printer.profile)  # ms, not forever
    return File(printer.path, profile=printer.profile)


def open_display(config: KioskConfig):  # type: ignore[no-untyped-def]
    from kiosk.screen import PygameDisplay

    return PygameDisplay(config.width, config.height, fullscreen=config.fullscreen)


def open_scanner(config: KioskConfig, screen: Any) -> CodeScanner | None:
    """The QR scanner the config names: a serial one reads on its own thread; a keyboard one takes the keys
    pressed in the screen's window (a screen is required for any scanner: kiosk.config checks it)."""
    if config.scanner is None or screen is None:
        return None
    from kiosk.scanner import KeyboardWedgeScanner, SerialScanner

    if config.scanner.kind == "serial":
        return SerialScanner(config.scanner.port, config.scanner.baudrate)
    return KeyboardWedgeScanner(screen.key_presses)


def open_buttons(config: KioskConfig, agent):  # type: ignore[no-untyped-def]
    if not config.buttons:
        return None
    from kiosk.buttons import GpiozeroButtons
    from kiosk.flow import Pressed

    return GpiozeroButtons(config.buttons, lambda area, priority: agent.events.put(Pressed(area, priority)))


if __name__ == "__main__":
    sys.exit(main())
