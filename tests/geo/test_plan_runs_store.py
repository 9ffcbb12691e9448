"""Plan runs in the database: migration 0004, the run's life cycle and its checks."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.geo import store
from gomrac.geo.db import init_db, make_engine, session_scope


def test_migration_0004__keeps_saved_plans_and_adds_the_queue(db_url: str) -> None:
    """A plan saved before 0004 is a finished run after it; PostgreSQL gains procrastinate's
    job table."""
    engine = make_engine(db_url)
    try:
        init_db(engine, revision="0003")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO plan (ward_code, kind, created_at, params, summary) "
                    "VALUES ('11383', 'points', '2026-01-02 03:04:05', '{}', '{\"n\": 3}')"
                )
            )
        init_db(engine)
        with session_scope(engine) as session:
            (old,) = store.list_plans(session)
            assert (old.status, old.progress, old.inputs, old.summary) == (
                "done",
                1.0,
                {},
                {"n": 3},
            )
            assert store.plan_files(session, old.id) == []
        tables = set(inspect(engine).get_table_names())
        assert "plan_file" in tables
        assert ("procrastinate_jobs" in tables) == (engine.dialect.name == "postgresql")
    finally:
        engine.dispose()


def test_plan_run__life_cycle(engine: Engine) -> None:
    """queued -> running (claimed once) -> progress -> cancel asked -> cancelled."""
    with session_scope(engine) as session:
        plan = store.create_plan_run(
            session, ward_code="11383", params={"walk_m": 300.0}, created_by="lan.nguyen"
        )
        assert (plan.status, plan.progress, plan.stage, plan.kind) == (
            "queued",
            0.0,
            "queued",
            "ward",
        )
        assert store.next_queued_plan(session) == plan.id
        assert store.claim_plan_run(session, plan.id, worker="host:1")
        assert not store.claim_plan_run(session, plan.id, worker="host:2")
        assert store.next_queued_plan(session) is None
        assert not store.set_plan_progress(session, plan.id, progress=0.25, stage="points")
        with pytest.raises(ValidationError, match=r"progress 1.5 is outside \[0, 1\]"):
            store.set_plan_progress(session, plan.id, progress=1.5, stage="week")
        asked = store.request_plan_cancel(session, plan.id)
        assert asked.status == "running"
        assert asked.cancel_requested_at is not None
        assert store.set_plan_progress(session, plan.id, progress=0.5, stage="week")
        done = store.cancel_plan_run(session, plan.id)
        assert (done.status, done.stage, done.progress, done.worker) == (
            "cancelled",
            "cancelled",
            0.5,
            "host:1",
        )
        with pytest.raises(ValidationError, match="already cancelled; there is nothing to cancel"):
            store.request_plan_cancel(session, plan.id)
        with pytest.raises(DataNotFoundError, match="no plan 999"):
            store.request_plan_cancel(session, 999)


def test_plan_run__failure_on_one_line_and_files_checked(engine: Engine) -> None:
    """A failure's error is stored on one line; a file path out of the run's folder is refused
    and nothing is stored for it."""
    with session_scope(engine) as session:
        queued = store.create_plan_run(session, ward_code="11383", params={}, created_by=None)
        assert store.request_plan_cancel(session, queued.id).status == "cancelled"
        plan = store.create_plan_run(session, ward_code="11383", params={}, created_by=None)
        assert store.claim_plan_run(session, plan.id, worker="w")
        with pytest.raises(ValidationError, match="must be relative to the plan's folder"):
            store.finish_plan_run(
                session,
                plan.id,
                summary={},
                inputs={},
                output_dir="plan_2",
                files=[("../elsewhere.txt", 3, "0" * 64)],
            )
        assert store.plan_files(session, plan.id) == []
        failed = store.fail_plan_run(session, plan.id, error="Traceback:\n  line 1\n\tboom  ")
        assert (failed.status, failed.error) == ("failed", "Traceback: line 1 boom")
        assert store.fail_plan_run(session, plan.id, error="x" * 900).error == "x" * 499 + "…"
        assert store.latest_plan(session, ward_code="11383") is None
        assert [p.status for p in store.list_plans(session, status="cancelled")] == ["cancelled"]


def test_plan_run__status_checked_by_the_database(engine: Engine) -> None:
    """The database refuses a status or a progress outside their ranges."""
    with session_scope(engine) as session:
        plan = store.create_plan_run(session, ward_code="11383", params={}, created_by=None)
        plan_id = plan.id
    for column, value in (("status", "'paused'"), ("progress", "1.5")):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(f"UPDATE plan SET {column} = {value} WHERE id = {plan_id}"))
