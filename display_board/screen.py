"""The hall board's display: a pygame window (KMS/DRM on a Pi without a desktop, the dummy driver in tests)."""

from __future__ import annotations

from pathlib import Path

import pygame

from display_board.model import BoardView
from display_board.view import BoardRenderer


class PygameBoardScreen:
    def __init__(self, width: int, height: int, *, fullscreen: bool) -> None:
        pygame.display.init()
        pygame.font.init()
        flags = pygame.FULLSCREEN if fullscreen else 0
        self._surface = pygame.display.set_mode((width, height) if width and height else (0, 0), flags)
        pygame.display.set_caption("Bảng gọi số")
        pygame.mouse.set_visible(False)
        self._renderer = BoardRenderer(self._surface.get_size())

    def show(self, view: BoardView) -> None:
        pygame.event.pump()  # keep the window responsive; the board takes no input
        self._renderer.draw(view, self._surface)
        pygame.display.flip()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self._surface, str(path))

    def close(self) -> None:
        pygame.display.quit()
