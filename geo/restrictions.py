r"""What a vehicle may drive, and when: OSM units, vehicle profiles and time-limited restrictions.

Three things live here:

* **Units.** `parse_length_m` and `parse_weight_t` read OSM's ``width``, ``maxwidth``,
  ``maxheight`` and ``maxweight`` values (``"3.5"``, ``"3.5 m"``, ``12'6"``, ``"7 t"``,
  ``"7.5 st"`` ...). A value they cannot read raises `ValueError`; the network rules count it and
  go on (a malformed tag never stops a network from being built).
* **Vehicles.** `VehicleProfile` holds what the tags are compared with: width, gross weight,
  height and which access keys speak to the vehicle.
* **Time.** `parse_conditional` reads the conditional restrictions of OSM
  (``motor_vehicle:conditional=no @ (Sa,Su 18:00-24:00)``; several clauses separated by ``;``).
  Each clause's condition is evaluated with the `opening_hours` package (the Rust
  ``opening-hours-rs`` parser of the OSM opening-hours grammar) into *weekly intervals*: minutes
  since Monday 00:00, ``0 <= start < end <= 10080``. The network rules store the intervals in
  which an edge is closed on the edge as the text attribute ``closed_weekly`` (see
  `encode_weekly`), which a GraphML round trip keeps; `closed_at` and `network_at` read it, so a
  routing stage can build each day's and each hour's matrices on the streets open then.

Choices made here, each a documented assumption:

* Times are local (Vietnam has one time zone and no daylight saving): a `datetime` is read for its
  weekday and time of day, its time zone ignored.
* ``23:59`` as the end of a range means midnight (the usual OSM idiom:
  ``Fr 19:00-23:59; Sa-Su 00:00-23:59`` is one closure from Friday 19:00 to Monday 00:00).
* When several clauses hold at once, the rightmost wins (the OSM conditional-restrictions rule).
* A condition that depends on the date (months, dates, years, public holidays), so that not every
  week of the year looks the same, is *date-limited*: it is not applied to the weekly network and
  is counted, with the clause, as a problem.
* A vehicle condition (``weight>7.5``, ``width>2``, ``height>3``) is compared with the profile; a
  condition of another kind (``wet``, ``stay < 2 hours``, ``occupants>1``) is counted as
  unsupported and the clause is not applied.

Why the unit parsers are written here: no kept package reads OSM's value grammar. A general unit
library gets it wrong where it matters: in pint, ``st`` is the stone (6.35 kg), while OSM's
``st`` is the US short ton (907.18 kg), and neither the feet-and-inches form ``12'6"`` nor the
OSM no-limit words (``none``, ``default``) are units.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Final, NamedTuple

import networkx as nx
from opening_hours import OpeningHours, State, validate

if TYPE_CHECKING:
    from collections.abc import Hashable

log = logging.getLogger(__name__)

#: Minutes in a week; weekly intervals lie in ``[0, WEEK_MIN]``, Monday 00:00 = 0.
WEEK_MIN: Final = 7 * 24 * 60
DAY_MIN: Final = 24 * 60
#: The edge attribute holding the weekly intervals in which an edge is closed.
CLOSED_ATTR: Final = "closed_weekly"
WEEKDAYS: Final = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

#: Values that mean "no limit" in ``maxweight``, ``maxwidth``, ``maxheight``.
_NO_LIMIT: Final = frozenset({"none", "no", "unsigned", "no_sign", "default"})
_NUMBER: Final = r"(\d+(?:\.\d+)?|\.\d+)"
_LENGTH_UNITS: Final = {"": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "mi": 1609.344}
_FEET_INCHES: Final = re.compile(
    rf"^{_NUMBER}\s*(?:'|ft|feet)\s*(?:{_NUMBER}\s*(?:\"|in|inch|inches))?$"
)
_INCHES: Final = re.compile(rf"^{_NUMBER}\s*(?:\"|in|inch|inches)$")
_METRIC: Final = re.compile(rf"^{_NUMBER}\s*([a-z]*)$")
#: Tonnes per unit of OSM's ``maxweight`` (``st`` = US short ton, ``lt`` = long ton).
_WEIGHT_UNITS: Final = {
    "": 1.0,
    "t": 1.0,
    "kg": 0.001,
    "st": 0.90718474,
    "lt": 1.0160469088,
    "lbs": 0.00045359237,
    "lb": 0.00045359237,
}
_FOOT_M: Final = 0.3048
_INCH_M: Final = 0.0254


def parse_length_m(text: str) -> float:
    r"""Read an OSM length (``width``, ``maxwidth``, ``maxheight``) in metres.

    Metres are the default unit; ``m``, ``cm``, ``mm``, ``km``, ``mi``, feet (``12'``,
    ``12 ft``) and feet-and-inches (``12'6"``) are read. The no-limit words (``none``,
    ``default``, ``unsigned``, ``no_sign``) give infinity.

    Parameters
    ----------
    text
        The tag value.

    Returns
    -------
    float
        The length in metres (``inf`` for no limit).

    Raises
    ------
    ValueError
        When the value is not an OSM length: a decimal comma (``"3,5 m"``: OSM wants a dot, and a
        comma also separates lists), a range, an unknown unit, free text.

    Examples
    --------
    >>> parse_length_m("3.5"), parse_length_m("3.5 m"), round(parse_length_m('12\'6"'), 3)
    (3.5, 3.5, 3.81)
    """
    value = text.strip().lower()
    if value in _NO_LIMIT:
        return float("inf")
    if m := _FEET_INCHES.match(value):
        return float(m.group(1)) * _FOOT_M + float(m.group(2) or 0.0) * _INCH_M
    if m := _INCHES.match(value):
        return float(m.group(1)) * _INCH_M
    if (m := _METRIC.match(value)) and m.group(2) in _LENGTH_UNITS:
        return float(m.group(1)) * _LENGTH_UNITS[m.group(2)]
    msg = f"not an OSM length: {text!r}"
    raise ValueError(msg)


def parse_weight_t(text: str) -> float:
    """Read an OSM weight (``maxweight``) in tonnes.

    Tonnes are the default unit; ``t``, ``kg``, ``st`` (US short ton, 907.18 kg), ``lt`` (long
    ton) and ``lbs`` are read. The no-limit words give infinity.

    Parameters
    ----------
    text
        The tag value.

    Returns
    -------
    float
        The weight in tonnes (``inf`` for no limit).

    Raises
    ------
    ValueError
        When the value is not an OSM weight.

    Examples
    --------
    >>> parse_weight_t("7 t"), round(parse_weight_t("7.5 st"), 3), parse_weight_t("3500 kg")
    (7.0, 6.804, 3.5)
    """
    value = text.strip().lower()
    if value in _NO_LIMIT:
        return float("inf")
    if (m := _METRIC.match(value)) and m.group(2) in _WEIGHT_UNITS:
        return float(m.group(1)) * _WEIGHT_UNITS[m.group(2)]
    msg = f"not an OSM weight: {text!r}"
    raise ValueError(msg)


#: The access keys that speak to a motor vehicle, most general first (the OSM access hierarchy).
#: ``motorcar`` is in it: Vietnam's sign P.103a "Cấm xe ô tô", which mappers tag ``motorcar=no``,
#: forbids lorries too (QCVN 41:2019/BGTVT).
MOTOR_ACCESS_KEYS: Final = ("access", "vehicle", "motor_vehicle", "motorcar")


@dataclass(frozen=True)
class VehicleProfile:
    """A vehicle as the road tags see it.

    Attributes
    ----------
    name
        A label for reports.
    width_m
        Vehicle width, metres, mirrors folded (compared with ``maxwidth``).
    gross_weight_t
        Gross (laden) weight, tonnes (compared with ``maxweight``).
    height_m
        Vehicle height, metres (compared with ``maxheight``); None skips that rule.
    is_hgv
        Whether the vehicle is a heavy goods vehicle: the ``hgv`` key then speaks to it, after the
        keys of `access_keys`.
    width_clearance_m
        Room the vehicle needs beside its own width on a carriageway, metres: a way whose mapped
        ``width`` (or ``est_width``) is below ``width_m + width_clearance_m`` is closed to it.
        ``maxwidth`` is a limit on the vehicle itself and is compared with `width_m` alone.
    access_keys
        The access keys that speak to the vehicle, most general first: the most specific key
        tagged on a way decides (``access=no`` + ``motor_vehicle=yes`` is open to a truck).
    closed_values
        Access values that close a way to the vehicle. ``destination`` and ``delivery`` are not in
        the truck's default: a collection truck's business is with the houses of the street it
        enters. Add them to close such streets.
    """

    name: str
    width_m: float
    gross_weight_t: float
    height_m: float | None = None
    is_hgv: bool = True
    width_clearance_m: float = 0.0
    access_keys: tuple[str, ...] = MOTOR_ACCESS_KEYS
    closed_values: frozenset[str] = frozenset({"no", "private", "agricultural", "forestry"})

    @property
    def keys(self) -> tuple[str, ...]:
        """The access keys read for this vehicle, most general first."""
        return (*self.access_keys, "hgv") if self.is_hgv else self.access_keys

    @property
    def min_width_m(self) -> float:
        """Narrowest mapped carriageway ``width`` the vehicle enters, metres."""
        return self.width_m + self.width_clearance_m


#: A 7–12 t rear-loading compactor truck (local assumption: 2.3 m wide, 12 t gross, 3.3 m high;
#: 1.2 m of room to pass parked motorbikes, so a 3.5 m street is the narrowest it enters).
COMPACTOR_TRUCK: Final = VehicleProfile(
    name="compactor truck 12 t",
    width_m=2.3,
    gross_weight_t=12.0,
    height_m=3.3,
    is_hgv=True,
    width_clearance_m=1.2,
)
#: A crew pushing a loaded 660 L handcart: a pedestrian, 1.0 m wide with the cart, 0.4 t.
HANDCART: Final = VehicleProfile(
    name="handcart 660 L",
    width_m=1.0,
    gross_weight_t=0.4,
    height_m=None,
    is_hgv=False,
    width_clearance_m=0.2,
    access_keys=("access", "foot"),
    closed_values=frozenset({"no"}),
)


# ---------------------------------------------------------------------------------------------
# weekly intervals

WeeklyIntervals = tuple[tuple[int, int], ...]


def normalise_weekly(intervals: Iterable[tuple[int, int]]) -> WeeklyIntervals:
    """Sort, clip to the week and merge intervals (minutes since Monday 00:00).

    An interval may run past the end of the week (``start > end`` or ``end > WEEK_MIN``); it is
    wrapped round to Monday. Intervals that touch are merged.
    """
    pieces: list[tuple[int, int]] = []
    for start, end in intervals:
        s, e = int(start) % WEEK_MIN, int(end)
        if e <= s:
            e += WEEK_MIN * ((s - e) // WEEK_MIN + 1) if e != s else 0
        if e == s:
            continue
        if e > WEEK_MIN:
            pieces.append((s, WEEK_MIN))
            pieces.append((0, min(e - WEEK_MIN, WEEK_MIN)))
        else:
            pieces.append((s, e))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(pieces):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)


def intersect_weekly(a: WeeklyIntervals, b: WeeklyIntervals) -> WeeklyIntervals:
    """Return the minutes of the week in both `a` and `b`."""
    out = [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) < min(e1, e2)]
    return normalise_weekly(out)


def covers(intervals: WeeklyIntervals, minute: float) -> bool:
    """Whether the minute of the week `minute` lies in one of `intervals` (ends excluded)."""
    m = minute % WEEK_MIN
    return any(s <= m < e for s, e in intervals)


def encode_weekly(intervals: WeeklyIntervals) -> str:
    """Write weekly intervals as the edge attribute text, e.g. ``"6900-10080"``.

    Pairs ``start-end`` in minutes since Monday 00:00, separated by spaces; ``""`` for none.

    Examples
    --------
    >>> encode_weekly(((6900, 10080),))
    '6900-10080'
    """
    return " ".join(f"{s}-{e}" for s, e in intervals)


def decode_weekly(text: object) -> WeeklyIntervals:
    """Read the text `encode_weekly` writes (an absent attribute, None, reads as no interval).

    A list (two merged edges that were both closed) reads as the union of its parts.
    """
    if text is None:
        return ()
    if isinstance(text, list | tuple):
        return normalise_weekly(iv for part in text for iv in decode_weekly(part))
    pairs = []
    for part in str(text).split():
        start, _, end = part.partition("-")
        pairs.append((int(start), int(end)))
    return normalise_weekly(pairs)


def format_weekly(intervals: WeeklyIntervals) -> str:
    """Write weekly intervals for people, e.g. ``"Fr 19:00-Mo 00:00"``.

    Examples
    --------
    >>> format_weekly(((6900, 10080), (360, 540)))
    'Fr 19:00-Mo 00:00, Mo 06:00-Mo 09:00'
    """

    def at(minute: int) -> str:
        day, rest = divmod(minute % WEEK_MIN, DAY_MIN)
        return f"{WEEKDAYS[day]} {rest // 60:02d}:{rest % 60:02d}"

    return ", ".join(f"{at(s)}-{at(e)}" for s, e in intervals)


class WeekTime(NamedTuple):
    """A moment of the week: `weekday` 0 = Monday ... 6 = Sunday, `hour` of the day (0-24)."""

    weekday: int
    hour: float


def week_minute(when: dt.datetime | WeekTime) -> float:
    """Return minutes since Monday 00:00 for a moment (a datetime's time zone is ignored)."""
    if isinstance(when, dt.datetime):
        return when.weekday() * DAY_MIN + when.hour * 60 + when.minute + when.second / 60
    if not 0 <= when.weekday <= 6 or not 0 <= when.hour <= 24:
        msg = f"weekday must be 0..6 and hour 0..24, got {when}"
        raise ValueError(msg)
    return when.weekday * DAY_MIN + when.hour * 60


# ---------------------------------------------------------------------------------------------
# conditional restrictions

#: A Monday: the weeks of the reference year are checked against one another to tell a weekly
#: condition from a date-limited one.
_REFERENCE_MONDAY: Final = dt.datetime(2024, 1, 1)  # local time, see the module
_REFERENCE_WEEKS: Final = 52
_VEHICLE_CONDITION: Final = re.compile(
    r"^(weight|width|height|length)\s*(<=|>=|<|>|=)\s*(.+)$", re.IGNORECASE
)


class TimeWindow(NamedTuple):
    """The outcome of reading a time condition: weekly intervals or why there are none."""

    intervals: WeeklyIntervals
    problem: str | None


@lru_cache(maxsize=4096)
def weekly_intervals(condition: str) -> TimeWindow:
    """Evaluate an opening-hours condition into the weekly intervals in which it holds.

    Parameters
    ----------
    condition
        An OSM opening-hours expression (``"Sa,Su 18:00-24:00"``, ``"19:00-06:00"``).

    Returns
    -------
    TimeWindow
        The intervals, and a problem (``"syntax"`` or ``"date-limited"``) when the condition
        cannot be applied to a weekly network; the intervals are then empty.

    Examples
    --------
    >>> weekly_intervals("Sa,Su 18:00-24:00")
    TimeWindow(intervals=((8280, 8640), (9720, 10080)), problem=None)
    """
    if not validate(condition):
        return TimeWindow((), "syntax")
    oh = OpeningHours(condition, auto_country=False, auto_timezone=False)
    start = _REFERENCE_MONDAY
    end = start + dt.timedelta(weeks=_REFERENCE_WEEKS)
    weeks: list[list[tuple[int, int]]] = [[] for _ in range(_REFERENCE_WEEKS)]
    for a, b, state, _comment in oh.intervals(start, end):
        if state != State.OPEN:
            continue
        s = int((a.replace(tzinfo=None) - start).total_seconds() // 60)
        e = int((b.replace(tzinfo=None) - start).total_seconds() // 60)
        if e % DAY_MIN == DAY_MIN - 1:  # "23:59" means midnight
            e += 1
        for w in range(s // WEEK_MIN, min((e - 1) // WEEK_MIN, _REFERENCE_WEEKS - 1) + 1):
            lo, hi = max(s, w * WEEK_MIN), min(e, (w + 1) * WEEK_MIN)
            if lo < hi:
                weeks[w].append((lo - w * WEEK_MIN, hi - w * WEEK_MIN))
    patterns = {normalise_weekly(w) for w in weeks}
    if len(patterns) > 1:
        return TimeWindow((), "date-limited")
    return TimeWindow(patterns.pop(), None)


@dataclass(frozen=True)
class Clause:
    """One ``value @ condition`` clause of a conditional tag.

    Attributes
    ----------
    value
        The value that applies while the condition holds (``no``, ``delivery``, ``3.5``).
    condition
        The condition as written, without its brackets.
    window
        The weekly intervals of its time part; None when it has no time part (always).
    vehicle
        Its vehicle conditions, ``(quantity, operator, limit)`` with limits in metres or tonnes.
    """

    value: str
    condition: str
    window: WeeklyIntervals | None
    vehicle: tuple[tuple[str, str, float], ...] = ()

    def applies(self, profile: VehicleProfile) -> WeeklyIntervals:
        """Return the weekly intervals in which the clause applies to `profile`."""
        for quantity, op, limit in self.vehicle:
            if not _compare(_quantity(profile, quantity), op, limit):
                return ()
        return ((0, WEEK_MIN),) if self.window is None else self.window


def _quantity(profile: VehicleProfile, name: str) -> float | None:
    return {
        "weight": profile.gross_weight_t,
        "width": profile.width_m,
        "height": profile.height_m,
        "length": None,
    }[name]


def _compare(value: float | None, op: str, limit: float) -> bool:
    if value is None:  # the vehicle does not say: the clause is taken to apply (the safe side)
        return True
    return {
        "<": value < limit,
        ">": value > limit,
        "<=": value <= limit,
        ">=": value >= limit,
        "=": value == limit,
    }[op]


@dataclass(frozen=True)
class Conditional:
    """A conditional tag read into clauses, and what could not be read.

    Attributes
    ----------
    clauses
        The clauses that apply to a weekly network, in the tag's order.
    problems
        ``(kind, text)`` for every clause left out: ``syntax`` (not ``value @ condition``, or an
        unreadable condition), ``date-limited``, ``unsupported`` (a condition that is neither a
        time nor a vehicle property).
    """

    clauses: tuple[Clause, ...] = ()
    problems: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside brackets and double quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


@lru_cache(maxsize=4096)
def parse_conditional(text: str, *, value_kind: str = "access") -> Conditional:
    """Read a conditional restriction (``value @ condition; value @ (condition)``).

    Parameters
    ----------
    text
        The value of a ``*:conditional`` tag.
    value_kind
        ``"access"`` (values kept as lower-case words), ``"weight"`` or ``"length"`` (values
        checked with `parse_weight_t` / `parse_length_m`; an unreadable one is a ``syntax``
        problem).

    Returns
    -------
    Conditional
        The clauses and the problems; garbage gives no clause and a problem, never an exception.

    Examples
    --------
    >>> c = parse_conditional("no @ (Sa,Su 18:00-24:00); delivery @ (Mo-Fr 06:00-10:00)")
    >>> [(cl.value, format_weekly(cl.window or ())) for cl in c.clauses][0]
    ('no', 'Sa 18:00-Su 00:00, Su 18:00-Mo 00:00')
    >>> parse_conditional("@ (Fr-Su 18:00-23:59)").problems
    (('syntax', '@ (Fr-Su 18:00-23:59)'),)
    """
    clauses: list[Clause] = []
    problems: list[tuple[str, str]] = []
    for raw in _split_top(text, ";"):
        part = raw.strip()
        if not part:
            continue
        value, at, condition = part.partition("@")
        value, condition = value.strip(), condition.strip()
        if not at or not value or not condition or "@" in condition or "@" in value:
            problems.append(("syntax", part))
            continue
        if condition.startswith("(") and condition.endswith(")"):
            condition = condition[1:-1].strip()
        if not _value_ok(value, value_kind):
            problems.append(("syntax", part))
            continue
        clause, problem = _clause(value.lower(), condition)
        if clause is None:
            problems.append((problem or "syntax", part))
        else:
            clauses.append(clause)
    return Conditional(tuple(clauses), tuple(problems))


def _value_ok(value: str, kind: str) -> bool:
    try:
        if kind == "weight":
            parse_weight_t(value)
        elif kind == "length":
            parse_length_m(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[\w.'\" -]+", value))


def _clause(value: str, condition: str) -> tuple[Clause | None, str | None]:
    window: WeeklyIntervals | None = None
    vehicle: list[tuple[str, str, float]] = []
    for raw in _split_top(condition, " AND "):
        piece = raw.strip()
        if m := _VEHICLE_CONDITION.match(piece):
            quantity, op, limit = m.group(1).lower(), m.group(2), m.group(3)
            try:
                number = parse_weight_t(limit) if quantity == "weight" else parse_length_m(limit)
            except ValueError:
                return None, "syntax"
            vehicle.append((quantity, op, number))
            continue
        found = weekly_intervals(piece)
        if found.problem == "syntax":
            # a word the opening-hours grammar does not know: wet, snow, stay < 2 hours ...
            plain = re.fullmatch(r"[a-z_]+|\w+\s*[<>=]+.*", piece, re.IGNORECASE)
            return None, "unsupported" if plain and not _looks_like_time(piece) else "syntax"
        if found.problem is not None:
            return None, found.problem
        window = found.intervals if window is None else intersect_weekly(window, found.intervals)
    return Clause(value, condition, window, tuple(vehicle)), None


def _looks_like_time(text: str) -> bool:
    return bool(re.search(r"\d{1,2}:\d{2}|\b(Mo|Tu|We|Th|Fr|Sa|Su|PH|SH)\b", text))


# ---------------------------------------------------------------------------------------------
# graphs at a moment of the week


def edge_closures(G: nx.MultiDiGraph) -> dict[tuple[Hashable, Hashable, int], WeeklyIntervals]:
    """Return the weekly closed intervals of every edge that has some."""
    out: dict[tuple[Hashable, Hashable, int], WeeklyIntervals] = {}
    for u, v, k, text in G.edges(keys=True, data=CLOSED_ATTR):
        intervals = decode_weekly(text)
        if intervals:
            out[(u, v, k)] = intervals
    return out


def closed_at(
    G: nx.MultiDiGraph, when: dt.datetime | WeekTime
) -> set[tuple[Hashable, Hashable, int]]:
    """Return the edges of `G` closed at a moment of the week.

    Parameters
    ----------
    G
        A network from `gomrac.geo.network.networks_for` (edges carry ``closed_weekly``).
    when
        A local datetime (its weekday and time of day are used) or a `WeekTime`.

    Returns
    -------
    set
        ``(u, v, key)`` of every edge closed then.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge(1, 2, closed_weekly="6900-10080")
    >>> closed_at(G, WeekTime(5, 19.0)), closed_at(G, WeekTime(1, 10.0))
    ({(1, 2, 0)}, set())
    """
    minute = week_minute(when)
    return {e for e, iv in edge_closures(G).items() if covers(iv, minute)}


def closed_between(
    G: nx.MultiDiGraph, start: dt.datetime | WeekTime, end: dt.datetime | WeekTime
) -> set[tuple[Hashable, Hashable, int]]:
    """Return the edges closed at any moment from `start` to `end` (a shift, say).

    The span is read within one week: from `start` forward to `end`, wrapping past Sunday.
    """
    s, e = week_minute(start), week_minute(end)
    span = normalise_weekly([(int(s), int(e) if e > s else int(e) + WEEK_MIN)])
    return {e_ for e_, iv in edge_closures(G).items() if intersect_weekly(iv, span)}


def _without(
    G: nx.MultiDiGraph, edges: set[tuple[Hashable, Hashable, int]], label: str
) -> nx.MultiDiGraph:
    H = G.copy()
    H.remove_edges_from(edges)
    H.graph["gomrac_at"] = label
    H.graph["gomrac_closed_edges"] = len(edges)
    return H


def network_at(G: nx.MultiDiGraph, when: dt.datetime | WeekTime) -> nx.MultiDiGraph:
    """Return a copy of `G` without the edges closed at a moment of the week.

    Nodes stay (a node may be left without edges, or in a piece cut off from the rest: take
    `gomrac.geo.network.routable` of the result before building a matrix).

    Parameters
    ----------
    G
        A network from `gomrac.geo.network.networks_for`.
    when
        A local datetime (its weekday and time of day are used) or a `WeekTime`.

    Returns
    -------
    nx.MultiDiGraph
        The open network; ``graph["gomrac_at"]`` says when, ``graph["gomrac_closed_edges"]``
        how many edges were taken out.
    """
    closed = closed_at(G, when)
    minute = int(week_minute(when))
    label = format_weekly(((minute, minute),)).split("-")[0]
    log.info("network_at %s: %d of %d edges closed", label, len(closed), G.number_of_edges())
    return _without(G, closed, label)


def network_between(
    G: nx.MultiDiGraph, start: dt.datetime | WeekTime, end: dt.datetime | WeekTime
) -> nx.MultiDiGraph:
    """Return a copy of `G` without the edges closed at any moment from `start` to `end`.

    The network a whole shift may use when the routes are not timed hour by hour.
    """
    closed = closed_between(G, start, end)
    a, b = int(week_minute(start)), int(week_minute(end))
    label = format_weekly(((a, b),))
    log.info("network_between %s: %d of %d edges closed", label, len(closed), G.number_of_edges())
    return _without(G, closed, label)


def shift_windows(start_h: float, end_h: float) -> list[tuple[WeekTime, WeekTime]]:
    """Return a daily shift's seven windows of the week (an end past 24 h is the next morning).

    Examples
    --------
    >>> shift_windows(18, 26)[6]
    (WeekTime(weekday=6, hour=18.0), WeekTime(weekday=0, hour=2.0))
    """
    if end_h - start_h >= 24:
        return [(WeekTime(d, 0.0), WeekTime(d, 24.0)) for d in range(7)]
    return [
        (WeekTime(d, float(start_h % 24)), WeekTime((d + int(end_h // 24)) % 7, float(end_h % 24)))
        for d in range(7)
    ]


def network_open_during(
    G: nx.MultiDiGraph, windows: Iterable[tuple[dt.datetime | WeekTime, dt.datetime | WeekTime]]
) -> nx.MultiDiGraph:
    """Return a copy of `G` without the edges closed at any moment of any of the `windows`.

    The network every shift of a week may use when one plan serves all of them: a street
    closed during some shift (weekend evenings, say) is left out on every day.
    """
    closed: set[tuple[Hashable, Hashable, int]] = set()
    for start, end in windows:
        closed |= closed_between(G, start, end)
    log.info("network_open_during: %d of %d edges closed", len(closed), G.number_of_edges())
    return _without(G, closed, "open during every window")


def closure_periods(G: nx.MultiDiGraph) -> list[tuple[int, int]]:
    """Split the week into periods in which the same edges are closed.

    A routing stage needs one matrix per period, not one per hour.

    Returns
    -------
    list
        ``(start, end)`` minutes since Monday 00:00, covering the week in order.
    """
    ordered = cut_points(edge_closures(G).values())
    return list(itertools.pairwise(ordered))


def cut_points(pieces: Iterable[WeeklyIntervals]) -> list[int]:
    """Return 0, `WEEK_MIN` and every minute at which an interval in `pieces` starts or ends.

    Between two successive cuts nothing changes.
    """
    cuts = {0, WEEK_MIN}
    for iv in pieces:
        for s, e in iv:
            cuts.update((s, e))
    return sorted(cuts)
