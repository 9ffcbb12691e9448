"""`gomrac layers import|export`: validated layer files into and out of the database.

A file is validated whole (`geo.layers.read_layer`) and written in one transaction
(`geo.store.replace_layer` / `append_layer`): a bad file changes nothing already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from gomrac.analysis.errors import ValidationError
from gomrac.geo import models
from gomrac.geo.layers import read_layer, save_layer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from gomrac.geo.store import LayerKind
    from gomrac.geo.wards import StudyArea

log = logging.getLogger(__name__)


@contextmanager
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """Yield an engine on the database, migrated to the latest schema.

    The engine is disposed of however the block ends.
    """
    from gomrac.geo.db import init_db, make_engine

    engine = make_engine(database_url)
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()


#: File layer kind → (database layer kind, model).
DB_KINDS: dict[str, tuple[LayerKind, type[models.Base]]] = {
    "gathering_points": ("gathering_points", models.GatheringPoint),
    "cameras": ("cameras", models.Camera),
    "reports": ("reports", models.Report),
    "dump_sites": ("dump_sites", models.DumpSite),
    "groups": ("residential_groups", models.ResidentialGroup),
    "facilities": ("facilities", models.Facility),
}


def to_model_columns(gdf: gpd.GeoDataFrame, kind: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Keep the columns the database model has; return the frame and the columns dropped."""
    _, model = DB_KINDS[kind]
    known = set(model.__table__.columns.keys()) - {"id", "geom"}
    dropped = [c for c in gdf.columns if c != "geometry" and c not in known]
    return gdf.drop(columns=dropped), dropped


def import_layer(
    path: str | Path,
    *,
    kind: str,
    area: StudyArea,
    database_url: str,
    mode: str = "replace",
    tolerance_m: float = 200.0,
) -> dict[str, Any]:
    """Validate a layer file against the ward and store it, all or nothing.

    Returns the counts before and after and the columns the database does not keep.
    """
    from gomrac.geo.db import session_scope
    from gomrac.geo.store import append_layer, count_layer, replace_layer

    if kind not in DB_KINDS:
        msg = f"unknown layer kind {kind!r}; expected one of {', '.join(DB_KINDS)}"
        raise ValidationError(msg)
    if mode not in {"replace", "append"}:
        msg = f"mode must be replace or append, got {mode!r}"
        raise ValidationError(msg)
    gdf = read_layer(
        path, kind=kind, area=area.geometry, area_name=area.name, tolerance_m=tolerance_m
    )
    gdf, dropped = to_model_columns(gdf, kind)
    db_kind, _ = DB_KINDS[kind]
    with migrated_engine(database_url) as engine:
        with session_scope(engine) as session:
            before = count_layer(session, kind=db_kind, ward_code=area.code)
        with session_scope(engine) as session:
            write = replace_layer if mode == "replace" else append_layer
            written = write(
                session,
                kind=db_kind,
                ward_code=area.code,
                gdf=gdf,
                source=f"file:{Path(path).name}",
            )
        with session_scope(engine) as session:
            after = count_layer(session, kind=db_kind, ward_code=area.code)
    return {
        "ward": area.name,
        "kind": kind,
        "mode": mode,
        "rows_written": written,
        "rows_before": before,
        "rows_after": after,
        "columns_ignored": dropped,
    }


def export_layer(
    path: str | Path,
    *,
    kind: str,
    area: StudyArea,
    database_url: str,
    attribution: list[str] | None = None,
) -> dict[str, Any]:
    """Write a stored layer of the ward to a file (GeoJSON, GeoPackage, CSV or Excel)."""
    from gomrac.geo.db import session_scope
    from gomrac.geo.store import load_layer

    if kind not in DB_KINDS:
        msg = f"unknown layer kind {kind!r}; expected one of {', '.join(DB_KINDS)}"
        raise ValidationError(msg)
    with migrated_engine(database_url) as engine, session_scope(engine) as session:
        gdf = load_layer(session, kind=DB_KINDS[kind][0], ward_code=area.code)
    out = save_layer(gdf, path, attribution=attribution)
    return {"ward": area.name, "kind": kind, "rows": len(gdf), "file": str(out)}
