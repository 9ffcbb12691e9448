"""The Open311 GeoReport v2 intake: discovery, services, requests, tokens and photos.

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under ``/open311/v2``, every endpoint in
XML (``.xml``) and JSON (``.json``; the format is an enum path parameter, any other answers
400):

* ``GET /discovery.{fmt}``: service discovery (its ``key_service`` states the posting limits);
* ``GET /services.{fmt}``: the services of the catalogue (`gomrac.api.web.catalogue`);
* ``GET /services/{service_code}.{fmt}``: a service definition (its attributes);
* ``POST /requests.{fmt}``: create a report (form-encoded, or multipart with a photo in
  ``media``; see `gomrac.api.web.intake`);
* ``GET /requests.{fmt}``: search published reports (the spec's filters, plus paging;
  conditional GET with ``ETag`` / ``Last-Modified``);
* ``GET /requests/{service_request_id}.{fmt}``: one published report (a list of one);
* ``GET /tokens/{token}.{fmt}``: the report id behind a POST's idempotency key;
* ``GET /media/{YYYY}/{MM}/{name}.{jpg|png|webp}``: a published report's photo.

Errors are the spec's list, in the format asked for: ``[{"code": 404, "description":
"..."}]`` or ``<errors><error><code>404</code><description>...</description></error>
</errors>``, with the spec's status: 404 for an unknown ``jurisdiction_id``, ``service_code``
(service definition and POST) or ``service_request_id``, 400 for every other bad input, 403
for a blocked client or device, 429 (with ``Retry-After``) above the posting limits.

Deviations and extensions, on purpose:

* No API key: anyone may post (an ``api_key`` sent is ignored); posting is limited per
  client address and per ``device_id`` (``GOMRAC_POST_LIMIT*``), and block lists refuse
  known abusers (``GOMRAC_BLOCKED_CLIENTS``, ``GOMRAC_BLOCKED_DEVICES``).
* A location is required as ``lat`` + ``long`` (WGS84) inside one of Hai Phong's wards (the
  official ward polygons; a point a little outside gets a message naming the nearest ward).
  ``address_string`` or ``address_id`` without coordinates is refused (no geocoder).
* Photos: multipart field ``media``, at most ``GOMRAC_MAX_PHOTO_BYTES``, JPEG/PNG/WebP
  checked by their content, re-encoded without metadata (GPS, camera, names) before they are
  stored for publication (`gomrac.api.web.photos`) and served read-only at
  ``/open311/v2/media/<path>`` while the report is published and ``GOMRAC_PUBLISH_PHOTOS`` is
  on. A ``media_url`` the client sent is echoed as sent.
* Publication: with ``GOMRAC_PUBLISH_REPORTS=after_review`` (the default) a new report is
  ``pending`` and is shown only after a ward officer publishes it; staff may hide a report
  again. Public lists and lookups show published reports only.
* Idempotent POST: an ``Idempotency-Key`` header (or ``idempotency_key`` field) makes a
  retried POST answer the first report; the key is also the report's ``token``.
* Paging: ``page`` (from 1) and ``page_size`` (default ``GOMRAC_OPEN311_PAGE_SIZE``, at most
  ``GOMRAC_OPEN311_MAX_PAGE_SIZE``); the total is in the ``X-Total-Count`` header.
* The public list is cacheable (``Cache-Control: public, max-age=10``, ``ETag``,
  ``Last-Modified``, 304 to a client holding the current copy) and each server worker keeps
  its rendered pages (`gomrac.api.web.pagecache`): a change made through the worker shows at
  once, one made through another worker within ``LIST_FRESH_S``. Pages are rendered by at most
  ``LIST_RENDERS`` requests at once per worker, reading beside the writer (SQLite's WAL
  snapshot), so reads never hold the threads, connections or lock that posts need; while a
  worker has posts in progress it answers at most ``READS_WHILE_POSTING`` list reads a second.
* Posts: the report, its idempotency key and the posting limits' counts (shared by every
  worker through the database, see `gomrac.api.web.limits`) are one transaction; a worker runs
  a few of them at once (`gomrac.api.web.intake.WRITERS_PER_PROCESS`) and queues the others.
* Every request object carries ``extended_attributes`` (workflow status, duplicate link, ward
  code, attribute answers, whether it has a photo, publication state); ``status`` stays
  ``open``/``closed`` on the wire and ``status_notes`` reads ``"<workflow_status>: <note>"``.
* Times are written in Hai Phong time (``+07:00``); query times without an offset are taken
  as Hai Phong time, and a bare date as its midnight.
* Reports within ``GOMRAC_DUPLICATE_DISTANCE_M`` metres and ``GOMRAC_DUPLICATE_WINDOW_H``
  hours of an open report of the same service are stored as its duplicates (closed, linked).

Reporters' contact fields (email, phone, names, account and device ids) are stored for the
ward office and never returned, except ``account_id`` in the POST answer as the spec asks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.api.web import intake
from gomrac.api.web.catalogue import catalogue
from gomrac.api.web.deps import ClientDep, SettingsDep
from gomrac.api.web.formats import FORMATS, JSON_MEDIA_TYPE, XML_MEDIA_TYPE, Format, answer
from gomrac.api.web.limits import BlockList, PostLimits, too_many_posts
from gomrac.api.web.pagecache import PageCache, WriteGeneration
from gomrac.api.web.photos import (
    PHOTO_EXT,
    PHOTO_TYPE_BY_EXT,
    PUBLISHED_PHOTO,
    read_photo,
    strip_metadata,
)
from gomrac.api.web.reports import service_request
from gomrac.api.web.schemas import (
    Discovery,
    Open311Errors,
    PostAnswer,
    ServiceDefinition,
    ServiceOut,
    ServiceRequest,
    TokenAnswer,
    post_form_schema,
)
from gomrac.geo.db import READ_ONLY, session_scope
from gomrac.geo.lookup import WardRef, ward_at, ward_index
from gomrac.geo.models import OPEN311_STATUSES, Report

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPEC_URL: Final = "http://wiki.open311.org/GeoReport_v2"
MAX_DATE_SPAN: Final = dt.timedelta(days=90)
MAX_PAGE: Final = 10_000
LIST_CACHE_S: Final = 10  # shared caches may serve the public list this long
LIST_FRESH_S: Final = 1.0  # another worker's change shows in a worker's list within this time
LIST_RENDERS: Final = 2  # list pages a worker renders at once (more reads wait, posts do not)
READS_WHILE_POSTING: Final = 50  # list answers a second per worker while it has posts to do
_PHOTO_CACHE_S: Final = 3600  # a withdrawn photo leaves shared caches within the hour
_XML: Final = XML_MEDIA_TYPE.split(";")[0]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        304: "not modified since the ETag or date the client sent",
        400: "a bad parameter or field; the description says which and why",
        403: "the client address or device is blocked",
        404: "an unknown jurisdiction, service, request, token or photo",
        413: "the body is larger than GOMRAC_MAX_BODY_BYTES",
        429: "too many reports from this client or device; see Retry-After",
        503: "the server cannot place reports now (ward boundaries missing)",
    }
    out: dict[int | str, dict[str, Any]] = {
        200: {"content": {_XML: {"schema": {"type": "string"}}}}
    }
    for code in codes:
        if code == 304:
            out[code] = {"description": text[code]}
            continue
        out[code] = {
            "model": Open311Errors,
            "description": text[code],
            "content": {_XML: {"schema": {"type": "string"}}},
        }
    return out


class _Posting:
    """Posts in progress in this worker, and the pace of list reads while there are any.

    Each list answer, even from the cache, costs the worker about as much processor time as a
    seventh of a post; readers looping as fast as answers come would take most of it. While
    posts are in progress the worker answers at most `READS_WHILE_POSTING` list reads a second
    (in arrival order; the others wait, holding no thread and no connection to the database).
    Only the event loop's thread uses it.
    """

    def __init__(
        self,
        *,
        reads_per_s: float = READS_WHILE_POSTING,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.in_progress = 0
        self.reads_per_s = reads_per_s
        self._clock = clock
        self._sleep = sleep
        self._next_read = -float("inf")

    async def read_turn(self) -> None:
        """Wait for this read's turn when posts are in progress."""
        if self.in_progress == 0:
            return
        now = self._clock()
        turn = max(now, self._next_read)
        self._next_read = turn + 1 / self.reads_per_s
        if turn > now:
            await self._sleep(turn - now)


POSTING: Final = _Posting()


def _limits(request: Request) -> tuple[PostLimits, BlockList]:
    state = request.app.state
    return state.post_limits, state.block_list


def install_post_limits(state: Any, settings: Settings) -> None:
    """Put the posting limits and the block list of `settings` on the app's state."""
    state.post_limits = PostLimits(
        per_client=settings.post_limit,
        per_device=settings.post_limit_per_device,
        window_s=settings.post_limit_window_s,
    )
    state.block_list = BlockList(settings.blocked_clients, settings.blocked_devices)


def limits_note(settings: Settings) -> str:
    """Describe the posting limits in words, for the discovery document."""
    minutes = settings.post_limit_window_s / 60
    parts = []
    if settings.post_limit:
        parts.append(f"{settings.post_limit} reports per client address")
    if settings.post_limit_per_device:
        parts.append(f"{settings.post_limit_per_device} per device_id")
    if not parts:
        return "Posting is not rate-limited."
    return (
        f"Posting is limited to {' and '.join(parts)} every {minutes:g} minutes, counted "
        "across all of this service's servers (429 with Retry-After above that)."
    )


def _check_jurisdiction(settings: Settings, jurisdiction_id: str | None) -> None:
    expected = settings.jurisdiction_id
    if jurisdiction_id and jurisdiction_id != expected:
        msg = f"jurisdiction_id {jurisdiction_id!r} not found; this server serves {expected!r}"
        raise HTTPException(status_code=404, detail=msg)


def _split(value: str | None) -> list[str]:
    if value is None:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


Jurisdiction = Annotated[str | None, Query(max_length=200)]


# -------------------------------------------------------------------------------- discovery


@router.get("/discovery.{fmt}", response_model=Discovery, responses=_errors(400))
def discovery(request: Request, fmt: Format, settings: SettingsDep) -> Response:
    """Service discovery document."""
    base = str(request.url_for("services", fmt="json")).rsplit("/", 1)[0]
    changeset = catalogue().changeset
    body = Discovery(
        changeset=changeset,
        contact="Hai Phong ward offices (UBND phường/xã); software issues: gomrac project.",
        key_service="No API key is needed to read or to post reports. " + limits_note(settings),
        endpoints=[
            {  # type: ignore[list-item]  # validated into DiscoveryEndpoint
                "specification": SPEC_URL,
                "url": base,
                "changeset": changeset,
                "type": "production",
                "formats": [_XML, JSON_MEDIA_TYPE],
            }
        ],
    )
    return answer(fmt, body.model_dump(mode="json"), root="discovery")


# -------------------------------------------------------------------------------- services


@router.get(
    "/services.{fmt}", name="services", response_model=list[ServiceOut], responses=_errors(400, 404)
)
def services(fmt: Format, settings: SettingsDep, jurisdiction_id: Jurisdiction = None) -> Response:
    """Answer the service list."""
    _check_jurisdiction(settings, jurisdiction_id)
    body = [ServiceOut(**s.to_json()).model_dump() for s in catalogue().services.values()]
    return answer(fmt, body, root="services")


@router.get(
    "/services/{service_code}.{fmt}",
    response_model=ServiceDefinition,
    responses=_errors(400, 404),
)
def service_definition(
    service_code: str, fmt: Format, settings: SettingsDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    """Answer a service definition (its attributes)."""
    _check_jurisdiction(settings, jurisdiction_id)
    known = catalogue().services
    service = known.get(service_code)
    if service is None:
        msg = f"service_code {service_code!r} not found; valid codes are {sorted(known)}"
        raise HTTPException(status_code=404, detail=msg)
    body = ServiceDefinition.model_validate(
        {
            "service_code": service.code,
            "attributes": [a.to_json() for a in sorted(service.attributes, key=lambda a: a.order)],
        }
    )
    return answer(fmt, body.model_dump(), root="service_definition")


# -------------------------------------------------------------------------------- requests


def _post_answer(report: Report) -> list[dict[str, Any]]:
    return [
        PostAnswer(
            service_request_id=str(report.id),
            service_notice=report.service_notice,
            account_id=report.account_id,
        ).model_dump()
    ]


@router.post(
    "/requests.{fmt}",
    response_model=list[PostAnswer],
    responses=_errors(400, 403, 404, 413, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": post_form_schema(with_photo=False)},
                "multipart/form-data": {"schema": post_form_schema(with_photo=True)},
            },
        }
    },
)
async def post_request(
    request: Request,
    fmt: Format,
    settings: SettingsDep,
    client: ClientDep,
    idempotency_key: Annotated[
        str | None,
        Header(description="a retried POST with the same key answers the first report"),
    ] = None,
) -> Response:
    """Create a report from a form-encoded or multipart (with ``media``) body."""
    POSTING.in_progress += 1
    try:
        return await _post(request, fmt, settings, client, idempotency_key)
    finally:
        POSTING.in_progress -= 1


async def _post(
    request: Request, fmt: Format, settings: Settings, client: str, idempotency_key: str | None
) -> Response:
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        msg = (
            "send the request as application/x-www-form-urlencoded, or multipart/form-data "
            "with a photo in 'media'"
        )
        raise ValidationError(msg)
    limits, blocked = _limits(request)
    if blocked.blocks_client(client):
        log.warning("Open311: POST from blocked client %s refused", client)
        raise HTTPException(status_code=403, detail="this client may not post reports")
    async with request.form(max_files=1, max_fields=100) as form:
        new = intake.parse_post(form, settings)
        key = intake.idempotency_key(idempotency_key, form)
        photo = await read_photo(form, settings)
    device = new.values.get("device_id")
    if blocked.blocks_device(device):
        log.warning("Open311: POST from blocked device refused (client %s)", client)
        raise HTTPException(status_code=403, detail="this device may not post reports")
    engine = request.app.state.engine
    if key is not None and photo is not None:  # a retry's photo is not decoded again
        first = await run_in_threadpool(intake.find_by_key, engine, key)
        if first is not None:
            return answer(fmt, _post_answer(first), root="service_requests")
    ward = await run_in_threadpool(_place, new.point.x, new.point.y, settings)
    if isinstance(ward, str):
        raise ValidationError(ward)
    if photo is not None and limits.active:  # checked before the photo is decoded
        wait = await run_in_threadpool(_limit_wait, engine, limits, client, device)
        if wait is not None:
            log.info("Open311: POST from %s over the limit; retry in %d s", client, wait)
            raise too_many_posts(wait)
    clean = await run_in_threadpool(strip_metadata, photo) if photo is not None else None

    def admit(session: Session) -> None:  # counted with the report, in its transaction
        wait = limits.hit(session, client, device)
        if wait is not None:
            log.info("Open311: POST from %s over the limit; retry in %d s", client, wait)
            raise too_many_posts(wait)

    report = await run_in_threadpool(
        intake.store_report,
        engine,
        settings,
        new,
        ward,
        photo,
        clean=clean,
        key=key,
        admit=admit if limits.active else None,
    )
    return answer(fmt, _post_answer(report), root="service_requests")


def _no_wards() -> HTTPException:
    msg = (
        "reports cannot be placed now: the server's ward boundaries are missing "
        "(GOMRAC_DATA_DIR); try again later"
    )
    return HTTPException(status_code=503, detail=msg)


def _place(lon: float, lat: float, settings: Settings) -> WardRef | str:
    """Return the ward of a point (or why there is none); 503 without ward boundaries."""
    try:
        ward_index(settings=settings)
    except DataNotFoundError as exc:  # a server set-up problem: the path goes to the log only
        log.error("Open311: %s", exc)
        raise _no_wards() from None
    return ward_at(lon, lat, settings=settings)


def _limit_wait(engine: Engine, limits: PostLimits, client: str, device: str | None) -> int | None:
    with session_scope(engine) as session:
        return limits.wait(session, client, device)


def _list_conditions(
    settings: Settings,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
) -> list[Any]:
    cap = settings.open311_max_page_size
    conditions: list[Any] = [Report.publication == "published"]
    ids = _split(service_request_id)
    if ids:  # overrides every other filter (spec)
        parsed = [intake.parse_report_id("service_request_id", i) for i in ids]
        if any(p is None for p in parsed):
            msg = "service_request_id must be a comma-separated list of request ids"
            raise ValidationError(msg)
        if len(ids) > cap:
            msg = f"at most {cap} service_request_id values at once"
            raise ValidationError(msg)
        conditions.append(Report.id.in_(parsed))
        return conditions
    known = catalogue().services
    codes = _split(service_code)
    unknown = sorted(set(codes) - set(known))
    if unknown:
        msg = f"unknown service_code {unknown}; valid codes are {sorted(known)}"
        raise ValidationError(msg)
    statuses = _split(status)
    bad = sorted(set(statuses) - set(OPEN311_STATUSES))
    if bad:
        msg = f"status {bad} is not open or closed"
        raise ValidationError(msg)
    end = intake.parse_w3c("end_date", end_date) if end_date else None
    start = intake.parse_w3c("start_date", start_date) if start_date else None
    if end is None:
        end = start + MAX_DATE_SPAN if start is not None else dt.datetime.now(dt.UTC)
    if start is None:
        start = end - MAX_DATE_SPAN
    if start > end:
        msg = "start_date is after end_date"
        raise ValidationError(msg)
    if end - start > MAX_DATE_SPAN:
        msg = "start_date and end_date may not span more than 90 days"
        raise ValidationError(msg)
    conditions += [Report.requested_datetime >= start, Report.requested_datetime <= end]
    if codes:
        conditions.append(Report.service_code.in_(codes))
    if statuses:
        conditions.append(Report.status.in_(statuses))
    return conditions


def _not_modified(request: Request, etag: str, last_modified: dt.datetime | None) -> bool:
    """Whether the client's copy is current (If-None-Match first, as RFC 9110 says)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        client_time = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if client_time.tzinfo is None:
        client_time = client_time.replace(tzinfo=dt.UTC)
    return last_modified.replace(microsecond=0) <= client_time


@dataclass(frozen=True)
class ListPage:
    """A rendered page of the public list, as the cache keeps it."""

    body: bytes
    media_type: str
    etag: str
    last_modified: dt.datetime | None
    total: int


REPORT_WRITES: Final = WriteGeneration()  # this process's committed changes of reports
_CHANGED: Final = "gomrac_reports_changed"


@event.listens_for(Session, "after_flush")
def _note_report_changes(session: Session, _context: Any) -> None:
    changed = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, Report) for obj in changed):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _count_report_changes(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        REPORT_WRITES.bump()


@event.listens_for(Session, "after_rollback")
def _forget_report_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _list_cache(request: Request) -> PageCache[ListPage]:
    state = request.app.state
    cache: PageCache[ListPage] | None = getattr(state, "list_cache", None)
    if cache is None:
        cache = state.list_cache = PageCache(
            REPORT_WRITES, fresh_s=LIST_FRESH_S, renders=LIST_RENDERS
        )
    return cache


def _reader(request: Request) -> Engine:
    """Return the app's engine for reads only (SQLite: beside the writer, not after it)."""
    state = request.app.state
    reader: Engine | None = getattr(state, "read_engine", None)
    if reader is None:
        reader = state.read_engine = state.engine.execution_options(**{READ_ONLY: True})
    return reader


def _reports_version(engine: Engine) -> Hashable:
    """Count and latest ``updated_datetime`` of all reports: every change moves one of them."""
    with session_scope(engine) as session:
        row = session.execute(
            select(func.count(), func.max(Report.updated_datetime)).select_from(Report)
        ).one()
    return (int(row[0]), row[1])


def _render_list(
    request: Request, settings: Settings, fmt: Format, query: _ListQuery, size: int
) -> ListPage:
    conditions = _list_conditions(settings, *query[:5])
    page = query[5]
    with session_scope(_reader(request)) as session:
        total = session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0
        stmt = (
            select(Report)
            .where(*conditions)
            .order_by(Report.requested_datetime.desc(), Report.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
        reports = list(session.scalars(stmt))
    # written after the session closed: on SQLite the query's lock is not held meanwhile
    body = [service_request(r, request, settings).model_dump() for r in reports]
    response = answer(fmt, body, root="service_requests")
    content = bytes(response.body)
    etag = '"' + hashlib.sha256(content + str(total).encode()).hexdigest()[:32] + '"'
    return ListPage(
        body=content,
        media_type=str(response.media_type),
        etag=etag,
        last_modified=max((r.updated_datetime for r in reports), default=None),
        total=total,
    )


_ListQuery = tuple[str | None, str | None, str | None, str | None, str | None, int]


@router.get(
    "/requests.{fmt}", response_model=list[ServiceRequest], responses=_errors(304, 400, 404)
)
async def get_requests(
    request: Request,
    fmt: Format,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(max_length=20_000)] = None,
    service_code: Annotated[str | None, Query(max_length=2000)] = None,
    start_date: Annotated[str | None, Query(max_length=64)] = None,
    end_date: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """
    Search published reports with the spec's filters; newest first, paged.

    Answers come from the process's cache of rendered pages (`gomrac.api.web.pagecache`)
    while no report changed; ``If-None-Match`` / ``If-Modified-Since`` get 304.
    """
    _check_jurisdiction(settings, jurisdiction_id)
    cap = settings.open311_max_page_size
    size = min(settings.open311_page_size, cap) if page_size is None else page_size
    if not 1 <= size <= cap:
        msg = f"page_size must be between 1 and {cap}"
        raise ValidationError(msg)
    query: _ListQuery = (service_request_id, service_code, start_date, end_date, status, page)
    _list_conditions(settings, *query[:5])  # a bad query is refused before the cache
    await POSTING.read_turn()
    engine = _reader(request)
    listed = await _list_cache(request).get(
        (fmt.value, str(request.base_url), size, *query),
        lambda: _reports_version(engine),
        lambda: _render_list(request, settings, fmt, query, size),
    )
    headers = {
        "X-Total-Count": str(listed.total),
        "ETag": listed.etag,
        "Cache-Control": f"public, max-age={LIST_CACHE_S}",
        "Vary": "Accept-Encoding",
    }
    if listed.last_modified is not None:
        headers["Last-Modified"] = email.utils.format_datetime(
            listed.last_modified.astimezone(dt.UTC), usegmt=True
        )
    if _not_modified(request, listed.etag, listed.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(listed.body, media_type=listed.media_type, headers=headers)


def _not_found(service_request_id: str) -> HTTPException:
    return HTTPException(
        status_code=404, detail=f"service_request_id {service_request_id!r} not found"
    )


@router.get(
    "/requests/{service_request_id}.{fmt}",
    response_model=list[ServiceRequest],
    responses=_errors(400, 404),
)
def get_request(
    request: Request,
    service_request_id: str,
    fmt: Format,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """One published report, as a list of one."""
    _check_jurisdiction(settings, jurisdiction_id)
    report_id = intake.parse_report_id("service_request_id", service_request_id)
    if report_id is None:
        raise _not_found(service_request_id)
    with session_scope(request.app.state.engine) as session:
        report = session.get(Report, report_id)
        if report is None or report.publication == "hidden":
            raise _not_found(service_request_id)
        if report.publication == "pending":
            msg = (
                f"service_request_id {service_request_id!r} is not published yet: the ward "
                "office reviews new reports before they are shown"
            )
            raise HTTPException(status_code=404, detail=msg)
        body = [service_request(report, request, settings).model_dump()]
    return answer(fmt, body, root="service_requests")


@router.get("/tokens/{token}.{fmt}", response_model=list[TokenAnswer], responses=_errors(400, 404))
def get_token(
    request: Request,
    token: str,
    fmt: Format,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Answer the request id of a POST's token (its idempotency key), as a list of one."""
    _check_jurisdiction(settings, jurisdiction_id)
    not_found = HTTPException(status_code=404, detail=f"token {token!r} not found")
    if len(token) > 200 or not token.isascii() or not token.isprintable():
        raise not_found
    report = intake.find_by_key(request.app.state.engine, token)
    if report is None or report.publication == "hidden":
        raise not_found
    body = [TokenAnswer(token=token, service_request_id=str(report.id)).model_dump()]
    return answer(fmt, body, root="service_requests")


# -------------------------------------------------------------------------------- media


@router.get(
    "/media/{photo_path:path}",
    name="open311_media",
    response_class=FileResponse,
    responses={
        200: {"content": {mime: {} for mime in PHOTO_EXT}},
        404: {"model": Open311Errors, "description": "no published photo of that name"},
    },
)
def media(request: Request, photo_path: str, settings: SettingsDep) -> FileResponse:
    """
    Serve a published report's photo (metadata removed), read-only, with its image type.

    Only files that `gomrac.api.web.photos.save_photo` wrote (``YYYY/MM/<32 hex>.<ext>``
    under ``GOMRAC_MEDIA_DIR``, no link leading out of it) that a published report points to
    are served; anything else is 404.
    """
    if not settings.publish_photos:
        msg = "photos are not published on this server (GOMRAC_PUBLISH_PHOTOS is off)"
        raise HTTPException(status_code=404, detail=msg)
    not_found = HTTPException(status_code=404, detail=f"photo {photo_path!r} not found")
    match = PUBLISHED_PHOTO.fullmatch(photo_path)
    if match is None:
        raise not_found
    root = settings.media_path.resolve()
    target = (root / photo_path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise not_found
    with session_scope(request.app.state.engine) as session:
        owner = session.scalar(
            select(Report.id)
            .where(Report.photo_path == photo_path, Report.publication == "published")
            .limit(1)
        )
    if owner is None:
        raise not_found
    return FileResponse(
        target,
        media_type=PHOTO_TYPE_BY_EXT[match.group(1)],
        headers={
            "Cache-Control": f"public, max-age={_PHOTO_CACHE_S}",
            "X-Content-Type-Options": "nosniff",
        },
    )


__all__ = ["FORMATS", "router"]
