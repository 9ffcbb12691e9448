"""Reports: the unit a report is assigned to, and its links to a dump site and a camera.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

On ``report``: ``assigned_unit`` (``ward_office``, ``police``, ``waste_company`` or
``environment_company``; NULL while unassigned), ``dump_site_id`` (the dump register's row the
report is about) and ``camera_id`` (the camera that saw it), each with an index. The two
foreign keys have no ``ON DELETE`` action: a site or camera that a report links to cannot be
deleted before the link is removed, so no link is lost without a trace (and SQLite reflects a
column's foreign key without its options, which keeps the migrated schema equal to the
models').

As in 0002, every column is added with one ``ALTER TABLE ... ADD COLUMN`` carrying its own
CHECK or REFERENCES clause, which SQLite and PostgreSQL both accept: SQLite cannot add a table
constraint to an existing table, and copying the spatial ``report`` table (alembic's batch
mode) would drop SpatiaLite's geometry triggers. This file does not import ``geo.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNITS = ("ward_office", "police", "waste_company", "environment_company")
LINKS = (("dump_site_id", "dump_site"), ("camera_id", "camera"))


def upgrade() -> None:
    """Add ``assigned_unit``, ``dump_site_id`` and ``camera_id`` to ``report``."""
    units = ", ".join(f"'{u}'" for u in UNITS)
    op.execute(
        "ALTER TABLE report ADD COLUMN assigned_unit VARCHAR(32) "
        "CONSTRAINT ck_report_assigned_unit "
        f"CHECK (assigned_unit IS NULL OR assigned_unit IN ({units}))"
    )
    for column, table in LINKS:
        op.execute(
            f"ALTER TABLE report ADD COLUMN {column} INTEGER "
            f"CONSTRAINT fk_report_{column}_{table} REFERENCES {table} (id)"
        )
        op.create_index(op.f(f"ix_report_{column}"), "report", [column], unique=False)


def downgrade() -> None:
    """Drop the three columns again."""
    for column, _table in reversed(LINKS):
        op.drop_index(op.f(f"ix_report_{column}"), table_name="report")
        op.execute(f"ALTER TABLE report DROP COLUMN {column}")
    op.execute("ALTER TABLE report DROP COLUMN assigned_unit")
