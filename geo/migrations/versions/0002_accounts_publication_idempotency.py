"""Staff accounts and tokens, sign-in failures; report publication state and idempotency key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

``user_account`` (argon2 password hash, role, ward codes), ``access_token`` (SHA-256 of each
issued bearer token, its expiry and revocation) and ``sign_in_failure`` (the lockout's
memory). On ``report``: ``publication`` (``pending``/``published``/``hidden``, existing rows
``published`` as they were public), ``original_photo_path`` (the unstripped photo kept for
staff when the ward chooses) and ``idempotency_key`` with a unique index.

The report columns are added with one ``ALTER TABLE ... ADD COLUMN`` each, which SQLite and
PostgreSQL both accept with a column CHECK constraint: SQLite cannot add a table constraint to
an existing table, and copying the spatial ``report`` table (alembic's batch mode) would drop
SpatiaLite's geometry triggers. This file does not import ``geo.models``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("ward_office", "police", "waste_company", "admin")
PUBLICATION_STATES = ("pending", "published", "hidden")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    """Create the account tables and add the report columns."""
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("ward_codes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(_in("role", ROLES), name=op.f("ck_user_account_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    op.create_table(
        "access_token",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_access_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_token")),
    )
    op.create_index(op.f("ix_access_token_user_id"), "access_token", ["user_id"], unique=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    for column in ("username", "client", "at"):
        op.create_index(
            op.f(f"ix_sign_in_failure_{column}"), "sign_in_failure", [column], unique=False
        )

    states = ", ".join(f"'{s}'" for s in PUBLICATION_STATES)
    op.execute(
        "ALTER TABLE report ADD COLUMN publication VARCHAR(16) DEFAULT 'published' NOT NULL "
        f"CONSTRAINT ck_report_publication CHECK (publication IN ({states}))"
    )
    op.execute("ALTER TABLE report ADD COLUMN original_photo_path TEXT")
    op.execute("ALTER TABLE report ADD COLUMN idempotency_key VARCHAR(200)")
    op.create_index(op.f("ix_report_idempotency_key"), "report", ["idempotency_key"], unique=True)


def downgrade() -> None:
    """Drop the report columns and the account tables."""
    op.drop_index(op.f("ix_report_idempotency_key"), table_name="report")
    for column in ("idempotency_key", "original_photo_path", "publication"):
        op.execute(f"ALTER TABLE report DROP COLUMN {column}")
    op.drop_table("sign_in_failure")
    op.drop_table("access_token")
    op.drop_table("user_account")
