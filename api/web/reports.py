"""How a stored report is shown: the Open311 request object, and the staff view of it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from geoalchemy2.shape import to_shape

from gomrac.api.web.catalogue import catalogue
from gomrac.api.web.schemas import ExtendedAttributes, ServiceRequest, StaffReport

if TYPE_CHECKING:
    from fastapi import Request

    from gomrac.geo.models import Report
    from gomrac.geo.settings import Settings

HAIPHONG_TZ: Final = dt.timezone(dt.timedelta(hours=7), "ICT")


def w3c(value: dt.datetime | None) -> str | None:
    """W3C date-time in Hai Phong time, e.g. ``2026-11-25T09:30:00+07:00``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(HAIPHONG_TZ).isoformat(timespec="seconds")


def media_url(report: Report, request: Request, settings: Settings) -> str | None:
    """
    Give a report's ``media_url``: the client's URL, else its published photo, else None.

    The photo's URL is absolute on `request`'s base URL and is never stored, so it follows
    the server's address and ``GOMRAC_PUBLISH_PHOTOS`` (off: None).
    """
    if report.media_url is not None:
        return report.media_url
    if report.photo_path is None or not settings.publish_photos:
        return None
    return str(request.url_for("open311_media", photo_path=report.photo_path))


def service_request(report: Report, request: Request, settings: Settings) -> ServiceRequest:
    """Write a report as a GeoReport v2 request object, with ``extended_attributes``."""
    point = to_shape(report.geom)
    service = catalogue().services.get(report.service_code)
    return ServiceRequest(
        service_request_id=str(report.id),
        status=report.status,  # type: ignore[arg-type]  # CHECK constraint: open|closed
        status_notes=report.status_notes,
        service_name=service.name if service else report.service_code,
        service_code=report.service_code,
        description=report.description,
        agency_responsible=report.agency_responsible,
        service_notice=report.service_notice,
        requested_datetime=w3c(report.requested_datetime) or "",
        updated_datetime=w3c(report.updated_datetime) or "",
        expected_datetime=w3c(report.expected_datetime),
        address=report.address,
        address_id=report.address_id,
        zipcode=report.zipcode,
        lat=point.y,
        long=point.x,
        media_url=media_url(report, request, settings),
        extended_attributes=ExtendedAttributes(
            workflow_status=report.workflow_status,  # type: ignore[arg-type]  # CHECK
            duplicate_of=str(report.duplicate_of) if report.duplicate_of is not None else None,
            ward_code=report.ward_code,
            attributes=report.attributes or {},
            has_photo=report.photo_path is not None,
            publication=report.publication,  # type: ignore[arg-type]  # CHECK
        ),
    )


def staff_report(report: Report, request: Request, settings: Settings) -> StaffReport:
    """Show a report to staff: the request object and the reporter's contact data."""
    public = service_request(report, request, settings)
    return StaffReport(
        **public.model_dump(),
        email=report.email,
        phone=report.phone,
        first_name=report.first_name,
        last_name=report.last_name,
        device_id=report.device_id,
        account_id=report.account_id,
    )
