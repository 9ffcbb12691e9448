"""Posting rate-limit counters shared by every server worker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

``rate_limit`` holds one row per limit scope (``client``, ``device``) and key (a client
address, a device id): ``window_start`` (seconds since the epoch) opens the key's current window
at its first accepted post, ``hits`` counts the posts accepted since. Every server worker, on
every machine using the same database, counts in the same row with one ``INSERT ... ON CONFLICT
DO UPDATE ... WHERE`` (PostgreSQL and SQLite both have it), so a limit holds for the whole
service. ``ix_rate_limit_window_start`` lets expired rows be deleted cheaply.

A new table only: nothing on SQLite's ALTER TABLE limits applies. This file does not import
``geo.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the rate-limit counter table."""
    op.create_table(
        "rate_limit",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.CheckConstraint("hits >= 0", name=op.f("ck_rate_limit_hits")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_rate_limit")),
    )
    op.create_index(
        op.f("ix_rate_limit_window_start"), "rate_limit", ["window_start"], unique=False
    )


def downgrade() -> None:
    """Drop the rate-limit counter table."""
    op.drop_index(op.f("ix_rate_limit_window_start"), table_name="rate_limit")
    op.drop_table("rate_limit")
