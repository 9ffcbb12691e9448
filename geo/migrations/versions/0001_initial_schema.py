"""Initial schema: wards, layers, reports with audit trail, dump sites, cameras, plans.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Spatial tables are created with GeoAlchemy2's ``create_geospatial_table`` and their GiST /
SpatiaLite R*Tree indexes with ``create_geospatial_index`` (named ``idx_<table>_geom``, the
name SpatiaLite itself gives its index tables). On PostGIS a column is
``geometry(<TYPE>,4326)``; on SpatiaLite GeoAlchemy2 registers it in ``geometry_columns`` with
``RecoverGeometryColumn`` so the SRID and the geometry type are enforced by SpatiaLite's
triggers. Timestamps are ``timestamptz`` on PostGIS and naive UTC text on SQLite (see
``geo.models.UTCDateTime``). This file does not import ``geo.models``: the models will change,
this revision must not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

# ``op.create_geospatial_table`` and the other ``*_geospatial_*`` operations are registered on
# alembic's Operations at run time by ``geoalchemy2.alembic_helpers`` (imported in env.py), so
# alembic's typed ``op`` module does not list them; mypy is told to skip those attributes.

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPATIAL_TABLES = (
    "ward",
    "residential_group",
    "gathering_point",
    "facility",
    "report",
    "dump_site",
    "camera",
)


def _geom(geometry_type: str) -> sa.Column[Any]:
    # spatial_index=False: the index is created explicitly below (GeoAlchemy2's convention)
    return sa.Column(
        "geom",
        Geometry(geometry_type=geometry_type, srid=4326, spatial_index=False, nullable=False),
        nullable=False,
    )


def _ts(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _provenance() -> list[sa.Column[Any]]:
    return [
        sa.Column("source", sa.String(500), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
    ]


def _audit_columns() -> list[sa.Column[Any]]:
    return [
        _ts("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    """Create every table and index."""
    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "ward",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_type", sa.String(32), nullable=True),
        sa.Column("boundary_source", sa.String(500), nullable=True),
        _geom("MULTIPOLYGON"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ward")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "residential_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        *_provenance(),
        _geom("GEOMETRY"),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0", name=op.f("ck_residential_group_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residential_group")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "gathering_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("bins_240l", sa.Integer(), nullable=False),
        sa.Column("bins_660l", sa.Integer(), nullable=False),
        sa.Column("capacity_kg_per_day", sa.Float(), nullable=True),
        sa.Column("streams", sa.JSON(), nullable=False),
        sa.Column("street", sa.String(200), nullable=True),
        *_provenance(),
        _geom("POINT"),
        sa.CheckConstraint(
            _in("status", ("existing", "proposed", "closed")),
            name=op.f("ck_gathering_point_status"),
        ),
        sa.CheckConstraint(
            "bins_240l >= 0 AND bins_660l >= 0", name=op.f("ck_gathering_point_bins")
        ),
        sa.CheckConstraint(
            "capacity_kg_per_day IS NULL OR capacity_kg_per_day >= 0",
            name=op.f("ck_gathering_point_capacity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gathering_point")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "facility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fid", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=True),
        sa.Column("location_precision", sa.String(64), nullable=True),
        sa.Column("ward_code", sa.String(16), nullable=True),
        *_provenance(),
        _geom("GEOMETRY"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility")),
        sa.UniqueConstraint("fid", name=op.f("uq_facility_fid")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("workflow_status", sa.String(16), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("agency_responsible", sa.String(200), nullable=True),
        sa.Column("service_notice", sa.Text(), nullable=True),
        _ts("requested_datetime"),
        _ts("updated_datetime"),
        _ts("expected_datetime", nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("address_id", sa.String(100), nullable=True),
        sa.Column("zipcode", sa.String(16), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("photo_path", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(200), nullable=True),
        sa.Column("last_name", sa.String(200), nullable=True),
        sa.Column("device_id", sa.String(200), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("ward_code", sa.String(16), nullable=True),
        *_provenance(),
        _geom("POINT"),
        sa.CheckConstraint(_in("status", ("open", "closed")), name=op.f("ck_report_status")),
        sa.CheckConstraint(
            _in(
                "workflow_status",
                ("received", "verified", "assigned", "cleaned", "duplicate", "rejected"),
            ),
            name=op.f("ck_report_workflow_status"),
        ),
        sa.CheckConstraint(
            f"({_in('workflow_status', ('received', 'verified', 'assigned'))} "
            "AND status = 'open') OR "
            f"({_in('workflow_status', ('cleaned', 'duplicate', 'rejected'))} "
            "AND status = 'closed')",
            name=op.f("ck_report_status_matches_workflow"),
        ),
        sa.CheckConstraint(
            "duplicate_of IS NULL OR workflow_status = 'duplicate'",
            name=op.f("ck_report_duplicate_of"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["report.id"],
            name=op.f("fk_report_duplicate_of_report"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )

    op.create_table(
        "report_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_update_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_update")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "dump_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("volume_m3", sa.Float(), nullable=True),
        sa.Column("first_seen", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("restored_on", sa.Date(), nullable=True),
        *_provenance(),
        _geom("GEOMETRY"),
        sa.CheckConstraint(
            _in("status", ("active", "being_cleaned", "closed", "restored")),
            name=op.f("ck_dump_site_status"),
        ),
        sa.CheckConstraint("volume_m3 IS NULL OR volume_m3 >= 0", name=op.f("ck_dump_site_volume")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dump_site")),
    )

    op.create_table(
        "dump_site_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dump_site_id", sa.Integer(), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["dump_site_id"],
            ["dump_site.id"],
            name=op.f("fk_dump_site_update_dump_site_id_dump_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dump_site_update")),
    )

    op.create_geospatial_table(  # type: ignore[attr-defined]  # geoalchemy2 op
        "camera",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.Column("fov_deg", sa.Float(), nullable=True),
        sa.Column("range_m", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        *_provenance(),
        _geom("POINT"),
        sa.CheckConstraint(
            _in("kind", ("fixed", "mobile", "security")), name=op.f("ck_camera_kind")
        ),
        sa.CheckConstraint(_in("status", ("existing", "proposed")), name=op.f("ck_camera_status")),
        sa.CheckConstraint(
            "heading_deg IS NULL OR (heading_deg >= 0 AND heading_deg < 360)",
            name=op.f("ck_camera_heading"),
        ),
        sa.CheckConstraint(
            "fov_deg IS NULL OR (fov_deg > 0 AND fov_deg <= 360)", name=op.f("ck_camera_fov")
        ),
        sa.CheckConstraint("range_m IS NULL OR range_m > 0", name=op.f("ck_camera_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera")),
    )

    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("kind", ("points", "routes", "hotspots", "cameras")), name=op.f("ck_plan_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )

    for table in SPATIAL_TABLES:
        op.create_geospatial_index(  # type: ignore[attr-defined]  # geoalchemy2 op
            f"idx_{table}_geom", table, ["geom"], unique=False, postgresql_using="gist"
        )
    for table, column in (
        ("residential_group", "ward_code"),
        ("gathering_point", "ward_code"),
        ("facility", "ward_code"),
        ("report", "service_code"),
        ("report", "status"),
        ("report", "requested_datetime"),
        ("report", "duplicate_of"),
        ("report", "ward_code"),
        ("report_update", "report_id"),
        ("dump_site", "ward_code"),
        ("dump_site_update", "dump_site_id"),
        ("camera", "ward_code"),
        ("plan", "ward_code"),
    ):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    """Drop every table (audit tables first)."""
    for table in ("report_update", "dump_site_update", "plan"):
        op.drop_table(table)
    for table in reversed(SPATIAL_TABLES):
        op.drop_geospatial_index(  # type: ignore[attr-defined]  # geoalchemy2 op
            f"idx_{table}_geom", table, column_name="geom", postgresql_using="gist"
        )
        op.drop_geospatial_table(table)  # type: ignore[attr-defined]  # geoalchemy2 op
