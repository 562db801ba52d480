"""The hall board's screen: lays out a BoardView, draws it with pygame on a TV (1920×1080, 1366×768, …).

Read from 10 m: a dark navy background with white and yellow text, the newest call very large
("1005  →  Quầy 3"), yellow with dark text while it blinks. Below it the last calls and the number
waiting per area (an area that takes no new tickets while citizens still wait for it says "Tạm ngừng tiếp
nhận" in orange under its name); a notice scrolls along the bottom. Everything is sized from the screen.

Text is set as ui.text says (DejaVu Sans, NFC, "Thương binh" never broken) and shrunk until it fits its
box; only an area or counter name too long for a table row at a readable size ends in "…" there, after a
whole word group (the call's card shows it whole). A redraw (the blink, the ticker) blits cached lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import pygame

from display_board.model import BoardView, CallLine, WaitingLine
from ui.renderer import Memo, Renderer
from ui.text import (
    WEEKDAYS,
    Colour,
    Fit,
    FontFiles,
    Panel,
    Text,
    balanced,
    break_letters,
    largest_fit_of,
    nfc,
    size_ladder,
    word_groups,
)

# High contrast for a hall: white and yellow on dark navy; yellow with navy text for the blinking
# call; red only for "Mất kết nối".
BACKGROUND: Colour = (6, 20, 48)
HEADER: Colour = (12, 40, 94)
RULE: Colour = (255, 204, 0)  # the thin line under the header
PANEL: Colour = (12, 32, 72)
PANEL_TITLE: Colour = (18, 48, 104)
ROW_ALT: Colour = (18, 42, 90)
CARD: Colour = (16, 54, 124)
CARD_EDGE: Colour = (64, 112, 196)
TEXT: Colour = (255, 255, 255)
SOFT: Colour = (176, 196, 230)
ACCENT: Colour = (255, 204, 0)  # numbers and counts
HIGHLIGHT: Colour = (255, 204, 0)  # the newest call's card while it blinks
HIGHLIGHT_TEXT: Colour = (6, 20, 48)
HIGHLIGHT_SOFT: Colour = (70, 52, 0)
HIGHLIGHT_EDGE: Colour = (255, 240, 160)
TAG: Colour = (255, 255, 255)  # the "Mời lại" tag
TAG_TEXT: Colour = (12, 40, 94)
NOTICE_BAND: Colour = (2, 10, 28)
NOTICE_TEXT: Colour = (255, 255, 255)
CLOSED_NOTE: Colour = (255, 176, 96)  # "Tạm ngừng tiếp nhận" under an area that takes no new tickets
OFFLINE: Colour = (230, 40, 40)
OFFLINE_TEXT: Colour = (236, 206, 206)

CALLING_LABEL = "Mời công dân có số"
RECALL_TAG = "Mời lại"
WELCOME = "Xin chào quý công dân"
WELCOME_SUB = "Vui lòng chờ đến lượt được gọi"
RECENT_TITLE = "Các số vừa gọi"
RECENT_EMPTY = "Chưa có số nào được gọi"
WAITING_TITLE = "Đang chờ"
WAITING_UNIT = "người"
WAITING_CLOSED = "Tạm ngừng tiếp nhận"  # under an area that takes no new tickets while citizens still wait for it
WAITING_EMPTY = "Chưa có lĩnh vực nào mở"
WAITING_UNKNOWN = "Chưa nhận được dữ liệu từ máy chủ"  # no center config yet: nothing is known of the areas
OFFLINE_LABEL = "Mất kết nối"
ARROW = "→"

TITLE_SHARE = 0.054  # a panel's title bar, of the screen height
COUNTER_SHARE = 0.72  # the counter's size beside the newest number, of the number's
COUNTER_SHARE_TWO_LINES = 0.4  # the same for a long counter name on two lines
TWO_LINES_GAIN = 1.15  # two lines only when they let the number be this much larger
CALL_GAP = 0.045  # between "Mời công dân có số" and the newest number, of the call card's inner height
RECENT_ROWS = 9  # the table always has room for nine calls, so it does not jump as it fills
NOTICE_WIDTH = 1920  # `notice_offset` is in pixels of a 1920 wide screen
SIZES = size_ladder(76)  # the font sizes, about 7 % apart: a few dozen Fonts serve every text
FONT_CACHE = 32
RENDER_CACHE_PX = 8_000_000  # rendered lines kept, in pixels (32 MB)


# --- what the screen is made of -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticker:
    """The notice: copies of one line every `period` pixels from `x`, clipped to `clip`."""

    text: str
    clip: pygame.Rect
    x: int
    y: int
    period: int
    size: int
    colour: Colour


@dataclass(frozen=True, slots=True)
class Dot:
    centre: tuple[int, int]
    radius: int
    colour: Colour


Item = Panel | Text | Ticker | Dot


@dataclass(frozen=True, slots=True)
class BoardScene:
    """One frame, laid out: what to paint, in order, and named regions (for tests and tools).

    Regions: "header", "clock", "newest" (the call's card), "number" (the newest number's ink),
    "recent", "waiting", "notice" (the band), "offline" (only when offline).
    """

    size: tuple[int, int]
    items: tuple[Item, ...]
    regions: Mapping[str, pygame.Rect]

    def texts(self) -> list[Text]:
        return [item for item in self.items if isinstance(item, Text)]


@dataclass(frozen=True, slots=True)
class _CallShape:
    """The newest call's line at one size: the counter's lines and where everything sits.

    Baselines are offsets from the number's baseline, up positive; `top` and `bottom` the ink's extent.
    """

    big: int
    small: int
    counter_lines: tuple[str, ...]
    baselines: tuple[int, ...]
    arrow_baseline: int
    width: int
    top: int
    bottom: int


# --- the renderer -------------------------------------------------------------------------------


class BoardRenderer(Renderer[Ticker | Dot]):
    """Draws any BoardView on a screen of one size (a full HD TV is what its sizes were chosen on)."""

    def __init__(self, size: tuple[int, int], fonts: FontFiles | None = None) -> None:
        super().__init__(size, fonts, screen="hall board", smallest=(640, 360), sized_for=(1920, 1080), ladder=SIZES,
                         background=BACKGROUND, font_cache=FONT_CACHE, render_cache_px=RENDER_CACHE_PX,
                         fit_cache=4000)
        self._calls: Memo[tuple[str, str, int, int], _CallShape] = Memo(200)
        self._m = max(6, round(self.size[1] * 0.014))  # margin and gap

    # --- public -------------------------------------------------------------------------------

    def draw(self, view: BoardView, surface: pygame.Surface) -> None:
        """Draw the whole board for `view` on `surface` (of this renderer's size)."""
        self._paint(surface, self.layout(view).items)

    def layout(self, view: BoardView) -> BoardScene:
        """Where everything of `view` goes; `draw` paints exactly this."""
        width, height = self.size
        m = self._m
        items: list[Item] = []
        regions: dict[str, pygame.Rect] = {}
        header = pygame.Rect(0, 0, width, round(height * 0.108))
        band = pygame.Rect(0, height - round(height * 0.072), width, round(height * 0.072))
        self._header(view, header, items, regions)
        body = pygame.Rect(m * 2, header.bottom + m, width - 4 * m, band.top - header.bottom - 2 * m)
        card = pygame.Rect(body.x, body.y, body.w, round(body.h * 0.41))
        self._newest(view, card, items, regions)
        lower_y = card.bottom + m
        lower = pygame.Rect(body.x, lower_y, body.w, body.bottom - lower_y)
        recent_w = round((lower.w - m) * 0.6)
        recent = pygame.Rect(lower.x, lower.y, recent_w, lower.h)
        waiting = pygame.Rect(recent.right + m, lower.y, lower.right - recent.right - m, lower.h)
        self._recent(view.recent, recent, items, regions)
        self._waiting(view.waiting, waiting, items, regions, configured=view.configured)
        self._notice(view, band, items, regions)
        return BoardScene(self.size, tuple(items), regions)

    # --- parts --------------------------------------------------------------------------------

    def _header(self, view: BoardView, bar: pygame.Rect, items: list[Item], regions: dict[str, pygame.Rect]) -> None:
        m = self._m
        items.append(Panel(bar, HEADER))
        rule_h = max(2, round(4 * self._scale))
        items.append(Panel(pygame.Rect(0, bar.bottom - rule_h, bar.w, rule_h), RULE))
        inner_h = bar.h - rule_h
        now = view.now
        # The clock: HH:MM large on the right, the weekday over the date to its left.
        time_box = pygame.Rect(0, round(inner_h * 0.08), round(bar.w * 0.12), round(inner_h * 0.84))
        time_box.right = bar.right - 2 * m
        time_items = self._lines(f"{now:%H:%M}", time_box, bold=True, colour=TEXT, max_lines=1, align="right")
        time_left = min(text.rect.x for text in time_items)
        date_box = pygame.Rect(0, round(inner_h * 0.12), round(bar.w * 0.12), round(inner_h * 0.76))
        date_box.right = time_left - round(1.5 * m)
        day = pygame.Rect(date_box.x, date_box.y, date_box.w, date_box.h // 2)
        date = pygame.Rect(date_box.x, day.bottom, date_box.w, date_box.h - day.h)
        size = min(self.fit(nfc(WEEKDAYS[now.weekday()]), day, bold=False, max_lines=1).size,
                   self.fit(f"{now:%d/%m/%Y}", date, bold=False, max_lines=1).size)
        items += self._lines(WEEKDAYS[now.weekday()], day, bold=False, colour=SOFT, max_lines=1, align="right",
                             max_size=size)
        items += self._lines(f"{now:%d/%m/%Y}", date, bold=False, colour=SOFT, max_lines=1, align="right",
                             max_size=size)
        items += time_items
        regions["header"] = bar.copy()
        regions["clock"] = pygame.Rect(date_box.x, 0, bar.right - date_box.x, bar.h)
        name = " ".join(view.center_name.split())
        if name:
            name_box = pygame.Rect(2 * m, round(inner_h * 0.1), date_box.x - 4 * m, round(inner_h * 0.8))
            items += self._lines(name, name_box, bold=True, colour=TEXT, max_lines=2, align="left",
                                 max_size=round(inner_h * 0.36))

    def _newest(self, view: BoardView, card: pygame.Rect, items: list[Item], regions: dict[str, pygame.Rect]) -> None:
        m = self._m
        radius = round(1.5 * m)
        call = view.newest
        regions["newest"] = card.copy()
        lit = view.highlight and call is not None
        edge_w = max(2, round(4 * self._scale))
        items.append(Panel(card, HIGHLIGHT if lit else CARD, HIGHLIGHT_EDGE if lit else CARD_EDGE, edge_w, radius))
        inner = card.inflate(-4 * m, -2 * m)
        if call is None:
            top = pygame.Rect(inner.x, inner.y + round(inner.h * 0.14), inner.w, round(inner.h * 0.46))
            items += self._lines(WELCOME, top, bold=True, colour=TEXT, max_lines=1)
            sub = pygame.Rect(inner.x, top.bottom + m, inner.w, round(inner.h * 0.2))
            items += self._lines(WELCOME_SUB, sub, bold=False, colour=SOFT, max_lines=1)
            return
        label_colour = HIGHLIGHT_SOFT if lit else SOFT
        label = pygame.Rect(inner.x, inner.y, inner.w, round(inner.h * 0.13))
        area = pygame.Rect(inner.x, inner.bottom - round(inner.h * 0.18), inner.w, round(inner.h * 0.18))
        # A clear gap under "Mời công dân có số": the number's ink may rise to the top of its box.
        gap = round(inner.h * CALL_GAP)
        line = pygame.Rect(inner.x, label.bottom + gap, inner.w, area.top - label.bottom - gap)
        if call.recall:
            tag_text = self._lines(RECALL_TAG, label.inflate(0, -round(label.h * 0.1)), bold=True,
                                   colour=TAG_TEXT if not lit else HIGHLIGHT, max_lines=1)[0]
            tag = pygame.Rect(0, 0, tag_text.rect.w + 2 * m, label.h)
            tag.topright = label.topright
            items.append(Panel(tag, TAG if not lit else HIGHLIGHT_TEXT, radius=tag.h // 2))
            items.append(tag_text.moved(tag.centerx - tag_text.rect.centerx, tag.centery - tag_text.rect.centery))
            label.w = tag.x - m - label.x
        items += self._lines(CALLING_LABEL, label, bold=False, colour=label_colour, max_lines=1, align="left")
        number, rest = self._call_line(call, line, lit)
        items += rest
        regions["number"] = number.rect.copy()
        items.append(number)
        items += self._lines(call.area_name, area, bold=True, colour=HIGHLIGHT_TEXT if lit else TEXT, max_lines=1)

    def _call_line(self, call: CallLine, box: pygame.Rect, lit: bool) -> tuple[Text, list[Text]]:
        """"1005  →  Quầy 3", as large as `box` allows: the number, then smaller the rest on its baseline.

        A long counter name ("Quầy 2 – Đất đai, Xây dựng") goes on two lines beside the number when that
        lets the number be clearly larger (TWO_LINES_GAIN): the number is what the hall reads first.
        """
        number, counter = nfc(call.number.strip()), nfc(call.counter_name.strip())
        shape = self._calls.get((number, counter, box.w, box.h), partial(self._best_call_shape, number, counter, box))
        big, small = shape.big, shape.small
        baseline = box.centery + (shape.top + shape.bottom) // 2
        x = box.x + (box.w - shape.width) // 2
        number_colour = HIGHLIGHT_TEXT if lit else ACCENT
        other_colour = HIGHLIGHT_TEXT if lit else TEXT
        font = self.font(big, bold=True)
        ink_top, ink_bottom, ink_left, ink_right = self._painter.ink(number, big, bold=True)
        number_text = Text(number, (x, baseline - font.get_ascent() - (font.size(number)[1] - font.get_height())),
                           pygame.Rect(x + ink_left, baseline - ink_top, ink_right - ink_left, ink_top - ink_bottom),
                           big, True, number_colour)
        if not shape.counter_lines:
            return number_text, []
        gap = self.font(small).size(" ")[0] * 2
        x += font.size(number)[0] + gap
        rest: list[Text] = []
        pieces = [(ARROW, False, x, shape.arrow_baseline)]
        x += self.font(small).size(ARROW)[0] + gap
        pieces += [(line, True, x, offset) for line, offset in zip(shape.counter_lines, shape.baselines, strict=True)]
        for text, bold, left, offset in pieces:
            piece_font = self.font(small, bold=bold)
            text_w, text_h = piece_font.size(text)
            origin = (left, baseline - offset - piece_font.get_ascent() - (text_h - piece_font.get_height()))
            rest.append(Text(text, origin, pygame.Rect(origin, (text_w, text_h)), small, bold, other_colour))
        return number_text, rest

    def _best_call_shape(self, number: str, counter: str, box: pygame.Rect) -> _CallShape:
        """The call line as large as `box` allows, the counter on two lines only if TWO_LINES_GAIN says so."""
        best: dict[int, _CallShape] = {}
        for lines in (1, 2):
            for big in SIZES:
                candidate = self._call_shape(number, counter, big, lines)
                if candidate is None or candidate.width > box.w or candidate.top - candidate.bottom > box.h * 0.96:
                    break
                best[lines] = candidate
        one = best.get(1) or self._call_shape(number, counter, SIZES[0], 1)
        assert one is not None  # a one-line shape always exists
        two = best.get(2)
        return two if two is not None and two.big >= TWO_LINES_GAIN * one.big else one

    def _call_shape(self, number: str, counter: str, big: int, lines: int) -> _CallShape | None:
        """The call line with the number at `big` and the counter on `lines` lines (None: it has no such)."""
        small = self._ladder(big * (COUNTER_SHARE if lines == 1 else COUNTER_SHARE_TWO_LINES))
        counter_lines = ((counter,) if counter else ()) if lines == 1 else self._two_lines(counter, small)
        if counter_lines is None:
            return None
        width = self.font(big, bold=True).size(number)[0]
        top, bottom, _, _ = self._painter.ink(number, big, bold=True)
        if not counter_lines:
            return _CallShape(big, small, (), (), 0, width, top, bottom)
        centre = (top + bottom) / 2
        font = self.font(small, bold=True)
        if len(counter_lines) == 1:
            baselines: tuple[int, ...] = (0,)
            arrow_baseline = 0
        else:  # the two lines stacked, their block centred on the number's ink
            pitch = font.get_height() + max(0, font.size(counter_lines[1])[1] - font.get_height())
            first = round(centre + (pitch - font.get_ascent() - font.get_descent()) / 2)
            baselines = (first, first - pitch)
            arrow_top, arrow_bottom, _, _ = self._painter.ink(ARROW, small)
            arrow_baseline = round(centre - (arrow_top + arrow_bottom) / 2)
        gap = self.font(small).size(" ")[0] * 2
        width += 2 * gap + self.font(small).size(ARROW)[0] + max(font.size(line)[0] for line in counter_lines)
        placed = [(ARROW, False, arrow_baseline), *((line, True, offset)
                                                     for line, offset in zip(counter_lines, baselines, strict=True))]
        for text, bold, offset in placed:
            if len(counter_lines) == 1 or text == ARROW:  # on the number's line: its ink counts
                piece_top, piece_bottom, _, _ = self._painter.ink(text, small, bold=bold)
            else:  # stacked lines: their whole line boxes, so that neither reaches the area's line below
                piece_top = font.get_ascent() + max(0, font.size(text)[1] - font.get_height())
                piece_bottom = font.get_descent()
            top, bottom = max(top, offset + piece_top), min(bottom, offset + piece_bottom)
        return _CallShape(big, small, counter_lines, baselines, arrow_baseline, width, top, bottom)

    def _two_lines(self, counter: str, size: int) -> tuple[str, ...] | None:
        """The counter name on two lines, broken between word groups: after its dash if it has one
        ("Quầy 2 –" over "Đất đai, Xây dựng"), else where the longer line is shortest. None: one group only."""
        groups = word_groups(counter)
        if len(groups) < 2:
            return None
        measure = self._painter.measure(size, bold=True)
        splits = range(1, len(groups))
        dashes = [k for k in splits if groups[k - 1].endswith(("–", "—", "-", ":"))]
        best = dashes[0] if dashes else min(splits, key=lambda k: max(measure(" ".join(groups[:k])),
                                                                       measure(" ".join(groups[k:]))))
        return " ".join(groups[:best]), " ".join(groups[best:])

    def _panel(self, rect: pygame.Rect, title: str, items: list[Item]) -> tuple[pygame.Rect, int]:
        """A panel with a title bar; returns the room under the title and the title's text size."""
        m = self._m
        radius = m
        items.append(Panel(rect, PANEL, radius=radius))
        title_h = round(self.size[1] * TITLE_SHARE)
        bar = pygame.Rect(rect.x, rect.y, rect.w, title_h)
        items.append(Panel(bar, PANEL_TITLE, radius=radius))
        items.append(Panel(pygame.Rect(bar.x, bar.bottom - radius, bar.w, radius), PANEL_TITLE))
        title_text = self._lines(title, bar.inflate(-3 * m, -round(title_h * 0.2)), bold=True, colour=TEXT,
                                 max_lines=1, align="left")
        items += title_text
        room = pygame.Rect(rect.x, bar.bottom, rect.w, rect.bottom - bar.bottom)
        return room, title_text[0].size if title_text else SIZES[0]

    def _empty_box(self, rows: pygame.Rect) -> pygame.Rect:
        return pygame.Rect(rows.x, rows.y, rows.w, round(self.size[1] * 0.09)).inflate(-4 * self._m, -self._m)

    def _recent(self, calls: Sequence[CallLine], rect: pygame.Rect, items: list[Item],
                regions: dict[str, pygame.Rect]) -> None:
        m = self._m
        regions["recent"] = rect.copy()
        room, title_size = self._panel(rect, RECENT_TITLE, items)
        rows = pygame.Rect(room.x, room.y + m // 2, room.w, room.h - m // 2 - m)  # clear of the round corners
        row_h = rows.h // RECENT_ROWS
        calls = list(calls)[:RECENT_ROWS]
        if not calls:
            items += self._lines(RECENT_EMPTY, self._empty_box(rows),
                                 bold=False, colour=SOFT, max_lines=1, max_size=title_size)
            return
        pad = 2 * m
        inner_w = rows.w - 2 * pad
        col_gap = 2 * m
        widths = (round(inner_w * 0.2), round(inner_w * 0.22))
        number_x = rows.x + pad
        counter_x = number_x + widths[0] + col_gap
        area_x = counter_x + widths[1] + col_gap
        area_w = rows.right - pad - area_x
        text_h = round(row_h * 0.9)
        # One size for the numbers and counters; the areas share one too, shrunk only for a long name.
        base = self.fit("8888", pygame.Rect(0, 0, widths[0], text_h), bold=True, max_lines=1).size
        base = min(base, self._ladder(title_size * 1.05))
        cells: list[tuple[pygame.Rect, pygame.Rect, pygame.Rect]] = []
        for index in range(len(calls)):
            row = pygame.Rect(rows.x, rows.y + index * row_h, rows.w, row_h)
            if index % 2 == 1:
                items.append(Panel(row, ROW_ALT))
            top = row.y + (row.h - text_h) // 2
            cells.append((pygame.Rect(number_x, top, widths[0], text_h), pygame.Rect(counter_x, top, widths[1], text_h),
                          pygame.Rect(area_x, top, area_w, text_h)))
        number_size = min([base] + [self.fit(nfc(c.number), cell[0], bold=True, max_lines=1).size
                                    for c, cell in zip(calls, cells, strict=True)])
        # One size for the counters, the size their usual names fit: a name much longer than the others
        # ("Quầy 2 – Đất đai, Xây dựng") does not shrink them all, it ends in "…" here (the card shows it whole).
        counter_fits = sorted(min(base, self.fit(nfc(c.counter_name), cell[1], bold=True, max_lines=1).size)
                              for c, cell in zip(calls, cells, strict=True))
        median = counter_fits[len(counter_fits) // 2]
        counter_size = max(self._ladder(base * 0.7), min(size for size in counter_fits if size >= 0.85 * median))
        # One size for the areas too, no smaller than 80 % of the numbers': a name longer than that
        # allows ends in "…" here (the call's card above shows it whole).
        floor = self._ladder(base * 0.8)
        area_size = max(floor, min(self.fit(nfc(c.area_name), cell[2], bold=False, max_lines=1,
                                             max_size=base).size for c, cell in zip(calls, cells, strict=True)))
        for call, (number_box, counter_box, area_box) in zip(calls, cells, strict=True):
            items += self._lines(call.number, number_box, bold=True, colour=ACCENT, max_lines=1, align="left",
                                 max_size=number_size)
            counter = self._shorten(nfc(call.counter_name), counter_box, bold=True, size=counter_size, max_lines=1)
            items += self._lines(counter, counter_box, bold=True, colour=TEXT, max_lines=1, align="left",
                                 max_size=counter_size)
            area = self._shorten(nfc(call.area_name), area_box, bold=False, size=area_size, max_lines=1)
            items += self._lines(area, area_box, bold=False, colour=TEXT, max_lines=1, align="left",
                                 max_size=area_size)

    def _waiting(self, lines: Sequence[WaitingLine], rect: pygame.Rect, items: list[Item],
                 regions: dict[str, pygame.Rect], *, configured: bool = True) -> None:
        m = self._m
        regions["waiting"] = rect.copy()
        room, title_size = self._panel(rect, WAITING_TITLE, items)
        unit_box = pygame.Rect(0, rect.y, rect.w // 3, round(self.size[1] * TITLE_SHARE))
        unit_box.inflate_ip(0, -round(unit_box.h * 0.4))
        unit_box.right = rect.right - 2 * m
        items += self._lines(WAITING_UNIT, unit_box, bold=False, colour=SOFT, max_lines=1, align="right")
        rows = pygame.Rect(room.x, room.y + m // 2, room.w, room.h - m // 2 - m)  # clear of the round corners
        if not lines:
            items += self._lines(WAITING_EMPTY if configured else WAITING_UNKNOWN, self._empty_box(rows),
                                 bold=False, colour=SOFT, max_lines=2, max_size=title_size)
            return
        row_h = min(rows.h // len(lines), round(self.size[1] * 0.09))
        pad = 2 * m
        count_text_h = round(row_h * 0.7)
        count_size = self.fit("888", pygame.Rect(0, 0, rows.w, count_text_h), bold=True, max_lines=1).size
        count_size = min(count_size, self._ladder(title_size * 1.3))
        count_w = max(self.font(count_size, bold=True).size(str(max(0, line.waiting)))[0] for line in lines)
        count_w = max(count_w, self.font(count_size, bold=True).size("88")[0])
        name_w = rows.w - 2 * pad - count_w - 2 * m
        boxes = [pygame.Rect(rows.x + pad, rows.y + i * row_h + round(row_h * 0.04), name_w, round(row_h * 0.92))
                 for i in range(len(lines))]
        name_max = self._ladder(title_size * 0.95)
        # One size for every name, orderly; a long name takes two lines rather than shrinking all. A closed
        # area's name has one line, over its note.
        name_size = min(self.fit(nfc(line.area_name), self._name_box(line, box), bold=False,
                                 max_lines=1 if line.closed else 2, max_size=name_max).size
                        for line, box in zip(lines, boxes, strict=True))
        name_size = max(name_size, self._ladder(name_max * 0.7))  # smaller is unreadable: "…" then
        for index, (line, box) in enumerate(zip(lines, boxes, strict=True)):
            row = pygame.Rect(rows.x, rows.y + index * row_h, rows.w, row_h)
            if index % 2 == 1:
                items.append(Panel(row, ROW_ALT))
            self._area_name(line, box, name_size, items)
            count_box = pygame.Rect(rows.right - pad - count_w, row.y + (row_h - count_text_h) // 2, count_w,
                                    count_text_h)
            items += self._lines(str(max(0, line.waiting)), count_box, bold=True, colour=ACCENT, max_lines=1,
                                 align="right", max_size=count_size)

    @staticmethod
    def _name_box(line: WaitingLine, box: pygame.Rect) -> pygame.Rect:
        """Where an area's name goes in its row's `box`: all of it, or its upper part over a closed area's note."""
        return box if not line.closed else pygame.Rect(box.x, box.y, box.w, round(box.h * 0.56))

    def _area_name(self, line: WaitingLine, box: pygame.Rect, size: int, items: list[Item]) -> None:
        """An area's name in its row; a closed area's in one line, "Tạm ngừng tiếp nhận" smaller under it."""
        lines = 1 if line.closed else 2
        name_box = self._name_box(line, box)
        name = self._shorten(nfc(line.area_name), name_box, bold=False, size=size, max_lines=lines)
        items += self._lines(name, name_box, bold=False, colour=TEXT, max_lines=lines, align="left", max_size=size)
        if line.closed:
            note_box = pygame.Rect(box.x, name_box.bottom, box.w, box.bottom - name_box.bottom)
            items += self._lines(WAITING_CLOSED, note_box, bold=False, colour=CLOSED_NOTE, max_lines=1,
                                 align="left", max_size=self._ladder(size * 0.8))

    def _notice(self, view: BoardView, band: pygame.Rect, items: list[Item], regions: dict[str, pygame.Rect]) -> None:
        m = self._m
        regions["notice"] = band.copy()
        items.append(Panel(band, NOTICE_BAND))
        clip = band.copy()
        if not view.online:
            # Discreet, in the bottom right corner: a red dot and "Mất kết nối"; the rest stays as it was.
            text_box = pygame.Rect(0, 0, round(band.w * 0.12), round(band.h * 0.42))
            label = self._lines(OFFLINE_LABEL, text_box, bold=False, colour=OFFLINE_TEXT, max_lines=1,
                                align="left", max_size=round(band.h * 0.32))[0]
            dot_r = max(4, round(band.h * 0.12))
            width = 2 * dot_r + m + label.rect.w
            corner = pygame.Rect(band.right - 2 * m - width, band.y, width, band.h)
            dx = corner.x + 2 * dot_r + m - label.rect.x
            dy = band.centery - label.rect.centery
            items.append(Panel(corner.inflate(4 * m, 0), NOTICE_BAND))
            items.append(Dot((corner.x + dot_r, band.centery), dot_r, OFFLINE))
            items.append(label.moved(dx, dy))
            regions["offline"] = corner.inflate(2 * m, 0)
            clip.w = corner.x - 2 * m - clip.x
        notice = " ".join(nfc(view.notice).split())
        if not notice:
            return
        size = self.fit(notice[:40], pygame.Rect(0, 0, band.w * 4, round(band.h * 0.62)), bold=False,
                         max_lines=1).size
        font = self.font(size)
        text_w, text_h = font.size(notice)
        period = max(text_w + round(band.w * 0.12), clip.w)
        shift = view.notice_offset * self.size[0] / NOTICE_WIDTH
        if not math.isfinite(shift):
            shift = 0.0
        x = clip.x + 2 * m - math.floor(shift % period)
        y = band.y + (band.h - font.get_height()) // 2 - (text_h - font.get_height())
        items.append(Ticker(notice, clip, x, y, period, size, NOTICE_TEXT))

    # --- text ---------------------------------------------------------------------------------

    def _lines(self, text: str, box: pygame.Rect, *, bold: bool, colour: Colour, max_lines: int,
               align: str = "center", max_size: int | None = None) -> list[Text]:
        """`text` wrapped and shrunk to fit `box`, centred vertically."""
        fit = self.fit(" ".join(nfc(text).split()), box, bold=bold, max_lines=max_lines, max_size=max_size)
        return self._place_lines(fit, box, bold=bold, colour=colour, align=align)

    def _line_box(self, font: pygame.font.Font, line: str, bold: bool, size: int) -> tuple[int, int]:
        return font.size(line)[1], 0  # each line as tall as it renders

    def _fit_in(self, text: str, box: pygame.Rect, bold: bool, max_lines: int, sizes: list[int]) -> Fit:
        """Each line takes its own height. When even the smallest size does not fit, the text is broken into
        as many lines as it needs (between words, or inside a word wider than the box): never cut."""

        def lines_at(words: list[str], size: int) -> tuple[str, ...] | None:
            font = self.font(size, bold=bold)
            lines = balanced(words, self._painter.measure(size, bold=bold), box.w, max_lines)
            return lines if lines is not None and sum(font.size(line)[1] for line in lines) <= box.h else None

        smallest = self._painter.measure(sizes[0], bold=bold)
        found = (largest_fit_of(text, sizes, lines_at)  # else as many lines as it takes at the smallest size
                 or largest_fit_of(text, sizes[:1], lambda words, _: balanced(words, smallest, box.w, 99)))
        return found[0] if found is not None else Fit(sizes[0], break_letters(text, smallest, box.w))

    def _ladder(self, size: float) -> int:
        """The largest ladder size not above `size`."""
        return max(s for s in SIZES if s <= max(SIZES[0], size))

    def _shorten(self, text: str, box: pygame.Rect, *, bold: bool, size: int, max_lines: int) -> str:
        """`text` if it fits `box` at `size`, else as many of its word groups as fit, then "…"."""
        text = " ".join(text.split())
        if self.fit(text, box, bold=bold, max_lines=max_lines, max_size=size).size >= size:
            return text
        words = word_groups(text)
        low, high, best = 0, len(words) - 1, "…"
        while low <= high:
            mid = (low + high) // 2
            candidate = " ".join(words[:mid]).rstrip(" ,.;:–—-") + "…"
            if self.fit(candidate, box, bold=bold, max_lines=max_lines, max_size=size).size >= size:
                best, low = candidate, mid + 1
            else:
                high = mid - 1
        return best

    def _paint_item(self, surface: pygame.Surface, item: Ticker | Dot) -> None:
        if isinstance(item, Ticker):
            self._paint_ticker(surface, item)
        else:
            pygame.draw.circle(surface, item.colour, item.centre, item.radius)

    def _paint_ticker(self, surface: pygame.Surface, ticker: Ticker) -> None:
        rendered = self._painter.render(ticker.text, False, ticker.size, ticker.colour)
        previous = surface.get_clip()
        surface.set_clip(ticker.clip.clip(previous))
        x = ticker.x
        while x + rendered.get_width() <= ticker.clip.x:
            x += ticker.period
        while x < ticker.clip.right:
            surface.blit(rendered, (x, ticker.y))
            x += ticker.period
        surface.set_clip(previous)

