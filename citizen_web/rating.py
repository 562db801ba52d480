"""The phone's rating form (issue 19): the overall level, the center's optional criteria on the same scale, and a
"phản ánh, kiến nghị"; and a sent form read against the center's names before anything reaches the server. Pure.

A browser may skip the form: a level or criterion the center does not have, a criterion sent twice, a comment
over MAX_COMMENT characters is refused here, in the citizen's words, and the page shows what they chose and typed
again. The comment goes as the server keeps it (NFC, spaces collapsed); invisible format characters (a zero-width
joiner inside an emoji, a zero-width space pasted along) are dropped, the server would refuse them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from citizen_web.follow import Names
from protocol.messages import CRITERIA_LABELS, MAX_COMMENT, RATING_LABELS, written

CRITERION = "criterion."  # a criterion's radio group is named criterion.<id>
CHOOSE_LEVEL_VI = "Mời Ông/Bà bấm một mức hài lòng chung bên dưới để gửi đánh giá."
BAD_LEVEL_VI = "Mức đánh giá không hợp lệ."
BAD_CRITERION_VI = "Tiêu chí đánh giá không hợp lệ (trang có thể đã cũ). Mời Ông/Bà chọn lại rồi gửi."
BAD_COMMENT_VI = "Phản ánh, kiến nghị có ký tự không gửi được. Vui lòng sửa lại rồi gửi."


@dataclass(frozen=True, slots=True)
class RatingForm:
    """A rating form as the phone sent it: what goes to the server, or `refusal` (why not, for the citizen)."""

    level: str
    criteria: tuple[tuple[str, str], ...] = ()  # the center's criteria rated, in its order
    comment: str | None = None  # as the server keeps it; when refused, as typed (it is shown again)
    refusal: str | None = None


def read_rating(fields: Iterable[tuple[str, str]], names: Names) -> RatingForm:
    """The form's fields (each as sent, a name possibly twice) read against the center's levels and criteria."""
    levels: list[str] = []
    comments: list[str] = []
    chosen: dict[str, str] = {}
    refusals: list[str] = []
    for name, value in fields:
        if name == "level":
            levels.append(value)
        elif name == "comment":
            comments.append(value)
        elif name.startswith(CRITERION):
            criterion = name.removeprefix(CRITERION)
            if criterion not in names.criteria or criterion in chosen:
                refusals.append(BAD_CRITERION_VI)
            elif value not in names.levels:
                refusals.append(f"Mức đánh giá cho tiêu chí «{criterion_label(criterion)}» không hợp lệ.")
            else:
                chosen[criterion] = value
    level = levels[0] if len(levels) == 1 else ""
    typed = comments[0] if len(comments) == 1 else ""
    comment = " ".join("".join(c for c in unicodedata.normalize("NFC", typed)
                               if unicodedata.category(c) != "Cf").split())
    if level not in names.levels:
        refusals.insert(0, BAD_LEVEL_VI if levels else CHOOSE_LEVEL_VI)
    if len(comments) > 1 or not written(comment):
        refusals.append(BAD_COMMENT_VI)
    elif len(comment) > MAX_COMMENT:
        refusals.append(f"Phản ánh, kiến nghị được tối đa {MAX_COMMENT} ký tự; nội dung Ông/Bà nhập có "
                        f"{len(comment)} ký tự. Vui lòng rút gọn rồi gửi lại.")
    criteria = tuple((c, chosen[c]) for c in names.criteria if c in chosen)
    if refusals:
        return RatingForm(level, criteria, typed, refusals[0])
    return RatingForm(level, criteria, comment or None)


def rating_context(names: Names | None, sent: RatingForm | None = None) -> dict[str, Any]:
    """What the ticket page's form shows: the levels (its buttons), each criterion with the level chosen for it,
    the comment; `sent`: a refused form, whose choices and text are shown again."""
    levels, criteria = (names.levels, names.criteria) if names is not None else ((), ())
    chosen = dict(sent.criteria) if sent is not None else {}
    return {"levels": [(level, RATING_LABELS.get(level, level)) for level in levels],
            "criteria": [(c, criterion_label(c), chosen.get(c)) for c in criteria],
            "comment": (sent.comment or "") if sent is not None else "", "max_comment": MAX_COMMENT,
            "opened": bool(chosen) or bool(sent and sent.comment)}


def criterion_label(criterion: str) -> str:
    return CRITERIA_LABELS.get(criterion, criterion)
