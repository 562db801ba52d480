"""The kiosk's screens, drawn offscreen at 800×480, 1280×800, 1920×1080 and portrait 1080×1920, saved as PNG
and checked."""

from __future__ import annotations

import ast
import itertools
import re
import tomllib
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pygame
import pytest

from kiosk.model import (
    AREA_CLOSED,
    AREA_FULL,
    AREA_GONE,
    AREA_NOT_TAKING,
    AREA_OUT_OF_HOURS,
    ASK_STAFF,
    BACK_BUTTON,
    BOOKING_BUTTON,
    BUSY,
    CHOOSE_ANOTHER,
    CODE_WRONG,
    KEY_CANCEL,
    KEY_CONFIRM,
    KEY_DELETE,
    NO_BROKER,
    NO_SERVER,
    NOT_ISSUED,
    PRINT_FAILED,
    PRINTER_MESSAGES,
    PRIORITY_BUTTON,
    SLOW,
    AreaButton,
    IssuedTicket,
    KioskView,
    Screen,
    area_target,
    key_target,
    priority_target,
)
from kiosk.ticket_layout import LATE_SCREEN
from kiosk.view import (
    BOOKED,
    CLOSED,
    KEYPAD_HINT,
    KEYPAD_HINT_SCANNER,
    NUMBER,
    PRIORITY,
    PROBLEM,
    TEXT,
    KioskRenderer,
    Scene,
    Spinner,
    TextBlock,
)
from protocol.hours import Closed, Hours, parse_sessions
from protocol.messages import PRIORITY_LABELS
from tests.ui_helpers import VIETNAMESE_LETTERS, save, split_groups, tofu
from ui.text import FontsMissing, Panel, default_fonts

LOOK = Path("/tmp/kiosk-screens")  # copies to look at; the tests use tmp_path
SIZES = [(800, 480), (1280, 800), (1920, 1080), (1080, 1920)]
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 8, 5, 42)
CENTER = "Bộ phận Tiếp nhận và Trả kết quả – UBND quận Hoàn Kiếm"
AREAS = (
    AreaButton("dat-dai", "Đất đai"),
    AreaButton("xay-dung", "Xây dựng"),
    AreaButton("tu-phap", "Tư pháp – Hộ tịch"),
    AreaButton("dkkd", "Đăng ký kinh doanh"),
    AreaButton("ldtbxh", "Lao động – Thương binh và Xã hội"),
    AreaButton("bhxh", "Bảo hiểm xã hội"),
    AreaButton("tnmt", "Tài nguyên và Môi trường", open=False),
)
TWELVE = (
    *AREAS[:6],
    AreaButton("tnmt-dd", "Tài nguyên và Môi trường, Đất đai và Xây dựng", open=False),
    AreaButton("gddt", "Giáo dục và Đào tạo"),
    AreaButton("y-te", "Y tế"),
    AreaButton("vhtt", "Văn hóa, Thể thao và Du lịch"),
    AreaButton("nn", "Nông nghiệp và Phát triển nông thôn"),
    AreaButton("ct", "Công thương – Khoa học và Công nghệ, Thông tin và Truyền thông"),
)
PRIORITIES = tuple(PRIORITY_LABELS.items())
TICKET = IssuedTicket("t-1", "B012", "dat-dai", "Đất đai", NOW, 7, 1260, wait_basis="estimate")
MENU = KioskView(Screen.MENU, CENTER, NOW, AREAS, PRIORITIES)
# The example center (firmware_configs/center.example.toml), in Rạch Giá.
EXAMPLE = tomllib.loads((ROOT / "firmware_configs" / "center.example.toml").read_text(encoding="utf-8"))
EXAMPLE_NAME = "Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá"
EXAMPLE_AREAS = tuple(AreaButton(area["id"], area["name"], area.get("open", True)) for area in EXAMPLE["areas"])
EXAMPLE_MENU = KioskView(Screen.MENU, EXAMPLE_NAME, NOW, EXAMPLE_AREAS, PRIORITIES)


@pytest.fixture(scope="module", params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def renderer(request: pytest.FixtureRequest) -> Iterator[KioskRenderer]:
    pygame.font.init()
    yield KioskRenderer(request.param)


def draw(renderer: KioskRenderer, view: KioskView, tmp_path: Path,
         name: str) -> tuple[pygame.Surface, list[tuple[pygame.Rect, str]], Scene]:
    """Draw `view`, save it (tmp_path and a copy to look at), check what every screen must hold."""
    surface = pygame.Surface(renderer.size)
    targets = renderer.draw(view, surface)
    width, height = renderer.size
    save(surface, name, tmp_path, LOOK)
    scene = renderer.layout(view)
    assert [(tuple(rect), target) for rect, target in targets] == [
        (tuple(rect), target) for rect, target in scene.targets]
    bounds = surface.get_rect()
    for rect, _ in targets:
        assert bounds.contains(rect)
        assert min(rect.size) >= 0.08 * min(width, height)  # a finger can hit it
    assert not any(a.colliderect(b) for i, (a, _) in enumerate(targets) for b, _ in targets[i + 1:])
    for block in scene.texts():
        assert bounds.contains(block.box), block
        for line in block.lines:
            assert block.box.contains(line.rect), (line, block.box)
            assert line.text == unicodedata.normalize("NFC", line.text)
        # no line break inside "màn hình", "TP. Rạch Giá", …
        assert split_groups([line.text for line in block.lines]) == [], block
    header = " ".join(texts(scene)[:3])
    assert "08:05" in header and "23/11/2026" in header
    return surface, targets, scene


def texts(scene: Scene) -> list[str]:
    """Each text block's lines joined again: what the citizen reads."""
    return [" ".join(line.text for line in block.lines) for block in scene.texts()]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def colour_mask(surface: pygame.Surface, colour: tuple[int, int, int]) -> pygame.mask.Mask:
    return pygame.mask.from_threshold(surface, (*colour, 255), (2, 2, 2, 255))


def outside(mask: pygame.mask.Mask, rects: list[pygame.Rect], region: pygame.Rect) -> int:
    """How many set pixels of `mask` within `region` lie in none of `rects`."""
    kept = pygame.mask.Mask(mask.get_size())
    kept.draw(mask, (0, 0))
    for rect in rects:
        kept.erase(pygame.mask.Mask(rect.size, fill=True), rect.topleft)
    area = pygame.mask.Mask(region.size, fill=True)
    return kept.overlap_area(area, region.topleft)


# --- fonts ------------------------------------------------------------------------------------


def test_the_font_files_missing_name_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        default_fonts([tmp_path])
    assert default_fonts().regular.name == "DejaVuSans.ttf"


def test_there_are_134_vietnamese_letters_to_check() -> None:
    assert len(VIETNAMESE_LETTERS) == 134 == len(set(VIETNAMESE_LETTERS))
    assert all(unicodedata.category(c) in ("Ll", "Lu") for c in VIETNAMESE_LETTERS)
    assert {"ặ", "Ẫ", "ự", "Ỹ", "đ", "Đ", "ơ", "Ư"} <= set(VIETNAMESE_LETTERS)


@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_every_vietnamese_letter_has_a_real_glyph(bold: bool) -> None:
    pygame.font.init()
    renderer = KioskRenderer((800, 480))
    for size in (16, 40):
        assert tofu(renderer.font(size, bold=bold)) == []


def test_the_tofu_check_finds_the_letters_pygames_default_font_lacks() -> None:
    pygame.font.init()
    missing = tofu(pygame.font.Font(None, 40))
    assert len(missing) > 50  # the design notes 94 of 146 missing
    assert "ặ" in missing


def test_decomposed_text_is_drawn_composed(tmp_path: Path) -> None:
    pygame.font.init()
    renderer = KioskRenderer((800, 480))
    decomposed = unicodedata.normalize("NFD", CENTER)
    assert decomposed != CENTER
    view = replace(MENU, center_name=decomposed, areas=(AreaButton("x", unicodedata.normalize("NFD", "Hộ tịch")),))
    scene = draw(renderer, view, tmp_path, "nfd")[2]
    assert flat(CENTER) in texts(scene)
    assert "Hộ tịch" in texts(scene)


def test_a_surface_of_another_size_is_refused() -> None:
    pygame.font.init()
    with pytest.raises(ValueError, match="800, 480"):
        KioskRenderer((800, 480)).draw(MENU, pygame.Surface((1024, 600)))


# --- the menu ---------------------------------------------------------------------------------


def test_menu_has_one_target_per_open_area_and_the_priority_button(renderer: KioskRenderer,
                                                                   tmp_path: Path) -> None:
    surface, targets, scene = draw(renderer, MENU, tmp_path, "menu")
    names = [target for _, target in targets]
    open_areas = [area for area in AREAS if area.open]
    assert len(targets) == len(open_areas) + 1
    assert sorted(names) == sorted([area_target(a.id) for a in open_areas] + [PRIORITY_BUTTON])
    assert area_target("tnmt") not in names
    shown = texts(scene)
    assert "Mời chọn lĩnh vực cần giải quyết" in shown
    for area in AREAS:  # every name whole, never cut
        assert area.name in shown
    assert "Tạm ngừng tiếp nhận" in shown
    assert any(text.startswith("Ưu tiên:") and "trẻ" in text and "cao tuổi" in text for text in shown)
    rects = dict((target, rect) for rect, target in targets)
    # The priority button is amber; every open area's button holds its dark label.
    priority = rects[PRIORITY_BUTTON]
    assert surface.get_at((priority.x + priority.w // 8, priority.centery))[:3] == PRIORITY
    text = colour_mask(surface, TEXT)
    for area in open_areas:
        rect = rects[area_target(area.id)]
        assert text.overlap_area(pygame.mask.Mask(rect.size, fill=True), rect.topleft) > 20
        assert priority.top > rect.bottom  # the priority way is a band of its own below the areas
    # The closed area is greyed where a button would be.
    assert colour_mask(surface, CLOSED).count() > 0.01 * surface.get_width() * surface.get_height()


def test_menu_labels_share_one_size_and_stay_readable(renderer: KioskRenderer, tmp_path: Path) -> None:
    scene = draw(renderer, MENU, tmp_path, "menu-sizes")[2]
    open_names = {area.name for area in AREAS if area.open}
    sizes = {block.size for block in scene.texts() if " ".join(line.text for line in block.lines) in open_names}
    assert len(sizes) == 1
    assert sizes.pop() >= 18 * min(renderer.size[0] / 800, renderer.size[1] / 480)


def test_twelve_areas_with_long_names_fit_without_scrolling_or_clipping(renderer: KioskRenderer,
                                                                         tmp_path: Path) -> None:
    view = replace(MENU, areas=TWELVE)
    surface, targets, scene = draw(renderer, view, tmp_path, "menu-12")
    assert len(targets) == sum(area.open for area in TWELVE) + 1 == 12
    rects = [rect for rect, target in targets if target.startswith("area:")]
    shown = texts(scene)
    for area in TWELVE:
        assert area.name in shown
    for block in scene.texts():
        name = " ".join(line.text for line in block.lines)
        if name not in {area.name for area in TWELVE if area.open}:
            continue
        button = next(rect for rect in rects if rect.contains(block.box))
        assert len(block.lines) <= 3
        for line in block.lines:
            assert line.rect.w <= button.w and button.contains(line.rect)
        assert block.size >= 12
    # In pixels: no dark label pixel between or outside the buttons of the grid.
    grid = rects[0].unionall(rects)
    assert outside(colour_mask(surface, TEXT), rects, grid.inflate(20, 20).clip(surface.get_rect())) == 0


def test_a_chosen_priority_shows_a_banner_and_a_back_button(renderer: KioskRenderer, tmp_path: Path) -> None:
    view = replace(MENU, chosen_priority="elderly")
    _, targets, scene = draw(renderer, view, tmp_path, "menu-priority-chosen")
    names = [target for _, target in targets]
    assert BACK_BUTTON in names and PRIORITY_BUTTON not in names
    assert len(targets) == 6 + 1
    shown = texts(scene)
    assert "Phiếu ưu tiên: Người cao tuổi — mời chọn lĩnh vực" in [flat(text) for text in shown]
    assert "← Quay lại" in shown


def test_the_priority_screen_offers_each_category_and_back(renderer: KioskRenderer, tmp_path: Path) -> None:
    view = replace(MENU, screen=Screen.PRIORITY)
    _, targets, scene = draw(renderer, view, tmp_path, "priority")
    assert sorted(target for _, target in targets) == sorted(
        [priority_target(category) for category, _ in PRIORITIES] + [BACK_BUTTON])
    shown = texts(scene)
    assert "Mời chọn đối tượng ưu tiên" in shown
    for _, label in PRIORITIES:
        assert label in shown


def test_without_priority_categories_there_is_no_priority_button(tmp_path: Path) -> None:
    pygame.font.init()
    _, targets, _ = draw(KioskRenderer((800, 480)), replace(MENU, priorities=()), tmp_path, "menu-no-priority")
    assert PRIORITY_BUTTON not in [target for _, target in targets]


# --- while waiting, the ticket, problems ------------------------------------------------------


def test_working_shows_a_spinner_and_takes_no_touch(renderer: KioskRenderer, tmp_path: Path) -> None:
    surface, targets, scene = draw(renderer, replace(MENU, screen=Screen.WORKING), tmp_path, "working")
    assert targets == []
    assert "Đang lấy số thứ tự…" in texts(scene)
    assert any(isinstance(item, Spinner) for item in scene.items)
    later = pygame.Surface(renderer.size)
    renderer.draw(replace(MENU, screen=Screen.WORKING, now=NOW.replace(microsecond=500_000)), later)
    assert pygame.image.tobytes(later, "RGB") != pygame.image.tobytes(surface, "RGB")  # it turns


def test_starting(renderer: KioskRenderer, tmp_path: Path) -> None:
    _, targets, scene = draw(renderer, KioskView(Screen.STARTING, "", NOW), tmp_path, "starting")
    assert targets == [] and "Đang khởi động…" in texts(scene)


def number_ink(surface: pygame.Surface, scene: Scene) -> pygame.Rect:
    """The bounding box of the ticket number's pixels: its dark blue below the header (of the same blue)."""
    header = scene.items[0]
    assert isinstance(header, Panel) and header.rect.top == 0
    body = pygame.Rect(0, header.rect.bottom, surface.get_width(), surface.get_height() - header.rect.bottom)
    rects = colour_mask(surface.subsurface(body), NUMBER).get_bounding_rects()
    assert rects, "no number drawn"
    return rects[0].unionall(rects).move(0, body.top)


@pytest.mark.parametrize("number", ["B012", "7", "1005", "U0123"])
def test_the_ticket_number_takes_a_large_share_of_the_height(renderer: KioskRenderer, tmp_path: Path,
                                                             number: str) -> None:
    view = replace(MENU, screen=Screen.TICKET, ticket=replace(TICKET, number=number))
    surface, targets, scene = draw(renderer, view, tmp_path, f"ticket-{number}")
    assert targets == []
    width, height = renderer.size
    ink = number_ink(surface, scene)
    if height > width or len(number) > 4:
        assert ink.w >= 0.7 * width or ink.h >= 0.3 * height  # as wide as the screen allows
    else:
        assert ink.h >= 0.3 * height
    assert ink.h >= 0.15 * min(width, height)
    assert abs(ink.centerx - width // 2) < 0.02 * width
    shown = texts(scene)
    take = next(b for b in scene.texts() if b.lines and b.lines[0].text == "Vui lòng nhận phiếu")
    assert ink.bottom < take.lines[0].rect.top  # the number above, nothing drawn over it
    assert number in shown and "Đất đai" in shown
    assert "Số thứ tự" in shown
    assert "Số người chờ trước: 7" in shown
    assert "Thời gian chờ dự kiến: khoảng 21 phút" in shown


def wait_texts(renderer: KioskRenderer, tmp_path: Path, name: str, *, waiting_ahead: int, estimated_wait_s: int,
               wait_basis: str) -> list[str]:
    """What the ticket screen says below "Vui lòng nhận phiếu": the wait."""
    ticket = replace(TICKET, waiting_ahead=waiting_ahead, estimated_wait_s=estimated_wait_s, wait_basis=wait_basis)
    view = replace(MENU, screen=Screen.TICKET, ticket=ticket)
    shown = texts(draw(renderer, view, tmp_path, name)[2])
    return shown[shown.index("Vui lòng nhận phiếu") + 1:]


def test_a_free_counter_calls_the_citizen_at_once(renderer: KioskRenderer, tmp_path: Path) -> None:
    assert wait_texts(renderer, tmp_path, "ticket-free-counter", waiting_ahead=0, estimated_wait_s=0,
                      wait_basis="free_counter") == ["Công dân sẽ được gọi ngay"]


def test_an_estimate_is_shown_even_with_nobody_ahead(renderer: KioskRenderer, tmp_path: Path) -> None:
    # Every counter busy, nobody waiting: the citizen waits about 5 minutes, not "gọi ngay" (the old bug).
    assert wait_texts(renderer, tmp_path, "ticket-estimate-0", waiting_ahead=0, estimated_wait_s=290,
                      wait_basis="estimate") == ["Số người chờ trước: 0", "Thời gian chờ dự kiến: khoảng 5 phút"]


def test_no_counter_for_the_area_gives_no_estimate(renderer: KioskRenderer, tmp_path: Path) -> None:
    assert wait_texts(renderer, tmp_path, "ticket-no-counter", waiting_ahead=3, estimated_wait_s=0,
                      wait_basis="no_counter") == ["Số người chờ trước: 3", "Hiện chưa có quầy tiếp nhận lĩnh vực này"]


def test_an_unknown_wait_basis_counts_as_an_estimate(tmp_path: Path) -> None:
    pygame.font.init()
    assert wait_texts(KioskRenderer((800, 480)), tmp_path, "ticket-odd-basis", waiting_ahead=2,
                      estimated_wait_s=600, wait_basis="later") == [
        "Số người chờ trước: 2", "Thời gian chờ dự kiến: khoảng 10 phút"]


def test_a_priority_ticket_says_so(renderer: KioskRenderer, tmp_path: Path) -> None:
    ticket = replace(TICKET, number="U003", priority="child_under_6")
    view = replace(MENU, screen=Screen.TICKET, ticket=ticket)
    surface, _, scene = draw(renderer, view, tmp_path, "ticket-priority")
    assert "Phiếu ưu tiên: Người đi cùng trẻ em dưới 6 tuổi" in texts(scene)
    assert colour_mask(surface, PRIORITY).count() > 0


def test_a_failed_print_shows_the_number_and_the_problem_in_red(renderer: KioskRenderer, tmp_path: Path) -> None:
    view = replace(MENU, screen=Screen.PRINT_FAILED, ticket=TICKET, message=PRINT_FAILED)
    surface, targets, scene = draw(renderer, view, tmp_path, "print-failed")
    assert targets == []
    width, height = renderer.size
    ink = number_ink(surface, scene)
    assert ink.h >= (0.1 if height > width else 0.28) * height
    assert flat(PRINT_FAILED) in [flat(text) for text in texts(scene)]
    red = colour_mask(surface, PROBLEM).get_bounding_rects()
    band = red[0].unionall(red)
    assert band.top > ink.bottom and band.w > 0.8 * width


WEEK = Hours((parse_sessions(["07:30-11:30", "13:30-17:00"]),) * 5 + (parse_sessions(["07:30-11:30"]), ()))
CLOSED_MESSAGE = WEEK.refusal(datetime(2026, 12, 2, 18, 0), Closed.OUTSIDE_HOURS)


@pytest.mark.parametrize(("screen", "message"), [
    (Screen.BUSY, BUSY),
    (Screen.REFUSED, NOT_ISSUED),
    (Screen.REFUSED, "Lĩnh vực Đất đai đã cấp đủ 150 phiếu hôm nay. "
                     "Mời công dân quay lại vào ngày làm việc tiếp theo."),
    # An area closed or removed just as it was chosen (the center's config changed while the kiosk ran).
    (Screen.REFUSED, f"{AREA_GONE.format(area='Lao động – Thương binh và Xã hội')} {CHOOSE_ANOTHER}"),
    (Screen.REFUSED, f"{AREA_NOT_TAKING[AREA_CLOSED].format(area='Tài nguyên và Môi trường')} {ASK_STAFF}"),
    (Screen.OFFLINE, NO_BROKER),
    (Screen.OFFLINE, NO_SERVER),
    (Screen.CLOSED, CLOSED_MESSAGE),
    *[(Screen.PRINTER_PROBLEM, message) for message in PRINTER_MESSAGES.values()],
])
def test_notices_show_the_whole_message(renderer: KioskRenderer, tmp_path: Path, screen: Screen, message: str) -> None:
    name = f"{screen.value}-{zlib.crc32(message.encode()):08x}"
    surface, targets, scene = draw(renderer, KioskView(screen, CENTER, NOW, message=message), tmp_path, name)
    assert targets == [], "a notice takes no touch"
    block = next(b for b in scene.texts() if flat(" ".join(line.text for line in b.lines)) == flat(message))
    assert block.size >= 20 * min(renderer.size[0] / 800, renderer.size[1] / 480)  # large
    if screen in (Screen.PRINTER_PROBLEM, Screen.OFFLINE):  # what an official must see to
        assert colour_mask(surface, PROBLEM).count() > 0
    else:
        assert colour_mask(surface, PROBLEM).count() == 0  # red only for a problem


def test_a_slow_answer_says_so_under_the_spinner(renderer: KioskRenderer, tmp_path: Path) -> None:
    scene = draw(renderer, KioskView(Screen.WORKING, CENTER, NOW, message=SLOW), tmp_path, "working-slow")[2]
    shown = [flat(text) for text in texts(scene)]
    assert flat("Đang lấy số thứ tự…") in shown and flat(SLOW) in shown


def test_an_area_that_cannot_be_chosen_says_why(renderer: KioskRenderer, tmp_path: Path) -> None:
    areas = (AreaButton("dat-dai", "Đất đai", open=False, note=AREA_FULL),
             AreaButton("bhxh", "Bảo hiểm xã hội", open=False, note=AREA_OUT_OF_HOURS),
             AreaButton("tu-phap", "Tư pháp – Hộ tịch"))
    _, targets, scene = draw(renderer, replace(MENU, areas=areas), tmp_path, "menu-notes")
    shown = [flat(text) for text in texts(scene)]
    assert flat(AREA_FULL) in shown and flat(AREA_OUT_OF_HOURS) in shown
    assert [target for _, target in targets if target.startswith("area:")] == ["area:tu-phap"]


def test_drawing_is_pure(renderer: KioskRenderer) -> None:
    first, second = pygame.Surface(renderer.size), pygame.Surface(renderer.size)
    view = replace(MENU, areas=TWELVE)
    assert renderer.draw(view, first) == renderer.draw(view, second)
    assert pygame.image.tobytes(first, "RGB") == pygame.image.tobytes(second, "RGB")


def test_a_long_refusal_is_shown_whole(renderer: KioskRenderer, tmp_path: Path) -> None:
    message = ("Lĩnh vực Đất đai đã hết số thứ tự trong buổi sáng nay. Vui lòng quay lại vào buổi chiều "
               "từ 13 giờ 30 hoặc đặt lịch hẹn trực tuyến trên Cổng dịch vụ công quốc gia; xin cảm ơn.")
    scene = draw(renderer, KioskView(Screen.BUSY, CENTER, NOW, message=message), tmp_path, "busy-long")[2]
    assert flat(message) in [flat(text) for text in texts(scene)]


def test_a_failed_print_without_a_ticket_still_says_so(tmp_path: Path) -> None:
    pygame.font.init()
    view = KioskView(Screen.PRINT_FAILED, CENTER, NOW, message=PRINT_FAILED)
    surface, _, scene = draw(KioskRenderer((800, 480)), view, tmp_path, "print-failed-no-ticket")
    assert flat(PRINT_FAILED) in [flat(text) for text in texts(scene)]
    assert colour_mask(surface, PROBLEM).count() > 0


# --- the example center: register and line breaks -----------------------------------------------


def block_of(scene: Scene, text: str) -> TextBlock:
    return next(block for block in scene.texts() if flat(" ".join(line.text for line in block.lines)) == text)


def test_the_example_center_breaks_no_word_group(renderer: KioskRenderer, tmp_path: Path) -> None:
    # The review saw "…Trả kết quả TP. / Rạch Giá" and "Lao động – Thương / binh và Xã hội" at 1280×800.
    for name, view in (("example-menu", EXAMPLE_MENU),
                       ("example-priority", replace(EXAMPLE_MENU, screen=Screen.PRIORITY)),
                       ("example-chosen", replace(EXAMPLE_MENU, chosen_priority="disabled"))):
        scene = draw(renderer, view, tmp_path, name)[2]  # draw() checks every block for split groups
        header = block_of(scene, EXAMPLE_NAME)
        assert any("TP. Rạch Giá" in line.text for line in header.lines), header
    scene = renderer.layout(EXAMPLE_MENU)
    labour = [line.text for line in block_of(scene, "Lao động – Thương binh và Xã hội").lines]
    assert any("Thương binh" in line for line in labour) and any("Xã hội" in line for line in labour), labour


def test_people_with_disabilities_is_not_wrapped_where_the_elderly_fit_on_one_line(renderer: KioskRenderer,
                                                                                   tmp_path: Path) -> None:
    # The review saw "Người / khuyết tật" at 1920×1080 beside "Người cao tuổi" on one line.
    scene = draw(renderer, replace(EXAMPLE_MENU, screen=Screen.PRIORITY), tmp_path, "example-priority")[2]
    elderly, disabled = block_of(scene, "Người cao tuổi"), block_of(scene, "Người khuyết tật")
    assert len(elderly.lines) == 1
    assert len(disabled.lines) == 1, disabled.lines
    assert disabled.size == elderly.size  # one size for the buttons, as before


def citizen_strings(path: Path) -> list[str]:
    """Every string constant with a Vietnamese letter in a module: what it may show or print."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.search(r"[À-ỹđĐ]", node.value)]


@pytest.mark.parametrize("module", ["kiosk/view.py", "kiosk/ticket_layout.py", "kiosk/model.py"])
def test_citizens_are_addressed_formally_and_the_paper_is_a_phieu(module: str) -> None:
    strings = citizen_strings(ROOT / module)
    assert strings
    for text in strings:
        assert not re.search(r"\b(bạn|vé)\b", text, re.IGNORECASE), text


def test_every_kiosk_screen_is_formal(renderer: KioskRenderer) -> None:
    views = [EXAMPLE_MENU, replace(EXAMPLE_MENU, screen=Screen.PRIORITY), replace(MENU, screen=Screen.WORKING),
             replace(BOOKING_MENU, screen=Screen.KEYPAD, typed="123", message=CODE_WRONG, scanner=True),
             replace(MENU, screen=Screen.TICKET, ticket=BOOKED_TICKET),
             KioskView(Screen.STARTING, "", NOW), KioskView(Screen.BUSY, CENTER, NOW),
             KioskView(Screen.PRINTER_PROBLEM, CENTER, NOW), replace(MENU, screen=Screen.PRINT_FAILED, ticket=TICKET),
             *(replace(MENU, screen=Screen.TICKET, ticket=replace(TICKET, wait_basis=basis))
               for basis in ("free_counter", "estimate", "no_counter"))]
    for view in views:
        for text in texts(renderer.layout(view)):
            assert not re.search(r"\b(bạn|vé)\b", text, re.IGNORECASE), text


# --- check-in with a booking (issue 18) -------------------------------------------------------------------------

BOOKING_MENU = replace(MENU, bookings=True)
BOOKED_TICKET = replace(TICKET, number="1007", channel="booked", booking="12345671",
                        slot_start=NOW.replace(hour=9, minute=0), slot_end=NOW.replace(hour=9, minute=30))
KEYS = [key_target(str(digit)) for digit in range(10)] + [KEY_DELETE, KEY_CONFIRM, KEY_CANCEL]


def test_the_menu_offers_check_in_beside_the_priority_button(renderer: KioskRenderer, tmp_path: Path) -> None:
    surface, targets, scene = draw(renderer, BOOKING_MENU, tmp_path, "menu-bookings")
    rects = {target: rect for rect, target in targets}
    assert set(rects) == {area_target(a.id) for a in AREAS if a.open} | {PRIORITY_BUTTON, BOOKING_BUTTON}
    booking, priority = rects[BOOKING_BUTTON], rects[PRIORITY_BUTTON]
    assert booking.top == priority.top and booking.left > priority.right, "side by side, below the areas"
    assert booking.w >= 0.3 * renderer.size[0]
    assert "Tôi đã đặt lịch" in texts(scene)
    assert surface.get_at((booking.x + booking.w // 10, booking.centery))[:3] == BOOKED
    assert any(text.startswith("Ưu tiên") or text == "Lấy số ưu tiên" for text in texts(scene))


def test_without_priorities_check_in_takes_the_whole_band_and_none_while_a_priority_is_chosen(tmp_path: Path) -> None:
    pygame.font.init()
    renderer = KioskRenderer((800, 480))
    _, targets, _ = draw(renderer, replace(BOOKING_MENU, priorities=()), tmp_path, "menu-bookings-only")
    rects = {target: rect for rect, target in targets}
    assert PRIORITY_BUTTON not in rects and rects[BOOKING_BUTTON].w > 0.9 * 800
    _, targets, _ = draw(renderer, replace(BOOKING_MENU, chosen_priority="elderly"), tmp_path, "menu-bookings-chosen")
    assert BOOKING_BUTTON not in [target for _, target in targets]


def digit_boxes(scene: Scene) -> list[TextBlock]:
    """The typed digits in the code's boxes: one-digit blocks that are no keys, left to right."""
    keys = {tuple(rect) for rect, _ in scene.targets}
    blocks = [block for block in scene.texts() if len(block.lines) == 1 and block.lines[0].text.isdigit()
              and len(block.lines[0].text) == 1 and not any(pygame.Rect(key).contains(block.box) for key in keys)]
    return sorted(blocks, key=lambda block: block.box.x)


def test_the_keypad_has_big_keys_and_shows_the_code_grouped_as_typed(renderer: KioskRenderer, tmp_path: Path) -> None:
    view = replace(BOOKING_MENU, screen=Screen.KEYPAD, typed="123456")
    surface, targets, scene = draw(renderer, view, tmp_path, "keypad")
    assert sorted(target for _, target in targets) == sorted(KEYS)
    width, height = renderer.size
    for rect, target in targets:
        assert min(rect.size) >= 0.1 * min(width, height), target  # big keys for a finger
    shown = texts(scene)
    assert {"Mời nhập mã đặt lịch", KEYPAD_HINT, "Xoá", "Huỷ", "Xác nhận"} <= set(shown)
    rects = {target: rect for rect, target in targets}
    for label, target in [*((str(n), key_target(str(n))) for n in range(10)), ("Xoá", KEY_DELETE),
                          ("Xác nhận", KEY_CONFIRM), ("Huỷ", KEY_CANCEL)]:
        assert any(rects[target].contains(block.box) and flat(" ".join(line.text for line in block.lines)) == label
                   for block in scene.texts()), f"{target} says {label}"
    boxes = digit_boxes(scene)
    assert "".join(block.lines[0].text for block in boxes) == "123456"
    first = next(item.rect for item in scene.items if isinstance(item, Panel) and item.rect.contains(boxes[0].box))
    cells = sorted((item.rect for item in scene.items if isinstance(item, Panel) and item.rect.size == first.size
                    and item.rect.y == first.y), key=lambda rect: rect.x)
    assert len(cells) == 8, "a box for each digit of the code"
    gaps = [b.x - a.right for a, b in itertools.pairwise(cells)]
    assert gaps[3] > 2 * max(gaps[:3] + gaps[4:]), "grouped 4 + 4, as the code is printed"
    confirm = rects[KEY_CONFIRM]
    assert surface.get_at((confirm.x + confirm.w // 10, confirm.centery))[:3] == BOOKED


def test_the_keypad_says_why_a_code_was_not_taken_and_that_a_qr_may_be_scanned(renderer: KioskRenderer,
                                                                              tmp_path: Path) -> None:
    view = replace(BOOKING_MENU, screen=Screen.KEYPAD, typed="12345678", message=CODE_WRONG, scanner=True)
    surface, _, scene = draw(renderer, view, tmp_path, "keypad-wrong")
    shown = [flat(text) for text in texts(scene)]
    assert flat(CODE_WRONG) in shown and flat(KEYPAD_HINT_SCANNER) in shown
    assert "".join(block.lines[0].text for block in digit_boxes(scene)) == "12345678"
    assert colour_mask(surface, PROBLEM).count() == 0, "a typing mistake is no fault: no red"


@pytest.mark.parametrize(("name", "ticket", "label"), [
    ("booked", BOOKED_TICKET, "Lịch hẹn — Khung giờ 09:00–09:30"),
    ("remote", replace(BOOKED_TICKET, channel="remote", slot_start=None, slot_end=None), "Số lấy từ xa"),
    ("late", replace(BOOKED_TICKET, channel="walk_in"), LATE_SCREEN),
    ("booked-priority", replace(BOOKED_TICKET, priority="elderly"),
     "Lịch hẹn — Khung giờ 09:00–09:30 · Phiếu ưu tiên: Người cao tuổi"),
])
def test_the_ticket_screen_says_how_the_ticket_came(renderer: KioskRenderer, tmp_path: Path, name: str,
                                                    ticket: IssuedTicket, label: str) -> None:
    view = replace(MENU, screen=Screen.TICKET, ticket=ticket)
    surface, _, scene = draw(renderer, view, tmp_path, f"ticket-{name}")
    shown = [flat(text) for text in texts(scene)]
    assert flat(label) in shown and ticket.number in shown and "Vui lòng nhận phiếu" in shown
    assert "Số thứ tự" not in shown, "the label says more than that"
    assert "12345671" not in " ".join(shown), "the booking's code is not shown"
    colour = PRIORITY if name == "late" else BOOKED
    assert colour_mask(surface, colour).count() > 0
