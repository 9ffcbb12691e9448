"""Road networks of a study area: the truck network and the handcart/walk network.

Both are osmnx graphs (``MultiDiGraph`` with node ``x``/``y`` in degrees, edge ``length`` in metres,
``speed_kph``, ``travel_time`` in seconds), so every osmnx function works on them.

Which way goes in which network is decided on the raw OSM tags of each way by `NetworkRules`, per
vehicle type (`gomrac.geo.restrictions.VehicleProfile`):

* **truck** (`COMPACTOR_TRUCK`, a 12 t compactor truck, 2.3 m wide): ``highway`` in
  `NetworkRules.truck_highways`; not a ``service`` way tagged ``alley``, ``driveway``,
  ``parking_aisle``, ``drive-through`` or ``emergency_access``; the most specific of ``access``,
  ``vehicle``, ``motor_vehicle``, ``motorcar``, ``hgv`` not ``no``/``private``; ``width`` at
  least the truck's width plus its clearance; ``maxwidth``, ``maxweight``, ``maxheight`` not
  below its width, gross weight, height; lanes named Ngõ/Ngách/Hẻm/Kiệt left out when no width
  is mapped. One-way streets are one-way. Pieces of road cut off from the main network (service
  roads reached only through alleys) are unreachable for trucks and left out: the truck network
  is the largest weakly connected component.
* **handcart/walk** (`HANDCART`: residents walking to a gathering point, crews pushing a 660 L
  cart): every ``highway`` way but motorways, trunk roads, steps (unless `cart_allows_steps`)
  and ways not yet built; the most specific of ``access``/``foot`` not ``no``. Both directions
  are open (people on foot).

Time-limited restrictions (``motor_vehicle:conditional=no @ (Sa-Su 18:00-24:00)`` ...) do not
remove an edge: they are stored on it as weekly closed intervals (``closed_weekly``), and
`gomrac.geo.restrictions.network_at` gives the network open at a weekday and hour.
`exclusion_report` says which ways each rule left out, in ways and km.

Speeds are documented assumptions (urban collection trucks in Hai Phong's traffic), configurable
through `NetworkRules.truck_speed_kph` and `cart_speed_kph`; a tagged ``maxspeed`` caps nothing
here because trucks collecting waste rarely reach it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from tqdm.auto import tqdm

from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.crs import METRIC_CRS, WGS84
from gomrac.geo.osm import OsmSource, clip_to_highways, find_source, osmnx_settings, padded_bbox
from gomrac.geo.restrictions import (
    CLOSED_ATTR,
    COMPACTOR_TRUCK,
    HANDCART,
    WEEK_MIN,
    Clause,
    VehicleProfile,
    WeeklyIntervals,
    covers,
    cut_points,
    encode_weekly,
    normalise_weekly,
    parse_conditional,
    parse_length_m,
    parse_weight_t,
)
from gomrac.geo.settings import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gomrac.geo.wards import StudyArea

log = logging.getLogger(__name__)

Mode = Literal["truck", "cart"]

#: The tag rules, in the order a way is checked; each name is a row of `exclusion_report`.
RULES: Final = (
    "highway",
    "area",
    "service",
    "access",
    "width",
    "maxwidth",
    "maxweight",
    "maxheight",
    "name",
    "oneway",
    "conditional",
)
_ACCESS_KEYS = ("access", "vehicle", "motor_vehicle", "motorcar", "hgv", "foot")
_LIMIT_KEYS = ("maxweight", "maxwidth", "maxheight")
#: Ways tags kept on edges (osmnx keeps only `useful_tags_way`): every tag a rule reads.
EDGE_TAGS = (
    "area",
    "bridge",
    "est_width",
    "highway",
    "junction",
    "lanes",
    "maxspeed",
    "name",
    "oneway",
    "oneway:conditional",
    "ref",
    "service",
    "surface",
    "tunnel",
    "width",
    *_ACCESS_KEYS,
    *(f"{k}:conditional" for k in _ACCESS_KEYS),
    *(f"oneway:{k}" for k in _ACCESS_KEYS[1:5]),
    *_LIMIT_KEYS,
    *(f"{k}:conditional" for k in _LIMIT_KEYS),
)
#: Bumped when the way the rules are evaluated changes, so that cached graphs are rebuilt.
_RULES_VERSION = 2

_TRUCK_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
_CART_EXCLUDED = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "construction",
        "proposed",
        "abandoned",
        "bus_guideway",
        "raceway",
        "elevator",
        "platform",
        "escape",
    }
)
#: Urban speeds of a loaded collection truck by road class, km/h (local assumption: Hai Phong's
#: inner-city traffic; trucks stop and start). Override per study area where GPS traces exist.
TRUCK_SPEED_KPH: Mapping[str, float] = {
    "motorway": 60,
    "motorway_link": 40,
    "trunk": 45,
    "trunk_link": 30,
    "primary": 30,
    "primary_link": 25,
    "secondary": 25,
    "secondary_link": 20,
    "tertiary": 20,
    "tertiary_link": 18,
    "unclassified": 15,
    "residential": 15,
    "living_street": 10,
    "service": 10,
    "road": 15,
}
_ONEWAY_YES = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})

Reason = tuple[str, str]  # (rule, what closes the way, e.g. ("width", "width=2.5 < 3.5 m"))
Problem = tuple[str, str, str]  # (tag, value, kind): a tag value a rule could not read


@dataclass(frozen=True)
class Verdict:
    """What the rules say about one edge (one direction of a piece of an OSM way).

    Attributes
    ----------
    reasons
        ``(rule, detail)`` for every rule that closes the edge all week; empty when it is open.
    closed
        Weekly intervals (minutes since Monday 00:00) in which time-limited rules close an open
        edge; empty when it is never closed or when `reasons` closes it for good.
    problems
        ``(tag, value, kind)`` for every tag value that could not be read; the rule that reads
        it then acts as if the tag were absent.
    """

    reasons: tuple[Reason, ...] = ()
    closed: WeeklyIntervals = ()
    problems: tuple[Problem, ...] = ()

    @property
    def is_open(self) -> bool:
        """Whether the edge is in the network (perhaps closed part of the week)."""
        return not self.reasons


@dataclass(frozen=True)
class NetworkRules:
    """Which OSM ways trucks and handcarts may use, when, and how fast they move.

    Every rule is read per vehicle type (`truck`, `cart`) from the tags that decide it, and named
    in `exclusion_report` (the names of `RULES`):

    ``highway``
        ``highway`` in `truck_highways` (trucks); not in `cart_excluded_highways`, nor ``steps``
        unless `cart_allows_steps` (handcarts).
    ``area``
        ``area=yes`` (squares mapped as highways) is closed to trucks.
    ``service``
        ``service`` in `truck_excluded_service` is closed to trucks (``alley`` is how many
        ngõ/ngách are tagged).
    ``access``
        The access keys of the vehicle (`VehicleProfile.keys`, most general first: ``access``,
        ``vehicle``, ``motor_vehicle``, ``motorcar``, ``hgv`` for a truck; ``access``, ``foot``
        for a handcart): the most specific key tagged decides, and a value in
        `VehicleProfile.closed_values` closes the way.
    ``width``
        ``width`` (or ``est_width``) below the vehicle's width plus its clearance
        (`VehicleProfile.min_width_m`).
    ``maxwidth``, ``maxweight``, ``maxheight``
        A legal or physical limit below the vehicle's width, gross weight or height.
    ``name``
        Fallback for lanes nobody measured: when no ``width``, ``est_width`` or ``maxwidth`` can be
        read, a way of a minor class (`alley_name_highways`) whose name begins with one of
        `alley_name_prefixes` (Ngõ, Ngách, Hẻm, Kiệt) is closed to trucks. Set `name_fallback`
        to False to trust the class alone.
    ``oneway``
        A direction-specific one-way (``oneway:motor_vehicle``, ``oneway:motorcar``,
        ``oneway:hgv``, ``oneway:vehicle``) closes the other direction to trucks.
    ``conditional``
        A way closed every minute of the week by time-limited rules, though by no single one.

    Time-limited rules (``<key>:conditional`` of every access key, of ``maxweight``,
    ``maxwidth``, ``maxheight``, and ``oneway:conditional`` for trucks) close an edge in weekly
    intervals, stored on the edge (``closed_weekly``) and read by
    `gomrac.geo.restrictions.network_at`. A tag value that cannot be read (``width=3,5 m``, a
    garbled conditional) is counted and reported; the rule then acts as if it were absent.

    Attributes
    ----------
    truck
        The truck the truck network is for.
    cart
        The handcart (a crew on foot) the handcart/walk network is for.
    truck_highways
        ``highway`` values open to trucks.
    truck_excluded_service
        ``service`` values closed to trucks.
    name_fallback
        Whether the name rule applies.
    alley_name_prefixes
        Lower-case first words of lane names (Vietnamese: ngõ, ngách, hẻm, kiệt).
    alley_name_highways
        Classes the name rule applies to: a mapped class above these says the street carries
        through traffic (Hanoi's old streets named Ngõ Huế or Ngõ Trạm are ``tertiary``).
    apply_conditionals
        Whether time-limited rules are read (False: the network of the base tags only).
    cart_excluded_highways
        ``highway`` values closed to handcarts and pedestrians.
    cart_allows_steps
        Whether the handcart/walk network includes steps (not for carts, by default).
    truck_speed_kph
        Speed per ``highway`` class, km/h.
    truck_fallback_kph
        Speed of a truck on a class not in `truck_speed_kph`.
    cart_speed_kph
        Walking speed pushing a handcart, km/h (3.0: a loaded 660 L cart).
    """

    truck: VehicleProfile = COMPACTOR_TRUCK
    cart: VehicleProfile = HANDCART
    truck_highways: frozenset[str] = _TRUCK_HIGHWAYS
    truck_excluded_service: frozenset[str] = frozenset(
        {"alley", "driveway", "parking_aisle", "drive-through", "emergency_access"}
    )
    name_fallback: bool = True
    alley_name_prefixes: tuple[str, ...] = ("ngõ", "ngách", "hẻm", "kiệt")
    alley_name_highways: frozenset[str] = frozenset(
        {"residential", "service", "unclassified", "living_street", "road"}
    )
    apply_conditionals: bool = True
    cart_excluded_highways: frozenset[str] = _CART_EXCLUDED
    cart_allows_steps: bool = False
    truck_speed_kph: Mapping[str, float] = field(default_factory=lambda: dict(TRUCK_SPEED_KPH))
    truck_fallback_kph: float = 15.0
    cart_speed_kph: float = 3.0

    def verdict(self, tags: Mapping[str, object], mode: Mode, *, reverse: bool = False) -> Verdict:
        """Apply every rule to one edge.

        Parameters
        ----------
        tags
            The way's OSM tags (values may be lists after osmnx simplification: every part must
            be open).
        mode
            ``"truck"`` or ``"cart"``.
        reverse
            Whether the edge runs against the way's drawing direction (osmnx's ``reversed``).

        Returns
        -------
        Verdict
            The reasons that close the edge all week, the weekly intervals in which it is closed
            otherwise, and the tag values that could not be read.
        """
        profile = self.truck if mode == "truck" else self.cart
        problems: list[Problem] = []
        reasons = self._static_reasons(tags, mode, profile, problems)
        if mode == "truck":
            reasons += self._oneway_reasons(tags, reverse, problems)
        timed = _TimedRules.read(tags, profile, mode, reverse, self.apply_conditionals, problems)
        always, closed = timed.evaluate(profile)
        reasons += always
        return Verdict(tuple(reasons), () if reasons else closed, tuple(problems))

    def truck_reason(self, tags: Mapping[str, object]) -> str | None:
        """Why a way is closed to trucks all week, or None when it is open."""
        reasons = self.verdict(tags, "truck").reasons
        return reasons[0][1] if reasons else None

    def cart_reason(self, tags: Mapping[str, object]) -> str | None:
        """Why a way is closed to handcarts and pedestrians all week, or None when it is open."""
        reasons = self.verdict(tags, "cart").reasons
        return reasons[0][1] if reasons else None

    def digest(self) -> str:
        """Return a short hash of the rules, part of every cache key."""
        raw = json.dumps([_RULES_VERSION, asdict(self)], sort_keys=True, default=sorted)
        return hashlib.sha1(raw.encode()).hexdigest()[:10]

    def _static_reasons(
        self,
        tags: Mapping[str, object],
        mode: Mode,
        profile: VehicleProfile,
        problems: list[Problem],
    ) -> list[Reason]:
        reasons: list[Reason] = []
        classes = _values(tags.get("highway"))
        for hw in classes:
            if mode == "truck" and hw not in self.truck_highways:
                reasons.append(("highway", f"highway={hw}"))
            if mode == "cart" and (
                hw in self.cart_excluded_highways or (hw == "steps" and not self.cart_allows_steps)
            ):
                reasons.append(("highway", f"highway={hw}"))
        if mode == "truck":
            if _values(tags.get("area")) == ["yes"]:
                reasons.append(("area", "area=yes"))
            for svc in _values(tags.get("service")):
                if svc in self.truck_excluded_service:
                    reasons.append(("service", f"service={svc}"))
        width_known = False
        for key in ("width", "est_width"):
            for val in _values(tags.get(key)):
                width = _read(key, val, parse_length_m, problems)
                if width is None:
                    continue
                width_known = True
                if width < profile.min_width_m:
                    reasons.append(("width", f"{key}={val} < {profile.min_width_m:g} m"))
        for val in _values(tags.get("maxwidth")):
            width_known |= _read("maxwidth", val, parse_length_m, problems, quiet=True) is not None
        if (
            mode == "truck"
            and self.name_fallback
            and not width_known
            and classes
            and all(hw in self.alley_name_highways for hw in classes)
        ):
            for name in _values(tags.get("name"), lower=False):
                if self._alley_name(name):
                    reasons.append(("name", f"name={name}"))
                    break
        return reasons

    def _alley_name(self, name: str) -> bool:
        first = unicodedata.normalize("NFC", name).strip().lower()
        return any(
            re.match(rf"{re.escape(unicodedata.normalize('NFC', p))}(?:\s|\d|$)", first)
            for p in self.alley_name_prefixes
        )

    def _oneway_reasons(
        self, tags: Mapping[str, object], reverse: bool, problems: list[Problem]
    ) -> list[Reason]:
        value: tuple[str, str] | None = None
        for key in (f"oneway:{k}" for k in self.truck.keys if k != "access"):
            for val in _values(tags.get(key)):
                value = (key, val)
        if value is None:
            return []
        key, val = value
        base = _values(tags.get("oneway"))
        if val in _ONEWAY_YES and reverse:
            return [("oneway", f"{key}={val}")]
        if val in _ONEWAY_REVERSE and not reverse:
            return [("oneway", f"{key}={val}")]
        if val == "no" and any(b in _ONEWAY_YES | _ONEWAY_REVERSE for b in base):
            # osmnx built only the tagged direction; opening the other one is not done here
            problems.append((key, val, "not applied"))
        elif val not in _ONEWAY_YES | _ONEWAY_REVERSE | {"no"}:
            problems.append((key, val, "unreadable"))
        return []


def _read(
    key: str,
    value: str,
    parse: Callable[[str], float],
    problems: list[Problem],
    *,
    quiet: bool = False,
) -> float | None:
    """Parse a tag value; an unreadable one is recorded in `problems` and read as absent."""
    try:
        return parse(value)
    except ValueError:
        if not quiet:
            problems.append((key, value, "unreadable"))
        return None


@dataclass
class _TimedRules:
    """The rules whose answer may change over the week: access keys, limits, oneway:conditional.

    Each rule has a base value (the plain tag) and clauses (its ``:conditional`` tag); at any
    minute the rightmost clause that holds replaces the base value.
    """

    access: list[tuple[str, list[str], tuple[Clause, ...]]]
    limits: list[tuple[str, list[tuple[float, str]], tuple[Clause, ...], float]]
    oneway: tuple[Clause, ...]
    reverse: bool

    @classmethod
    def read(
        cls,
        tags: Mapping[str, object],
        profile: VehicleProfile,
        mode: Mode,
        reverse: bool,
        conditionals: bool,
        problems: list[Problem],
    ) -> _TimedRules:
        def clauses(key: str, kind: str) -> tuple[Clause, ...]:
            if not conditionals:
                return ()
            found: list[Clause] = []
            for text in _values(tags.get(f"{key}:conditional"), lower=False, split=False):
                parsed = parse_conditional(text, value_kind=kind)
                found.extend(parsed.clauses)
                problems.extend((f"{key}:conditional", p, k) for k, p in parsed.problems)
            return tuple(found)

        access = [(k, _values(tags.get(k)), clauses(k, "access")) for k in profile.keys]
        limits: list[tuple[str, list[tuple[float, str]], tuple[Clause, ...], float]] = []
        sizes = {
            "maxweight": (parse_weight_t, profile.gross_weight_t, "weight"),
            "maxwidth": (parse_length_m, profile.width_m, "length"),
            "maxheight": (parse_length_m, profile.height_m, "length"),
        }
        for key, (parse, size, kind) in sizes.items():
            if size is None:
                continue
            base = [(_read(key, v, parse, problems), v) for v in _values(tags.get(key))]
            read = [(b, v) for b, v in base if b is not None]
            limits.append((key, read, clauses(key, kind), size))
        oneway = clauses("oneway", "access") if mode == "truck" else ()
        for c in oneway:
            if c.value not in _ONEWAY_YES | _ONEWAY_REVERSE:
                clause = f"{c.value} @ ({c.condition})"
                problems.append(("oneway:conditional", clause, "not applied"))
        return cls(access, limits, oneway, reverse)

    def evaluate(self, profile: VehicleProfile) -> tuple[list[Reason], WeeklyIntervals]:
        """Return the reasons that hold all week and the intervals in which the edge is closed."""
        windows = [
            [(c, c.applies(profile)) for c in cl]
            for cl in [a[2] for a in self.access] + [lim[2] for lim in self.limits] + [self.oneway]
        ]
        cuts = cut_points(w for group in windows for _, w in group)
        always: set[str] | None = None
        details: dict[str, list[str]] = {}
        closed: list[tuple[int, int]] = []
        for start, end in itertools.pairwise(cuts):
            found = self._reasons_at(start, profile)
            if found:
                closed.append((start, end))
            for rule, detail in found:
                details.setdefault(rule, []).append(detail)
            always = {r for r, _ in found} if always is None else always & {r for r, _ in found}
        if closed and normalise_weekly(closed) == ((0, WEEK_MIN),):
            # closed all week: by the rules that hold all week, or by several in turn
            if not always:
                return [("conditional", "closed all week by time-limited rules")], ()
            return [(r, "; ".join(dict.fromkeys(details[r]))) for r in sorted(always)], ()
        return [], normalise_weekly(closed)

    def _reasons_at(self, minute: int, profile: VehicleProfile) -> list[Reason]:
        found: list[Reason] = []
        decided: tuple[str, list[str], str] | None = None
        for key, base, clauses in self.access:
            values, how = base, ""
            for c in clauses:
                if covers(c.applies(profile), minute):
                    values, how = [c.value], f" @ ({c.condition})"
            if values:
                decided = (key, values, how)
        if decided is not None:
            key, values, how = decided
            for v in values:
                if v in profile.closed_values:
                    found.append(("access", f"{key}={v}{how}"))
                    break
        for key, base_limits, clauses, size in self.limits:
            (limit, text), how = min(base_limits, default=(float("inf"), "")), ""
            for c in clauses:
                if covers(c.applies(profile), minute):
                    limit, text, how = _limit_of(key, c.value), c.value, f" @ ({c.condition})"
            if limit < size:
                unit = "t" if key == "maxweight" else "m"
                shown = text if _is_plain(text) else f"{text} ({limit:.3g} {unit})"
                found.append((key, f"{key}={shown} < {size:g} {unit}{how}"))
        for c in self.oneway:
            if covers(c.applies(profile), minute) and (
                (c.value in _ONEWAY_YES and self.reverse)
                or (c.value in _ONEWAY_REVERSE and not self.reverse)
            ):
                found.append(("oneway", f"oneway={c.value} @ ({c.condition})"))
        return found


def _is_plain(text: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)?", text.strip()) is not None


def _limit_of(key: str, value: str) -> float:
    # values were checked by parse_conditional(value_kind=...)
    return parse_weight_t(value) if key == "maxweight" else parse_length_m(value)


def _values(value: object, *, lower: bool = True, split: bool = True) -> list[str]:
    """Return the values of a tag: osmnx lists, or ``;``-separated OSM multi-values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    items = [str(v) for v in value] if isinstance(value, list | tuple | set) else [str(value)]
    if split:
        items = [p for v in items for p in v.split(";")]
    return [v.strip().lower() if lower else v.strip() for v in items if v.strip()]


@dataclass(frozen=True)
class Networks:
    """The two networks of a study area and where they came from."""

    truck: nx.MultiDiGraph
    cart: nx.MultiDiGraph
    source: OsmSource
    from_cache: bool
    build_s: float
    truck_area: BaseGeometry  # EPSG:4326, the area the truck network covers
    cart_area: BaseGeometry


def truck_area_for(
    area: StudyArea,
    facilities: gpd.GeoDataFrame | None,
    *,
    buffer_m: float,
    max_facility_km: float = 40.0,
) -> BaseGeometry:
    """Return the area a ward's truck network must cover.

    That is the ward, its buffer, and the way to its facilities: facilities within
    `max_facility_km` of the ward are joined to it by the buffered convex hull, so that the
    network reaches Tràng Cát from Lê Chân.
    """
    ward = area.to_gdf().to_crs(METRIC_CRS).geometry.iloc[0]
    parts = [ward.buffer(buffer_m)]
    if facilities is not None and len(facilities):
        pts = facilities.to_crs(METRIC_CRS).geometry
        near = pts[pts.distance(ward) <= max_facility_km * 1000]
        if len(near):
            parts.append(shapely.union_all([ward, *near]).convex_hull.buffer(1000))
    metric = shapely.union_all(parts)
    return gpd.GeoSeries([metric], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def cart_area_for(area: StudyArea, *, buffer_m: float) -> BaseGeometry:
    """Return the area of the handcart/walk network: the ward and a walking buffer."""
    ward = area.to_gdf().to_crs(METRIC_CRS).geometry.iloc[0]
    return gpd.GeoSeries([ward.buffer(buffer_m)], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def networks_for(
    area: StudyArea,
    *,
    settings: Settings,
    facilities: gpd.GeoDataFrame | None = None,
    osm_path: str | Path | None = None,
    rules: NetworkRules | None = None,
    buffer_m: float = 500.0,
    refresh: bool = False,
    progress: bool = False,
) -> Networks:
    """Build (or read from the cache) the truck and handcart networks of a study area.

    Parameters
    ----------
    area
        The ward or boundary.
    facilities
        Facilities the trucks drive to (EPSG:4326); the truck network is extended to reach them.
    osm_path
        A local OSM file to use instead of searching the data folders.
    rules
        Which ways each network takes; the documented defaults when None.
    buffer_m
        Buffer around the ward, metres, so that routes and walks near the boundary are right.
    refresh
        Rebuild even when a cached graph exists.
    progress
        Show a progress bar on stderr.

    Returns
    -------
    Networks
        Both graphs, the source used and whether they came from the cache.

    Raises
    ------
    DataNotFoundError
        When no OSM data covers the area and Overpass cannot be reached (the message says how to
        get an extract).
    """
    rules = rules or NetworkRules()
    t0 = time.perf_counter()
    truck_area = truck_area_for(area, facilities, buffer_m=buffer_m)
    cart_area = cart_area_for(area, buffer_m=buffer_m)
    # An extract that covers the ward but not the road to the facilities still serves the
    # walking analyses; routing then says which facility is off the network.
    source = find_source(area.geometry, settings=settings, wanted_wgs84=truck_area, path=osm_path)
    key = _cache_key(area, source, rules, truck_area)
    folder = settings.osm_cache_dir / area.slug
    truck_file, cart_file = folder / f"truck-{key}.graphml", folder / f"cart-{key}.graphml"
    if truck_file.exists() and cart_file.exists() and not refresh:
        truck = ox.load_graphml(truck_file, graph_dtypes=_GRAPH_DTYPES)
        cart = ox.load_graphml(cart_file, graph_dtypes=_GRAPH_DTYPES)
        log.info("networks_for %s: read from cache %s", area.name, key)
        return Networks(truck, cart, source, True, time.perf_counter() - t0, truck_area, cart_area)
    steps = tqdm(total=4, desc=f"road networks {area.slug}", disable=not progress, unit="step")
    raw = _raw_graph(
        source, truck_area, folder / f"_clip-{key}.osm", settings=settings, refresh=refresh
    )
    steps.update()
    truck = _subnetwork(raw, truck_area, rules, "truck")
    steps.update()
    cart = _subnetwork(raw, cart_area, rules, "cart")
    steps.update()
    folder.mkdir(parents=True, exist_ok=True)
    _save_atomic(truck, truck_file)
    _save_atomic(cart, cart_file)
    steps.update()
    steps.close()
    dt = time.perf_counter() - t0
    log.info(
        "networks_for %s: truck %d nodes/%d edges, cart %d/%d from %s in %.1f s",
        area.name,
        len(truck),
        truck.number_of_edges(),
        len(cart),
        cart.number_of_edges(),
        source.label,
        dt,
    )
    return Networks(truck, cart, source, False, dt, truck_area, cart_area)


def _save_atomic(G: nx.MultiDiGraph, path: Path) -> None:
    """Write a GraphML file so that a concurrent reader never sees it half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ox.save_graphml(G, tmp)
    os.replace(tmp, path)


def _cache_key(
    area: StudyArea, source: OsmSource, rules: NetworkRules, truck_area: BaseGeometry
) -> str:
    area_hash = hashlib.sha1(shapely.to_wkb(truck_area.simplify(1e-5))).hexdigest()[:8]
    return f"{source.cache_key()}-{rules.digest()}-{area_hash}"


def _raw_graph(
    source: OsmSource,
    area: BaseGeometry,
    clip_file: Path,
    *,
    settings: Settings,
    refresh: bool = False,
) -> nx.MultiDiGraph:
    """Build the unsimplified, directed graph of every highway way in `area`.

    One-ways are respected. With `refresh`, osmnx downloads again instead of answering from its
    HTTP cache, and a local extract is clipped again.
    """
    # keep the tags `NetworkRules` reads on the edges (osmnx keeps only `useful_tags_way`)
    if refresh and source.kind == "overpass":
        # osmnx would answer from its HTTP cache: drop the kept answers so they are fetched anew
        shutil.rmtree(settings.osm_cache_dir / "_overpass", ignore_errors=True)
    with osmnx_settings(settings, useful_tags_way=list(EDGE_TAGS)):
        if source.kind == "graphml":
            assert source.path is not None
            G = ox.load_graphml(source.path)
        elif source.kind == "overpass":
            # every highway way, private ones included: `NetworkRules` decides, not osmnx
            G = ox.graph_from_polygon(
                area, network_type="all", simplify=False, retain_all=True, truncate_by_edge=True
            )
        else:
            if refresh or not clip_file.exists():
                clip_to_highways(source, padded_bbox(area, 0.005), clip_file)
            G = ox.graph_from_xml(clip_file, bidirectional=False, simplify=False, retain_all=True)
    return G


# GraphML stores graph attributes as text; these are read back as numbers.
_GRAPH_DTYPES = {
    "gomrac_cart_kph": float,
    "gomrac_unreachable_nodes": int,
    "gomrac_unreadable_ways": int,
    "gomrac_time_limited_edges": int,
}


def edge_verdicts(
    raw: nx.MultiDiGraph, rules: NetworkRules, mode: Mode
) -> dict[tuple[int, int, int], Verdict]:
    """Apply the rules to every edge of an unsimplified osmnx graph.

    Parameters
    ----------
    raw
        A graph as `ox.graph_from_xml(..., simplify=False)` builds it, with the tags of
        `EDGE_TAGS` on its edges.
    rules
        The rules.
    mode
        ``"truck"`` or ``"cart"``.

    Returns
    -------
    dict
        ``(u, v, key)`` to the edge's `Verdict` (computed once per way and direction).
    """
    memo: dict[tuple[str, bool], Verdict] = {}
    out: dict[tuple[int, int, int], Verdict] = {}
    for u, v, k, d in raw.edges(keys=True, data=True):
        rev = d.get("reversed", False)
        reverse = bool(any(rev) if isinstance(rev, list) else rev)
        memo_key = (str(d.get("osmid")), reverse)
        if memo_key not in memo:
            memo[memo_key] = rules.verdict(d, mode, reverse=reverse)
        out[(u, v, k)] = memo[memo_key]
    return out


def _subnetwork(
    raw: nx.MultiDiGraph, area: BaseGeometry, rules: NetworkRules, mode: Mode
) -> nx.MultiDiGraph:
    verdicts = edge_verdicts(raw, rules, mode)
    keep = [e for e, verdict in verdicts.items() if verdict.is_open]
    G = nx.MultiDiGraph(raw.edge_subgraph(keep))
    G.graph = dict(raw.graph)
    if len(G) == 0:
        msg = f"no {mode} roads in the OSM data for this area"
        raise DataNotFoundError(msg)
    for e in keep:
        if verdicts[e].closed:
            G.edges[e][CLOSED_ATTR] = encode_weekly(verdicts[e].closed)
    unreadable = {
        str(raw.edges[e].get("osmid")) for e, verdict in verdicts.items() if verdict.problems
    }
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    if mode == "cart":
        _make_two_way(G)
    else:
        # Service roads reached only through alleys form islands no truck can get to: drop them.
        before = len(G)
        G = ox.truncate.largest_component(G, strongly=False)
        G.graph["gomrac_unreachable_nodes"] = before - len(G)
    if not G.graph.get("simplified", False):
        # a node where a time-limited closure starts or ends stays a node
        G = ox.simplify_graph(G, edge_attrs_differ=[CLOSED_ATTR])
    G.graph["gomrac_mode"] = mode
    G.graph["gomrac_rules"] = rules.digest()
    G.graph["gomrac_unreadable_ways"] = len(unreadable)
    G.graph["gomrac_time_limited_edges"] = sum(
        1 for _, _, c in G.edges(data=CLOSED_ATTR) if c is not None
    )
    if unreadable:
        log.warning(
            "%s network: %d ways have tag values the rules cannot read (see exclusion_report)",
            mode,
            len(unreadable),
        )
    if mode == "truck":
        G = ox.routing.add_edge_speeds(
            G, hwy_speeds=dict(rules.truck_speed_kph), fallback=rules.truck_fallback_kph
        )
        # osmnx takes a tagged maxspeed first; trucks collecting waste stay at the class speed.
        for _, _, d in G.edges(data=True):
            classes = d["highway"] if isinstance(d["highway"], list) else [d["highway"]]
            speeds = [rules.truck_speed_kph.get(h, rules.truck_fallback_kph) for h in classes]
            d["speed_kph"] = min(float(d["speed_kph"]), sum(speeds) / len(speeds))
    else:
        G.graph["gomrac_cart_kph"] = rules.cart_speed_kph
        for _, _, d in G.edges(data=True):
            d["speed_kph"] = rules.cart_speed_kph
    return ox.routing.add_edge_travel_times(G)


def _make_two_way(G: nx.MultiDiGraph) -> None:
    """Add the reverse of every edge that has none (people on foot ignore one-way signs)."""
    missing = [(v, u, dict(d)) for u, v, d in G.edges(data=True) if not G.has_edge(v, u)]
    for v, u, d in missing:
        d["reversed"] = not d.get("reversed", False)
        G.add_edge(v, u, **d)
    for _, _, d in G.edges(data=True):
        d["oneway"] = False


def largest_scc_share(G: nx.MultiDiGraph) -> float:
    """Share of nodes in the largest strongly connected component (1.0 for an empty graph)."""
    if len(G) == 0:
        return 1.0
    return max(len(c) for c in nx.strongly_connected_components(G)) / len(G)


def routable(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Keep the largest strongly connected component: every node reaches every other node."""
    return ox.truncate.largest_component(G, strongly=True)


def edges_gdf(G: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """Return the edges of a graph as a GeoDataFrame in EPSG:4326 (u, v, key index)."""
    return ox.convert.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True)


def road_km_within(G: nx.MultiDiGraph, polygon_wgs84: BaseGeometry) -> float:
    """Kilometres of street centre-line of `G` in a polygon, each two-way street counted once.

    A two-way street is an edge each way between the same two nodes along the same line (the
    same length and middle point): one of the two is kept, as ``osmnx.convert.to_undirected``
    does, without building the undirected graph.
    """
    edges = ox.convert.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True)
    if edges.empty:
        return 0.0
    u = edges.index.get_level_values("u").to_numpy()
    v = edges.index.get_level_values("v").to_numpy()
    middle = shapely.line_interpolate_point(edges.geometry.to_numpy(), 0.5, normalized=True)
    pair = pd.DataFrame(
        {
            "a": np.minimum(u, v),
            "b": np.maximum(u, v),
            "length": np.round(edges["length"].to_numpy(dtype=float), 1),
            "x": np.round(shapely.get_x(middle), 7),
            "y": np.round(shapely.get_y(middle), 7),
        }
    )
    once = edges[~pair.duplicated().to_numpy()].to_crs(METRIC_CRS)
    poly = gpd.GeoSeries([polygon_wgs84], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    return float(once.geometry.intersection(poly).length.sum() / 1000)


@dataclass(frozen=True)
class ExclusionReport:
    """Which ways each tag rule left out of the truck and handcart networks.

    Attributes
    ----------
    summary
        One row per mode and rule: ``ways`` and ``km`` (centre-line kilometres) the rule closes
        all week, ``only_ways`` and ``only_km`` closed by that rule alone (what loosening it
        would add back). Rows ``time-limited`` (kept, closed part of the week), ``cut off``
        (open but not connected to the truck network), ``kept`` and ``all`` follow.
    ways
        One row per mode and excluded way: ``osmid``, ``name``, ``highway``, ``rules``
        (``;``-separated), ``detail`` and ``km``.
    problems
        One row per tag value the rules could not read: ``mode``, ``tag``, ``value``, ``kind``
        (``unreadable``, ``syntax``, ``date-limited``, ``unsupported``, ``not applied``) and the
        number of ``ways`` carrying it.
    """

    summary: pd.DataFrame
    ways: pd.DataFrame
    problems: pd.DataFrame


def exclusion_report(
    area: StudyArea,
    *,
    settings: Settings,
    facilities: gpd.GeoDataFrame | None = None,
    osm_path: str | Path | None = None,
    rules: NetworkRules | None = None,
    buffer_m: float = 500.0,
) -> ExclusionReport:
    """Report which ways each rule excluded from a study area's truck and handcart networks.

    Parameters
    ----------
    area
        The ward or boundary.
    facilities
        Facilities the trucks drive to (EPSG:4326), as for `networks_for`.
    osm_path
        A local OSM file to use instead of searching the data folders.
    rules
        The rules; the documented defaults when None.
    buffer_m
        Buffer around the ward, metres, as for `networks_for`.

    Returns
    -------
    ExclusionReport
        Ways and km per rule and mode, the excluded ways, and the unreadable tag values.
    """
    rules = rules or NetworkRules()
    truck_area = truck_area_for(area, facilities, buffer_m=buffer_m)
    cart_area = cart_area_for(area, buffer_m=buffer_m)
    source = find_source(area.geometry, settings=settings, wanted_wgs84=truck_area, path=osm_path)
    key = _cache_key(area, source, rules, truck_area)
    raw = _raw_graph(
        source,
        truck_area,
        settings.osm_cache_dir / area.slug / f"_clip-{key}.osm",
        settings=settings,
    )
    return rule_exclusions(raw, {"truck": truck_area, "cart": cart_area}, rules)


def rule_exclusions(
    raw: nx.MultiDiGraph, areas: Mapping[Mode, BaseGeometry], rules: NetworkRules
) -> ExclusionReport:
    """Count, per rule, the ways and km it excludes from the raw graph within each mode's area.

    Parameters
    ----------
    raw
        The unsimplified graph of every highway way (as `networks_for` builds it).
    areas
        The area of each mode's network (EPSG:4326).
    rules
        The rules.

    Returns
    -------
    ExclusionReport
        See `ExclusionReport`.
    """
    summary: list[dict[str, object]] = []
    ways: list[dict[str, object]] = []
    problems: dict[tuple[str, str, str, str], set[int]] = {}
    for mode, polygon in areas.items():
        G = ox.truncate.truncate_graph_polygon(raw, polygon, truncate_by_edge=True)
        verdicts = edge_verdicts(G, rules, mode)
        data = {e: G.edges[e] for e in verdicts}

        tally = _Tally(mode, {e: G.edges[e] for e in verdicts}, summary)
        data = tally.data
        row = tally.row
        for rule in RULES:
            hit = [e for e, v in verdicts.items() if any(r == rule for r, _ in v.reasons)]
            only = [e for e in hit if {r for r, _ in verdicts[e].reasons} == {rule}]
            row(rule, hit, only)
        open_edges = [e for e, v in verdicts.items() if v.is_open]
        row("time-limited", [e for e in open_edges if verdicts[e].closed])
        kept = open_edges
        if mode == "truck" and open_edges:
            main = max(nx.weakly_connected_components(G.edge_subgraph(open_edges)), key=len)
            row("cut off", [e for e in open_edges if e[0] not in main])
            kept = [e for e in open_edges if e[0] in main]
        row("kept", kept)
        row("all", list(verdicts))
        by_way: dict[str, list[tuple[int, int, int]]] = {}
        for e, v in verdicts.items():
            if v.reasons:
                by_way.setdefault(str(data[e]["osmid"]), []).append(e)
            for tag, value, kind in v.problems:
                problems.setdefault((mode, tag, value, kind), set()).add(int(str(data[e]["osmid"])))
        for osmid, edges in sorted(by_way.items()):
            d, reasons = data[edges[0]], verdicts[edges[0]].reasons
            ways.append(
                {
                    "mode": mode,
                    "osmid": int(osmid),
                    "name": d.get("name", ""),
                    "highway": d.get("highway", ""),
                    "rules": ";".join(dict.fromkeys(r for r, _ in reasons)),
                    "detail": "; ".join(detail for _, detail in reasons),
                    "km": tally.km(edges),
                }
            )
    problem_rows = [
        {"mode": m, "tag": t, "value": v, "kind": k, "ways": len(ids)}
        for (m, t, v, k), ids in sorted(problems.items())
    ]
    log.info(
        "rule_exclusions: %d excluded ways, %d unreadable tag values",
        len(ways),
        len(problem_rows),
    )
    return ExclusionReport(
        pd.DataFrame(summary).astype({"ways": "int64", "only_ways": "Int64"}),
        pd.DataFrame(ways, columns=["mode", "osmid", "name", "highway", "rules", "detail", "km"]),
        pd.DataFrame(problem_rows, columns=["mode", "tag", "value", "kind", "ways"]),
    )


Edge = tuple[int, int, int]


@dataclass
class _Tally:
    """Counts ways and centre-line km of sets of edges of one mode, for `rule_exclusions`."""

    mode: Mode
    data: dict[Edge, dict[str, object]]
    rows: list[dict[str, object]]

    def km(self, edges: list[Edge]) -> float:
        """Return centre-line km: each piece of way once, whichever directions are in `edges`."""
        segs = {
            (min(u, v), max(u, v), str(self.data[(u, v, k)]["osmid"])): (u, v, k)
            for u, v, k in edges
        }
        return round(sum(_length(self.data[e]) for e in segs.values()) / 1000, 3)

    def ways(self, edges: list[Edge]) -> int:
        """Count the OSM ways among `edges`."""
        return len({str(self.data[e]["osmid"]) for e in edges})

    def row(self, rule: str, edges: list[Edge], only: list[Edge] | None = None) -> None:
        """Add a summary row."""
        entry: dict[str, object] = {
            "mode": self.mode,
            "rule": rule,
            "ways": self.ways(edges),
            "km": self.km(edges),
        }
        if only is not None:
            entry.update({"only_ways": self.ways(only), "only_km": self.km(only)})
        self.rows.append(entry)


def _length(d: Mapping[str, object]) -> float:
    length = d.get("length", 0.0)
    return float(length) if isinstance(length, int | float | str) else 0.0
