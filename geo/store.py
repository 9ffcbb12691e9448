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
from sqlalchemy import Boolean, Date, Float, Integer, String, Table, delete, func, select, text
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
    PUBLICATION_STATES,
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
    kind: Literal["points", "routes", "hotspots", "cameras"],
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
        ``points``, ``routes``, ``hotspots`` or ``cameras``.
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
    limit: int = 100,
) -> list[Plan]:
    """List the saved plans, newest first, optionally for one ward and one kind."""
    stmt = select(Plan)
    if ward_code is not None:
        stmt = stmt.where(Plan.ward_code == ward_code)
    if kind is not None:
        stmt = stmt.where(Plan.kind == kind)
    stmt = stmt.order_by(Plan.created_at.desc(), Plan.id.desc()).limit(limit)
    return list(session.scalars(stmt))


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
