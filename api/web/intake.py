"""The Open311 POST: parse and check a report form, then store it once.

Checks, in order, each answering one line in the spec's error list with nothing stored:
the jurisdiction (404), the service code (404), the location (400: lat and long in WGS84,
inside a ward of Hai Phong by `gomrac.geo.lookup.ward_at`), text fields (length, and no
control characters other than tab and line breaks: PostgreSQL cannot store NUL), the media
URL, the service's attributes, and the photo.

A client key (``Idempotency-Key`` header or ``idempotency_key`` field) makes the POST
idempotent: the key is stored with the report under a unique index, and a POST with a key
already stored answers the report stored first, also when the first answer was lost after
the commit (a crash, a dropped connection).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import math
import re
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shapely.geometry import Point
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from gomrac.analysis.errors import ValidationError
from gomrac.api.web.catalogue import Service, catalogue
from gomrac.api.web.photos import Photo, SavedPhoto, remove_photo, save_photo
from gomrac.api.web.reports import HAIPHONG_TZ
from gomrac.api.web.schemas import MEDIA_URL_PATTERN
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.lookup import WardRef

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session
    from starlette.datastructures import FormData

    from gomrac.geo.models import Report
    from gomrac.geo.settings import Settings

MAX_DESCRIPTION_CHARS: Final = 4000  # GeoReport v2 limit
MAX_REPORT_ID: Final = 2_147_483_647  # the id column is a 32-bit integer on PostGIS
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,200}")
_ATTRIBUTE_KEY: Final = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
_DATE_ONLY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OLDEST: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NEWEST: Final = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def check_text(name: str, value: str) -> str:
    """Refuse a text with control characters other than tab, CR and LF."""
    bad = _CONTROL.search(value)
    if bad is not None:
        msg = (
            f"{name} contains the control character U+{ord(bad.group()):04X}; "
            "send plain text (tabs and line breaks are fine)"
        )
        raise ValidationError(msg)
    return value


def parse_report_id(name: str, raw: str) -> int | None:
    """Return a report id of ASCII digits within the id column's range, else None."""
    if not re.fullmatch(r"[0-9]{1,10}", raw):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_REPORT_ID else None


def parse_w3c(name: str, value: str) -> dt.datetime:
    """Parse a W3C date or date-time between 1970 and 2200; without an offset, Hai Phong time."""
    text = check_text(name, value).strip()
    try:
        if _DATE_ONLY.fullmatch(text):
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=HAIPHONG_TZ)
        parsed = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        msg = f"{name} {value!r} is not a W3C date-time such as 2026-01-31T00:00:00+07:00"
        raise ValidationError(msg) from None
    if not _OLDEST <= parsed < _NEWEST:
        msg = f"{name} {value!r} is out of range; give a date between 1970 and 2199"
        raise ValidationError(msg)
    return parsed


def _coordinate(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        msg = f"{name} {raw!r} is not a number; send decimal degrees (WGS84), e.g. {name}=20.84"
        raise ValidationError(msg) from None
    if not math.isfinite(value):
        msg = f"{name} must be a finite number of degrees, got {raw!r}"
        raise ValidationError(msg)
    if not low <= value <= high:
        msg = f"{name} {value} is out of range [{low:g}, {high:g}]"
        raise ValidationError(msg)
    return value


def form_field(form: FormData, name: str, *, max_chars: int | None = None) -> str | None:
    """Return a stripped text field of the form (None when absent or blank), checked."""
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{name} must be a text field, not a file"
        raise ValidationError(msg)
    value = check_text(name, value).strip()
    if not value:
        return None
    if max_chars is not None and len(value) > max_chars:
        msg = f"{name} is {len(value)} characters long; at most {max_chars} are allowed"
        raise ValidationError(msg)
    return value


def _parse_attributes(form: FormData, service: Service) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        match = _ATTRIBUTE_KEY.match(key)
        if match is None:
            continue
        if not isinstance(value, str):
            msg = f"{key} must be a text field"
            raise ValidationError(msg)
        given.setdefault(match.group(1), []).append(check_text(key, value).strip())
    known = {a.code: a for a in service.attributes}
    unknown = sorted(set(given) - set(known))
    if unknown:
        msg = (
            f"service {service.code!r} has no attribute(s) {unknown}; "
            f"see services/{service.code}.json"
        )
        raise ValidationError(msg)
    out: dict[str, Any] = {}
    for attr in service.attributes:
        values = [v for v in given.get(attr.code, []) if v]
        if not values:
            if attr.required:
                keys = ", ".join(k for k, _ in attr.values)
                msg = f"attribute[{attr.code}] is required for {service.code} ({keys})"
                raise ValidationError(msg)
            continue
        if attr.datatype in ("singlevaluelist", "multivaluelist"):
            allowed = [k for k, _ in attr.values]
            bad = [v for v in values if v not in allowed]
            if bad:
                msg = f"attribute[{attr.code}] {bad[0]!r} is not one of {allowed}"
                raise ValidationError(msg)
        if attr.datatype == "multivaluelist":
            out[attr.code] = values
        else:
            if len(values) > 1:
                msg = f"attribute[{attr.code}] takes one value, got {len(values)}"
                raise ValidationError(msg)
            out[attr.code] = values[0]
    return out


def idempotency_key(header: str | None, form: FormData) -> str | None:
    """Return the client's key (``Idempotency-Key`` header or ``idempotency_key`` field)."""
    key = header.strip() if header else form_field(form, "idempotency_key")
    if key is None or key == "":
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        msg = (
            "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces "
            "(a UUID is a good key)"
        )
        raise ValidationError(msg)
    return key


@dataclass(frozen=True)
class NewReport:
    """A checked report form, ready to store."""

    service: Service
    point: Point
    values: dict[str, Any]


def parse_location(form: FormData) -> tuple[float, float]:
    """Read ``lat`` and ``long`` (400 when missing, malformed or out of range)."""
    raw_lat, raw_long = form_field(form, "lat"), form_field(form, "long")
    if raw_lat is None and raw_long is None:
        if form_field(form, "address_string") or form_field(form, "address_id"):
            msg = (
                "an address without coordinates cannot be placed (no geocoder here); "
                "send lat and long in WGS84 decimal degrees"
            )
        else:
            msg = "a location is required: send lat and long in WGS84 decimal degrees"
        raise ValidationError(msg)
    if raw_lat is None or raw_long is None:
        msg = "lat and long must be sent together"
        raise ValidationError(msg)
    return _coordinate("lat", raw_lat, -90, 90), _coordinate("long", raw_long, -180, 180)


def parse_post(form: FormData, settings: Settings) -> NewReport:
    """
    Check a POST form (everything but the location's ward and the photo).

    Raises
    ------
    HTTPException
        404 for another jurisdiction or an unknown service code (the spec's statuses).
    ValidationError
        400 for every other bad field.
    """
    jurisdiction = form_field(form, "jurisdiction_id")
    if jurisdiction and jurisdiction != settings.jurisdiction_id:
        msg = (
            f"jurisdiction_id {jurisdiction!r} not found; "
            f"this server serves {settings.jurisdiction_id!r}"
        )
        raise HTTPException(status_code=404, detail=msg)
    code = form_field(form, "service_code", max_chars=64)
    services = catalogue().services
    if code is None:
        msg = "service_code is required; see services.json for the list"
        raise ValidationError(msg)
    service = services.get(code)
    if service is None:  # 404, as the spec's POST Service Request lists it
        msg = f"service_code {code!r} not found; valid codes are {sorted(services)} (services.json)"
        raise HTTPException(status_code=404, detail=msg)
    lat, lon = parse_location(form)
    media_url = form_field(form, "media_url", max_chars=2000)
    if media_url is not None and not re.fullmatch(MEDIA_URL_PATTERN, media_url):
        msg = "media_url must be an http(s) URL without spaces"
        raise ValidationError(msg)
    values = {
        "description": form_field(form, "description", max_chars=MAX_DESCRIPTION_CHARS),
        "address": form_field(form, "address_string", max_chars=1000),
        "address_id": form_field(form, "address_id", max_chars=100),
        "zipcode": form_field(form, "zipcode", max_chars=16),
        "media_url": media_url,
        "email": form_field(form, "email", max_chars=320),
        "device_id": form_field(form, "device_id", max_chars=200),
        "account_id": form_field(form, "account_id", max_chars=200),
        "first_name": form_field(form, "first_name", max_chars=200),
        "last_name": form_field(form, "last_name", max_chars=200),
        "phone": form_field(form, "phone", max_chars=64),
        "attributes": _parse_attributes(form, service),
    }
    return NewReport(service=service, point=Point(lon, lat), values=values)


WRITERS_PER_PROCESS: Final = {"sqlite": 1, "postgresql": 4}


class _FifoSlots:
    """
    At most `size` holders at once, served strictly in arrival order (a slot is handed over).

    On SQLite the holder also takes an exclusive lock on a file beside the database while it
    holds its slot, so that the workers of a server take turns at the write lock in the order
    the kernel wakes them instead of polling for it (SQLite's busy wait sleeps up to 100 ms
    between tries, and a worker that just committed would win the lock again and again).
    """

    def __init__(self, size: int, lock_path: Path | None) -> None:
        self._guard = threading.Lock()
        self._free = size
        self._waiting: deque[threading.Event] = deque()
        self._lock_path = lock_path

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._guard:
            turn: threading.Event | None = None
            if self._free > 0 and not self._waiting:
                self._free -= 1
            else:
                turn = threading.Event()
                self._waiting.append(turn)
        if turn is not None:
            turn.wait()  # the slot is ours when the previous holder sets it
        try:
            if self._lock_path is None:
                yield
            else:
                with self._lock_path.open("a") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
                    yield
        finally:
            with self._guard:
                if self._waiting:
                    self._waiting.popleft().set()
                else:
                    self._free += 1


class _WriterSlots:
    """Per engine, the slots bounding the report transactions that run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: weakref.WeakKeyDictionary[Engine, _FifoSlots] = weakref.WeakKeyDictionary()

    def slot(self, engine: Engine) -> AbstractContextManager[None]:
        with self._lock:
            slots = self._slots.get(engine)
            if slots is None:
                name = engine.dialect.name
                database = engine.url.database
                lock_path = (
                    Path(f"{database}.writer.lock") if name == "sqlite" and database else None
                )
                size = WRITERS_PER_PROCESS.get(name, 4)
                slots = self._slots[engine] = _FifoSlots(size, lock_path)
            return slots.hold()


_WRITERS: Final = _WriterSlots()


def find_by_key(engine: Engine, key: str) -> Report | None:
    """Return the report stored by the POST with this key, or None."""
    with session_scope(engine) as session:
        return store.find_report_by_key(session, key)


def store_report(
    engine: Engine,
    settings: Settings,
    new: NewReport,
    ward: WardRef,
    photo: Photo | None,
    *,
    clean: bytes | None,
    key: str | None,
    admit: Callable[[Session], None] | None = None,
) -> Report:
    """
    Store a checked report (and its photo, `clean` of metadata) in one transaction.

    A report already stored with `key` is answered instead (a retried POST). Then `admit` runs
    in the transaction (the posting limits count the post there) and may raise to refuse the
    report: nothing is then stored and the photo files are removed. With a `key` stored by this
    call's twin racing it, the report stored first is answered and this call's photo files are
    removed. At most `WRITERS_PER_PROCESS` of these transactions run at once in a process (one
    on SQLite, which has one writer at a time): the other posts wait in line, in arrival
    order, instead of all holding threads that compete for the interpreter and the database's
    lock.
    """
    saved: SavedPhoto | None = None
    if photo is not None and clean is not None:
        saved = save_photo(
            photo,
            clean=clean,
            media_dir=settings.media_path,
            keep_original=settings.keep_original_photos,
        )
    now = dt.datetime.now(dt.UTC)
    service = new.service
    publication = "published" if settings.publish_reports == "immediately" else "pending"
    try:
        with _WRITERS.slot(engine), session_scope(engine) as session:
            first = store.find_report_by_key(session, key) if key is not None else None
            if first is not None:  # a retry: the report its first POST stored
                if saved is not None:
                    remove_photo(saved, media_dir=settings.media_path)
                return first
            if admit is not None:
                admit(session)
            report = store.create_report(
                session,
                service_code=service.code,
                point=new.point,
                requested_datetime=now,
                photo_path=saved.published if saved else None,
                original_photo_path=saved.original if saved else None,
                ward_code=ward.code,
                agency_responsible=f"UBND {ward.name}",
                service_notice=service.service_notice,
                expected_datetime=(
                    now + dt.timedelta(hours=service.expected_h) if service.expected_h else None
                ),
                duplicate_distance_m=settings.duplicate_distance_m,
                duplicate_window_h=settings.duplicate_window_h,
                publication=publication,
                idempotency_key=key,
                **new.values,
            )
    except IntegrityError:
        if saved is not None:
            remove_photo(saved, media_dir=settings.media_path)
        first = find_by_key(engine, key) if key is not None else None
        if first is None:
            raise
        return first
    except BaseException:
        if saved is not None:
            remove_photo(saved, media_dir=settings.media_path)
        raise
    return report
