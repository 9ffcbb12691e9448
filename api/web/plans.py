"""Plan runs in the web app: queue a ward plan as a job, follow it, cancel it, download its files.

Every endpoint needs a signed-in account (401 without one) working for the plan's ward (403
otherwise; admins work for every ward). Queueing and cancelling need a planning role (403 for
the police); reading is open to every staff role. The jobs run on the app's queue
(`gomrac.api.jobs`: procrastinate workers on PostgreSQL, a thread of the app on SpatiaLite).

================================================  =====================================  ======
endpoint                                          roles                                  state
================================================  =====================================  ======
``POST /wards/{code}/plans``                      ward_office, waste_company, admin      change
``GET /wards/{code}/plans``                       all staff roles                        read
``GET /wards/{code}/plans/history``               redirect to the staff page ``/can-bo``  read
``GET /plans/{id}``                               all staff roles                        read
``POST /plans/{id}/cancel``                       ward_office, waste_company, admin      change
``GET /plans/{id}/files/{path}``                  all staff roles                        read
================================================  =====================================  ======

A file is served only when its path is one the run recorded (``plan_file``) and it still
resolves inside the run's folder: no other path of the server can be reached.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FsPath
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gomrac.analysis.errors import DataNotFoundError
from gomrac.api.jobs import PlanQueue, queue_for
from gomrac.api.plan_runs import PlanRequest
from gomrac.api.web import pages
from gomrac.api.web.accounts import Staff
from gomrac.api.web.deps import ReaderStaff, SessionDep, SettingsDep, ensure_ward, require_roles
from gomrac.api.web.schemas import Detail
from gomrac.geo import store
from gomrac.geo.models import Plan, PlanFile
from gomrac.geo.settings import Settings

router = APIRouter(tags=["plans"])

MAX_ID: Final = 2_147_483_647
PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="the plan run's id")]
WardCode = Annotated[str, Path(pattern=r"^\d{5}$", description="official 5-digit ward code")]
#: may queue and cancel plan runs
PlannerStaff = Annotated[Staff, Depends(require_roles("ward_office", "waste_company", "admin"))]
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Detail, "description": "a run that can no longer be cancelled"},
    401: {"model": Detail, "description": "not signed in, or the token expired"},
    403: {"model": Detail, "description": "wrong role, or a plan of another ward"},
    404: {"model": Detail, "description": "no such plan or file"},
    422: {"model": Detail, "description": "a malformed body or parameter"},
}


class PlanJobCreate(BaseModel):
    """What a ward plan job is asked for (defaults: those of ``gomrac plan``)."""

    model_config = ConfigDict(extra="forbid")

    walk_m: float = Field(default=PlanRequest.walk_m, gt=0, le=2000)
    camera_budget: int = Field(default=PlanRequest.camera_budget, ge=0, le=500)
    mobile_cameras: int = Field(default=PlanRequest.mobile_cameras, ge=0, le=100)
    time_limit_s: float | None = Field(default=None, gt=0, le=3600)
    seed: int | None = Field(default=None, ge=0)
    sample_if_missing: bool = Field(
        default=False,
        description="without road data for the ward, plan the Hanoi sample (labelled) instead",
    )


class PlanFileOut(BaseModel):
    """A file of a plan run."""

    path: str
    bytes: int
    sha256: str
    url: str


class PlanRunOut(BaseModel):
    """A plan run: its state, and when finished its summary, inputs and files."""

    id: int
    ward_code: str
    kind: str
    status: str
    progress: float
    stage: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_by: str | None
    cancel_requested: bool
    error: str | None
    job_id: str | None
    worker: str | None
    params: dict[str, Any]
    summary: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    files: list[PlanFileOut] | None = None
    url: str


class PlanHistory(BaseModel):
    """A ward's plan runs, newest first."""

    ward_code: str
    data: list[PlanRunOut]
    count: int


def make_queue(engine: Any, settings: Settings) -> PlanQueue:
    """Return the app's plan queue (`create_app` keeps it in ``app.state.plan_queue``)."""
    return queue_for(engine, settings=settings)


def _queue(request: Request) -> PlanQueue:
    queue: PlanQueue = request.app.state.plan_queue
    return queue


QueueDep = Annotated[PlanQueue, Depends(_queue)]


def _file_out(plan_id: int, f: PlanFile) -> PlanFileOut:
    return PlanFileOut(
        path=f.path, bytes=f.bytes, sha256=f.sha256, url=f"/plans/{plan_id}/files/{f.path}"
    )


def _run_out(plan: Plan, files: list[PlanFile] | None = None, *, full: bool = False) -> PlanRunOut:
    return PlanRunOut(
        id=plan.id,
        ward_code=plan.ward_code,
        kind=plan.kind,
        status=plan.status,
        progress=plan.progress,
        stage=plan.stage,
        created_at=plan.created_at,
        started_at=plan.started_at,
        finished_at=plan.finished_at,
        created_by=plan.created_by,
        cancel_requested=plan.cancel_requested_at is not None,
        error=plan.error,
        job_id=plan.job_id,
        worker=plan.worker,
        params=dict(plan.params or {}),
        summary=dict(plan.summary or {}) if full else None,
        inputs=dict(plan.inputs or {}) if full else None,
        files=[_file_out(plan.id, f) for f in files] if files is not None else None,
        url=f"/plans/{plan.id}",
    )


def _plan_for(session: Session, staff: Staff, plan_id: int) -> Plan:
    plan = store.get_plan(session, plan_id)
    ensure_ward(staff, plan.ward_code, what=f"plan {plan_id}")
    return plan


@router.post("/wards/{code}/plans", status_code=202, response_model=PlanRunOut, responses=_ERRORS)
def create_plan_job(
    code: WardCode, body: PlanJobCreate, staff: PlannerStaff, queue: QueueDep
) -> PlanRunOut:
    """Queue a ward plan (points, weekly plan, hotspots, cameras) as a background job."""
    ensure_ward(staff, code, what=f"ward {code}")
    request = PlanRequest(**body.model_dump())
    plan = queue.enqueue(code, request, created_by=staff.username)
    return _run_out(plan)


@router.get("/wards/{code}/plans", response_model=PlanHistory, responses=_ERRORS)
def plan_history(code: WardCode, staff: ReaderStaff, session: SessionDep) -> PlanHistory:
    """List the ward's plan runs with their status and progress, newest first."""
    ensure_ward(staff, code, what=f"ward {code}")
    rows = [_run_out(p) for p in store.list_plans(session, ward_code=code)]
    return PlanHistory(ward_code=code, data=rows, count=len(rows))


@router.get("/plans/{plan_id}", response_model=PlanRunOut, responses=_ERRORS)
def get_plan_run(plan_id: PlanId, staff: ReaderStaff, session: SessionDep) -> PlanRunOut:
    """Show a plan run: status, progress, and its summary, inputs' versions and files."""
    plan = _plan_for(session, staff, plan_id)
    return _run_out(plan, store.plan_files(session, plan_id), full=True)


@router.post("/plans/{plan_id}/cancel", response_model=PlanRunOut, responses=_ERRORS)
def cancel_plan_run(
    plan_id: PlanId, staff: PlannerStaff, session: SessionDep, queue: QueueDep
) -> PlanRunOut:
    """Cancel a queued run at once, a running one at its next stage."""
    _plan_for(session, staff, plan_id)
    session.rollback()  # the queue changes the row in its own transaction
    plan = queue.cancel(plan_id)
    return _run_out(plan)


@router.get("/plans/{plan_id}/files/{path:path}", response_class=FileResponse, responses=_ERRORS)
def download_plan_file(
    plan_id: PlanId, path: str, staff: ReaderStaff, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """Download one of the files a plan run recorded."""
    plan = _plan_for(session, staff, plan_id)
    recorded = {f.path: f for f in store.plan_files(session, plan_id)}
    if path not in recorded or plan.output_dir is None:
        msg = f"plan {plan_id} has no file {path!r}"
        raise DataNotFoundError(msg)
    root = settings.plans_path.resolve()
    folder = (root / plan.output_dir).resolve()
    target = (folder / path).resolve()
    if not folder.is_relative_to(root) or not target.is_relative_to(folder):
        msg = f"plan {plan_id} has no file {path!r}"
        raise DataNotFoundError(msg)
    if not target.is_file():
        msg = f"file {path!r} of plan {plan_id} is missing from the plans folder"
        raise DataNotFoundError(msg)
    return FileResponse(target, filename=FsPath(path).name)


@router.get("/wards/{code}/plans/history", include_in_schema=False)
def plan_history_page(code: WardCode) -> RedirectResponse:
    """Send the old history address to the staff page's plans section for the ward.

    The staff page (``/can-bo``) lists the runs with their progress, polling while one runs;
    it reads them from ``GET /wards/{code}/plans`` with the signed-in account's token, which a
    server-rendered page opened from a link could not send.
    """
    return RedirectResponse(f"{pages.STAFF_PATH}?ward={code}#ke-hoach", status_code=307)
