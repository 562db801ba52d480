"""What the kiosk's and the hall board's renderers share: a screen of one size, its fonts and caches, and painting.

Each screen lays its views out as scenes and keeps its own rule for how text fits a box (ui.text says why).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import pygame

from ui.text import Colour, Fit, FontFiles, Panel, Text, TextPainter, aligned_x, paint_panel, sizes_up_to

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")
Item = TypeVar("Item")  # what a screen paints besides panels and lines


class Memo(Generic[Key, Value]):
    """Values made once per key, all forgotten when more than `limit` are kept."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[Key, Value] = {}

    def get(self, key: Key, make: Callable[[], Value]) -> Value:
        if key not in self._values:
            if len(self._values) > self._limit:
                self._values.clear()
            self._values[key] = make()
        return self._values[key]


class Renderer(ABC, Generic[Item]):
    """Draws on a screen of one size. Holds only fonts and caches, no screen state."""

    def __init__(self, size: tuple[int, int], fonts: FontFiles | None, *, screen: str, smallest: tuple[int, int],
                 sized_for: tuple[int, int], ladder: tuple[int, ...], background: Colour, shadow: Colour = (0, 0, 0),
                 font_cache: int, render_cache_px: int, fit_cache: int) -> None:
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < smallest[0] or self.size[1] < smallest[1]:
            raise ValueError(f"{screen} screen {self.size} is too small (at least {smallest[0]}×{smallest[1]})")
        self._painter = TextPainter(fonts, font_cache=font_cache, render_cache_px=render_cache_px)
        self._fits: Memo[tuple[object, ...], Fit] = Memo(fit_cache)
        self._sizes = ladder
        self._background, self._shadow_colour = background, shadow
        self._scale = min(self.size[0] / sized_for[0], self.size[1] / sized_for[1])  # 1.0 on the `sized_for` screen

    def font(self, size: int, *, bold: bool = False) -> pygame.font.Font:
        """The cached font of `size` pixels (one Font per size and weight)."""
        return self._painter.font(size, bold=bold)

    def fit(self, text: str, box: pygame.Rect, *, bold: bool, max_lines: int, max_size: int | None = None) -> Fit:
        """The largest ladder size (at most `max_size`) at which `text` wraps into `box` within `max_lines`
        lines, by the screen's rule (`_fit_in`); never cut."""
        return self._fits.get((text, box.w, box.h, bold, max_lines, max_size),
                              lambda: self._fit_in(text, box, bold, max_lines, sizes_up_to(self._sizes, max_size)))

    @abstractmethod
    def _fit_in(self, text: str, box: pygame.Rect, bold: bool, max_lines: int, sizes: list[int]) -> Fit:
        """`fit` worked out, from `sizes` (ascending)."""

    def _place_lines(self, fit: Fit, box: pygame.Rect, *, bold: bool, colour: Colour, align: str) -> list[Text]:
        """`fit`'s lines in `box`, centred vertically, each aligned by `align` (ui.text.aligned_x)."""
        font = self.font(fit.size, bold=bold)
        line_boxes = [self._line_box(font, line, bold, fit.size) for line in fit.lines]
        y = box.y + max(0, (box.h - sum(height for height, _ in line_boxes)) // 2)
        lines = []
        for line, (height, drop) in zip(fit.lines, line_boxes, strict=True):
            width = font.size(line)[0]
            x = aligned_x(box, width, align)
            lines.append(Text(line, (x, y + drop), pygame.Rect(x, y, width, height), fit.size, bold, colour))
            y += height
        return lines

    @abstractmethod
    def _line_box(self, font: pygame.font.Font, line: str, bold: bool, size: int) -> tuple[int, int]:
        """How tall `line`'s box is, by the screen's rule, and how far below its top the rendered line starts."""

    def _paint(self, surface: pygame.Surface, items: Iterable[Panel | Text | Item]) -> None:
        """Paint a scene's items on `surface` (of this renderer's size) in order, over the background."""
        if surface.get_size() != self.size:
            raise ValueError(f"surface is {surface.get_size()}, this renderer draws {self.size}")
        surface.fill(self._background)
        for item in items:
            if isinstance(item, Panel):
                paint_panel(surface, item, self._shadow_colour)
            elif isinstance(item, Text):
                self._painter.paint(surface, item)
            else:
                self._paint_item(surface, item)

    @abstractmethod
    def _paint_item(self, surface: pygame.Surface, item: Item) -> None:
        """Paint an item only this screen has."""
