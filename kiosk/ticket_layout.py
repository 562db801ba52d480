"""The printed ticket, laid out as printer-neutral segments plus a preview of exactly what the paper shows.

Vietnamese cannot go through a printer's code pages (DESIGN.md, "Vietnamese on paper"), so every Vietnamese
line is rendered here with Pillow and DejaVu Sans as a pure black-and-white 1-bit image at the paper's width.
The big number (ASCII, e.g. "B001") and the QR code are left to the printer's own font and QR generator when the
paper profile allows: that keeps a ticket small on a slow serial line. The printer adapter only has to send the
segments in order (and cut); it needs no Pillow drawing of its own.

Lines break only between the word groups of ui.text ("màn hình", "TP. Rạch Giá" stay together), the rules the
screens use too. Pure: Pillow, qrcode and those rules (no pygame); the only I/O is reading the font files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from kiosk.model import IssuedTicket, wait_minutes
from protocol.messages import PRIORITY_LABELS, WAIT_BASES, WAIT_ESTIMATE, WAIT_FREE_COUNTER, WAIT_NO_COUNTER
from ui.text import FONT_DIRS, bind_groups, find_fonts, phrases_of, word_groups
from ui.text import NBSP as NBSP  # the no-break space a caller joins words with (re-exported)

# ---------------------------------------------------------------------------------------------------------------
# Configuration values


@dataclass(frozen=True, slots=True)
class PaperProfile:
    """What one printer and its paper can do.

    `digit_scale` is the ESC/POS `GS !` magnification (1-8) of the printer's font A (12 x 24 dots per character)
    used for the native big number; `qr_module` is dots per QR module (1-16, the ESC/POS QR "size").
    """

    width_dots: int
    native_digits: bool
    native_qr: bool
    qr_module: int = 6
    digit_scale: int = 4

    def __post_init__(self) -> None:
        if self.width_dots < 128 or self.width_dots % 8:
            raise ValueError(f"width_dots must be a multiple of 8 and at least 128, not {self.width_dots}")
        if not 1 <= self.digit_scale <= 8:
            raise ValueError(f"digit_scale must be 1-8 (ESC/POS GS !), not {self.digit_scale}")
        if not 1 <= self.qr_module <= 16:
            raise ValueError(f"qr_module must be 1-16 (ESC/POS QR size), not {self.qr_module}")


PAPER_58MM = PaperProfile(width_dots=384, native_digits=True, native_qr=True, qr_module=6, digit_scale=4)
PAPER_80MM = PaperProfile(width_dots=576, native_digits=True, native_qr=True, qr_module=7, digit_scale=6)


@dataclass(frozen=True, slots=True)
class TicketText:
    """What the center configures for its tickets.

    `qr_content` is a template (`qr_text`); empty means no QR code. `public_url`: where the center's citizen web
    is reached (the retained config's `public_url`), "" when it has none.
    """

    center_name: str
    footer: str = "Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!"
    qr_content: str = ""
    public_url: str = ""


@dataclass(frozen=True, slots=True)
class TicketFonts:
    """The font files: DejaVu Sans and Sans Bold for the text, DejaVu Sans Mono Bold to imitate printer digits."""

    regular: Path
    bold: Path
    mono_bold: Path

    @classmethod
    def default(cls, search_dirs: Sequence[Path] = FONT_DIRS) -> TicketFonts:
        return cls(*find_fonts(("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf"), search_dirs))


# ---------------------------------------------------------------------------------------------------------------
# Segments: what the printer adapter sends, in order


@dataclass(frozen=True, slots=True)
class ImageSegment:
    """A 1-bit raster image (mode "1", paper width, height a multiple of 8), printed as is."""

    image: Image.Image


@dataclass(frozen=True, slots=True)
class NumberSegment:
    """The big number in the printer's own font A at `scale` (GS ! width and height), centered, bold."""

    text: str  # printable ASCII only
    scale: int


@dataclass(frozen=True, slots=True)
class QrSegment:
    """A QR code printed natively: model 2, error correction M, `module` dots per module, centered."""

    content: str
    module: int


Segment = ImageSegment | NumberSegment | QrSegment


@dataclass(frozen=True, slots=True)
class RenderedTicket:
    segments: tuple[Segment, ...]
    preview: Image.Image  # mode "1", width == paper width: exactly what the paper shows, top to bottom


# What the ticket, and the kiosk's screen showing it, say about the wait (kiosk.view uses the same sentences).
# The server decides which (IssuedTicket.wait_basis), not the number waiting ahead: a free counter calls the
# citizen at once; otherwise the estimate, printed even with nobody ahead (the counters may all be busy); with
# no counter serving the area there is no estimate to give, and the ticket says why instead.
AHEAD_LINE = "Số người chờ trước: {ahead}"
CALLED_AT_ONCE = "Công dân sẽ được gọi ngay"
WAIT_LABEL = "Thời gian chờ dự kiến:"
WAIT_MINUTES = "khoảng {minutes} phút"
NO_COUNTER = "Hiện chưa có quầy tiếp nhận lĩnh vực này"


# How the ticket came (issue 18; the server's `channel`): a booked appointment and its slot, a number taken remotely,
# or a booking checked in too late that the center made a walk-in ticket. Nothing personal: no CCCD, no phone.
BOOKED_PAPER = "LỊCH HẸN — Khung giờ {slot}"
BOOKED_SCREEN = "Lịch hẹn — Khung giờ {slot}"
BOOKED_NO_SLOT_PAPER, BOOKED_NO_SLOT_SCREEN = "LỊCH HẸN", "Lịch hẹn"
REMOTE_PAPER, REMOTE_SCREEN = "SỐ LẤY TỪ XA", "Số lấy từ xa"
LATE_PAPER = "Lịch hẹn {slot} đã quá giờ. Số thứ tự được cấp như công dân đến trực tiếp."
LATE_NO_SLOT_PAPER = "Đã quá giờ hẹn. Số thứ tự được cấp như công dân đến trực tiếp."
LATE_SCREEN = "Đã quá giờ hẹn: cấp số như công dân đến trực tiếp"


def slot_text(ticket: IssuedTicket) -> str:
    """The booked slot as "09:00–09:30" (the center's time, as the server gave it), "" without one."""
    if ticket.slot_start is None or ticket.slot_end is None:
        return ""
    return f"{ticket.slot_start:%H:%M}–{ticket.slot_end:%H:%M}"


def channel_note(ticket: IssuedTicket) -> str:
    """What the kiosk's screen says of how the ticket came: "" for a plain walk-in."""
    slot = slot_text(ticket)
    if ticket.late_booking:
        return LATE_SCREEN
    if ticket.channel == "booked":
        return BOOKED_SCREEN.format(slot=slot) if slot else BOOKED_NO_SLOT_SCREEN
    if ticket.channel == "remote":
        return REMOTE_SCREEN
    return ""


def channel_lines(ticket: IssuedTicket) -> tuple[str, str]:
    """What the paper says of how the ticket came: (a line printed white on black, a line printed in bold), each
    "" when there is none. "Khung giờ 09:00–09:30" never breaks."""
    slot = slot_text(ticket)
    if ticket.late_booking:
        return "", _keep(LATE_PAPER.format(slot=slot), f"Lịch hẹn {slot}", "đã quá giờ") if slot else LATE_NO_SLOT_PAPER
    if ticket.channel == "booked":
        return _keep(BOOKED_PAPER.format(slot=slot), f"Khung giờ {slot}") if slot else BOOKED_NO_SLOT_PAPER, ""
    if ticket.channel == "remote":
        return REMOTE_PAPER, ""
    return "", ""


def _keep(text: str, *groups: str) -> str:
    """`text` with each of `groups` kept on one line (its spaces made no-break)."""
    for group in groups:
        text = text.replace(group, group.replace(" ", NBSP))
    return text


def wait_basis(ticket: IssuedTicket) -> str:
    """The ticket's wait basis, one of protocol.messages.WAIT_BASES; an unknown one counts as an estimate."""
    return ticket.wait_basis if ticket.wait_basis in WAIT_BASES else WAIT_ESTIMATE


# Printer font A: 12 x 24 dots per character before magnification.
FONT_A_WIDTH = 12
FONT_A_HEIGHT = 24
QR_BORDER_MODULES = 1  # what the preview draws around a QR code (python-escpos's image QR uses the same)

# ---------------------------------------------------------------------------------------------------------------
# Small public helpers


def qr_text(template: str, ticket: IssuedTicket, public_url: str = "") -> str:
    """The QR content for a ticket: `{public_url}`, `{token}`, `{ticket_id}`, `{number}` and `{area}` replaced,
    anything else kept; "" (no QR) when the template needs a public URL or a token there is none of: a QR that
    opens nothing is worse than none."""
    if ("{token}" in template and not ticket.token) or ("{public_url}" in template and not public_url):
        return ""
    values = {"{public_url}": public_url, "{token}": ticket.token, "{ticket_id}": ticket.id, "{number}": ticket.number,
              "{area}": ticket.area}
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def qr_matrix(content: str) -> list[list[bool]]:
    """The QR modules (True = dark, no border) as the printer makes them: smallest version, model 2, EC level M."""
    code = qrcode.QRCode(version=None, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(content)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def segment_height(segment: Segment) -> int:
    """Dots of paper a segment takes (an approximation for native numbers: one line of font A at `scale`)."""
    if isinstance(segment, ImageSegment):
        return segment.image.height
    if isinstance(segment, NumberSegment):
        return FONT_A_HEIGHT * segment.scale
    return (len(qr_matrix(segment.content)) + 2 * QR_BORDER_MODULES) * segment.module


def estimate_bytes(rendered: RenderedTicket) -> int:
    """Bytes an ESC/POS printer receives for the ticket (raster images, native number and QR; cut excluded)."""
    total = 0
    for segment in rendered.segments:
        if isinstance(segment, ImageSegment):
            total += segment.image.width // 8 * segment.image.height + 8  # GS v 0 header + rows
        elif isinstance(segment, NumberSegment):
            total += len(segment.text.encode("ascii")) + 10  # align, GS !, bold on/off, newline, reset
        else:
            total += len(segment.content.encode("utf-8")) + 30  # GS ( k: model, size, EC, store, print
    return total


# ---------------------------------------------------------------------------------------------------------------
# Text drawing

_THRESHOLD = 150  # grey levels below are black: a little bolder than 128, keeps thin diacritics
_LUT_1BIT = [0 if v < _THRESHOLD else 255 for v in range(256)]

FreeTypeFont = ImageFont.FreeTypeFont


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> FreeTypeFont:
    return ImageFont.truetype(str(path), size)


_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not NBSP: "12\u00a0phút" stays on one line
_GLUE = "\x1f"  # inside wrap_text only: the space within a word group (ui.text), kept apart from a caller's NBSP
_WHOLE, _RUNS, _LETTERS = 0, 1, 2  # what a wrap had to break, worst last


def nfc(text: str) -> str:
    """NFC, so every Vietnamese letter is one precomposed glyph; runs of breaking whitespace become one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def wrap_text(text: str, font: FreeTypeFont, max_width: int) -> list[str]:
    """Word wrap into as few lines as greedy wrapping needs, balanced so the last line is no lonely word.

    No line is wider than `max_width`. A line breaks only between the word groups of ui.text ("màn hình",
    "TP. Rạch Giá", "khuyết tật" stay together), and words the caller joined by no-break spaces stay together.
    A run too wide for a line on its own breaks: a caller's no-break run first into its word groups, a group
    into its words, and a single word too wide between letters.
    """
    text = bind_groups(nfc(text), _GLUE)
    lines = _balanced_wrap(text, font, max_width)
    if len(lines) >= 2:
        # Lines broken after ",", "." or "–" read better: taken when they need no more lines and break nothing.
        phrased = _bind_phrases(text)
        phrased_lines, forced = _greedy_wrap(phrased, font, max_width)
        if forced == _WHOLE and len(phrased_lines) == len(lines):
            lines = _balanced_wrap(phrased, font, max_width)
    return [line.replace(_GLUE, " ") for line in lines]


def _balanced_wrap(text: str, font: FreeTypeFont, max_width: int) -> list[str]:
    """The greedy wrap's number of lines, at the narrowest width that gives as many and breaks nothing more."""
    lines, forced = _greedy_wrap(text, font, max_width)
    if len(lines) < 2:
        return lines
    low, high = 1, max_width
    while low < high:
        middle = (low + high) // 2
        narrower, narrower_forced = _greedy_wrap(text, font, middle)
        if len(narrower) <= len(lines) and narrower_forced <= forced:
            high = middle
        else:
            low = middle + 1
    return _greedy_wrap(text, font, high)[0]


def _bind_phrases(text: str) -> str:
    """`text` (word groups glued) with each phrase, up to a word ending in punctuation, glued too."""
    return " ".join(phrase.replace(" ", _GLUE) for phrase in phrases_of(text.split(" ")))


def _width(font: FreeTypeFont, text: str) -> float:
    return font.getlength(text.replace(_GLUE, " "))


def _split_run(word: str) -> list[str]:
    """A run too wide for a line, one level looser: a caller's no-break run into its word groups (if it has
    more than one), else into its words."""
    if NBSP in word:
        groups = word_groups(word.replace(NBSP, " ").replace(_GLUE, " "))
        if len(groups) > 1:
            return [group.replace(" ", _GLUE) for group in groups]
    return [part for part in re.split(f"[{NBSP}{_GLUE}]", word) if part]


def _greedy_wrap(text: str, font: FreeTypeFont, max_width: int) -> tuple[list[str], int]:
    """Greedy wrap; also what had to be broken: _WHOLE (nothing), _RUNS (a no-break run or a word group,
    between its words) or _LETTERS (a word, between its letters)."""
    lines: list[str] = []
    current = ""
    forced = _WHOLE
    words = [word for word in reversed(text.split(" ")) if word]  # a stack: next word last
    while words:
        word = words.pop()
        candidate = f"{current} {word}" if current else word
        if _width(font, candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        if _width(font, word) > max_width and (NBSP in word or _GLUE in word):
            forced = max(forced, _RUNS)
            words.extend(reversed(_split_run(word)))
            continue
        while len(word) > 1 and _width(font, word) > max_width:
            forced = _LETTERS
            cut = 1
            while cut < len(word) and _width(font, word[: cut + 1]) <= max_width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines, forced


def to_1bit(image: Image.Image) -> Image.Image:
    """Threshold (no dithering) a grey image to pure black and white."""
    return image.convert("L").point(_LUT_1BIT, "1")


def draw_text_block(
    text: str,
    font: FreeTypeFont,
    width: int,
    margin: int,
    *,
    line_gap: int = 2,
    inverted: bool = False,
    pad: int = 0,
) -> Image.Image:
    """Wrapped, centered lines of `text` on a white (or, inverted, black) band `width` wide; mode "L".

    Lines never reach into the side margins. Each line's height makes room for its tallest stacked diacritic.
    """
    usable = width - 2 * margin - 2 * pad
    lines = wrap_text(text, font, usable)
    ascent, descent = font.getmetrics()
    boxes = [font.getbbox(line, anchor="ls") for line in lines]
    heights = [(max(ascent, -int(top)), max(descent, int(bottom))) for (_l, top, _r, bottom) in boxes]
    total = sum(up + down for up, down in heights) + line_gap * max(0, len(lines) - 1) + 2 * pad
    background, ink = (0, 255) if inverted else (255, 0)
    image = _blank(width, max(total, 1))
    draw = ImageDraw.Draw(image)
    draw.rectangle((margin, 0, width - margin - 1, image.height - 1), fill=background)
    y = pad
    for line, (up, down) in zip(lines, heights, strict=True):
        draw.text((width / 2, y + up), line, font=font, fill=ink, anchor="ms")
        y += up + down + line_gap
    return image


def _blank(width: int, height: int) -> Image.Image:
    return Image.new("L", (width, height), 255)


def _rule(width: int, margin: int, thickness: int) -> Image.Image:
    image = _blank(width, thickness)
    ImageDraw.Draw(image).rectangle((margin, 0, width - margin - 1, thickness - 1), fill=0)
    return image


def _fit_number_image(text: str, font_path: Path, width: int, margin: int, height: int) -> Image.Image:
    """The number in DejaVu Sans Bold as large as fits: ink about `height` * 0.8 tall, within the margins."""
    target_ink, usable = int(height * 0.8), width - 2 * margin
    left, top, right, bottom = _font(font_path, 100).getbbox(text or "0", anchor="ls")
    size = max(8, int(100 * min(target_ink / max(1, bottom - top), usable / max(1, right - left))))
    font = _font(font_path, size)
    while size > 8:  # the estimate scales linearly; hinting may add a dot or two
        font = _font(font_path, size)
        left, top, right, bottom = font.getbbox(text, anchor="ls")
        if bottom - top <= target_ink and right - left <= usable:
            break
        size -= 1
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    image = _blank(width, height)
    x = (width - (right - left)) / 2 - left
    y = (height - (bottom - top)) / 2 - top
    ImageDraw.Draw(image).text((x, y), text, font=font, fill=0, anchor="ls")
    return image


def draw_native_number(text: str, scale: int, width: int, mono_bold: Path) -> Image.Image:
    """An approximation of the printer's font A at `scale`: cells 12*scale x 24*scale, centered, bold; mode "L"."""
    cell_w, cell_h = FONT_A_WIDTH * scale, FONT_A_HEIGHT * scale
    # DejaVu Sans Mono advances 0.602 em: size the font so one advance is one cell.
    font = _font(mono_bold, max(4, round(cell_w / 0.602)))
    strip_w = cell_w * len(text)
    _, top, _, bottom = font.getbbox(text, anchor="ls")
    glyphs = Image.new("L", (strip_w, int(bottom - top)), 255)
    ImageDraw.Draw(glyphs).text((0, -top), text, font=font, fill=0, anchor="ls")
    # Font A glyphs are taller than DejaVu's: about 18 of the 24 rows; stretch vertically to that.
    glyph_h = round(cell_h * 0.75)
    glyphs = glyphs.resize((strip_w, glyph_h), Image.Resampling.BILINEAR)
    image = _blank(width, cell_h)
    image.paste(glyphs, ((width - strip_w) // 2, (cell_h - glyph_h) // 2))
    return image


def draw_qr(content: str, module: int, width: int) -> Image.Image:
    """The QR code as the printer draws it: `module` dots per module, a 1-module white border, centered."""
    matrix = qr_matrix(content)
    side = (len(matrix) + 2 * QR_BORDER_MODULES) * module
    image = _blank(width, side)
    draw = ImageDraw.Draw(image)
    x0 = (width - side) // 2 + QR_BORDER_MODULES * module
    y0 = QR_BORDER_MODULES * module
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                x, y = x0 + c * module, y0 + r * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=0)
    return image


# ---------------------------------------------------------------------------------------------------------------
# The ticket


@dataclass(frozen=True, slots=True)
class TextSizes:
    """Font sizes (pixels = dots) and side margin of the text for one paper width."""

    margin: int
    center: int
    area: int
    label: int
    body: int
    footer: int


def text_sizes(width_dots: int) -> TextSizes:
    # Same dot density on both papers (8 dots/mm): 80 mm gets slightly larger type, not 1.5x.
    if width_dots >= 512:
        return TextSizes(margin=12, center=28, area=36, label=28, body=26, footer=22)
    return TextSizes(margin=8, center=24, area=30, label=24, body=22, footer=19)


def _native_scale(text: str, paper: PaperProfile) -> int:
    """The magnification for the native number: the profile's, smaller if the number would not fit the paper."""
    fits = paper.width_dots // (FONT_A_WIDTH * max(1, len(text)))
    return max(0, min(paper.digit_scale, fits, 8))


def _is_printer_ascii(text: str) -> bool:
    return bool(text) and all(" " <= ch <= "~" for ch in text)


def _qr_module(content: str, paper: PaperProfile) -> int:
    modules = len(qr_matrix(content)) + 2 * QR_BORDER_MODULES
    return max(1, min(paper.qr_module, paper.width_dots // modules))


def render_ticket(ticket: IssuedTicket, text: TicketText, paper: PaperProfile, fonts: TicketFonts) -> RenderedTicket:
    """Lay out one ticket as segments for the printer and one preview image of the paper."""
    width = paper.width_dots
    size = text_sizes(width)
    regular = _font(fonts.regular, size.body)
    bold = _font(fonts.bold, size.body)

    parts: list[Image.Image | NumberSegment | QrSegment] = []

    def block(value: str, font: FreeTypeFont, *, inverted: bool = False, pad: int = 0) -> None:
        parts.append(draw_text_block(value, font, width, size.margin, inverted=inverted, pad=pad))

    parts.append(_blank(width, 8))
    if nfc(text.center_name):
        block(text.center_name, _font(fonts.bold, size.center))
        parts.append(_blank(width, 8))
    parts.append(_rule(width, size.margin, 3))
    parts.append(_blank(width, 12))
    block(ticket.area_name, _font(fonts.bold, size.area))
    parts.append(_blank(width, 14))
    block("SỐ THỨ TỰ", _font(fonts.regular, size.label))
    parts.append(_blank(width, 6))

    number = nfc(ticket.number)
    scale = _native_scale(number, paper)
    if paper.native_digits and _is_printer_ascii(number) and scale >= 1:
        parts.append(NumberSegment(number, scale))
    else:
        parts.append(_fit_number_image(number, fonts.bold, width, size.margin, FONT_A_HEIGHT * paper.digit_scale))
    parts.append(_blank(width, 10))

    channel, late = channel_lines(ticket)
    if channel:
        block(channel, bold, inverted=True, pad=5)
        parts.append(_blank(width, 10))
    if late:
        block(late, bold)
        parts.append(_blank(width, 10))
    if ticket.priority != "none":
        label = PRIORITY_LABELS.get(ticket.priority, ticket.priority)
        block(f"Ưu tiên: {label}", bold, inverted=True, pad=5)
        parts.append(_blank(width, 10))

    local = ticket.issued_at
    block(f"Giờ lấy số: {local:%H:%M}{NBSP}–{NBSP}{local:%d/%m/%Y}", regular)
    parts.append(_blank(width, 4))
    parts.append(_blank(width, 4))
    basis = wait_basis(ticket)
    if basis == WAIT_FREE_COUNTER:
        block(CALLED_AT_ONCE, bold)
    else:
        block(AHEAD_LINE.format(ahead=max(0, ticket.waiting_ahead)), regular)
        parts.append(_blank(width, 4))
        if basis == WAIT_NO_COUNTER:
            block(NO_COUNTER, bold)
        else:
            block(WAIT_LABEL, regular)
            block(WAIT_MINUTES.format(minutes=wait_minutes(ticket.estimated_wait_s)), bold)

    content = qr_text(text.qr_content, ticket, text.public_url)
    if content:
        parts.append(_blank(width, 14))
        module = _qr_module(content, paper)
        if paper.native_qr:
            parts.append(QrSegment(content, module))
        else:
            parts.append(draw_qr(content, module, width))
        parts.append(_blank(width, 10))
    else:
        parts.append(_blank(width, 14))

    if nfc(text.footer):
        parts.append(_rule(width, size.margin * 4, 1))
        parts.append(_blank(width, 8))
        block(text.footer, _font(fonts.regular, size.footer))
    parts.append(_blank(width, 24))  # feed; the adapter's cut feeds the rest up to the blade

    segments = _merge(parts, width)
    return RenderedTicket(segments=segments, preview=_preview(segments, width, fonts))


def _merge(parts: list[Image.Image | NumberSegment | QrSegment], width: int) -> tuple[Segment, ...]:
    """Consecutive images become one 1-bit ImageSegment, padded with white to a multiple of 8 rows."""
    segments: list[Segment] = []
    run: list[Image.Image] = []

    def flush() -> None:
        if not run:
            return
        height = sum(image.height for image in run)
        height += -height % 8
        merged = _blank(width, height)
        y = 0
        for image in run:
            merged.paste(image, (0, y))
            y += image.height
        segments.append(ImageSegment(to_1bit(merged)))
        run.clear()

    for part in parts:
        if isinstance(part, Image.Image):
            run.append(part)
        else:
            flush()
            segments.append(part)
    flush()
    return tuple(segments)


def _preview(segments: tuple[Segment, ...], width: int, fonts: TicketFonts) -> Image.Image:
    pieces: list[Image.Image] = []
    for segment in segments:
        if isinstance(segment, ImageSegment):
            pieces.append(segment.image)
        elif isinstance(segment, NumberSegment):
            pieces.append(to_1bit(draw_native_number(segment.text, segment.scale, width, fonts.mono_bold)))
        else:
            pieces.append(to_1bit(draw_qr(segment.content, segment.module, width)))
    preview = Image.new("1", (width, sum(piece.height for piece in pieces)), 1)
    y = 0
    for piece in pieces:
        preview.paste(piece, (0, y))
        y += piece.height
    return preview
