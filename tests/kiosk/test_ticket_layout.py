"""The printed ticket's layout: segments for the printer and a preview of exactly what the paper shows.

Every preview is saved as a PNG in the test's tmp_path and in /tmp/ticket-previews/ to be looked at.
"""

from __future__ import annotations

import dataclasses
import itertools
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from escpos.printer import Dummy
from PIL import Image, ImageChops

from kiosk.config import DEFAULT_QR
from kiosk.model import IssuedTicket, wait_minutes
from kiosk.printer import EscposPrinter
from kiosk.ticket_layout import (
    AHEAD_LINE,
    CALLED_AT_ONCE,
    FONT_A_HEIGHT,
    FONT_A_WIDTH,
    NBSP,
    NO_COUNTER,
    PAPER_58MM,
    PAPER_80MM,
    QR_BORDER_MODULES,
    WAIT_LABEL,
    ImageSegment,
    NumberSegment,
    PaperProfile,
    QrSegment,
    RenderedTicket,
    Segment,
    TicketFonts,
    TicketText,
    channel_lines,
    draw_text_block,
    estimate_bytes,
    nfc,
    qr_matrix,
    qr_text,
    render_ticket,
    segment_height,
    text_sizes,
    to_1bit,
    wrap_text,
)
from protocol.messages import PRIORITY_LABELS
from tests.ui_helpers import split_groups
from ui.text import FontsMissing

PREVIEW_DIR = Path("/tmp/ticket-previews")
VN = timezone(timedelta(hours=7))
LONG_CENTER = "Bộ phận Tiếp nhận và Trả kết quả Trung tâm Phục vụ hành chính công tỉnh Kiên Giang"
TEXT = TicketText(
    center_name=LONG_CENTER,
    footer="Vui lòng theo dõi số trên màn hình và loa gọi. Xin cảm ơn!",
    qr_content="https://hcc.kiengiang.gov.vn/ve/{ticket_id}?so={number}&quay={area}",
)
PAPERS = {"58mm": PAPER_58MM, "80mm": PAPER_80MM}


@pytest.fixture(scope="module")
def fonts() -> TicketFonts:
    return TicketFonts.default()


def make_ticket(
    *,
    ahead: int = 5,
    wait_s: int = 700,
    priority: str = "none",
    number: str = "B001",
    issued_at: datetime | None = None,
    basis: str = "estimate",
) -> IssuedTicket:
    return IssuedTicket(
        id="01JD8Z6Q3TKX",
        number=number,
        area="B",
        area_name="Đất đai – Tài nguyên và Môi trường",
        issued_at=issued_at or datetime(2026, 11, 23, 8, 15, tzinfo=VN),
        waiting_ahead=ahead,
        estimated_wait_s=wait_s,
        priority=priority,
        wait_basis=basis,
    )


def save(image: Image.Image, tmp_path: Path, name: str) -> None:
    PREVIEW_DIR.mkdir(parents=True, exist_ok=True)
    image.save(tmp_path / f"{name}.png")
    image.save(PREVIEW_DIR / f"{name}.png")


def with_natives(paper: PaperProfile, native: bool) -> PaperProfile:
    return dataclasses.replace(paper, native_digits=native, native_qr=native)


def offsets(segments: tuple[Segment, ...]) -> list[int]:
    ys, y = [], 0
    for segment in segments:
        ys.append(y)
        y += segment_height(segment)
    return ys


def find_block(preview: Image.Image, block: Image.Image) -> int | None:
    """The row where `block` (full width, 1-bit) appears pixel for pixel in the preview, if it does."""
    block = block.convert("1")
    for y in range(preview.height - block.height + 1):
        window = preview.crop((0, y, preview.width, y + block.height)).convert("1")
        if ImageChops.difference(window, block).getbbox() is None:
            return y
    return None


def text_line(text: str, font_path: Path, size: int, paper: PaperProfile) -> Image.Image:
    from kiosk.ticket_layout import _font  # the same cached font object the layout uses

    width = paper.width_dots
    return to_1bit(draw_text_block(text, _font(font_path, size), width, text_sizes(width).margin))


# ---------------------------------------------------------------------------------------------------------------
# The whole ticket, on both papers, native and all-image, priority or not, each wait basis

BASES = {"free_counter": 0, "estimate": 5, "no_counter": 3}  # with the number waiting ahead
MATRIX = list(itertools.product(PAPERS, (True, False), ("none", "elderly"), BASES))


@pytest.mark.parametrize(("paper_name", "native", "priority", "basis"), MATRIX)
def test_ticket_renders_for_every_paper_and_mode(
    paper_name: str, native: bool, priority: str, basis: str, fonts: TicketFonts, tmp_path: Path
) -> None:
    paper = with_natives(PAPERS[paper_name], native)
    ticket = make_ticket(ahead=BASES[basis], priority=priority, basis=basis)
    rendered = render_ticket(ticket, TEXT, paper, fonts)
    save(rendered.preview, tmp_path, f"{paper_name}-{'native' if native else 'image'}-{priority}-{basis}")

    preview = rendered.preview
    assert preview.width == paper.width_dots
    assert preview.mode in ("1", "L")
    assert preview.height == sum(segment_height(s) for s in rendered.segments)
    images = [s for s in rendered.segments if isinstance(s, ImageSegment)]
    assert images
    for segment in images:
        assert segment.image.mode == "1"
        assert segment.image.width == paper.width_dots
        assert segment.image.height % 8 == 0
    # Consecutive images are merged: never two ImageSegments in a row.
    for first, second in itertools.pairwise(rendered.segments):
        assert not (isinstance(first, ImageSegment) and isinstance(second, ImageSegment))
    # The preview shows each image segment as is, where the paper has it.
    for part, y in zip(rendered.segments, offsets(rendered.segments), strict=True):
        if isinstance(part, ImageSegment):
            window = preview.crop((0, y, preview.width, y + part.image.height)).convert("1")
            assert ImageChops.difference(window, part.image).getbbox() is None

    numbers = [s for s in rendered.segments if isinstance(s, NumberSegment)]
    qrs = [s for s in rendered.segments if isinstance(s, QrSegment)]
    if native:
        assert numbers == [NumberSegment("B001", paper.digit_scale)]
        assert qrs == [QrSegment(qr_text(TEXT.qr_content, ticket), paper.qr_module)]
        assert len(rendered.segments) == 5  # image, number, image, QR, image
    else:
        assert numbers == [] and qrs == []
        assert len(rendered.segments) == 1

    # Nothing reaches into the side margins (an unwrapped line would), except nothing at all.
    margin = text_sizes(paper.width_dots).margin
    for x in (*range(margin), *range(paper.width_dots - margin, paper.width_dots)):
        column = preview.crop((x, 0, x + 1, preview.height)).convert("L")
        assert column.getextrema() == (255, 255), f"ink in margin column {x}"
    # The end is blank paper to feed before the cut.
    tail = preview.crop((0, preview.height - 16, preview.width, preview.height)).convert("L")
    assert tail.getextrema() == (255, 255)


@pytest.mark.parametrize("paper_name", PAPERS)
def test_the_information_lines_are_on_the_paper(paper_name: str, fonts: TicketFonts, tmp_path: Path) -> None:
    paper = PAPERS[paper_name]
    size = text_sizes(paper.width_dots)
    busy = render_ticket(make_ticket(ahead=5, wait_s=61, priority="pregnant"), TEXT, paper, fonts)
    save(busy.preview, tmp_path, f"{paper_name}-lines-busy")

    time_line = text_line(f"Giờ lấy số: 08:15{NBSP}–{NBSP}23/11/2026", fonts.regular, size.body, paper)
    assert find_block(busy.preview, time_line) is not None
    ahead_5 = text_line("Số người chờ trước: 5", fonts.regular, size.body, paper)
    assert find_block(busy.preview, ahead_5) is not None
    label = find_block(busy.preview, text_line("Thời gian chờ dự kiến:", fonts.regular, size.body, paper))
    wait = find_block(busy.preview, text_line("khoảng 2 phút", fonts.bold, size.body, paper))
    assert label is not None and wait is not None and label < wait
    assert find_block(busy.preview, text_line(CALLED_AT_ONCE, fonts.bold, size.body, paper)) is None
    assert find_block(busy.preview, text_line("SỐ THỨ TỰ", fonts.regular, size.label, paper)) is not None


def wait_lines_on(preview: Image.Image, paper: PaperProfile, fonts: TicketFonts, ahead: int,
                  minutes: int) -> dict[str, bool]:
    """Which of the wait's possible lines the paper shows."""
    size = text_sizes(paper.width_dots)
    lines = {
        "ahead": text_line(AHEAD_LINE.format(ahead=ahead), fonts.regular, size.body, paper),
        "label": text_line(WAIT_LABEL, fonts.regular, size.body, paper),
        "minutes": text_line(f"khoảng {minutes} phút", fonts.bold, size.body, paper),
        "now": text_line(CALLED_AT_ONCE, fonts.bold, size.body, paper),
        "no counter": text_line(NO_COUNTER, fonts.bold, size.body, paper),
    }
    return {name: find_block(preview, line) is not None for name, line in lines.items()}


@pytest.mark.parametrize("paper_name", PAPERS)
def test_the_wait_line_follows_the_servers_wait_basis(paper_name: str, fonts: TicketFonts, tmp_path: Path) -> None:
    paper = PAPERS[paper_name]
    # A free counter: called at once, nothing else said about the wait.
    free = render_ticket(make_ticket(ahead=0, wait_s=0, basis="free_counter"), TEXT, paper, fonts).preview
    save(free, tmp_path, f"{paper_name}-wait-free-counter")
    assert CALLED_AT_ONCE == "Công dân sẽ được gọi ngay"
    assert wait_lines_on(free, paper, fonts, 0, 1) == {
        "ahead": False, "label": False, "minutes": False, "now": True, "no counter": False}
    # Nobody ahead but every counter busy: the estimate, never "gọi ngay" (tickets said so, then waited 10 min).
    busy = render_ticket(make_ticket(ahead=0, wait_s=540, basis="estimate"), TEXT, paper, fonts).preview
    save(busy, tmp_path, f"{paper_name}-wait-estimate-nobody-ahead")
    assert wait_lines_on(busy, paper, fonts, 0, 9) == {
        "ahead": True, "label": True, "minutes": True, "now": False, "no counter": False}
    # No counter serves the area now: no minutes at all, and why.
    none = render_ticket(make_ticket(ahead=3, wait_s=0, basis="no_counter"), TEXT, paper, fonts).preview
    save(none, tmp_path, f"{paper_name}-wait-no-counter")
    assert NO_COUNTER == "Hiện chưa có quầy tiếp nhận lĩnh vực này"
    assert wait_lines_on(none, paper, fonts, 3, 1) == {
        "ahead": True, "label": False, "minutes": False, "now": False, "no counter": True}
    # An unknown basis (a newer server) is read as an estimate.
    odd = render_ticket(make_ticket(ahead=2, wait_s=300, basis="later"), TEXT, paper, fonts).preview
    assert wait_lines_on(odd, paper, fonts, 2, 5)["minutes"]


def test_the_issue_time_is_the_tickets_own_clock(fonts: TicketFonts) -> None:
    issued = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)  # as given: not converted to the kiosk's zone
    rendered = render_ticket(make_ticket(issued_at=issued), TEXT, PAPER_58MM, fonts)
    line = text_line(f"Giờ lấy số: 23:05{NBSP}–{NBSP}22/11/2026", fonts.regular, text_sizes(384).body, PAPER_58MM)
    assert find_block(rendered.preview, line) is not None


def test_a_priority_ticket_says_so_on_a_black_band(fonts: TicketFonts) -> None:
    def black_rows(rendered: RenderedTicket) -> int:
        preview = rendered.preview.convert("L")
        middle = (preview.width // 4, 0, preview.width * 3 // 4, preview.height)
        band = preview.crop(middle)
        return sum(1 for y in range(band.height) if band.crop((0, y, band.width, y + 1)).getextrema() == (0, 0))

    plain = render_ticket(make_ticket(), TEXT, PAPER_58MM, fonts)
    for category in PRIORITY_LABELS:
        priority = render_ticket(make_ticket(priority=category), TEXT, PAPER_58MM, fonts)
        assert priority.preview.height > plain.preview.height
        assert black_rows(priority) > black_rows(plain) + 4  # the band's own rows, beyond the QR's


# ---------------------------------------------------------------------------------------------------------------
# The big number


def test_native_digits_send_the_number_as_text_and_draw_no_image_of_it(fonts: TicketFonts) -> None:
    one = render_ticket(make_ticket(number="B001"), TEXT, PAPER_58MM, fonts)
    other = render_ticket(make_ticket(number="C987"), TEXT, PAPER_58MM, fonts)
    assert [s.text for s in one.segments if isinstance(s, NumberSegment)] == ["B001"]
    one_images = [s.image for s in one.segments if isinstance(s, ImageSegment)]
    other_images = [s.image for s in other.segments if isinstance(s, ImageSegment)]
    assert len(one_images) == len(other_images)
    for a, b in zip(one_images, other_images, strict=True):
        assert ImageChops.difference(a, b).getbbox() is None  # the number is in no image
    # ...but the previews differ where the printer prints it, in a box of 12x24 dots per char at the scale.
    number_y = offsets(one.segments)[1]
    box = (0, number_y, 384, number_y + FONT_A_HEIGHT * 4)
    assert ImageChops.difference(one.preview.crop(box), other.preview.crop(box)).getbbox() is not None
    ink = ImageChops.invert(one.preview.crop(box).convert("L")).getbbox()
    assert ink is not None
    assert ink[2] - ink[0] <= 4 * FONT_A_WIDTH * 4
    assert ink[2] - ink[0] >= 3 * FONT_A_WIDTH * 4  # fills the cells, as the printer's font does


def test_a_long_number_gets_a_smaller_native_scale_that_fits(fonts: TicketFonts) -> None:
    rendered = render_ticket(make_ticket(number="KT-000123"), TEXT, PAPER_58MM, fonts)
    (number,) = [s for s in rendered.segments if isinstance(s, NumberSegment)]
    assert number.text == "KT-000123"
    assert len(number.text) * FONT_A_WIDTH * number.scale <= 384
    assert number.scale == 384 // (9 * FONT_A_WIDTH)


def test_a_non_ascii_number_is_drawn_as_an_image(fonts: TicketFonts, tmp_path: Path) -> None:
    rendered = render_ticket(make_ticket(number="Đ001"), TEXT, PAPER_58MM, fonts)
    save(rendered.preview, tmp_path, "58mm-non-ascii-number")
    assert not any(isinstance(s, NumberSegment) for s in rendered.segments)


# ---------------------------------------------------------------------------------------------------------------
# Bytes on the wire


@pytest.mark.parametrize("paper_name", PAPERS)
def test_native_digits_and_qr_keep_a_ticket_small(paper_name: str, fonts: TicketFonts) -> None:
    paper = PAPERS[paper_name]
    ticket = make_ticket(priority="elderly")
    native = estimate_bytes(render_ticket(ticket, TEXT, with_natives(paper, True), fonts))
    image = estimate_bytes(render_ticket(ticket, TEXT, with_natives(paper, False), fonts))
    print(f"{paper_name}: native {native} B, all-image {image} B")
    assert native < 0.75 * image
    assert image - native > paper.width_dots // 8 * (FONT_A_HEIGHT * paper.digit_scale + 100)


def test_the_byte_estimate_counts_what_the_printer_receives() -> None:
    rendered = RenderedTicket(
        segments=(
            ImageSegment(Image.new("1", (384, 80), 1)),
            NumberSegment("B001", 4),
            QrSegment("https://x.vn/1", 6),
            ImageSegment(Image.new("1", (384, 16), 1)),
        ),
        preview=Image.new("1", (384, 10), 1),
    )
    assert estimate_bytes(rendered) == (48 * 80 + 8) + (4 + 10) + (14 + 30) + (48 * 16 + 8)


# ---------------------------------------------------------------------------------------------------------------
# Vietnamese text


def vietnamese_letters() -> list[str]:
    tones = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền, sắc, hỏi, ngã, nặng
    vowels = "aăâeêioôơuưy"
    lower = [unicodedata.normalize("NFC", v + t) for v in vowels for t in tones] + list("ăâêôơưđ")
    return lower + [letter.upper() for letter in lower]


def test_every_vietnamese_letter_has_a_real_glyph(fonts: TicketFonts) -> None:
    from kiosk.ticket_layout import _font

    letters = vietnamese_letters()
    assert len(letters) == 134 and len(set(letters)) == 134
    assert all(len(letter) == 1 for letter in letters)  # precomposed code points
    for path in (fonts.regular, fonts.bold):
        font = _font(path, 24)
        unassigned = to_1bit(draw_text_block("\u0378", font, 48, 0)).tobytes()  # .notdef box
        seen = set()
        for letter in letters:
            glyph = to_1bit(draw_text_block(letter, font, 48, 0))
            assert glyph.tobytes() != unassigned, f"{letter!r} (U+{ord(letter):04X}) is .notdef in {path.name}"
            assert ImageChops.invert(glyph.convert("L")).getbbox() is not None
            seen.add(glyph.tobytes())
        assert len(seen) == 134, f"two letters share a glyph in {path.name}"


def test_decomposed_text_renders_as_the_precomposed(fonts: TicketFonts) -> None:
    composed = TicketText(center_name=LONG_CENTER, footer=TEXT.footer)
    decomposed = TicketText(
        center_name=unicodedata.normalize("NFD", LONG_CENTER), footer=unicodedata.normalize("NFD", TEXT.footer)
    )
    assert decomposed != composed
    a = render_ticket(make_ticket(), composed, PAPER_58MM, fonts).preview
    b = render_ticket(make_ticket(), decomposed, PAPER_58MM, fonts).preview
    assert ImageChops.difference(a, b).getbbox() is None
    assert nfc("  Trả\u0300  kết\n quả ") == unicodedata.normalize("NFC", "Trả\u0300 kết quả")


@pytest.mark.parametrize("paper_name", PAPERS)
def test_long_names_wrap_within_the_paper(paper_name: str, fonts: TicketFonts, tmp_path: Path) -> None:
    from kiosk.ticket_layout import _font

    paper = PAPERS[paper_name]
    size = text_sizes(paper.width_dots)
    usable = paper.width_dots - 2 * size.margin
    for path, px in ((fonts.bold, size.center), (fonts.bold, size.area), (fonts.regular, size.footer)):
        font = _font(path, px)
        lines = wrap_text(LONG_CENTER, font, usable)
        assert len(lines) >= 2
        assert " ".join(lines) == LONG_CENTER
        assert all(font.getlength(line) <= usable for line in lines)
        unbroken = wrap_text("Xãhộichủnghĩa" * 6, font, usable)  # no space to break at
        assert "".join(unbroken) == "Xãhộichủnghĩa" * 6
        assert all(font.getlength(line) <= usable for line in unbroken)
    ticket = dataclasses.replace(make_ticket(), area_name="Tư pháp – Hộ tịch, Chứng thực, Nuôi con nuôi, Quốc tịch")
    rendered = render_ticket(ticket, TEXT, paper, fonts)
    save(rendered.preview, tmp_path, f"{paper_name}-long-names")
    margin = size.margin
    left = rendered.preview.crop((0, 0, margin, rendered.preview.height)).convert("L")
    right = rendered.preview.crop((paper.width_dots - margin, 0, paper.width_dots, rendered.preview.height))
    assert left.getextrema() == (255, 255)
    assert right.convert("L").getextrema() == (255, 255)


def test_wrapped_lines_are_balanced(fonts: TicketFonts) -> None:
    from kiosk.ticket_layout import _font

    font = _font(fonts.regular, 22)
    lines = wrap_text(LONG_CENTER, font, 368)
    assert len(lines) == 3
    widths = [font.getlength(line) for line in lines]
    assert min(widths) > 0.6 * max(widths)  # no lonely last word


@pytest.mark.parametrize("paper_name", PAPERS)
def test_the_footer_keeps_man_hinh_together_and_breaks_after_the_sentence(paper_name: str,
                                                                          fonts: TicketFonts) -> None:
    from kiosk.ticket_layout import _font

    # The review saw "Vui lòng theo dõi số trên màn / hình và loa gọi." on every ticket.
    paper = PAPERS[paper_name]
    size = text_sizes(paper.width_dots)
    font = _font(fonts.regular, size.footer)
    usable = paper.width_dots - 2 * size.margin
    lines = wrap_text(TEXT.footer, font, usable)
    assert " ".join(lines) == TEXT.footer
    assert all(font.getlength(line) <= usable for line in lines)
    assert split_groups(lines) == []
    if paper_name == "80mm":  # the first sentence fits a line: the break comes after it
        assert lines == ["Vui lòng theo dõi số trên màn hình và loa gọi.", "Xin cảm ơn!"]
    else:
        assert lines == ["Vui lòng theo dõi số trên", "màn hình và loa gọi. Xin cảm ơn!"]
    # The bare words would have broken it: the rule is what keeps it whole.
    assert font.getlength("Vui lòng theo dõi số trên màn") <= usable


@pytest.mark.parametrize("paper_name", PAPERS)
def test_names_on_the_paper_break_between_word_groups(paper_name: str, fonts: TicketFonts, tmp_path: Path) -> None:
    from kiosk.ticket_layout import _font

    paper = PAPERS[paper_name]
    size = text_sizes(paper.width_dots)
    usable = paper.width_dots - 2 * size.margin
    center = "Bộ phận Tiếp nhận và Trả kết quả TP. Rạch Giá"
    for text, path, px in ((center, fonts.bold, size.center), (LONG_CENTER, fonts.bold, size.center),
                           ("Lao động – Thương binh và Xã hội", fonts.bold, size.area),
                           ("Tư pháp – Hộ tịch, Chứng thực, Nuôi con nuôi, Quốc tịch", fonts.bold, size.area),
                           ("Ưu tiên: Người đi cùng trẻ em dưới 6 tuổi", fonts.bold, size.body),
                           (NO_COUNTER, fonts.bold, size.body)):
        lines = wrap_text(text, _font(path, px), usable)
        assert " ".join(lines) == text
        assert split_groups(lines) == [], lines
    assert any("TP. Rạch Giá" in line for line in wrap_text(center, _font(fonts.bold, size.center), usable))
    ticket = dataclasses.replace(make_ticket(), area_name="Lao động – Thương binh và Xã hội")
    rendered = render_ticket(ticket, dataclasses.replace(TEXT, center_name=center), paper, fonts)
    save(rendered.preview, tmp_path, f"{paper_name}-example-center")


def test_a_group_wider_than_the_line_still_breaks_and_nothing_is_cut(fonts: TicketFonts) -> None:
    from kiosk.ticket_layout import _font

    font = _font(fonts.bold, 22)
    name = "TP. Hồ Chí Minh"
    assert wrap_text(name, font, 1000) == [name]
    width = int(font.getlength(name)) - 1
    lines = wrap_text(f"Quận 1, {name}", font, width)
    assert all(font.getlength(line) <= width for line in lines)
    assert " ".join(lines) == f"Quận 1, {name}"
    assert len(lines) == 3  # "Quận 1," then the name, broken between its words only because it must


# ---------------------------------------------------------------------------------------------------------------
# The QR code


def read_qr(preview: Image.Image, module: int, size: int) -> list[list[bool]]:
    """Sample the centered QR code of `size` modules in the preview, found by its top-left finder pattern."""
    gray = preview.convert("L")
    side = size * module
    x0 = (preview.width - (size + 2 * QR_BORDER_MODULES) * module) // 2 + QR_BORDER_MODULES * module
    finder = 7 * module
    for y0 in range(gray.height - side):
        row = gray.crop((x0, y0, x0 + finder, y0 + 1))
        above = gray.crop((x0, y0 - 1, x0 + finder, y0)) if y0 else None
        if row.getextrema() == (0, 0) and (above is None or above.getextrema() == (255, 255)):
            half = module // 2
            sampled = [
                [gray.getpixel((x0 + c * module + half, y0 + r * module + half)) == 0 for c in range(size)]
                for r in range(size)
            ]
            if [row[:7] for row in sampled[:7]] == [row[:7] for row in FINDER]:  # not a rule: a finder pattern
                return sampled
    raise AssertionError("no QR code found in the preview")


FINDER = [[r in (0, 6) or c in (0, 6) or (2 <= r <= 4 and 2 <= c <= 4) for c in range(7)] for r in range(7)]


@pytest.mark.parametrize(("paper_name", "native"), list(itertools.product(PAPERS, (True, False))))
def test_the_qr_code_on_paper_reads_back(paper_name: str, native: bool, fonts: TicketFonts) -> None:
    paper = with_natives(PAPERS[paper_name], native)
    ticket = make_ticket()
    content = qr_text(TEXT.qr_content, ticket)
    assert content == "https://hcc.kiengiang.gov.vn/ve/01JD8Z6Q3TKX?so=B001&quay=B"
    rendered = render_ticket(ticket, TEXT, paper, fonts)
    matrix = qr_matrix(content)
    size = len(matrix)
    assert (size - 17) % 4 == 0  # a real QR version: 17 + 4v modules
    assert (size + 2) * paper.qr_module <= paper.width_dots
    try:
        from pyzbar.pyzbar import decode  # optional: not a dependency
    except ImportError:
        decode = None
    if decode is not None:
        decoded = [d.data.decode() for d in decode(rendered.preview.convert("L"))]
        assert decoded == [content]
    else:
        assert read_qr(rendered.preview, paper.qr_module, size) == matrix


def test_no_qr_when_the_center_configures_none(fonts: TicketFonts) -> None:
    rendered = render_ticket(make_ticket(), dataclasses.replace(TEXT, qr_content=""), PAPER_58MM, fonts)
    assert not any(isinstance(s, QrSegment) for s in rendered.segments)
    assert len(rendered.segments) == 3  # image, number, image


def test_qr_template_keeps_other_braces() -> None:
    assert qr_text("{area}/{number}/{ticket_id}/{other}", make_ticket()) == "B/B001/01JD8Z6Q3TKX/{other}"


def test_the_default_qr_opens_the_tickets_page_by_its_token_and_none_is_printed_without_one(
        fonts: TicketFonts) -> None:
    ticket = dataclasses.replace(make_ticket(), token="ATUpUgAAAAHttBSZml97jXZQUYM")
    url = "https://hang-doi.rachgia.gov.vn"
    assert qr_text(DEFAULT_QR, ticket, url) == f"{url}/phieu/ATUpUgAAAAHttBSZml97jXZQUYM"
    assert qr_text(DEFAULT_QR, ticket, "") == "", "a center without a citizen web"
    assert qr_text(DEFAULT_QR, make_ticket(), url) == "", "an older server gives no token"
    rendered = render_ticket(make_ticket(), TicketText("Trung tâm", qr_content=DEFAULT_QR, public_url=url),
                             PAPER_58MM, fonts)
    assert not any(isinstance(s, QrSegment) for s in rendered.segments)
    rendered = render_ticket(ticket, TicketText("Trung tâm", qr_content=DEFAULT_QR, public_url=url), PAPER_58MM,
                             fonts)
    (qr,) = [s for s in rendered.segments if isinstance(s, QrSegment)]
    assert qr.content == f"{url}/phieu/ATUpUgAAAAHttBSZml97jXZQUYM"


def test_a_long_qr_content_gets_smaller_modules_that_fit(fonts: TicketFonts) -> None:
    long = TicketText(center_name="Trung tâm", qr_content="https://hcc.example.vn/" + "x" * 400 + "/{ticket_id}")
    rendered = render_ticket(make_ticket(), long, PAPER_58MM, fonts)
    (qr,) = [s for s in rendered.segments if isinstance(s, QrSegment)]
    assert qr.module < PAPER_58MM.qr_module
    assert segment_height(qr) <= 384


# ---------------------------------------------------------------------------------------------------------------
# Small pieces


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(-5, 1), (0, 1), (1, 1), (59, 1), (60, 1), (61, 2), (600, 10), (601, 11), (3599, 60)]
)
def test_wait_minutes_round_up_at_least_one(seconds: int, minutes: int) -> None:
    assert wait_minutes(seconds) == minutes


def test_paper_profiles_are_checked() -> None:
    assert (PAPER_58MM.width_dots, PAPER_80MM.width_dots) == (384, 576)
    assert PAPER_58MM.native_digits and PAPER_58MM.native_qr and PAPER_80MM.native_digits and PAPER_80MM.native_qr
    with pytest.raises(ValueError, match="digit_scale"):
        PaperProfile(width_dots=384, native_digits=True, native_qr=True, digit_scale=9)
    with pytest.raises(ValueError, match="qr_module"):
        PaperProfile(width_dots=384, native_digits=True, native_qr=True, qr_module=17)
    with pytest.raises(ValueError, match="width_dots"):
        PaperProfile(width_dots=380, native_digits=True, native_qr=True)


def test_default_fonts_are_dejavu(fonts: TicketFonts) -> None:
    assert fonts.regular.name == "DejaVuSans.ttf"
    assert fonts.bold.name == "DejaVuSans-Bold.ttf"
    assert fonts.mono_bold.name == "DejaVuSansMono-Bold.ttf"


def test_missing_fonts_name_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        TicketFonts.default(search_dirs=[tmp_path])


def test_the_preview_shows_the_native_number_large(fonts: TicketFonts) -> None:
    rendered = render_ticket(make_ticket(number="B012"), TEXT, PAPER_58MM, fonts)
    blank = render_ticket(make_ticket(number="    "), TEXT, PAPER_58MM, fonts)
    difference = ImageChops.difference(rendered.preview.convert("L"), blank.preview.convert("L")).getbbox()
    assert difference is not None
    left, top, right, bottom = difference
    assert bottom - top >= 4 * FONT_A_HEIGHT * 0.7  # 4x font A: about 96 dots tall
    assert right - left >= 384 * 0.4


def test_the_qr_reader_tells_contents_apart(fonts: TicketFonts) -> None:
    rendered = render_ticket(make_ticket(), TEXT, PAPER_58MM, fonts)
    other = qr_matrix(qr_text(TEXT.qr_content, dataclasses.replace(make_ticket(), id="01JD8Z6Q3TKY")))
    assert read_qr(rendered.preview, PAPER_58MM.qr_module, len(other)) != other


def test_words_joined_by_no_break_spaces_break_there_before_between_letters(fonts: TicketFonts) -> None:
    from kiosk.ticket_layout import _font

    font = _font(fonts.bold, 22)
    label = "Thời gian chờ dự kiến:".replace(" ", NBSP)
    value = f"khoảng{NBSP}12{NBSP}phút"
    assert wrap_text(f"{label} {value}", font, 2000) == [f"{label} {value}"]
    narrow = int(font.getlength(label)) - 1
    lines = wrap_text(f"{label} {value}", font, narrow)
    assert all(font.getlength(line) <= narrow for line in lines)
    # The label, too wide, breaks between its word groups ("dự kiến" stays whole); the value stays whole.
    assert [line.replace(NBSP, " ") for line in lines] == ["Thời gian chờ", "dự kiến:", "khoảng 12 phút"]
    # A caller's no-break run too wide for even its group: its words, each whole ("khoảng" just fits);
    # balancing the lines never breaks a word between letters that fitted whole.
    tiny = int(font.getlength("khoảng")) + 1
    assert font.getlength("12 phút") > tiny
    assert wrap_text(value, font, tiny) == ["khoảng", "12", "phút"]


# ---------------------------------------------------------------------------------------------------------------
# How the ticket came (issue 18): a booked slot, a remote number, a booking checked in too late


def booked(channel: str = "booked", *, slot: bool = True, booking: str = "12345671") -> IssuedTicket:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=VN) if slot else None
    end = start + timedelta(minutes=30) if start is not None else None
    return dataclasses.replace(make_ticket(), channel=channel, booking=booking, slot_start=start, slot_end=end)


def band_line(text: str, fonts: TicketFonts, paper: PaperProfile) -> Image.Image:
    """A line printed white on black, as the priority's and the booking's are."""
    from kiosk.ticket_layout import _font

    width = paper.width_dots
    sizes = text_sizes(width)
    return to_1bit(draw_text_block(text, _font(fonts.bold, sizes.body), width, sizes.margin, inverted=True, pad=5))


def test_what_the_paper_says_of_each_channel() -> None:
    def plain(lines: tuple[str, str]) -> tuple[str, str]:
        return lines[0].replace(NBSP, " "), lines[1].replace(NBSP, " ")

    assert plain(channel_lines(booked())) == ("LỊCH HẸN — Khung giờ 09:00–09:30", "")
    assert plain(channel_lines(booked(slot=False))) == ("LỊCH HẸN", "")
    assert plain(channel_lines(booked("remote", slot=False))) == ("SỐ LẤY TỪ XA", "")
    assert plain(channel_lines(booked("walk_in"))) == (
        "", "Lịch hẹn 09:00–09:30 đã quá giờ. Số thứ tự được cấp như công dân đến trực tiếp.")
    assert plain(channel_lines(booked("walk_in", slot=False))) == (
        "", "Đã quá giờ hẹn. Số thứ tự được cấp như công dân đến trực tiếp.")
    assert channel_lines(make_ticket()) == ("", ""), "a walk-in says nothing more"
    assert "Khung\u00a0giờ\u00a009:00–09:30" in channel_lines(booked())[0], "the slot never breaks from its label"


@pytest.mark.parametrize("paper_name", PAPERS)
@pytest.mark.parametrize("channel", ["booked", "remote", "walk_in"])
def test_a_booked_remote_or_late_ticket_says_so_on_the_paper(paper_name: str, channel: str, fonts: TicketFonts,
                                                             tmp_path: Path) -> None:
    paper = PAPERS[paper_name]
    ticket = booked(channel, slot=channel != "remote")
    rendered = render_ticket(ticket, TEXT, paper, fonts)
    save(rendered.preview, tmp_path, f"{paper_name}-channel-{channel}")
    band, late = channel_lines(ticket)
    if band:
        assert find_block(rendered.preview, band_line(band, fonts, paper)) is not None
    else:
        line = text_line(late, fonts.bold, text_sizes(paper.width_dots).body, paper)
        assert find_block(rendered.preview, line) is not None
    number = next(s for s in rendered.segments if isinstance(s, NumberSegment))
    assert number.text == "B001"
    plain = render_ticket(make_ticket(), TEXT, paper, fonts)
    assert rendered.preview.height > plain.preview.height


def test_the_booking_code_and_nothing_personal_is_printed(fonts: TicketFonts) -> None:
    one = render_ticket(booked(booking="12345671"), TEXT, PAPER_58MM, fonts)
    other = render_ticket(booked(booking="76543210"), TEXT, PAPER_58MM, fonts)
    assert ImageChops.difference(one.preview.convert("L"), other.preview.convert("L")).getbbox() is None
    assert not any("12345671" in s.content for s in one.segments if isinstance(s, QrSegment))


def test_a_booked_ticket_goes_to_the_printer_as_an_image_the_number_and_the_qr(fonts: TicketFonts,
                                                                               tmp_path: Path) -> None:
    rendered = render_ticket(booked(), TEXT, PAPER_80MM, fonts)
    save(rendered.preview, tmp_path, "80mm-booked-dummy")
    dummy = Dummy()
    EscposPrinter(dummy, can_query_status=False).print_ticket(rendered)
    data = dummy.output
    assert b"\x1dv0" in data and b"B001" in data and b"\x1dV" in data
    assert b"12345671" not in data
