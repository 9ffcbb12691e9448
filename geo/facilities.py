"""Named waste facilities: Tràng Cát landfill and the other treatment sites of Hai Phong.

Read from ``facilities/haiphong_waste_sites_approx.geojson`` in the data folder. Positions there
are the representative points of the host ward or commune, **not** facility footprints: each row
states its precision (``location_precision``). A user overrides a position with a facilities file
of their own (``--facilities FILE``, same columns or just name/lon/lat).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gomrac.analysis.errors import DataNotFoundError, UnknownWardError, ValidationError
from gomrac.geo.crs import WGS84
from gomrac.geo.settings import Settings
from gomrac.geo.wards import normalize_name

log = logging.getLogger(__name__)

FACILITIES_FILE = "facilities/haiphong_waste_sites_approx.geojson"
COLUMNS = ["fid", "name", "name_en", "kind", "location_precision", "source", "geometry"]


def load_facilities(path: str | Path | None = None, *, settings: Settings) -> gpd.GeoDataFrame:
    """Load the named facilities with a position (EPSG:4326), from the data folder or a user file.

    Rows without coordinates (Soi Nhụ) are left out and logged.
    """
    src = Path(path) if path is not None else settings.data_dir / FACILITIES_FILE
    if not src.exists():
        msg = f"facilities file {src} not found"
        raise DataNotFoundError(msg)
    if src.suffix.lower() == ".csv":
        df = pd.read_csv(src)
        if not {"lon", "lat"} <= set(df.columns):
            msg = f"{src.name}: a facilities CSV needs lon and lat columns"
            raise ValidationError(msg)
        df = df.dropna(subset=["lon", "lat"])
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)
    else:
        gdf = gpd.read_file(src)
        gdf = gdf.set_crs(WGS84) if gdf.crs is None else gdf.to_crs(WGS84)
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    for name in gdf.loc[missing, gdf.columns[0]]:
        log.info("facility %s has no position; skipped", name)
    gdf = gdf[~missing].copy()
    out = gpd.GeoDataFrame(
        {
            "fid": gdf.get("fid", pd.Series(range(len(gdf)), index=gdf.index)).astype(str),
            "name": gdf.get("name_vi", gdf.get("name")),
            "name_en": gdf.get("name_en", gdf.get("name")),
            "kind": gdf.get("facility_type", gdf.get("kind", "facility")),
            "location_precision": gdf.get("location_precision", "given by user"),
            "source": f"file:{src.name}",
        },
        geometry=gdf.geometry.to_numpy(),
        crs=WGS84,
    )
    return out.reset_index(drop=True)


def find_facility(facilities: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Find the facility whose id, Vietnamese or English name contains `name`.

    Diacritics are ignored.
    """
    key = normalize_name(name).replace(" ", "")

    def hit(row: pd.Series) -> bool:
        texts = (row["fid"], row["name"], row["name_en"])
        return any(key in normalize_name(str(t)).replace(" ", "").replace("_", "") for t in texts)

    rows = facilities[facilities.apply(hit, axis=1)]
    if rows.empty:
        names = ", ".join(facilities["name"].astype(str))
        msg = f"no facility named {name!r}; known facilities: {names}"
        raise UnknownWardError(msg)
    return rows.iloc[[0]]


DEFAULT_LANDFILL = "Tràng Cát"


def choose_landfill(
    facilities: gpd.GeoDataFrame,
    area_wgs84: object,
    *,
    name: str | None = None,
    max_km: float = 40.0,
) -> tuple[gpd.GeoDataFrame, str]:
    """Choose the facility a ward's trucks unload at, with a note saying why it was chosen.

    A name given by the user wins. Otherwise Tràng Cát (the landfill of the central wards) when it
    lies within `max_km` of the area, else the nearest facility with a position.
    """
    if name:
        row = find_facility(facilities, name)
        return row, f"facility chosen by the user: {row['name'].iloc[0]}"
    if facilities.empty:
        msg = "the facilities file lists no facility with a position"
        raise DataNotFoundError(msg)
    metric = facilities.to_crs("EPSG:32648")
    target = gpd.GeoSeries([area_wgs84], crs=WGS84).to_crs("EPSG:32648").iloc[0]
    dist_km = metric.distance(target) / 1000
    nearest = facilities.loc[[dist_km.idxmin()]]
    try:
        default = find_facility(facilities, DEFAULT_LANDFILL)
    except UnknownWardError:
        return nearest, (
            f"{DEFAULT_LANDFILL} is not in the facilities file; nearest facility "
            f"{nearest['name'].iloc[0]} used"
        )
    if float(dist_km.loc[default.index[0]]) <= max_km:
        return default, f"default landfill {default['name'].iloc[0]}"
    note = (
        f"{DEFAULT_LANDFILL} is {dist_km.loc[default.index[0]]:.0f} km away; nearest facility "
        f"{nearest['name'].iloc[0]} ({nearest['location_precision'].iloc[0]}) used instead"
    )
    return nearest, note
