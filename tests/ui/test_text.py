"""Where a Vietnamese line may break (ui.text's word groups), checked as rules and with the real wrappers.

Each rule is shown twice: on the groups themselves, and with the wrappers that set real text at real sizes
(the screens' `balanced` with DejaVu Sans Bold as pygame measures it, the ticket's `wrap_text` with Pillow),
at a width where the bare words would break inside the group: so each test fails without its rule.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pygame
import pytest

from display_board.view import BoardRenderer
from kiosk.ticket_layout import (
    PAPER_58MM,
    PAPER_80MM,
    PaperProfile,
    TicketFonts,
    _balanced_wrap,
    _font,
    text_sizes,
    wrap_text,
)
from kiosk.view import KioskRenderer
from ui.text import (
    COMPOUNDS,
    NBSP,
    TextPainter,
    balanced,
    bind_groups,
    word_groups,
    words_of,
    wrap_units,
)

ROOT = Path(__file__).resolve().parents[2]


# --- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "groups"), [
    ("Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá",
     ["Bộ phận", "Tiếp nhận", "và", "Trả", "kết quả", "TP. Rạch Giá"]),
    ("Phường 5, Q. 10, TP. Hồ Chí Minh", ["Phường 5,", "Q. 10,", "TP. Hồ Chí Minh"]),
    ("Tp. Rạch Giá", ["Tp. Rạch Giá"]),
    ("TX. Hà Tiên", ["TX. Hà Tiên"]),
])
def test_a_an_abbreviation_stays_with_the_next_word(text: str, groups: list[str]) -> None:
    assert word_groups(text) == groups


@pytest.mark.parametrize("text", [
    "Máy in gặp sự cố. Vui lòng liên hệ",  # a sentence's end is no abbreviation: lower case
    "trên màn hình và loa gọi. Xin cảm ơn!",
    "về Huế. Xin mời",  # a capitalised word with a tone mark ending a sentence
])
def test_a_a_sentence_end_is_no_abbreviation(text: str) -> None:
    groups = word_groups(text)
    end = next(group for group in groups if "." in group)
    assert end.endswith("."), groups  # the sentence ends its group: a line may break after it


@pytest.mark.parametrize(("text", "groups"), [
    ("Rạch Giá", ["Rạch Giá"]),
    ("thành phố Hồ Chí Minh", ["thành", "phố", "Hồ Chí Minh"]),
    ("Thứ Hai, 02/12/2026", ["Thứ Hai,", "02/12/2026"]),
    ("Kiên Giang, Phú Quốc", ["Kiên Giang,", "Phú Quốc"]),  # a name ends at punctuation
    ("tỉnh Bà Rịa – Vũng Tàu", ["tỉnh", "Bà Rịa –", "Vũng Tàu"]),
    # Five capitalised syllables or more are Title Case, not a name: only its compounds stay together.
    ("Trung Tâm Phục Vụ Hành Chính Công", ["Trung Tâm", "Phục Vụ", "Hành Chính", "Công"]),
])
def test_b_a_proper_name_stays_together(text: str, groups: list[str]) -> None:
    assert word_groups(text) == groups


@pytest.mark.parametrize(("text", "groups"), [
    ("Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!",
     ["Vui lòng", "theo dõi", "số", "trên", "màn hình", "và", "loa", "gọi.", "Xin", "cảm ơn!"]),
    ("Lao động – Thương binh và Xã hội", ["Lao động –", "Thương binh", "và", "Xã hội"]),
    ("Người khuyết tật", ["Người", "khuyết tật"]),
    ("Người cao tuổi", ["Người", "cao tuổi"]),
    ("Phụ nữ mang thai", ["Phụ nữ", "mang thai"]),
    ("Tư pháp – Hộ tịch, Nuôi con nuôi", ["Tư pháp –", "Hộ tịch,", "Nuôi con nuôi"]),
    ("Người có công với cách mạng", ["Người có công", "với", "cách mạng"]),
    ("Hiện chưa có quầy tiếp nhận lĩnh vực này", ["Hiện", "chưa", "có", "quầy", "tiếp nhận", "lĩnh vực", "này"]),
    ("màn, hình", ["màn,", "hình"]),  # punctuation inside is no compound
])
def test_c_a_compound_word_stays_together(text: str, groups: list[str]) -> None:
    assert word_groups(text) == groups


def test_c_the_compound_list_is_short_lower_case_and_of_two_or_three_syllables() -> None:
    assert 30 <= len(COMPOUNDS) <= 150
    for compound in COMPOUNDS:
        assert compound == compound.lower().strip() and 2 <= len(compound.split()) <= 3, compound
    for needed in ("màn hình", "thương binh", "xã hội", "khuyết tật", "cao tuổi", "mang thai", "lĩnh vực",
                   "đất đai", "xây dựng", "hộ tịch", "tư pháp", "kinh doanh", "bảo hiểm", "lao động"):
        assert needed in COMPOUNDS


@pytest.mark.parametrize(("text", "groups"), [
    ("Quầy 2 – Đất đai, Xây dựng", ["Quầy 2 –", "Đất đai,", "Xây dựng"]),
    ("Số người chờ trước: 4", ["Số", "người", "chờ", "trước: 4"]),
    ("trẻ em dưới 6 tuổi", ["trẻ em", "dưới 6 tuổi"]),
    ("Thời gian chờ dự kiến: khoảng 21 phút", ["Thời gian", "chờ", "dự kiến:", "khoảng 21 phút"]),
    ("gọi. 4 người", ["gọi.", "4 người"]),  # not across a sentence's end
])
def test_d_a_number_stays_with_its_word_and_its_unit(text: str, groups: list[str]) -> None:
    assert word_groups(text) == groups


def test_a_dash_or_colon_alone_stays_at_the_end_of_the_line_before() -> None:
    assert words_of("Tư pháp – Hộ tịch") == ["Tư", "pháp –", "Hộ", "tịch"]
    assert word_groups("Tư pháp – Hộ tịch") == ["Tư pháp –", "Hộ tịch"]


def test_groups_keep_the_text_and_a_callers_no_break_space() -> None:
    text = "  Giờ lấy số:  08:15\u00a0–\u00a002/12/2026 "
    assert " ".join(word_groups(text)) == "Giờ lấy số: 08:15\u00a0–\u00a002/12/2026"
    assert bind_groups("trên màn hình và") == f"trên màn{NBSP}hình và"
    assert bind_groups("x y", "_") == "x y" and bind_groups("") == ""
    assert wrap_units("Đất đai") == (["Đất đai"], ["Đất", "đai"])  # the groups first, the bare words after
    assert wrap_units("Y") == (["Y"],)


# --- the real wrappers at real sizes --------------------------------------------------------------

# (text, the group that must stay whole): the review's cases and one more of each rule
CASES = [
    ("Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá", "TP. Rạch Giá"),  # (a) and (b), the review's
    ("Tiếp nhận hồ sơ tại TP. Hồ Chí Minh", "TP. Hồ Chí Minh"),  # (a) and (b), three syllables
    ("Lao động – Thương binh và Xã hội", "Thương binh"),  # (c), the review's
    ("Chế độ bảo hiểm xã hội một lần", "xã hội"),  # (c)
    ("Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!", "màn hình"),  # (c), the review's
    ("Ưu tiên: người cao tuổi, người khuyết tật, phụ nữ mang thai", "cao tuổi"),  # (c)
    ("Ưu tiên: người cao tuổi, người khuyết tật, phụ nữ mang thai", "khuyết tật"),  # (c)
    ("Trẻ em dưới 6 tuổi và người đi cùng", "dưới 6 tuổi"),  # (d)
]


Wrap = Callable[[int], "Sequence[str] | None"]


def widths_that_matter(text: str, group: str, measure: Callable[[str], float], bare: Wrap) -> list[int]:
    """Line widths at which every word group fits a line but wrapping the bare words breaks inside `group`:
    where the rule matters. There must be some, or the case shows nothing."""
    widest = max(math.ceil(measure(part)) for part in word_groups(text))
    widths = [width for width in range(widest, math.ceil(measure(text)), 2)
              if (lines := bare(width)) is not None and not any(group in line for line in lines)]
    assert widths, f"the bare words never break inside {group!r}"
    return widths


@pytest.fixture(scope="module")
def painter() -> TextPainter:
    pygame.font.init()
    return TextPainter(font_cache=8, render_cache_px=1000)


@pytest.mark.parametrize(("text", "group"), CASES)
@pytest.mark.parametrize("size", [30, 45])  # the kiosk's area names at 1280×800 and 1920×1080 (bold)
def test_the_screens_wrapper_keeps_each_group(painter: TextPainter, text: str, group: str, size: int) -> None:
    measure = painter.measure(size, bold=True)
    for width in widths_that_matter(text, group, measure, lambda width: balanced(words_of(text), measure, width, 99)):
        lines = balanced(word_groups(text), measure, width, 99)
        assert lines is not None and " ".join(lines) == text
        assert any(group in line for line in lines), (width, lines)
        assert all(measure(line) <= width for line in lines)


@pytest.mark.parametrize(("text", "group"), CASES)
@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
def test_the_tickets_wrapper_keeps_each_group(text: str, group: str, paper: PaperProfile) -> None:
    fonts = TicketFonts.default()
    font = _font(fonts.regular, text_sizes(paper.width_dots).body)
    # The bare wrap: the ticket's own wrapper as it was, without the word groups.
    for width in widths_that_matter(text, group, font.getlength, lambda width: _balanced_wrap(text, font, width)):
        lines = wrap_text(text, font, width)
        assert " ".join(lines) == text
        assert any(group in line for line in lines), (width, lines)
        assert all(font.getlength(line) <= width for line in lines)


def test_a_group_wider_than_the_line_breaks_and_is_never_cut(painter: TextPainter) -> None:
    pygame.font.init()
    text = "TP. Hồ Chí Minh"
    kiosk = KioskRenderer((800, 480))
    board = BoardRenderer((1366, 768))
    for fit in (kiosk.fit, board.fit):
        # A box too narrow for the name even at the smallest size: it breaks between its words.
        narrow = pygame.Rect(0, 0, painter.measure(8, bold=True)("Hồ Chí") + 2, 400)
        result = fit(text, narrow, bold=True, max_lines=3)
        assert " ".join(result.lines) == text and len(result.lines) >= 2, result
        # Where the group fits on a line, it is kept whole, in a smaller size if need be.
        roomy = pygame.Rect(0, 0, painter.measure(20, bold=True)(text) + 2, 400)
        result = fit(f"Quận 1, {text}", roomy, bold=True, max_lines=3)
        assert any(text in line for line in result.lines), result


def test_the_rules_need_no_pygame() -> None:
    # The ticket (Pillow only) uses the same rules: importing them must not load pygame.
    probe = "import sys, ui.text, kiosk.ticket_layout; print('pygame' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
