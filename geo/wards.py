"""Wards and communes of Hai Phong after 1 July 2025, and study areas from boundary files.

A ward is found by name with or without diacritics, case, tone placement ("Hòa"/"Hoà") or the
unit prefix ("Phường", "Xã", "Đặc khu"): ``"Lê Chân"``, ``"le chan"`` and ``"Phuong Le Chan"`` are
the same ward. A pre-2025 name ("Trại Cau", "Phường Hàng Kênh") resolves to the new unit that took
most of its territory: first through the official old-to-new crosswalk, then through the 2009
commune polygons (for units merged before 2025), with a note saying how.

Boundary sources, in order of preference (the first file present is used, and `boundary_source`
says which):

1. ``boundaries/haiphong_wards_2025_osm.geojson``: OSM boundary relations of the new units, when a
   user has extracted them (``osmium tags-filter … r/boundary=administrative``);
2. ``boundaries/haiphong_wards_2025_official_map.geojson``: the national reference map of the 2025
   reorganisation (all 114 units);
3. ``boundaries/haiphong_wards_2025_APPROX_from_2009.gpkg``: 2009 communes dissolved by the merger
   list (approximate; 110 units).
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gomrac.analysis.errors import (
    ApproximateDataWarning,
    DataNotFoundError,
    UnknownWardError,
    ValidationError,
)
from gomrac.geo.crs import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

OSM_WARDS = "boundaries/haiphong_wards_2025_osm.geojson"
OFFICIAL_WARDS = "boundaries/haiphong_wards_2025_official_map.geojson"
APPROX_WARDS = "boundaries/haiphong_wards_2025_APPROX_from_2009.gpkg"
COMMUNES_2009 = "boundaries/haiphong_haiduong_admin_2009.gpkg"
CROSSWALK = "boundaries/haiphong_wards_2025_crosswalk.csv"
CITY_OUTLINE = "boundaries/haiphong_city_outline_2025_official_map.geojson"

BOUNDARY_ATTRIBUTION = {
    "osm": "© OpenStreetMap contributors (ODbL)",
    "official_map_2025": (
        "Ranh giới hành chính 2025: NXB Tài nguyên Môi trường và Bản đồ Việt Nam "
        "(sapnhap.bando.com.vn), via thanglequoc/vietnamese-provinces-database"
    ),
    "approx_from_2009": (
        "Approximate: 2009 communes (censusVN2009, © 2017 Marc Choisy and Lucie Contamin, MIT) "
        "dissolved by the dvhcvn/20250701 merger list (MIT)"
    ),
}

_PREFIXES = ("dac khu", "thi tran", "phuong", "xa", "ward", "commune", "p.", "x.")


@dataclass(frozen=True)
class StudyArea:
    """A ward, commune or any polygon the pipeline runs on.

    Attributes
    ----------
    name
        Display name ("Phường Lê Chân", or the boundary file's name).
    slug
        ASCII key for caches and file names ("le_chan").
    geometry
        Boundary in EPSG:4326.
    boundary_source
        Where the polygon comes from: ``osm``, ``official_map_2025``, ``approx_from_2009`` or
        ``file:<path>``.
    code
        Official 5-digit unit code, or None for an area from a file.
    unit_type
        ``phường``, ``xã`` or ``đặc khu``; None for an area from a file.
    in_haiphong
        True for the units of Hai Phong (its census population and facilities apply).
    notes
        Human-readable remarks: how an old name was resolved, approximations.
    """

    name: str
    slug: str
    geometry: BaseGeometry
    boundary_source: str
    code: str | None = None
    unit_type: str | None = None
    in_haiphong: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def is_urban(self) -> bool:
        """True for a ward (phường) or an area from a file; False for a rural commune (xã)."""
        return self.unit_type != "xã"

    def to_gdf(self) -> gpd.GeoDataFrame:
        """Return the boundary as a one-row GeoDataFrame in EPSG:4326."""
        return gpd.GeoDataFrame(
            {"name": [self.name], "code": [self.code], "boundary_source": [self.boundary_source]},
            geometry=[self.geometry],
            crs=WGS84,
        )

    def metric_geometry(self) -> BaseGeometry:
        """Return the boundary in EPSG:32648 (metres)."""
        return self.to_gdf().to_crs(METRIC_CRS).geometry.iloc[0]

    @property
    def area_km2(self) -> float:
        """Area of the polygon in km² (computed in UTM 48N)."""
        return float(self.metric_geometry().area / 1e6)


def normalize_name(name: str) -> str:
    """Fold a Vietnamese unit name for matching: no diacritics, lower case, no unit prefix.

    Examples
    --------
    >>> normalize_name("Phường Việt Hoà")
    'viet hoa'
    >>> normalize_name("  XA  Ke Sat ")
    'ke sat'
    """
    folded = _fold(name)
    for prefix in _PREFIXES:
        if folded.startswith(prefix + " "):
            folded = folded[len(prefix) + 1 :]
            break
    return folded.strip()


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text.lower()).strip()


def _tone_modern(text: str) -> str:
    """Lower-case NFC text with the old tone placement folded to the modern one ("hoà" → "hòa")."""
    text = unicodedata.normalize("NFC", text.lower())
    for old, new in (
        ("oà", "òa"),
        ("oá", "óa"),
        ("oả", "ỏa"),
        ("oã", "õa"),
        ("oạ", "ọa"),
        ("uỳ", "ùy"),
        ("uý", "úy"),
        ("uỷ", "ủy"),
        ("uỹ", "ũy"),
        ("uỵ", "ụy"),
        ("oè", "òe"),
        ("oé", "óe"),
        ("oẻ", "ỏe"),
        ("oẽ", "õe"),
        ("oẹ", "ọe"),
    ):
        text = text.replace(old, new)
    return re.sub(r"\s+", " ", text).strip()


def slugify(name: str) -> str:
    """ASCII slug for cache keys and file names ("Phường Lê Chân" → "le_chan")."""
    return re.sub(r"[^a-z0-9]+", "_", normalize_name(name)).strip("_") or "area"


def _ward_layer(settings: Settings) -> tuple[gpd.GeoDataFrame, str]:
    """Read the ward polygons (EPSG:4326) from the best source present, and that source's key."""
    return _ward_layer_in(settings.require_data_dir())


@cache
def _ward_layer_in(data_dir: Path) -> tuple[gpd.GeoDataFrame, str]:
    for relative, key in ((OSM_WARDS, "osm"), (OFFICIAL_WARDS, "official_map_2025")):
        path = data_dir / relative
        if path.exists():
            gdf = gpd.read_file(path)
            return _standardise(gdf, key), key
    path = data_dir / APPROX_WARDS
    if path.exists():
        gdf = gpd.read_file(path, layer="wards_2025_approx")
        gdf = gdf.rename(columns={"new_code": "code", "new_name": "full_name"})
        gdf["name"] = gdf["full_name"].map(lambda s: re.sub(r"^(Phường|Xã|Đặc khu)\s+", "", s))
        gdf["unit_type"] = gdf["full_name"].map(_unit_type_of)
        return _standardise(gdf, "approx_from_2009"), "approx_from_2009"
    msg = (
        f"no ward boundaries found under {data_dir}; expected {OFFICIAL_WARDS} "
        "(see SOURCES.md) or set GOMRAC_DATA_DIR"
    )
    raise DataNotFoundError(msg)


def _unit_type_of(full_name: str) -> str:
    folded = _fold(full_name)
    if folded.startswith("phuong"):
        return "phường"
    if folded.startswith("dac khu"):
        return "đặc khu"
    return "xã"


def _standardise(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    gdf = gdf.to_crs(WGS84) if gdf.crs is not None else gdf.set_crs(WGS84)
    if "full_name" not in gdf:
        gdf["full_name"] = gdf["name"]
    if "unit_type" not in gdf:
        gdf["unit_type"] = gdf["full_name"].map(_unit_type_of)
    if "name_modern_tone" in gdf:
        gdf["name"] = gdf["name_modern_tone"]
        gdf["full_name"] = gdf["full_name_modern_tone"]
    gdf["code"] = gdf["code"].astype(str)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.to_numpy())
    gdf["boundary_source"] = source
    keep = ["code", "name", "full_name", "unit_type", "boundary_source", "geometry"]
    return gdf[keep].sort_values("code").reset_index(drop=True)


def list_wards(*, settings: Settings) -> gpd.GeoDataFrame:
    """All post-2025 units of Hai Phong with code, names, type, source and area (EPSG:4326).

    Returns
    -------
    gpd.GeoDataFrame
        Columns ``code, name, full_name, unit_type, boundary_source, area_km2, geometry``.
    """
    layer, _ = _ward_layer(settings)
    out = layer.copy()
    out["area_km2"] = out.to_crs(METRIC_CRS).area / 1e6
    return out


def find_ward(name: str, *, settings: Settings) -> StudyArea:
    """Resolve a ward or commune name (new or pre-2025) to a `StudyArea`.

    Parameters
    ----------
    name
        "Lê Chân", "le chan", "Phuong Le Chan", "Phường Việt Hoà", or an old name ("Trại Cau").

    Returns
    -------
    StudyArea
        The new unit; `notes` say how an old name was resolved.

    Raises
    ------
    UnknownWardError
        When nothing matches; the message lists the closest names.
    """
    layer, source = _ward_layer(settings)
    if not name or not name.strip():
        msg = "empty ward name; run `gomrac wards` for the list of Hai Phong's 114 units"
        raise UnknownWardError(msg)
    row = _match_new(layer, name)
    notes: list[str] = []
    if row is None:
        row, note = _match_old(layer, name, settings.require_data_dir())
        if row is None:
            raise UnknownWardError(_unknown_message(layer, name))
        notes.append(note)
    if source == "approx_from_2009":
        notes.append("boundary approximated from 2009 communes; not for official use")
        warnings.warn(
            f"{row['full_name']}: boundary approximated from 2009 communes",
            ApproximateDataWarning,
            stacklevel=2,
        )
    return StudyArea(
        name=str(row["full_name"]),
        slug=slugify(str(row["name"])) + f"_{row['code']}",
        geometry=row.geometry,
        boundary_source=source,
        code=str(row["code"]),
        unit_type=str(row["unit_type"]),
        in_haiphong=True,
        notes=tuple(notes),
    )


def _match_new(layer: gpd.GeoDataFrame, name: str) -> pd.Series | None:
    modern = _tone_modern(name)
    exact = layer[
        (layer["full_name"].map(_tone_modern) == modern)
        | (layer["name"].map(_tone_modern) == modern)
    ]
    if len(exact) == 1:
        row: pd.Series = exact.iloc[0]
        return row
    key = normalize_name(name)
    folded_prefix = _fold(name)
    hits = layer[layer["name"].map(normalize_name) == key]
    if len(hits) > 1:  # "Cẩm Giang" (phường) and "Cẩm Giàng" (xã) fold to the same key
        by_prefix = hits[hits["full_name"].map(_fold) == folded_prefix]
        if len(by_prefix) == 1:
            row = by_prefix.iloc[0]
            return row
        options = ", ".join(hits["full_name"])
        msg = (
            f"{name!r} matches several units: {options}; "
            "write the name with its diacritics or prefix"
        )
        raise UnknownWardError(msg)
    return hits.iloc[0] if len(hits) == 1 else None


@cache
def _crosswalk(data_dir: Path) -> pd.DataFrame:
    path = data_dir / CROSSWALK
    if not path.exists():
        return pd.DataFrame(
            columns=["new_code", "new_name", "old_name", "old_district", "merge_type"]
        )
    cw = pd.read_csv(path, dtype={"new_code": str, "old_code": str})
    cw["key"] = cw["old_name"].map(normalize_name)
    return cw


@cache
def _communes_2009(data_dir: Path) -> gpd.GeoDataFrame:
    path = data_dir / COMMUNES_2009
    if not path.exists():
        return gpd.GeoDataFrame(columns=["commune_vn", "district_vn", "geometry"], crs=WGS84)
    gdf = gpd.read_file(path, layer="communes_2009")
    gdf["key"] = gdf["commune_vn"].map(normalize_name)
    return gdf


def _match_old(layer: gpd.GeoDataFrame, name: str, data_dir: Path) -> tuple[pd.Series | None, str]:
    """Resolve a pre-2025 unit name through the crosswalk, then the 2009 polygons."""
    key = normalize_name(name)
    cw = _crosswalk(data_dir)
    rows = cw[cw["key"] == key]
    communes = _communes_2009(data_dir)
    old_polys = communes[communes["key"] == key]
    if len(rows):
        districts = rows["old_district"].fillna("?").unique()
        if len(districts) > 1:
            options = "; ".join(
                f"{r.old_name} ({r.old_district}) → {r.new_name}" for r in rows.itertuples()
            )
            msg = f"old name {name!r} existed in several districts: {options}; use the new name"
            raise UnknownWardError(msg)
        targets = list(dict.fromkeys(rows["new_code"]))
        chosen = _largest_overlap(layer, targets, old_polys)
        row = layer[layer["code"] == chosen].iloc[0]
        parts = ", ".join(f"{r.new_name} ({r.merge_type})" for r in rows.itertuples())
        note = (
            f"pre-2025 unit {rows.iloc[0]['old_name']} ({districts[0]}) resolved to "
            f"{row['full_name']} by the official crosswalk (dvhcvn/20250701): {parts}"
        )
        return row, note
    if len(old_polys):
        if old_polys["district_vn"].nunique() > 1:
            options = "; ".join(f"{r.commune_vn} ({r.district_vn})" for r in old_polys.itertuples())
            msg = f"old name {name!r} existed in several districts: {options}; use the new name"
            raise UnknownWardError(msg)
        chosen = _largest_overlap(layer, list(layer["code"]), old_polys)
        row = layer[layer["code"] == chosen].iloc[0]
        old = old_polys.iloc[0]
        note = (
            f"pre-2025 unit {old['commune_vn']} ({old['district_vn']}, merged before 2025, not in "
            f"the crosswalk) resolved to {row['full_name']} by the largest overlap of its 2009 "
            "polygon with the 2025 boundaries"
        )
        return row, note
    return None, ""


def _largest_overlap(layer: gpd.GeoDataFrame, codes: list[str], old: gpd.GeoDataFrame) -> str:
    if len(codes) == 1 or old.empty:
        return codes[0]
    cand = layer[layer["code"].isin(codes)].to_crs(METRIC_CRS)
    old_geom = old.to_crs(METRIC_CRS).union_all()
    overlap = cand.geometry.intersection(old_geom).area
    return str(cand.loc[overlap.idxmax(), "code"])


def _unknown_message(layer: gpd.GeoDataFrame, name: str) -> str:
    names = list(layer["full_name"])
    keys = {normalize_name(n): n for n in names}
    close = difflib.get_close_matches(normalize_name(name), list(keys), n=5, cutoff=0.5)
    suggestions = ", ".join(keys[c] for c in close) or ", ".join(names[:5])
    return (
        f"unknown ward or commune {name!r} in Hai Phong; closest names: {suggestions}. "
        "Run `gomrac wards` for the full list, or pass --boundary FILE for another area."
    )


def area_from_file(path: str | Path, *, settings: Settings, name: str | None = None) -> StudyArea:
    """Read a study area from any polygon file (GeoJSON, GeoPackage, Shapefile, …).

    All polygons in the file are merged. A file without a CRS is read as EPSG:4326 (GeoJSON's
    default). The area counts as part of Hai Phong when its centroid lies in the city outline.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ValidationError
        If it cannot be read or holds no valid polygon.
    """
    path = Path(path)
    if not path.exists():
        msg = f"boundary file {path} not found"
        raise DataNotFoundError(msg)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"cannot read boundary file {path}: {exc}"
        raise ValidationError(msg) from exc
    if gdf.empty:
        msg = f"boundary file {path} holds no features"
        raise ValidationError(msg)
    gdf = gdf.set_crs(WGS84) if gdf.crs is None else gdf.to_crs(WGS84)
    polys = [g for g in shapely.make_valid(gdf.geometry.to_numpy()) if _is_areal(g)]
    if not polys:
        msg = f"boundary file {path} holds no polygon (found {sorted(set(gdf.geom_type))})"
        raise ValidationError(msg)
    geom = shapely.union_all(polys)
    title = name or _first_text(gdf, ("name", "ten", "tên", "full_name")) or path.stem
    in_hp = _in_haiphong(geom, settings)
    return StudyArea(
        name=title,
        slug=slugify(path.stem),
        geometry=geom,
        boundary_source=f"file:{path.name}",
        in_haiphong=in_hp,
        notes=(
            () if in_hp else ("outside Hai Phong: no census population or Hai Phong facilities",)
        ),
    )


def _is_areal(geom: BaseGeometry | None) -> bool:
    if geom is None:
        return False
    if isinstance(geom, Polygon | MultiPolygon):
        return not geom.is_empty
    if geom.geom_type == "GeometryCollection":
        return any(_is_areal(g) for g in geom.geoms)
    return False


def _first_text(gdf: gpd.GeoDataFrame, columns: Iterable[str]) -> str | None:
    for col in columns:
        if col in gdf and pd.notna(gdf[col].iloc[0]) and str(gdf[col].iloc[0]).strip():
            return str(gdf[col].iloc[0])
    return None


def city_outline(*, settings: Settings) -> BaseGeometry | None:
    """Hai Phong's 2025 outline (EPSG:4326), or None when the file is absent."""
    return _city_outline_in(settings.data_dir)


@cache
def _city_outline_in(data_dir: Path) -> BaseGeometry | None:
    path = data_dir / CITY_OUTLINE
    if not path.exists():
        return None
    return shapely.union_all(
        shapely.make_valid(gpd.read_file(path).to_crs(WGS84).geometry.to_numpy())
    )


def _in_haiphong(geom: BaseGeometry, settings: Settings) -> bool:
    outline = city_outline(settings=settings)
    return bool(outline is not None and outline.contains(geom.representative_point()))


def resolve_area(
    ward: str | None = None, *, settings: Settings, boundary: str | Path | None = None
) -> StudyArea:
    """Resolve the study area of a command from a ward name or a boundary file.

    The boundary file wins when both are given.
    """
    if boundary is not None:
        return area_from_file(boundary, settings=settings)
    if ward is None:
        msg = "give a ward name or --boundary FILE"
        raise UnknownWardError(msg)
    return find_ward(ward, settings=settings)
