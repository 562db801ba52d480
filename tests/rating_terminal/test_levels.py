"""Which level each rating button means, by position: the mapping, its rounding, and what the terminal logs."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys

import pytest

from rating_terminal.levels import button_levels, explain, spread
from tests.harness import ROOT

FIVE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
FOUR = ("very_satisfied", "satisfied", "dissatisfied", "very_dissatisfied")
THREE = ("very_satisfied", "satisfied", "dissatisfied")
TWO = ("satisfied", "dissatisfied")


@pytest.mark.parametrize(("buttons", "levels", "meaning"), [
    (3, THREE, THREE),
    (5, FIVE, FIVE),
    (3, FIVE, ("very_satisfied", "neutral", "very_dissatisfied")),
    (5, THREE, ("very_satisfied", None, "satisfied", None, "dissatisfied")),
    (2, FIVE, ("very_satisfied", "very_dissatisfied")),
    (5, TWO, ("satisfied", None, None, None, "dissatisfied")),
    (1, FIVE, ("very_satisfied",)),
    (1, TWO, ("satisfied",)),
    (4, FIVE, ("very_satisfied", "satisfied", "dissatisfied", "very_dissatisfied")),
    (5, FOUR, ("very_satisfied", "satisfied", None, "dissatisfied", "very_dissatisfied")),
    (3, FOUR, ("very_satisfied", "satisfied", "very_dissatisfied")),  # the exact middle: the better one
    (4, THREE, ("very_satisfied", "satisfied", None, "dissatisfied")),  # the exact middle: the better one
    (0, FIVE, ()),
    (3, (), (None, None, None)),  # no levels yet: every button dark
])
def test_buttons_take_the_levels_by_position(buttons: int, levels: tuple[str, ...],
                                             meaning: tuple[str | None, ...]) -> None:
    assert button_levels(buttons, levels) == meaning


@pytest.mark.parametrize("count", range(1, 6))
def test_as_many_buttons_as_levels_is_button_i_level_i(count: int) -> None:
    assert button_levels(count, FIVE[:count]) == FIVE[:count]


@pytest.mark.parametrize("last", range(1, 12))
@pytest.mark.parametrize("onto", range(1, 14))
def test_the_spread_keeps_the_ends_is_distinct_and_mirrors_itself(last: int, onto: int) -> None:
    if onto < last:
        return  # only ever placed on a range at least as long
    placed = [spread(index, last, onto) for index in range(last + 1)]
    assert placed[0] == 0 and placed[-1] == onto
    assert all(a < b for a, b in itertools.pairwise(placed)), f"distinct and in order: {placed}"
    for index in range(last + 1):
        exact = index * onto / last
        assert abs(placed[index] - exact) <= 0.5, f"the nearest: {placed}"
        if 2 * index != last:  # the exact middle of a range has no mirror choice: it goes to the better end
            assert placed[last - index] == onto - placed[index], f"the worse half mirrors the better: {placed}"


def test_the_spread_is_not_pythons_round_which_breaks_the_mirror() -> None:
    assert [round(i * 9 / 6) for i in range(7)] == [0, 2, 3, 4, 6, 8, 9]  # 1 -> 2, but 5 -> 8, not 9 - 2
    assert [spread(i, 6, 9) for i in range(7)] == [0, 1, 3, 4, 6, 8, 9]


def test_the_exact_middle_goes_to_the_better_end() -> None:
    assert spread(1, 2, 3) == 1 and spread(2, 4, 7) == 3 and spread(3, 6, 9) == 4


def lines(labels: list[str | None], levels: tuple[str, ...]) -> list[str]:
    return [f"{logging.getLevelName(level)} {line}" for level, line in explain(labels, levels)]


def test_three_labelled_buttons_and_five_levels_say_the_mapping_the_count_and_each_wrong_sticker() -> None:
    assert lines(list(THREE), FIVE) == [
        "INFO buttons 1..3 -> very_satisfied, neutral, very_dissatisfied",
        "WARNING 3 rating buttons for the center's 5 levels: satisfied, dissatisfied cannot be given here "
        "(fit 5 buttons to offer them all)",
        "WARNING button 2 is labelled 'satisfied' but now means 'neutral': change its sticker (to \"Bình thường\")",
        "WARNING button 3 is labelled 'dissatisfied' but now means 'very_dissatisfied': change its sticker "
        "(to \"Rất không hài lòng\")",
    ]


def test_five_labelled_buttons_and_three_levels_say_which_stay_dark() -> None:
    assert lines(list(FIVE), THREE) == [
        "INFO buttons 1..5 -> very_satisfied, (dark), satisfied, (dark), dissatisfied",
        "WARNING 5 rating buttons for the center's 3 levels: buttons 2, 4 stay dark",
        "WARNING button 2 is labelled 'satisfied' but now stays dark: cover its sticker",
        "WARNING button 3 is labelled 'neutral' but now means 'satisfied': change its sticker (to \"Hài lòng\")",
        "WARNING button 4 is labelled 'dissatisfied' but now stays dark: cover its sticker",
        "WARNING button 5 is labelled 'very_dissatisfied' but now means 'dissatisfied': change its sticker "
        "(to \"Không hài lòng\")",
    ]


def test_matching_buttons_or_no_labels_say_only_the_mapping() -> None:
    assert lines(list(THREE), THREE) == ["INFO buttons 1..3 -> very_satisfied, satisfied, dissatisfied"]
    assert lines([None, None, None], THREE) == ["INFO buttons 1..3 -> very_satisfied, satisfied, dissatisfied"]
    assert lines(["hai-long", None], ("hai-long", "khong-hai-long")) == [
        "INFO buttons 1..2 -> hai-long, khong-hai-long"]


def test_a_single_button_and_a_level_without_a_vietnamese_name() -> None:
    assert lines(["x"], ("hai-long", "khong-hai-long")) == [
        "INFO button 1 -> hai-long",
        "WARNING 1 rating button for the center's 2 levels: khong-hai-long cannot be given here "
        "(fit 2 buttons to offer them all)",
        "WARNING button 1 is labelled 'x' but now means 'hai-long': change its sticker",
    ]
    assert lines([None, None, None], ("a", "b")) == [
        "INFO buttons 1..3 -> a, (dark), b", "WARNING 3 rating buttons for the center's 2 levels: button 2 stays dark"]


def test_a_terminal_without_rating_buttons_says_nothing() -> None:
    assert explain([], FIVE) == []


def test_the_mapping_and_the_flow_load_no_hardware_or_network_library() -> None:
    probe = ("import sys, rating_terminal.flow, rating_terminal.levels;"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'gpiozero', 'paho', 'evdev', 'lgpio', 'socket'}))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
