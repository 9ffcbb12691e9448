"""Create, read and update the database: layers, citizen reports, dump sites and plans.

Every function takes an open `sqlalchemy.orm.Session` first and only keyword options after it.
Functions flush but never commit: the caller owns the transaction (`geo.db.session_scope`
commits when its block ends). Layer imports run inside a SAVEPOINT so that a bad row leaves
the session exactly as it was.

Layers travel as GeoDataFrames in EPSG:4326 whose columns are the model's field names (see
`geo.models`) plus the active geometry column; the database ``id`` is the index of what
`load_layer` returns and is never imported.

Distances are geodesic on the WGS 84 ellipsoid: PostGIS ``geography`` functions on PostGIS,
`pyproj.Geod` in Python after a bounding-box prefilter on SpatiaLite.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from geoalchemy2 import Geography
from geoalchemy2.shape import from_shape, to_shape
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    String,
    Table,
    case,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.types import JSON

from gomrac.analysis.errors import CRSError, DataNotFoundError, ValidationError
from gomrac.geo.crs import wgs84_geometry_problem
from gomrac.geo.models import (
    CAMERA_KINDS,
    CAMERA_STATUSES,
    DUMP_SITE_STATUSES,
    GATHERING_POINT_STATUSES,
    PLAN_KINDS,
    PLAN_STATUSES,
    PUBLICATION_STATES,
    REPORT_UNITS,
    ROLES,
    SRID,
    WASTE_STREAMS,
    WORKFLOW_STATUSES,
    AccessToken,
    Base,
    Camera,
    DumpSite,
    DumpSiteUpdate,
    Facility,
    GatheringPoint,
    Plan,
    PlanFile,
    RateLimit,
    Report,
    ReportUpdate,
    ResidentialGroup,
    SignInFailure,
    UserAccount,
    UTCDateTime,
    Ward,
    open311_status,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

_Audit = TypeVar("_Audit", ReportUpdate, DumpSiteUpdate)
#: Mapped classes of the layers; each has a ``geom`` column.
_LayerModel: TypeAlias = (
    Ward | ResidentialGroup | GatheringPoint | Facility | Report | DumpSite | Camera
)

LayerKind = Literal[
    "wards",
    "residential_groups",
    "gathering_points",
    "facilities",
    "reports",
    "dump_sites",
    "cameras",
]

PERSONAL_REPORT_FIELDS: Final = (
    "account_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "device_id",
)
_GEOD: Final = Geod(ellps="WGS84")
_AGENCY_MAX_CHARS: Final = 200  # report.agency_responsible
_REPORT_LOCK_KEY: Final = 7_311_0001  # pg_advisory_xact_lock key for duplicate detection
_METRES_PER_DEGREE_LAT_MIN: Final = 110_574.0  # shortest degree of latitude (at the equator)
_METRES_PER_DEGREE_LON_EQUATOR: Final = 111_319.0


@dataclass(frozen=True)
class _LayerSpec:
    model: type[_LayerModel]
    ward_column: str  # column holding the ward code ("code" for the ward layer itself)
    geom_types: tuple[str, ...] | None  # accepted shapely geometry types; None = any
    allowed: Mapping[str, tuple[str, ...]]
    audit: bool  # append a "created" audit row per imported row


_LAYERS: Final[dict[str, _LayerSpec]] = {
    "wards": _LayerSpec(Ward, "code", ("Polygon", "MultiPolygon"), {}, audit=False),
    "residential_groups": _LayerSpec(
        ResidentialGroup, "ward_code", ("Point", "Polygon", "MultiPolygon"), {}, audit=False
    ),
    "gathering_points": _LayerSpec(
        GatheringPoint, "ward_code", ("Point",), {"status": GATHERING_POINT_STATUSES}, audit=False
    ),
    "facilities": _LayerSpec(Facility, "ward_code", None, {}, audit=False),
    "reports": _LayerSpec(
        Report, "ward_code", ("Point",), {"workflow_status": WORKFLOW_STATUSES}, audit=True
    ),
    "dump_sites": _LayerSpec(
        DumpSite,
        "ward_code",
        ("Point", "Polygon", "MultiPolygon"),
        {"status": DUMP_SITE_STATUSES},
        audit=True,
    ),
    "cameras": _LayerSpec(
        Camera,
        "ward_code",
        ("Point",),
        {"kind": CAMERA_KINDS, "status": CAMERA_STATUSES},
        audit=False,
    ),
}


def _spec(kind: str) -> _LayerSpec:
    try:
        return _LAYERS[kind]
    except KeyError:
        msg = f"unknown layer kind {kind!r}; expected one of {sorted(_LAYERS)}"
        raise ValidationError(msg) from None


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --------------------------------------------------------------------------------------------
# geometry and value helpers
# --------------------------------------------------------------------------------------------


def geodesic_distance_m(a: Point, b: Point) -> float:
    """Distance in metres on the WGS 84 ellipsoid between two lon/lat points."""
    _, _, dist = _GEOD.inv(a.x, a.y, b.x, b.y)
    return float(dist)


def _check_lonlat(point: Point, *, what: str = "point") -> None:
    if not isinstance(point, Point) or point.is_empty:
        msg = f"{what} must be a non-empty shapely Point (longitude, latitude)"
        raise ValidationError(msg)
    lon, lat = point.x, point.y
    if not (math.isfinite(lon) and math.isfinite(lat)):
        msg = f"{what} has a non-finite coordinate ({lon}, {lat})"
        raise ValidationError(msg)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = (
            f"{what} ({lon}, {lat}) is not a longitude/latitude in EPSG:4326; "
            "project it with geo.crs.to_wgs84 first"
        )
        raise ValidationError(msg)


def _geom_sql(geom: BaseGeometry) -> Any:
    return from_shape(geom, srid=SRID)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict, set, np.ndarray, BaseGeometry)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers to plain JSON types (or raise)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [_jsonable(v) for v in list(value)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    msg = f"value {value!r} of type {type(value).__name__} cannot be stored as JSON"
    raise ValidationError(msg)


def parse_streams(value: Any) -> list[str]:
    """
    Normalise a waste-stream list: a JSON list or a comma string of food/recyclable/residual.

    Parameters
    ----------
    value
        ``["food", "residual"]``, ``"food, residual"`` or None (all streams).

    Returns
    -------
    list[str]
        Known streams, in the order of `geo.models.WASTE_STREAMS`, without repeats.

    Raises
    ------
    ValidationError
        If a stream is unknown.
    """
    if _is_missing(value):
        return list(WASTE_STREAMS)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                items = [str(v) for v in json.loads(stripped)]
            except json.JSONDecodeError as exc:
                msg = f"streams {value!r} is not a JSON list: {exc}"
                raise ValidationError(msg) from None
        else:
            items = stripped.split(",")
    else:
        items = [str(v) for v in value]
    names = {s.strip().lower() for s in items if s.strip()}
    unknown = names - set(WASTE_STREAMS)
    if unknown:
        msg = f"unknown waste stream(s) {sorted(unknown)}; expected some of {WASTE_STREAMS}"
        raise ValidationError(msg)
    return [s for s in WASTE_STREAMS if s in names]


def _to_datetime(value: Any) -> dt.datetime:
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        msg = f"{value!r} is not a date-time"
        raise ValueError(msg)
    out = ts.to_pydatetime()
    return out.replace(tzinfo=dt.UTC) if out.tzinfo is None else out.astimezone(dt.UTC)


def _convert(column: Any, value: Any) -> Any:
    """Convert one cell to the Python type of `column` (raises ValueError/TypeError)."""
    ctype = column.type
    if isinstance(ctype, Boolean):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
            return value.strip().lower() in {"true", "1"}
        msg = f"{value!r} is not a boolean"
        raise ValueError(msg)
    if isinstance(ctype, Integer):
        number = float(value)
        if not number.is_integer():
            msg = f"{value!r} is not a whole number"
            raise ValueError(msg)
        return int(number)
    if isinstance(ctype, Float):
        number = float(value)
        if not math.isfinite(number):
            msg = f"{value!r} is not a finite number"
            raise ValueError(msg)
        return number
    if isinstance(ctype, UTCDateTime):
        return _to_datetime(value)
    if isinstance(ctype, Date):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return pd.Timestamp(value).date()
    if isinstance(ctype, JSON):
        if isinstance(value, str):
            return json.loads(value)
        return _jsonable(value)
    if isinstance(ctype, String):  # String and Text
        out = str(value)
        if ctype.length is not None and len(out) > ctype.length:
            msg = f"text of {len(out)} characters exceeds {ctype.length}"
            raise ValueError(msg)
        return out
    return value


def _row_label(idx: Any, row: Mapping[str, Any]) -> str:
    name = row.get("name") or row.get("fid")
    return f"row {idx!r}" + (f" ({name})" if isinstance(name, str) and name else "")


def _row_values(
    spec: _LayerSpec,
    kind: str,
    idx: Any,
    row: Mapping[str, Any],
    geom: BaseGeometry | None,
    *,
    ward_code: str | None,
    source: str | None,
) -> dict[str, Any]:
    """Validate and convert one GeoDataFrame row into model keyword arguments."""
    label = f"{kind} {_row_label(idx, row)}"
    columns = spec.model.__table__.columns
    values: dict[str, Any] = {}
    for name, raw in row.items():
        if _is_missing(raw):
            continue
        column = columns[name]
        try:
            if name == "streams":
                values[name] = parse_streams(raw)
            else:
                values[name] = _convert(column, raw)
        except ValidationError as exc:
            msg = f"{label}: {exc}"
            raise ValidationError(msg) from None
        except (ValueError, TypeError, OverflowError) as exc:
            msg = f"{label}: column {name!r}: {exc}"
            raise ValidationError(msg) from None
    for name, allowed in spec.allowed.items():
        if name in values and values[name] not in allowed:
            msg = f"{label}: {name} {values[name]!r} is not one of {allowed}"
            raise ValidationError(msg)

    ward_col = spec.ward_column
    if ward_code is not None:
        given = values.get(ward_col)
        if given is not None and given != ward_code:
            msg = f"{label}: {ward_col} {given!r} is not the ward being imported ({ward_code!r})"
            raise ValidationError(msg)
        values[ward_col] = ward_code
    if "source" in columns and values.get("source") is None and source is not None:
        values["source"] = source

    if kind == "reports":
        workflow = values.setdefault("workflow_status", "received")
        status = open311_status(workflow)
        if values.get("status", status) != status:
            msg = f"{label}: status {values['status']!r} contradicts workflow_status {workflow!r}"
            raise ValidationError(msg)
        values["status"] = status
        if values.get("duplicate_of") is not None and workflow != "duplicate":
            msg = f"{label}: duplicate_of is set but workflow_status is {workflow!r}"
            raise ValidationError(msg)

    problem = wgs84_geometry_problem(geom, spec.geom_types)
    if problem is not None:
        msg = f"{label}: {problem} ({kind})"
        raise ValidationError(msg)
    assert geom is not None  # checked above
    if spec.model is Ward and geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    values["geom"] = _geom_sql(geom)

    for column in columns:
        if column.name in values or (column.primary_key and column.name != "code"):
            continue
        if not column.nullable and column.default is None and column.name != "geom":
            msg = f"{label}: missing value for required column {column.name!r}"
            raise ValidationError(msg)
    return values


def _check_frame(kind: str, gdf: gpd.GeoDataFrame, spec: _LayerSpec) -> list[str]:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{kind}: expected a GeoDataFrame, got {type(gdf).__name__}"
        raise ValidationError(msg)
    if gdf.crs is None:
        msg = f"{kind}: the GeoDataFrame has no CRS; set EPSG:4326 (longitude/latitude)"
        raise CRSError(msg)
    if gdf.crs.to_epsg() != SRID:
        msg = f"{kind}: the GeoDataFrame is in {gdf.crs}; convert it with geo.crs.to_wgs84 first"
        raise CRSError(msg)
    columns = spec.model.__table__.columns
    allowed = {c.name for c in columns if c.name not in ("id", "geom")}
    given = [c for c in gdf.columns if c != gdf.geometry.name]
    unknown = sorted(set(given) - allowed)
    if unknown:
        msg = f"{kind}: unknown column(s) {unknown}; allowed are {sorted(allowed)} and a geometry"
        raise ValidationError(msg)
    return given


def _audit_created(
    session: Session, obj: Base, *, actor: str, workflow_field: str, value: str
) -> None:
    if isinstance(obj, Report):
        session.add(ReportUpdate(report_id=obj.id, actor=actor, field=workflow_field, new=value))
    elif isinstance(obj, DumpSite):
        session.add(
            DumpSiteUpdate(dump_site_id=obj.id, actor=actor, field=workflow_field, new=value)
        )


def _write_rows(
    session: Session,
    *,
    kind: str,
    ward_code: str | None,
    gdf: gpd.GeoDataFrame,
    source: str | None,
    replace: bool,
) -> int:
    spec = _spec(kind)
    given = _check_frame(kind, gdf, spec)
    model = spec.model
    ward_col = getattr(model, spec.ward_column)
    actor = f"import:{source}" if source else "import"
    written = 0
    savepoint = session.begin_nested()
    try:
        if replace:
            stmt = delete(model)
            if ward_code is not None:
                stmt = stmt.where(ward_col == ward_code)
            session.execute(stmt)
        records = gdf[given].to_dict(orient="records") if given else [{} for _ in range(len(gdf))]
        for idx, record, geom in zip(gdf.index, records, gdf.geometry, strict=True):
            values = _row_values(spec, kind, idx, record, geom, ward_code=ward_code, source=source)
            obj = model(**values)
            session.add(obj)
            try:
                session.flush()
            except (IntegrityError, StatementError, DBAPIError) as exc:
                reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                msg = f"{kind} {_row_label(idx, record)}: rejected by the database: {reason}"
                raise ValidationError(msg) from None
            if spec.audit:
                field = "workflow_status" if isinstance(obj, Report) else "status"
                _audit_created(
                    session, obj, actor=actor, workflow_field=field, value=getattr(obj, field)
                )
            written += 1
        session.flush()
    except BaseException:
        # after a failed flush SQLAlchemy has rolled the SAVEPOINT back in the database but the
        # session still needs this call to leave the failed nested transaction
        if savepoint.is_active or savepoint is session.get_nested_transaction():
            savepoint.rollback()
        raise
    savepoint.commit()
    log.info(
        "%s: %d %s rows for ward %s from %s",
        "replace_layer" if replace else "append_layer",
        written,
        kind,
        ward_code or "(all)",
        source,
    )
    return written


# --------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------


def replace_layer(
    session: Session,
    *,
    kind: LayerKind,
    ward_code: str | None,
    gdf: gpd.GeoDataFrame,
    source: str | None,
) -> int:
    """
    Replace the rows of a layer for one ward (or the whole city) with a GeoDataFrame.

    All or nothing: the old rows are deleted and the new ones inserted inside one SAVEPOINT;
    if any row is invalid (unknown column, value outside a CHECK list, wrong geometry type,
    rejected by the database) nothing changes and `ValidationError` names the row.

    Parameters
    ----------
    session
        Open session; the caller commits.
    kind
        ``wards``, ``residential_groups``, ``gathering_points``, ``facilities``, ``reports``,
        ``dump_sites`` or ``cameras``.
    ward_code
        Official ward code whose rows are replaced, and that rows without a ward code get;
        a row with another ward code is an error. None replaces the whole layer.
    gdf
        Rows in EPSG:4326; columns are model field names (see `geo.models`) plus geometry.
    source
        Provenance stored in the ``source`` column of rows that have none (file name, plan
        id, ``"synthetic"``); audit rows of reports and dump sites name it as actor.

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    CRSError
        If `gdf` has no CRS or is not EPSG:4326.
    ValidationError
        If a row is invalid; the message gives the row's index label and the reason.
    """
    return _write_rows(
        session, kind=kind, ward_code=ward_code, gdf=gdf, source=source, replace=True
    )


def append_layer(
    session: Session,
    *,
    kind: LayerKind,
    ward_code: str | None,
    gdf: gpd.GeoDataFrame,
    source: str | None,
) -> int:
    """
    Add the rows of a GeoDataFrame to a layer, all or nothing (see `replace_layer`).

    Returns
    -------
    int
        Number of rows written.
    """
    return _write_rows(
        session, kind=kind, ward_code=ward_code, gdf=gdf, source=source, replace=False
    )


def load_layer(
    session: Session,
    *,
    kind: LayerKind,
    ward_code: str | None = None,
    include_personal: bool = False,
) -> gpd.GeoDataFrame:
    """
    Read a layer as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    session
        Open session.
    kind
        Layer name, as in `replace_layer`.
    ward_code
        Only this ward's rows; all rows when None.
    include_personal
        For reports, keep the reporter's contact fields (`PERSONAL_REPORT_FIELDS`).

    Returns
    -------
    gpd.GeoDataFrame
        One column per model field, geometry in ``geometry``; indexed by ``id`` (the ward
        layer keeps ``code`` as a column and a default index). Empty (with the columns) when
        nothing matches.
    """
    spec = _spec(kind)
    model = spec.model
    stmt = select(model)
    if ward_code is not None:
        stmt = stmt.where(getattr(model, spec.ward_column) == ward_code)
    table = model.__table__
    assert isinstance(table, Table)  # declarative classes map one Table each
    pk = table.primary_key.columns.keys()[0]
    stmt = stmt.order_by(getattr(model, pk))
    columns = [c.name for c in table.columns if c.name != "geom"]
    if model is Report and not include_personal:
        columns = [c for c in columns if c not in PERSONAL_REPORT_FIELDS]
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    for obj in session.scalars(stmt):
        assert isinstance(obj, model)  # narrows Base to the layer classes, which have `geom`
        rows.append({c: getattr(obj, c) for c in columns})
        geoms.append(to_shape(obj.geom))
    frame = pd.DataFrame(rows, columns=columns)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    if pk == "id":
        gdf = gdf.set_index("id")
    log.info("load_layer: %d %s rows for ward %s", len(gdf), kind, ward_code or "(all)")
    return gdf


def count_layer(session: Session, *, kind: LayerKind, ward_code: str | None = None) -> int:
    """Count the rows of a layer (for one ward when `ward_code` is given)."""
    spec = _spec(kind)
    stmt = select(func.count()).select_from(spec.model)
    if ward_code is not None:
        stmt = stmt.where(getattr(spec.model, spec.ward_column) == ward_code)
    return int(session.scalar(stmt) or 0)


def ward_at(session: Session, point: Point) -> str | None:
    """Code of the ward (from the ``ward`` table) whose polygon contains `point`, if any."""
    _check_lonlat(point)
    stmt = (
        select(Ward.code)
        .where(func.ST_Intersects(Ward.geom, func.ST_GeomFromText(point.wkt, SRID)))
        .order_by(Ward.code)
        .limit(1)
    )
    return session.scalar(stmt)


# --------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------


def _audit(
    session: Session,
    report: Report,
    *,
    actor: str,
    field: str,
    old: Any,
    new: Any,
    note: str | None,
    at: dt.datetime,
) -> None:
    session.add(
        ReportUpdate(
            report_id=report.id,
            at=at,
            actor=actor,
            field=field,
            old=None if old is None else str(old),
            new=None if new is None else str(new),
            note=note,
        )
    )


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        msg = "actor must name who makes the change (a staff login or a system name)"
        raise ValidationError(msg)
    return actor.strip()


def _status_notes(workflow_status: str, note: str | None) -> str:
    return f"{workflow_status}: {note}" if note else workflow_status


def create_report(
    session: Session,
    *,
    service_code: str,
    point: Point,
    description: str | None = None,
    requested_datetime: dt.datetime | None = None,
    address: str | None = None,
    address_id: str | None = None,
    zipcode: str | None = None,
    media_url: str | None = None,
    photo_path: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    account_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    device_id: str | None = None,
    ward_code: str | None = None,
    agency_responsible: str | None = None,
    service_notice: str | None = None,
    expected_datetime: dt.datetime | None = None,
    source: str | None = "open311",
    synthetic: bool = False,
    actor: str = "citizen",
    merge_duplicates: bool = True,
    duplicate_distance_m: float = 50.0,
    duplicate_window_h: float = 72.0,
    publication: str = "published",
    original_photo_path: str | None = None,
    idempotency_key: str | None = None,
) -> Report:
    """
    Store a new citizen report, link it to an open duplicate, and write its first audit rows.

    The report starts as ``received`` (Open311 ``open``). When `merge_duplicates` is set and
    an open report of the same service lies within `duplicate_distance_m` and
    `duplicate_window_h` (see `find_duplicate_candidate`), the new report is still stored but
    becomes a ``duplicate`` (Open311 ``closed``) of the nearest one; staff can undo that with
    `unlink_duplicate`. On PostGIS a transaction-scoped advisory lock serialises this check
    between concurrent writers; on SQLite ``BEGIN IMMEDIATE`` does (see `geo.db`).

    Parameters
    ----------
    session
        Open session; the caller commits.
    service_code
        Open311 service code (the API checks it against its service list).
    point
        Location as a lon/lat Point in EPSG:4326.
    description, address, address_id, zipcode, media_url, attributes
        Open311 fields as posted; `attributes` holds the service-definition answers.
    requested_datetime
        When the report was made; now when omitted (imports pass the original time).
    photo_path
        Path of the stored photo, relative to the media folder.
    account_id, email, phone, first_name, last_name, device_id
        Reporter's contact fields; stored, never published.
    ward_code
        Ward of the point; when None it is looked up in the ``ward`` table (None if empty).
    agency_responsible, service_notice, expected_datetime
        Open311 fields filled by the jurisdiction.
    source, synthetic
        Provenance.
    actor
        Who the audit trail names as creator.
    merge_duplicates, duplicate_distance_m, duplicate_window_h
        Duplicate detection switch, radius in metres and time window in hours.
    publication
        ``published`` (public at once) or ``pending`` (public after staff review).
    original_photo_path
        The photo as uploaded, metadata included, kept for staff only (None: not kept).
    idempotency_key
        The client's key of this POST; unique (see `find_report_by_key`).

    Returns
    -------
    Report
        Flushed (it has its ``id``).

    Raises
    ------
    ValidationError
        If the point is not a finite lon/lat, the service code is empty, or a text field is
        too long.
    """
    _check_lonlat(point)
    if not service_code or not isinstance(service_code, str):
        msg = "service_code is required"
        raise ValidationError(msg)
    actor = _check_actor(actor)
    if publication not in PUBLICATION_STATES:
        msg = f"publication {publication!r} is not one of {PUBLICATION_STATES}"
        raise ValidationError(msg)
    now = utcnow()
    requested = _to_datetime(requested_datetime) if requested_datetime is not None else now
    if merge_duplicates and _dialect(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REPORT_LOCK_KEY})
    if ward_code is None:
        ward_code = ward_at(session, point)
    values = {
        "service_code": service_code,
        "description": description,
        "address": address,
        "address_id": address_id,
        "zipcode": zipcode,
        "media_url": media_url,
        "photo_path": photo_path,
        "account_id": account_id,
        "email": email,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "device_id": device_id,
        "ward_code": ward_code,
        "agency_responsible": agency_responsible,
        "service_notice": service_notice,
        "source": source,
        "publication": publication,
        "original_photo_path": original_photo_path,
        "idempotency_key": idempotency_key,
    }
    columns = Report.__table__.columns
    for name, value in values.items():
        length = getattr(columns[name].type, "length", None)
        if isinstance(value, str) and length is not None and len(value) > length:
            msg = f"{name} is {len(value)} characters long; at most {length} are allowed"
            raise ValidationError(msg)
    report = Report(
        **values,
        attributes=_jsonable(dict(attributes or {})),
        expected_datetime=_to_datetime(expected_datetime) if expected_datetime else None,
        requested_datetime=requested,
        updated_datetime=now,
        workflow_status="received",
        status="open",
        status_notes=_status_notes("received", None),
        synthetic=bool(synthetic),
        geom=_geom_sql(point),
    )
    session.add(report)
    session.flush()
    _audit(
        session,
        report,
        actor=actor,
        field="workflow_status",
        old=None,
        new="received",
        note=None,
        at=now,
    )
    if merge_duplicates:
        original = find_duplicate_candidate(
            session,
            point=point,
            at=requested,
            distance_m=duplicate_distance_m,
            window_h=duplicate_window_h,
            service_code=service_code,
            exclude_id=report.id,
        )
        if original is not None:
            dist = geodesic_distance_m(point, to_shape(original.geom))
            hours = abs((requested - original.requested_datetime).total_seconds()) / 3600
            link_duplicate(
                session,
                report.id,
                duplicate_of=original.id,
                actor="system:duplicate-check",
                note=f"{dist:.0f} m and {hours:.1f} h from report {original.id}",
            )
    session.flush()
    log.info("create_report: %s %s in ward %s", report.id, service_code, ward_code)
    return report


def find_duplicate_candidate(
    session: Session,
    *,
    point: Point,
    at: dt.datetime,
    distance_m: float = 50.0,
    window_h: float = 72.0,
    service_code: str | None = None,
    exclude_id: int | None = None,
) -> Report | None:
    """
    Nearest open report within a distance and a time window of a new one.

    Parameters
    ----------
    session
        Open session.
    point
        Location of the new report, lon/lat EPSG:4326.
    at
        Time of the new report; candidates were requested within `window_h` of it.
    distance_m
        Search radius in metres, geodesic (WGS 84 ellipsoid).
    window_h
        Time window in hours, either side of `at`.
    service_code
        Only reports of this service when given.
    exclude_id
        Report id to leave out (the new report itself).

    Returns
    -------
    Report or None
        The nearest open (``received``/``verified``/``assigned``) report; ties go to the
        earliest. Duplicates are closed, so the original of a chain is found.

    Notes
    -----
    PostGIS: ``ST_DWithin``/``ST_Distance`` on ``geography`` (spheroid) after a ``&&`` box
    test that can use the GiST index. SpatiaLite: a box prefilter in degrees (wide enough for
    the radius at that latitude), then `pyproj.Geod` distances in Python.
    """
    _check_lonlat(point)
    if distance_m < 0 or window_h < 0 or not math.isfinite(distance_m + window_h):
        msg = "distance_m and window_h must be finite and non-negative"
        raise ValidationError(msg)
    at = _to_datetime(at)
    window = dt.timedelta(hours=window_h)
    lon, lat = point.x, point.y
    dlat = distance_m / _METRES_PER_DEGREE_LAT_MIN * 1.01 + 1e-9
    lat_edge = min(abs(lat) + dlat, 89.999)
    dlon = min(
        distance_m / (_METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat_edge))) * 1.01
        + 1e-9,
        360.0,
    )
    conditions: list[ColumnElement[bool]] = [
        Report.status == "open",
        Report.requested_datetime >= at - window,
        Report.requested_datetime <= at + window,
    ]
    if service_code is not None:
        conditions.append(Report.service_code == service_code)
    if exclude_id is not None:
        conditions.append(Report.id != exclude_id)

    if _dialect(session) == "postgresql":
        here = func.ST_GeogFromText(f"SRID={SRID};{point.wkt}")
        geog = Report.geom.cast(Geography(srid=SRID))
        box = func.ST_MakeEnvelope(lon - dlon, lat - dlat, lon + dlon, lat + dlat, SRID)
        stmt = (
            select(Report)
            .where(*conditions, Report.geom.op("&&")(box), func.ST_DWithin(geog, here, distance_m))
            .order_by(func.ST_Distance(geog, here), Report.requested_datetime, Report.id)
            .limit(1)
        )
        return session.scalars(stmt).first()

    stmt = select(Report).where(
        *conditions,
        func.ST_X(Report.geom).between(lon - dlon, lon + dlon),
        func.ST_Y(Report.geom).between(lat - dlat, lat + dlat),
    )
    best: tuple[float, dt.datetime, int] | None = None
    best_report: Report | None = None
    for candidate in session.scalars(stmt):
        dist = geodesic_distance_m(point, cast(Point, to_shape(candidate.geom)))
        if dist > distance_m:
            continue
        key = (dist, candidate.requested_datetime, candidate.id)
        if best is None or key < best:
            best, best_report = key, candidate
    return best_report


def get_report(session: Session, report_id: int, *, for_update: bool = False) -> Report:
    """Return a report by id or raise `DataNotFoundError`."""
    report = session.get(Report, report_id, with_for_update=for_update or None)
    if report is None:
        msg = f"report {report_id} not found"
        raise DataNotFoundError(msg)
    return report


def set_report_status(
    session: Session,
    report_id: int,
    *,
    workflow_status: str,
    actor: str,
    note: str | None = None,
) -> Report:
    """
    Move a report through the ward-office workflow and record the change.

    Sets ``workflow_status``, the Open311 ``status`` it implies (received/verified/assigned →
    open; cleaned/rejected → closed), ``status_notes`` (``"<workflow>: <note>"``) and
    ``updated_datetime``, and appends one ``report_update`` row (two when the report leaves
    ``duplicate``, whose link is then cleared). Setting the status it already has only
    records the note, if any.

    Parameters
    ----------
    session
        Open session; the caller commits.
    report_id
        The report (Open311 ``service_request_id``).
    workflow_status
        Target status; ``duplicate`` is set with `link_duplicate` instead.
    actor
        Staff login or system name recorded in the audit trail.
    note
        Free text shown in ``status_notes`` and kept in the audit row.

    Returns
    -------
    Report
        The updated report.

    Raises
    ------
    DataNotFoundError
        If the report does not exist.
    ValidationError
        If the status is unknown or ``duplicate``, or `actor` is empty.
    """
    actor = _check_actor(actor)
    if workflow_status not in WORKFLOW_STATUSES:
        msg = f"workflow_status {workflow_status!r} is not one of {WORKFLOW_STATUSES}"
        raise ValidationError(msg)
    if workflow_status == "duplicate":
        msg = "mark a duplicate with link_duplicate, which needs the original report's id"
        raise ValidationError(msg)
    report = get_report(session, report_id, for_update=True)
    now = utcnow()
    old = report.workflow_status
    if old == workflow_status:
        if note:
            report.status_notes = _status_notes(workflow_status, note)
            report.updated_datetime = now
            _audit(
                session, report, actor=actor, field="note", old=None, new=None, note=note, at=now
            )
            session.flush()
        return report
    if report.duplicate_of is not None:
        _audit(
            session,
            report,
            actor=actor,
            field="duplicate_of",
            old=report.duplicate_of,
            new=None,
            note=note,
            at=now,
        )
        report.duplicate_of = None
    report.workflow_status = workflow_status
    report.status = open311_status(workflow_status)
    report.status_notes = _status_notes(workflow_status, note)
    report.updated_datetime = now
    _audit(
        session,
        report,
        actor=actor,
        field="workflow_status",
        old=old,
        new=workflow_status,
        note=note,
        at=now,
    )
    session.flush()
    log.info("set_report_status: %s %s -> %s by %s", report_id, old, workflow_status, actor)
    return report


def link_duplicate(
    session: Session,
    report_id: int,
    *,
    duplicate_of: int,
    actor: str,
    note: str | None = None,
) -> Report:
    """
    Mark a report as a duplicate of another (closing it) and record the change.

    If the target is itself a duplicate, the link goes to the original at the end of its
    chain; reports that were duplicates of `report_id` are re-linked to that original too.

    Parameters
    ----------
    session
        Open session; the caller commits.
    report_id
        The report to close as duplicate.
    duplicate_of
        The report it repeats.
    actor
        Staff login or system name for the audit trail.
    note
        Kept in ``status_notes`` and the audit rows.

    Returns
    -------
    Report
        The duplicate.

    Raises
    ------
    DataNotFoundError
        If either report does not exist.
    ValidationError
        If the link would point a report at itself.
    """
    actor = _check_actor(actor)
    report = get_report(session, report_id, for_update=True)
    original = get_report(session, duplicate_of)
    seen = {report.id}
    while original.duplicate_of is not None and original.id not in seen:
        seen.add(original.id)
        original = get_report(session, original.duplicate_of)
    if original.id == report.id or original.id in seen:
        msg = f"report {report_id} cannot be a duplicate of itself (via {duplicate_of})"
        raise ValidationError(msg)
    now = utcnow()
    text_note = f"duplicate of report {original.id}" + (f" ({note})" if note else "")
    children = session.scalars(select(Report).where(Report.duplicate_of == report.id)).all()
    for child in children:
        _audit(
            session,
            child,
            actor=actor,
            field="duplicate_of",
            old=child.duplicate_of,
            new=original.id,
            note=f"report {report.id} became a duplicate",
            at=now,
        )
        child.duplicate_of = original.id
        child.updated_datetime = now
    old_workflow, old_link = report.workflow_status, report.duplicate_of
    report.duplicate_of = original.id
    report.workflow_status = "duplicate"
    report.status = "closed"
    report.status_notes = _status_notes("duplicate", text_note)
    report.updated_datetime = now
    if old_link != original.id:
        _audit(
            session,
            report,
            actor=actor,
            field="duplicate_of",
            old=old_link,
            new=original.id,
            note=note,
            at=now,
        )
    if old_workflow != "duplicate":
        _audit(
            session,
            report,
            actor=actor,
            field="workflow_status",
            old=old_workflow,
            new="duplicate",
            note=note,
            at=now,
        )
    session.flush()
    log.info("link_duplicate: %s -> %s by %s", report_id, original.id, actor)
    return report


def unlink_duplicate(
    session: Session, report_id: int, *, actor: str, note: str | None = None
) -> Report:
    """
    Undo a duplicate link: the report is open again as ``received``.

    Raises
    ------
    ValidationError
        If the report is not a duplicate.
    """
    report = get_report(session, report_id)
    if report.workflow_status != "duplicate":
        msg = f"report {report_id} is not a duplicate (it is {report.workflow_status})"
        raise ValidationError(msg)
    return set_report_status(session, report_id, workflow_status="received", actor=actor, note=note)


def report_history(session: Session, report_id: int) -> list[ReportUpdate]:
    """Audit rows of a report, oldest first; `DataNotFoundError` if it does not exist."""
    get_report(session, report_id)
    return _history(session, ReportUpdate, ReportUpdate.report_id == report_id)


def assign_report(
    session: Session,
    report_id: int,
    *,
    unit: str | None,
    agency: str | None,
    actor: str,
    note: str | None = None,
) -> Report:
    """
    Assign a report to a unit, or take the assignment back, and record the change.

    Sets ``assigned_unit`` and the public ``agency_responsible`` (the unit's name as residents
    read it); a report still ``received`` or ``verified`` moves on to ``assigned`` (see
    `set_report_status`). Each field that changes gets its own ``report_update`` row.

    Parameters
    ----------
    session
        Open session; the caller commits.
    report_id
        The report (Open311 ``service_request_id``).
    unit
        One of `REPORT_UNITS`, or None to take the assignment back.
    agency
        The name the public sees (at most 200 characters): the unit's, required with a unit;
        without one, whoever answers for unassigned reports (the ward office), or None.
    actor
        Staff login recorded in the audit trail.
    note
        Kept in the audit rows (and ``status_notes`` when the status moves).

    Returns
    -------
    Report
        The updated report.

    Raises
    ------
    DataNotFoundError
        If the report does not exist.
    ValidationError
        If the unit is unknown, the agency is missing or too long, or `actor` is empty.
    """
    actor = _check_actor(actor)
    if unit is not None and unit not in REPORT_UNITS:
        msg = f"assigned_unit {unit!r} is not one of {REPORT_UNITS}"
        raise ValidationError(msg)
    agency = (agency.strip() or None) if agency is not None else None
    if unit is not None and not agency:
        msg = "name the unit the public sees (agency_responsible) when assigning a report"
        raise ValidationError(msg)
    if agency is not None and len(agency) > _AGENCY_MAX_CHARS:
        msg = f"agency_responsible is {len(agency)} characters long; at most 200 are allowed"
        raise ValidationError(msg)
    report = get_report(session, report_id, for_update=True)
    now = utcnow()
    changed = False
    for field, new in (("assigned_unit", unit), ("agency_responsible", agency)):
        old = getattr(report, field)
        if old != new:
            _audit(session, report, actor=actor, field=field, old=old, new=new, note=note, at=now)
            setattr(report, field, new)
            changed = True
    if changed:
        report.updated_datetime = now
    if unit is not None and report.workflow_status in ("received", "verified"):
        set_report_status(session, report_id, workflow_status="assigned", actor=actor, note=note)
    session.flush()
    log.info("assign_report: %s -> %s by %s", report_id, unit, actor)
    return report


def link_report(
    session: Session,
    report_id: int,
    *,
    dump_site_id: int | None,
    camera_id: int | None,
    actor: str,
    note: str | None = None,
) -> Report:
    """
    Link a report to the dump register's site and the camera that saw it; record the change.

    Both must be of the report's ward. A link that changes gets a ``report_update`` row; None
    removes a link.

    Parameters
    ----------
    session
        Open session; the caller commits.
    report_id
        The report (Open311 ``service_request_id``).
    dump_site_id, camera_id
        Rows of ``dump_site`` and ``camera`` (None: no link).
    actor
        Staff login recorded in the audit trail.
    note
        Kept in the audit rows.

    Returns
    -------
    Report
        The updated report.

    Raises
    ------
    DataNotFoundError
        If the report does not exist.
    ValidationError
        If a site or camera does not exist or lies in another ward than the report, or
        `actor` is empty.
    """
    actor = _check_actor(actor)
    report = get_report(session, report_id, for_update=True)
    targets: tuple[tuple[str, int | None, str], ...] = (
        ("dump_site_id", dump_site_id, "dump site"),
        ("camera_id", camera_id, "camera"),
    )
    for field, row_id, what in targets:
        if row_id is None:
            continue
        row: DumpSite | Camera | None = (
            session.get(DumpSite, row_id)
            if field == "dump_site_id"
            else session.get(Camera, row_id)
        )
        if row is None:
            msg = f"{what} {row_id} is not in the register"
            raise ValidationError(msg)
        if report.ward_code is None or row.ward_code != report.ward_code:
            msg = (
                f"{what} {row_id} is in ward {row.ward_code}, report {report_id} in ward "
                f"{report.ward_code or 'unknown'}: link a {what} of the report's ward"
            )
            raise ValidationError(msg)
    now = utcnow()
    changed = False
    for field, new, _what in targets:
        old = getattr(report, field)
        if old != new:
            _audit(session, report, actor=actor, field=field, old=old, new=new, note=note, at=now)
            setattr(report, field, new)
            changed = True
    if changed:
        report.updated_datetime = now
    session.flush()
    log.info(
        "link_report: %s dump site %s camera %s by %s", report_id, dump_site_id, camera_id, actor
    )
    return report


# --------------------------------------------------------------------------------------------
# dump sites
# --------------------------------------------------------------------------------------------


def set_dump_site_status(
    session: Session,
    site_id: int,
    *,
    status: str,
    actor: str,
    note: str | None = None,
    on: dt.date | None = None,
) -> DumpSite:
    """
    Change a dump site's status and append a ``dump_site_update`` row.

    Moving to ``closed`` sets ``closed_on`` and to ``restored`` sets ``restored_on`` (to `on`,
    default today in UTC) when they are empty.

    Raises
    ------
    DataNotFoundError
        If the site does not exist.
    ValidationError
        If the status is unknown or `actor` is empty.
    """
    actor = _check_actor(actor)
    if status not in DUMP_SITE_STATUSES:
        msg = f"dump site status {status!r} is not one of {DUMP_SITE_STATUSES}"
        raise ValidationError(msg)
    site = session.get(DumpSite, site_id, with_for_update=True)
    if site is None:
        msg = f"dump site {site_id} not found"
        raise DataNotFoundError(msg)
    now = utcnow()
    day = on or now.date()
    old = site.status
    if old != status or note:
        session.add(
            DumpSiteUpdate(
                dump_site_id=site.id,
                at=now,
                actor=actor,
                field="status",
                old=old,
                new=status,
                note=note,
            )
        )
    site.status = status
    if status == "closed" and site.closed_on is None:
        site.closed_on = day
    if status == "restored" and site.restored_on is None:
        site.restored_on = day
    session.flush()
    return site


def dump_site_history(session: Session, site_id: int) -> list[DumpSiteUpdate]:
    """Audit rows of a dump site, oldest first."""
    return _history(session, DumpSiteUpdate, DumpSiteUpdate.dump_site_id == site_id)


def _history(session: Session, model: type[_Audit], where: ColumnElement[bool]) -> list[_Audit]:
    """Rows of an audit table matching `where`, oldest first (ties by id)."""
    stmt = select(model).where(where).order_by(model.at, model.id)
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------------------------
# plans
# --------------------------------------------------------------------------------------------


def save_plan(
    session: Session,
    *,
    ward_code: str,
    kind: Literal["points", "routes", "hotspots", "cameras", "ward"],
    params: Mapping[str, Any],
    summary: Mapping[str, Any],
    result: str | Mapping[str, Any] | gpd.GeoDataFrame | None = None,
) -> Plan:
    """
    Store a planning result.

    Parameters
    ----------
    session
        Open session; the caller commits.
    ward_code
        Ward the plan is for.
    kind
        ``points``, ``routes``, ``hotspots``, ``cameras`` or ``ward``.
    params
        Inputs (radius, capacities, solver, seed...), JSON-serialisable (numpy scalars are
        converted).
    summary
        Headline figures, per waste stream where relevant (e.g.
        ``{"streams": {"food": {"kg_per_day": 812.0}}}``).
    result
        GeoJSON FeatureCollection as text or mapping, or a GeoDataFrame (written as GeoJSON
        in EPSG:4326).

    Returns
    -------
    Plan
        Flushed, with its ``id`` and ``created_at``.

    Raises
    ------
    ValidationError
        If `kind` is unknown or a value cannot be stored as JSON.
    """
    if kind not in PLAN_KINDS:
        msg = f"plan kind {kind!r} is not one of {PLAN_KINDS}"
        raise ValidationError(msg)
    if isinstance(result, gpd.GeoDataFrame):
        if result.crs is None:
            msg = "plan result GeoDataFrame has no CRS"
            raise CRSError(msg)
        result_text: str | None = result.to_crs(SRID).to_json()
    elif isinstance(result, Mapping):
        result_text = json.dumps(_jsonable(result))
    else:
        result_text = result
    plan = Plan(
        ward_code=ward_code,
        kind=kind,
        params=_jsonable(dict(params)),
        summary=_jsonable(dict(summary)),
        result=result_text,
        created_at=utcnow(),
    )
    session.add(plan)
    session.flush()
    log.info("save_plan: %s plan %s for ward %s", kind, plan.id, ward_code)
    return plan


def list_plans(
    session: Session,
    *,
    ward_code: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Plan]:
    """List the saved plans and plan runs, newest first, optionally by ward, kind and status."""
    stmt = select(Plan)
    if ward_code is not None:
        stmt = stmt.where(Plan.ward_code == ward_code)
    if kind is not None:
        stmt = stmt.where(Plan.kind == kind)
    if status is not None:
        stmt = stmt.where(Plan.status == status)
    stmt = stmt.order_by(Plan.created_at.desc(), Plan.id.desc()).limit(limit)
    return list(session.scalars(stmt))


_ERROR_MAX_CHARS: Final = 500


def one_line(message: str, *, limit: int = _ERROR_MAX_CHARS) -> str:
    """Return `message` on one line (whitespace runs folded), at most `limit` characters."""
    text_ = " ".join(str(message).split()) or "unknown error"
    return text_ if len(text_) <= limit else text_[: limit - 1] + "…"


def create_plan_run(
    session: Session,
    *,
    ward_code: str,
    params: Mapping[str, Any],
    created_by: str | None,
    kind: Literal["points", "routes", "hotspots", "cameras", "ward"] = "ward",
) -> Plan:
    """
    Queue a plan run: a ``plan`` row with status ``queued`` and progress 0.

    Parameters
    ----------
    session
        Open session; the caller commits (before the job is handed to a queue).
    ward_code
        Ward the plan is for.
    params
        The run's request, JSON-serialisable.
    created_by
        The account that asked for it (None from the command line).
    kind
        ``ward`` for a whole ward plan.

    Raises
    ------
    ValidationError
        If `kind` is unknown.
    """
    if kind not in PLAN_KINDS:
        msg = f"plan kind {kind!r} is not one of {PLAN_KINDS}"
        raise ValidationError(msg)
    now = utcnow()
    plan = Plan(
        ward_code=ward_code,
        kind=kind,
        params=_jsonable(dict(params)),
        summary={},
        inputs={},
        status="queued",
        progress=0.0,
        stage="queued",
        created_at=now,
        updated_at=now,
        created_by=created_by,
    )
    session.add(plan)
    session.flush()
    log.info("create_plan_run: %s plan %s for ward %s queued", kind, plan.id, ward_code)
    return plan


def get_plan(session: Session, plan_id: int, *, for_update: bool = False) -> Plan:
    """Return a plan by id; raise `DataNotFoundError` when there is none."""
    stmt = select(Plan).where(Plan.id == plan_id)
    if for_update and _dialect(session) == "postgresql":
        stmt = stmt.with_for_update()
    plan = session.scalar(stmt)
    if plan is None:
        msg = f"no plan {plan_id}"
        raise DataNotFoundError(msg)
    return plan


def set_plan_job(session: Session, plan_id: int, *, job_id: str) -> None:
    """Record the queue's job id of a plan run."""
    session.execute(update(Plan).where(Plan.id == plan_id).values(job_id=job_id))


def next_queued_plan(session: Session) -> int | None:
    """Return the id of the oldest queued plan run, or None."""
    stmt = select(Plan.id).where(Plan.status == "queued").order_by(Plan.id).limit(1)
    return session.scalar(stmt)


def claim_plan_run(session: Session, plan_id: int, *, worker: str) -> bool:
    """
    Move a queued run to ``running`` for `worker`; False when it is not queued any more.

    One conditional UPDATE: of two workers claiming the same run, one gets it.
    """
    now = utcnow()
    done = session.execute(
        update(Plan)
        .where(Plan.id == plan_id, Plan.status == "queued")
        .values(
            status="running",
            started_at=now,
            updated_at=now,
            worker=worker[:200],
            stage="started",
        )
    )
    session.expire_all()
    return bool(cast("CursorResult[Any]", done).rowcount)


def set_plan_progress(session: Session, plan_id: int, *, progress: float, stage: str) -> bool:
    """
    Record a running plan's progress (0–1) and stage; return `plan_stop_asked`.

    Raises
    ------
    ValidationError
        If `progress` is outside [0, 1].
    """
    if not 0.0 <= progress <= 1.0:
        msg = f"progress {progress} is outside [0, 1]"
        raise ValidationError(msg)
    session.execute(
        update(Plan)
        .where(Plan.id == plan_id, Plan.status == "running")
        .values(progress=float(progress), stage=stage[:64], updated_at=utcnow())
    )
    return plan_stop_asked(session, plan_id)


def plan_stop_asked(session: Session, plan_id: int) -> bool:
    """Return True when a running plan should stop: a cancel was asked, or it is not running."""
    row = session.execute(
        select(Plan.status, Plan.cancel_requested_at).where(Plan.id == plan_id)
    ).one_or_none()
    return row is None or row.status != "running" or row.cancel_requested_at is not None


def request_plan_cancel(session: Session, plan_id: int) -> Plan:
    """
    Cancel a plan run: a queued one at once, a running one at its next stage.

    Returns
    -------
    Plan
        Cancelled (was queued) or still running with ``cancel_requested_at`` set.

    Raises
    ------
    DataNotFoundError
        No such plan.
    ValidationError
        The run has already finished (done, failed or cancelled).
    """
    plan = get_plan(session, plan_id, for_update=True)
    now = utcnow()
    if plan.status == "queued":
        plan.status = "cancelled"
        plan.stage = "cancelled"
        plan.finished_at = now
        plan.cancel_requested_at = now
        plan.updated_at = now
    elif plan.status == "running":
        plan.cancel_requested_at = plan.cancel_requested_at or now
        plan.updated_at = now
    else:
        msg = f"plan {plan_id} is already {plan.status}; there is nothing to cancel"
        raise ValidationError(msg)
    session.flush()
    log.info("request_plan_cancel: plan %s now %s", plan_id, plan.status)
    return plan


def _finish(session: Session, plan_id: int, **values: Any) -> Plan:
    plan = get_plan(session, plan_id, for_update=True)
    now = utcnow()
    for key, value in values.items():
        setattr(plan, key, value)
    plan.finished_at = now
    plan.updated_at = now
    session.flush()
    return plan


def finish_plan_run(
    session: Session,
    plan_id: int,
    *,
    summary: Mapping[str, Any],
    inputs: Mapping[str, Any],
    output_dir: str,
    files: list[tuple[str, int, str]],
    result: str | None = None,
) -> Plan:
    """
    Store a finished run: status ``done``, its summary, inputs' versions and files.

    Parameters
    ----------
    files
        ``(path, bytes, sha256)`` of every file written, paths POSIX and relative to
        `output_dir`.
    """
    for path, _, _ in files:
        if path.startswith("/") or ".." in path.split("/"):
            msg = f"plan file path {path!r} must be relative to the plan's folder"
            raise ValidationError(msg)
    session.add_all(
        PlanFile(plan_id=plan_id, path=path, bytes=int(size), sha256=digest)
        for path, size, digest in files
    )
    plan = _finish(
        session,
        plan_id,
        status="done",
        progress=1.0,
        stage="done",
        summary=_jsonable(dict(summary)),
        inputs=_jsonable(dict(inputs)),
        output_dir=output_dir,
        result=result,
        error=None,
    )
    log.info("finish_plan_run: plan %s done, %s files", plan_id, len(files))
    return plan


def fail_plan_run(
    session: Session, plan_id: int, *, error: str, inputs: Mapping[str, Any] | None = None
) -> Plan:
    """Store a failed run with its error on one line (and what it had read, if anything)."""
    values: dict[str, Any] = {"status": "failed", "stage": "failed", "error": one_line(error)}
    if inputs is not None:
        values["inputs"] = _jsonable(dict(inputs))
    plan = _finish(session, plan_id, **values)
    log.info("fail_plan_run: plan %s failed: %s", plan_id, plan.error)
    return plan


def cancel_plan_run(session: Session, plan_id: int) -> Plan:
    """Store a run stopped on request as ``cancelled``."""
    plan = _finish(session, plan_id, status="cancelled", stage="cancelled")
    plan.cancel_requested_at = plan.cancel_requested_at or plan.finished_at
    session.flush()
    return plan


def plan_files(session: Session, plan_id: int) -> list[PlanFile]:
    """Return the files of a plan run, by path."""
    stmt = select(PlanFile).where(PlanFile.plan_id == plan_id).order_by(PlanFile.path)
    return list(session.scalars(stmt))


def latest_plan(
    session: Session, *, ward_code: str, kind: str = "ward", status: str = "done"
) -> Plan | None:
    """Return the ward's newest plan of `kind` in `status`, or None."""
    if status not in PLAN_STATUSES:
        msg = f"plan status {status!r} is not one of {PLAN_STATUSES}"
        raise ValidationError(msg)
    found = list_plans(session, ward_code=ward_code, kind=kind, status=status, limit=1)
    return found[0] if found else None


def find_report_by_key(session: Session, idempotency_key: str) -> Report | None:
    """Return the report created by the POST with this client key, or None."""
    return session.scalar(select(Report).where(Report.idempotency_key == idempotency_key))


def set_report_publication(
    session: Session,
    report_id: int,
    *,
    publication: str,
    actor: str,
    note: str | None = None,
) -> Report:
    """
    Publish, hold back or hide a report, and record the change in its audit trail.

    Raises
    ------
    DataNotFoundError
        If the report does not exist.
    ValidationError
        If the state is not one of `PUBLICATION_STATES` or `actor` is empty.
    """
    actor = _check_actor(actor)
    if publication not in PUBLICATION_STATES:
        msg = f"publication {publication!r} is not one of {PUBLICATION_STATES}"
        raise ValidationError(msg)
    report = get_report(session, report_id, for_update=True)
    old = report.publication
    if old == publication and not note:
        return report
    now = utcnow()
    report.publication = publication
    report.updated_datetime = now
    _audit(
        session,
        report,
        actor=actor,
        field="publication",
        old=old,
        new=publication,
        note=note,
        at=now,
    )
    session.flush()
    log.info("set_report_publication: %s %s -> %s by %s", report_id, old, publication, actor)
    return report


# --------------------------------------------------------------------------------------------
# staff accounts, tokens and sign-in failures
# --------------------------------------------------------------------------------------------


def add_user_account(
    session: Session,
    *,
    username: str,
    password_hash: str,
    role: str,
    ward_codes: list[str],
    full_name: str | None = None,
) -> UserAccount:
    """
    Store a staff account (the password arrives hashed; see `gomrac.api.web.accounts`).

    Raises
    ------
    ValidationError
        If the name is taken or malformed, the role unknown, or a non-admin has no ward.
    """
    if role not in ROLES:
        msg = f"role {role!r} is not one of {ROLES}"
        raise ValidationError(msg)
    if role != "admin" and not ward_codes:
        msg = f"a {role} account needs at least one ward code"
        raise ValidationError(msg)
    if session.scalar(select(UserAccount.id).where(UserAccount.username == username)):
        msg = f"username {username!r} is taken"
        raise ValidationError(msg)
    account = UserAccount(
        username=username,
        password_hash=password_hash,
        role=role,
        ward_codes=sorted(set(ward_codes)),
        full_name=full_name,
        active=True,
    )
    session.add(account)
    session.flush()
    log.info("add_user_account: %s (%s, wards %s)", username, role, account.ward_codes)
    return account


def get_user_account(session: Session, username: str) -> UserAccount | None:
    """Return the account with this username, or None."""
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def add_access_token(
    session: Session, *, token_hash: str, user_id: int, expires_at: dt.datetime
) -> AccessToken:
    """Store the SHA-256 of an issued token with its expiry."""
    token = AccessToken(token_hash=token_hash, user_id=user_id, expires_at=expires_at)
    session.add(token)
    session.flush()
    return token


def account_for_token(session: Session, token_hash: str, *, now: dt.datetime) -> UserAccount | None:
    """Return the active account of an unexpired, unrevoked token, or None."""
    stmt = (
        select(UserAccount)
        .join(AccessToken, AccessToken.user_id == UserAccount.id)
        .where(
            AccessToken.token_hash == token_hash,
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
            UserAccount.active.is_(True),
        )
    )
    return session.scalar(stmt)


def revoke_access_token(session: Session, token_hash: str) -> bool:
    """Revoke a token; whether it existed and was still valid."""
    token = session.get(AccessToken, token_hash)
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    session.flush()
    return True


def record_sign_in_failure(session: Session, *, username: str, client: str) -> None:
    """Remember one failed sign-in (names and addresses cut to their column widths)."""
    session.add(SignInFailure(username=username[:64], client=client[:64], at=utcnow()))
    session.flush()


def count_sign_in_failures(
    session: Session, *, since: dt.datetime, username: str | None = None, client: str | None = None
) -> int:
    """Failed sign-ins since `since` for a username or a client address."""
    stmt = select(func.count()).select_from(SignInFailure).where(SignInFailure.at >= since)
    if username is not None:
        stmt = stmt.where(SignInFailure.username == username[:64])
    if client is not None:
        stmt = stmt.where(SignInFailure.client == client[:64])
    return int(session.scalar(stmt) or 0)


def clear_sign_in_failures(session: Session, *, username: str) -> None:
    """Forget an account's failed sign-ins (after a successful one)."""
    session.execute(delete(SignInFailure).where(SignInFailure.username == username[:64]))


def rate_limit_wait(
    session: Session, *, scope: str, key: str, limit: int, window_s: float, now: float
) -> float | None:
    """
    Seconds until `key` may hit `scope`'s limit again, or None when it may now (a read only).

    Parameters
    ----------
    session
        An open session.
    scope, key
        The limit (``client``, ``device``) and what it counts (an address, a device id).
    limit
        Hits allowed per window; 0 allows everything.
    window_s
        Window length in seconds.
    now
        Seconds since the epoch.
    """
    if limit <= 0:
        return None
    row = session.execute(
        select(RateLimit.window_start, RateLimit.hits).where(
            RateLimit.scope == scope, RateLimit.key == key
        )
    ).first()
    if row is None or row.window_start <= now - window_s or row.hits < limit:
        return None
    return float(row.window_start + window_s - now)


def rate_limit_hit(
    session: Session, *, scope: str, key: str, limit: int, window_s: float, now: float
) -> float | None:
    """
    Count one hit of `key` against `scope`'s limit if allowed (None), else the seconds to wait.

    A key's window opens at its first accepted hit and lasts `window_s`; at most `limit` hits
    are accepted in it. One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement counts
    the hit, so concurrent callers (server workers, other machines) share one count: the row is
    locked by PostgreSQL and SQLite has one writer at a time. The caller commits.

    Parameters
    ----------
    session
        An open session (its transaction counts the hit).
    scope, key, limit, window_s, now
        As in `rate_limit_wait`.

    Examples
    --------
    >>> rate_limit_hit(session, scope="client", key="192.0.2.1", limit=2, window_s=600,
    ...                now=time.time())  # doctest: +SKIP
    """
    if limit <= 0:
        return None
    dialect = _dialect(session)
    insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
    table = cast(Table, RateLimit.__table__)
    expired = table.c.window_start <= now - window_s
    stmt = (
        insert(table)
        .values(scope=scope, key=key, window_start=now, hits=1)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key],
            set_={
                "window_start": case((expired, now), else_=table.c.window_start),
                "hits": case((expired, 1), else_=table.c.hits + 1),
            },
            where=or_(expired, table.c.hits < limit),
        )
        .returning(table.c.hits)
    )
    if session.execute(stmt).first() is not None:
        return None
    start = session.scalar(
        select(RateLimit.window_start).where(RateLimit.scope == scope, RateLimit.key == key)
    )
    return float(start + window_s - now) if start is not None else None


def prune_rate_limits(session: Session, *, before: float) -> int:
    """Delete the rate-limit windows opened before `before` (seconds since the epoch)."""
    result = session.execute(delete(RateLimit).where(RateLimit.window_start < before))
    return int(getattr(result, "rowcount", 0) or 0)
