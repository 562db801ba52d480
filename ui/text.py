"""Fonts, text and fitting for the kiosk's and the hall board's screens.

Text is set in DejaVu Sans, which has every Vietnamese letter (pygame's default font lacks most),
normalised to NFC. The font files are read once; Fonts and rendered lines are kept in bounded
caches, so a redraw blits and does not render. Sizes come from a ladder (about 7 % apart), so a few
dozen Font objects serve every text. Each screen keeps its own fitting rules (how a box's height
counts, what happens when nothing fits) and builds them from the pieces here.

Lines break between word groups, not between any two syllables (see "word groups" below); the printed
ticket (Pillow, no pygame) uses the same rules, so this module imports pygame only where it draws.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from protocol.errors import QmsError

if TYPE_CHECKING:  # imported where it draws: the word-group rules serve the printed ticket without pygame
    import pygame

Colour = tuple[int, int, int]
Measure = Callable[[str], int]  # a line's width in pixels

FONT_DIRS = (  # where DejaVu is found, first match wins
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Raspberry Pi OS, Ubuntu
    Path("/usr/share/fonts/dejavu-sans-fonts"),  # Fedora
    Path("/usr/share/fonts/dejavu-sans-mono-fonts"),
    Path("/usr/share/fonts/TTF"),  # Arch
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


class FontsMissing(QmsError):
    """The TTF files with full Vietnamese coverage are not installed."""


class FontFiles(NamedTuple):
    regular: Path
    bold: Path


def find_fonts(names: Sequence[str], search_dirs: Sequence[Path] = FONT_DIRS) -> list[Path]:
    """Each named font file, from the first folder that holds it; `FontsMissing` names the ones none holds."""
    found = {name: next((folder / name for folder in search_dirs if (folder / name).is_file()), None)
             for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise FontsMissing(
            f"fonts not found: {', '.join(missing)} (looked in {', '.join(str(d) for d in search_dirs)}); "
            "Vietnamese needs DejaVu Sans: install the Debian package fonts-dejavu-core (apt install fonts-dejavu-core)"
        )
    return [path for path in found.values() if path is not None]


def default_fonts(search_dirs: Sequence[Path] = FONT_DIRS) -> FontFiles:
    """DejaVu Sans and DejaVu Sans Bold, which the Debian package fonts-dejavu-core installs."""
    return FontFiles(*find_fonts(("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), search_dirs))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def size_ladder(steps: int) -> tuple[int, ...]:
    """Font sizes from 8 px up, about 7 % apart, `steps` rungs (fewer where two round alike)."""
    return tuple(sorted({round(8 * 1.07**k) for k in range(steps)}))


def sizes_up_to(ladder: Sequence[int], max_size: int | None) -> list[int]:
    """The ladder's sizes not above `max_size` (all of them for None), at least its smallest."""
    return [size for size in ladder if max_size is None or size <= max_size] or [ladder[0]]


# --- what screens are made of -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Panel:
    """A filled, optionally rounded and bordered rectangle; `shadow` adds a drop shadow that far below."""

    rect: pygame.Rect
    fill: Colour
    edge: Colour | None = None
    edge_width: int = 0
    radius: int = 0
    shadow: int = 0


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text: rendered in `size`, `bold` and `colour`, blitted at `origin`.

    `rect` is what the line covers: its line box, or only its ink for a large number.
    """

    text: str
    origin: tuple[int, int]
    rect: pygame.Rect
    size: int
    bold: bool
    colour: Colour

    def moved(self, dx: int, dy: int) -> Text:
        return replace(self, origin=(self.origin[0] + dx, self.origin[1] + dy), rect=self.rect.move(dx, dy))


def paint_panel(surface: pygame.Surface, panel: Panel, shadow_colour: Colour = (0, 0, 0)) -> None:
    import pygame

    if panel.shadow:
        pygame.draw.rect(surface, shadow_colour, panel.rect.move(0, panel.shadow), border_radius=panel.radius)
    pygame.draw.rect(surface, panel.fill, panel.rect, border_radius=panel.radius)
    if panel.edge is not None and panel.edge_width > 0:
        pygame.draw.rect(surface, panel.edge, panel.rect, panel.edge_width, border_radius=panel.radius)


# --- fonts and rendered lines -------------------------------------------------------------------


class Ink(NamedTuple):
    """Where a line's visible pixels lie: top and bottom from the baseline (up is positive), left and right
    from the pen's start."""

    top: int
    bottom: int
    left: int
    right: int


class TextPainter:
    """The two DejaVu fonts, read once, as cached Fonts of any size, and cached rendered lines."""

    def __init__(self, fonts: FontFiles | None = None, *, font_cache: int, render_cache_px: int) -> None:
        import pygame

        files = fonts or default_fonts()
        if not pygame.font.get_init():
            pygame.font.init()
        # Read once: drawing never touches the disk.
        self._data = {False: files.regular.read_bytes(), True: files.bold.read_bytes()}
        # Bounded: a Font costs ~170 KB and a large rendered line a few MB.
        self._font_cache = font_cache
        self._render_cache_px = render_cache_px
        self._fonts: OrderedDict[tuple[bool, int], pygame.font.Font] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, bool, int, Colour], pygame.Surface] = OrderedDict()
        self._rendered_px = 0

    def font(self, size: int, *, bold: bool = False) -> pygame.font.Font:
        """The cached font of `size` pixels (one Font per size and weight)."""
        key = (bold, size)
        font = self._fonts.get(key)
        if font is None:
            import pygame

            font = pygame.font.Font(io.BytesIO(self._data[bold]), size)  # from memory: no disk I/O
            self._fonts[key] = font
            if len(self._fonts) > self._font_cache:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font

    def measure(self, size: int, *, bold: bool = False) -> Measure:
        font = self.font(size, bold=bold)
        return lambda text: font.size(text)[0]

    def ink(self, text: str, size: int, *, bold: bool = False) -> Ink:
        """Where the visible pixels of one line lie, from the glyph metrics (nothing is rendered)."""
        pen, left, right, top, bottom = 0, 0, 0, 0, 0
        first = True
        for metrics in self.font(size, bold=bold).metrics(text):
            if metrics is None:
                continue
            min_x, max_x, min_y, max_y, advance = metrics
            left = pen + min_x if first else min(left, pen + min_x)
            right, top, bottom = max(right, pen + max_x), max(top, max_y), min(bottom, min_y)
            pen += advance
            first = False
        return Ink(top, bottom, left, right)

    def render(self, text: str, bold: bool, size: int, colour: Colour) -> pygame.Surface:
        key = (text, bold, size, colour)
        surface = self._rendered.get(key)
        if surface is not None:
            self._rendered.move_to_end(key)
            return surface
        surface = self.font(size, bold=bold).render(text, True, colour)
        self._rendered[key] = surface
        self._rendered_px += surface.get_width() * surface.get_height()
        while self._rendered_px > self._render_cache_px and len(self._rendered) > 1:
            _, old = self._rendered.popitem(last=False)
            self._rendered_px -= old.get_width() * old.get_height()
        return surface

    def paint(self, surface: pygame.Surface, text: Text) -> None:
        surface.blit(self.render(text.text, text.bold, text.size, text.colour), text.origin)


# --- fitting ------------------------------------------------------------------------------------


class Fit(NamedTuple):
    size: int
    lines: tuple[str, ...]


def largest_fit(sizes: Sequence[int], lines_at: Callable[[int], tuple[str, ...] | None]) -> Fit | None:
    """The largest of `sizes` (ascending) at which `lines_at` fits the text, if any.

    Fitting is monotone in the size, so this searches by halves.
    """
    fit: Fit | None = None
    low, high = 0, len(sizes) - 1
    while low <= high:
        mid = (low + high) // 2
        lines = lines_at(sizes[mid])
        if lines is not None:
            fit, low = Fit(sizes[mid], lines), mid + 1
        else:
            high = mid - 1
    return fit


def largest_fit_of(text: str, sizes: Sequence[int],
                   lines_at: Callable[[list[str], int], tuple[str, ...] | None]) -> tuple[Fit, list[str]] | None:
    """The largest fit of `text` wrapped between its word groups, else between its bare words (`wrap_units`);
    with the units it is wrapped between. `lines_at(units, size)` wraps them at one size (None: they do not fit)."""
    for units in wrap_units(text):
        fit = largest_fit(sizes, partial(lines_at, units))
        if fit is not None:
            return fit, units
    return None


def aligned_x(box: pygame.Rect, width: int, align: str) -> int:
    """Where a line `width` pixels wide starts in `box`: "left", "right", or else centred."""
    if align == "left":
        return box.x
    if align == "right":
        return box.right - width
    return box.x + (box.w - width) // 2


# --- word groups: where a Vietnamese line may break ----------------------------------------------
#
# Vietnamese writes every syllable as a word of its own, so "màn hình" (screen) looks like two words to a
# wrapper, and "…trên màn / hình…" is as wrong to a Vietnamese reader as "scr / een". Lines therefore break
# between word groups, each of one or more words that stay on one line:
#
#   (a) an abbreviation ending in "." stays with the word after it: "TP. Rạch Giá", "Q. 1", "TX. Hà Tiên".
#       An abbreviation is one to three ASCII letters, the first a capital, then ".": TP., Tp., Q., P., TX., H.,
#       TT. A word ending a sentence ("cố.", "gọi.", "Huế.") almost always has a lower-case first letter or a
#       Vietnamese letter; a rare one that has not ("Ba.") only keeps two words on one line;
#   (b) a proper name, two to four consecutive capitalised syllables, stays together: "Rạch Giá", "Hồ Chí
#       Minh", "Thứ Hai". A longer run is Title Case prose, not a name, and may break (a name ends at
#       punctuation: "Kiên Giang, Phú Quốc" are two);
#   (c) a compound word of COMPOUNDS, a short list of those our own texts, the area names and the priority
#       labels use, stays together, whatever its case ("Thương binh", "xã hội", "khuyết tật");
#   (d) a number stays with the word before it and with a lower-case word after it, its unit: "Quầy 2",
#       "trước: 4", "dưới 6 tuổi", "khoảng 21 phút";
#   and, as before, a dash or colon standing alone stays at the end of the line before it ("Tư pháp –").
#
# The rules bind two words only when the first ends without punctuation (a group never spans ", " or ". "),
# except an abbreviation's "." and a label's colon before its number ("trước: 4"). A group wider than the
# whole line may still break, between its words and, for a single word, between letters: text is never cut.
# Screens use word_groups() (the fitters try `wrap_units`: the groups first, the bare words only when the
# groups fit at no size); the ticket's Pillow wrapper uses bind_groups() (each group's words joined by a
# character it does not break at).

NBSP = "\u00a0"
_BREAKING_SPACE = re.compile(r"[ \t\r\n\f\v]+")  # not NBSP: a caller's no-break space holds its words together
PHRASE_ENDS = ",.;:!?–—"  # a word ending in one of these ends a phrase: a line breaks best after it
ATTACHED = ("–", "—", "-", ":")  # standing alone, stays at the end of the line before it
_ABBREVIATION = re.compile(r"[A-Z][A-Za-z]{0,2}\.")
NAME_SYLLABLES = 4  # the longest run of capitalised syllables taken as one proper name
_TRAILING = ",.;:!?…–—-)]}\"'”’"
_LEADING = "([{\"'“‘"

#: Compound words that never break, lower case, NFC. Short on purpose: the words of our own screens and
#: ticket, of the usual area names of a one-stop shop, and of the priority labels. Add a center's own here.
COMPOUNDS: frozenset[str] = frozenset({
    # the kiosk, the ticket, the board
    "bộ phận", "tiếp nhận", "kết quả", "công dân", "lĩnh vực", "giải quyết", "đối tượng", "ưu tiên",
    "thứ tự", "số thứ tự", "thời gian", "dự kiến", "màn hình", "theo dõi", "vui lòng", "cảm ơn", "quay lại",
    "tạm ngừng", "hệ thống", "giây lát", "máy in", "sự cố", "cán bộ", "hướng dẫn", "liên hệ", "ghi nhớ",
    "khởi động", "kết nối", "làm việc", "trật tự", "hiện nay", "trung tâm", "phục vụ", "hành chính",
    "dịch vụ", "trực tuyến", "ngày mai", "giờ tiếp nhận", "hồ sơ",
    "thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật",
    # area names
    "đất đai", "xây dựng", "tư pháp", "hộ tịch", "chứng thực", "quốc tịch", "nuôi con nuôi", "đăng ký",
    "kinh doanh", "lao động", "thương binh", "xã hội", "bảo hiểm", "tài nguyên", "môi trường", "giáo dục",
    "đào tạo", "y tế", "văn hóa", "văn hoá", "thể thao", "du lịch", "nông nghiệp", "phát triển", "nông thôn",
    "công thương", "khoa học", "công nghệ", "thông tin", "truyền thông", "quy hoạch", "kiến trúc",
    "giao thông", "vận tải", "tài chính", "kế hoạch", "đầu tư", "nội vụ",
    # priority labels
    "cao tuổi", "khuyết tật", "phụ nữ", "mang thai", "người có công", "cách mạng", "trẻ em",
})
_LONGEST_COMPOUND = max(len(compound.split()) for compound in COMPOUNDS)


def words_of(text: str) -> list[str]:
    """The bare words to wrap between, ignoring word groups; a dash or colon standing alone stays with the
    word before it ("Tư pháp –"). A no-break space does not separate words."""
    out: list[str] = []
    for word in _BREAKING_SPACE.split(text.strip()):
        if not word:
            continue
        if out and word in ATTACHED:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def _core(word: str) -> str:
    """A word without the punctuation around it, in lower case: what the compound list holds."""
    return word.strip(_LEADING).rstrip(_TRAILING + " ").lower()


def _open_end(word: str) -> bool:
    """Whether `word` ends in a letter or digit: no punctuation after it that a line may break at."""
    return word[-1].isalnum()


def _is_number(word: str) -> bool:
    return word.strip(_LEADING)[:1].isdigit()


def _is_capitalised(word: str) -> bool:
    """A syllable of a name: a capital first, letters only (trailing punctuation aside)."""
    core = word.strip(_LEADING).rstrip(_TRAILING + " ")
    return bool(core) and core[0].isupper() and core.isalpha()


def _bonds(words: Sequence[str]) -> list[bool]:
    """For each pair of neighbouring words, whether the rules keep them on one line."""
    count = len(words)
    bonds = [False] * max(0, count - 1)
    for index in range(count - 1):
        word, after = words[index], words[index + 1]
        abbreviation = bool(_ABBREVIATION.fullmatch(word))  # (a)
        counted = _is_number(after) and (_open_end(word) or word.endswith(":"))  # (d) "Quầy 2", "trước: 4"
        unit = _is_number(word) and _open_end(word) and after[:1].islower()  # (d) "6 tuổi"
        bonds[index] = abbreviation or counted or unit
    index = 0
    while index < count:  # (b): runs of capitalised syllables, each but the last ending open
        end = index
        while (end + 1 < count and _is_capitalised(words[end]) and _open_end(words[end])
               and _is_capitalised(words[end + 1]) and not _ABBREVIATION.fullmatch(words[end])):
            end += 1
        if 2 <= end - index + 1 <= NAME_SYLLABLES:
            for inner in range(index, end):
                bonds[inner] = True
        index = end + 1
    for index in range(count - 1):  # (c): the longest compound starting at each word
        for length in range(min(_LONGEST_COMPOUND, count - index), 1, -1):
            span = words[index:index + length]
            if all(_open_end(word) for word in span[:-1]) and " ".join(map(_core, span)) in COMPOUNDS:
                for inner in range(index, index + length - 1):
                    bonds[inner] = True
                break
    return bonds


def word_groups(text: str) -> list[str]:
    """The word groups of `text`, in order, each its words joined by single spaces: a line breaks only
    between them (see the rules above). `" ".join(word_groups(t))` is `t` with its breaking spaces made single.
    """
    words = words_of(text)
    if not words:
        return []
    groups = [words[0]]
    for word, bound in zip(words[1:], _bonds(words), strict=True):
        if bound:
            groups[-1] = f"{groups[-1]} {word}"
        else:
            groups.append(word)
    return groups


def bind_groups(text: str, joiner: str = NBSP) -> str:
    """`text` with the spaces inside each word group made `joiner` (a no-break space): for a wrapper
    that breaks only at plain spaces, like the ticket's."""
    return " ".join(group.replace(" ", joiner) for group in word_groups(text))


def wrap_units(text: str) -> tuple[list[str], ...]:
    """What a fitter may wrap `text` between, in the order to try: its word groups, then its bare words
    (only when they differ), for a box where the groups fit at no size."""
    groups, words = word_groups(text), words_of(text)
    return (groups,) if groups == words else (groups, words)


def phrases_of(words: Sequence[str]) -> list[str]:
    """Words grouped into phrases that end at punctuation, to break lines between them."""
    out: list[str] = []
    current: list[str] = []
    for word in words:
        current.append(word)
        if word[-1] in PHRASE_ENDS:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


def balanced(words: Sequence[str], measure: Measure, width: int, max_lines: int) -> tuple[str, ...] | None:
    """`words` in as few lines as fit `width` (at most `max_lines`), the lines as even as possible."""
    if not words:
        return ()
    if any(measure(word) > width for word in words):
        return None
    whole = " ".join(words)
    if measure(whole) <= width:
        return (whole,)
    count, current = 1, ""
    for word in words:  # greedy: the fewest lines
        candidate = f"{current} {word}" if current else word
        if current and measure(candidate) > width:
            count, current = count + 1, word
        else:
            current = candidate
    if count > max_lines:
        return None
    total = len(words)
    widths: dict[tuple[int, int], int] = {}
    best: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}

    def cost(start: int, end: int) -> int:
        if (start, end) not in widths:
            widths[start, end] = measure(" ".join(words[start:end]))
        return widths[start, end]

    def split(start: int, lines: int) -> tuple[int, tuple[int, ...]]:
        """(widest line, line ends) for words[start:] in exactly `lines` lines."""
        if lines == 1:
            return cost(start, total), (total,)
        key = (start, lines)
        if key not in best:
            best[key] = min(
                (max(cost(start, end), rest[0]), (end, *rest[1]))
                for end in range(start + 1, total - lines + 2)
                if cost(start, end) <= width
                for rest in [split(end, lines - 1)]
            )
        return best[key]

    widest, ends = split(0, count)
    if widest > width:
        return None
    starts = (0, *ends[:-1])
    return tuple(" ".join(words[a:b]) for a, b in zip(starts, ends, strict=True))


def break_letters(text: str, measure: Measure, width: int) -> tuple[str, ...]:
    """A text with a word wider than `width`: broken between letters, never cut."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and measure(current + char) > width:
            lines.append(current.rstrip())
            current = char.lstrip()
        else:
            current += char
    if current:
        lines.append(current)
    return tuple(lines)
