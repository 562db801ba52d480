"""The terminal's `[[ratings]]`: its buttons in order, best first; `level` is optional, only the sticker's label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devkit.terminal_config import example_config
from protocol.errors import ConfigError
from rating_terminal.config import RatingPins, load


def config_file(tmp_path: Path, edit: str = "") -> Path:
    """The shipped example (its outbox in `tmp_path`), each `level = "<old>"` line matching `edit` taken out."""
    text = example_config("1", "rach-gia", tmp_path / "outbox.db", "mqtt://127.0.0.1:1883")
    if edit:
        text, count = re.subn(rf'(?m)^level = "{edit}"\n', "", text)
        assert count, edit
    path = tmp_path / "counter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_with_its_levels_loads_unchanged_as_labelled_buttons_best_first(tmp_path: Path) -> None:
    config = load(config_file(tmp_path))
    assert config.ratings == (RatingPins(17, 4, "very_satisfied"), RatingPins(27, 23, "satisfied"),
                              RatingPins(22, 24, "dissatisfied"))
    assert ("rating buttons, best first: #1 GPIO17 (pin 11)/LED GPIO4 (pin 7) labelled 'very_satisfied', "
            "#2 GPIO27 (pin 13)/LED GPIO23 (pin 16) labelled 'satisfied', "
            "#3 GPIO22 (pin 15)/LED GPIO24 (pin 18) labelled 'dissatisfied'") in config.summary().splitlines()


def test_buttons_without_a_level_load_in_order(tmp_path: Path) -> None:
    config = load(config_file(tmp_path, edit="[a-z_]+"))
    assert config.ratings == (RatingPins(17, 4), RatingPins(27, 23), RatingPins(22, 24))
    assert "labelled" not in config.summary()


def test_some_buttons_labelled_and_some_not(tmp_path: Path) -> None:
    config = load(config_file(tmp_path, edit="satisfied"))
    assert [r.label for r in config.ratings] == ["very_satisfied", None, "dissatisfied"]


@pytest.mark.parametrize(("old", "new", "says"), [
    ('level = "satisfied"', 'level = "dissatisfied"',
     "counter.toml: ratings: two buttons have the same level (sticker)"),
    ('level = "satisfied"', 'level = "Hài lòng"', "counter.toml: [[ratings]] #2.level: 'Hài lòng' must match"),
    ('level = "satisfied"', "level = 2", "counter.toml: [[ratings]] #2.level"),
])
def test_a_wrong_level_label_is_refused_naming_the_button(tmp_path: Path, old: str, new: str, says: str) -> None:
    path = config_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(refused.value).startswith(says), refused.value
