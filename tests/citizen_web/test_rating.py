"""The phone's rating form read against the center's names (citizen_web/rating.py): what goes to the server, and
what is refused before it (a browser may skip the form), with what the citizen chose and typed kept."""

from __future__ import annotations

import unicodedata
from zoneinfo import ZoneInfo

import pytest

from citizen_web.follow import Names
from citizen_web.rating import (
    BAD_COMMENT_VI,
    BAD_CRITERION_VI,
    BAD_LEVEL_VI,
    CHOOSE_LEVEL_VI,
    RatingForm,
    rating_context,
    read_rating,
)
from protocol.messages import MAX_COMMENT, WebRate, web_request_of

FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
NAMES = Names("Một cửa", {}, {}, FIVE, ZoneInfo("Asia/Ho_Chi_Minh"), criteria=("attitude", "guidance", "time"))


def test_a_full_form_goes_in_the_centers_order_and_the_comment_as_the_server_keeps_it() -> None:
    typed = unicodedata.normalize("NFD", "Cán bộ  hướng dẫn\r\nnhiệt tình 👩\u200d💻\u200b ")
    form = read_rating([("criterion.time", "neutral"), ("level", "satisfied"), ("comment", typed),
                        ("criterion.attitude", "very_satisfied")], NAMES)
    assert form == RatingForm("satisfied", (("attitude", "very_satisfied"), ("time", "neutral")),
                              "Cán bộ hướng dẫn nhiệt tình 👩💻")


@pytest.mark.parametrize("comment", [[], [("comment", "")], [("comment", " \r\n\t ")]])
def test_a_level_alone_is_a_whole_rating(comment: list[tuple[str, str]]) -> None:
    assert read_rating([("level", "very_dissatisfied"), *comment], NAMES) == RatingForm("very_dissatisfied")


def test_a_comment_of_500_characters_passes_however_the_phone_composed_it() -> None:
    vietnamese = ("ố" * MAX_COMMENT)
    decomposed = unicodedata.normalize("NFD", vietnamese)  # 1,500 code points as some keyboards type them
    assert read_rating([("level", "satisfied"), ("comment", decomposed)], NAMES).comment == vietnamese


def test_an_emoji_newer_than_this_pythons_unicode_is_taken_as_written() -> None:
    """🫨 (U+1FAE8, Unicode 15) and 🩷 (U+1FA77): common on phones, unassigned in Python 3.11's tables; the server
    takes them too."""
    said = "Chờ lâu quá \U0001fae8 \U0001fa77"
    assert read_rating([("level", "satisfied"), ("comment", said)], NAMES).comment == said
    assert web_request_of({"request_id": "r", "action": "rate", "token": "t", "level": "satisfied",
                           "comment": said}) == WebRate("r", "t", "satisfied", comment=said)


@pytest.mark.parametrize(("fields", "refusal"), [
    ([("criterion.cleanliness", "satisfied")], BAD_CRITERION_VI),  # not one of the center's
    ([("criterion.attitude", "satisfied"), ("criterion.attitude", "neutral")], BAD_CRITERION_VI),
    ([("criterion.guidance", "great")], "Mức đánh giá cho tiêu chí «Hướng dẫn hồ sơ, thủ tục» không hợp lệ."),
    ([("criterion.guidance", "")], "Mức đánh giá cho tiêu chí «Hướng dẫn hồ sơ, thủ tục» không hợp lệ."),
    ([("comment", "x" * (MAX_COMMENT + 1))], "Phản ánh, kiến nghị được tối đa 500 ký tự; nội dung Ông/Bà nhập có 501 "
                                             "ký tự. Vui lòng rút gọn rồi gửi lại."),
    ([("comment", "a\x00b")], BAD_COMMENT_VI),
    ([("comment", "một"), ("comment", "hai")], BAD_COMMENT_VI),
])
def test_a_form_the_page_never_makes_is_refused_in_the_citizens_words(fields: list[tuple[str, str]],
                                                                      refusal: str) -> None:
    form = read_rating([("level", "satisfied"), *fields], NAMES)
    assert form.refusal == refusal


@pytest.mark.parametrize("levels", [[("level", "")], [("level", "great")],
                                    [("level", "satisfied"), ("level", "neutral")]])
def test_the_overall_level_is_one_of_the_centers(levels: list[tuple[str, str]]) -> None:
    assert read_rating([*levels, ("criterion.time", "great")], NAMES).refusal == BAD_LEVEL_VI


def test_a_form_sent_without_a_level_asks_for_one_and_keeps_the_rest() -> None:
    """Enter on a criterion's radio sends the form by its hidden default button, which has no level."""
    form = read_rating([("criterion.time", "neutral"), ("comment", "Tốt.")], NAMES)
    assert form == RatingForm("", (("time", "neutral"),), "Tốt.", CHOOSE_LEVEL_VI)


def test_a_refused_form_is_shown_again_as_the_citizen_filled_it() -> None:
    typed = "Chờ lâu\n" + "x" * MAX_COMMENT
    form = read_rating([("level", "neutral"), ("criterion.time", "dissatisfied"), ("comment", typed)], NAMES)
    assert form.refusal is not None and form.comment == typed
    shown = rating_context(NAMES, form)
    assert shown["criteria"] == [("attitude", "Thái độ của cán bộ", None),
                                 ("guidance", "Hướng dẫn hồ sơ, thủ tục", None),
                                 ("time", "Thời gian giải quyết", "dissatisfied")]
    assert (shown["comment"], shown["opened"], shown["max_comment"]) == (typed, True, MAX_COMMENT)
    fresh = rating_context(NAMES)
    assert (fresh["opened"], fresh["comment"]) == (False, "")
    assert [label for _level, label in fresh["levels"]] == ["Rất hài lòng", "Hài lòng", "Bình thường",
                                                          "Không hài lòng", "Rất không hài lòng"]
