"""Plan runs stored in the database: a ward plan run from its registers, recorded with its inputs.

A plan run is one ``plan`` row (kind ``ward``) that a job queue (`gomrac.api.jobs`) executes
with `execute_plan_run`:

1. the run is claimed (``queued -> running``; a run cancelled before it started is left alone);
2. the ward's area is loaded (the ward itself, or the Hanoi sample when the ward has no road
   data and the request allows it, or a boundary file given by the command line or Python);
3. the ward's registers are read from the database (gathering points, residential groups,
   reports, cameras, dump sites): each one's row count, content digest and last change are
   recorded, and the ones the planning layer takes are used when they lie in the planned area
   (existing gathering points as `PlanOptions.existing_points`, residential groups as the
   area's groups, stored reports for the hotspots);
4. `gomrac.api.planning.plan_ward` runs, reporting its stages (points, week, hotspots,
   cameras, and the weekly routing's day problems) as progress; a cancel asked meanwhile
   stops it at the next of these;
5. the plan is written (`gomrac.api.outputs.write_plan`) under ``<plans folder>/plan_<id>`` and
   every file is recorded with its size and SHA-256; the summary keeps the plan's figures and
   its planned scorecard indicators.

A failure is stored as ``failed`` with its error on one line; nothing stored before is lost
(the partial folder of a failed or cancelled run is removed).

`stored_ward_scorecard` reads a ward's scorecard back from the database: the planned
indicators of its newest finished plan run, the measured ones from the registers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select

from gomrac.analysis import scorecard as sc
from gomrac.analysis.errors import DataNotFoundError, GomracError, ValidationError
from gomrac.analysis.stopping import stop_when
from gomrac.api.planning import PlanOptions, WardPlan
from gomrac.geo import store
from gomrac.geo.crs import to_metric
from gomrac.geo.db import session_scope
from gomrac.geo.models import DumpSiteUpdate, Plan, Report

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from gomrac.api.pipeline import WardData
    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

SAMPLE_WARD: Final = "sample"  # the ward code of runs on the Hanoi sample itself
#: The run's `WardPlan`, for the web pages (pickled; read back only with its recorded SHA-256).
PLAN_BUNDLE: Final = "ward_plan.pickle"
_DEFAULTS: Final = PlanOptions()
#: The registers a run reads, with whether the planning layer takes them.
REGISTERS: Final = (
    "gathering_points",
    "residential_groups",
    "reports",
    "cameras",
    "dump_sites",
)
#: Camera kinds of the register that stand where they are (mobile ones are re-sited weekly).
SITED_KINDS: Final = ("fixed", "security")
_NOT_AN_INPUT: Final = {
    "dump_sites": "recorded only: dump sites enter the scorecard, not the plan",
}
#: Share of the run done when each of its steps starts.
STAGES: Final = {"registers": 0.02, "area": 0.04, "plan": 0.1, "files": 0.9}
_PLAN_SHARE: Final = STAGES["files"] - STAGES["plan"]
PLANNED_INDICATORS: Final = (
    "groups_with_points",
    "households_within_walk",
    "hotspots_watched",
    "collection_cut",
    "households_collected",
)


class PlanCancelledError(GomracError):
    """A plan run stopped because someone cancelled it."""


class PlanInterruptedError(GomracError):
    """A plan run stopped because its worker is shutting down (stored as failed)."""


@dataclass(frozen=True)
class PlanRequest:
    """What a plan run is asked for: `PlanOptions`' values that travel as JSON.

    ``sample_if_missing`` runs on the Hanoi sample (labelled) when the ward has no road data;
    ``boundary`` (command line and Python only, never the web) is a polygon file planned in
    the ward's stead.
    """

    walk_m: float = _DEFAULTS.walk_m
    camera_budget: int = _DEFAULTS.camera_budget
    mobile_cameras: int = _DEFAULTS.mobile_cameras
    time_limit_s: float | None = None
    seed: int | None = None
    sample_if_missing: bool = False
    boundary: str | None = None

    def __post_init__(self) -> None:
        """Check the ranges (a clear `ValidationError`, never a solver failure later)."""
        problems = []
        if not 0 < self.walk_m <= 2000:
            problems.append(f"walk_m {self.walk_m} must be in (0, 2000] metres")
        if not 0 <= self.camera_budget <= 500:
            problems.append(f"camera_budget {self.camera_budget} must be in [0, 500]")
        if not 0 <= self.mobile_cameras <= 100:
            problems.append(f"mobile_cameras {self.mobile_cameras} must be in [0, 100]")
        if self.time_limit_s is not None and not 0 < self.time_limit_s <= 3600:
            problems.append(f"time_limit_s {self.time_limit_s} must be in (0, 3600] seconds")
        if self.seed is not None and self.seed < 0:
            problems.append(f"seed {self.seed} must be 0 or more")
        if problems:
            raise ValidationError("; ".join(problems))

    def to_params(self) -> dict[str, Any]:
        """Return the request as the plan's JSON ``params``."""
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> PlanRequest:
        """Read a request back from a plan's ``params`` (unknown keys are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            msg = f"unknown plan parameter(s) {unknown}; expected some of {sorted(known)}"
            raise ValidationError(msg)
        try:
            return cls(**params)
        except TypeError as exc:
            raise ValidationError(str(exc)) from None

    def options(self, **registers: Any) -> PlanOptions:
        """Return the `PlanOptions` of this request with the registers' layers."""
        return PlanOptions(
            walk_m=self.walk_m,
            camera_budget=self.camera_budget,
            mobile_cameras=self.mobile_cameras,
            time_limit_s=self.time_limit_s,
            seed=self.seed,
            **registers,
        )


def worker_name() -> str:
    """Return ``host:pid`` of this process (the ``worker`` a run records)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_folder(settings: Settings, plan_id: int) -> Path:
    """Return the folder of a plan run's files (``<plans folder>/plan_<id>``)."""
    return settings.plans_path / f"plan_{plan_id}"


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_records(folder: Path) -> list[tuple[str, int, str]]:
    """Return ``(relative POSIX path, bytes, sha256)`` of every file under `folder`, sorted."""
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        out.append((path.relative_to(folder).as_posix(), path.stat().st_size, sha256_of(path)))
    return out


def _file_version(path: Path) -> dict[str, Any]:
    """Name, size, modification time and SHA-256 of an input file."""
    stat = path.stat()
    return {
        "file": path.name,
        "bytes": stat.st_size,
        "mtime": int(stat.st_mtime),
        "sha256": sha256_of(path),
    }


def _frame_digest(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 of a layer's rows (id, geometry WKB and attributes), independent of row order."""
    digest = hashlib.sha256()
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for idx in sorted(gdf.index):
        row = gdf.loc[idx]
        attrs = json.dumps({c: row[c] for c in columns}, sort_keys=True, default=str)
        geom = row[gdf.geometry.name]
        digest.update(f"{idx}|{attrs}|".encode())
        digest.update(geom.wkb if geom is not None else b"")
    return digest.hexdigest()


def _last_change(session: Session, kind: str, ward_code: str) -> str | None:
    """Return the last recorded change of a register that keeps one (reports, dump sites)."""
    if kind == "reports":
        when = session.scalar(
            select(func.max(Report.updated_datetime)).where(Report.ward_code == ward_code)
        )
    elif kind == "dump_sites":
        from gomrac.geo.models import DumpSite

        when = session.scalar(
            select(func.max(DumpSiteUpdate.at))
            .join(DumpSite, DumpSite.id == DumpSiteUpdate.dump_site_id)
            .where(DumpSite.ward_code == ward_code)
        )
    else:
        return None
    return None if when is None else str(when.isoformat())


def read_registers(
    session: Session, ward_code: str
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, dict[str, Any]]]:
    """
    Read the ward's registers and describe each one's version.

    Returns
    -------
    tuple
        The layers (EPSG:4326, gathering points with status ``existing`` only) and, per
        register, ``rows``, ``sha256`` of its content and ``last_change`` (or None).
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    versions: dict[str, dict[str, Any]] = {}
    for kind in REGISTERS:
        gdf = store.load_layer(session, kind=kind, ward_code=ward_code)
        if kind == "gathering_points" and len(gdf):
            gdf = gdf[gdf["status"] == "existing"]
        layers[kind] = gdf
        versions[kind] = {
            "rows": len(gdf),
            "sha256": _frame_digest(gdf),
            "last_change": _last_change(session, kind, ward_code),
        }
    return layers, versions


def _inside(gdf: gpd.GeoDataFrame, data: WardData) -> gpd.GeoDataFrame:
    """Return the rows of a register that lie in the planned area."""
    if gdf.empty:
        return gdf
    return gdf[gdf.intersects(data.area.geometry)]


def _use_registers(
    layers: dict[str, gpd.GeoDataFrame],
    versions: dict[str, dict[str, Any]],
    data: WardData,
    ward_code: str,
) -> dict[str, Any]:
    """Choose which registers the plan takes; note in `versions` what each was used for."""
    chosen: dict[str, Any] = {}
    points = _inside(layers["gathering_points"], data)
    versions["gathering_points"]["used"] = len(points)
    if len(points):
        # a point with no bins recorded (0 and 0) takes the plan's default bins
        unknown = (points["bins_660l"] == 0) & (points["bins_240l"] == 0)
        points = points.assign(bins_660l=points["bins_660l"].astype(float).mask(unknown))
        versions["gathering_points"]["bins_unknown"] = int(unknown.sum())
        chosen["existing_points"] = points
    groups = _inside(layers["residential_groups"], data)
    versions["residential_groups"]["used"] = len(groups)
    cameras = _inside(layers["cameras"], data)
    if len(cameras):
        cameras = cameras[(cameras["status"] == "existing") & cameras["kind"].isin(SITED_KINDS)]
    versions["cameras"]["used"] = len(cameras)
    if len(cameras):
        # the sited cameras the plan builds on; mobile ones move week by week
        chosen["existing_cameras"] = cameras.rename(columns={"kind": "camera_kind"})
    reports_here = data.area.code == ward_code and len(layers["reports"]) > 0
    versions["reports"]["used"] = len(layers["reports"]) if reports_here else 0
    if reports_here:
        chosen["reports"] = "db"
    for kind, why in _NOT_AN_INPUT.items():
        versions[kind]["used"] = 0
        versions[kind]["note"] = why
    for kind in ("gathering_points", "residential_groups", "reports", "cameras"):
        if versions[kind]["rows"] and not versions[kind]["used"]:
            versions[kind]["note"] = "none in the planned area"
    if not versions["cameras"]["used"]:
        versions["cameras"]["note"] = (
            versions["cameras"].get("note", "none registered")
            + ": the plan uses labelled synthetic existing cameras"
        )
    return {"options": chosen, "groups": groups if len(groups) else None}


def _load_area(
    ward_code: str, request: PlanRequest, settings: Settings
) -> tuple[WardData, bool, str | None]:
    """Load the run's area: (data, is_sample, why the sample stands in)."""
    from gomrac.api.planning import load_area, load_or_sample, sample_area
    from gomrac.geo.wards import list_wards

    if request.boundary is not None:
        data = load_area(boundary=request.boundary, settings=settings)
        return data, not data.area.in_haiphong, None
    if ward_code == SAMPLE_WARD:
        return sample_area(settings=settings), True, None
    wards = list_wards(settings=settings)
    match = wards[wards["code"].astype(str) == ward_code]
    if match.empty:
        msg = f"no ward with code {ward_code!r} in Hai Phong's 2025 units (gomrac wards)"
        raise DataNotFoundError(msg)
    name = str(match["full_name"].iloc[0])
    data, why = load_or_sample(name, settings=settings, sample_if_missing=request.sample_if_missing)
    return data, why is not None, why


def _area_version(data: WardData, settings: Settings, request: PlanRequest) -> dict[str, Any]:
    """Describe the versions of the area's inputs: boundary, road extract, facilities."""
    area = data.area
    out: dict[str, Any] = {
        "name": area.name,
        "code": area.code,
        "boundary_source": area.boundary_source,
    }
    if request.boundary is not None:
        out["boundary_file"] = _file_version(Path(request.boundary))
    if data.networks is not None:
        source = data.networks.source
        out["roads"] = {"kind": source.kind, "label": source.label}
        if source.path is not None and source.path.is_file():
            out["roads"].update(_file_version(source.path))
    facilities = settings.data_dir / "facilities"
    if area.in_haiphong and facilities.is_dir():
        out["facilities"] = [_file_version(p) for p in sorted(facilities.glob("*")) if p.is_file()]
    return out


def indicator_record(indicator: sc.Indicator) -> dict[str, Any]:
    """Return one scorecard line as JSON (its target by key)."""
    return {
        "key": indicator.target.key,
        "value": indicator.value,
        "reason": indicator.reason,
        "basis": indicator.basis,
        "numerator": indicator.numerator,
        "denominator": indicator.denominator,
        "detail": indicator.detail,
    }


def indicator_from_record(record: dict[str, Any]) -> sc.Indicator:
    """Rebuild a scorecard line from `indicator_record`'s JSON."""
    return sc.Indicator(
        target=sc.INDICATORS[record["key"]],
        value=record["value"],
        reason=record["reason"],
        basis=record["basis"],
        numerator=record["numerator"],
        denominator=record["denominator"],
        detail=record["detail"],
    )


def plan_summary(plan: WardPlan, written: dict[str, Any]) -> dict[str, Any]:
    """Return the run's summary: the plan's figures, checker count, planned indicators."""
    from gomrac.api.planning import summarise
    from gomrac.api.scorecard import plan_indicators

    out = summarise(plan)
    out["week"]["check_violations"] = written["week"]["check_violations"]
    out["scorecard"] = [indicator_record(i) for i in plan_indicators(plan)]
    return out


def _progress(
    engine: Engine, plan_id: int, should_abort: Callable[[], bool] | None
) -> Callable[[str, float], None]:
    """Return a stage reporter storing progress, raising `PlanCancelledError` on cancel."""

    def report(stage: str, done: float) -> None:
        with session_scope(engine) as session:
            cancel = store.set_plan_progress(session, plan_id, progress=done, stage=stage)
        if cancel:
            msg = f"plan {plan_id} cancelled before {stage}"
            raise PlanCancelledError(msg)
        if should_abort is not None and should_abort():  # the worker is stopping
            msg = f"the worker stopped before the {stage} step; queue the plan again"
            raise PlanInterruptedError(msg)
        log.info("plan %s: %s (%.0f%%)", plan_id, stage, 100 * done)

    return report


def error_line(exc: BaseException) -> str:
    """Return the line a failed run stores: a gomrac error's message, else with its type."""
    text = str(exc) if isinstance(exc, GomracError) else f"{type(exc).__name__}: {exc}"
    return store.one_line(text)


def execute_plan_run(
    engine: Engine,
    plan_id: int,
    *,
    settings: Settings,
    worker: str | None = None,
    should_abort: Callable[[], bool] | None = None,
) -> Plan:
    """
    Run a queued plan and store its outcome (done, failed or cancelled).

    Parameters
    ----------
    engine
        The database holding the plan row and the ward's registers.
    plan_id
        A ``plan`` row created by `gomrac.geo.store.create_plan_run`.
    settings
        Data, cache and plans folders, time limit and seed defaults.
    worker
        Name recorded as the run's worker (default ``host:pid``).
    should_abort
        Polled at each stage after the stored cancel request: True when the worker is
        stopping (the run is then stored as failed, to be queued again).

    Returns
    -------
    Plan
        The row as stored at the end (unchanged if the run was not queued any more).
    """
    with session_scope(engine) as session:
        if not store.claim_plan_run(session, plan_id, worker=worker or worker_name()):
            log.info("execute_plan_run: plan %s is not queued; nothing to do", plan_id)
            return store.get_plan(session, plan_id)
        row = store.get_plan(session, plan_id)
        ward_code, params = row.ward_code, dict(row.params)
    from gomrac import __version__

    inputs: dict[str, Any] = {"gomrac": __version__}
    folder = run_folder(settings, plan_id)
    report = _progress(engine, plan_id, should_abort)

    def stop_asked() -> bool:
        if should_abort is not None and should_abort():
            return True
        with session_scope(engine) as session:
            return store.plan_stop_asked(session, plan_id)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary, result = _run(
                engine, ward_code, params, settings, inputs, folder, report, stop_asked
            )
        summary["warnings"] = sorted({store.one_line(str(w.message)) for w in caught})
        files = file_records(folder)
        with session_scope(engine) as session:
            return store.finish_plan_run(
                session,
                plan_id,
                summary=summary,
                inputs=inputs,
                output_dir=folder.relative_to(settings.plans_path).as_posix(),
                files=files,
                result=result,
            )
    except PlanCancelledError:
        shutil.rmtree(folder, ignore_errors=True)
        with session_scope(engine) as session:
            return store.cancel_plan_run(session, plan_id)
    except Exception as exc:  # a worker stores every failure, then goes on
        shutil.rmtree(folder, ignore_errors=True)
        # a solver stopped early for a cancel or a shutdown may make what follows fail:
        # that is the cancel or the shutdown, not an error of the plan
        with session_scope(engine) as session:
            row = store.get_plan(session, plan_id)
            if row.status == "running" and row.cancel_requested_at is not None:
                log.info("plan %s cancelled (%s)", plan_id, error_line(exc))
                return store.cancel_plan_run(session, plan_id)
        error = error_line(exc)
        if (
            should_abort is not None
            and should_abort()
            and not isinstance(exc, PlanInterruptedError)
        ):
            error = "the worker stopped during the plan; queue the plan again"
        log.exception("plan %s failed", plan_id)
        with session_scope(engine) as session:
            return store.fail_plan_run(session, plan_id, error=error, inputs=inputs)


def _run(
    engine: Engine,
    ward_code: str,
    params: dict[str, Any],
    settings: Settings,
    inputs: dict[str, Any],
    folder: Path,
    report: Callable[[str, float], None],
    stop_asked: Callable[[], bool],
) -> tuple[dict[str, Any], str]:
    """Run the steps, filling `inputs` as they are read; return (summary, result GeoJSON).

    `report` stores each stage's progress (raising on a cancel); `stop_asked`, polled by the
    running solvers, says when a cancel or a shutdown should stop them early.
    """
    from gomrac.api.outputs import write_plan
    from gomrac.api.planning import plan_ward

    request = PlanRequest.from_params(params)
    report("registers", STAGES["registers"])
    with session_scope(engine) as session:
        layers, versions = read_registers(session, ward_code)
    inputs["registers"] = versions
    report("area", STAGES["area"])
    data, is_sample, why = _load_area(ward_code, request, settings)
    chosen = _use_registers(layers, versions, data, ward_code)
    if chosen["groups"] is not None:  # the register's groups replace the estimated ones
        data = dataclasses.replace(data, groups=to_metric(chosen["groups"]))
    inputs["area"] = _area_version(data, settings, request)
    inputs["area"]["hanoi_sample"] = is_sample
    if why is not None:
        inputs["area"]["sample_because"] = store.one_line(why)
    options = request.options(**chosen["options"])
    inputs["options"] = {
        "time_limit_s": options.time_limit(settings),
        "seed": options.seed_of(settings),
        "reports": options.reports,
    }

    def stage(name: str, done: float) -> None:
        report(name, STAGES["plan"] + _PLAN_SHARE * done)

    # a cancel or a shutdown also stops a running HiGHS model or PyVRP search within a second
    with stop_when(stop_asked):
        plan = plan_ward(
            data, settings=settings, options=options, is_sample=is_sample, on_stage=stage
        )
    report("files", STAGES["files"])
    shutil.rmtree(folder, ignore_errors=True)  # a stale folder of an interrupted attempt
    written = write_plan(plan, folder)
    with (folder / PLAN_BUNDLE).open("wb") as fh:  # what the web pages show (`load_ward_plan`)
        pickle.dump(plan, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return plan_summary(plan, written), plan.served_points().to_json()


def load_ward_plan(
    engine: Engine, settings: Settings, ward_code: str, *, known: int | None = None
) -> tuple[int, WardPlan | None, Path, float] | None:
    """
    Read the ward's newest finished plan run back, as the web pages show it.

    The run's `PLAN_BUNDLE` (the `WardPlan` the run wrote) is read only when its SHA-256 is
    the one stored with the run: a file changed or replaced since is refused.

    Parameters
    ----------
    engine, settings
        The database and the plans folder.
    ward_code
        A ward code, or ``sample``.
    known
        The id of the run the caller already holds: when it is still the newest, nothing is
        read and the plan is returned as None.

    Returns
    -------
    tuple or None
        ``(run id, plan, folder of its files, when it finished as a POSIX time)``, or None
        when the ward has no finished run with a readable bundle.
    """
    with session_scope(engine) as session:
        run = store.latest_plan(session, ward_code=ward_code)
        if run is None:
            return None
        recorded = {f.path: f.sha256 for f in store.plan_files(session, run.id)}
        run_id, output_dir = run.id, run.output_dir
        finished = (run.finished_at or run.created_at).timestamp()
    if output_dir is None or PLAN_BUNDLE not in recorded:
        return None
    folder = settings.plans_path / output_dir
    if run_id == known:
        return run_id, None, folder, finished
    bundle = folder / PLAN_BUNDLE
    if not bundle.is_file() or sha256_of(bundle) != recorded[PLAN_BUNDLE]:
        log.warning("plan run %s: %s is missing or changed since the run", run_id, bundle)
        return None
    with bundle.open("rb") as fh:
        plan = pickle.load(fh)  # written by our own worker; its SHA-256 is checked above
    if not isinstance(plan, WardPlan):
        return None
    return run_id, plan, folder, finished


def stored_ward_scorecard(engine: Engine, ward_code: str) -> tuple[Plan | None, list[sc.Indicator]]:
    """
    Read a ward's scorecard from the database.

    The planned indicators are those stored with the ward's newest finished plan run; the
    measured ones are computed from the registers (`gomrac.api.scorecard.ward_scorecard`).

    Returns
    -------
    tuple
        The plan run read (None when the ward has none) and the nine indicators in order.
    """
    from gomrac.api.scorecard import ward_scorecard

    with session_scope(engine) as session:
        plan = store.latest_plan(session, ward_code=ward_code)
    measured = ward_scorecard(None, engine=engine, ward_code=ward_code)
    if plan is None or not plan.summary.get("scorecard"):
        return plan, measured
    planned = [indicator_from_record(r) for r in plan.summary["scorecard"]]
    keys = {i.target.key for i in planned}
    rest = [i for i in measured if i.target.key not in keys]
    return plan, sc.scorecard(planned + rest)
