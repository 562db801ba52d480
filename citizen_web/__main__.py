"""`python -m citizen_web --config FILE` serves the citizens' pages; `--check` checks the config."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from citizen_web.config import load
from protocol.agent import Clock, start_agent

PROG = "citizen_web"
DESCRIPTION = ("The citizen web: the page a ticket's QR opens, the rating from the phone, and booking (prints its "
               "address).")


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """`clock`: what today is for the booking pages (devkit's simulated one); the rest the web shows is the
    server's, in the server's time."""
    started = start_agent(PROG, DESCRIPTION, load, argv)
    if isinstance(started, int):
        return started
    from citizen_web.serve import serve  # uvicorn and Starlette: only when serving

    return serve(started[0], clock)


if __name__ == "__main__":
    sys.exit(main())
