"""Small line charts as inline SVG: an indicator's value over time against its 2030 target.

Drawn on the server as plain SVG text (no script, no library, nothing fetched), so that the
scorecard page, its printable report and the PDF show the same picture. Labels are text in
the page's language and font, so Vietnamese diacritics render as the page's do; numbers are
formatted by the caller (decimal comma in Vietnamese).

Examples
--------
>>> svg = trend_svg([("01/2026", 40.0), ("02/2026", 55.5)], target=100.0, fmt=str,
...                 title="x", target_label="target", empty_label="no data")
>>> svg.startswith("<svg") and "55.5%" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final
from xml.sax.saxutils import escape

WIDTH: Final = 520
HEIGHT: Final = 190
_LEFT: Final = 62
_RIGHT: Final = 14
_TOP: Final = 16
_BOTTOM: Final = 34


def _nice_top(high: float) -> float:
    """Return a round axis maximum at or above `high` (1, 2, 2.5, 5 times a power of ten)."""
    if high <= 0:
        return 1.0
    power = math.pow(10.0, math.floor(math.log10(high)))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if high <= step * power + 1e-9:
            return step * power
    return 10.0 * power


def trend_svg(
    points: Sequence[tuple[str, float | None]],
    *,
    target: float | None,
    fmt: Callable[[float], str],
    title: str,
    target_label: str,
    empty_label: str,
    unit: str = "%",
    percent_axis: bool = True,
) -> str:
    """
    Draw a value over time, with its target as a dashed line.

    Parameters
    ----------
    points
        ``(label, value)`` per date, oldest first; a None value leaves a gap.
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
    str
        An ``<svg>`` element.
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

    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title, _QUOTE)}">'
        ),
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):  # horizontal grid and axis labels
        tick = bottom + (top - bottom) * k / 4
        y = y_at(tick)
        out.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{_LEFT - 4}" y="{y + 3.5:.1f}" font-size="10" text-anchor="end" '
            f'fill="#444">{escape(fmt(tick))}{escape(unit)}</text>'
        )
    step = max(1, math.ceil(n / 8))
    for i, (label, _) in enumerate(points):
        if i % step and i != n - 1:
            continue
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        out.append(
            f'<text x="{x_at(i):.1f}" y="{HEIGHT - _BOTTOM + 14}" font-size="10" '
            f'text-anchor="{anchor}" fill="#444">{escape(label)}</text>'
        )
    if target is not None:
        y = y_at(target)
        out.append(
            f'<line class="target" x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
            f'stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{_LEFT + 4}" y="{y - 4:.1f}" font-size="10" text-anchor="start" '
            f'fill="#c0392b">{escape(target_label)}</text>'
        )
    run: list[str] = []
    runs: list[list[str]] = []
    for i, (_, v) in enumerate(points):
        if v is None or not math.isfinite(v):
            if run:
                runs.append(run)
            run = []
            continue
        run.append(f"{x_at(i):.1f},{y_at(v):.1f}")
    if run:
        runs.append(run)
    for r in runs:
        out.append(
            f'<polyline class="value" points="{" ".join(r)}" fill="none" stroke="#1f6f3f" '
            f'stroke-width="2"/>'
        )
    for i, (_, v) in enumerate(points):
        if v is not None and math.isfinite(v):
            out.append(
                f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="3" fill="#1f6f3f">'
                f"<title>{escape(points[i][0])}: {escape(fmt(v))}{escape(unit)}</title></circle>"
            )
    last = next(((i, v) for i, (_, v) in reversed(list(enumerate(points))) if v is not None), None)
    if last is not None:
        i, v = last
        y = y_at(v) + 15 if y_at(v) < _TOP + 18 else y_at(v) - 7
        out.append(
            f'<text class="last" x="{x_at(i) - 4:.1f}" y="{y:.1f}" font-size="11" '
            f'text-anchor="end" font-weight="bold" fill="#1f6f3f">'
            f"{escape(fmt(v))}{escape(unit)}</text>"
        )
    else:
        out.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" font-size="12" '
            f'text-anchor="middle" fill="#777">{escape(empty_label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


_QUOTE: Final = {'"': "&quot;"}
