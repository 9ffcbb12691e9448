"""Where a gathering point may stand: candidate sites and the siting rules they must pass.

Candidates are points on the street network: on streets a collection truck can reach (a
gathering point is where the truck loads) or, for alley transfer points, on the handcart network.
A candidate is dropped when it lies within an exclusion distance of a sensitive site (schools,
kindergartens, hospitals and clinics, markets, places of worship, water bodies) or within the
minimum spacing of an existing point or of a candidate already kept.

Regulatory basis
----------------
Circular 02/2022/TT-BTNMT (detailing the Law on Environmental Protection 2020, including the
collection of household solid waste) asks that gathering points meet technical and
environmental-hygiene requirements and leaves their placement to the local People's Committee; we
found **no numeric distance** for kerbside gathering points in it. QCVN 01:2021/BXD (national
technical regulation on construction planning) sets environmental safety distances for solid-waste
*facilities* (transfer stations, treatment plants), not for kerbside gathering points. Every
default below is therefore a **local assumption** that a ward should confirm; the rule names say
what they protect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError

log = logging.getLogger(__name__)

#: Exclusion distance per sensitive-site layer, metres (local assumptions, see module docstring).
DEFAULT_EXCLUSION_M: Mapping[str, float] = {
    "schools": 50.0,
    "kindergartens": 50.0,
    "hospitals": 50.0,
    "markets": 30.0,  # from the market's position (its entrance when mapped as a node)
    "worship": 30.0,
    "water": 20.0,  # keep leachate out of lakes, canals and drains
}


@dataclass(frozen=True)
class SitingRules:
    """Rules a gathering-point site must pass.

    Attributes
    ----------
    exclusion_m
        Distance to keep from each sensitive-site layer, metres.
    min_spacing_m
        Least distance between two gathering points (new or existing), metres.
    candidate_spacing_m
        Spacing of candidate sites along the streets, metres.
    """

    exclusion_m: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EXCLUSION_M))
    min_spacing_m: float = 80.0
    candidate_spacing_m: float = 40.0

    def __post_init__(self) -> None:
        if any(v < 0 for v in self.exclusion_m.values()) or self.min_spacing_m < 0:
            msg = "siting distances must not be negative"
            raise ValidationError(msg)
        if self.candidate_spacing_m <= 0:
            msg = "candidate_spacing_m must be positive"
            raise ValidationError(msg)


def exclusion_zones(sites: Mapping[str, gpd.GeoDataFrame], rules: SitingRules) -> gpd.GeoDataFrame:
    """Buffers around the sensitive sites, one row per site, with the rule that made them.

    Parameters
    ----------
    sites
        Layer name → sites (any geometry), EPSG:32648.
    rules
        The exclusion distances.
    """
    rows = []
    for layer, dist in rules.exclusion_m.items():
        gdf = sites.get(layer)
        if gdf is None or gdf.empty or dist <= 0:
            continue
        require_metric(gdf, layer)
        names = gdf["name"] if "name" in gdf else pd.Series([None] * len(gdf), index=gdf.index)
        for geom, name in zip(gdf.geometry, names, strict=True):
            rows.append(
                {
                    "rule": f"{layer} {dist:g} m",
                    "layer": layer,
                    "site": name,
                    "geometry": geom.buffer(dist),
                }
            )
    crs = next((g.crs for g in sites.values() if g is not None and g.crs is not None), None)
    return gpd.GeoDataFrame(
        rows, columns=["rule", "layer", "site", "geometry"], crs=crs or "EPSG:32648"
    )


def candidate_sites(
    streets: gpd.GeoDataFrame,
    area: shapely.Geometry,
    *,
    sensitive: Mapping[str, gpd.GeoDataFrame],
    existing: gpd.GeoDataFrame | None = None,
    rules: SitingRules | None = None,
    access: str = "truck",
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Candidate gathering-point sites on the streets, and the ones the rules rejected.

    Parameters
    ----------
    streets
        Street centre-lines (``name``, ``highway``) of the network the site must be on, EPSG:32648.
    area
        The ward polygon, EPSG:32648: candidates lie inside it.
    sensitive
        Sensitive-site layers by name (keys of `SitingRules.exclusion_m`), EPSG:32648.
    existing
        Existing gathering points (kept; candidates keep `min_spacing_m` from them).
    rules
        Siting rules; the documented defaults when None.
    access
        ``truck`` or ``cart``: recorded on each candidate (alley transfer points are ``cart``).

    Returns
    -------
    tuple of geopandas.GeoDataFrame
        ``(candidates, rejected)``: candidates with ``street``, ``access``, one ``rule_<name>``
        column per rule (``passed``, or ``no data`` where no site of that kind is mapped: a rule
        is never called passed without evidence), ``rules`` (all of them, in words) and
        ``rules_status`` (``passed`` only when every rule passed); rejected points with the
        ``reason`` (the rule they failed).
    """
    rules = rules or SitingRules()
    require_metric(streets, "streets")
    pts = _points_along(streets, area, rules.candidate_spacing_m)
    reasons = np.full(len(pts), "", dtype=object)
    for layer, dist in rules.exclusion_m.items():
        gdf = sensitive.get(layer)
        if gdf is None or gdf.empty or dist <= 0:
            continue
        require_metric(gdf, layer)
        tree = shapely.STRtree(gdf.geometry.to_numpy())
        idx, hit = tree.query(pts.geometry.to_numpy(), predicate="dwithin", distance=dist)
        names = gdf["name"].to_numpy() if "name" in gdf else np.full(len(gdf), None)
        for i, j in zip(idx, hit, strict=True):
            if not reasons[i]:
                label = names[j] if isinstance(names[j], str) and names[j] else layer
                reasons[i] = f"within {dist:g} m of {layer.removesuffix('s')}: {label}"
    if existing is not None and len(existing) and rules.min_spacing_m > 0:
        require_metric(existing, "existing")
        tree = shapely.STRtree(existing.geometry.to_numpy())
        idx, _ = tree.query(
            pts.geometry.to_numpy(), predicate="dwithin", distance=rules.min_spacing_m
        )
        for i in np.unique(idx):
            if not reasons[i]:
                reasons[i] = f"within {rules.min_spacing_m:g} m of an existing gathering point"
    ok = reasons == ""
    kept = _thin(pts[ok], rules.min_spacing_m)
    thinned = np.setdiff1d(np.nonzero(ok)[0], pts.index[ok][kept])
    reasons[thinned] = f"within {rules.min_spacing_m:g} m of another candidate"
    cands = pts[ok].iloc[kept].copy()
    # the evidence behind each rule: passed against mapped sites, or no data to check against
    checked = []
    for layer, dist in rules.exclusion_m.items():
        if dist <= 0:
            continue
        gdf = sensitive.get(layer)
        status = "passed" if gdf is not None and not gdf.empty else "no data"
        cands[f"rule_{layer}"] = status
        checked.append(f"{layer} ≥ {dist:g} m: {status}")
    spacing = "passed" if rules.min_spacing_m > 0 else "no data"
    cands["rule_spacing"] = spacing
    checked.append(f"spacing ≥ {rules.min_spacing_m:g} m: {spacing}")
    cands["rules"] = "; ".join(checked)
    cands["rules_status"] = "no data" if any("no data" in c for c in checked) else "passed"
    cands["access"] = access
    cands = cands.reset_index(drop=True)
    cands.insert(0, "candidate_id", np.arange(len(cands)))
    rejected = pts[reasons != ""].assign(reason=reasons[reasons != ""]).reset_index(drop=True)
    log.info(
        "candidate_sites: %d candidates, %d rejected (%s access)", len(cands), len(rejected), access
    )
    return cands, rejected


def _points_along(
    streets: gpd.GeoDataFrame, area: shapely.Geometry, spacing: float
) -> gpd.GeoDataFrame:
    geoms = streets.geometry.intersection(area)
    keys = geoms.normalize().to_wkb()
    keep = ~keys.duplicated() & ~geoms.is_empty
    names = (
        streets["name"]
        if "name" in streets
        else pd.Series([None] * len(streets), index=streets.index)
    )
    out_pts: list[shapely.Geometry] = []
    out_names: list[object] = []
    for geom, name in zip(geoms[keep], names[keep], strict=True):
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type != "LineString" or line.length < 1:
                continue
            n = max(1, int(line.length // spacing))
            at = (np.arange(n) + 0.5) * line.length / n
            out_pts.extend(shapely.line_interpolate_point(line, at))
            label = name[0] if isinstance(name, list) and name else name
            out_names.extend([label if isinstance(label, str) else ""] * n)
    return gpd.GeoDataFrame({"street": out_names}, geometry=out_pts, crs=streets.crs)


def _thin(pts: gpd.GeoDataFrame, spacing: float) -> np.ndarray:
    """Positions of a greedy subset of `pts` whose members are pairwise at least `spacing` apart."""
    if spacing <= 0 or len(pts) == 0:
        return np.arange(len(pts))
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    cell = spacing
    grid: dict[tuple[int, int], list[int]] = {}
    kept: list[int] = []
    for i, (x, y) in enumerate(xy):
        cx, cy = int(x // cell), int(y // cell)
        near = (
            j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in grid.get((cx + dx, cy + dy), ())
        )
        if all((xy[j, 0] - x) ** 2 + (xy[j, 1] - y) ** 2 >= spacing**2 for j in near):
            kept.append(i)
            grid.setdefault((cx, cy), []).append(i)
    return np.asarray(kept, dtype=np.int64)


def point_capacity_kg(
    *,
    bins: int,
    bin_l: float = 660.0,
    collections_per_day: float = 2.0,
    bulk_density_kg_m3: float = 200.0,
    fill_factor: float = 0.85,
) -> float:
    """Waste a gathering point can take per day, kg: bins × volume × fill × density × collections.

    The defaults (up to 12 bins of 660 L, emptied twice a day, 200 kg/m³, filled to 85%) are local
    assumptions; pass the ward's own figures.
    """
    if bins < 0 or bin_l <= 0 or collections_per_day <= 0:
        msg = "bins must be ≥ 0; bin volume and collections per day positive"
        raise ValidationError(msg)
    return bins * bin_l / 1000 * bulk_density_kg_m3 * fill_factor * collections_per_day
