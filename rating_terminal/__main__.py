"""`python -m rating_terminal --config FILE [--check] [--center CENTER.toml]`: the composition root of the
counter terminal."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from protocol.agent import Clock, parse_args, start_agent, stop_on_signals
from protocol.errors import QmsError
from protocol.link import MqttLink
from protocol.topics import Topics
from rating_terminal.config import TerminalConfig, load, load_for_center
from rating_terminal.model import TerminalEvent, TerminalHardware

log = logging.getLogger("rating_terminal")
PROG, DESCRIPTION = "rating_terminal", "The counter terminal: keypad and rating buttons."
CENTER_HELP = """\
  --center CENTER.toml  with --check: also show what each rating button would mean with that
                        center config's [rating] levels, and which stickers would be wrong"""


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None,
         hardware: Callable[[TerminalConfig, Callable[[TerminalEvent], None]], TerminalHardware] | None = None) -> int:
    """`clock` and `hardware` (made from the config and what to call on a press): the real ones unless given
    (`devkit/run.py` gives a simulated clock and the GPIO adapter on mock pins pressed by lines on stdin)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    center, rest = _center_argument(arguments)
    if "-h" in rest or "--help" in rest:
        parse_args(PROG, DESCRIPTION, rest, epilog=f"more options:\n{CENTER_HELP}")  # prints the help, exits 0
    started = start_agent(PROG, DESCRIPTION, load if center is None else lambda path: load_for_center(path, center),
                          rest, clock)
    if isinstance(started, int):
        return started
    config, clock = started
    from rating_terminal.agent import TerminalAgent
    from rating_terminal.outbox import Outbox

    link = MqttLink(config.mqtt, client_id=config.client_id,
                    status_topic=Topics(config.center_id).device_status(config.device_id))
    holder: list[TerminalAgent] = []
    try:
        pins = (hardware or open_hardware)(config, lambda event: holder[0].press(event) if holder
                                           else _too_early(event))
    except QmsError as exc:  # a GPIO pin that cannot be opened: say which, as for a bad config
        print(f"rating_terminal: {exc}", file=sys.stderr)
        return 2
    scanner = None
    if config.scanner is not None:
        from rating_terminal.scanner import EvdevScanner

        scanner = EvdevScanner(config.scanner)  # closed by the agent, with the rest of its hardware
    agent = TerminalAgent(config, link, pins, Outbox(config.outbox), clock=clock, scanner=scanner)
    holder.append(agent)
    keypad = None
    if config.usb_keypad is not None and config.usb_keys is not None:
        from rating_terminal.usb_keypad import UsbKeypad

        keypad = UsbKeypad(config.usb_keypad, config.usb_keys, agent.press, long_press_s=config.long_press_s)
    try:
        return agent.run(stop_on_signals(grace_s=12.0))
    finally:
        if keypad is not None:
            keypad.close()


def _center_argument(arguments: list[str]) -> tuple[Path | None, list[str]]:
    """`--center CENTER.toml` taken out of the arguments; the rest are every agent's (start_agent's)."""
    parser = argparse.ArgumentParser(prog=PROG, add_help=False, allow_abbrev=False)
    parser.add_argument("--center", metavar="CENTER.toml", type=Path)
    known, rest = parser.parse_known_args(arguments)
    return known.center, rest


def _too_early(event: object) -> None:
    """A key pressed while the terminal starts: nothing could act on it yet (no feedback shows so)."""
    log.info("%s before the terminal was ready: ignored", event)


def open_hardware(config: TerminalConfig, on_event: Callable[[TerminalEvent], None]) -> TerminalHardware:
    from rating_terminal.hardware import GpiozeroTerminal

    return GpiozeroTerminal(
        keys=config.keys, ratings=[(r.button, r.led) for r in config.ratings],
        feedback_led=config.feedback_led, buzzer=config.buzzer, on_event=on_event,
        long_press_s=config.long_press_s,
    )


if __name__ == "__main__":
    sys.exit(main())
