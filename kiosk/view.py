"""The kiosk's touch screen: lays out a KioskView, draws it with pygame and reports the touch targets.

Everything is sized from the screen (800×480 up to 1920×1080, landscape or portrait). Text is set as
ui.text says (DejaVu Sans, NFC, "màn hình" never broken) and shrunk until it fits its box: never cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pygame

from kiosk.model import (
    AREA_CLOSED,
    BACK_BUTTON,
    BOOKING_BUTTON,
    BUSY,
    KEY_CANCEL,
    KEY_CONFIRM,
    KEY_DELETE,
    NO_SERVER,
    NOT_ISSUED,
    PRINT_FAILED,
    PRIORITY_BUTTON,
    AreaButton,
    IssuedTicket,
    KioskView,
    Screen,
    area_target,
    key_target,
    priority_target,
    wait_minutes,
)
from kiosk.ticket_layout import (
    AHEAD_LINE,
    CALLED_AT_ONCE,
    NO_COUNTER,
    WAIT_LABEL,
    WAIT_MINUTES,
    channel_note,
    wait_basis,
)
from protocol.booking_code import CODE_DIGITS
from protocol.messages import PRIORITY_LABELS, WAIT_FREE_COUNTER, WAIT_NO_COUNTER
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
    largest_fit,
    largest_fit_of,
    nfc,
    phrases_of,
    size_ladder,
)

# Calm, high-contrast colours: deep blue for the frame, white buttons with dark text,
# amber for the priority way, red only for problems.
BACKGROUND: Colour = (238, 242, 248)
HEADER: Colour = (11, 49, 112)
HEADER_TEXT: Colour = (255, 255, 255)
HEADER_SOFT: Colour = (196, 214, 240)
TEXT: Colour = (22, 28, 40)
TEXT_SOFT: Colour = (78, 88, 104)
TITLE: Colour = (11, 49, 112)
BUTTON: Colour = (255, 255, 255)
BUTTON_EDGE: Colour = (11, 49, 112)
SHADOW: Colour = (188, 198, 214)
CLOSED: Colour = (218, 221, 227)
CLOSED_EDGE: Colour = (170, 175, 184)
CLOSED_TEXT: Colour = (104, 110, 122)
PRIORITY: Colour = (245, 166, 35)
PRIORITY_EDGE: Colour = (196, 118, 0)
PRIORITY_TEXT: Colour = (36, 24, 0)
PRIORITY_SOFT: Colour = (255, 236, 200)
NUMBER: Colour = (11, 49, 112)
GOOD: Colour = (20, 110, 58)
PROBLEM: Colour = (180, 30, 30)
PROBLEM_TEXT: Colour = (255, 255, 255)
WARNING_EDGE: Colour = (214, 132, 0)
WARNING_TEXT: Colour = (150, 72, 0)  # a code typed wrong: said plainly, not in the red of a fault
BOOKED: Colour = (20, 110, 58)  # a booked appointment or a remote number: the ticket's label, "Xác nhận"
BOOKED_TEXT: Colour = (255, 255, 255)

MENU_TITLE = "Mời chọn lĩnh vực cần giải quyết"
PRIORITY_TITLE = "Mời chọn đối tượng ưu tiên"
BACK_LABEL = "← Quay lại"
# The priority button says who may use it; shorter forms are used where the long one does not fit.
PRIORITY_LABEL_FORMS = (
    "Ưu tiên: người cao tuổi, người khuyết tật, phụ nữ mang thai, người có công, trẻ em dưới 6 tuổi",
    "Ưu tiên: người cao tuổi, khuyết tật, phụ nữ mang thai, người có công, trẻ dưới 6 tuổi",
    "Ưu tiên: cao tuổi, khuyết tật, mang thai, người có công, trẻ dưới 6 tuổi",
    "Lấy số ưu tiên",
)
WORKING_TEXT = "Đang lấy số thứ tự…"
# Check-in with a booking (issue 18): the menu's button and the keypad (the brief's spelling of its keys).
BOOKING_LABEL = "Tôi đã đặt lịch"
KEYPAD_TITLE = "Mời nhập mã đặt lịch"
KEYPAD_HINT = "Mã gồm 8 chữ số, có trong thông báo xác nhận đặt lịch"
KEYPAD_HINT_SCANNER = "Mã gồm 8 chữ số, có trong thông báo xác nhận đặt lịch. Hoặc đưa mã QR vào máy quét"
DELETE_LABEL = "Xoá"
CANCEL_LABEL = "Huỷ"
CONFIRM_LABEL = "Xác nhận"
STARTING_TEXT = "Đang khởi động…"
TICKET_LABEL = "Số thứ tự"
TAKE_TICKET = "Vui lòng nhận phiếu"
# The wait, as the ticket prints it (kiosk.ticket_layout): the server's wait basis decides which.
CALLED_NOW = CALLED_AT_ONCE
DEFAULT_MESSAGES = {  # a view without its message (the flow always gives one)
    Screen.BUSY: BUSY,
    Screen.REFUSED: NOT_ISSUED,
    Screen.OFFLINE: NO_SERVER,
    Screen.PRINTER_PROBLEM: "Máy in đang gặp sự cố, vui lòng liên hệ cán bộ hướng dẫn",
    Screen.PRINT_FAILED: PRINT_FAILED,
}
# A text wraps onto fewer lines when a size this much smaller allows it: "Người khuyết tật" on one line
# beside "Người cao tuổi", not "Người / khuyết tật" in a size hardly larger.
FEWER_LINES_SHARE = 0.85
READABLE = 12  # px on the small kiosk (scaled): a nicer break never takes a text smaller than this

SIZES = size_ladder(72)  # the font sizes, about 7 % apart: a few dozen Fonts serve every screen
# The tallest Vietnamese capitals: their stacked marks rise above the font's ascent.
_TALL = "ỄẪỂỖẴẾỀ"
FONT_CACHE = 24  # Font objects kept (two weights, the sizes of about two screens)
RENDER_CACHE_PX = 2_500_000  # rendered lines kept, in pixels (10 MB): a redraw blits, it does not render


# --- what a screen is made of -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Text fitted into `box`, all its lines in one `size`: every line's rect lies inside it."""

    box: pygame.Rect
    lines: tuple[Text, ...]
    size: int


@dataclass(frozen=True, slots=True)
class Spinner:
    centre: tuple[int, int]
    radius: int
    step: int  # which of the 12 dots is brightest, from the view's clock
    colour: Colour


Item = Panel | TextBlock | Spinner


@dataclass(frozen=True, slots=True)
class Scene:
    """One screen, laid out: what to paint, in order, and where a touch means what."""

    size: tuple[int, int]
    items: tuple[Item, ...]
    targets: tuple[tuple[pygame.Rect, str], ...]

    def texts(self) -> list[TextBlock]:
        return [item for item in self.items if isinstance(item, TextBlock)]


# --- the renderer -------------------------------------------------------------------------------


class KioskRenderer(Renderer[TextBlock | Spinner]):
    """Draws any KioskView on a screen of one size (800×480, the small kiosk, is what its sizes were chosen on)."""

    def __init__(self, size: tuple[int, int], fonts: FontFiles | None = None) -> None:
        super().__init__(size, fonts, screen="kiosk", smallest=(320, 240), sized_for=(800, 480), ladder=SIZES,
                         background=BACKGROUND, shadow=SHADOW, font_cache=FONT_CACHE,
                         render_cache_px=RENDER_CACHE_PX, fit_cache=2000)
        self._extra: Memo[tuple[bool, int], int] = Memo(2 * len(SIZES))  # every size in both weights
        self._glyph_sizes: Memo[tuple[str, int, int], int] = Memo(200)
        self._m = max(6, round(min(self.size) * 0.025))  # margin and gap

    # --- public -------------------------------------------------------------------------------

    def draw(self, view: KioskView, surface: pygame.Surface) -> list[tuple[pygame.Rect, str]]:
        """Draw the whole screen for `view`; return the touch targets on it (rect, target)."""
        scene = self.layout(view)
        self._paint(surface, scene.items)
        return [(rect.copy(), target) for rect, target in scene.targets]

    def layout(self, view: KioskView) -> Scene:
        """Where everything of `view` goes; `draw` paints exactly this."""
        items: list[Item] = []
        targets: list[tuple[pygame.Rect, str]] = []
        body = self._header(view, items)
        if view.screen is Screen.MENU:
            self._menu(view, body, items, targets)
        elif view.screen is Screen.PRIORITY:
            self._priority(view, body, items, targets)
        elif view.screen is Screen.KEYPAD:
            self._keypad(view, body, items, targets)
        elif view.screen is Screen.WORKING:
            self._waiting(view, body, WORKING_TEXT, items, note=view.message)
        elif view.screen is Screen.STARTING:
            self._waiting(view, body, STARTING_TEXT, items)
        elif view.screen in (Screen.TICKET, Screen.PRINT_FAILED):
            self._ticket(view, body, items)
        else:  # BUSY, REFUSED, OFFLINE, CLOSED, PRINTER_PROBLEM
            self._notice(view, body, items)
        return Scene(self.size, tuple(items), tuple(targets))

    # --- screens ------------------------------------------------------------------------------

    def _header(self, view: KioskView, items: list[Item]) -> pygame.Rect:
        width, height = self.size
        m = self._m
        bar = pygame.Rect(0, 0, width, round(min(height * 0.14, width * 0.11)))
        items.append(Panel(bar, HEADER))
        now = view.now
        clock_w = round(min(width * 0.3, bar.height * 3.4))
        clock = pygame.Rect(width - m - clock_w, round(bar.height * 0.08), clock_w, round(bar.height * 0.84))
        time_box = pygame.Rect(clock.x, clock.y, clock.w, round(clock.h * 0.62))
        date_box = pygame.Rect(clock.x, time_box.bottom, clock.w, clock.bottom - time_box.bottom)
        items.append(self._text(f"{now:%H:%M}", time_box, bold=True, colour=HEADER_TEXT, align="right",
                                max_lines=1))
        date = f"{WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y}"
        if self._fit_or_none(date, date_box, bold=False, max_lines=1, min_size=self._px(13)) is None:
            date = f"{now:%d/%m/%Y}"
        items.append(self._text(date, date_box, bold=False, colour=HEADER_SOFT, align="right", max_lines=1))
        if view.center_name.strip():
            name_box = pygame.Rect(m, round(bar.height * 0.1), clock.x - 2 * m, round(bar.height * 0.8))
            items.append(self._text(view.center_name, name_box, bold=True, colour=HEADER_TEXT, align="left",
                                    max_lines=2, max_size=round(bar.height * 0.36)))
        return pygame.Rect(0, bar.bottom, width, height - bar.bottom)

    def _menu(self, view: KioskView, body: pygame.Rect, items: list[Item],
              targets: list[tuple[pygame.Rect, str]]) -> None:
        m = self._m
        inner = body.inflate(-2 * m, -2 * m)
        title = pygame.Rect(inner.x, inner.y, inner.w, self._title_height())
        if view.chosen_priority:
            label = self._priority_label(view, view.chosen_priority)
            items.append(Panel(title, PRIORITY_SOFT, PRIORITY_EDGE, max(2, round(self._scale * 2)), m))
            items.append(self._text(f"Phiếu ưu tiên: {label}  —  mời chọn lĩnh vực", title.inflate(-2 * m, -m // 2),
                                    bold=True, colour=PRIORITY_TEXT, max_lines=1))
        else:
            items.append(self._text(MENU_TITLE, title, bold=True, colour=TITLE, max_lines=1))
        band = self._bottom_band(inner)
        if view.chosen_priority:
            self._back_button(band, items, targets)
        elif view.bookings:  # "Tôi đã đặt lịch" at the right of the band, the priority button beside it
            booking = band.copy()
            if view.priorities:
                booking.w = round(band.w * 0.36)
                booking.right = band.right
            self._booking_button(booking, items, targets)
            band = pygame.Rect(band.x, band.y, booking.x - band.x - m, band.h)
        if not view.chosen_priority and view.priorities:
            items.append(Panel(band, PRIORITY, PRIORITY_EDGE, max(2, round(self._scale * 2)), m, self._shadow()))
            text_box = band.inflate(-3 * m, -m)
            form = next((f for f in PRIORITY_LABEL_FORMS[:-1]
                         if self._fit_or_none(f, text_box, bold=True, max_lines=2, min_size=self._px(18),
                                              max_size=self._px(26))),
                        PRIORITY_LABEL_FORMS[-1])
            items.append(self._text(form, text_box, bold=True, colour=PRIORITY_TEXT, max_lines=2,
                                    max_size=self._px(26)))
            targets.append((band.copy(), PRIORITY_BUTTON))
        grid = pygame.Rect(inner.x, title.bottom + m, inner.w, band.top - round(1.5 * m) - title.bottom - m)
        if not view.areas:
            items.append(self._text("Chưa có lĩnh vực nào", grid, bold=False, colour=TEXT_SOFT, max_lines=2,
                                    max_size=self._px(28)))
            return
        areas = view.areas

        def area_size(index: int, cell: pygame.Rect, max_size: int) -> int | None:
            if not areas[index].open:  # a closed area's name may be smaller: it is not to be touched
                return None
            return self.fit(nfc(areas[index].name), self._area_boxes(areas[index], cell)[0], bold=True,
                             max_lines=3, max_size=max_size).size

        cells, common = self._grid(grid, len(areas), area_size, self._area_max())
        for area, cell in zip(areas, cells, strict=True):
            self._area_button(area, cell, min(common, self._area_max()), items, targets)

    def _priority(self, view: KioskView, body: pygame.Rect, items: list[Item],
                  targets: list[tuple[pygame.Rect, str]]) -> None:
        m = self._m
        inner = body.inflate(-2 * m, -2 * m)
        title = pygame.Rect(inner.x, inner.y, inner.w, self._title_height())
        items.append(self._text(PRIORITY_TITLE, title, bold=True, colour=TITLE, max_lines=1))
        band = self._bottom_band(inner)
        self._back_button(band, items, targets)
        grid = pygame.Rect(inner.x, title.bottom + m, inner.w, band.top - round(1.5 * m) - title.bottom - m)
        if not view.priorities:
            return
        labels = [nfc(label) for _, label in view.priorities]

        def label_size(index: int, cell: pygame.Rect, max_size: int) -> int | None:
            return self.fit(labels[index], cell.inflate(-3 * m, -m), bold=True, max_lines=3,
                             max_size=max_size).size

        cells, common = self._grid(grid, len(labels), label_size, self._px(30))
        edge = max(3, round(self._scale * 4))
        for (category, label), cell in zip(view.priorities, cells, strict=True):
            items.append(Panel(cell, BUTTON, PRIORITY, edge, m, self._shadow()))
            items.append(self._text(label, cell.inflate(-3 * m, -m), bold=True, colour=TEXT, max_lines=3,
                                    max_size=common))
            targets.append((cell.copy(), priority_target(category)))

    def _keypad(self, view: KioskView, body: pygame.Rect, items: list[Item],
                targets: list[tuple[pygame.Rect, str]]) -> None:
        """The booking's code: what to type, 8 boxes (4 + 4) filled as it is typed, why it was not taken; big keys
        0-9, "Xoá" and "Xác nhận"; "Huỷ". Side by side on a wide screen, one above the other on a tall one."""
        m = self._m
        inner = body.inflate(-2 * m, -2 * m)
        band = self._bottom_band(inner)
        if inner.w >= inner.h * 1.3:
            left = pygame.Rect(inner.x, inner.y, round(inner.w * 0.48), inner.h)
            pad = pygame.Rect(left.right + 2 * m, inner.y, inner.right - left.right - 2 * m, inner.h)
            cancel = pygame.Rect(left.x, left.bottom - band.h, left.w, band.h)
            info = pygame.Rect(left.x, left.y, left.w, cancel.top - m - left.y)
        else:
            cancel = pygame.Rect(band.x, band.y, max(round(band.w * 0.3), min(band.w, band.h * 3)), band.h)
            info = pygame.Rect(inner.x, inner.y, inner.w, round(inner.h * 0.36))
            pad = pygame.Rect(inner.x, info.bottom + m, inner.w, band.top - 2 * m - info.bottom)
        shares = (("title", 0.2), ("hint", 0.2), ("code", 0.34), ("message", 0.26))
        boxes: dict[str, pygame.Rect] = {}
        y = info.y
        for name, share in shares:
            boxes[name] = pygame.Rect(info.x, y, info.w, round(info.h * share) - m // 2)
            y += round(info.h * share)
        items.append(self._text(KEYPAD_TITLE, boxes["title"], bold=True, colour=TITLE, max_lines=1,
                                max_size=self._px(34)))
        items.append(self._text(KEYPAD_HINT_SCANNER if view.scanner else KEYPAD_HINT, boxes["hint"], bold=False,
                                colour=TEXT_SOFT, max_lines=2, max_size=self._px(22)))
        self._code_boxes(view.typed, boxes["code"], items)
        if view.message:
            items.append(self._text(view.message, boxes["message"], bold=True, colour=WARNING_TEXT, max_lines=3,
                                    max_size=self._px(24)))
        edge = max(2, round(self._scale * 3))
        keys = [*(str(digit) for digit in range(1, 10)), DELETE_LABEL, "0", CONFIRM_LABEL]
        key_w, key_h = (pad.w - 2 * m) // 3, (pad.h - 3 * m) // 4
        key_size = self.fit(CONFIRM_LABEL, pygame.Rect(0, 0, key_w - m, key_h - m), bold=True, max_lines=1,
                            max_size=self._px(40)).size  # "Xoá" in the size of "Xác nhận"
        for index, label in enumerate(keys):
            row, col = divmod(index, 3)
            rect = pygame.Rect(pad.x + col * (key_w + m), pad.y + row * (key_h + m), key_w, key_h)
            if label == CONFIRM_LABEL:
                target, fill, line, colour = KEY_CONFIRM, BOOKED, BOOKED, BOOKED_TEXT
            elif label == DELETE_LABEL:
                target, fill, line, colour = KEY_DELETE, BUTTON, WARNING_EDGE, TEXT
            else:
                target, fill, line, colour = key_target(label), BUTTON, BUTTON_EDGE, TEXT
            items.append(Panel(rect, fill, line, edge, m, self._shadow()))
            size = self._px(48) if label.isdigit() else key_size
            items.append(self._text(label, rect.inflate(-m, -m), bold=True, colour=colour, max_lines=1,
                                    max_size=size))
            targets.append((rect.copy(), target))
        items.append(Panel(cancel, BUTTON, BUTTON_EDGE, edge, m, self._shadow()))
        items.append(self._text(CANCEL_LABEL, cancel.inflate(-2 * m, -m), bold=True, colour=TITLE, max_lines=1,
                                max_size=self._px(28)))
        targets.append((cancel.copy(), KEY_CANCEL))

    def _code_boxes(self, typed: str, row: pygame.Rect, items: list[Item]) -> None:
        """One box per digit of a code, in two groups of 4 (as printed: "1234 5678"); the next one to fill is
        marked."""
        m = self._m
        small, large = max(3, m // 2), 2 * m
        half = CODE_DIGITS // 2
        cell_w = min((row.w - (CODE_DIGITS - 2) * small - large) // CODE_DIGITS, round(row.h * 0.8))
        cell_h = min(row.h, round(cell_w * 1.3))
        total = CODE_DIGITS * cell_w + (CODE_DIGITS - 2) * small + large
        x, top = row.x + (row.w - total) // 2, row.y + (row.h - cell_h) // 2
        thin, thick = max(2, round(self._scale * 2)), max(3, round(self._scale * 4))
        for index in range(CODE_DIGITS):
            cell = pygame.Rect(x, top, cell_w, cell_h)
            current = index == len(typed)
            items.append(Panel(cell, BUTTON, TITLE if current else CLOSED_EDGE, thick if current else thin,
                               max(2, m // 2)))
            if index < len(typed):
                digit = cell.inflate(-round(cell_w * 0.4), -round(cell_h * 0.42))  # room around it in the box
                items.append(self._glyphs(typed[index], digit, NUMBER))
            x += cell_w + (large if index == half - 1 else small)

    def _booking_button(self, rect: pygame.Rect, items: list[Item], targets: list[tuple[pygame.Rect, str]]) -> None:
        m = self._m
        items.append(Panel(rect, BOOKED, BOOKED, max(2, round(self._scale * 2)), m, self._shadow()))
        items.append(self._text(BOOKING_LABEL, rect.inflate(-3 * m, -m), bold=True, colour=BOOKED_TEXT, max_lines=2,
                                max_size=self._px(28)))
        targets.append((rect.copy(), BOOKING_BUTTON))

    def _waiting(self, view: KioskView, body: pygame.Rect, text: str, items: list[Item], note: str = "") -> None:
        """A spinner, `text` under it, and a smaller `note` (why it takes long) under that."""
        m = self._m
        radius = round(min(body.w, body.h) * 0.12)
        centre = (body.centerx, body.y + round(body.h * 0.38))
        step = (view.now.second * 12 + view.now.microsecond * 12 // 1_000_000) % 12
        items.append(Spinner(centre, radius, step, TITLE))
        box = pygame.Rect(body.x + 2 * m, centre[1] + radius + 2 * m, body.w - 4 * m, round(body.h * 0.18))
        items.append(self._text(text, box, bold=True, colour=TITLE, max_lines=2, max_size=self._px(40)))
        if note:
            below = pygame.Rect(box.x, box.bottom + m, box.w, min(round(body.h * 0.12), body.bottom - box.bottom - m))
            items.append(self._text(note, below, bold=False, colour=TEXT_SOFT, max_lines=2, max_size=self._px(26)))

    def _ticket(self, view: KioskView, body: pygame.Rect, items: list[Item]) -> None:
        m = self._m
        ticket = view.ticket
        if ticket is None:  # not expected from the flow; still say something useful
            if view.screen is Screen.PRINT_FAILED:
                self._notice(view, body, items)
            else:
                items.append(self._text(TAKE_TICKET, body, bold=True, colour=GOOD, max_lines=1,
                                        max_size=self._px(40)))
            return
        height = self.size[1]
        card = body.inflate(-2 * m, -2 * m)
        items.append(Panel(card, BUTTON, None, 0, 2 * m, self._shadow()))
        inner = card.inflate(-2 * m, -m)
        failed = view.screen is Screen.PRINT_FAILED
        # Heights as shares of the screen height, so the number has the same presence on every kiosk.
        shares = {"label": 0.065, "number": 0.38 if failed else 0.42, "area": 0.075}
        shares |= {"problem": 0.17} if failed else {"take": 0.075, "wait": 0.11}
        wanted = {name: share * height for name, share in shares.items()}
        scale = min(1.0, (inner.h - m * (len(wanted) - 1)) / sum(wanted.values()))
        heights = {name: round(h * scale) for name, h in wanted.items()}
        number_w = inner.w - round(self.size[0] * 0.04)
        number = self._glyphs(ticket.number, pygame.Rect(0, 0, number_w, heights["number"]), NUMBER)
        heights["number"] = min(heights["number"], number.lines[0].rect.h + m)  # a narrow screen: less height
        # On a tall (portrait) screen the text needs less than its share: no box taller than its text.
        per_line = 1.4  # a line box per font size, with the room for stacked marks
        caps = {"label": self._px(24) * per_line, "area": self._px(36) * per_line * 2,
                "take": self._px(34) * per_line, "wait": self._px(24) * per_line * 2,
                "problem": self._px(30) * per_line * 2 + m}
        heights = {name: min(h, round(caps.get(name, h))) for name, h in heights.items()}
        gap = min((inner.h - sum(heights.values())) // (len(heights) - 1), 3 * m)
        boxes: dict[str, pygame.Rect] = {}
        y = inner.y + (inner.h - sum(heights.values()) - gap * (len(heights) - 1)) // 2
        for name, box_h in heights.items():
            boxes[name] = pygame.Rect(inner.x, y, inner.w, box_h)
            y += box_h + gap
        priority = self._priority_label(view, ticket.priority) if ticket.priority not in ("", "none") else ""
        note = channel_note(ticket)  # a booked slot, a remote number, a booking made a walk-in
        if priority or note:
            label = boxes["label"]
            said = " · ".join(part for part in (note, f"Phiếu ưu tiên: {priority}" if priority else "") if part)
            fill, edge, colour = self._label_colours(ticket, note)
            text = self._text(said, label.inflate(-4 * m, -m // 2), bold=True, colour=colour, max_lines=1,
                              max_size=self._px(24))
            widest = max(line.rect.w for line in text.lines)
            pill = pygame.Rect(0, 0, min(label.w, widest + 3 * m), label.h)
            pill.center = label.center
            items.append(Panel(pill, fill, edge, max(2, round(self._scale * 2)), label.h // 2))
            items.append(text)
        else:
            items.append(self._text(TICKET_LABEL, boxes["label"], bold=False, colour=TEXT_SOFT, max_lines=1,
                                    max_size=self._px(24)))
        number_box = boxes["number"].inflate(number_w - inner.w, 0)
        items.append(self._glyphs(ticket.number, number_box, NUMBER))
        items.append(self._text(ticket.area_name, boxes["area"], bold=True, colour=TEXT, max_lines=2,
                                max_size=self._px(36)))
        if failed:
            band = boxes["problem"]
            items.append(Panel(band, PROBLEM, None, 0, m))
            message = view.message or DEFAULT_MESSAGES[Screen.PRINT_FAILED]
            items.append(self._text(message, band.inflate(-3 * m, -m), bold=True, colour=PROBLEM_TEXT, max_lines=2,
                                    max_size=self._px(30)))
            return
        items.append(self._text(TAKE_TICKET, boxes["take"], bold=True, colour=GOOD, max_lines=1,
                                max_size=self._px(34)))
        wait = boxes["wait"]
        basis = wait_basis(ticket)
        if basis == WAIT_FREE_COUNTER:
            items.append(self._text(CALLED_NOW, wait, bold=False, colour=TEXT, max_lines=1, max_size=self._px(24)))
            return
        ahead = AHEAD_LINE.format(ahead=max(0, ticket.waiting_ahead))
        if basis == WAIT_NO_COUNTER:
            lines = (ahead, NO_COUNTER)
        else:
            lines = (ahead, f"{WAIT_LABEL} {WAIT_MINUTES.format(minutes=wait_minutes(ticket.estimated_wait_s))}")
        halves = (pygame.Rect(wait.x, wait.y, wait.w, wait.h // 2),
                  pygame.Rect(wait.x, wait.y + wait.h // 2, wait.w, wait.h - wait.h // 2))
        size = min(self.fit(nfc(line), box, bold=False, max_lines=1, max_size=self._px(24)).size
                   for line, box in zip(lines, halves, strict=True))
        for line, box in zip(lines, halves, strict=True):
            items.append(self._text(line, box, bold=False, colour=TEXT, max_lines=1, max_size=size))

    @staticmethod
    def _label_colours(ticket: IssuedTicket, note: str) -> tuple[Colour, Colour, Colour]:
        """Green for a booked slot or a remote number, amber for a priority ticket or a booking made a walk-in."""
        if note and not ticket.late_booking:
            return BOOKED, BOOKED, BOOKED_TEXT
        return PRIORITY, PRIORITY_EDGE, PRIORITY_TEXT

    def _notice(self, view: KioskView, body: pygame.Rect, items: list[Item]) -> None:
        """A message in a framed panel under a round mark: red for what needs an official (printer,
        connection), amber for a refusal or a busy server, blue for the hours."""
        m = self._m
        closed = view.screen is Screen.CLOSED
        problem = view.screen in (Screen.PRINTER_PROBLEM, Screen.PRINT_FAILED, Screen.OFFLINE)
        edge = PROBLEM if problem else TITLE if closed else WARNING_EDGE
        panel = body.inflate(-round(body.w * 0.08), -round(body.h * 0.16))
        items.append(Panel(panel, BUTTON, edge, max(4, round(self._scale * 6)), 2 * m, self._shadow()))
        mark_d = round(panel.h * (0.18 if closed else 0.24))
        text_area = pygame.Rect(panel.x + 3 * m, 0, panel.w - 6 * m, panel.h - mark_d - 7 * m)
        message = view.message or DEFAULT_MESSAGES.get(view.screen, "")
        lines = 5 if closed else 3  # the hours take room
        probe = self._text(message, text_area, bold=not closed, colour=TEXT, max_lines=lines, max_size=self._px(40))
        text_h = sum(line.rect.h for line in probe.lines)
        top = panel.y + (panel.h - (mark_d + 2 * m + text_h)) // 2
        mark = pygame.Rect(0, 0, mark_d, mark_d)
        mark.midtop = (panel.centerx, top)
        items.append(Panel(mark, edge, None, 0, mark_d // 2))
        items.append(self._glyphs("i" if closed else "!", mark.inflate(-mark_d * 2 // 5, -mark_d * 2 // 5), BUTTON))
        text_box = pygame.Rect(text_area.x, mark.bottom + 2 * m, text_area.w, text_h)
        items.append(self._text(message, text_box, bold=not closed, colour=PROBLEM if problem else TEXT,
                                max_lines=lines, max_size=probe.size))

    # --- parts --------------------------------------------------------------------------------

    def _title_height(self) -> int:
        return round(self.size[1] * 0.08)

    def _bottom_band(self, inner: pygame.Rect) -> pygame.Rect:
        band_h = round(min(self.size[1] * 0.14, self.size[0] * 0.11))
        return pygame.Rect(inner.x, inner.bottom - band_h, inner.w, band_h)

    def _back_button(self, band: pygame.Rect, items: list[Item], targets: list[tuple[pygame.Rect, str]]) -> None:
        m = self._m
        rect = pygame.Rect(band.x, band.y, max(round(band.w * 0.3), min(band.w, band.h * 3)), band.h)
        items.append(Panel(rect, BUTTON, BUTTON_EDGE, max(2, round(self._scale * 3)), self._m, self._shadow()))
        items.append(self._text(BACK_LABEL, rect.inflate(-2 * m, -m), bold=True, colour=TITLE, max_lines=1,
                                max_size=self._px(28)))
        targets.append((rect.copy(), BACK_BUTTON))

    def _area_boxes(self, area: AreaButton, cell: pygame.Rect) -> tuple[pygame.Rect, ...]:
        pad = max(self._m // 2, round(min(cell.h * 0.1, cell.w * 0.05)))
        inner = cell.inflate(-2 * pad, -2 * pad)
        if area.open:
            return (inner,)
        note_h = round(inner.h * 0.3)
        return (pygame.Rect(inner.x, inner.y, inner.w, inner.h - note_h),
                pygame.Rect(inner.x, inner.bottom - note_h, inner.w, note_h))

    def _area_button(self, area: AreaButton, cell: pygame.Rect, size: int, items: list[Item],
                     targets: list[tuple[pygame.Rect, str]]) -> None:
        boxes = self._area_boxes(area, cell)
        edge = max(2, round(self._scale * 2))
        if area.open:
            items.append(Panel(cell, BUTTON, BUTTON_EDGE, edge, self._m, self._shadow()))
            items.append(self._text(area.name, boxes[0], bold=True, colour=TEXT, max_lines=3,
                                    max_size=size))
            targets.append((cell.copy(), area_target(area.id)))
            return
        items.append(Panel(cell, CLOSED, CLOSED_EDGE, edge, self._m))
        items.append(self._text(area.name, boxes[0], bold=True, colour=CLOSED_TEXT, max_lines=3,
                                max_size=size))
        items.append(self._text(area.note or AREA_CLOSED, boxes[1], bold=False, colour=CLOSED_TEXT, max_lines=1,
                                max_size=self._px(18)))

    def _area_max(self) -> int:
        return self._px(34)

    def _grid(self, grid: pygame.Rect, count: int, label_size: Callable[[int, pygame.Rect, int], int | None],
              max_size: int) -> tuple[list[pygame.Rect], int]:
        """Cells for `count` buttons, and the text size their labels share.

        `label_size(i, cell, most)` is the size label i takes in `cell`, at most `most` (None: ignore it).
        One size for all labels looks orderly and calm; only a label that needs much smaller text
        than the others (under 70 % of the median) gets its own size rather than shrinking them all.
        The number of columns (1 to 4) whose smallest label is largest wins; then the largest
        shared size; then buttons about three times as wide as high. Rows are equally high; a
        last, shorter row is centred. A label may take one line fewer in a size a little below the
        shared one ("Người khuyết tật" beside "Người cao tuổi"): then that size is everyone's.
        """
        m = self._m
        best: tuple[tuple[bool, int, int, float], list[pygame.Rect], int] | None = None
        for cols in range(1, min(4, count) + 1):
            rows = math.ceil(count / cols)
            cell_w = (grid.w - (cols - 1) * m) // cols
            cell_h = min((grid.h - (rows - 1) * m) // rows, round(self.size[1] * 0.3))
            if cell_w < 40 or cell_h < 24:
                continue
            top = grid.y + (grid.h - (rows * cell_h + (rows - 1) * m)) // 2
            cells = []
            for index in range(count):
                row, col = divmod(index, cols)
                in_row = min(cols, count - row * cols)
                left = grid.x + (grid.w - (in_row * cell_w + (in_row - 1) * m)) // 2
                cells.append(pygame.Rect(left + col * (cell_w + m), top + row * (cell_h + m), cell_w, cell_h))
            fits = sorted(size for index, cell in enumerate(cells)
                          if (size := label_size(index, cell, max_size)) is not None) or [SIZES[-1]]
            median = fits[len(fits) // 2]
            shared = min(size for size in fits if size >= 0.7 * median)
            score = (fits[0] >= self._px(13), fits[0], shared, -abs(math.log(cell_w / cell_h / 3)))
            if best is None or score > best[0]:
                best = (score, cells, shared)
        if best is None:
            raise ValueError(f"{count} buttons do not fit into {grid}")
        cells, shared = best[1], best[2]
        sharing = [index for index, cell in enumerate(cells)
                   if (size := label_size(index, cell, max_size)) is not None and size >= shared]
        for _ in range(8):  # the sizes only fall, by ladder steps: settled in a step or two
            settled = min((label_size(index, cells[index], shared) or shared for index in sharing), default=shared)
            if settled == shared:
                break
            shared = settled
        return cells, shared

    def _glyphs(self, text: str, box: pygame.Rect, colour: Colour) -> TextBlock:
        """One line (the ticket number) as large as `box` allows, measured and centred on its ink."""
        text = nfc(text)
        size = self._glyph_sizes.get((text, box.w, box.h), partial(self._glyph_size, text, box))
        bounds = self._painter.render(text, True, size, colour).get_bounding_rect()
        ink = pygame.Rect(0, 0, bounds.w, bounds.h)
        ink.center = box.center
        origin = (ink.x - bounds.x, ink.y - bounds.y)
        return TextBlock(box.copy(), (Text(text, origin, ink, size, True, colour),), size)

    def _glyph_size(self, text: str, box: pygame.Rect) -> int:
        fit = largest_fit(SIZES, lambda candidate: (text,) if self._ink_fits(text, candidate, box) else None)
        return fit.size if fit is not None else SIZES[0]

    def _ink_fits(self, text: str, size: int, box: pygame.Rect) -> bool:
        """Whether the visible pixels of one bold line fit `box`: from the glyph metrics, nothing rendered."""
        ink = self._painter.ink(text, size, bold=True)
        return (ink.right - ink.left) * 1.02 + 2 <= box.w and (ink.top - ink.bottom) * 1.02 + 2 <= box.h

    def _priority_label(self, view: KioskView, category: str) -> str:
        return dict(view.priorities).get(category) or PRIORITY_LABELS.get(category, category)

    def _shadow(self) -> int:
        return max(2, round(self._scale * 3))

    def _px(self, size: float) -> int:
        """A size given for the small 800×480 kiosk, scaled to this screen."""
        return max(8, round(size * self._scale))

    # --- text ---------------------------------------------------------------------------------

    def _text(self, text: str, box: pygame.Rect, *, bold: bool, colour: Colour, max_lines: int,
              align: str = "center", max_size: int | None = None) -> TextBlock:
        """`text` wrapped and shrunk to fit `box`, centred vertically; never cut."""
        fit = self.fit(nfc(text), box, bold=bold, max_lines=max_lines, max_size=max_size)
        lines = self._place_lines(fit, box, bold=bold, colour=colour, align=align)
        return TextBlock(box.copy(), tuple(lines), fit.size)

    def _line_box(self, font: pygame.font.Font, line: str, bold: bool, size: int) -> tuple[int, int]:
        """Every line has the room of the tallest capitals. A line with stacked marks renders taller at the top:
        it starts higher, so that every baseline keeps its place."""
        extra = self._tall_extra(bold, size)
        return font.get_height() + extra, extra - (font.size(line)[1] - font.get_height())

    def _fit_or_none(self, text: str, box: pygame.Rect, *, bold: bool, max_lines: int, min_size: int,
                     max_size: int | None = None) -> Fit | None:
        fit = self.fit(nfc(text), box, bold=bold, max_lines=max_lines, max_size=max_size)
        return fit if fit.size >= min_size else None

    def _fit_in(self, text: str, box: pygame.Rect, bold: bool, max_lines: int, sizes: list[int]) -> Fit:
        """Lines break between word groups (ui.text). Then two preferences, each worth a slightly smaller
        size: fewer lines (down to FEWER_LINES_SHARE of the size), and breaks after ",", "." or "–" in
        as many lines (down to 88 %). When the groups fit at no size, the bare words are tried; when even
        they need more lines at the smallest size, more lines are allowed, and at the very end a word is
        broken between letters: the text is never cut. Every line takes the room of the tallest capitals.
        """
        for lines_allowed in dict.fromkeys((max_lines, 99)):  # more lines rather than tiny text
            found = largest_fit_of(text, sizes, partial(self._wrap_at, box=box, bold=bold, max_lines=lines_allowed))
            if found is not None:
                return self._preferred(*found, sizes, box, bold)
        # a word wider than the box even in the smallest size: break inside it
        return Fit(sizes[0], break_letters(text, self._painter.measure(sizes[0], bold=bold), box.w))

    def _preferred(self, fit: Fit, units: list[str], sizes: list[int], box: pygame.Rect, bold: bool) -> Fit:
        """`fit` in fewer lines, or broken after punctuation, where a size a little smaller allows it; never
        smaller than READABLE for the sake of a nicer break."""
        floor = self._px(READABLE)
        if len(fit.lines) > 1:
            for size in [s for s in sizes if max(FEWER_LINES_SHARE * fit.size, floor) <= s < fit.size][::-1]:
                fewer = self._wrap_at(units, size, box=box, bold=bold, max_lines=len(fit.lines) - 1)
                if fewer is not None:
                    fit = Fit(size, fewer)
                    break
        if len(fit.lines) > 1:
            # Lines broken after ",", "." or "–" read better: worth the same lines and a size a bit smaller.
            for size in [s for s in sizes if max(0.88 * fit.size, min(floor, fit.size)) <= s <= fit.size][::-1]:
                phrased = self._wrap_at(phrases_of(units), size, box=box, bold=bold, max_lines=len(fit.lines))
                if phrased is not None and len(phrased) == len(fit.lines):
                    return Fit(size, phrased)
        return fit

    def _wrap_at(self, words: list[str], size: int, *, box: pygame.Rect, bold: bool,
                 max_lines: int) -> tuple[str, ...] | None:
        font = self.font(size, bold=bold)
        pitch = font.get_height() + self._tall_extra(bold, size)
        lines_allowed = min(max_lines, box.h // pitch)
        if lines_allowed < 1 or not words:
            return () if not words and lines_allowed >= 1 else None
        return balanced(words, self._painter.measure(size, bold=bold), box.w, lines_allowed)

    def _tall_extra(self, bold: bool, size: int) -> int:
        """How far the stacked marks of capitals like "Ể" rise above the font's line box."""
        font = partial(self.font, size, bold=bold)
        return self._extra.get((bold, size), lambda: max(0, font().size(_TALL)[1] - font().get_height()))

    # --- painting -----------------------------------------------------------------------------

    def _paint_item(self, surface: pygame.Surface, item: TextBlock | Spinner) -> None:
        if isinstance(item, Spinner):
            self._paint_spinner(surface, item)
            return
        for line in item.lines:
            self._painter.paint(surface, line)

    def _paint_spinner(self, surface: pygame.Surface, spinner: Spinner) -> None:
        dot = max(3, spinner.radius // 6)
        for index in range(12):
            angle = 2 * math.pi * index / 12 - math.pi / 2
            x = spinner.centre[0] + round(math.cos(angle) * (spinner.radius - dot))
            y = spinner.centre[1] + round(math.sin(angle) * (spinner.radius - dot))
            age = (spinner.step - index) % 12  # 0: the brightest dot
            mix = min(1.0, age / 8)
            colour = tuple(round(c + (b - c) * mix * 0.8) for c, b in zip(spinner.colour, BACKGROUND, strict=True))
            pygame.draw.circle(surface, colour, (x, y), dot if age else round(dot * 1.3))
