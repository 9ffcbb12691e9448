"""Database tables: wards, layers, citizen reports with their audit trail, dump sites, plans.

SQLAlchemy 2 typed mappings with GeoAlchemy2 geometry columns in SRID 4326 (the store CRS; see
`geo.crs`). The schema itself is created by the Alembic migrations in ``geo/migrations`` (see
`geo.db.init_db`), never by ``Base.metadata.create_all``; when a table changes here, add a
migration there.

Allowed values of the constrained text columns are module constants, used both for the
database CHECK constraints and by `geo.store` to name the faulty row before the database does.

Report statuses follow Open311 GeoReport v2 on the wire (``status`` is ``open`` or ``closed``)
and a finer ward-office workflow inside (``workflow_status``)::

    received -> verified -> assigned -> cleaned        (open, open, open, closed)
    received -> duplicate (of an open report)           (closed, ``duplicate_of`` set)
    received -> rejected                                (closed)

Every change of a report or a dump site appends a row to ``report_update`` or
``dump_site_update`` (who, when, which field, old and new value, note).

Staff assign a report to a unit (``assigned_unit``, one of `REPORT_UNITS`; residents see the
unit's name in ``agency_responsible``) and may link it to the dump register's site
(``dump_site_id``) and the camera that saw it (``camera_id``), both of the report's ward; a
site or camera a report links to cannot be deleted until the link is removed.

A report's ``publication`` is ``pending`` (seen by staff only), ``published`` (in the public
Open311 answers) or ``hidden`` (withdrawn by staff); ``idempotency_key`` is the client's key of
the POST that created it, unique, so that a retried POST finds the first report.

Staff sign in with a ``user_account`` (argon2 password hash, one of `ROLES`, the ward codes it
works for); a sign-in issues an ``access_token`` of which only the SHA-256 is stored (it expires
and can be revoked); failed sign-ins are kept in ``sign_in_failure`` for the lockout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Final

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SRID: Final = 4326

WASTE_STREAMS: Final = ("food", "recyclable", "residual")
GATHERING_POINT_STATUSES: Final = ("existing", "proposed", "closed")
CAMERA_KINDS: Final = ("fixed", "mobile", "security")
CAMERA_STATUSES: Final = ("existing", "proposed")
DUMP_SITE_STATUSES: Final = ("active", "being_cleaned", "closed", "restored")
PLAN_KINDS: Final = ("points", "routes", "hotspots", "cameras", "ward")
PLAN_STATUSES: Final = ("queued", "running", "done", "failed", "cancelled")
FINISHED_PLAN_STATUSES: Final = ("done", "failed", "cancelled")
OPEN311_STATUSES: Final = ("open", "closed")
WORKFLOW_STATUSES: Final = ("received", "verified", "assigned", "cleaned", "duplicate", "rejected")
OPEN_WORKFLOW_STATUSES: Final = ("received", "verified", "assigned")
CLOSED_WORKFLOW_STATUSES: Final = ("cleaned", "duplicate", "rejected")
PUBLICATION_STATES: Final = ("pending", "published", "hidden")
REPORT_UNITS: Final = ("ward_office", "police", "waste_company", "environment_company")
ROLES: Final = ("ward_office", "police", "waste_company", "admin")


def open311_status(workflow_status: str) -> str:
    """Return the Open311 wire status (``open``/``closed``) of a workflow status."""
    if workflow_status in OPEN_WORKFLOW_STATUSES:
        return "open"
    if workflow_status in CLOSED_WORKFLOW_STATUSES:
        return "closed"
    msg = f"unknown workflow status {workflow_status!r}; expected one of {WORKFLOW_STATUSES}"
    raise ValueError(msg)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware timestamp stored in UTC on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given back with ``tzinfo=UTC``. A naive value passed in is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert to UTC (naive on SQLite)."""
        if value is None:
            return None
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware UTC (microseconds kept)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Ward(Base):
    """A ward, commune or special zone (phường / xã / đặc khu) of Hai Phong after July 2025."""

    __tablename__ = "ward"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # official 5-digit code
    name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str | None] = mapped_column(String(32))  # phường / xã / đặc khu
    boundary_source: Mapped[str | None] = mapped_column(String(500))
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False
    )


class ResidentialGroup(Base):
    """A residential group (tổ dân phố in a ward, thôn in a commune) with its households."""

    __tablename__ = "residential_group"
    __table_args__ = (CheckConstraint("households IS NULL OR households >= 0", name="households"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    households: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(500))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False
    )


class GatheringPoint(Base):
    """A household-waste gathering point (điểm tập kết), existing, proposed or closed."""

    __tablename__ = "gathering_point"
    __table_args__ = (
        CheckConstraint(_in("status", GATHERING_POINT_STATUSES), name="status"),
        CheckConstraint("bins_240l >= 0 AND bins_660l >= 0", name="bins"),
        CheckConstraint("capacity_kg_per_day IS NULL OR capacity_kg_per_day >= 0", name="capacity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="existing")
    bins_240l: Mapped[int] = mapped_column(Integer, default=0)
    bins_660l: Mapped[int] = mapped_column(Integer, default=0)
    capacity_kg_per_day: Mapped[float | None] = mapped_column(Float)
    streams: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(WASTE_STREAMS))
    street: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(500))  # file name / plan id / "synthetic"
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True), nullable=False
    )


class Facility(Base):
    """A waste facility (landfill, transfer station, plant), keyed by a stable text ``fid``."""

    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fid: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(64))
    location_precision: Mapped[str | None] = mapped_column(String(64))
    ward_code: Mapped[str | None] = mapped_column(String(16), index=True)
    source: Mapped[str | None] = mapped_column(String(500))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False
    )


class Report(Base):
    """A citizen report (Open311 service request); ``id`` is the ``service_request_id``.

    Personal fields (``account_id``, ``email``, ``phone``, ``first_name``, ``last_name``,
    ``device_id``) are stored for the ward office and never returned by public endpoints, nor
    are the unit it is assigned to (``assigned_unit``; the public reads ``agency_responsible``)
    and its links to a dump site and a camera.
    """

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(_in("status", OPEN311_STATUSES), name="status"),
        CheckConstraint(_in("workflow_status", WORKFLOW_STATUSES), name="workflow_status"),
        CheckConstraint(
            f"({_in('workflow_status', OPEN_WORKFLOW_STATUSES)} AND status = 'open') OR "
            f"({_in('workflow_status', CLOSED_WORKFLOW_STATUSES)} AND status = 'closed')",
            name="status_matches_workflow",
        ),
        CheckConstraint(
            "duplicate_of IS NULL OR workflow_status = 'duplicate'", name="duplicate_of"
        ),
        CheckConstraint(_in("publication", PUBLICATION_STATES), name="publication"),
        CheckConstraint(
            f"assigned_unit IS NULL OR {_in('assigned_unit', REPORT_UNITS)}", name="assigned_unit"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    workflow_status: Mapped[str] = mapped_column(String(16), default="received")
    status_notes: Mapped[str | None] = mapped_column(Text)
    agency_responsible: Mapped[str | None] = mapped_column(String(200))
    service_notice: Mapped[str | None] = mapped_column(Text)
    requested_datetime: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_datetime: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expected_datetime: Mapped[dt.datetime | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(Text)
    address_id: Mapped[str | None] = mapped_column(String(100))
    zipcode: Mapped[str | None] = mapped_column(String(16))
    media_url: Mapped[str | None] = mapped_column(Text)
    photo_path: Mapped[str | None] = mapped_column(Text)  # relative to the media folder
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    account_id: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(200))
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("report.id", ondelete="SET NULL"), index=True
    )
    ward_code: Mapped[str | None] = mapped_column(String(16), index=True)
    source: Mapped[str | None] = mapped_column(String(500), default="open311")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    publication: Mapped[str] = mapped_column(
        String(16), default="published", server_default="published"
    )
    original_photo_path: Mapped[str | None] = mapped_column(Text)  # staff only, if kept
    idempotency_key: Mapped[str | None] = mapped_column(String(200), index=True, unique=True)
    assigned_unit: Mapped[str | None] = mapped_column(String(32))
    dump_site_id: Mapped[int | None] = mapped_column(ForeignKey("dump_site.id"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id"), index=True)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True), nullable=False
    )


class _AuditColumns:
    """Columns of an audit row: when, who, which field, old and new value, and a note."""

    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class ReportUpdate(_AuditColumns, Base):
    """One audit row: a field of a report changed (or a note was added) by an actor."""

    __tablename__ = "report_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)


class DumpSite(Base):
    """A spontaneous dump site (bãi rác tự phát), from first sighting to restoration."""

    __tablename__ = "dump_site"
    __table_args__ = (
        CheckConstraint(_in("status", DUMP_SITE_STATUSES), name="status"),
        CheckConstraint("volume_m3 IS NULL OR volume_m3 >= 0", name="volume"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    volume_m3: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    restored_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(500))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = mapped_column(  # Point or (Multi)Polygon
        Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False
    )


class DumpSiteUpdate(_AuditColumns, Base):
    """One audit row of a dump site, like `ReportUpdate`."""

    __tablename__ = "dump_site_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dump_site_id: Mapped[int] = mapped_column(
        ForeignKey("dump_site.id", ondelete="CASCADE"), index=True
    )


class Camera(Base):
    """A camera watching a dumping hotspot: position, heading and field of view."""

    __tablename__ = "camera"
    __table_args__ = (
        CheckConstraint(_in("kind", CAMERA_KINDS), name="kind"),
        CheckConstraint(_in("status", CAMERA_STATUSES), name="status"),
        CheckConstraint(
            "heading_deg IS NULL OR (heading_deg >= 0 AND heading_deg < 360)", name="heading"
        ),
        CheckConstraint("fov_deg IS NULL OR (fov_deg > 0 AND fov_deg <= 360)", name="fov"),
        CheckConstraint("range_m IS NULL OR range_m > 0", name="range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="fixed")
    owner: Mapped[str | None] = mapped_column(String(200))
    heading_deg: Mapped[float | None] = mapped_column(Float)  # clockwise from north
    fov_deg: Mapped[float | None] = mapped_column(Float)
    range_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="existing")
    source: Mapped[str | None] = mapped_column(String(500))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True), nullable=False
    )


class Plan(Base):
    """A plan run: its parameters, progress, inputs' versions, summary, result and files.

    ``kind`` is ``ward`` for a whole ward plan (points, week, hotspots, cameras) run as a job,
    or one of the single parts. A run goes ``queued -> running -> done`` (or ``failed`` with a
    one-line ``error``, or ``cancelled``); a plan saved directly (`geo.store.save_plan`) is
    ``done`` at once. ``progress`` is the share done (0–1) and ``stage`` the step under way;
    ``cancel_requested_at`` is set when someone cancels a running job, which stops at its next
    stage. ``job_id`` is the queue's job (procrastinate's id on PostgreSQL), ``worker`` the
    process that ran it. ``inputs`` records the versions of what the run read (road extract,
    boundary, registers, gomrac) and ``output_dir`` the folder of its files (relative to
    `Settings.plans_path`), listed in ``plan_file``.
    """

    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint(_in("kind", PLAN_KINDS), name="kind"),
        CheckConstraint(_in("status", PLAN_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str | None] = mapped_column(Text)  # GeoJSON FeatureCollection text
    status: Mapped[str] = mapped_column(
        String(16), default="done", server_default="done", index=True
    )
    progress: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    stage: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime | None] = mapped_column()
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))  # one line
    created_by: Mapped[str | None] = mapped_column(String(64))  # account username
    job_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(200))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output_dir: Mapped[str | None] = mapped_column(String(200))


class PlanFile(Base):
    """A file a plan run wrote: its path under the run's folder, size and SHA-256."""

    __tablename__ = "plan_file"
    __table_args__ = (
        CheckConstraint("bytes >= 0", name="bytes"),
        UniqueConstraint("plan_id", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))  # POSIX, relative to the plan's output_dir
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class UserAccount(Base):
    """A staff account: who signs in, with which role, for which wards."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    role: Mapped[str] = mapped_column(String(32))
    ward_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # [] for admin: all
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    """A sign-in's bearer token, stored as its SHA-256 only; expires, can be revoked."""

    __tablename__ = "access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class SignInFailure(Base):
    """A failed sign-in: the name tried and the client address, for the lockout."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class RateLimit(Base):
    """A posting limit's window for one key, shared by every server worker.

    ``scope`` names the limit (``client``, ``device``) and ``key`` the client address or device
    id; ``window_start`` (seconds since the epoch) opened the key's current window at its first
    accepted post and ``hits`` counts the posts accepted since (`geo.store.rate_limit_hit`).
    """

    __tablename__ = "rate_limit"
    __table_args__ = (CheckConstraint("hits >= 0", name="hits"),)

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float, index=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
