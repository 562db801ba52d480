"""The printed ticket: Vietnamese as 1-bit raster, the number and the QR native where the paper allows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops, ImageFont

from kiosk.model import IssuedTicket
from kiosk.ticket_layout import (
    PAPER_58MM,
    PAPER_80MM,
    ImageSegment,
    NumberSegment,
    PaperProfile,
    QrSegment,
    TicketFonts,
    TicketText,
    estimate_bytes,
    qr_text,
    render_ticket,
    wait_minutes,
    wrap_text,
)

PREVIEWS = Path("/tmp/ticket-previews")
TICKET = IssuedTicket("20261123-000042", "B012", "tu-phap", "Tư pháp – Hộ tịch",
                      datetime(2026, 11, 23, 8, 15, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), 5, 1260, "elderly")
TEXT = TicketText("Bộ phận Tiếp nhận và Trả kết quả Trung tâm Phục vụ hành chính công tỉnh Kiên Giang",
                  qr_content="https://dichvucong.kiengiang.gov.vn/hang-doi?ve={ticket_id}")
VIETNAMESE = ("aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ")


@pytest.fixture(scope="module")
def fonts() -> TicketFonts:
    return TicketFonts.default()


def save(image: Image.Image, tmp_path: Path, name: str) -> None:
    PREVIEWS.mkdir(exist_ok=True)
    image.save(tmp_path / name)
    image.save(PREVIEWS / name)


@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
@pytest.mark.parametrize("native", [True, False], ids=["native", "raster"])
def test_the_ticket_fits_the_paper(fonts: TicketFonts, tmp_path: Path, paper: PaperProfile, native: bool) -> None:
    profile = replace(paper, native_digits=native, native_qr=native)
    rendered = render_ticket(TICKET, TEXT, profile, fonts)
    save(rendered.preview, tmp_path, f"ticket-{paper.width_dots}-{'native' if native else 'raster'}.png")
    assert rendered.preview.width == paper.width_dots
    images = [s for s in rendered.segments if isinstance(s, ImageSegment)]
    assert images and all(s.image.mode == "1" and s.image.width == paper.width_dots for s in images)
    numbers = [s for s in rendered.segments if isinstance(s, NumberSegment)]
    codes = [s for s in rendered.segments if isinstance(s, QrSegment)]
    if native:
        assert [s.text for s in numbers] == ["B012"]
        assert [s.content for s in codes] == ["https://dichvucong.kiengiang.gov.vn/hang-doi?ve=20261123-000042"]
    else:
        assert not numbers and not codes


@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
def test_native_number_and_qr_keep_the_ticket_small(fonts: TicketFonts, paper: PaperProfile) -> None:
    native = estimate_bytes(render_ticket(TICKET, TEXT, paper, fonts))
    raster = estimate_bytes(render_ticket(TICKET, TEXT, replace(paper, native_digits=False, native_qr=False), fonts))
    assert native < raster * 0.75, (native, raster)


def test_the_preview_of_the_native_number_shows_it_large(fonts: TicketFonts) -> None:
    rendered = render_ticket(TICKET, TEXT, PAPER_58MM, fonts)
    without = render_ticket(replace(TICKET, number="    "), TEXT, PAPER_58MM, fonts)
    difference = ImageChops.difference(rendered.preview.convert("L"), without.preview.convert("L")).getbbox()
    assert difference is not None
    left, top, right, bottom = difference
    assert bottom - top >= 4 * 24 * 0.7, "the number is printed at 4x font A: about 96 dots tall"
    assert right - left >= 384 * 0.4


@pytest.mark.parametrize("bold", [False, True])
def test_every_vietnamese_letter_has_a_glyph(fonts: TicketFonts, bold: bool) -> None:
    font = ImageFont.truetype(str(fonts.bold if bold else fonts.regular), 28)
    missing = _glyph(font, "\uffff")
    absent = [c for c in VIETNAMESE + VIETNAMESE.upper() if _glyph(font, c) == missing]
    assert absent == []


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    image = Image.new("L", (40, 40), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(image).text((4, 0), char, font=font, fill=255)
    return image.tobytes()


def test_long_names_wrap_within_the_paper(fonts: TicketFonts) -> None:
    font = ImageFont.truetype(str(fonts.bold), 26)
    lines = wrap_text(TEXT.center_name, font, 384 - 16)
    assert len(lines) >= 2 and " ".join(lines) == TEXT.center_name
    assert all(font.getlength(line) <= 384 - 16 for line in lines)


def test_minutes_are_rounded_up_and_at_least_one() -> None:
    assert [wait_minutes(s) for s in (0, 1, 60, 61, 1260)] == [1, 1, 1, 2, 21]


def test_the_qr_template_names_the_ticket() -> None:
    assert qr_text("{ticket_id}|{number}|{area}|{other}", TICKET) == "20261123-000042|B012|tu-phap|{other}"
