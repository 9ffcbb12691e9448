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
``PATCH /api/reports/{id}/links``           ward_office, admin                         change
``GET /api/reports``                        all staff roles (own wards' reports)       read
``GET /api/reports/{id}``                   all staff roles                            read
``GET /api/reports/{id}/history``           all staff roles                            read
==========================================  =========================================  ======

``PATCH /api/reports/{id}/links`` assigns a report to a unit (the public reads the unit's name
in ``agency_responsible``; an open report not yet assigned moves on to ``assigned``) and links
it to the dump register's site and the camera that saw it, both of the report's ward; a site
or camera that does not exist or lies in another ward is refused with 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select
from starlette.exceptions import HTTPException

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.api.web.accounts import Staff
from gomrac.api.web.deps import (
    ModeratorStaff,
    ReaderStaff,
    SessionDep,
    SettingsDep,
    StatusStaff,
    ensure_ward,
    require_roles,
)
from gomrac.api.web.reports import staff_report, w3c
from gomrac.api.web.schemas import (
    Detail,
    HistoryRow,
    Publication,
    PublicationChange,
    ReportHistory,
    ReportLinks,
    StaffReport,
    StatusChange,
)
from gomrac.geo import store
from gomrac.geo.lookup import ward_index
from gomrac.geo.models import Report, ReportUpdate
from gomrac.geo.settings import Settings

router = APIRouter(prefix="/api/reports", tags=["staff"])

#: may assign a report to a unit and link it to a dump site and a camera
TriageStaff = Annotated[Staff, Depends(require_roles("ward_office", "admin"))]
#: The units a report is assigned to, named as residents read them (``agency_responsible``);
#: ``{ward}`` is the report's ward. Unassigned, a report is the ward office's (as at intake).
UNIT_AGENCY_VI: Final = {
    "ward_office": "UBND {ward}",
    "police": "Công an {ward}",
    "waste_company": "Đơn vị thu gom, vận chuyển rác",
    "environment_company": "Công ty môi trường đô thị",
}
MAX_ID: Final = 2_147_483_647
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="the service_request_id")]
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Detail, "description": "a change the workflow does not allow"},
    401: {"model": Detail, "description": "not signed in, or the token expired"},
    403: {"model": Detail, "description": "wrong role, or a report of another ward"},
    404: {"model": Detail, "description": "no such report"},
    422: {"model": Detail, "description": "a malformed body or parameter"},
}


def default_agency(settings: Settings, unit: str | None, ward_code: str | None) -> str:
    """Name the unit (None: the ward office) for the public, with the report's ward."""
    try:
        names = {r.code: r.name for r in ward_index(settings=settings).refs}
    except DataNotFoundError:
        names = {}
    ward = names.get(ward_code or "") or "phường, xã"
    return UNIT_AGENCY_VI[unit or "ward_office"].format(ward=ward)


def _view(report: Report, request: Request, settings: Settings) -> StaffReport:
    """Show a report to staff, with the unit it is assigned to and its links."""
    return staff_report(report, request, settings).model_copy(
        update={
            "assigned_unit": report.assigned_unit,
            "dump_site_id": report.dump_site_id,
            "camera_id": report.camera_id,
        }
    )


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
    return _view(report, request, settings)


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
    return _view(report, request, settings)


@router.patch("/{report_id}/links", response_model=StaffReport, responses=_ERRORS)
def patch_links(
    request: Request,
    report_id: ReportId,
    change: ReportLinks,
    staff: TriageStaff,
    session: SessionDep,
    settings: SettingsDep,
) -> StaffReport:
    """Assign a report to a unit, link it to a dump site and a camera (audited).

    Only the fields sent change; ``null`` removes the assignment or a link.
    """
    sent = change.model_fields_set - {"note"}
    if not sent:
        msg = "send at least one of assigned_unit, agency_responsible, dump_site_id, camera_id"
        raise HTTPException(status_code=422, detail=msg)
    report = store.get_report(session, report_id, for_update=True)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    try:
        if sent & {"assigned_unit", "agency_responsible"}:
            unit = change.assigned_unit if "assigned_unit" in sent else report.assigned_unit
            if unit is None and change.agency_responsible is not None:
                msg = "agency_responsible needs an assigned_unit"
                raise ValidationError(msg)
            agency = change.agency_responsible
            if agency is None:
                unchanged = unit == report.assigned_unit and "agency_responsible" not in sent
                agency = (
                    report.agency_responsible
                    if unchanged
                    else default_agency(settings, unit, report.ward_code)
                )
            report = store.assign_report(
                session, report_id, unit=unit, agency=agency, actor=staff.username, note=change.note
            )
        if sent & {"dump_site_id", "camera_id"}:
            report = store.link_report(
                session,
                report_id,
                dump_site_id=change.dump_site_id if "dump_site_id" in sent else report.dump_site_id,
                camera_id=change.camera_id if "camera_id" in sent else report.camera_id,
                actor=staff.username,
                note=change.note,
            )
    except ValidationError as exc:
        session.rollback()
        raise HTTPException(status_code=422, detail=str(exc)) from None
    session.commit()
    return _view(report, request, settings)


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
    return [_view(r, request, settings) for r in session.scalars(stmt)]


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
    return _view(report, request, settings)


@router.get("/{report_id}/history", response_model=ReportHistory, responses=_ERRORS)
def report_history(report_id: ReportId, staff: ReaderStaff, session: SessionDep) -> ReportHistory:
    """Return the audit trail of a report."""
    report = store.get_report(session, report_id)
    ensure_ward(staff, report.ward_code, what=f"report {report_id}")
    rows = [_history_row(u) for u in store.report_history(session, report_id)]
    return ReportHistory(service_request_id=str(report_id), data=rows, count=len(rows))
