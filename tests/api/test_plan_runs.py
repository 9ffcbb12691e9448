"""Plan runs outside any queue: the request's checks, a stopping worker, a vanished run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gomrac.analysis.errors import ValidationError
from gomrac.api.plan_runs import PlanRequest, execute_plan_run, file_records
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.settings import Settings


def test_plan_request__checked_and_read_back() -> None:
    """A request travels as JSON and back; bad values and unknown keys are clear errors."""
    request = PlanRequest(walk_m=250.0, camera_budget=3, time_limit_s=5, sample_if_missing=True)
    assert PlanRequest.from_params(request.to_params()) == request
    with pytest.raises(ValidationError, match=r"walk_m -1 must be in \(0, 2000\] metres"):
        PlanRequest(walk_m=-1)
    with pytest.raises(ValidationError, match=r"unknown plan parameter\(s\) \['radius'\]"):
        PlanRequest.from_params({"radius": 3})
    options = request.options()
    assert (options.walk_m, options.camera_budget, options.time_limit_s) == (250.0, 3, 5)


def test_execute_plan_run__stopping_worker_fails_the_run(
    engine: Any, settings: Settings, tmp_path: Path
) -> None:
    """A worker that stops before the first step stores the run failed, to be queued again."""
    local = settings.model_copy(update={"plans_dir": tmp_path / "plans"})
    with session_scope(engine) as session:
        plan = store.create_plan_run(session, ward_code="11383", params={}, created_by=None)
    done = execute_plan_run(engine, plan.id, settings=local, should_abort=lambda: True)
    assert done.status == "failed"
    assert done.error == "the worker stopped before the registers step; queue the plan again"
    assert not (tmp_path / "plans" / f"plan_{plan.id}").exists()
    again = execute_plan_run(engine, plan.id, settings=local)  # not queued: left as it is
    assert (again.status, again.error) == ("failed", done.error)


def test_file_records__relative_paths_sizes_and_digests(tmp_path: Path) -> None:
    """Files are listed by POSIX path under the folder, with their size and SHA-256."""
    (tmp_path / "week").mkdir()
    (tmp_path / "a.txt").write_bytes(b"abc")
    (tmp_path / "week" / "b.csv").write_bytes(b"")
    assert file_records(tmp_path) == [
        ("a.txt", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("week/b.csv", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ]


def test_plan_for__the_database_is_asked_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ward with no finished run is looked up once per interval, not on every request; a
    run finished meanwhile is seen at the next look."""
    from starlette.datastructures import State

    from gomrac.api import plan_runs
    from gomrac.api.web import layers

    clock = [1000.0]
    calls: list[str] = []
    run: list[Any] = []

    def load(_engine: Any, _settings: Any, key: str, *, known: int | None = None) -> Any:
        calls.append(key)
        return run[0] if run else None

    monkeypatch.setattr(plan_runs, "load_ward_plan", load)
    monkeypatch.setattr(layers.time, "monotonic", lambda: clock[0])
    state = State()
    state.engine, state.settings = object(), object()
    assert [layers.plan_for(state, "11383") for _ in range(5)] == [None] * 5
    assert calls == ["11383"]
    plan = object()
    run.append((7, plan, Path("plan_7"), 0.0))
    clock[0] += layers.STORED_PLAN_CHECK_S
    assert layers.plan_for(state, "11383") is plan
    assert layers.week_dir_for(state, "11383") == Path("plan_7") / "week"
    assert calls == ["11383", "11383"]
