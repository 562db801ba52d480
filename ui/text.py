"""Fonts, text and fitting for the kiosk's and the hall board's screens.

Text is set in DejaVu Sans, which has every Vietnamese letter (pygame's default font lacks most),
normalised to NFC. The font files are read once; Fonts and rendered lines are kept in bounded
caches, so a redraw blits and does not render. Sizes come from a ladder (about 7 % apart), so a few
dozen Font objects serve every text. Each screen keeps its own fitting rules (how a box's height
counts, what happens when nothing fits) and builds them from the pieces here.
"""

from __future__ import annotations

import io
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pygame

from protocol.errors import QmsError

Colour = tuple[int, int, int]
Measure = Callable[[str], int]  # a line's width in pixels

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


class FontsMissing(QmsError):
    """The TTF files with full Vietnamese coverage are not installed."""


class FontFiles(NamedTuple):
    regular: Path
    bold: Path


def default_fonts(directory: Path = FONT_DIR) -> FontFiles:
    """DejaVu Sans and DejaVu Sans Bold, which the Debian package fonts-dejavu-core installs."""
    files = FontFiles(directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf")
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FontsMissing(
            f"screen font not found: {', '.join(missing)}; install the Debian package fonts-dejavu-core"
            " (apt install fonts-dejavu-core)"
        )
    return files


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def size_ladder(steps: int) -> tuple[int, ...]:
    """Font sizes from 8 px up, about 7 % apart, `steps` rungs (fewer where two round alike)."""
    return tuple(sorted({round(8 * 1.07**k) for k in range(steps)}))


def sizes_up_to(ladder: Sequence[int], max_size: int | None) -> list[int]:
    """The ladder's sizes not above `max_size` (all of them for None), at least its smallest."""
    return [size for size in ladder if max_size is None or size <= max_size] or [ladder[0]]


# --- what screens are made of -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Panel:
    """A filled, optionally rounded and bordered rectangle; `shadow` adds a drop shadow that far below."""

    rect: pygame.Rect
    fill: Colour
    edge: Colour | None = None
    edge_width: int = 0
    radius: int = 0
    shadow: int = 0


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text: rendered in `size`, `bold` and `colour`, blitted at `origin`.

    `rect` is what the line covers: its line box, or only its ink for a large number.
    """

    text: str
    origin: tuple[int, int]
    rect: pygame.Rect
    size: int
    bold: bool
    colour: Colour


def paint_panel(surface: pygame.Surface, panel: Panel, shadow_colour: Colour = (0, 0, 0)) -> None:
    if panel.shadow:
        pygame.draw.rect(surface, shadow_colour, panel.rect.move(0, panel.shadow), border_radius=panel.radius)
    pygame.draw.rect(surface, panel.fill, panel.rect, border_radius=panel.radius)
    if panel.edge is not None and panel.edge_width > 0:
        pygame.draw.rect(surface, panel.edge, panel.rect, panel.edge_width, border_radius=panel.radius)


# --- fonts and rendered lines -------------------------------------------------------------------


class Ink(NamedTuple):
    """Where a line's visible pixels lie: top and bottom from the baseline (up is positive), left and right
    from the pen's start."""

    top: int
    bottom: int
    left: int
    right: int


class TextPainter:
    """The two DejaVu fonts, read once, as cached Fonts of any size, and cached rendered lines."""

    def __init__(self, fonts: FontFiles | None = None, *, font_cache: int, render_cache_px: int) -> None:
        files = fonts or default_fonts()
        if not pygame.font.get_init():
            pygame.font.init()
        # Read once: drawing never touches the disk.
        self._data = {False: files.regular.read_bytes(), True: files.bold.read_bytes()}
        # Bounded: a Font costs ~170 KB and a large rendered line a few MB.
        self._font_cache = font_cache
        self._render_cache_px = render_cache_px
        self._fonts: OrderedDict[tuple[bool, int], pygame.font.Font] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, bool, int, Colour], pygame.Surface] = OrderedDict()
        self._rendered_px = 0

    def font(self, size: int, *, bold: bool = False) -> pygame.font.Font:
        """The cached font of `size` pixels (one Font per size and weight)."""
        key = (bold, size)
        font = self._fonts.get(key)
        if font is None:
            font = pygame.font.Font(io.BytesIO(self._data[bold]), size)  # from memory: no disk I/O
            self._fonts[key] = font
            if len(self._fonts) > self._font_cache:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font

    def measure(self, size: int, *, bold: bool = False) -> Measure:
        font = self.font(size, bold=bold)
        return lambda text: font.size(text)[0]

    def ink(self, text: str, size: int, *, bold: bool = False) -> Ink:
        """Where the visible pixels of one line lie, from the glyph metrics (nothing is rendered)."""
        pen, left, right, top, bottom = 0, 0, 0, 0, 0
        first = True
        for metrics in self.font(size, bold=bold).metrics(text):
            if metrics is None:
                continue
            min_x, max_x, min_y, max_y, advance = metrics
            left = pen + min_x if first else min(left, pen + min_x)
            right, top, bottom = max(right, pen + max_x), max(top, max_y), min(bottom, min_y)
            pen += advance
            first = False
        return Ink(top, bottom, left, right)

    def render(self, text: str, bold: bool, size: int, colour: Colour) -> pygame.Surface:
        key = (text, bold, size, colour)
        surface = self._rendered.get(key)
        if surface is not None:
            self._rendered.move_to_end(key)
            return surface
        surface = self.font(size, bold=bold).render(text, True, colour)
        self._rendered[key] = surface
        self._rendered_px += surface.get_width() * surface.get_height()
        while self._rendered_px > self._render_cache_px and len(self._rendered) > 1:
            _, old = self._rendered.popitem(last=False)
            self._rendered_px -= old.get_width() * old.get_height()
        return surface

    def paint(self, surface: pygame.Surface, text: Text) -> None:
        surface.blit(self.render(text.text, text.bold, text.size, text.colour), text.origin)


# --- fitting ------------------------------------------------------------------------------------


class Fit(NamedTuple):
    size: int
    lines: tuple[str, ...]


def largest_fit(sizes: Sequence[int], lines_at: Callable[[int], tuple[str, ...] | None]) -> Fit | None:
    """The largest of `sizes` (ascending) at which `lines_at` fits the text, if any.

    Fitting is monotone in the size, so this searches by halves.
    """
    fit: Fit | None = None
    low, high = 0, len(sizes) - 1
    while low <= high:
        mid = (low + high) // 2
        lines = lines_at(sizes[mid])
        if lines is not None:
            fit, low = Fit(sizes[mid], lines), mid + 1
        else:
            high = mid - 1
    return fit


def aligned_x(box: pygame.Rect, width: int, align: str) -> int:
    """Where a line `width` pixels wide starts in `box`: "left", "right", or else centred."""
    if align == "left":
        return box.x
    if align == "right":
        return box.right - width
    return box.x + (box.w - width) // 2


def words_of(text: str) -> list[str]:
    """Words to wrap between; a dash stays at the end of the line before it ("Tư pháp –")."""
    out: list[str] = []
    for word in text.split():
        if out and word in ("–", "—", "-", ":"):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def phrases_of(words: Sequence[str]) -> list[str]:
    """Words grouped into phrases that end at punctuation, to break lines between them."""
    out: list[str] = []
    current: list[str] = []
    for word in words:
        current.append(word)
        if word[-1] in ",.;:–—":
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


def balanced(words: Sequence[str], measure: Measure, width: int, max_lines: int) -> tuple[str, ...] | None:
    """`words` in as few lines as fit `width` (at most `max_lines`), the lines as even as possible."""
    if not words:
        return ()
    if any(measure(word) > width for word in words):
        return None
    whole = " ".join(words)
    if measure(whole) <= width:
        return (whole,)
    count, current = 1, ""
    for word in words:  # greedy: the fewest lines
        candidate = f"{current} {word}" if current else word
        if current and measure(candidate) > width:
            count, current = count + 1, word
        else:
            current = candidate
    if count > max_lines:
        return None
    total = len(words)
    widths: dict[tuple[int, int], int] = {}
    best: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}

    def cost(start: int, end: int) -> int:
        if (start, end) not in widths:
            widths[start, end] = measure(" ".join(words[start:end]))
        return widths[start, end]

    def split(start: int, lines: int) -> tuple[int, tuple[int, ...]]:
        """(widest line, line ends) for words[start:] in exactly `lines` lines."""
        if lines == 1:
            return cost(start, total), (total,)
        key = (start, lines)
        if key not in best:
            best[key] = min(
                (max(cost(start, end), rest[0]), (end, *rest[1]))
                for end in range(start + 1, total - lines + 2)
                if cost(start, end) <= width
                for rest in [split(end, lines - 1)]
            )
        return best[key]

    widest, ends = split(0, count)
    if widest > width:
        return None
    starts = (0, *ends[:-1])
    return tuple(" ".join(words[a:b]) for a, b in zip(starts, ends, strict=True))


def break_letters(text: str, measure: Measure, width: int) -> tuple[str, ...]:
    """A text with a word wider than `width`: broken between letters, never cut."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and measure(current + char) > width:
            lines.append(current.rstrip())
            current = char.lstrip()
        else:
            current += char
    if current:
        lines.append(current)
    return tuple(lines)
