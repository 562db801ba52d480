"""The kiosk's display: a pygame window (KMS/DRM on a Pi without a desktop, X11/Wayland in a
session, the dummy driver in tests) that shows views and turns touches into touch targets.

Keys pressed in the window are kept for a QR scanner that types as a keyboard (kiosk.scanner): the
window's events are read once, here, and the scanner takes its keys from `key_presses()`.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import pygame

from kiosk.model import KioskView
from kiosk.scanner import MAX_SCAN, KeyPress
from kiosk.view import KioskRenderer

END_KEYS = frozenset({pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_TAB})  # what ends a scanner's burst


class PygameDisplay:
    def __init__(self, width: int, height: int, *, fullscreen: bool) -> None:
        pygame.display.init()
        pygame.font.init()
        flags = pygame.FULLSCREEN if fullscreen else 0
        self._surface = pygame.display.set_mode((width, height) if width and height else (0, 0), flags)
        pygame.display.set_caption("Lấy số thứ tự")
        pygame.mouse.set_visible(not fullscreen)
        self._renderer = KioskRenderer(self._surface.get_size())
        self._targets: list[tuple[pygame.Rect, str]] = []
        self._keys: deque[KeyPress] = deque(maxlen=4 * MAX_SCAN)  # bounded: nobody may be reading them
        self.shown: KioskView | None = None  # the view on screen now (a test takes its screenshot once it is)

    @property
    def size(self) -> tuple[int, int]:
        return self._surface.get_size()

    def show(self, view: KioskView) -> None:
        self._targets = self._renderer.draw(view, self._surface)
        pygame.display.flip()
        self.shown = view

    def touches(self) -> list[str]:
        """The targets touched (finger or left mouse button) since the last call."""
        width, height = self.size
        touched = []
        now = time.monotonic()
        for event in pygame.event.get():
            if event.type == pygame.KEYDOWN:
                char = getattr(event, "unicode", "")
                text = char if len(char) == 1 and char.isprintable() else ""
                self._keys.append(KeyPress(text, getattr(event, "key", None) in END_KEYS or char in ("\r", "\n"), now))
                continue
            if event.type == pygame.FINGERDOWN:
                position = (event.x * width, event.y * height)
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and not getattr(event, "touch", False):
                position = event.pos  # a mouse (a finger also sends a synthetic click, marked `touch`)
            else:
                continue
            touched += [target for rect, target in self._targets if rect.collidepoint(position)][:1]
        return touched

    def key_presses(self) -> list[KeyPress]:
        """The keys pressed in the window since the last call (read by `touches()`), oldest first."""
        keys = list(self._keys)
        self._keys.clear()
        return keys

    def target_centre(self, target: str) -> tuple[int, int] | None:
        """Where a target is on screen now (for simulated touches)."""
        return next((rect.center for rect, name in self._targets if name == target), None)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self._surface, str(path))

    def close(self) -> None:
        pygame.display.quit()
