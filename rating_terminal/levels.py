"""Which rating level each of the terminal's buttons means: by position, best first, from the center's levels.

The center may change its levels while everything runs (the retained `config`); a button's sticker is
only a label, so no terminal's file has to change with them. Pure: no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from protocol.messages import RATING_LABELS

Meaning = tuple[str | None, ...]  # per button, best first: the level it sends now; None: it stays dark


def button_levels(buttons: int, levels: Sequence[str]) -> Meaning:
    """The level each of `buttons` buttons means, `levels` best first.

    As many buttons as levels: button i is level i. Otherwise the best button is the best level and the
    worst button the worst, the others spread evenly: with fewer buttons each button takes the level
    nearest its place (some levels cannot be given); with more, each level takes the button nearest
    its place and the buttons left over stay dark. A single button is the best level.
    """
    meaning: list[str | None] = [None] * buttons
    if buttons <= len(levels):
        for button in range(buttons):
            meaning[button] = levels[spread(button, buttons - 1, len(levels) - 1)]
    else:
        for index, level in enumerate(levels):
            meaning[spread(index, len(levels) - 1, buttons - 1)] = level
    return tuple(meaning)


def spread(index: int, last: int, onto: int) -> int:
    """`index` of 0..`last` placed on 0..`onto`, ends on ends: round(index * onto / last), in integers.

    Python's round() sends halves to the even number, which breaks the mirror (7 levels on 10 buttons
    would take buttons 0, 2, 3, 4, 6, 8, 9). Here a half goes to the nearer end, so the worst end mirrors the
    best, and the exact middle (the only half with at most 5 buttons and 5 levels, e.g. 3 buttons for
    4 levels) goes to the better one. Placing 0..`last` on a longer 0..`onto` keeps the indexes distinct:
    each step is more than 1 and the rounding never goes back.
    """
    if last == 0:
        return 0
    if 2 * index > last:  # the worse half: the mirror of the better half
        return onto - spread(last - index, last, onto)
    return (2 * index * onto + last - 1) // (2 * last)  # index * onto / last, a half rounded down


def explain(labels: Sequence[str | None], levels: Sequence[str]) -> list[tuple[int, str]]:
    """What the terminal logs (logging level, line) when the center's `levels` arrive or change: which
    button means what, whether the counts differ, and each sticker (`labels`, best first) now wrong."""
    meaning = button_levels(len(labels), levels)
    if not meaning:
        return []
    span = "button 1" if len(meaning) == 1 else f"buttons 1..{len(meaning)}"
    lines = [(logging.INFO, f"{span} -> {', '.join(level or '(dark)' for level in meaning)}")]
    if len(meaning) != len(levels):
        lines.append((logging.WARNING, _counts(meaning, levels)))
    for button, (label, level) in enumerate(zip(labels, meaning, strict=True), start=1):
        if label is not None and label != level:
            lines.append((logging.WARNING, _sticker(button, label, level)))
    return lines


def _counts(meaning: Meaning, levels: Sequence[str]) -> str:
    said = f"{len(meaning)} rating button{'s' if len(meaning) > 1 else ''} for the center's {len(levels)} levels"
    if len(meaning) < len(levels):
        missing = [level for level in levels if level not in meaning]
        return f"{said}: {', '.join(missing)} cannot be given here (fit {len(levels)} buttons to offer them all)"
    dark = [str(button) for button, level in enumerate(meaning, start=1) if level is None]
    return f"{said}: button{'s' if len(dark) > 1 else ''} {', '.join(dark)} stay{'' if len(dark) > 1 else 's'} dark"


def _sticker(button: int, label: str, level: str | None) -> str:
    if level is None:
        return f"button {button} is labelled {label!r} but now stays dark: cover its sticker"
    says = RATING_LABELS.get(level)
    return (f"button {button} is labelled {label!r} but now means {level!r}: change its sticker"
            + (f' (to "{says}")' if says else ""))
