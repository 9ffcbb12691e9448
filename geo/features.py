"""Buildings, sensitive sites, markets, water and waste facilities of a study area.

Features are read from every local OSM extract that overlaps the area (an OSM XML export, or a
PBF clipped with osmium-tool), from Overpass when online and no extract covers the area, and, in
Hai Phong, from the HOT export of OSM points of interest (``osm/haiphong_poi_nodes_hotosm.gpkg``,
nodes only). All layers are returned in EPSG:4326 with a ``source`` column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import osmnx as ox
import pandas as pd
import shapely
from shapely.geometry import box

from gomrac.geo.crs import WGS84
from gomrac.geo.osm import features_xml, local_extracts, osmnx_settings, padded_bbox
from gomrac.geo.settings import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gomrac.geo.osm import OsmSource
    from gomrac.geo.wards import StudyArea

log = logging.getLogger(__name__)

POI_FILE = "osm/haiphong_poi_nodes_hotosm.gpkg"

#: OSM tags read for each layer (osmnx `features_from_*` tag syntax).
LAYER_TAGS: dict[str, dict[str, bool | str | list[str]]] = {
    "buildings": {"building": True},
    "schools": {"amenity": ["school", "college", "university"]},
    "kindergartens": {"amenity": ["kindergarten", "childcare"]},
    "markets": {"amenity": ["marketplace"]},
    "hospitals": {
        "amenity": ["hospital", "clinic", "doctors"],
        "healthcare": ["hospital", "clinic"],
    },
    "worship": {"amenity": ["place_of_worship"]},
    "water": {
        "natural": ["water"],
        "waterway": ["river", "canal", "stream", "drain", "ditch"],
        "landuse": ["reservoir", "basin"],
    },
    "waste_facilities": {
        "amenity": ["waste_disposal", "recycling", "waste_transfer_station"],
        "landuse": ["landfill"],
    },
}
#: Point-of-interest classes of the HOT export per layer (column ``amenity``).
_POI_AMENITY = {
    "schools": {"school", "college", "university"},
    "kindergartens": {"kindergarten", "childcare"},
    "markets": {"marketplace"},
    "hospitals": {"hospital", "clinic", "doctors"},
    "worship": {"place_of_worship"},
    "waste_facilities": {"waste_disposal", "recycling", "waste_transfer_station"},
}


@dataclass(frozen=True)
class Features:
    """The feature layers of a study area (EPSG:4326) and where they came from.

    Attributes
    ----------
    layers
        Layer name → GeoDataFrame with ``name``, ``kind``, ``source`` and geometry.
    building_extent
        The part of the area where building footprints were mapped in the data read (the extent
        of the extracts that hold buildings); demand uses footprints there and streets elsewhere.
    sources
        Human-readable list of the sources read.
    """

    layers: dict[str, gpd.GeoDataFrame]
    building_extent: BaseGeometry
    sources: tuple[str, ...] = field(default=())

    def count(self, layer: str, *, within: BaseGeometry | None = None) -> int:
        """Count a layer's features (0 when absent), optionally only those touching `within`."""
        gdf = self.layers.get(layer)
        if gdf is None or gdf.empty:
            return 0
        return int(gdf.intersects(within).sum()) if within is not None else len(gdf)


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [], "kind": [], "source": []}, geometry=[], crs=WGS84)


def features_for(
    area: StudyArea,
    *,
    settings: Settings,
    network_source: OsmSource | None = None,
    buffer_deg: float = 0.005,
) -> Features:
    """Read every feature layer for a study area (plus a small buffer).

    Parameters
    ----------
    area
        The ward or boundary.
    network_source
        The source the road network came from; when it is Overpass, features come from Overpass
        too.
    buffer_deg
        Buffer around the area's bounding box in degrees (about 500 m), so that a school just
        across the boundary still excludes gathering points near it.
    """
    region = box(*padded_bbox(area.geometry, buffer_deg))
    frames: dict[str, list[gpd.GeoDataFrame]] = {k: [] for k in LAYER_TAGS}
    sources: list[str] = []
    extents: list[BaseGeometry] = []
    for src in _overlapping_extracts(region, settings):
        xml = features_xml(
            src,
            padded_bbox(region),
            settings.osm_cache_dir / area.slug / f"_features-{src.cache_key()}.osm",
        )
        if xml is None:
            continue
        got = _read_osm_features(xml, region, label=src.label)
        if got is None:
            continue
        for layer, gdf in got.items():
            frames[layer].append(gdf)
        sources.append(src.label)
        if len(got["buildings"]) and src.bounds is not None:
            extents.append(box(*src.bounds))
    if network_source is not None and network_source.kind == "overpass":
        got = _overpass_features(region, settings)
        for layer, gdf in got.items():
            frames[layer].append(gdf)
        sources.append("overpass")
        if len(got["buildings"]):
            extents.append(region)
    poi = _poi_layers(region, settings) if area.in_haiphong else {}
    if poi:
        sources.append(f"file:{POI_FILE.split('/')[-1]}")
        for layer, gdf in poi.items():
            frames[layer].append(gdf)
    layers = {k: _dedupe(v) for k, v in frames.items()}
    extent = (
        shapely.union_all(extents).intersection(area.geometry) if extents else shapely.Polygon()
    )
    log.info("features_for %s: %s", area.name, {k: len(v) for k, v in layers.items()})
    return Features(layers=layers, building_extent=extent, sources=tuple(sources))


def _overlapping_extracts(region: BaseGeometry, settings: Settings) -> list[OsmSource]:
    return [
        s
        for s in local_extracts(settings=settings)
        if s.kind in {"osm_xml", "pbf"}
        and s.bounds is not None
        and box(*s.bounds).intersects(region)
    ]


def _all_tags() -> dict[str, bool | str | list[str]]:
    merged: dict[str, set[str] | bool] = {}
    for tags in LAYER_TAGS.values():
        for key, val in tags.items():
            if val is True:
                merged[key] = True
            elif merged.get(key) is not True:
                cur = merged.setdefault(key, set())
                assert isinstance(cur, set)
                cur.update([val] if isinstance(val, str) else list(val))  # type: ignore[arg-type]
    return {k: (v if v is True else sorted(v)) for k, v in merged.items()}  # type: ignore[arg-type]


def _read_osm_features(
    path: object, region: BaseGeometry, *, label: str
) -> dict[str, gpd.GeoDataFrame] | None:
    try:
        raw = ox.features_from_xml(path, polygon=region, tags=_all_tags())  # type: ignore[arg-type]
    except (ox._errors.InsufficientResponseError, ValueError):
        return None
    return _split_layers(raw.reset_index(), label)


def _overpass_features(region: BaseGeometry, settings: Settings) -> dict[str, gpd.GeoDataFrame]:
    try:
        with osmnx_settings(settings):
            raw = ox.features_from_polygon(region, tags=_all_tags())
    except ox._errors.InsufficientResponseError:
        return {k: _empty() for k in LAYER_TAGS}
    return _split_layers(raw.reset_index(), "overpass")


def _split_layers(raw: gpd.GeoDataFrame, label: str) -> dict[str, gpd.GeoDataFrame]:
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer, tags in LAYER_TAGS.items():
        mask = pd.Series(False, index=raw.index)
        kind = pd.Series("", index=raw.index, dtype=object)
        for key, val in tags.items():
            if key not in raw:
                continue
            col = raw[key]
            hit = col.notna() if val is True else col.isin([val] if isinstance(val, str) else val)
            if layer == "buildings":
                hit &= col.astype(str) != "no"
            kind = kind.where(~hit | (kind != ""), col.astype(str))
            mask |= hit
        sub = raw[mask]
        if layer == "water":  # keep areas and lines; a lone node says little about a bank
            sub = sub[sub.geom_type != "Point"]
        gdf = gpd.GeoDataFrame(
            {
                "osm_id": sub.get("id", pd.Series(index=sub.index, dtype=object)).astype(str),
                "name": sub.get("name", pd.Series(index=sub.index, dtype=object)),
                "kind": kind[mask],
                "levels": pd.to_numeric(
                    sub.get("building:levels", pd.Series(index=sub.index, dtype=object)),
                    errors="coerce",
                ),
                "source": label,
            },
            geometry=sub.geometry.to_numpy(),
            crs=WGS84,
        )
        out[layer] = gdf.reset_index(drop=True)
    return out


def _poi_layers(region: BaseGeometry, settings: Settings) -> dict[str, gpd.GeoDataFrame]:
    path = settings.data_dir / POI_FILE
    if not path.exists():
        return {}
    poi = gpd.read_file(path, bbox=tuple(region.bounds)).to_crs(WGS84)
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer, classes in _POI_AMENITY.items():
        sub = poi[poi["amenity"].isin(classes)]
        out[layer] = gpd.GeoDataFrame(
            {
                "osm_id": "node/" + sub["osm_id"].astype(str),
                "name": sub["name"],
                "kind": sub["amenity"],
                "levels": float("nan"),
                "source": f"file:{path.name}",
            },
            geometry=sub.geometry.to_numpy(),
            crs=WGS84,
        ).reset_index(drop=True)
    return out


def _dedupe(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty()
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    # the same OSM element read from two extracts (or the POI export) is kept once
    gdf["_key"] = gdf["osm_id"].str.replace(r"^(node|way|relation)/", "", regex=True)
    return gdf.drop_duplicates("_key").drop(columns="_key").reset_index(drop=True)
