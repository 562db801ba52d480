"""What the hall board shows: plain values shared by the flow and the view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallLine:
    """One call on the board: "1005 → Quầy 3", with its area."""

    number: str
    counter_name: str  # "Quầy 3"
    area_name: str  # "Đất đai"
    called_at: datetime
    recall: bool = False


@dataclass(frozen=True, slots=True)
class WaitingLine:
    area_name: str
    waiting: int
    closed: bool = False  # the area takes no new tickets (closed or removed) but citizens still wait for it


@dataclass(frozen=True, slots=True)
class BoardView:
    """Everything the hall board shows at one moment; `view.draw` draws exactly this."""

    center_name: str
    now: datetime
    newest: CallLine | None  # shown very large
    highlight: bool  # the newest call is blinking: draw it in the highlight colours this frame
    recent: tuple[CallLine, ...]  # the calls before the newest one, newest first (up to 9)
    waiting: tuple[WaitingLine, ...]  # per open area (and closed one still waited for), in the config's order
    notice: str  # the scrolling line at the bottom ("" for none)
    notice_offset: float  # how far the notice has scrolled, in pixels at 1920 wide (the view scales it)
    online: bool  # False: the server or the broker is gone; say so discreetly, keep the last state
    configured: bool = True  # False: no center config received yet (never "no area open": nothing is known)
