"""Small line charts as inline SVG: an indicator's value over time against its 2030 target.

Drawn on the server as plain SVG (no script, nothing fetched), so that the scorecard page, its
printable report and the PDF show the same picture. Labels are text in the page's language and
font, so Vietnamese diacritics render as the page's do; numbers are formatted by the caller
(decimal comma in Vietnamese). The geometry is computed in plain Python (`trend_geometry`); the
markup comes from the autoescaped Jinja2 template ``templates/web/trend.svg.j2``.

Examples
--------
>>> chart = trend_geometry([("01/2026", 40.0), ("02/2026", 55.5)], target=100.0, fmt=str,
...                        title="x", target_label="target", empty_label="no data")
>>> svg = trend_svg(chart)
>>> svg.startswith("<svg") and "55.5%" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from gomrac.api.templating import web_environment

WIDTH: Final = 520
HEIGHT: Final = 190
_LEFT: Final = 62
_RIGHT: Final = 14
_TOP: Final = 16
_BOTTOM: Final = 34
#: The chart's template, in ``templates/web``.
_TEMPLATE: Final = "trend.svg.j2"


def _nice_top(high: float) -> float:
    """Return a round axis maximum at or above `high` (1, 2, 2.5, 5 times a power of ten)."""
    if high <= 0:
        return 1.0
    power = math.pow(10.0, math.floor(math.log10(high)))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if high <= step * power + 1e-9:
            return step * power
    return 10.0 * power


@dataclass(frozen=True)
class Label:
    """A text at a point of the chart, in SVG user units (y is the baseline)."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class TrendGeometry:
    """Where everything of a trend chart goes, in SVG user units (origin top left).

    Attributes
    ----------
    width, height
        The chart's size.
    title
        The chart's accessible title.
    left, right
        The x of the plot area's left and right edges (grid lines run between them).
    grid
        The horizontal grid lines, bottom to top: each one's y and its axis label.
    dates
        The labels under the plot (every date, or a thinned set when there are many).
    target
        The target line's y and its label (None: no target line).
    runs
        The value line's ``(x, y)`` vertices, one run per stretch without a gap.
    dots
        One marker per known value, with its ``date: value`` text.
    last
        The last known value's label (None when no value is known).
    empty
        The label that says the chart has no value (None when one is known).
    """

    width: int
    height: int
    title: str
    left: int
    right: int
    grid: tuple[tuple[float, Label], ...]
    dates: tuple[Label, ...]
    target: tuple[float, Label] | None
    runs: tuple[tuple[tuple[float, float], ...], ...]
    dots: tuple[Label, ...]
    last: Label | None
    empty: Label | None


def trend_geometry(
    points: Sequence[tuple[str, float | None]],
    *,
    target: float | None,
    fmt: Callable[[float], str],
    title: str,
    target_label: str,
    empty_label: str,
    unit: str = "%",
    percent_axis: bool = True,
) -> TrendGeometry:
    """
    Lay out a trend chart: axis, grid, labels, the value line and its markers.

    Pure: no markup is written here; `trend_svg` draws the result.

    Parameters
    ----------
    points
        ``(label, value)`` per date, oldest first; a None or NaN value leaves a gap.
    target
        The target line's value (None: no line).
    fmt
        Formats a number for the labels (the page's `_number`).
    title
        The chart's accessible title.
    target_label, empty_label
        The words for the target line and for a chart with no value.
    unit
        Appended to the numbers (``%``, `` h``).
    percent_axis
        Draw the vertical axis from 0 to at least 100 (else from 0 to the data's maximum).

    Returns
    -------
    TrendGeometry
        The chart's positions (SVG user units) and texts, unescaped.
    """
    values = [v for _, v in points if v is not None and math.isfinite(v)]
    candidates = [*values, *([target] if target is not None else [])]
    low = min([0.0, *candidates])
    high = max([100.0 if percent_axis else 0.0, *candidates])
    top = _nice_top(high)
    bottom = -_nice_top(-low) if low < 0 else 0.0
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    n = len(points)

    def x_at(i: int) -> float:
        return _LEFT + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return _TOP + plot_h * (top - v) / (top - bottom)

    ticks = [bottom + (top - bottom) * k / 4 for k in range(5)]
    step = max(1, math.ceil(n / 8))
    dates = [
        Label(
            x_at(i),
            HEIGHT - _BOTTOM + 14,
            label,
            "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle",
        )
        for i, (label, _) in enumerate(points)
        if not (i % step and i != n - 1)
    ]
    runs: list[tuple[tuple[float, float], ...]] = []
    run: list[tuple[float, float]] = []
    for i, (_, v) in enumerate(points):
        if v is None or not math.isfinite(v):
            if run:
                runs.append(tuple(run))
            run = []
            continue
        run.append((x_at(i), y_at(v)))
    if run:
        runs.append(tuple(run))
    dots = [
        Label(x_at(i), y_at(v), f"{label}: {fmt(v)}{unit}")
        for i, (label, v) in enumerate(points)
        if v is not None and math.isfinite(v)
    ]
    known = [(i, v) for i, (_, v) in enumerate(points) if v is not None and math.isfinite(v)]
    last = known[-1] if known else None
    last_label = None
    if last is not None:
        i, v = last
        y = y_at(v) + 15 if y_at(v) < _TOP + 18 else y_at(v) - 7
        last_label = Label(x_at(i) - 4, y, f"{fmt(v)}{unit}", "end")
    return TrendGeometry(
        width=WIDTH,
        height=HEIGHT,
        title=title,
        left=_LEFT,
        right=WIDTH - _RIGHT,
        grid=tuple(
            (y_at(t), Label(_LEFT - 4, y_at(t) + 3.5, f"{fmt(t)}{unit}", "end")) for t in ticks
        ),
        dates=tuple(dates),
        target=(
            (y_at(target), Label(_LEFT + 4, y_at(target) - 4, target_label, "start"))
            if target is not None
            else None
        ),
        runs=tuple(runs),
        dots=tuple(dots),
        last=last_label,
        empty=(
            Label(_LEFT + plot_w / 2, _TOP + plot_h / 2, empty_label)
            if last_label is None
            else None
        ),
    )


def trend_svg(chart: TrendGeometry) -> str:
    """
    Draw a chart laid out by `trend_geometry`: an ``<svg>`` element, every text escaped.

    The markup comes from the template ``templates/web/trend.svg.j2``.
    """
    return web_environment().get_template(_TEMPLATE).render(chart=chart)
