"""GeoJSON layers of a ward plan under ``/api/layers``: the data behind the map pages.

``GET /api/layers/{key}`` lists the layers of a plan (titles in Vietnamese and English, the
fields a pop-up shows, whether a layer is the Hanoi sample or synthetic, feature counts);
``GET /api/layers/{key}/{layer}.geojson`` answers one layer as an RFC 7946 FeatureCollection
(EPSG:4326, coordinates rounded to 6 decimals, about 0.1 m), filtered by ``bbox`` (``minlon,
minlat,maxlon,maxlat``), paged by ``page`` (from 1) and ``page_size`` (at most
`MAX_PAGE_SIZE`). The page's counts and the next page's address are foreign members
(``numberMatched``, ``numberReturned``, ``next``), as OGC API Features names them.

The large layers (streets, buildings, groups, points, routes) are also served as Mapbox Vector
Tiles, ``GET /api/layers/{key}/tiles/{layer}/{z}/{x}/{y}.mvt`` (XYZ scheme, Web Mercator; see
`gomrac.api.web.tiles`): the same features, ids and properties as the GeoJSON, clipped and
simplified per zoom, with an ``ETag``; an empty tile answers 204, a bad ``z``/``x``/``y`` 400.

The routes and stops layers are those of one service day of the weekly plan
(`gomrac.analysis.weekly.WeeklyPlan`): ``day`` (0 = Monday, the default) and ``stream``
(``food``, ``recyclable``, ``residual``; all streams when omitted). Vehicle names are per stream
(``TP-1``, ``TC-1``, ``CL-1``); each vehicle of a plan has its own colour (`vehicle_colours`).

``key`` is a ward's official 5-digit code, or ``sample`` for the central-Hanoi sample. The plan
behind a key comes from `plan_for`, the one function to swap when plans are stored in the
database: for now a plan is kept in memory per app (`register_plan`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import re
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from shapely.geometry import box, mapping
from sqlalchemy.exc import SQLAlchemyError

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.api.web import tiles
from gomrac.api.web.schemas import Detail
from gomrac.geo.crs import WGS84
from gomrac.geo.network import edges_gdf

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from fastapi import FastAPI
    from starlette.datastructures import State

    from gomrac.api.planning import WardPlan

router = APIRouter(prefix="/api/layers", tags=["layers"])

#: The largest page a layer request may ask for (features).
MAX_PAGE_SIZE: Final = 5000
#: The page size when none is asked for (features).
DEFAULT_PAGE_SIZE: Final = 2000
#: Decimals of the coordinates served (6 decimals ≈ 0.11 m at the equator).
COORDINATE_DECIMALS: Final = 6
#: The key of the central-Hanoi sample plan.
log = logging.getLogger(__name__)

SAMPLE_KEY: Final = "sample"
#: Seconds between two looks at the database for a newer finished plan run of a ward.
STORED_PLAN_CHECK_S: Final = 5.0
_KEY: Final = re.compile(r"sample|\d{5}")
GEOJSON_MEDIA_TYPE: Final = "application/geo+json"

#: Qualitative colours for vehicles: 24 distinguishable hues (Kelly's 22 without white and
#: black, the strongest first, then two greys); vehicles beyond 24 repeat them, and the map
#: filters vehicles one by one.
TRUCK_COLOURS: Final = (
    "#BE0032",
    "#0067A5",
    "#008856",
    "#875692",
    "#F38400",
    "#882D17",
    "#E68FAC",
    "#604E97",
    "#B3446C",
    "#2B3D26",
    "#654522",
    "#E25822",
    "#8DB600",
    "#A1CAF1",
    "#F99379",
    "#C2B280",
    "#848482",
    "#F6A600",
    "#DCD300",
    "#F3C300",
    "#17BECF",
    "#1F77B4",
    "#555555",
    "#AAAAAA",
)

SAMPLE_BADGE: Final = "MẪU HÀ NỘI / Hanoi sample"
SYNTHETIC_BADGE: Final = "SYNTHETIC"


#: Weekday names of the service days (0 = Monday), Vietnamese and English.
WEEKDAYS_VI: Final = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAYS_EN: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: English names of the waste streams (the Vietnamese ones come with the plan).
STREAM_EN: Final = {"food": "food waste", "recyclable": "recyclables", "residual": "residual waste"}


@dataclass(frozen=True)
class Selection:
    """Which part of the weekly plan a routes or stops layer shows.

    ``stream`` None means every stream; ``day`` is the service day, 0 = Monday.
    """

    stream: str | None = None
    day: int = 0


def vehicle_colours(vehicles: Iterable[str]) -> dict[str, str]:
    """Give each vehicle its own colour from `TRUCK_COLOURS`, in a stable order.

    Vehicles are ordered by name with their numbers compared as numbers (``CL-2`` before
    ``CL-10``), so the same plan always gets the same colours; the first 24 are all different.

    Examples
    --------
    >>> vehicle_colours(["TP-1", "CL-1", "CL-2"])
    {'CL-1': '#BE0032', 'CL-2': '#0067A5', 'TP-1': '#008856'}
    """
    ordered = sorted(set(vehicles), key=_vehicle_order)
    return {v: TRUCK_COLOURS[i % len(TRUCK_COLOURS)] for i, v in enumerate(ordered)}


def plan_vehicle_colours(plan: WardPlan) -> dict[str, str]:
    """Return the colour of every vehicle of a plan's week (built once per plan)."""
    cache = plan_cache(plan)
    if "colours" not in cache:
        week = plan.week
        names = [*week.routes["vehicle"].astype(str), *week.visits["vehicle"].astype(str)]
        cache["colours"] = vehicle_colours(names)
    colours: dict[str, str] = cache["colours"]
    return colours


@dataclass(frozen=True)
class LayerSpec:
    """A layer of the map: its titles, the fields a pop-up shows and how it is built."""

    name: str
    title_vi: str
    title_en: str
    # (property, label in Vietnamese, label in English[, property for English pages])
    fields: tuple[tuple[str, ...], ...]
    build: Callable[[WardPlan, Selection], gpd.GeoDataFrame]
    road_based: bool = True  # drawn from the road extract: labelled as the sample when it is one
    synthetic: Callable[[WardPlan], bool] = lambda _plan: False
    shown: bool = True  # on when the map opens


# --- where plans come from ------------------------------------------------------------------


def register_plan(app: FastAPI, key: str, plan: WardPlan, *, week_dir: Path | None = None) -> None:
    """Keep `plan` in the app's memory under `key` (a ward code, or ``sample``).

    `week_dir` is the folder `gomrac.api.weekly.write_week` wrote the plan's week into (``week/``
    of ``gomrac plan``'s output), when it was written: the residents' page then links each
    group's calendar file from it.
    """
    if not _KEY.fullmatch(key):
        msg = f"plan key {key!r} must be a 5-digit ward code or {SAMPLE_KEY!r}"
        raise ValidationError(msg)
    plans: dict[str, WardPlan] = getattr(app.state, "ward_plans", None) or {}
    plans[key] = plan
    app.state.ward_plans = plans
    registered: dict[str, float] = getattr(app.state, "ward_plans_at", None) or {}
    registered[key] = time.time()
    app.state.ward_plans_at = registered
    folders: dict[str, Path] = getattr(app.state, "ward_plan_dirs", None) or {}
    folders.pop(key, None)
    if week_dir is not None:
        folders[key] = Path(week_dir)
    app.state.ward_plan_dirs = folders


def week_dir_for(state: State, key: str) -> Path | None:
    """Return the folder the shown plan's week was written into, or None when it was not."""
    if not _KEY.fullmatch(key):
        return None
    stored = _stored_plan(state, key)
    if stored is not None:
        return stored[1] / "week"
    folders: dict[str, Path] = getattr(state, "ward_plan_dirs", None) or {}
    return folders.get(key)


def plan_for(state: State, key: str) -> WardPlan | None:
    """Return the plan of a ward code (or ``sample``), or None when there is none.

    The one place the web pages get a plan from: the ward's newest finished plan run in the
    database (`gomrac.api.plan_runs.load_ward_plan`), unless a plan registered in this server
    (`register_plan`, ``gomrac serve --plan``) is newer.
    """
    if not _KEY.fullmatch(key):
        return None
    stored = _stored_plan(state, key)
    if stored is not None:
        return stored[0]
    plans: dict[str, WardPlan] = getattr(state, "ward_plans", None) or {}
    return plans.get(key)


_STORED_LOCK: Final = threading.Lock()


def _stored_plan(state: State, key: str) -> tuple[WardPlan, Path] | None:
    """Return the ward's newest finished plan run and its folder, or None.

    None too when a plan registered here is newer. The database is looked at most every
    `STORED_PLAN_CHECK_S` per ward.
    """
    from gomrac.api.plan_runs import load_ward_plan

    engine, settings = getattr(state, "engine", None), getattr(state, "settings", None)
    if engine is None or settings is None:
        return None
    with _STORED_LOCK:
        # the plans read (run id, plan, folder, finished) and when each ward was last looked at,
        # a ward with no finished run included: the database is not asked on every request
        held: dict[str, tuple[int, WardPlan, Path, float]] = (
            getattr(state, "stored_plans", None) or {}
        )
        looked: dict[str, float] = getattr(state, "stored_plans_looked", None) or {}
        state.stored_plans, state.stored_plans_looked = held, looked
        now = time.monotonic()
        if now - looked.get(key, -math.inf) >= STORED_PLAN_CHECK_S:
            looked[key] = now
            old = held.get(key)
            try:
                found = load_ward_plan(engine, settings, key, known=old[0] if old else None)
            except (OSError, SQLAlchemyError, pickle.UnpicklingError) as exc:
                log.warning("the stored plan of %s cannot be read: %s", key, exc)
                found = None if old is None else (old[0], None, old[2], old[3])
            if found is None:
                held.pop(key, None)
            else:
                run_id, plan, folder, finished = found
                plan = plan if plan is not None else (old[1] if old is not None else None)
                if plan is not None:
                    held[key] = (run_id, plan, folder, finished)
        entry = held.get(key)
    if entry is None:
        return None
    registered: dict[str, float] = getattr(state, "ward_plans_at", None) or {}
    if registered.get(key, -math.inf) > entry[3]:
        return None  # a plan registered in this server after the run finished
    return entry[1], entry[2]


def require_plan(state: State, key: str) -> WardPlan:
    """Return the plan of `key`, or raise `DataNotFoundError` (404) saying how to make one."""
    plan = plan_for(state, key)
    if plan is None:
        msg = (
            f"no plan for {key!r}: the ward has no plan in this server yet "
            "(give a 5-digit ward code, or 'sample' for the Hanoi sample)"
        )
        raise DataNotFoundError(msg)
    return plan


# --- the layers -------------------------------------------------------------------------------


def _frame(rows: pd.DataFrame | dict[str, Any], geometry: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=WGS84)


def _boundary(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    area = plan.data.area
    return _frame({"name": [area.name], "area_km2": [round(area.area_km2, 3)]}, [area.geometry])


def _streets(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    nets = plan.data.networks
    if nets is None:
        return _frame({"name": [], "access": []}, [])
    truck = edges_gdf(nets.truck)
    cart = edges_gdf(nets.cart)
    truck_ways = {w for ids in truck["osmid"] for w in (ids if isinstance(ids, list) else [ids])}
    cart_only = cart[
        [
            not any(w in truck_ways for w in (ids if isinstance(ids, list) else [ids]))
            for ids in cart["osmid"]
        ]
    ]
    parts = []
    for gdf, access in ((truck, "truck"), (cart_only, "handcart")):
        names = gdf["name"] if "name" in gdf else pd.Series([None] * len(gdf), index=gdf.index)
        parts.append(
            _frame(
                {"name": [_text(n) for n in names], "access": [access] * len(gdf)},
                gdf.to_crs(WGS84).geometry.to_numpy(),
            )
        )
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=WGS84)
    # a truck edge is drawn twice (both directions): keep one
    return out[~out.geometry.normalize().to_wkb().duplicated()].reset_index(drop=True)


def _buildings(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    b = plan.data.features.layers.get("buildings")
    if b is None or b.empty:
        return _frame({"kind": []}, [])
    kinds = b["building"] if "building" in b else pd.Series([None] * len(b), index=b.index)
    return _frame({"kind": [_text(k) for k in kinds]}, b.to_crs(WGS84).geometry.to_numpy())


def _groups(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    g = plan.data.groups
    if g is None or g.empty:
        return _frame({"name": []}, [])
    table = plan.points.groups_table
    rows = []
    for row in g.itertuples():
        gid = row.group_id
        hh = table.loc[gid, "households"] if gid in table.index else np.nan
        cov = table.loc[gid, "covered_after"] if gid in table.index else np.nan
        rows.append(
            {
                "group_id": int(gid),
                "name": str(row.name),
                "households": _round(hh),
                "covered_pct": _round(100 * cov, 1) if pd.notna(cov) else None,
            }
        )
    return _frame(pd.DataFrame(rows, dtype=object), g.to_crs(WGS84).geometry.to_numpy())


def _points(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    pts = plan.served_points()
    week = plan.week
    by_id = week.points.set_index("point_id") if len(week.points) else None
    streams = list(week.stream_names_vi)
    rows = []
    for i, row in enumerate(pts.itertuples()):
        status = str(getattr(row, "status", "proposed") or "proposed")
        pid = _text(getattr(row, "point_id", None))
        wk = by_id.loc[pid] if by_id is not None and pid in by_id.index else None
        rows.append(
            {
                "point": i + 1,
                "point_id": pid,
                "name": _text(getattr(row, "name", None)) or f"Điểm {i + 1}",
                "status": status,
                "status_vi": "hiện có" if status == "existing" else "đề xuất",
                "status_en": status,
                "street": _text(getattr(row, "street", None)),
                "households": _round(wk["households"] if wk is not None else None),
                "kg_per_day": _round(
                    sum(float(wk[f"{s}_kg_day"]) for s in streams) if wk is not None else None, 1
                ),
                "bins_by_stream": _bins_text(wk, streams, week.stream_names_vi),
                "bins_by_stream_en": _bins_text(wk, streams, STREAM_EN),
                "days_by_stream": _days_text(wk, streams, week.stream_names_vi, WEEKDAYS_VI),
                "days_by_stream_en": _days_text(wk, streams, STREAM_EN, WEEKDAYS_EN),
                "planned": wk is not None,
            }
        )
    return _frame(pd.DataFrame(rows, dtype=object), pts.geometry.to_numpy())


def _bins_text(wk: pd.Series | None, streams: list[str], names: Any) -> str | None:
    """Write a point's bins per stream from the weekly plan: ``Rác thực phẩm: 2 × 660 L``."""
    if wk is None:
        return None
    parts = []
    for s in streams:
        sizes = [
            f"{int(wk[f'{s}_bins_{size}l'])} × {size} L"
            for size in (660, 240)
            if int(wk[f"{s}_bins_{size}l"]) > 0
        ]
        parts.append(f"{names.get(s, s)}: {' + '.join(sizes) or '0'}")
    return "; ".join(parts)


def _days_text(
    wk: pd.Series | None, streams: list[str], names: Any, weekdays: tuple[str, ...]
) -> str | None:
    """Write a point's service days per stream (the days the shifts start)."""
    if wk is None:
        return None
    parts = []
    for s in streams:
        days = [int(d) for d in str(wk[f"{s}_days"]).split()]
        text = ", ".join(weekdays[d % 7] for d in days)
        if len(days) == 7:
            text = "hằng ngày" if weekdays is WEEKDAYS_VI else "every day"
        parts.append(f"{names.get(s, s)}: {text}")
    return "; ".join(parts)


def check_selection(plan: WardPlan, sel: Selection) -> None:
    """Raise `ValidationError` for a stream the plan does not have or a day outside 0..6."""
    streams = list(plan.week.stream_names_vi) or list(plan.week.totals)
    if sel.stream is not None and sel.stream not in streams:
        msg = f"stream {sel.stream!r} is not planned; choose one of {', '.join(streams)}"
        raise ValidationError(msg)
    if not 0 <= sel.day <= 6:
        msg = f"day must be a service day from 0 (Monday) to 6 (Sunday), got {sel.day}"
        raise ValidationError(msg)


def _selected(df: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    mine = df[df["service_day"] == sel.day]
    if sel.stream is not None:
        mine = mine[mine["stream"] == sel.stream]
    return mine


def arrival_day(week_start: str, service_day: int, arrival_s: float) -> tuple[int, str]:
    """Return an arrival's weekday (0 = Monday) and date (dd/mm/yyyy); past 24:00, the next day."""
    day = service_day + int(arrival_s // 86_400)
    when = date.fromisoformat(week_start) + timedelta(days=day)
    return day % 7, when.strftime("%d/%m/%Y")


def _clock(seconds: float) -> str:
    """HH:MM of seconds after midnight, minutes cut as the weekly plan writes its arrivals."""
    s = round(seconds) % 86_400
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


_ROUTE_COLUMNS: Final = (
    "vehicle",
    "stream",
    "stream_vi",
    "stream_en",
    "service_day",
    "weekday_vi",
    "weekday_en",
    "trip",
    "stops",
    "km",
    "colour",
)


def _routes(plan: WardPlan, sel: Selection) -> gpd.GeoDataFrame:
    check_selection(plan, sel)
    week = plan.week
    colours = plan_vehicle_colours(plan)
    r = _selected(week.routes, sel)
    stops = _selected(week.visits, sel).groupby(["stream", "vehicle", "trip"]).size()
    rows = [
        {
            "vehicle": str(v),
            "stream": str(s),
            "stream_vi": week.stream_names_vi.get(str(s), str(s)),
            "stream_en": STREAM_EN.get(str(s), str(s)),
            "service_day": int(d),
            "weekday_vi": WEEKDAYS_VI[int(d) % 7],
            "weekday_en": WEEKDAYS_EN[int(d) % 7],
            "trip": int(t),
            "stops": int(stops.get((s, v, t), 0)),
            "km": round(float(km), 2),
            "colour": colours.get(str(v), TRUCK_COLOURS[0]),
        }
        for v, s, d, t, km in zip(
            r["vehicle"], r["stream"], r["service_day"], r["trip"], r["km"], strict=True
        )
    ]
    return _frame(
        pd.DataFrame(rows, dtype=object, columns=list(_ROUTE_COLUMNS)), r.geometry.to_numpy()
    )


_STOP_KIND_VI: Final = {"client": "thu gom tại điểm tập kết", "unload": "dỡ tải"}
_STOP_KIND_EN: Final = {"client": "collection at a gathering point", "unload": "unloading"}
_STOP_COLUMNS: Final = (
    "vehicle",
    "stream",
    "stream_vi",
    "stream_en",
    "trip",
    "order",
    "kind",
    "kind_vi",
    "kind_en",
    "point_id",
    "name",
    "arrival",
    "kg",
    "weekday_vi",
    "weekday_en",
    "date",
    "colour",
)


def _stops(plan: WardPlan, sel: Selection) -> gpd.GeoDataFrame:
    """Build the visits of one service day (and stream) and the unloadings of its trips.

    ``kg`` is the waste picked up at a gathering point, or the load unloaded at the facility;
    the weekday and date are those of the arrival (after midnight, the next day).
    """
    check_selection(plan, sel)
    week = plan.week
    colours = plan_vehicle_colours(plan)
    where = week.points.set_index("point_id")
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for v in _records(_selected(week.visits, sel)):
        pid = str(v["point_id"])
        if pid not in where.index:
            continue
        rows.append(
            _stop_row(plan, v, v["arrival_s"])
            | {
                "arrival": str(v["arrival"]),  # the plan's own clock, as the schedule shows it
                "kind": "client",
                "point_id": pid,
                "name": str(where.loc[pid, "name"]),
                "kg": _round(v["kg"], 1),
                "colour": colours.get(str(v["vehicle"]), TRUCK_COLOURS[0]),
            }
        )
        geoms.append(where.loc[pid, "geometry"])
    fac = week.facilities
    facility = dict(zip(fac["stream"], fac["facility"], strict=True)) if "facility" in fac else {}
    if len(week.trips):
        for t in _records(_selected(week.trips, sel)):
            rows.append(
                _stop_row(plan, t, t["unload_arrival_s"])
                | {
                    "kind": "unload",
                    "point_id": None,
                    "name": _text(facility.get(t["stream"])),
                    "kg": _round(t["kg"], 1),
                    "colour": colours.get(str(t["vehicle"]), TRUCK_COLOURS[0]),
                }
            )
            geoms.append(shapely.Point(float(t["unload_lon"]), float(t["unload_lat"])))
    if not rows:
        return _frame(pd.DataFrame(columns=list(_STOP_COLUMNS)), [])
    table = pd.DataFrame(rows)
    table["kind_vi"] = table["kind"].map(_STOP_KIND_VI)
    table["kind_en"] = table["kind"].map(_STOP_KIND_EN)
    table["geometry"] = geoms
    table = table.sort_values(["stream", "vehicle", "_t", "kind"], kind="stable")
    table["order"] = table.groupby(["stream", "vehicle", "trip"]).cumcount() + 1
    out = pd.DataFrame(table[list(_STOP_COLUMNS)].to_numpy(), columns=list(_STOP_COLUMNS))
    return _frame(out.astype(object), table["geometry"].to_numpy())


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `df` as plain dicts (column name -> value)."""
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def _stop_row(plan: WardPlan, row: dict[str, Any], arrival_s: Any) -> dict[str, Any]:
    """Build the fields every stop has: vehicle, stream, trip, arrival, real weekday and date."""
    week = plan.week
    stream, t = str(row["stream"]), float(arrival_s)
    weekday, when = arrival_day(week.week_start, int(row["service_day"]), t)
    return {
        "vehicle": str(row["vehicle"]),
        "stream": stream,
        "stream_vi": week.stream_names_vi.get(stream, stream),
        "stream_en": STREAM_EN.get(stream, stream),
        "trip": int(row["trip"]),
        "order": 0,
        "arrival": _clock(t),
        "weekday_vi": WEEKDAYS_VI[weekday],
        "weekday_en": WEEKDAYS_EN[weekday],
        "date": when,
        "_t": t,
    }


def _hotspots(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    c = plan.hotspots.clusters
    if c.empty:
        return _frame({"reports": []}, [])
    c = c.to_crs(WGS84)
    rows = [
        {
            "hotspot": i + 1,
            "reports": _int(n),
            "peak_hours": _text(p),
        }
        for i, (n, p) in enumerate(
            zip(
                c["n_reports"] if "n_reports" in c else [None] * len(c),
                c["peak_hours"] if "peak_hours" in c else [None] * len(c),
                strict=True,
            )
        )
    ]
    return _frame(pd.DataFrame(rows, dtype=object), c.geometry.to_numpy())


def _reports(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    r = plan.hotspots.reports.reports.to_crs(WGS84)
    times = pd.to_datetime(r["requested_datetime"], utc=True).dt.tz_convert("Asia/Ho_Chi_Minh")
    rows = pd.DataFrame({"reported": [t.strftime("%d/%m/%Y %H:%M") for t in times]})
    return _frame(rows, r.geometry.to_numpy())


def _cameras(plan: WardPlan, _sel: Selection) -> gpd.GeoDataFrame:
    proposed = plan.cameras.sites().to_crs(WGS84)
    existing = plan.existing_cameras.to_crs(WGS84)
    rows = [
        {
            "status": "proposed",
            "status_vi": "đề xuất",
            "status_en": "proposed",
            "targets": _int(n),
            "kind": None,
            "synthetic": False,
        }
        for n in (proposed["n_targets"] if "n_targets" in proposed else [None] * len(proposed))
    ]
    kinds = existing["camera_kind"] if "camera_kind" in existing else [None] * len(existing)
    demo = "existing cameras" in plan.synthetic_layers
    fake = existing["synthetic"].fillna(demo) if "synthetic" in existing else [demo] * len(existing)
    rows += [
        {
            "status": "existing",
            "status_vi": "hiện có (SYNTHETIC)" if bool(f) else "hiện có",
            "status_en": "existing (SYNTHETIC)" if bool(f) else "existing",
            "targets": None,
            "kind": _CAMERA_KIND_VI.get(str(k), _text(k)),
            "synthetic": bool(f),
        }
        for k, f in zip(kinds, fake, strict=True)
    ]
    geoms = [*proposed.geometry.to_numpy(), *existing.geometry.to_numpy()]
    return _frame(
        pd.DataFrame(
            rows,
            dtype=object,
            columns=["status", "status_vi", "status_en", "targets", "kind", "synthetic"],
        ),
        geoms,
    )


_CAMERA_KIND_VI: Final = {
    "dedicated": "chuyên giám sát đổ rác",
    "security": "camera an ninh",
    "fixed": "cố định",
    "mobile": "lưu động",
}


def _reports_synthetic(plan: WardPlan) -> bool:
    return plan.reports.synthetic


def _cameras_synthetic(plan: WardPlan) -> bool:
    return "existing cameras" in plan.synthetic_layers or plan.reports.synthetic


LAYERS: Final[dict[str, LayerSpec]] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "boundary",
            "Ranh giới khu vực",
            "Area boundary",
            (("name", "Tên", "Name"), ("area_km2", "Diện tích (km²)", "Area (km²)")),
            _boundary,
            road_based=False,
        ),
        LayerSpec(
            "streets",
            "Đường phố, ngõ (bản đồ nền)",
            "Streets and alleys (base map)",
            (("name", "Tên đường", "Street"), ("access_vi", "Loại", "Access", "access_en")),
            _streets,
        ),
        LayerSpec(
            "buildings",
            "Nhà, công trình (bản đồ nền)",
            "Buildings (base map)",
            (),
            _buildings,
        ),
        LayerSpec(
            "groups",
            "Tổ dân phố (ước tính)",
            "Residential groups (estimated)",
            (
                ("name", "Tổ dân phố", "Residential group"),
                ("households", "Số hộ", "Households"),
                ("covered_pct", "Hộ trong tầm đi bộ (%)", "Households within walk (%)"),
            ),
            _groups,
            shown=False,
        ),
        LayerSpec(
            "points",
            "Điểm tập kết rác",
            "Gathering points",
            (
                ("name", "Điểm tập kết", "Gathering point"),
                ("status_vi", "Trạng thái", "Status", "status_en"),
                ("street", "Đường, ngõ", "Street"),
                ("households", "Số hộ mang rác đến", "Households"),
                ("kg_per_day", "Rác mỗi ngày (kg)", "Waste per day (kg)"),
                (
                    "bins_by_stream",
                    "Số thùng theo loại rác",
                    "Bins by waste stream",
                    "bins_by_stream_en",
                ),
                (
                    "days_by_stream",
                    "Ngày thu gom theo loại rác",
                    "Collection days by waste stream",
                    "days_by_stream_en",
                ),
            ),
            _points,
        ),
        LayerSpec(
            "routes",
            "Tuyến thu gom theo xe",
            "Collection routes by vehicle",
            (
                ("vehicle", "Xe số", "Vehicle"),
                ("stream_vi", "Loại rác", "Waste stream", "stream_en"),
                ("weekday_vi", "Ca ngày", "Shift of", "weekday_en"),
                ("trip", "Chuyến", "Trip"),
                ("stops", "Số điểm thu gom", "Collection stops"),
                ("km", "Quãng đường (km)", "Distance (km)"),
            ),
            _routes,
        ),
        LayerSpec(
            "stops",
            "Điểm dừng của xe",
            "Route stops",
            (
                ("name", "Nơi dừng", "Place"),
                ("stream_vi", "Loại rác", "Waste stream", "stream_en"),
                ("kind_vi", "Việc tại điểm", "What happens", "kind_en"),
                ("weekday_vi", "Thứ", "Day", "weekday_en"),
                ("date", "Ngày", "Date"),
                ("arrival", "Giờ đến", "Arrival"),
                ("kg", "Khối lượng rác (kg)", "Waste (kg)"),
                ("vehicle", "Xe số", "Vehicle"),
                ("trip", "Chuyến", "Trip"),
                ("order", "Thứ tự dừng", "Stop order"),
            ),
            _stops,
        ),
        LayerSpec(
            "hotspots",
            "Điểm nóng đổ rác",
            "Dumping hotspots",
            (
                ("hotspot", "Điểm nóng số", "Hotspot"),
                ("reports", "Số phản ánh", "Reports"),
                ("peak_hours", "Giờ hay đổ trộm", "Peak hours"),
            ),
            _hotspots,
            synthetic=_reports_synthetic,
        ),
        LayerSpec(
            "reports",
            "Phản ánh đổ rác",
            "Dumping reports",
            (("reported", "Thời gian phản ánh", "Reported"),),
            _reports,
            synthetic=_reports_synthetic,
            shown=False,
        ),
        LayerSpec(
            "cameras",
            "Camera giám sát",
            "Cameras",
            (
                ("status_vi", "Trạng thái", "Status", "status_en"),
                ("targets", "Số mục tiêu quan sát", "Targets watched"),
                ("kind", "Loại", "Kind"),
            ),
            _cameras,
            synthetic=_cameras_synthetic,
        ),
    )
}

_ACCESS_VI: Final = {"truck": "xe tải vào được", "handcart": "ngõ, chỉ xe đẩy tay"}
_ACCESS_EN: Final = {"truck": "truck road", "handcart": "alley, handcart only"}


# --- serving ------------------------------------------------------------------------------------


#: The layers drawn per service day and stream of the weekly plan.
PER_DAY: Final = frozenset({"routes", "stops"})


def layer_frame(
    plan: WardPlan, layer: str, *, stream: str | None = None, day: int = 0
) -> gpd.GeoDataFrame:
    """Return a layer of a plan in EPSG:4326, coordinates rounded, built once per plan.

    Parameters
    ----------
    plan
        The ward's plan.
    layer
        A name of `LAYERS`.
    stream
        For routes and stops: one waste stream of the week, or None for all of them.
    day
        For routes and stops: the service day, 0 = Monday .. 6 = Sunday.

    Raises
    ------
    DataNotFoundError
        For a layer name not in `LAYERS`.
    ValidationError
        For a stream the plan does not have, or a day outside 0..6.
    """
    spec = LAYERS.get(layer)
    if spec is None:
        msg = f"unknown layer {layer!r}; the layers are {', '.join(LAYERS)}"
        raise DataNotFoundError(msg)
    sel = Selection(stream, day) if layer in PER_DAY else Selection()
    check_selection(plan, sel)
    cache: dict[tuple[str, Selection], gpd.GeoDataFrame] = _cache_of(plan)
    key = (layer, sel)
    if key not in cache:
        gdf = spec.build(plan, sel)
        if layer == "streets" and len(gdf):
            gdf["access_vi"] = gdf["access"].map(_ACCESS_VI)
            gdf["access_en"] = gdf["access"].map(_ACCESS_EN)
        gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty].reset_index(drop=True)
        gdf["geometry"] = shapely.transform(
            gdf.geometry.to_numpy(), lambda xy: np.round(xy, COORDINATE_DECIMALS)
        )
        cache[key] = gdf
    return cache[key]


_PLAN_CACHES: dict[int, dict[Any, Any]] = {}


def plan_cache(plan: WardPlan) -> dict[Any, Any]:
    """Return a dictionary of values derived from `plan`, dropped when the plan is.

    Keyed by the plan's identity (a `WardPlan` holds frames and is not hashable); a finaliser
    removes the entry when the plan is garbage-collected, so replaced plans do not pile up.
    """
    key = id(plan)
    cache = _PLAN_CACHES.get(key)
    if cache is None:
        cache = _PLAN_CACHES[key] = {}
        weakref.finalize(plan, _PLAN_CACHES.pop, key, None)
    return cache


def _cache_of(plan: WardPlan) -> dict[tuple[str, Selection], gpd.GeoDataFrame]:
    cache = plan_cache(plan)
    layers_cache: dict[tuple[str, Selection], gpd.GeoDataFrame] = cache.setdefault("layers", {})
    return layers_cache


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """Read ``minlon,minlat,maxlon,maxlat`` (degrees), or raise `ValidationError`."""
    if text is None or text == "":
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        msg = "bbox must be four numbers: minlon,minlat,maxlon,maxlat (WGS84 degrees)"
        raise ValidationError(msg)
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        msg = "bbox must have minlon <= maxlon and minlat <= maxlat within -180..180 and -90..90"
        raise ValidationError(msg)
    return x0, y0, x1, y1


def feature_collection(
    gdf: gpd.GeoDataFrame,
    *,
    bbox: tuple[float, float, float, float] | None,
    page: int,
    page_size: int,
    next_url: Callable[[int], str],
) -> dict[str, Any]:
    """Filter by `bbox`, cut page `page` and write an RFC 7946 FeatureCollection."""
    index = np.arange(len(gdf))
    if bbox is not None and len(gdf):
        index = np.sort(gdf.sindex.query(box(*bbox), predicate="intersects"))
    matched = len(index)
    start = (page - 1) * page_size
    chosen = index[start : start + page_size]
    columns = [c for c in gdf.columns if c != "geometry"]
    features = []
    geoms = gdf.geometry.to_numpy()
    values = {c: gdf[c].to_numpy() for c in columns}
    for i in chosen:
        features.append(
            {
                "type": "Feature",
                "id": int(i) + 1,
                "geometry": mapping(geoms[i]),
                "properties": {c: _json_value(values[c][i]) for c in columns},
            }
        )
    out: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
    }
    if start + page_size < matched:
        out["next"] = next_url(page + 1)
    return out


def layer_labels(plan: WardPlan, spec: LayerSpec) -> list[str]:
    """Return the badges of a layer: the Hanoi sample and/or synthetic."""
    labels = []
    if plan.is_sample and spec.road_based:
        labels.append(SAMPLE_BADGE)
    if spec.synthetic(plan):
        labels.append(SYNTHETIC_BADGE)
    return labels


def plan_streams(plan: WardPlan) -> list[str]:
    """Return the waste streams of a plan's week, in the plan's order."""
    return list(plan.week.stream_names_vi) or list(plan.week.totals)


def service_day_date(plan: WardPlan, day: int) -> str:
    """Return the date (dd/mm/yyyy) of a service day of the plan's first week."""
    return (date.fromisoformat(plan.week.week_start) + timedelta(days=day)).strftime("%d/%m/%Y")


def catalogue(plan: WardPlan, key: str, *, day: int = 0) -> dict[str, Any]:
    """Describe the layers of a plan for a map page (titles, fields, badges, counts, URLs).

    Routes and stops are listed once per waste stream, for service day `day` (0 = Monday);
    ``days`` lists the seven service days and ``trucks`` the vehicles driving on `day`.
    """
    check_selection(plan, Selection(None, day))
    week = plan.week
    streams = plan_streams(plan)
    when = service_day_date(plan, day)
    layers = []
    for spec in LAYERS.values():
        base_url = f"{router.prefix}/{key}/{spec.name}.geojson"
        if spec.name not in PER_DAY:
            layers.append(
                _entry(plan, spec, spec.name, spec.title_vi, spec.title_en, base_url, Selection())
            )
            continue
        for stream in streams:
            name_vi = week.stream_names_vi.get(stream, stream)
            name_en = STREAM_EN.get(stream, stream)
            layers.append(
                _entry(
                    plan,
                    spec,
                    f"{spec.name}-{stream}",
                    f"{spec.title_vi}: {name_vi.lower()} – {WEEKDAYS_VI[day]} {when}",
                    f"{spec.title_en}: {name_en} – {WEEKDAYS_EN[day]} {when}",
                    f"{base_url}?stream={stream}&day={day}",
                    Selection(stream, day),
                )
            )
    colours = plan_vehicle_colours(plan)
    today = week.routes[week.routes["service_day"] == day]
    pairs = {(str(s), str(v)) for s, v in zip(today["stream"], today["vehicle"], strict=True)}
    driving = sorted(pairs, key=lambda sv: _vehicle_order(sv[1]))
    area = plan.data.area
    x0, y0, x1, y1 = area.geometry.bounds
    return {
        "key": key,
        "label": plan.label,
        "is_sample": plan.is_sample,
        "synthetic_layers": list(plan.synthetic_layers),
        "bounds": [round(v, COORDINATE_DECIMALS) for v in (x0, y0, x1, y1)],
        "day": day,
        "days": [
            {
                "day": d,
                "weekday_vi": WEEKDAYS_VI[d],
                "weekday_en": WEEKDAYS_EN[d],
                "date": service_day_date(plan, d),
            }
            for d in range(7)
        ],
        "streams": [
            {"stream": s, "name_vi": week.stream_names_vi.get(s, s), "name_en": STREAM_EN.get(s, s)}
            for s in streams
        ],
        "trucks": [
            {
                "vehicle": v,
                "stream": s,
                "stream_vi": week.stream_names_vi.get(s, s),
                "stream_en": STREAM_EN.get(s, s),
                "colour": colours[v],
            }
            for s, v in driving
        ],
        "attribution": plan.data.attribution(),
        "layers": layers,
    }


def _entry(
    plan: WardPlan,
    spec: LayerSpec,
    name: str,
    title_vi: str,
    title_en: str,
    url: str,
    sel: Selection,
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": spec.name,
        "stream": sel.stream,
        "title_vi": title_vi,
        "title_en": title_en,
        "fields": [list(f) for f in spec.fields],
        "labels": layer_labels(plan, spec),
        "shown": spec.shown,
        "count": len(layer_frame(plan, spec.name, stream=sel.stream, day=sel.day)),
        "url": url,
        "tiles": _tile_url(url, spec.name),
        "tiles_min_zoom": TILE_MIN_ZOOM.get(spec.name),
    }


def _tile_url(geojson_url: str, layer: str) -> str | None:
    """Return the tile URL template of a layer's GeoJSON URL (same key and query), or None."""
    if layer not in TILE_MIN_ZOOM:
        return None
    path, _, query = geojson_url.partition("?")
    base = path.rsplit("/", 1)[0]
    return f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{query}" if query else "")


def _vehicle_order(v: str) -> tuple[str, int, str]:
    """Sort key of a vehicle name: its prefix, then its number as a number (CL-2 < CL-10)."""
    prefix, _, number = v.rpartition("-")
    return (prefix, int(number), v) if number.isdigit() else (v, 0, v)


DayQuery = Annotated[
    int, Query(ge=0, le=6, description="service day of the week: 0 = Monday .. 6 = Sunday")
]


#: The error answers of the layer endpoints: one line in ``detail`` (the app's error format).
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Detail, "description": "a malformed bbox or a stream the plan does not have"},
    404: {"model": Detail, "description": "no plan for the key, or no such layer"},
    422: {"model": Detail, "description": "a malformed parameter"},
}


@router.get("/{key}", responses=_ERRORS)
def list_layers(request: Request, key: str, day: DayQuery = 0) -> JSONResponse:
    """List the layers of a ward's plan (``sample``: the Hanoi sample) with their labels."""
    plan = require_plan(request.app.state, key)
    return JSONResponse(catalogue(plan, key, day=day))


@router.get(
    "/{key}/{layer}.geojson",
    response_class=JSONResponse,
    responses={
        200: {"content": {GEOJSON_MEDIA_TYPE: {}}, "description": "a FeatureCollection"},
        **_ERRORS,
    },
)
def get_layer(
    request: Request,
    key: str,
    layer: str,
    bbox: Annotated[
        str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)", max_length=200)
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    stream: Annotated[
        str | None,
        Query(max_length=32, description="routes and stops: one waste stream (default: all)"),
    ] = None,
    day: DayQuery = 0,
) -> JSONResponse:
    """One layer of a ward's plan as GeoJSON, filtered by bbox and paged.

    Routes and stops are those of service day `day` (0 = Monday) and of `stream` (all streams
    when omitted).
    """
    plan = require_plan(request.app.state, key)
    box_ = parse_bbox(bbox)
    gdf = layer_frame(plan, layer, stream=stream or None, day=day)

    def next_url(n: int) -> str:
        url = request.url.include_query_params(page=n, page_size=page_size)
        return f"{url.path}?{url.query}"

    body = feature_collection(gdf, bbox=box_, page=page, page_size=page_size, next_url=next_url)
    return JSONResponse(body, media_type=GEOJSON_MEDIA_TYPE)


# --- vector tiles --------------------------------------------------------------------------------

#: The layers also served as Mapbox Vector Tiles, and the least zoom each is drawn from (a tile
#: of a lower zoom is empty: 204).
TILE_MIN_ZOOM: Final[dict[str, int]] = {
    "streets": 12,
    "buildings": 14,
    "groups": 12,
    "points": 12,
    "routes": 10,
}
#: How long browsers and shared caches may keep a tile without asking again (seconds).
TILE_CACHE_S: Final = 300
#: Encoded tiles kept per plan (oldest dropped first).
TILE_CACHE_SIZE: Final = 4096


def layer_tile(
    plan: WardPlan,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    stream: str | None = None,
    day: int = 0,
) -> bytes | None:
    """Return tile `z/x/y` of a plan's layer as a Mapbox Vector Tile, or None when empty.

    The tile holds one layer named `layer`, whose features carry the ids and the (non-null)
    properties of the GeoJSON endpoint's; tiles are kept per plan once encoded.

    Raises
    ------
    DataNotFoundError
        For a layer that is not served as tiles (`TILE_MIN_ZOOM`).
    ValidationError
        For a stream the plan does not have, or a day outside 0..6.
    """
    if layer not in TILE_MIN_ZOOM:
        tiled = ", ".join(TILE_MIN_ZOOM)
        msg = f"layer {layer!r} has no vector tiles; the tiled layers are {tiled}"
        raise DataNotFoundError(msg)
    sel = Selection(stream, day) if layer in PER_DAY else Selection()
    check_selection(plan, sel)
    if z < TILE_MIN_ZOOM[layer]:
        return None
    cache: dict[tuple[Any, ...], bytes | None] = plan_cache(plan).setdefault("tiles", {})
    key = (layer, sel, z, x, y)
    if key not in cache:
        gdf = layer_frame(plan, layer, stream=stream, day=day)
        if len(cache) >= TILE_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = tiles.encode_tile(gdf, layer, z, x, y, properties=_json_value)
    return cache[key]


@router.get(
    "/{key}/tiles/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={
        200: {"content": {tiles.MEDIA_TYPE: {}}, "description": "a Mapbox Vector Tile"},
        204: {"description": "no feature of the layer in this tile (or below its least zoom)"},
        304: {"description": "the tile has not changed since the ETag the client sent"},
        **_ERRORS,
    },
)
def get_tile(
    request: Request,
    key: str,
    layer: str,
    z: str,
    x: str,
    y: str,
    stream: Annotated[
        str | None,
        Query(max_length=32, description="routes: one waste stream (default: all)"),
    ] = None,
    day: DayQuery = 0,
) -> Response:
    """One tile (XYZ scheme, Web Mercator) of a large layer as a Mapbox Vector Tile.

    The tiled layers are streets, buildings, groups, points and routes (routes of service day
    `day` and of `stream`, all streams when omitted). A tile with nothing in it answers 204;
    ``z`` above `gomrac.api.web.tiles.MAX_ZOOM`, or ``x``/``y`` outside the zoom's grid, 400.
    """
    plan = require_plan(request.app.state, key)
    zoom, col, row = tiles.check_tile(z, x, y)
    data = layer_tile(plan, layer, zoom, col, row, stream=stream or None, day=day)
    headers = {"Cache-Control": f"public, max-age={TILE_CACHE_S}"}
    if data is None:
        return Response(status_code=204, headers=headers)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers["ETag"] = etag
    match = request.headers.get("if-none-match")
    if match is not None and etag in {t.strip().removeprefix("W/") for t in match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=tiles.MEDIA_TYPE, headers=headers)


# --- small converters ---------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or None
    text = str(value).strip()
    return text or None


def _round(value: Any, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    return round(x) if digits == 0 else round(x, digits)


def _int(value: Any) -> int | None:
    r = _round(value)
    return None if r is None else int(r)
