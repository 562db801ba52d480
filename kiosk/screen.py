"""The kiosk's display: a pygame window (KMS/DRM on a Pi without a desktop, X11/Wayland in a
session, the dummy driver in tests) that shows views and turns touches into touch targets."""

from __future__ import annotations

from pathlib import Path

import pygame

from kiosk.model import KioskView
from kiosk.view import KioskRenderer


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

    @property
    def size(self) -> tuple[int, int]:
        return self._surface.get_size()

    def show(self, view: KioskView) -> None:
        self._targets = self._renderer.draw(view, self._surface)
        pygame.display.flip()

    def touches(self) -> list[str]:
        """The targets touched (finger or left mouse button) since the last call."""
        width, height = self.size
        touched = []
        for event in pygame.event.get():
            if event.type == pygame.FINGERDOWN:
                position = (event.x * width, event.y * height)
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and not getattr(event, "touch", False):
                position = event.pos  # a mouse (a finger also sends a synthetic click, marked `touch`)
            else:
                continue
            touched += [target for rect, target in self._targets if rect.collidepoint(position)][:1]
        return touched

    def target_centre(self, target: str) -> tuple[int, int] | None:
        """Where a target is on screen now (for simulated touches)."""
        return next((rect.center for rect, name in self._targets if name == target), None)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self._surface, str(path))

    def close(self) -> None:
        pygame.display.quit()
