"""`python -m devkit.run MODULE --config FILE [--simulated-clock START,SPEED,REAL] [--scripted [--screenshots DIR]]`:
a server or an agent as its production entry point runs it, on a simulated clock and with scripted devices.

What `make demo`, the tests and the benchmarks start instead of `python -m MODULE`: the production entry
points accept neither a simulated clock nor scripted devices on their command line, they take them as
arguments of `main()`. `--scripted`: the kiosk's screen is touched by lines on stdin
(`devkit/scripted_kiosk.py`, saving the first sight of each screen in `--screenshots`), the counter
terminal's pins are pressed by lines on stdin (`devkit/scripted_terminal.py`), the hall board says on stdout which
calls it has drawn and when (`devkit/scripted_board.py`). Any other argument goes to the module (`--check`, the
terminal's `--center`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devkit.clock import SimulatedClock
from protocol.agent import AGENT_ZONE
from protocol.errors import ConfigError

MODULES = ("central_server", "kiosk", "display_board", "rating_terminal", "staff_console", "citizen_web")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devkit.run", description=__doc__.splitlines()[0])
    parser.add_argument("module", choices=MODULES)
    parser.add_argument("--config", required=True, metavar="FILE")
    parser.add_argument("--simulated-clock", metavar="START,SPEED,REAL")
    parser.add_argument("--scripted", action="store_true",
                        help="the kiosk's screen or the terminal's pins by stdin; the board's frames on stdout")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="with --scripted: the kiosk's screens")
    args, rest = parser.parse_known_args(argv)
    passed = ["--config", args.config, *rest]
    try:
        clock = (None if args.simulated_clock is None
                 else SimulatedClock.from_arg(args.simulated_clock, _zone(args.module, Path(args.config))))
    except ConfigError as exc:
        print(f"devkit.run: {exc}", file=sys.stderr)
        return 2
    now, speed = (None, 1.0) if clock is None else (clock.now, clock.speed)
    if args.module == "central_server":
        from central_server.__main__ import main as server

        return server(passed, clock=now, speed=speed)
    if args.module == "kiosk":
        from devkit.scripted_kiosk import ScriptedDisplay
        from kiosk.__main__ import main as kiosk
        from kiosk.config import KioskConfig

        def screen(config: KioskConfig) -> ScriptedDisplay:
            return ScriptedDisplay(config.width, config.height, screenshots=args.screenshots)

        return kiosk(passed, clock=now, speed=speed, display=screen if args.scripted else None)
    if args.module == "rating_terminal":
        from devkit.scripted_terminal import ScriptedTerminal
        from rating_terminal.__main__ import main as terminal

        return terminal(passed, clock=now, hardware=ScriptedTerminal if args.scripted else None)
    if args.module == "staff_console":
        from staff_console.__main__ import main as console

        return console(passed, clock=now)
    if args.module == "citizen_web":  # its booking pages' today; the rest it shows is the server's
        from citizen_web.__main__ import main as web

        return web(passed, clock=now)
    from display_board.__main__ import main as board
    from display_board.config import BoardConfig

    def board_screen(config: BoardConfig) -> Any:
        from devkit.scripted_board import ScriptedBoardScreen

        return ScriptedBoardScreen(config.width, config.height, fullscreen=config.fullscreen)

    return board(passed, clock=now, screen=board_screen if args.scripted else None)


def _zone(module: str, config: Path) -> ZoneInfo:
    """The server goes by its center's time zone; the agents by Vietnam's (as in production)."""
    if module != "central_server":
        return AGENT_ZONE
    from central_server.config import load

    try:
        zone = load(config).rules.zone
    except ConfigError:
        return AGENT_ZONE  # the server says what is wrong with its config
    return zone if isinstance(zone, ZoneInfo) else AGENT_ZONE


if __name__ == "__main__":
    sys.exit(main())
