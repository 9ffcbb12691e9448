"""Import and export of the layers that have no public source.

Those layers are gathering points, dumping reports, cameras, facilities, spontaneous dumps and
residential groups.

Files: GeoJSON, GeoPackage, CSV and Excel (``.xlsx``) with latitude/longitude columns, headers in
Vietnamese or English ("vĩ độ"/"lat", "kinh độ"/"lon", "tên"/"name", …). A file is validated
whole before anything is stored: size, readable format, CRS, coordinates, geometry type and
validity, required fields, position inside the ward (within a tolerance) and duplicates. A bad
file raises one `ValidationError` naming the row (or feature) and the reason; nothing is
half-imported.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gomrac.analysis.errors import CRSError, DataNotFoundError, ValidationError
from gomrac.geo.crs import METRIC_CRS, WGS84, wgs84_geometry_problem
from gomrac.geo.osm import OSM_ATTRIBUTION
from gomrac.geo.wards import _fold

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

LayerKind = Literal["gathering_points", "reports", "cameras", "facilities", "dump_sites", "groups"]
KINDS: tuple[str, ...] = (
    "gathering_points",
    "reports",
    "cameras",
    "facilities",
    "dump_sites",
    "groups",
)

#: Largest file accepted, bytes (a ward's layers are a few MB at most).
MAX_FILE_BYTES = 50 * 2**20

#: Canonical column → accepted headers (folded: lower case, no diacritics).
HEADERS: dict[str, tuple[str, ...]] = {
    "lat": ("lat", "latitude", "vi do", "y"),
    "lon": ("lon", "lng", "long", "longitude", "kinh do", "x"),
    "name": ("name", "ten", "ten diem", "ten diem tap ket", "ten camera", "ten to", "dia diem"),
    "status": ("status", "trang thai", "tinh trang"),
    "bins_240l": ("bins_240l", "thung 240l", "so thung 240l", "thung 240"),
    "bins_660l": ("bins_660l", "thung 660l", "so thung 660l", "thung 660"),
    "streams": ("streams", "dong chat thai", "loai rac"),
    "street": ("street", "duong", "pho", "dia chi"),
    "description": ("description", "mo ta", "noi dung"),
    "service_code": ("service_code", "ma dich vu", "loai vi pham", "loai"),
    "requested_datetime": (
        "requested_datetime",
        "datetime",
        "time",
        "thoi gian",
        "ngay gio",
        "ngay",
    ),
    "kind": ("kind", "type", "loai camera", "kieu"),
    "owner": ("owner", "chu so huu", "don vi quan ly"),
    "heading_deg": ("heading_deg", "heading", "huong"),
    "fov_deg": ("fov_deg", "fov", "goc nhin"),
    "range_m": ("range_m", "range", "tam nhin", "tam xa"),
    "households": ("households", "so ho", "ho"),
    "volume_m3": ("volume_m3", "khoi luong", "the tich"),
    "first_seen": ("first_seen", "ngay phat hien"),
    "location_precision": ("location_precision", "do chinh xac"),
}


@dataclass(frozen=True)
class LayerSpec:
    """What a layer kind needs: geometry types and required columns."""

    geom_types: tuple[str, ...]
    required: tuple[str, ...]


SPECS: dict[str, LayerSpec] = {
    "gathering_points": LayerSpec(("Point",), ()),
    "reports": LayerSpec(("Point",), ("requested_datetime",)),
    "cameras": LayerSpec(("Point",), ()),
    "facilities": LayerSpec(("Point", "Polygon", "MultiPolygon"), ("name",)),
    "dump_sites": LayerSpec(("Point", "Polygon", "MultiPolygon"), ()),
    "groups": LayerSpec(("Polygon", "MultiPolygon"), ("name",)),
}


def read_layer(
    path: str | Path,
    *,
    kind: str,
    area: BaseGeometry | None = None,
    area_name: str = "the ward",
    tolerance_m: float = 200.0,
    duplicate_m: float = 1.0,
    max_bytes: int = MAX_FILE_BYTES,
) -> gpd.GeoDataFrame:
    """Read and validate a layer file; return it in EPSG:4326 with canonical columns.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, CSV or Excel file.
    kind
        One of `KINDS`.
    area
        The ward polygon (EPSG:4326); features farther than `tolerance_m` outside are refused.
    area_name
        The ward's name, for messages.
    tolerance_m
        How far outside the ward a feature may lie, metres (points on a boundary street).
    duplicate_m
        Two point features closer than this are duplicates.
    max_bytes
        Largest file accepted.

    Raises
    ------
    ValidationError
        For any problem, naming the row or feature and the reason.
    """
    path = Path(path)
    if kind not in SPECS:
        msg = f"unknown layer kind {kind!r}; expected one of {', '.join(KINDS)}"
        raise ValidationError(msg)
    if not path.exists():
        msg = f"layer file {path} not found"
        raise DataNotFoundError(msg)
    size = path.stat().st_size
    if size > max_bytes:
        msg = (
            f"{path.name} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit "
            "for a layer file; split it or simplify its geometries"
        )
        raise ValidationError(msg)
    if size == 0:
        msg = f"{path.name} is empty"
        raise ValidationError(msg)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".xlsx", ".xls"}:
        gdf, labels = _read_table(path)
    elif suffix in {".geojson", ".json", ".gpkg", ".shp"}:
        gdf, labels = _read_vector(path)
    else:
        msg = f"{path.name}: unsupported format {suffix!r} (GeoJSON, GeoPackage, CSV or Excel)"
        raise ValidationError(msg)
    if gdf.empty:
        msg = f"{path.name} holds no features"
        raise ValidationError(msg)
    spec = SPECS[kind]
    _check_columns(gdf, spec, path.name)
    _check_geometries(gdf, spec, labels, path.name)
    if area is not None:
        _check_inside(gdf, area, labels, path.name, area_name=area_name, tolerance_m=tolerance_m)
    _check_duplicates(gdf, labels, path.name, duplicate_m=duplicate_m)
    gdf = _coerce(gdf, kind, labels, path.name)
    gdf["source"] = f"file:{path.name}"
    log.info("read_layer: %d %s from %s", len(gdf), kind, path.name)
    return gdf.reset_index(drop=True)


def _canonical(columns: list[str]) -> dict[str, str]:
    """Map file headers to canonical names (first match wins; unknown headers keep their name)."""
    lookup = {alias: canon for canon, aliases in HEADERS.items() for alias in aliases}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        key = re.sub(r"[^a-z0-9 ]+", " ", _fold(str(col))).strip()
        key = re.sub(r"\s+", " ", key)
        canon = lookup.get(key, lookup.get(key.replace(" ", "_"), str(col)))
        if canon in taken:
            canon = str(col)
        out[col] = canon
        taken.add(canon)
    return out


def _read_table(path: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    try:
        if path.suffix.lower() in {".xlsx", ".xls"}:
            df = pd.read_excel(path)
        else:
            df = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except Exception as exc:  # pandas raises many parser errors
        msg = f"cannot read {path.name}: {exc}"
        raise ValidationError(msg) from exc
    df = df.rename(columns=_canonical(list(df.columns)))
    missing = [c for c in ("lat", "lon") if c not in df]
    if missing:
        accepted = "; ".join(f"{c}: {', '.join(HEADERS[c])}" for c in missing)
        msg = (
            f"{path.name}: missing column(s) {', '.join(missing)} (accepted headers, "
            f"diacritics optional — {accepted}); found {', '.join(map(str, df.columns))}"
        )
        raise ValidationError(msg)
    labels = [f"row {i + 2}" for i in range(len(df))]  # header is row 1
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    for i in np.nonzero((lat.isna() | lon.isna()).to_numpy())[0]:
        msg = (
            f"{path.name}, {labels[i]}: latitude/longitude {df['lat'].iloc[i]!r}, "
            f"{df['lon'].iloc[i]!r} is not a number"
        )
        raise ValidationError(msg)
    bad = ~lat.between(-90, 90) | ~lon.between(-180, 180)
    for i in np.nonzero(bad.to_numpy())[0]:
        msg = (
            f"{path.name}, {labels[i]}: latitude {lat.iloc[i]} / longitude {lon.iloc[i]} out of "
            "range (are the columns swapped, or in a projected CRS?)"
        )
        raise ValidationError(msg)
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lat", "lon"]), geometry=gpd.points_from_xy(lon, lat), crs=WGS84
    )
    return gdf, labels


def _read_vector(path: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    if path.suffix.lower() in {".geojson", ".json"}:
        _check_geojson_text(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"cannot read {path.name}: {exc}"
        raise ValidationError(msg) from exc
    if gdf.crs is None:
        if path.suffix.lower() in {".geojson", ".json"}:
            gdf = gdf.set_crs(WGS84)  # RFC 7946: GeoJSON is WGS 84
        else:
            msg = f"{path.name} has no CRS; save it with one (EPSG:4326 or EPSG:32648)"
            raise ValidationError(msg)
    try:
        gdf = gdf.to_crs(WGS84)
    except Exception as exc:
        msg = f"{path.name}: cannot transform from {gdf.crs} to WGS 84: {exc}"
        raise CRSError(msg) from exc
    gdf = gdf.rename(columns=_canonical([c for c in gdf.columns if c != "geometry"]))
    labels = [f"feature {i + 1}" for i in range(len(gdf))]
    return gdf, labels


def _check_geojson_text(path: Path) -> None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path.name} is not valid JSON: {exc}"
        raise ValidationError(msg) from exc
    if not isinstance(doc, dict) or doc.get("type") not in {"FeatureCollection", "Feature"}:
        msg = f"{path.name} is not a GeoJSON FeatureCollection"
        raise ValidationError(msg)
    for i, feat in enumerate(doc.get("features", [doc]) or []):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if geom is None:
            msg = f"{path.name}, feature {i + 1}: no geometry"
            raise ValidationError(msg)
        coords = geom.get("coordinates")
        if coords is None and geom.get("type") != "GeometryCollection":
            msg = f"{path.name}, feature {i + 1}: geometry has no coordinates"
            raise ValidationError(msg)


def _check_columns(gdf: gpd.GeoDataFrame, spec: LayerSpec, fname: str) -> None:
    missing = [c for c in spec.required if c not in gdf]
    if missing:
        accepted = "; ".join(f"{c}: {', '.join(HEADERS.get(c, (c,)))}" for c in missing)
        msg = (
            f"{fname}: missing required column(s) {', '.join(missing)} "
            f"(accepted headers — {accepted})"
        )
        raise ValidationError(msg)
    for col in spec.required:
        empty = gdf[col].isna() | (gdf[col].astype(str).str.strip() == "")
        if empty.any():
            i = int(np.nonzero(empty.to_numpy())[0][0])
            msg = f"{fname}: required field {col!r} is empty in row/feature {i + 1}"
            raise ValidationError(msg)


def _check_geometries(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, labels: list[str], fname: str
) -> None:
    for i, geom in enumerate(gdf.geometry):
        problem = wgs84_geometry_problem(geom, spec.geom_types)
        if problem is not None:
            msg = f"{fname}, {labels[i]}: {problem}"
            raise ValidationError(msg)


def _check_inside(
    gdf: gpd.GeoDataFrame,
    area: BaseGeometry,
    labels: list[str],
    fname: str,
    *,
    area_name: str,
    tolerance_m: float,
) -> None:
    metric = gdf.to_crs(METRIC_CRS).geometry
    poly = gpd.GeoSeries([area], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    dist = metric.distance(poly).to_numpy()
    outside = np.nonzero(dist > tolerance_m)[0]
    if len(outside):
        i = int(outside[0])
        name = gdf["name"].iloc[i] if "name" in gdf else None
        what = f" ({name})" if isinstance(name, str) and name else ""
        more = f"; {len(outside) - 1} more feature(s) outside too" if len(outside) > 1 else ""
        msg = (
            f"{fname}, {labels[i]}{what}: {dist[i] / 1000:.2f} km outside {area_name} "
            f"(tolerance {tolerance_m:.0f} m){more}"
        )
        raise ValidationError(msg)


def _check_duplicates(
    gdf: gpd.GeoDataFrame, labels: list[str], fname: str, *, duplicate_m: float
) -> None:
    if not (gdf.geom_type == "Point").all():
        keys = gdf.geometry.normalize().to_wkb()
        dup = keys.duplicated(keep="first")
        if dup.any():
            i = int(np.nonzero(dup.to_numpy())[0][0])
            j = int(np.nonzero((keys == keys.iloc[i]).to_numpy())[0][0])
            msg = f"{fname}, {labels[i]}: same geometry as {labels[j]} (duplicate)"
            raise ValidationError(msg)
        return
    metric = gdf.to_crs(METRIC_CRS).geometry
    tree = shapely.STRtree(metric.to_numpy())
    left, right = tree.query(metric.to_numpy(), predicate="dwithin", distance=duplicate_m)
    pairs = [(int(a), int(b)) for a, b in zip(left, right, strict=True) if a < b]
    if "requested_datetime" in gdf:  # reports: two at one place at different times are fine
        times = gdf["requested_datetime"].astype(str).to_numpy()
        pairs = [(a, b) for a, b in pairs if times[a] == times[b]]
    if pairs:
        a, b = pairs[0]
        msg = f"{fname}, {labels[b]}: duplicate of {labels[a]} (within {duplicate_m:g} m)"
        raise ValidationError(msg)


def _coerce(gdf: gpd.GeoDataFrame, kind: str, labels: list[str], fname: str) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    numeric = (
        "bins_240l",
        "bins_660l",
        "heading_deg",
        "fov_deg",
        "range_m",
        "households",
        "volume_m3",
    )
    for col in numeric:
        if col in gdf:
            values = pd.to_numeric(gdf[col], errors="coerce")
            bad = values.isna() & gdf[col].notna() & (gdf[col].astype(str).str.strip() != "")
            if bad.any():
                i = int(np.nonzero(bad.to_numpy())[0][0])
                msg = f"{fname}, {labels[i]}: {col} {gdf[col].iloc[i]!r} is not a number"
                raise ValidationError(msg)
            if (values < 0).any():
                i = int(np.nonzero((values < 0).to_numpy())[0][0])
                msg = f"{fname}, {labels[i]}: {col} must not be negative"
                raise ValidationError(msg)
            gdf[col] = values
    if "requested_datetime" in gdf:
        times = _parse_local_times(gdf["requested_datetime"])
        if times.isna().any():
            i = int(np.nonzero(times.isna().to_numpy())[0][0])
            msg = (
                f"{fname}, {labels[i]}: date/time "
                f"{gdf['requested_datetime'].iloc[i]!r} not understood"
            )
            raise ValidationError(msg)
        gdf["requested_datetime"] = times
    if "name" not in gdf:
        gdf["name"] = [f"{kind}-{i + 1}" for i in range(len(gdf))]
    return gdf


#: Time zone of times written without one in a layer file (Hai Phong, UTC+7).
LOCAL_TZ = "Asia/Ho_Chi_Minh"


def _parse_local_times(values: pd.Series) -> pd.Series:
    """Parse date/times to UTC; a time without a zone is Hai Phong local time.

    Unreadable values become NaT.
    """
    out = []
    for v in values:
        t = pd.to_datetime(v, errors="coerce")
        if t is not pd.NaT and not pd.isna(t) and t.tzinfo is None:
            t = t.tz_localize(LOCAL_TZ)
        out.append(t.tz_convert("UTC") if not pd.isna(t) else pd.NaT)
    # pandas-stubs type list input as Sequence[float | date]; pandas also takes NaT in it
    times = pd.to_datetime(out, utc=True)  # type: ignore[arg-type]
    return pd.Series(times, index=values.index)


def remove_stale(folder: Path, pattern: str) -> int:
    """Remove the files matching `pattern` in `folder` that a previous run wrote as a set.

    A writer whose files come one per vehicle or per residential group calls this first, so
    that a folder written again holds no GPX or calendar of a truck or a group the new plan
    no longer has. Only files matching `pattern` directly in `folder` are removed; returns
    how many.
    """
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.glob(pattern) if p.is_file()]
    for path in stale:
        path.unlink()
    if stale:
        log.info(
            "remove_stale: %d files %s of a previous run removed from %s",
            len(stale),
            pattern,
            folder,
        )
    return len(stale)


def save_layer(
    gdf: gpd.GeoDataFrame, path: str | Path, *, attribution: list[str] | None = None
) -> Path:
    """Write a layer (GeoJSON, GeoPackage, CSV or Excel) in EPSG:4326 with its attribution.

    GeoJSON gets a top-level ``attribution`` member; CSV and Excel an ``attribution`` column and
    ``lat``/``lon`` columns; GeoPackage the attribution as layer metadata.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = attribution or [OSM_ATTRIBUTION]
    gdf = gdf.to_crs(WGS84).copy()
    for col in gdf.columns:  # lists (waste streams) as "food,recyclable", readable in every format
        if col != "geometry" and gdf[col].map(lambda v: isinstance(v, list | tuple)).any():
            gdf[col] = gdf[col].map(
                lambda v: ",".join(map(str, v)) if isinstance(v, list | tuple) else v
            )
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        doc: dict[str, Any] = json.loads(
            gdf.to_json(na="null", show_bbox=False, drop_id=True, default=str)
        )
        doc["attribution"] = " · ".join(lines)
        path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    elif suffix == ".gpkg":
        gdf.to_file(
            path, driver="GPKG", layer=path.stem, metadata={"attribution": " · ".join(lines)}
        )
    elif suffix in {".csv", ".xlsx"}:
        table = pd.DataFrame(gdf.drop(columns="geometry"))
        pts = gdf.geometry.representative_point()
        table["lat"], table["lon"] = pts.y.round(7), pts.x.round(7)
        table["attribution"] = " · ".join(lines)
        for col in table.columns:
            if pd.api.types.is_datetime64_any_dtype(table[col]) and getattr(
                table[col].dt, "tz", None
            ):
                table[col] = table[col].dt.tz_convert(None)
        if suffix == ".csv":
            table.to_csv(path, index=False, encoding="utf-8-sig")
        else:
            table.to_excel(path, index=False)
    else:
        msg = f"cannot write {path.name}: use .geojson, .gpkg, .csv or .xlsx"
        raise ValidationError(msg)
    return path
