"""Request and response formats of the web API (pydantic), as /openapi.json publishes them.

The Open311 models follow GeoReport v2 field by field (http://wiki.open311.org/GeoReport_v2);
the answers are built through them, so what is sent is what the schema says. XML answers
carry the same fields under the spec's element names (see `gomrac.api.web.formats`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel

from gomrac.api.web.catalogue import catalogue
from gomrac.geo.models import PUBLICATION_STATES, REPORT_UNITS, ROLES, WORKFLOW_STATUSES

WorkflowStatus = Literal["received", "verified", "assigned", "cleaned", "duplicate", "rejected"]
Publication = Literal["pending", "published", "hidden"]
Role = Literal["ward_office", "police", "waste_company", "admin"]
AssignedUnit = Literal["ward_office", "police", "waste_company", "environment_company"]
if {*get_args(WorkflowStatus), *get_args(Publication), *get_args(Role)} != {
    *WORKFLOW_STATUSES,
    *PUBLICATION_STATES,
    *ROLES,
} or set(get_args(AssignedUnit)) != set(
    REPORT_UNITS
):  # the Literal types of the schema follow the constants of the database models
    msg = "api.web.schemas: a Literal type no longer matches the constants of geo.models"
    raise ImportError(msg)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -------------------------------------------------------------------------------- errors


class Open311Error(_Strict):
    """One error of the spec's error list."""

    code: int = Field(description="the HTTP status")
    description: str = Field(description="what was wrong and how to fix it")


class Open311Errors(RootModel[list[Open311Error]]):
    """The spec's error list (``<errors><error>`` in XML)."""


class Detail(_Strict):
    """Error body outside ``/open311/``."""

    detail: str


# -------------------------------------------------------------------------------- discovery


class DiscoveryEndpoint(_Strict):
    """One endpoint of the discovery document."""

    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(_Strict):
    """Service discovery document; ``key_service`` also states the posting limits."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[DiscoveryEndpoint]


# -------------------------------------------------------------------------------- services


class ServiceOut(_Strict):
    """An item of the service list."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(_Strict):
    """One allowed value of a list attribute."""

    key: str
    name: str


class ServiceAttributeOut(_Strict):
    """An attribute of a service definition."""

    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(_Strict):
    """A service definition: the attributes a report of the service carries."""

    service_code: str
    attributes: list[ServiceAttributeOut]


# -------------------------------------------------------------------------------- requests


class ExtendedAttributes(_Strict):
    """gomrac's extension of a request object (see `gomrac.api.web.open311`)."""

    workflow_status: WorkflowStatus
    duplicate_of: str | None
    ward_code: str | None
    attributes: dict[str, str | list[str]]
    has_photo: bool
    publication: Publication


class ServiceRequest(_Strict):
    """A report as GET requests answers it; contact data of the reporter is never in it."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None
    extended_attributes: ExtendedAttributes


class PostAnswer(_Strict):
    """The spec's answer to a POST (a list of one)."""

    service_request_id: str
    service_notice: str | None
    account_id: str | None


class TokenAnswer(_Strict):
    """GET tokens/{token}: the request id behind a token (this server answers ids at once)."""

    token: str
    service_request_id: str


# the form of POST requests: documented for /openapi.json, parsed by the endpoint itself
MEDIA_URL_PATTERN = r"^(https?://\S+)?$"
_LE_CHAN = {"lat": 20.8378, "long": 106.6854}


def post_form_schema(*, with_photo: bool) -> dict[str, Any]:
    """JSON schema of the POST form (``multipart/form-data`` adds the photo ``media``)."""
    services = catalogue().services
    properties: dict[str, Any] = {
        "service_code": {"type": "string", "enum": sorted(services), "example": "burning"},
        "lat": {
            "type": "number",
            "minimum": -90,
            "maximum": 90,
            "description": "WGS84 latitude; the point must lie in one of Hai Phong's wards",
            "example": _LE_CHAN["lat"],
        },
        "long": {
            "type": "number",
            "minimum": -180,
            "maximum": 180,
            "description": "WGS84 longitude",
            "example": _LE_CHAN["long"],
        },
        "jurisdiction_id": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 4000},
        "address_string": {"type": "string", "maxLength": 1000},
        "address_id": {"type": "string", "maxLength": 100},
        "zipcode": {"type": "string", "maxLength": 16},
        "media_url": {
            "type": "string",
            "maxLength": 2000,
            "pattern": MEDIA_URL_PATTERN,
            "description": "an http(s) link to a photo kept elsewhere (empty: none)",
        },
        "email": {"type": "string", "maxLength": 320},
        "device_id": {"type": "string", "maxLength": 200},
        "account_id": {"type": "string", "maxLength": 200},
        "first_name": {"type": "string", "maxLength": 200},
        "last_name": {"type": "string", "maxLength": 200},
        "phone": {"type": "string", "maxLength": 64},
        "idempotency_key": {
            "type": "string",
            "maxLength": 200,
            "description": "a retried POST with the same key answers the first report",
        },
    }
    codes = sorted({a.code for s in services.values() for a in s.attributes})
    for code in codes:
        keys = sorted({k for s in services.values() for a in s.attributes for k, _ in a.values})
        properties[f"attribute[{code}]"] = {"type": "string", "enum": keys}
    if with_photo:
        properties["media"] = {
            "type": "string",
            "format": "binary",
            "description": "a JPEG, PNG or WebP photo; its metadata (GPS, camera) is removed",
        }
    return {
        "type": "object",
        "required": ["service_code", "lat", "long"],
        "properties": properties,
        "example": {"service_code": "burning", **_LE_CHAN},
    }


# -------------------------------------------------------------------------------- staff


PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # no control characters but tab, CR, LF


class StatusChange(_Strict):
    """A staff decision on a report; the actor is the signed-in account."""

    workflow_status: WorkflowStatus
    note: str | None = Field(default=None, max_length=2000, pattern=PLAIN_TEXT)
    duplicate_of: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="original report id; required with workflow_status=duplicate",
    )


class PublicationChange(_Strict):
    """Publish, hold back or hide a report (audited)."""

    publication: Publication
    note: str | None = Field(default=None, max_length=2000, pattern=PLAIN_TEXT)


class ReportLinks(_Strict):
    """Assign a report to a unit and link it to a dump site and a camera (audited).

    Only the fields sent change; ``null`` removes an assignment or a link.
    """

    assigned_unit: AssignedUnit | None = Field(
        default=None, description="the unit that handles the report (null: none)"
    )
    agency_responsible: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=PLAIN_TEXT,
        description="the unit's name as the public sees it (default: the unit in Vietnamese)",
    )
    dump_site_id: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="the dump register's site (same ward)"
    )
    camera_id: int | None = Field(
        default=None, ge=1, le=2_147_483_647, description="the camera that saw it (same ward)"
    )
    note: str | None = Field(default=None, max_length=2000, pattern=PLAIN_TEXT)


class HistoryRow(_Strict):
    """One audit row."""

    at: str
    actor: str
    field: str
    old: str | None
    new: str | None
    note: str | None


class ReportHistory(_Strict):
    """A report's audit trail, oldest first."""

    service_request_id: str
    data: list[HistoryRow]
    count: int


class StaffReport(ServiceRequest):
    """A report as staff see it: public fields, contact data, assignment and links.

    Besides the request object: the reporter's contact data, the unit the report is assigned
    to, and its links to a dump site and a camera.
    """

    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    device_id: str | None
    account_id: str | None
    assigned_unit: AssignedUnit | None = None
    dump_site_id: int | None = None
    camera_id: int | None = None


# -------------------------------------------------------------------------------- accounts


class SignIn(_Strict):
    """Username and password."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")


class AccessTokenOut(_Strict):
    """A bearer token for ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    username: str
    role: Role
    ward_codes: list[str]


class AccountOut(_Strict):
    """The signed-in account."""

    username: str
    full_name: str | None
    role: Role
    ward_codes: list[str]
