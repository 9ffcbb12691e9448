"""Staff endpoints under ``/api/reports``: the report workflow, moderation and audit trail.

Every endpoint needs a signed-in account (`gomrac.api.web.deps.CurrentStaff`; 401 without
one), of a role allowed to do the thing (403 otherwise), working for the ward of the report
(403 otherwise; admins work for every ward). The audit trail names the signed-in account,
never a name the caller types.

==========================================  =========================================  ======
endpoint                                    roles                                      state
==========================================  =========================================  ======
``PATCH /api/reports/{id}``                 ward_office, waste_company, admin          change
``PATCH /api/reports/{id}/publication``     ward_office, admin                         change
``GET /api/reports``                        all staff roles (own wards' reports)       read
``GET /api/reports/{id}``                   all staff roles                            read
``GET /api/reports/{id}/history``           all staff roles                            read
==========================================  =========================================  ======
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from gomrac.analysis.errors import ValidationError
from gomrac.api.web.deps import (
    ModeratorStaff,
    ReaderStaff,
    SessionDep,
    SettingsDep,
    StatusStaff,
    ensure_ward,
)
from gomrac.api.web.reports import staff_report, w3c
from gomrac.api.web.schemas import (
    Detail,
    HistoryRow,
    Publication,
    PublicationChange,
    ReportHistory,
    StaffReport,
    StatusChange,
)
from gomrac.geo import store
from gomrac.geo.models import Report, ReportUpdate

router = APIRouter(prefix="/api/reports", tags=["staff"])

MAX_ID: Final = 2_147_483_647
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="the service_request_id")]
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Detail, "description": "a change the workflow does not allow"},
    401: {"model": Detail, "description": "not signed in, or the token expired"},
    403: {"model": Detail, "description": "wrong role, or a report of another ward"},
    404: {"model": Detail, "description": "no such report"},
    422: {"model": Detail, "description": "a malformed body or parameter"},
}


def _history_row(update: ReportUpdate) -> HistoryRow:
    return HistoryRow(
        at=w3c(update.at) or "",
        actor=update.actor,
        field=update.field,
        old=update.old,
        new=update.new,
        note=update.note,
    )


@router.patch("/{report_id}", response_model=StaffReport, responses=_ERRORS)
def patch_report(
    request: Request,
    report_id: ReportId,
    change: StatusChange,
    staff: StatusStaff,
    session: SessionDep,
    settings: SettingsDep,
) -> StaffReport:
    """Move a report through the workflow (audited under the signed-in account)."""
    report = store.get_report(session, report_id, for_update=True)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    if change.workflow_status == "duplicate":
        if change.duplicate_of is None:
            msg = "duplicate_of is required with workflow_status=duplicate"
            raise ValidationError(msg)
        original = store.get_report(session, change.duplicate_of)
        ensure_ward(staff, original.ward_code, what=f"report {change.duplicate_of}")
        report = store.link_duplicate(
            session,
            report_id,
            duplicate_of=change.duplicate_of,
            actor=staff.username,
            note=change.note,
        )
    else:
        report = store.set_report_status(
            session,
            report_id,
            workflow_status=change.workflow_status,
            actor=staff.username,
            note=change.note,
        )
    session.commit()
    return staff_report(report, request, settings)


@router.patch("/{report_id}/publication", response_model=StaffReport, responses=_ERRORS)
def patch_publication(
    request: Request,
    report_id: ReportId,
    change: PublicationChange,
    staff: ModeratorStaff,
    session: SessionDep,
    settings: SettingsDep,
) -> StaffReport:
    """Publish, hold back or hide a report (audited under the signed-in account)."""
    report = store.get_report(session, report_id, for_update=True)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    report = store.set_report_publication(
        session, report_id, publication=change.publication, actor=staff.username, note=change.note
    )
    session.commit()
    return staff_report(report, request, settings)


@router.get("", response_model=list[StaffReport], responses=_ERRORS)
def list_reports(
    request: Request,
    staff: ReaderStaff,
    session: SessionDep,
    settings: SettingsDep,
    publication: Publication | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[StaffReport]:
    """List the reports of the account's wards (all for admins), newest first.

    ``publication=pending`` gives the queue of reports waiting for review.
    """
    conditions: list[Any] = []
    if staff.role != "admin":
        conditions.append(Report.ward_code.in_(staff.ward_codes))
    if publication is not None:
        conditions.append(Report.publication == publication)
    stmt = (
        select(Report)
        .where(*conditions)
        .order_by(Report.requested_datetime.desc(), Report.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return [staff_report(r, request, settings) for r in session.scalars(stmt)]


@router.get("/{report_id}", response_model=StaffReport, responses=_ERRORS)
def get_report(
    request: Request,
    report_id: ReportId,
    staff: ReaderStaff,
    session: SessionDep,
    settings: SettingsDep,
) -> StaffReport:
    """Show a report with its reporter's contact data, whatever its publication state."""
    report = store.get_report(session, report_id)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    return staff_report(report, request, settings)


@router.get("/{report_id}/history", response_model=ReportHistory, responses=_ERRORS)
def report_history(report_id: ReportId, staff: ReaderStaff, session: SessionDep) -> ReportHistory:
    """Return the audit trail of a report."""
    report = store.get_report(session, report_id)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    rows = [_history_row(u) for u in store.report_history(session, report_id)]
    return ReportHistory(service_request_id=str(report_id), data=rows, count=len(rows))
