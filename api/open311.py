"""Citizen reports: the Open311 GeoReport v2 intake API and the staff workflow endpoints.

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under ``/open311/v2``, every endpoint in
XML (``.xml``) and JSON (``.json``):

* ``GET /discovery.{fmt}``: service discovery;
* ``GET /services.{fmt}``: the five waste services;
* ``GET /services/{service_code}.{fmt}``: a service definition (its attributes);
* ``POST /requests.{fmt}``: create a report (form-encoded, or multipart with a photo in
  ``media``);
* ``GET /requests.{fmt}``: search reports (the spec's filters, plus paging);
* ``GET /requests/{service_request_id}.{fmt}``: one report (a list of one, as in the spec);
* ``GET /media/{YYYY}/{MM}/{name}.{jpg|png|webp}``: a published photo (see below).

XML is ``text/xml; charset=utf-8`` with the spec's element names (``<discovery>``,
``<services><service>``, ``<service_definition>``, ``<service_requests><request>``); JSON is
``application/json``. In XML a null is an empty element, a boolean ``true``/``false``, and a
control character XML 1.0 cannot carry is written as U+FFFD. Any other format answers 400
(in JSON). Errors are the spec's list, in the format asked for:
``[{"code": 404, "description": "..."}]`` or ``<errors><error><code>404</code>
<description>...</description></error></errors>``, with the spec's status: 404 for an unknown
``jurisdiction_id``, ``service_code`` (service definition and POST) or
``service_request_id``, 400 for every other bad input.

Deviations and extensions, on purpose:

* No API key: anyone may post (the spec asks for an ``api_key`` on POST; one sent is ignored).
* A location is required as ``lat`` + ``long`` (WGS84). ``address_string`` or ``address_id``
  without coordinates is refused with 400 because there is no geocoder to place them;
  coordinates outside the city outline of Hai Phong are refused too. The address is kept
  when sent alongside coordinates.
* Photos: multipart field ``media`` (the "media handling" extension), at most
  ``GOMRAC_MAX_PHOTO_BYTES``, JPEG/PNG/WebP checked by their magic bytes, stored under
  ``GOMRAC_MEDIA_DIR`` and served read-only at ``/open311/v2/media/<path>`` (only photos of
  stored reports, with their image type, cacheable for an hour). A report posted with a
  photo and no ``media_url`` answers that URL, absolute on the request's base URL, as its
  ``media_url``; a ``media_url`` the client sent is echoed as sent. With
  ``GOMRAC_PUBLISH_PHOTOS=false`` (photos may show faces) uploaded photos stay stored but
  unpublished: ``media_url`` is null for them and the media URL answers 404.
* Paging: ``page`` (from 1) and ``page_size`` (at most ``GOMRAC_OPEN311_MAX_PAGE_SIZE``,
  default 1000), the common extension; the total is in the ``X-Total-Count`` header.
* Every request object carries ``extended_attributes``::

      {"workflow_status": "received|verified|assigned|cleaned|duplicate|rejected",
       "duplicate_of": "<service_request_id>" or null,
       "ward_code": "<official ward code>" or null,
       "attributes": {"size": "bag"}, "has_photo": true}

  in XML ``<extended_attributes>`` with one element per key (``<attributes><size>bag</size>
  </attributes>``, the answers of a multi-value attribute as repeated ``<value>``).
  ``status`` stays ``open``/``closed`` on the wire; ``status_notes`` reads
  ``"<workflow_status>: <note>"``.
* Times are written in Hai Phong time (``+07:00``); query times without an offset are taken
  as Hai Phong time, and a bare date as its midnight.
* Reports within ``GOMRAC_DUPLICATE_DISTANCE_M`` metres and ``GOMRAC_DUPLICATE_WINDOW_H``
  hours of an open report of the same service are stored as its duplicates (closed, linked).

Reporters' contact fields (email, phone, names, account and device ids) are stored for the
ward office and never returned, except ``account_id`` in the POST answer as the spec asks.

Staff endpoints under ``/api/reports`` (``PATCH /{id}``, ``GET /{id}/history``) need the
shared token ``GOMRAC_STAFF_TOKEN`` as ``Authorization: Bearer <token>`` (or
``X-Gomrac-Token``): a stop-gap until user accounts and roles exist. Without a configured
token they refuse every request.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import math
import os
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import shapely
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from geoalchemy2.shape import to_shape
from pydantic import BaseModel, Field
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import OPEN311_STATUSES, Report, ReportUpdate

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry
    from starlette.datastructures import FormData

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# formats: JSON, and XML with the spec's element names
# --------------------------------------------------------------------------------------------

FORMATS: Final = ("json", "xml")
XML_MEDIA_TYPE: Final = "text/xml; charset=utf-8"  # the spec's "Format Support"
JSON_MEDIA_TYPE: Final = "application/json"
# the element of each item of a list, by the element of the list (the spec's names)
_XML_ITEM: Final = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
_XML_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# characters XML 1.0 cannot carry, not even escaped
_XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_DOC: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {XML_MEDIA_TYPE.split(";")[0]: {}}},
}


def _xml_element(tag: str, value: Any) -> ET.Element:
    if not _XML_NAME.fullmatch(tag):
        msg = f"{tag!r} is not an XML element name"
        raise ValueError(msg)
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_xml_element(str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        item_tag = _XML_ITEM.get(tag, "value")
        element.extend(_xml_element(item_tag, item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _XML_ILLEGAL.sub("\ufffd", str(value))
    return element


def to_xml(root: str, body: Any) -> bytes:
    """
    Write a JSON-like answer as the spec's XML document (the Spark convention backwards).

    A dict becomes child elements named by its keys; a list becomes repeated children named
    after the list (``services`` holds ``service``, ``service_requests`` holds ``request``,
    ``attributes`` ``attribute``, ``values`` ``value``, ``endpoints`` ``endpoint``,
    ``formats`` ``format``, ``errors`` ``error``, any other list ``value``); None is an empty
    element and a boolean ``true``/``false``. Characters XML 1.0 cannot carry become U+FFFD.

    Parameters
    ----------
    root
        Name of the root element, e.g. ``service_requests``.
    body
        The answer as it is sent in JSON.

    Returns
    -------
    bytes
        UTF-8 XML with its declaration.
    """
    document: bytes = ET.tostring(_xml_element(root, body), encoding="UTF-8", xml_declaration=True)
    return document


def _answer(fmt: str, body: Any, *, root: str, headers: dict[str, str] | None = None) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), media_type=XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(body, headers=headers)


router = APIRouter(prefix="/open311/v2", tags=["open311"])
staff_router = APIRouter(prefix="/api/reports", tags=["reports"])

HAIPHONG_TZ: Final = dt.timezone(dt.timedelta(hours=7), "ICT")
SPEC_URL: Final = "http://wiki.open311.org/GeoReport_v2"
CHANGESET: Final = "2026-11-25T00:00:00+07:00"  # bump when the services or definitions change
MAX_DESCRIPTION_CHARS: Final = 4000  # GeoReport v2 limit
MAX_DATE_SPAN: Final = dt.timedelta(days=90)
OUTLINE_FILE: Final = "boundaries/haiphong_city_outline_2025_official_map.geojson"
WARDS_FILE: Final = "boundaries/haiphong_wards_2025_official_map.geojson"
_WARD_SNAP_DEG: Final = 0.002  # ~200 m: a point in a sliver between wards goes to the nearest

# --------------------------------------------------------------------------------------------
# services
# --------------------------------------------------------------------------------------------

_SIZE_VALUES: Final = (
    ("bag", "Một vài túi (bag)"),
    ("handcart", "Khoảng một xe đẩy tay (handcart)"),
    ("truckload", "Cần xe tải (truckload)"),
)


@dataclass(frozen=True)
class ServiceAttribute:
    """One attribute of a GeoReport v2 service definition."""

    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    description: str
    datatype_description: str | None
    order: int
    values: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the attribute as the spec writes it."""
        return {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description,
            "order": self.order,
            "description": self.description,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }


@dataclass(frozen=True)
class Service:
    """A report type citizens can choose."""

    code: str
    name: str  # Vietnamese
    description: str  # English
    group: str
    keywords: str
    service_notice: str
    expected_h: float | None
    attributes: tuple[ServiceAttribute, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return the service as the spec's service list writes it."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description,
            "metadata": bool(self.attributes),
            "type": "realtime",
            "keywords": self.keywords,
            "group": self.group,
        }


def _size(*, required: bool) -> ServiceAttribute:
    return ServiceAttribute(
        code="size",
        datatype="singlevaluelist",
        required=required,
        description="Lượng rác ước tính / How much waste is there?",
        datatype_description="bag, handcart or truckload",
        order=1,
        values=_SIZE_VALUES,
    )


SERVICES: Final[dict[str, Service]] = {
    s.code: s
    for s in (
        Service(
            code="household_waste",
            name="Rác sinh hoạt chưa được thu gom",
            description="Household waste left uncollected on a street, pavement or alley.",
            group="Rác thải sinh hoạt",
            keywords="rác, rác sinh hoạt, chưa thu gom, household waste, uncollected, garbage",
            service_notice="Ward staff check reports within one working day.",
            expected_h=48,
            attributes=(_size(required=False),),
        ),
        Service(
            code="construction_debris",
            name="Phế thải xây dựng đổ trái phép",
            description="Construction or demolition debris dumped in a public place.",
            group="Đổ thải trái phép",
            keywords="phế thải, xà bần, xây dựng, construction, debris, rubble",
            service_notice="Ward staff check reports within two working days.",
            expected_h=120,
            attributes=(_size(required=True),),
        ),
        Service(
            code="burning",
            name="Đốt rác ngoài trời",
            description="Open burning of waste (smoke, fire in a pile of rubbish).",
            group="Ô nhiễm",
            keywords="đốt rác, khói, cháy, burning, smoke, fire",
            service_notice="If the fire spreads call 114. Ward staff check reports the same day.",
            expected_h=24,
        ),
        Service(
            code="overflowing_point",
            name="Điểm tập kết rác bị tràn",
            description="A waste gathering point or bin is full and overflowing.",
            group="Rác thải sinh hoạt",
            keywords="điểm tập kết, thùng rác, tràn, overflowing, bin, gathering point",
            service_notice="The collection team is told at its next shift.",
            expected_h=24,
            attributes=(_size(required=False),),
        ),
        Service(
            code="spontaneous_dump",
            name="Bãi rác tự phát",
            description="A spontaneous (illegal) dump site that keeps growing.",
            group="Đổ thải trái phép",
            keywords="bãi rác tự phát, đổ trộm, spontaneous dump, illegal dumping, fly-tipping",
            service_notice="Ward staff inspect the site and add it to the dump-site register.",
            expected_h=168,
            attributes=(_size(required=True),),
        ),
    )
}


# --------------------------------------------------------------------------------------------
# boundaries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boundaries:
    """City outline and ward polygons of Hai Phong for point checks (EPSG:4326)."""

    outline: BaseGeometry
    ward_codes: tuple[str, ...]
    ward_names: tuple[str, ...]
    tree: shapely.STRtree

    def contains(self, point: Point) -> bool:
        """Whether `point` lies in the city (boundary included)."""
        return bool(self.outline.covers(point))

    def ward_of(self, point: Point) -> tuple[str, str] | None:
        """Code and full name of the ward containing `point` (or within ~200 m of it)."""
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 0:
            hits = self.tree.query_nearest(point, max_distance=_WARD_SNAP_DEG)
        if len(hits) == 0:
            return None
        best = min(int(i) for i in hits)  # deterministic on the ~0.001 km² overlap
        return self.ward_codes[best], self.ward_names[best]


def _read_features(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        msg = (
            f"{path} not found; set GOMRAC_DATA_DIR to the folder holding boundaries/ "
            "(the Open311 intake needs the city outline and the ward polygons)"
        )
        raise DataNotFoundError(msg)
    with path.open(encoding="utf-8") as fh:
        features: list[dict[str, Any]] = json.load(fh)["features"]
    return features


@cache
def load_boundaries(data_dir: Path) -> Boundaries:
    """
    Read the official-map city outline and ward polygons once per data folder.

    Raises
    ------
    DataNotFoundError
        If a boundary file is missing.
    """
    outline_features = _read_features(data_dir / OUTLINE_FILE)
    outline = shapely.union_all([shape(f["geometry"]) for f in outline_features])
    shapely.prepare(outline)
    wards = _read_features(data_dir / WARDS_FILE)
    geoms = [shape(f["geometry"]) for f in wards]
    codes = tuple(str(f["properties"]["code"]) for f in wards)
    names = tuple(
        str(f["properties"].get("full_name_modern_tone") or f["properties"].get("full_name"))
        for f in wards
    )
    log.info("load_boundaries: city outline and %d wards from %s", len(codes), data_dir)
    return Boundaries(
        outline=outline, ward_codes=codes, ward_names=names, tree=shapely.STRtree(geoms)
    )


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _bad(message: str) -> ValidationError:
    return ValidationError(message)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        msg = f"format {fmt!r} is not supported; use .xml or .json"
        raise HTTPException(status_code=400, detail=msg)


def _check_jurisdiction(request: Request, jurisdiction_id: str | None) -> None:
    expected = _settings(request).jurisdiction_id
    if jurisdiction_id and jurisdiction_id != expected:
        msg = f"jurisdiction_id {jurisdiction_id!r} not found; this server serves {expected!r}"
        raise HTTPException(status_code=404, detail=msg)


def w3c(value: dt.datetime | None) -> str | None:
    """W3C date-time in Hai Phong time, e.g. ``2026-11-25T09:30:00+07:00``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(HAIPHONG_TZ).isoformat(timespec="seconds")


def parse_w3c(name: str, value: str) -> dt.datetime:
    """Parse a W3C date or date-time; without an offset it is Hai Phong time."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        msg = f"{name} {value!r} is not a W3C date-time such as 2026-01-31T00:00:00+07:00"
        raise _bad(msg) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=HAIPHONG_TZ)
    return parsed.astimezone(dt.UTC)


def _coordinate(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        msg = f"{name} {raw!r} is not a number; send decimal degrees (WGS84), e.g. {name}=20.84"
        raise _bad(msg) from None
    if not math.isfinite(value):
        msg = f"{name} must be a finite number of degrees, got {raw!r}"
        raise _bad(msg)
    if not low <= value <= high:
        msg = f"{name} {value} is out of range [{low:g}, {high:g}]"
        raise _bad(msg)
    return value


def _field(form: FormData, name: str, *, max_chars: int | None = None) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{name} must be a text field, not a file"
        raise _bad(msg)
    value = value.strip()
    if not value:
        return None
    if max_chars is not None and len(value) > max_chars:
        msg = f"{name} is {len(value)} characters long; at most {max_chars} are allowed"
        raise _bad(msg)
    return value


_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _parse_attributes(form: FormData, service: Service) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        match = _ATTRIBUTE_KEY.match(key)
        if match is None:
            continue
        if not isinstance(value, str):
            msg = f"{key} must be a text field"
            raise _bad(msg)
        given.setdefault(match.group(1), []).append(value.strip())
    known = {a.code: a for a in service.attributes}
    unknown = sorted(set(given) - set(known))
    if unknown:
        msg = (
            f"service {service.code!r} has no attribute(s) {unknown}; "
            f"see services/{service.code}.json"
        )
        raise _bad(msg)
    out: dict[str, Any] = {}
    for attr in service.attributes:
        values = [v for v in given.get(attr.code, []) if v]
        if not values:
            if attr.required:
                keys = ", ".join(k for k, _ in attr.values)
                msg = f"attribute[{attr.code}] is required for {service.code} ({keys})"
                raise _bad(msg)
            continue
        if attr.datatype in ("singlevaluelist", "multivaluelist"):
            allowed = [k for k, _ in attr.values]
            bad = [v for v in values if v not in allowed]
            if bad:
                msg = f"attribute[{attr.code}] {bad[0]!r} is not one of {allowed}"
                raise _bad(msg)
        if attr.datatype == "multivaluelist":
            out[attr.code] = values
        else:
            if len(values) > 1:
                msg = f"attribute[{attr.code}] takes one value, got {len(values)}"
                raise _bad(msg)
            out[attr.code] = values[0]
    return out


_PHOTO_EXT: Final = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_PHOTO_NAMES: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}


def sniff_image_type(head: bytes) -> str | None:
    """MIME type of a JPEG, PNG or WebP file from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class _Photo:
    data: bytes
    mime: str


async def _read_photo(form: FormData, settings: Settings) -> _Photo | None:
    upload = form.get("media")
    if upload is None:
        return None
    if not isinstance(upload, UploadFile):
        msg = "media must be an uploaded file (multipart/form-data); use media_url for a link"
        raise _bad(msg)
    limit = settings.max_photo_bytes
    data = await upload.read(limit + 1)
    if not data and not upload.filename:
        return None  # an empty file input
    if len(data) > limit:
        msg = f"the photo is larger than {limit / (1024 * 1024):g} MiB; send a smaller one"
        raise _bad(msg)
    if not data:
        msg = "the photo is empty"
        raise _bad(msg)
    mime = sniff_image_type(data[:16])
    allowed = settings.allowed_photo_types
    if mime is None or mime not in allowed:
        names = ", ".join(_PHOTO_NAMES[t] for t in allowed)
        declared = upload.content_type or "no type"
        msg = f"the photo is not a {names} image (its content does not match; declared {declared})"
        raise _bad(msg)
    declared_type = (upload.content_type or "").split(";")[0].strip().lower()
    if declared_type not in ("", "application/octet-stream") and not declared_type.startswith(
        "image/"
    ):
        msg = f"the photo is declared as {declared_type}; send it as {mime}"
        raise _bad(msg)
    return _Photo(data=data, mime=mime)


def _save_photo(photo: _Photo, media_dir: Path) -> str:
    now = dt.datetime.now(dt.UTC)
    relative = Path(f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{_PHOTO_EXT[photo.mime]}")
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with tmp.open("wb") as fh:
            fh.write(photo.data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return relative.as_posix()


@dataclass(frozen=True)
class _NewReport:
    service: Service
    point: Point
    ward: tuple[str, str] | None
    values: dict[str, Any]


def _parse_post(form: FormData, settings: Settings, boundaries: Boundaries) -> _NewReport:
    jurisdiction = _field(form, "jurisdiction_id")
    if jurisdiction and jurisdiction != settings.jurisdiction_id:
        msg = (
            f"jurisdiction_id {jurisdiction!r} not found; "
            f"this server serves {settings.jurisdiction_id!r}"
        )
        raise HTTPException(status_code=404, detail=msg)
    code = _field(form, "service_code")
    if code is None:
        msg = "service_code is required; see services.json for the list"
        raise _bad(msg)
    service = SERVICES.get(code)
    if service is None:  # 404, as the spec's POST Service Request lists it
        msg = f"service_code {code!r} not found; valid codes are {sorted(SERVICES)} (services.json)"
        raise HTTPException(status_code=404, detail=msg)
    raw_lat, raw_long = _field(form, "lat"), _field(form, "long")
    if raw_lat is None and raw_long is None:
        if _field(form, "address_string") or _field(form, "address_id"):
            msg = (
                "an address without coordinates cannot be placed (no geocoder here); "
                "send lat and long in WGS84 decimal degrees"
            )
        else:
            msg = "a location is required: send lat and long in WGS84 decimal degrees"
        raise _bad(msg)
    if raw_lat is None or raw_long is None:
        msg = "lat and long must be sent together"
        raise _bad(msg)
    lat = _coordinate("lat", raw_lat, -90, 90)
    lon = _coordinate("long", raw_long, -180, 180)
    point = Point(lon, lat)
    if not boundaries.contains(point):
        msg = (
            f"the location lat={lat}, long={lon} is outside Hai Phong; this service takes "
            "reports inside the city only"
        )
        raise _bad(msg)
    media_url = _field(form, "media_url", max_chars=2000)
    if media_url is not None and not re.match(r"^https?://", media_url):
        msg = "media_url must be an http(s) URL"
        raise _bad(msg)
    values = {
        "description": _field(form, "description", max_chars=MAX_DESCRIPTION_CHARS),
        "address": _field(form, "address_string", max_chars=1000),
        "address_id": _field(form, "address_id", max_chars=100),
        "zipcode": _field(form, "zipcode", max_chars=16),
        "media_url": media_url,
        "email": _field(form, "email", max_chars=320),
        "device_id": _field(form, "device_id", max_chars=200),
        "account_id": _field(form, "account_id", max_chars=200),
        "first_name": _field(form, "first_name", max_chars=200),
        "last_name": _field(form, "last_name", max_chars=200),
        "phone": _field(form, "phone", max_chars=64),
        "attributes": _parse_attributes(form, service),
    }
    return _NewReport(service=service, point=point, ward=boundaries.ward_of(point), values=values)


def _store_report(request: Request, new: _NewReport, photo: _Photo | None) -> Report:
    settings = _settings(request)
    photo_path = _save_photo(photo, settings.media_path) if photo is not None else None
    now = dt.datetime.now(dt.UTC)
    ward_code, ward_name = new.ward if new.ward is not None else (None, None)
    service = new.service
    try:
        with session_scope(request.app.state.engine) as session:
            report = store.create_report(
                session,
                service_code=service.code,
                point=new.point,
                requested_datetime=now,
                photo_path=photo_path,
                ward_code=ward_code,
                agency_responsible=f"UBND {ward_name}" if ward_name else None,
                service_notice=service.service_notice,
                expected_datetime=(
                    now + dt.timedelta(hours=service.expected_h) if service.expected_h else None
                ),
                duplicate_distance_m=settings.duplicate_distance_m,
                duplicate_window_h=settings.duplicate_window_h,
                **new.values,
            )
    except BaseException:
        if photo_path is not None:
            (settings.media_path / photo_path).unlink(missing_ok=True)
        raise
    return report


def media_url(report: Report, request: Request) -> str | None:
    """
    Give a report's ``media_url``: the client's URL, else its published photo, else None.

    The photo's URL is absolute on `request`'s base URL and is never stored, so it follows
    the server's address and ``GOMRAC_PUBLISH_PHOTOS`` (off: None).
    """
    if report.media_url is not None:
        return report.media_url
    if report.photo_path is None or not _settings(request).publish_photos:
        return None
    return str(request.url_for("open311_media", photo_path=report.photo_path))


def request_json(report: Report, request: Request) -> dict[str, Any]:
    """Write a report as a GeoReport v2 request object, with ``extended_attributes``."""
    point = to_shape(report.geom)
    service = SERVICES.get(report.service_code)
    return {
        "service_request_id": str(report.id),
        "status": report.status,
        "status_notes": report.status_notes,
        "service_name": service.name if service else report.service_code,
        "service_code": report.service_code,
        "description": report.description,
        "agency_responsible": report.agency_responsible,
        "service_notice": report.service_notice,
        "requested_datetime": w3c(report.requested_datetime),
        "updated_datetime": w3c(report.updated_datetime),
        "expected_datetime": w3c(report.expected_datetime),
        "address": report.address,
        "address_id": report.address_id,
        "zipcode": report.zipcode,
        "lat": point.y,
        "long": point.x,
        "media_url": media_url(report, request),
        "extended_attributes": {
            "workflow_status": report.workflow_status,
            "duplicate_of": str(report.duplicate_of) if report.duplicate_of is not None else None,
            "ward_code": report.ward_code,
            "attributes": report.attributes or {},
            "has_photo": report.photo_path is not None,
        },
    }


def _split(value: str | None) -> list[str]:
    if value is None:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


# --------------------------------------------------------------------------------------------
# Open311 endpoints
# --------------------------------------------------------------------------------------------


@router.get("/discovery.{fmt}", responses=_XML_DOC)
def discovery(request: Request, fmt: str) -> Response:
    """Service discovery document."""
    _check_format(fmt)
    base = str(request.url_for("services", fmt="json")).rsplit("/", 1)[0]
    body = {
        "changeset": CHANGESET,
        "contact": "Hai Phong ward offices (UBND phường/xã); software issues: gomrac project.",
        "key_service": "No API key is needed to read or to post reports.",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": [XML_MEDIA_TYPE.split(";")[0], JSON_MEDIA_TYPE],
            }
        ],
    }
    return _answer(fmt, body, root="discovery")


@router.get("/services.{fmt}", name="services", responses=_XML_DOC)
def services(request: Request, fmt: str, jurisdiction_id: str | None = None) -> Response:
    """Answer the service list."""
    _check_format(fmt)
    _check_jurisdiction(request, jurisdiction_id)
    return _answer(fmt, [s.to_json() for s in SERVICES.values()], root="services")


@router.get("/services/{service_code}.{fmt}", responses=_XML_DOC)
def service_definition(
    request: Request, service_code: str, fmt: str, jurisdiction_id: str | None = None
) -> Response:
    """Answer a service definition (its attributes)."""
    _check_format(fmt)
    _check_jurisdiction(request, jurisdiction_id)
    service = SERVICES.get(service_code)
    if service is None:
        msg = f"service_code {service_code!r} not found; valid codes are {sorted(SERVICES)}"
        raise HTTPException(status_code=404, detail=msg)
    body = {
        "service_code": service.code,
        "attributes": [a.to_json() for a in sorted(service.attributes, key=lambda a: a.order)],
    }
    return _answer(fmt, body, root="service_definition")


@router.post("/requests.{fmt}", responses=_XML_DOC)
async def post_request(request: Request, fmt: str) -> Response:
    """Create a report from a form-encoded or multipart (with ``media``) body."""
    _check_format(fmt)
    settings = _settings(request)
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        msg = (
            "send the request as application/x-www-form-urlencoded, or multipart/form-data "
            "with a photo in 'media'"
        )
        raise _bad(msg)
    try:
        boundaries = await run_in_threadpool(load_boundaries, settings.data_dir)
    except DataNotFoundError as exc:  # a server set-up problem: the path goes to the log only
        log.error("Open311: %s", exc)
        msg = (
            "reports cannot be placed now: the server's ward boundaries are missing "
            "(GOMRAC_DATA_DIR); try again later"
        )
        raise HTTPException(status_code=503, detail=msg) from None
    async with request.form(max_files=1, max_fields=100) as form:
        new = _parse_post(form, settings, boundaries)
        photo = await _read_photo(form, settings)
    report = await run_in_threadpool(_store_report, request, new, photo)
    body = [
        {
            "service_request_id": str(report.id),
            "service_notice": report.service_notice,
            "account_id": report.account_id,
        }
    ]
    return _answer(fmt, body, root="service_requests")


@router.get("/requests.{fmt}", responses=_XML_DOC)
def get_requests(
    request: Request,
    fmt: str,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int | None = None,
) -> Response:
    """Search reports with the spec's filters; newest first, paged."""
    _check_format(fmt)
    _check_jurisdiction(request, jurisdiction_id)
    settings = _settings(request)
    cap = settings.open311_max_page_size
    size = cap if page_size is None else page_size
    if page < 1:
        raise _bad("page must be 1 or more")
    if not 1 <= size <= cap:
        msg = f"page_size must be between 1 and {cap}"
        raise _bad(msg)
    conditions: list[Any] = []
    ids = _split(service_request_id)
    if ids:  # overrides every other filter (spec)
        if not all(i.isdigit() for i in ids):
            msg = "service_request_id must be a comma-separated list of request ids"
            raise _bad(msg)
        if len(ids) > cap:
            msg = f"at most {cap} service_request_id values at once"
            raise _bad(msg)
        conditions.append(Report.id.in_([int(i) for i in ids]))
    else:
        codes = _split(service_code)
        unknown = sorted(set(codes) - set(SERVICES))
        if unknown:
            msg = f"unknown service_code {unknown}; valid codes are {sorted(SERVICES)}"
            raise _bad(msg)
        statuses = _split(status)
        bad = sorted(set(statuses) - set(OPEN311_STATUSES))
        if bad:
            msg = f"status {bad} is not open or closed"
            raise _bad(msg)
        end = parse_w3c("end_date", end_date) if end_date else None
        start = parse_w3c("start_date", start_date) if start_date else None
        if end is None:
            end = start + MAX_DATE_SPAN if start is not None else dt.datetime.now(dt.UTC)
        if start is None:
            start = end - MAX_DATE_SPAN
        if start > end:
            raise _bad("start_date is after end_date")
        if end - start > MAX_DATE_SPAN:
            raise _bad("start_date and end_date may not span more than 90 days")
        conditions += [Report.requested_datetime >= start, Report.requested_datetime <= end]
        if codes:
            conditions.append(Report.service_code.in_(codes))
        if statuses:
            conditions.append(Report.status.in_(statuses))
    with session_scope(request.app.state.engine) as session:
        total = session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0
        stmt = (
            select(Report)
            .where(*conditions)
            .order_by(Report.requested_datetime.desc(), Report.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
        body = [request_json(r, request) for r in session.scalars(stmt)]
    return _answer(fmt, body, root="service_requests", headers={"X-Total-Count": str(total)})


@router.get("/requests/{service_request_id}.{fmt}", responses=_XML_DOC)
def get_request(
    request: Request, service_request_id: str, fmt: str, jurisdiction_id: str | None = None
) -> Response:
    """One report, as a list of one."""
    _check_format(fmt)
    _check_jurisdiction(request, jurisdiction_id)
    if not service_request_id.isdigit():
        msg = f"service_request_id {service_request_id!r} not found"
        raise HTTPException(status_code=404, detail=msg)
    with session_scope(request.app.state.engine) as session:
        report = session.get(Report, int(service_request_id))
        if report is None:
            msg = f"service_request_id {service_request_id!r} not found"
            raise HTTPException(status_code=404, detail=msg)
        body = [request_json(report, request)]
    return _answer(fmt, body, root="service_requests")


_PUBLISHED_PHOTO: Final = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.(jpg|png|webp)")
_PHOTO_TYPE_BY_EXT: Final = {ext: mime for mime, ext in _PHOTO_EXT.items()}
_PHOTO_CACHE_S: Final = 3600  # a withdrawn photo leaves shared caches within the hour


@router.get(
    "/media/{photo_path:path}",
    name="open311_media",
    response_class=FileResponse,
    responses={200: {"content": {mime: {} for mime in _PHOTO_EXT}}},
)
def media(request: Request, photo_path: str) -> FileResponse:
    """
    Serve a report's photo, read-only, with its image type (404 when not published).

    Only files that `_save_photo` wrote (``YYYY/MM/<32 hex>.<ext>`` under
    ``GOMRAC_MEDIA_DIR``, no link leading out of it) and that a stored report points to are
    served; anything else is 404.
    """
    settings = _settings(request)
    if not settings.publish_photos:
        msg = "photos are not published on this server (GOMRAC_PUBLISH_PHOTOS is off)"
        raise HTTPException(status_code=404, detail=msg)
    not_found = HTTPException(status_code=404, detail=f"photo {photo_path!r} not found")
    match = _PUBLISHED_PHOTO.fullmatch(photo_path)
    if match is None:
        raise not_found
    root = settings.media_path.resolve()
    target = (root / photo_path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise not_found
    with session_scope(request.app.state.engine) as session:
        owner = session.scalar(select(Report.id).where(Report.photo_path == photo_path).limit(1))
    if owner is None:
        raise not_found
    return FileResponse(
        target,
        media_type=_PHOTO_TYPE_BY_EXT[match.group(1)],
        headers={
            "Cache-Control": f"public, max-age={_PHOTO_CACHE_S}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --------------------------------------------------------------------------------------------
# staff endpoints
# --------------------------------------------------------------------------------------------


def require_staff(
    request: Request,
    authorization: str | None = Header(default=None),
    x_gomrac_token: str | None = Header(default=None),
) -> None:
    """Check the shared staff token (``Authorization: Bearer`` or ``X-Gomrac-Token``)."""
    secret = _settings(request).staff_token
    if secret is None:
        msg = "staff endpoints are disabled: the server has no GOMRAC_STAFF_TOKEN"
        raise HTTPException(status_code=403, detail=msg)
    given = x_gomrac_token
    if authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if not given:
        raise HTTPException(
            status_code=401,
            detail="staff token required (Authorization: Bearer <GOMRAC_STAFF_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise HTTPException(status_code=403, detail="invalid staff token")


class StatusChange(BaseModel):
    """A staff decision on a report."""

    workflow_status: Literal["received", "verified", "assigned", "cleaned", "duplicate", "rejected"]
    actor: str = Field(min_length=1, max_length=200, description="staff login")
    note: str | None = Field(default=None, max_length=2000)
    duplicate_of: int | None = Field(
        default=None, description="original report id; required with workflow_status=duplicate"
    )


class HistoryRow(BaseModel):
    """One audit row."""

    at: str
    actor: str
    field: str
    old: str | None
    new: str | None
    note: str | None


class ReportHistory(BaseModel):
    """A report's audit trail, oldest first."""

    service_request_id: str
    data: list[HistoryRow]
    count: int


def _history_row(update: ReportUpdate) -> HistoryRow:
    return HistoryRow(
        at=w3c(update.at) or "",
        actor=update.actor,
        field=update.field,
        old=update.old,
        new=update.new,
        note=update.note,
    )


@staff_router.patch("/{report_id}", dependencies=[Depends(require_staff)])
def patch_report(request: Request, report_id: int, change: StatusChange) -> dict[str, Any]:
    """Move a report through the workflow (audited); returns it as Open311 shows it."""
    with session_scope(request.app.state.engine) as session:
        if change.workflow_status == "duplicate":
            if change.duplicate_of is None:
                raise _bad("duplicate_of is required with workflow_status=duplicate")
            report = store.link_duplicate(
                session,
                report_id,
                duplicate_of=change.duplicate_of,
                actor=change.actor,
                note=change.note,
            )
        else:
            report = store.set_report_status(
                session,
                report_id,
                workflow_status=change.workflow_status,
                actor=change.actor,
                note=change.note,
            )
        body = request_json(report, request)
    return body


@staff_router.get("/{report_id}/history", dependencies=[Depends(require_staff)])
def report_history(request: Request, report_id: int) -> ReportHistory:
    """Return the audit trail of a report."""
    with session_scope(request.app.state.engine) as session:
        rows = [_history_row(u) for u in store.report_history(session, report_id)]
    return ReportHistory(service_request_id=str(report_id), data=rows, count=len(rows))
