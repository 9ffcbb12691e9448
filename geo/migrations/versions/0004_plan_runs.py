"""Plan runs: status, progress, inputs' versions and files of every plan; the job queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

``plan`` gains what a run needs (see ``geo.models.Plan``): ``status`` (``queued``, ``running``,
``done``, ``failed``, ``cancelled``; existing rows were saved results, so ``done``),
``progress`` (0–1; existing rows 1) and ``stage``, ``started_at``/``finished_at``/
``updated_at``, ``cancel_requested_at``, a one-line ``error``, ``created_by`` (the account),
``job_id`` and ``worker``, ``inputs`` (the versions of what the run read) and ``output_dir``;
``kind`` may now be ``ward`` (a whole ward plan). ``plan_file`` lists each run's files (path
under the run's folder, size, SHA-256).

``plan`` has no geometry column, so on SQLite it is altered with alembic's batch mode (copy
and move), which is how SQLite can change a CHECK constraint; the spatial tables' limits noted
in 0002 do not apply. On PostgreSQL the same operations are plain ``ALTER TABLE`` statements.

On PostgreSQL this revision also creates procrastinate's job queue (its tables, types and
functions, from the ``schema.sql`` of the pinned procrastinate release) in the schema the
tables go to, unless ``procrastinate_jobs`` is already there. Upgrading procrastinate to a
release with a newer schema needs a revision that applies its SQL migrations (procrastinate's
``sql/migrations`` folder). SQLite has no procrastinate: its jobs run in the web app's process
(`gomrac.api.jobs`). This file does not import ``geo.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("points", "routes", "hotspots", "cameras")
KINDS = (*OLD_KINDS, "ward")
STATUSES = ("queued", "running", "done", "failed", "cancelled")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    """Add the run columns to ``plan``, create ``plan_file`` and (PostgreSQL) the job queue."""
    with op.batch_alter_table("plan") as batch:
        batch.drop_constraint(op.f("ck_plan_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_plan_kind"), _in("kind", KINDS))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="done"))
        batch.add_column(sa.Column("progress", sa.Float(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("stage", sa.String(64), nullable=True))
        for name in ("started_at", "finished_at", "updated_at", "cancel_requested_at"):
            batch.add_column(_ts(name))
        batch.add_column(sa.Column("error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("job_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("worker", sa.String(200), nullable=True))
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("output_dir", sa.String(200), nullable=True))
        batch.create_check_constraint(op.f("ck_plan_status"), _in("status", STATUSES))
        batch.create_check_constraint(op.f("ck_plan_progress"), "progress >= 0 AND progress <= 1")
        batch.create_index(op.f("ix_plan_status"), ["status"], unique=False)

    op.create_table(
        "plan_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.CheckConstraint("bytes >= 0", name=op.f("ck_plan_file_bytes")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_file_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_file")),
        sa.UniqueConstraint("plan_id", "path", name=op.f("uq_plan_file_plan_id_path")),
    )
    op.create_index(op.f("ix_plan_file_plan_id"), "plan_file", ["plan_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _create_job_queue()


def _create_job_queue() -> None:
    """Apply procrastinate's schema in the current schema, once."""
    from procrastinate.schema import SchemaManager

    bind = op.get_bind()
    exists = bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar()
    if exists:
        return
    # one script of many statements; "%" doubled as procrastinate's own apply_schema does, for
    # the driver's placeholder syntax
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def _drop_job_queue() -> None:
    """Drop procrastinate's tables, functions and types from the current schema."""
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    for table in ("events", "periodic_defers", "jobs", "workers"):
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
    functions = bind.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :schema AND p.proname LIKE 'procrastinate%'"
        ),
        {"schema": schema},
    ).scalars()
    for signature in list(functions):
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    types = bind.execute(
        sa.text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = :schema AND t.typname LIKE 'procrastinate%' AND t.typtype IN "
            "('e', 'c')"
        ),
        {"schema": schema},
    ).scalars()
    for name in list(types):
        op.execute(f'DROP TYPE IF EXISTS "{name}" CASCADE')


def downgrade() -> None:
    """Drop the job queue, ``plan_file`` and the run columns (ward plans are deleted)."""
    if op.get_bind().dialect.name == "postgresql":
        _drop_job_queue()
    op.drop_index(op.f("ix_plan_file_plan_id"), table_name="plan_file")
    op.drop_table("plan_file")
    op.execute("DELETE FROM plan WHERE kind = 'ward'")
    with op.batch_alter_table("plan") as batch:
        batch.drop_index(op.f("ix_plan_status"))
        batch.drop_constraint(op.f("ck_plan_progress"), type_="check")
        batch.drop_constraint(op.f("ck_plan_status"), type_="check")
        for name in (
            "output_dir",
            "inputs",
            "worker",
            "job_id",
            "created_by",
            "error",
            "cancel_requested_at",
            "updated_at",
            "finished_at",
            "started_at",
            "stage",
            "progress",
            "status",
        ):
            batch.drop_column(name)
        batch.drop_constraint(op.f("ck_plan_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_plan_kind"), _in("kind", OLD_KINDS))
