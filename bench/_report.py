"""Print benchmark rows as an aligned table or as JSON lines, and measure time and peak memory."""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def emit(rows: Sequence[dict[str, Any]], *, as_json: bool, title: str = "") -> None:
    """Write `rows` to stdout: a table with a header line, or one JSON object a line."""
    out = sys.stdout
    if as_json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    if not rows:
        out.write(f"{title}: no rows\n")
        return
    cols = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_fmt(row.get(c, "")) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    if title:
        out.write(f"\n{title}\n")
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) + "\n")
    out.flush()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


@dataclass
class Measure:
    """Wall time (s) and peak Python heap (MiB) of a block; see `measure`."""

    seconds: float = 0.0
    peak_mib: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def measure(*, trace_memory: bool = True) -> Iterator[Measure]:
    """Time a block and, optionally, track its peak Python allocations with tracemalloc."""
    m = Measure()
    if trace_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - t0
        if trace_memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            m.peak_mib = peak / 2**20


def max_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call `fn` and return its result with the wall time in seconds."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0
