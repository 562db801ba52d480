"""What the kiosk's and the hall board's screen tests share: the Vietnamese letters, the tofu check, saving."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pygame

from ui.text import word_groups

# Every Vietnamese letter with a diacritic, lower and upper case: 67 + 67.
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền, sắc, hỏi, ngã, nặng
VOWELS = "aăâeêioôơuưy"
LOWER = ["đ"] + [
    unicodedata.normalize("NFC", vowel + tone) for vowel in VOWELS for tone in TONES if vowel + tone not in "aeiouy"
]
VIETNAMESE_LETTERS = "".join(LOWER) + "".join(letter.upper() for letter in LOWER)


def tofu(font: pygame.font.Font) -> list[str]:
    """Letters the font draws as its .notdef box, like U+FFFF (a noncharacter no font has)."""
    notdef = pygame.image.tobytes(font.render("\uffff", False, (0, 0, 0), (255, 255, 255)), "RGB")
    return [letter for letter in VIETNAMESE_LETTERS
            if pygame.image.tobytes(font.render(letter, False, (0, 0, 0), (255, 255, 255)), "RGB") == notdef]


def save(surface: pygame.Surface, name: str, tmp_path: Path, look: Path) -> None:
    """`surface` as "{name}-{width}x{height}.png" in `tmp_path`, and a copy in `look` to look at."""
    width, height = surface.get_size()
    file_name = f"{name}-{width}x{height}.png"
    pygame.image.save(surface, str(tmp_path / file_name))
    look.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(look / file_name))


def split_groups(lines: list[str]) -> list[str]:
    """The word groups (ui.text) that the breaks between `lines` fall inside, e.g. ["màn hình"]: none is right."""
    starts, at = set(), 0
    for line in lines[:-1]:
        at += len(line) + 1
        starts.add(at)  # where the next line starts in the lines joined by spaces
    split, at = [], 0
    for group in word_groups(" ".join(lines)):
        if any(at < start < at + len(group) for start in starts):
            split.append(group)
        at += len(group) + 1
    return split
