"""The hall board, drawn offscreen at 1920×1080 and 1366×768, saved as PNG and checked pixel by pixel."""

from __future__ import annotations

import ast
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pygame
import pytest

from display_board.model import BoardView, CallLine, WaitingLine
from display_board.view import (
    ACCENT,
    CARD,
    CLOSED_NOTE,
    HIGHLIGHT,
    HIGHLIGHT_TEXT,
    NOTICE_TEXT,
    RECALL_TAG,
    WELCOME,
    BoardRenderer,
    BoardScene,
    Ticker,
)
from tests.ui_helpers import VIETNAMESE_LETTERS, save, split_groups, tofu
from ui.text import Text

LOOK = Path("/tmp/board-screens")  # copies to look at; the tests use tmp_path
ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1920, 1080), (1366, 768)]
NOW = datetime(2026, 11, 23, 9, 41, 7)  # a Monday
CENTER = "Bộ phận Tiếp nhận và Trả kết quả – UBND quận Hoàn Kiếm"
AREAS = ("Đất đai", "Xây dựng", "Tư pháp – Hộ tịch", "Đăng ký kinh doanh", "Lao động – Thương binh và Xã hội",
         "Bảo hiểm xã hội")
NOTICE = ("Trung tâm làm việc từ thứ Hai đến thứ Sáu, sáng 7h30–11h30, chiều 13h30–17h00. "
          "Công dân vui lòng giữ trật tự.")
NUMBERS = ("1005", "2012", "1004", "3007", "5003", "6010", "1003", "2011", "4002", "1002")
CALLS = tuple(
    CallLine(number, f"Quầy {(index * 5) % 12 + 1}", AREAS[int(number[0]) - 1], NOW - timedelta(minutes=3 * index))
    for index, number in enumerate(NUMBERS)
)
WAITING = tuple(WaitingLine(area, count) for area, count in zip(AREAS, (12, 3, 0, 27, 5, 104), strict=True))
VIEW = BoardView(CENTER, NOW, CALLS[0], False, CALLS[1:], WAITING, NOTICE, 0.0, True)


@pytest.fixture(scope="module", params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def renderer(request: pytest.FixtureRequest) -> Iterator[BoardRenderer]:
    pygame.font.init()
    yield BoardRenderer(request.param)


def draw(renderer: BoardRenderer, view: BoardView, tmp_path: Path, name: str) -> tuple[pygame.Surface, BoardScene]:
    """Draw `view`, save it (tmp_path and a copy to look at), check what every frame must hold."""
    surface = pygame.Surface(renderer.size)
    assert renderer.draw(view, surface) is None  # type: ignore[func-returns-value]
    save(surface, name, tmp_path, LOOK)
    height = renderer.size[1]
    scene = renderer.layout(view)
    bounds = surface.get_rect()
    texts = scene.texts()
    for text in texts:
        assert bounds.contains(text.rect), text
        assert text.text == unicodedata.normalize("NFC", text.text)
        assert text.size >= 0.016 * height, text  # nothing too small to read across the hall
    for index, text in enumerate(texts):  # no text over another
        for other in texts[index + 1:]:
            assert not text.rect.colliderect(other.rect), (text, other)
    header = scene.regions["header"]
    assert {"09:41", "23/11/2026", "Thứ Hai"} <= {t.text for t in texts if header.contains(t.rect)}
    for name_ in ("recent", "waiting", "newest", "notice"):
        assert bounds.contains(scene.regions[name_])
    return surface, scene


def words(scene: BoardScene, region: str) -> str:
    """The texts inside one region, joined: what is read there."""
    rect = scene.regions[region]
    return " ".join(text.text for text in scene.texts() if rect.contains(text.rect))


def count(surface: pygame.Surface, colour: tuple[int, int, int], rect: pygame.Rect | None = None,
          tolerance: int = 2) -> int:
    """Pixels of `colour` (± tolerance per channel) within `rect` (default: the whole surface)."""
    mask = pygame.mask.from_threshold(surface, (*colour, 255), (tolerance, tolerance, tolerance, 255))
    rect = rect or surface.get_rect()
    return mask.overlap_area(pygame.mask.Mask(rect.size, fill=True), rect.topleft)


def red(surface: pygame.Surface) -> pygame.mask.Mask:
    """Pixels that read as red: strong red, little green and blue."""
    width, _ = surface.get_size()
    mask = pygame.mask.Mask(surface.get_size())
    data = pygame.image.tobytes(surface, "RGB")
    for index in range(0, len(data), 3):
        if data[index] >= 160 and data[index + 1] <= 100 and data[index + 2] <= 100:
            mask.set_at(divmod(index // 3, width)[::-1])
    return mask


def red_fast(surface: pygame.Surface) -> pygame.mask.Mask:
    """`red`, with a mask: within the thresholds of (208, 50, 50), that is R 160-255, G and B 0-100."""
    return pygame.mask.from_threshold(surface, (208, 50, 50, 255), (49, 51, 51, 255))


# --- fonts ------------------------------------------------------------------------------------


def test_every_vietnamese_letter_has_a_real_glyph_in_the_sizes_on_screen(renderer: BoardRenderer) -> None:
    scene = renderer.layout(replace(VIEW, recent=(*CALLS[1:], ), newest=replace(CALLS[0], recall=True)))
    used = {(text.bold, text.size) for text in scene.texts()}
    assert len(used) >= 6
    for bold, size in sorted(used):
        assert tofu(renderer.font(size, bold=bold)) == [], (bold, size)


def test_all_134_letters_drawn_on_the_board(renderer: BoardRenderer, tmp_path: Path) -> None:
    half = len(VIETNAMESE_LETTERS) // 2
    upper = VIETNAMESE_LETTERS[half:]
    view = replace(VIEW, center_name=" ".join(VIETNAMESE_LETTERS[i:i + 12] for i in range(0, half, 12)),
                   notice=VIETNAMESE_LETTERS,
                   waiting=tuple(WaitingLine(f"{upper[i:i + 6]} {upper[i + 6:i + 12]}", i) for i in range(0, half, 12)))
    surface, scene = draw(renderer, view, tmp_path, "letters")
    shown = "".join(text.text for text in scene.texts())
    assert set(VIETNAMESE_LETTERS[half:]) <= set(shown)  # the upper-case half, in the waiting panel
    assert set(VIETNAMESE_LETTERS[:half]) <= set(shown)  # the lower-case half, in the header
    assert count(surface, NOTICE_TEXT, scene.regions["notice"]) > 0


def test_decomposed_text_is_drawn_composed(renderer: BoardRenderer, tmp_path: Path) -> None:
    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    view = replace(VIEW, center_name=nfd(CENTER), notice=nfd(NOTICE),
                   newest=replace(CALLS[0], counter_name=nfd("Quầy 1"), area_name=nfd(AREAS[0])),
                   waiting=tuple(WaitingLine(nfd(line.area_name), line.waiting) for line in WAITING))
    assert view.center_name != CENTER
    composed, _ = draw(renderer, replace(view, center_name=CENTER, notice=NOTICE, newest=replace(
        CALLS[0], counter_name="Quầy 1", area_name=AREAS[0]), waiting=WAITING), tmp_path, "nfc")
    decomposed, scene = draw(renderer, view, tmp_path, "nfd")
    assert pygame.image.tobytes(composed, "RGB") == pygame.image.tobytes(decomposed, "RGB")
    assert CENTER in words(scene, "header")


# --- the frame --------------------------------------------------------------------------------


def test_a_full_board_shows_everything(renderer: BoardRenderer, tmp_path: Path) -> None:
    surface, scene = draw(renderer, VIEW, tmp_path, "board")
    assert CENTER in words(scene, "header") or all(w in words(scene, "header") for w in CENTER.split())
    newest = words(scene, "newest")
    assert "1005" in newest and "Quầy 1" in newest and "Đất đai" in newest and RECALL_TAG not in newest
    recent = words(scene, "recent")
    assert "Các số vừa gọi" in recent
    for call in CALLS[1:]:
        assert call.number in recent and call.counter_name in recent
    assert all(area in recent for area in AREAS)
    waiting = [text.text for text in scene.texts() if scene.regions["waiting"].contains(text.rect)]
    assert "Đang chờ" in waiting
    for line in WAITING:
        assert str(line.waiting) in waiting
        assert line.area_name in " ".join(waiting)
    # The waiting counts read in order, each on the row of its area.
    texts = {text.text: text for text in scene.texts() if scene.regions["waiting"].contains(text.rect)}
    for line in WAITING[:4]:
        assert abs(texts[line.area_name].rect.centery - texts[str(line.waiting)].rect.centery) < 0.03 * renderer.size[1]
    assert count(surface, NOTICE_TEXT, scene.regions["notice"]) > 500


def test_the_newest_number_is_very_large(renderer: BoardRenderer, tmp_path: Path) -> None:
    surface, scene = draw(renderer, VIEW, tmp_path, "board")
    width, height = renderer.size
    number = scene.regions["number"]
    assert scene.regions["newest"].contains(number)
    assert number.h >= 0.14 * height and number.w >= 0.2 * width
    ink = count(surface, ACCENT, number)
    assert ink >= 0.015 * width * height  # of the whole screen, in one short number
    assert ink >= 0.3 * number.w * number.h  # and it is the number's glyphs, not a few dots
    number_text = next(text for text in scene.texts() if text.text == "1005" and text.rect == number)
    # The counter is large too, on the same line, a little smaller than the number.
    counter = next(text for text in scene.texts() if text.text == "Quầy 1")
    assert 0.6 * number_text.size <= counter.size < number_text.size
    assert number.top < counter.rect.centery < number.bottom
    call_line = [text for text in scene.texts() if number.top < text.rect.centery < number.bottom]
    assert len(call_line) == 3  # "1005", "→", "Quầy 1"
    others = [text.size for text in scene.texts() if text not in call_line]
    assert number_text.size >= 3 * max(others)


def test_highlight_colours_the_newest_call_and_nothing_else(renderer: BoardRenderer, tmp_path: Path) -> None:
    plain, scene = draw(renderer, VIEW, tmp_path, "board")
    lit, _ = draw(renderer, replace(VIEW, highlight=True), tmp_path, "highlight")
    card = scene.regions["newest"]
    area = card.w * card.h
    assert count(lit, HIGHLIGHT, card) > 0.5 * area
    assert count(plain, HIGHLIGHT, card) < 0.15 * area  # only the yellow number
    # The number turns dark on yellow.
    number = scene.regions["number"]
    assert count(lit, HIGHLIGHT_TEXT, number) > 0.3 * number.w * number.h
    assert count(plain, HIGHLIGHT_TEXT, number) == 0
    assert count(plain, ACCENT, number) > 0.3 * number.w * number.h
    # Outside the card not a pixel changes.
    for surface in (plain, lit):
        surface.fill((0, 0, 0), card)
    assert pygame.image.tobytes(plain, "RGB") == pygame.image.tobytes(lit, "RGB")


def test_a_recall_shows_the_tag(renderer: BoardRenderer, tmp_path: Path) -> None:
    for lit in (False, True):
        view = replace(VIEW, newest=replace(CALLS[0], recall=True), highlight=lit)
        _, scene = draw(renderer, view, tmp_path, f"recall-{'lit' if lit else 'plain'}")
        tag = next(text for text in scene.texts() if text.text == RECALL_TAG)
        assert scene.regions["newest"].contains(tag.rect)
        assert tag.size < 0.3 * next(text.size for text in scene.texts() if text.text == "1005")


def test_no_call_yet_shows_a_welcome(renderer: BoardRenderer, tmp_path: Path) -> None:
    surface, scene = draw(renderer, replace(VIEW, newest=None, highlight=True, recent=()), tmp_path, "welcome")
    assert WELCOME in words(scene, "newest")
    assert "number" not in scene.regions
    assert count(surface, HIGHLIGHT, scene.regions["newest"]) == 0  # nothing blinks without a call
    assert "Chưa có số nào được gọi" in words(scene, "recent")


def test_an_empty_board_still_has_its_frame(renderer: BoardRenderer, tmp_path: Path) -> None:
    view = BoardView("", NOW, None, False, (), (), "", 0.0, True)
    surface, scene = draw(renderer, view, tmp_path, "empty")
    assert WELCOME in words(scene, "newest")
    assert count(surface, NOTICE_TEXT, scene.regions["notice"]) == 0


def test_long_names_wrap_or_shrink_and_stay_in_their_boxes(renderer: BoardRenderer, tmp_path: Path) -> None:
    center = ("Trung tâm Phục vụ hành chính công tỉnh Bà Rịa – Vũng Tàu, Bộ phận Tiếp nhận và Trả kết quả "
              "cấp huyện Xuyên Mộc")
    area = "Tài nguyên và Môi trường, Đất đai và Xây dựng, Quy hoạch – Kiến trúc"
    newest = CallLine("A1005", "Quầy 12 – Ưu tiên", area, NOW, recall=True)
    waiting = (*WAITING, WaitingLine(area, 7), WaitingLine("Giáo dục và Đào tạo", 1))
    _, scene = draw(renderer, replace(VIEW, center_name=center, newest=newest, waiting=waiting,
                                      recent=(replace(CALLS[1], area_name=area), *CALLS[2:])), tmp_path, "long")
    header = [text for text in scene.texts() if scene.regions["header"].contains(text.rect)]
    assert " ".join(text.text for text in header if text.text not in ("09:41", "23/11/2026", "Thứ Hai")) == center
    clock = scene.regions["clock"]
    assert not any(text.rect.colliderect(clock) for text in header if text.text in center)
    assert "A1005" in words(scene, "newest") and "Quầy 12 – Ưu tiên" in words(scene, "newest")
    assert area in words(scene, "newest")  # whole in the call's card
    # The narrow table column and the waiting panel's two lines: as many words as are readable, then "…".
    for region in ("recent", "waiting"):
        shown = words(scene, region)
        assert "…" in shown
        short = shown[:shown.index("…")]
        assert len(short) > 20 and area.startswith(short[short.index("Tài"):])


def test_an_area_closed_with_citizens_waiting_keeps_its_count_and_says_it_takes_no_new_tickets(
        renderer: BoardRenderer, tmp_path: Path) -> None:
    closed = (WAITING[0], replace(WAITING[1], closed=True), *WAITING[2:4], replace(WAITING[4], closed=True),
              WAITING[5])
    surface, scene = draw(renderer, replace(VIEW, waiting=closed), tmp_path, "closed-area")
    texts = [text for text in scene.texts() if scene.regions["waiting"].contains(text.rect)]
    notes = [text for text in texts if text.text == "Tạm ngừng tiếp nhận"]
    assert len(notes) == 2 and all(note.colour == CLOSED_NOTE for note in notes)
    for line, note in zip((closed[1], closed[4]), notes, strict=True):
        name = next(text for text in texts if text.text == line.area_name)  # whole, on one line
        count_ = next(text for text in texts if text.text == str(line.waiting))
        assert name.rect.bottom <= note.rect.top and name.rect.left == note.rect.left, "the note under the name"
        assert name.rect.top < count_.rect.centery < note.rect.bottom, "on the row of its count"
        assert note.size >= 0.7 * name.size
    assert red_fast(surface).count() == 0, "red is only for the lost connection"


# --- offline, the ticker, the same pixels -------------------------------------------------------


def test_offline_is_a_small_red_mark_in_the_corner_and_keeps_the_board(renderer: BoardRenderer,
                                                                       tmp_path: Path) -> None:
    width, height = renderer.size
    online, _ = draw(renderer, VIEW, tmp_path, "board")
    offline, scene = draw(renderer, replace(VIEW, online=False), tmp_path, "offline")
    assert red_fast(online).count() == 0
    marks = red_fast(offline)
    corner = scene.regions["offline"]
    assert corner.right >= width * 0.95 and corner.bottom >= height * 0.95  # bottom right
    assert corner.w * corner.h < 0.02 * width * height  # discreet
    inside = marks.overlap_area(pygame.mask.Mask(corner.size, fill=True), corner.topleft)
    assert inside == marks.count() > 0.0001 * width * height
    assert "Mất kết nối" in words(scene, "notice")
    # The last state stays: everything above the notice band is the same.
    top = pygame.Rect(0, 0, width, scene.regions["notice"].top)
    assert pygame.image.tobytes(online.subsurface(top), "RGB") == pygame.image.tobytes(offline.subsurface(top), "RGB")


def test_a_board_that_never_reached_the_center_says_so_not_that_no_area_is_open(renderer: BoardRenderer,
                                                                                 tmp_path: Path) -> None:
    never = BoardView(center_name="", now=VIEW.now, newest=None, highlight=False, recent=(), waiting=(),
                      notice="", notice_offset=0.0, online=False, configured=False)
    _, scene = draw(renderer, never, tmp_path, "never-connected")
    assert "Chưa nhận được dữ liệu từ máy chủ" in words(scene, "waiting")
    assert "Chưa có lĩnh vực nào mở" not in words(scene, "waiting")
    assert "Mất kết nối" in words(scene, "notice")
    _, closed = draw(renderer, replace(never, online=True, configured=True), tmp_path, "no-area-open")
    assert "Chưa có lĩnh vực nào mở" in words(closed, "waiting"), "only when the center says so"


def test_the_red_check_agrees_with_a_pixel_by_pixel_one() -> None:
    pygame.font.init()
    renderer = BoardRenderer((1366, 768))
    for online in (True, False):
        surface = pygame.Surface(renderer.size)
        renderer.draw(replace(VIEW, online=online, highlight=True), surface)
        assert red(surface).count() == red_fast(surface).count()


def test_no_red_anywhere_while_online(renderer: BoardRenderer, tmp_path: Path) -> None:
    for lit in (False, True):
        view = replace(VIEW, highlight=lit, newest=replace(CALLS[0], recall=True), notice_offset=333.0)
        surface, _ = draw(renderer, view, tmp_path, f"online-{lit}")
        assert red_fast(surface).count() == 0


def test_the_notice_scrolls_left_by_the_scaled_offset(renderer: BoardRenderer, tmp_path: Path) -> None:
    width, _ = renderer.size
    start, scene = draw(renderer, VIEW, tmp_path, "board")
    moved, _ = draw(renderer, replace(VIEW, notice_offset=300.0), tmp_path, "notice-300")
    band = scene.regions["notice"]
    assert pygame.image.tobytes(start.subsurface(band), "RGB") != pygame.image.tobytes(moved.subsurface(band), "RGB")
    shift = int(300 * width / 1920)
    window = pygame.Rect(round(width * 0.1), band.y, round(width * 0.5), band.h)
    assert count(start, NOTICE_TEXT, window.move(shift, 0)) > 200
    assert (pygame.image.tobytes(start.subsurface(window.move(shift, 0)), "RGB")
            == pygame.image.tobytes(moved.subsurface(window), "RGB"))
    # Everything else stays.
    above = pygame.Rect(0, 0, width, band.top)
    assert pygame.image.tobytes(start.subsurface(above), "RGB") == pygame.image.tobytes(moved.subsurface(above), "RGB")


def test_the_notice_wraps_around_and_never_leaves_the_band_empty(renderer: BoardRenderer, tmp_path: Path) -> None:
    band = renderer.layout(VIEW).regions["notice"]
    seen = set()
    for offset in range(0, 12000, 173):
        surface = pygame.Surface(renderer.size)
        renderer.draw(replace(VIEW, notice_offset=float(offset)), surface)
        assert count(surface, NOTICE_TEXT, band) > 300, offset
        seen.add(pygame.image.tobytes(surface.subsurface(band), "RGB"))
    assert len(seen) > 30  # it keeps moving
    for odd in (-500.0, 1e9, float("nan")):
        surface, _ = draw(renderer, replace(VIEW, notice_offset=odd), tmp_path, "notice-odd")
        assert count(surface, NOTICE_TEXT, band) > 0
    short, _ = draw(renderer, replace(VIEW, notice="Xin cảm ơn!", notice_offset=900.0), tmp_path, "notice-short")
    assert count(short, NOTICE_TEXT, band) > 0


def test_the_same_view_gives_the_same_pixels(renderer: BoardRenderer) -> None:
    view = replace(VIEW, newest=replace(CALLS[0], recall=True), online=False, notice_offset=812.5)
    first, second, fresh = (pygame.Surface(renderer.size) for _ in range(3))
    renderer.draw(view, first)
    renderer.draw(replace(VIEW, highlight=True), second)  # something else in between
    renderer.draw(view, second)
    BoardRenderer(renderer.size).draw(view, fresh)
    assert pygame.image.tobytes(first, "RGB") == pygame.image.tobytes(second, "RGB") == pygame.image.tobytes(
        fresh, "RGB")


def test_a_surface_of_another_size_is_refused() -> None:
    pygame.font.init()
    with pytest.raises(ValueError, match="1920, 1080"):
        BoardRenderer((1920, 1080)).draw(VIEW, pygame.Surface((1366, 768)))
    with pytest.raises(ValueError, match="too small"):
        BoardRenderer((320, 240))


# --- the newest call's card, long counter names, line breaks, register ------------------------------

LONG_COUNTER = "Quầy 2 – Đất đai, Xây dựng"


def ink_rows(surface: pygame.Surface, rect: pygame.Rect, background: tuple[int, int, int]) -> list[int]:
    """The rows of `rect` holding any pixel that is not `background` (± 8 per channel)."""
    mask = pygame.mask.from_threshold(surface, (*background, 255), (8, 8, 8, 255))
    mask.invert()
    return [y for y in range(rect.top, rect.bottom)
            if mask.overlap_area(pygame.mask.Mask((rect.w, 1), fill=True), (rect.x, y))]


@pytest.mark.parametrize("counter", ["Quầy 1", LONG_COUNTER])
def test_a_clear_gap_between_the_invitation_and_the_number(renderer: BoardRenderer, tmp_path: Path,
                                                           counter: str) -> None:
    # The review saw "Mời công dân có số" touch the top of the big number.
    height = renderer.size[1]
    for recall in (False, True):
        view = replace(VIEW, newest=replace(CALLS[0], counter_name=counter, recall=recall))
        surface, scene = draw(renderer, view, tmp_path, f"gap-{len(counter)}-{recall}")
        label = next(text for text in scene.texts() if text.text == "Mời công dân có số")
        number = scene.regions["number"]
        # The columns under the label: from its ink's last row down to the first row of anything else.
        columns = pygame.Rect(label.rect.x, label.rect.y, label.rect.w, number.bottom - label.rect.y)
        rows = ink_rows(surface, columns, CARD)
        label_bottom = max(y for y in rows if y < label.rect.bottom)
        below = min(y for y in rows if y > label_bottom + 1)
        assert below - label_bottom >= 0.012 * height, (label_bottom, below)
        assert below >= number.top - 1  # what comes next under the label is the number itself


def test_a_long_counter_name_does_not_shrink_the_newest_number(renderer: BoardRenderer, tmp_path: Path) -> None:
    height = renderer.size[1]
    short = draw(renderer, VIEW, tmp_path, "board")[1]
    view = replace(VIEW, newest=replace(CALLS[0], counter_name=LONG_COUNTER))
    _, scene = draw(renderer, view, tmp_path, "long-counter-newest")
    number = scene.regions["number"]
    assert number.h >= 0.14 * height  # very large still
    assert number.h >= 0.9 * short.regions["number"].h
    card = [text for text in scene.texts() if scene.regions["newest"].contains(text.rect)]
    counter = [text for text in card if text.text in ("Quầy 2 –", "Đất đai, Xây dựng")]
    assert [text.text for text in counter] == ["Quầy 2 –", "Đất đai, Xây dựng"]  # whole, on two lines at the dash
    assert counter[0].size == counter[1].size >= 0.35 * next(t.size for t in card if t.text == "1005")
    assert counter[0].size >= 0.07 * height  # large enough to read across the hall
    assert counter[0].rect.bottom <= counter[1].rect.top
    assert all(number.top - 0.2 * number.h < text.rect.centery < number.bottom + 0.2 * number.h for text in counter)


def test_one_long_counter_name_does_not_shrink_the_recent_calls(renderer: BoardRenderer, tmp_path: Path) -> None:
    # The review saw "Quầy 2 – Đất đai, Xây dựng" shrink every counter name of "Các số vừa gọi" to unreadable.
    recent = words(draw(renderer, VIEW, tmp_path, "board")[1], "recent")
    assert recent
    plain = renderer.layout(VIEW)
    calls = (replace(CALLS[1], counter_name=LONG_COUNTER), *CALLS[2:])
    _, scene = draw(renderer, replace(VIEW, recent=calls), tmp_path, "long-counter-recent")

    def counter_texts(scene: BoardScene) -> list[Text]:
        return [text for text in scene.texts() if scene.regions["recent"].contains(text.rect)
                and text.text.startswith("Quầy")]

    before, after = counter_texts(plain), counter_texts(scene)
    assert len(after) == len(calls)
    assert {text.size for text in after} == {text.size for text in before}  # one size, the usual one
    assert after[0].text == "Quầy 2…"  # as many whole word groups as fit, then "…" (the card shows it whole)
    assert [text.text for text in after[1:]] == [call.counter_name for call in calls[1:]]


def test_long_names_break_between_word_groups(renderer: BoardRenderer, tmp_path: Path) -> None:
    center = "Bộ phận Tiếp nhận và Trả kết quả Trung tâm Phục vụ hành chính công TP. Hồ Chí Minh"
    waiting = (WaitingLine("Lao động – Thương binh và Xã hội, Bảo hiểm xã hội", 3),
               WaitingLine("Tư pháp – Hộ tịch, Chứng thực", 1), *WAITING)
    _, scene = draw(renderer, replace(VIEW, center_name=center, waiting=waiting), tmp_path, "groups")
    header = [text.text for text in scene.texts() if scene.regions["header"].contains(text.rect)
              and text.text not in ("09:41", "23/11/2026", "Thứ Hai")]
    assert len(header) == 2 and " ".join(header) == center
    assert split_groups(header) == []
    names = [text for text in scene.texts() if scene.regions["waiting"].contains(text.rect)
             and not text.text.isdigit() and text.text not in ("Đang chờ", "người")]
    two_line = [(a.text, b.text) for a, b in itertools.pairwise(names) if a.text.startswith("Lao động")]
    assert two_line and split_groups(list(two_line[0])) == [], two_line


def test_the_board_addresses_citizens_formally() -> None:
    tree = ast.parse((ROOT / "display_board" / "view.py").read_text(encoding="utf-8"))
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
               and isinstance(node.value, str) and re.search(r"[À-ỹđĐ]", node.value)]
    assert "Mời công dân có số" in strings
    for text in strings:
        assert not re.search(r"\b(bạn|vé)\b", text, re.IGNORECASE), text


def test_the_example_boards_notice_is_the_bo_phans(renderer: BoardRenderer) -> None:
    config = tomllib.loads((ROOT / "firmware_configs" / "board.example.toml").read_text(encoding="utf-8"))
    notice = config["screen"]["notice"]
    assert notice.startswith("Bộ phận Tiếp nhận và Trả kết quả làm việc")
    ticker = next(item for item in renderer.layout(replace(VIEW, notice=notice)).items if isinstance(item, Ticker))
    assert ticker.text == notice
