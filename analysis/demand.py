"""Households and household waste per day, per building or per street segment, by waste stream.

A study area's population is spread over demand units:

* **buildings** where footprints are mapped: in proportion to floor area (footprint × levels,
  `DemandParams.default_levels` where ``building:levels`` is missing), residential buildings only;
* **street points** elsewhere: points every `DemandParams.street_spacing_m` along the streets
  people live on, in proportion to street length.

When footprints cover only part of the area, the population is split between the two parts by
their area (uniform density), then spread inside each part as above.

Households = persons / persons per household; waste = persons × kg per person per day, split into
the streams households sort at source (Law on Environmental Protection 2020, art. 75): ``food``,
``recyclable`` and ``residual``. Every figure is a parameter of `DemandParams` with its source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

STREAMS: tuple[str, ...] = ("food", "recyclable", "residual")

#: Building kinds that house nobody (or are counted elsewhere): no household demand.
NON_RESIDENTIAL = frozenset(
    {
        "school",
        "college",
        "university",
        "kindergarten",
        "hospital",
        "clinic",
        "temple",
        "church",
        "pagoda",
        "shrine",
        "mosque",
        "stadium",
        "sports_hall",
        "transportation",
        "train_station",
        "industrial",
        "warehouse",
        "factory",
        "office",
        "government",
        "public",
        "civic",
        "garage",
        "garages",
        "parking",
        "roof",
        "shed",
        "hut",
        "kiosk",
        "service",
        "construction",
        "ruins",
        "commercial",
        "retail",
        "supermarket",
        "hotel",
        "bridge",
        "toilets",
    }
)
#: Street classes people live along (alleys are ``service``).
RESIDENTIAL_STREETS = frozenset(
    {
        "residential",
        "living_street",
        "service",
        "unclassified",
        "tertiary",
        "secondary",
        "primary",
        "pedestrian",
    }
)


@dataclass(frozen=True)
class DemandParams:
    """Parameters of the household and waste estimate.

    Attributes
    ----------
    persons_per_household
        Persons per household (3.3 urban, 3.6 rural: local assumptions around the 2019
        Population and Housing Census national average of 3.5).
    kg_per_person_day
        Household solid waste per person per day, kg. Urban 1.08 and rural 0.45: the national
        totals of the MONRE National Environment Report 2019 (about 35,600 t/day urban and 28,400
        t/day rural) over the 2019 census urban and rural populations.
    stream_shares
        Share of each sorted stream in the waste mass (local assumption: food about 55%, as the
        2019 report puts organic matter at half to two thirds of household waste; recyclables
        15%; residual the rest).
    bulk_density_kg_m3
        Density of household waste loose in a bin, kg/m³ (local assumption, 200).
    default_levels
        Storeys assumed for a building without ``building:levels`` (3: the typical tube house).
    street_spacing_m
        Spacing of street demand points, metres.
    """

    persons_per_household: float = 3.3
    kg_per_person_day: float = 1.08
    stream_shares: Mapping[str, float] = field(
        default_factory=lambda: {"food": 0.55, "recyclable": 0.15, "residual": 0.30}
    )
    bulk_density_kg_m3: float = 200.0
    default_levels: float = 3.0
    street_spacing_m: float = 50.0

    @classmethod
    def rural(cls) -> DemandParams:
        """Return the rural defaults (a xã): larger households, less waste per person."""
        return cls(persons_per_household=3.6, kg_per_person_day=0.45)

    def __post_init__(self) -> None:
        total = sum(self.stream_shares.values())
        if set(self.stream_shares) != set(STREAMS) or not np.isclose(total, 1.0):
            msg = f"stream_shares must give {STREAMS} summing to 1, got {dict(self.stream_shares)}"
            raise ValidationError(msg)
        for name in (
            "persons_per_household",
            "kg_per_person_day",
            "bulk_density_kg_m3",
            "default_levels",
            "street_spacing_m",
        ):
            if getattr(self, name) <= 0:
                msg = f"{name} must be positive"
                raise ValidationError(msg)


def estimate_demand(
    area: BaseGeometry,
    population: float,
    *,
    buildings: gpd.GeoDataFrame | None,
    streets: gpd.GeoDataFrame,
    building_extent: BaseGeometry | None = None,
    params: DemandParams | None = None,
) -> gpd.GeoDataFrame:
    """Spread a population over demand units and estimate households and waste per stream.

    Parameters
    ----------
    area
        Study area polygon, EPSG:32648.
    population
        Persons living in `area`.
    buildings
        Building footprints (``kind``, ``levels`` columns), EPSG:32648, or None.
    streets
        Street centre-lines with a ``highway`` column (e.g. the cart network's edges), EPSG:32648.
    building_extent
        Where footprints are mapped (EPSG:32648); the whole area when None and buildings exist.
    params
        Rates and shares; urban defaults when None.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per demand unit: ``unit_id``, ``kind`` (building/street), ``persons``,
        ``households``, ``waste_kg_day`` and ``<stream>_kg_day`` per stream, EPSG:32648. Totals
        equal the population given.
    """
    params = params or DemandParams()
    require_metric(streets, "streets")
    if population < 0 or not np.isfinite(population):
        msg = f"population must be a non-negative number, got {population}"
        raise ValidationError(msg)
    crs = streets.crs
    homes = _residential(buildings, area) if buildings is not None and len(buildings) else None
    if homes is not None and len(homes):
        assert buildings is not None  # `homes` comes from `buildings`
        require_metric(buildings, "buildings")
        extent = area if building_extent is None or building_extent.is_empty else building_extent
        extent = extent.intersection(area)
    else:
        extent = shapely.Polygon()
    share_b = extent.area / area.area if area.area else 0.0
    parts: list[gpd.GeoDataFrame] = []
    if homes is not None and share_b > 0:
        homes = homes[homes.representative_point().within(extent)]
        floor = homes.geometry.area * homes["levels"].fillna(params.default_levels).clip(1, 40)
        w = floor / floor.sum()
        parts.append(
            gpd.GeoDataFrame(
                {
                    "kind": "building",
                    "weight": w.to_numpy() * share_b,
                    "source_id": homes["osm_id"].astype(str).to_numpy()
                    if "osm_id" in homes
                    else "",
                },
                geometry=homes.representative_point().to_numpy(),
                crs=crs,
            )
        )
    rest = area.difference(extent) if share_b > 0 else area
    if share_b < 1 and not rest.is_empty:
        pts = street_points(streets, rest, spacing_m=params.street_spacing_m)
        if len(pts):
            pts["weight"] = pts["length_m"] / pts["length_m"].sum() * (1 - share_b)
            pts["kind"] = "street"
            parts.append(pts[["kind", "weight", "source_id", "geometry"]])
    if not parts:
        msg = "no residential building or street in the area to carry the population"
        raise ValidationError(msg)
    units = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs)
    units["weight"] /= units["weight"].sum()
    units.insert(0, "unit_id", np.arange(len(units)))
    units["persons"] = units.pop("weight") * population
    units["households"] = units["persons"] / params.persons_per_household
    units["waste_kg_day"] = units["persons"] * params.kg_per_person_day
    for stream in STREAMS:
        units[f"{stream}_kg_day"] = units["waste_kg_day"] * params.stream_shares[stream]
    log.info(
        "estimate_demand: %d units (%d buildings), %.0f households, %.1f t/day",
        len(units),
        int((units["kind"] == "building").sum()),
        units["households"].sum(),
        units["waste_kg_day"].sum() / 1000,
    )
    return units


def _residential(buildings: gpd.GeoDataFrame, area: BaseGeometry) -> gpd.GeoDataFrame:
    b = buildings[buildings.geom_type.isin(["Polygon", "MultiPolygon"])]
    b = b[~b["kind"].astype(str).isin(NON_RESIDENTIAL)]
    b = b[b.representative_point().within(area)]
    if "levels" not in b:
        b = b.assign(levels=np.nan)
    return b


def street_points(
    streets: gpd.GeoDataFrame, area: BaseGeometry, *, spacing_m: float
) -> gpd.GeoDataFrame:
    """Points every `spacing_m` along the residential streets inside `area`.

    Each point carries the street length it stands for (``length_m``) and the id of its street.
    Two-way streets stored as two directed edges are counted once.
    """
    require_metric(streets, "streets")
    hw = streets["highway"].map(lambda h: h if isinstance(h, str) else (h[0] if len(h) else ""))
    lines = streets[hw.isin(RESIDENTIAL_STREETS)]
    geoms = lines.geometry.intersection(area)
    keys = geoms.normalize().to_wkb()
    geoms = geoms[~keys.duplicated() & ~geoms.is_empty]
    xs: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    for idx, geom in geoms.items():
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type != "LineString" or line.length == 0:
                continue
            n = max(1, int(np.ceil(line.length / spacing_m)))
            at = (np.arange(n) + 0.5) * line.length / n
            xs.append(shapely.line_interpolate_point(line, at))
            lens.append(np.full(n, line.length / n))
            ids.append(np.full(n, str(idx)))
    if not xs:
        return gpd.GeoDataFrame({"length_m": [], "source_id": []}, geometry=[], crs=streets.crs)
    return gpd.GeoDataFrame(
        {"length_m": np.concatenate(lens), "source_id": np.concatenate(ids)},
        geometry=np.concatenate(xs),
        crs=streets.crs,
    )


def bins_needed(
    waste_kg_day: float | np.ndarray,
    *,
    bin_l: float = 660.0,
    collections_per_day: float = 1.0,
    bulk_density_kg_m3: float = 200.0,
    fill_factor: float = 0.85,
) -> np.ndarray:
    """Bins of `bin_l` litres needed to hold a day's waste between collections.

    A bin is filled to `fill_factor` of its volume at most (lids must close).
    """
    kg_per_bin = bin_l / 1000 * bulk_density_kg_m3 * fill_factor * collections_per_day
    return np.ceil(np.asarray(waste_kg_day, dtype=float) / kg_per_bin).astype(int)


def proxy_groups(
    demand: gpd.GeoDataFrame, *, households_per_group: float = 300.0, seed: int = 0
) -> gpd.GeoDataFrame:
    """Residential-group areas (tổ dân phố) when no official group boundaries are available.

    Demand units are clustered by position (k-means weighted by households) into groups of about
    `households_per_group` households; each group is the convex hull of its units, buffered by 25 m.
    The result is labelled ``proxy``: replace it with the ward's own group layer when it exists.

    Returns
    -------
    geopandas.GeoDataFrame
        ``group_id``, ``name``, ``households``, ``source`` and the polygon; `demand` gains no column
        (use `assign_groups`).
    """
    from sklearn.cluster import KMeans

    require_metric(demand, "demand")
    total = float(demand["households"].sum())
    k = int(np.clip(round(total / households_per_group), 1, len(demand)))
    xy = np.column_stack([demand.geometry.x, demand.geometry.y])
    km = KMeans(n_clusters=k, n_init=4, random_state=seed)
    labels = km.fit_predict(xy, sample_weight=demand["households"].to_numpy() + 1e-9)
    rows = []
    for g in range(k):
        pts = demand.geometry[labels == g]
        if pts.empty:
            continue
        hull = shapely.MultiPoint(list(pts)).convex_hull.buffer(25)
        rows.append(
            {
                "group_id": g,
                "name": f"Tổ {g + 1:02d} (ước tính)",
                "households": float(demand["households"][labels == g].sum()),
                "source": "proxy: k-means of demand units",
                "geometry": hull,
            }
        )
    return gpd.GeoDataFrame(rows, crs=demand.crs)


def assign_groups(demand: gpd.GeoDataFrame, groups: gpd.GeoDataFrame) -> pd.Series:
    """Find the group of each demand unit: the group polygon containing it, else the nearest one."""
    require_metric(demand, "demand")
    require_metric(groups, "groups")
    joined = gpd.sjoin_nearest(demand[["geometry"]], groups[["group_id", "geometry"]], how="left")
    joined = joined[~joined.index.duplicated()]
    group_id: pd.Series = joined["group_id"].reindex(demand.index)
    return group_id
