"""`python -m display_board --config FILE [--check]`: the hall board and counter LED display agent."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from display_board.config import BoardConfig, load
from protocol.agent import Clock, start_agent, stop_on_signals
from protocol.link import MqttLink
from protocol.topics import Topics

log = logging.getLogger("display_board")


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None,
         screen: Callable[[BoardConfig], Any] | None = None) -> int:
    """`clock` and `screen` (made from the config, when the config has a screen): the real ones unless given
    (`devkit/run.py` gives a simulated clock, and a screen that says what it drew)."""
    started = start_agent("display_board", "The hall board and counter LED display agent.", load, argv, clock)
    if isinstance(started, int):
        return started
    config, clock = started
    from display_board.agent import BoardAgent

    link = MqttLink(config.mqtt, client_id=config.client_id,
                    status_topic=Topics(config.center_id).device_status(config.board_id))
    board_screen = open_screen(config) if screen is None or not config.screen else screen(config)
    agent = BoardAgent(config, link, screen=board_screen, voice=open_voice(config, clock),
                       leds=open_leds(config), clock=clock)
    return agent.run(stop_on_signals())


def open_screen(config: BoardConfig):  # type: ignore[no-untyped-def]
    if not config.screen:
        return None
    from display_board.screen import PygameBoardScreen

    return PygameBoardScreen(config.width, config.height, fullscreen=config.fullscreen)


def open_voice(config: BoardConfig, clock: Callable[[], datetime]):  # type: ignore[no-untyped-def]
    if not config.voice:
        return None
    from display_board.clips import ClipLibrary
    from display_board.voice import PygameVoice, RecordingVoice

    library = ClipLibrary(config.clips, config.custom_clips)
    if config.record is not None:
        return RecordingVoice(library, config.record, clock, max_s=config.record_max_s)
    return PygameVoice(library)


def open_leds(config: BoardConfig):  # type: ignore[no-untyped-def]
    if config.leds is None:
        return None
    from display_board.led_display import SerialLedDisplay, codec_named

    return SerialLedDisplay(config.leds.port, codec_named(config.leds.codec), baudrate=config.leds.baudrate,
                            digits=config.leds.digits)


if __name__ == "__main__":
    sys.exit(main())
