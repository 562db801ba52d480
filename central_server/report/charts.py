"""The report's charts as PNG files (matplotlib, Vietnamese labels in DejaVu Sans, no display needed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: draw to files, never to a screen

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import FuncFormatter, MaxNLocator

from central_server.report.figures import (
    CAME,
    CAME_LATE,
    CANCELLED,
    CHANNEL_NAMES,
    NO_SHOW,
    PENDING,
    Group,
    Report,
    dossier_group,
    level_names,
)
from central_server.report.output import number_text, percent_text

# matplotlib tells at INFO what it decided about units and fonts: nothing an official can act on
logging.getLogger("matplotlib").setLevel(logging.WARNING)
plt.rcParams["font.family"] = "DejaVu Sans"  # complete Vietnamese; ships with matplotlib
# Rating levels best first: greens for the satisfied ones, red for the worst.
LEVEL_COLOURS = {2: ("#1a9850", "#d73027"), 3: ("#1a9850", "#91cf60", "#d73027"),
                 4: ("#1a9850", "#91cf60", "#fc8d59", "#d73027"),
                 5: ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")}


def write_charts(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    drawers: dict[str, tuple[str, Callable[[Axes, Report], bool]]] = {
        "den-theo-gio": ("Số phiếu đã cấp theo giờ và lĩnh vực", _arrivals),
        "phan-bo-thoi-gian-cho": ("Phân bố thời gian chờ", _waits),
        "ty-le-trong-muc-tieu": ("Tỷ lệ được gọi trong thời gian chờ mục tiêu", _within_target),
        "hai-long-theo-quay": ("Mức độ hài lòng theo quầy", _satisfaction_by_counter),
        "hai-long-theo-linh-vuc": ("Mức độ hài lòng theo lĩnh vực", _satisfaction_by_area),
        "phieu-vang-mat": ("Số phiếu vắng mặt theo lĩnh vực", _missed),
    }
    if report.bookings:  # a center without bookings gets no empty chart of them
        drawers["ket-qua-dat-truoc"] = ("Lịch hẹn và số từ xa: công dân có đến không", _bookings)
    if report.dossiers():  # a center that attaches no dossier gets no empty chart of them
        drawers["hai-long-766"] = ("Tỷ lệ hài lòng theo hồ sơ (Quyết định 766/QĐ-TTg)", _satisfaction_766)
    written = []
    for slug, (title, draw) in drawers.items():
        figure, axes = plt.subplots(figsize=(10, 5.5), dpi=100)
        axes.set_title(f"{title}\n{report.center.name} · {_period(report)}", fontsize=12)
        if not draw(axes, report):
            axes.text(0.5, 0.5, "Không có dữ liệu trong khoảng thời gian này", ha="center", va="center",
                      transform=axes.transAxes, fontsize=14, color="#555555")
            axes.set_axis_off()
        figure.tight_layout()
        path = folder / f"{slug}.png"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written


def _period(report: Report) -> str:
    first, last = report.first_day.strftime("%d/%m/%Y"), report.last_day.strftime("%d/%m/%Y")
    return f"ngày {first}" if first == last else f"từ {first} đến {last}"


def _area_names(report: Report) -> dict[str, str]:
    return {a.id: a.name for a in report.center.areas}


def _arrivals(axes: Axes, report: Report) -> bool:
    hours = report.hours()
    if not hours:
        return False
    names = _area_names(report)
    bottom = [0] * len(hours)
    for area, counts in report.hourly_arrivals().items():
        heights = [counts[h] for h in hours]
        if any(heights):
            axes.bar([f"{h:02d}h" for h in hours], heights, bottom=bottom, label=names.get(area, area))
            bottom = [b + v for b, v in zip(bottom, heights, strict=True)]
    axes.set_xlabel("Giờ trong ngày")
    axes.set_ylabel("Số phiếu")
    _counts(axes.yaxis)
    axes.legend(fontsize=8, loc="upper right")
    return True


def _waits(axes: Axes, report: Report) -> bool:
    waits = report.total.waits
    if not waits:
        return False
    width = 5
    axes.hist(waits, bins=range(0, int(max(waits)) + width + 1, width), color="#4575b4", edgecolor="white")
    axes.set_xlabel("Thời gian chờ đến lượt gọi đầu tiên (phút)")
    axes.set_ylabel("Số công dân")
    _counts(axes.yaxis)
    _decimals(axes.xaxis)
    if report.total.p90_wait is not None:
        axes.axvline(report.total.p90_wait, color="#d73027", linestyle="--",
                     label=f"90 % công dân chờ không quá {number_text(report.total.p90_wait, 1)} phút")
        axes.legend()
    return True


def _within_target(axes: Axes, report: Report) -> bool:
    names = _area_names(report)
    targets = {a.id: a.target_wait_min for a in report.center.areas}
    rows = [(f"{names.get(a, a)} (≤ {targets.get(a, 30)} phút)", g.within_target_share)
            for a, g in report.by_area.items() if g.within_target_share is not None]
    if not rows:
        return False
    labels, shares = zip(*rows, strict=True)
    bars = axes.barh(labels, [100 * s for s in shares], color="#1a9850")
    axes.bar_label(bars, labels=[percent_text(s, 0) for s in shares], padding=3)
    axes.set_xlim(0, 110)
    axes.set_xlabel("Tỷ lệ công dân — trong ngoặc: thời gian chờ mục tiêu của lĩnh vực")
    _percents(axes.xaxis)
    axes.invert_yaxis()
    return True


def _satisfaction(axes: Axes, report: Report, groups: dict[str, Group], names: dict[str, str]) -> bool:
    rows = [(names.get(key, key), g) for key, g in groups.items() if g.rated]
    if not rows:
        return False
    levels = report.center.levels if len(report.center.levels) in LEVEL_COLOURS else report.center.rating_levels
    labels = [f"{name} ({g.rated})" for name, g in rows]
    left = [0.0] * len(rows)
    for level, title, colour in zip(levels, level_names(levels), LEVEL_COLOURS[len(levels)], strict=True):
        shares = [100 * g.ratings[level] / g.rated for _, g in rows]
        axes.barh(labels, shares, left=left, label=title, color=colour)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    axes.set_xlim(0, 100)
    axes.set_xlabel("Tỷ lệ lượt đánh giá — trong ngoặc: số lượt")
    _percents(axes.xaxis)
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(levels), frameon=False)
    axes.invert_yaxis()
    return True


def _satisfaction_by_counter(axes: Axes, report: Report) -> bool:
    return _satisfaction(axes, report, report.by_counter, {c.id: c.name for c in report.center.counters})


def _satisfaction_by_area(axes: Axes, report: Report) -> bool:
    return _satisfaction(axes, report, report.by_area, _area_names(report))


def _missed(axes: Axes, report: Report) -> bool:
    names = _area_names(report)
    rows = [(names.get(a, a), g.missed, g.issued) for a, g in report.by_area.items() if g.issued]
    if not rows:
        return False
    bars = axes.barh([r[0] for r in rows], [r[1] for r in rows], color="#fc8d59")
    axes.bar_label(bars, labels=[f"{m} / {n} phiếu" for _, m, n in rows], padding=3)
    axes.set_xlim(0, max(1, max(r[1] for r in rows)) * 1.2)  # room for the longest bar's label
    axes.set_xlabel("Số phiếu vắng mặt (không đến khi được gọi)")
    _counts(axes.xaxis)
    axes.invert_yaxis()
    return True


def _satisfaction_766(axes: Axes, report: Report) -> bool:
    """The center's and each area's ratio: dossiers neither rated "không hài lòng" nor complained about, of those
    received there."""
    dossiers = report.dossiers()
    names = _area_names(report)
    groups = [("Toàn trung tâm", dossier_group(dossiers, []))]
    groups += [(names.get(area, area), dossier_group([d for d in dossiers if d.ticket.area == area], []))
               for area in dict.fromkeys([*names, *(d.ticket.area for d in dossiers)])]
    rows = [(name, g.ratio, g) for name, g in groups if g.ratio is not None]
    bars = axes.barh([name for name, _, _ in rows], [100 * ratio for _, ratio, _ in rows],
                     color=["#4575b4", *["#1a9850"] * (len(rows) - 1)])
    axes.bar_label(bars, labels=[f"{percent_text(ratio)} ({g.received - g.against}/{g.received} hồ sơ)"
                                 for _, ratio, g in rows], padding=3)
    axes.set_xlim(0, 135)  # room for the labels past a full bar
    axes.set_xlabel("Hồ sơ không bị đánh giá «không hài lòng» và không có phản ánh, kiến nghị, trên hồ sơ tiếp nhận")
    _percents(axes.xaxis)
    axes.invert_yaxis()
    return True


# What became of the bookings, best first: came (green), came late (orange), did not come (red), cancelled (grey)
OUTCOME_COLOURS = (("came", CAME, "#1a9850"), ("came_late", CAME_LATE, "#fc8d59"), ("no_show", NO_SHOW, "#d73027"),
                   ("cancelled", CANCELLED, "#999999"), ("pending", PENDING, "#91bfdb"))


def _bookings(axes: Axes, report: Report) -> bool:
    """Per channel that takes bookings: how many came, came late, did not come, cancelled or may still come."""
    groups = [(CHANNEL_NAMES.get(c, c), g) for c, g in report.by_channel().items() if g.booked]
    if not groups:
        return False
    labels = [f"{name}\n({g.booked} lượt đặt trước)" for name, g in groups]
    left = [0] * len(groups)
    last = None
    for attribute, title, colour in OUTCOME_COLOURS:
        counts = [getattr(g, attribute) for _, g in groups]
        if not any(counts):
            continue
        bars = axes.barh(labels, counts, left=left, label=title, color=colour, height=0.5)
        axes.bar_label(bars, labels=[str(n) if n else "" for n in counts], label_type="center", color="white",
                       fontsize=12)
        left = [a + b for a, b in zip(left, counts, strict=True)]
        last = bars
    assert last is not None  # a channel with bookings has some outcome
    # of the bookings decided: neither cancelled nor still in their window
    said = ["" if g.no_show_share is None else
            f"không đến: {percent_text(g.no_show_share)} ({g.no_show}/{g.booked - g.cancelled - g.pending})"
            for _, g in groups]
    axes.bar_label(last, labels=said, padding=6)
    axes.set_xlim(0, max(left) * 1.3)  # room for the labels past the longest bar
    axes.set_xlabel("Số lượt đặt trước (theo ngày hẹn)")
    _counts(axes.xaxis)
    axes.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=5, frameon=False)
    axes.invert_yaxis()
    return True


def _counts(axis: Axis) -> None:
    """Whole numbers only on a count axis."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f}"))


def _decimals(axis: Axis) -> None:
    """Decimal commas: 2,5 (and 10, not 10,0)."""
    axis.set_major_formatter(FuncFormatter(
        lambda value, _: f"{value:.0f}" if float(value).is_integer() else number_text(value, 1)))


def _percents(axis: Axis) -> None:
    """An axis of percentages 0-100 labelled "20 %"; none past 100."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: percent_text(value / 100, 0) if value <= 100 else ""))
