"""Waste-stream definitions: the documented defaults (``streams.toml``) and a ward's own file.

A stream definition says how much of the household waste a stream is (share by mass), how dense
it is loose in a bin, which bins it may use (240 L / 660 L), how often it may be collected (visits
per week), where it goes (the kind of facility: composting/treatment, recycling/sorting, or the
landfill), and how many bins of it a gathering point has room for. The file also sets the
sorting rate (unsorted food and recyclable waste counts as residual) and the bins' fill factor.

`load_streams` validates a file and refuses a bad one with a one-line `ValidationError` naming
the field; `facilities_for_streams` maps each stream to the nearest facility of its kind,
falling back with a stated note.
"""

from __future__ import annotations

import logging
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.geo.crs import METRIC_CRS, WGS84
from gomrac.geo.wards import normalize_name

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

DEFAULT_STREAMS_FILE = Path(__file__).with_name("streams.toml")
FACILITY_KINDS = frozenset({"composting", "treatment", "recycling", "sorting", "landfill"})
BIN_TYPES_L = frozenset({240, 660})
STREAM_CODES = ("food", "recyclable", "residual")


@dataclass(frozen=True)
class StreamDefinition:
    """One waste stream as a ward collects it (see ``streams.toml`` for the sources).

    Attributes
    ----------
    code
        ``food``, ``recyclable`` or ``residual``.
    name_vi, name_en
        Names for published outputs (Vietnamese) and staff notes (English).
    share
        Share of household waste by mass, 0–1 (before the sorting rate is applied).
    bulk_density_kg_m3
        Density loose in a bin, kg/m³.
    bin_types_l
        Bin sizes the stream may use, litres (240 and/or 660).
    frequencies_per_week
        Allowed collections per week, ascending, each 1–7.
    max_bins
        Bins of the largest size a gathering point has room for, for this stream.
    facility_kind
        Kind of facility the stream goes to (one of `FACILITY_KINDS`).
    fallback_kinds
        Kinds tried in order when no facility of `facility_kind` has a position.
    facility_name
        A preferred facility (name or id), e.g. Tràng Cát for residual waste; empty for none.
    """

    code: str
    name_vi: str
    name_en: str
    share: float
    bulk_density_kg_m3: float
    bin_types_l: tuple[int, ...]
    frequencies_per_week: tuple[int, ...]
    max_bins: int
    facility_kind: str
    fallback_kinds: tuple[str, ...] = ()
    facility_name: str = ""


@dataclass(frozen=True)
class StreamSet:
    """The streams of a ward, the sorting rate and the bins' fill factor.

    Attributes
    ----------
    streams
        Definitions in file order.
    sorting_rate
        Share of the food and recyclable mass households sort out, 0–1; the rest is residual.
    fill_factor
        Share of a bin's volume that may be filled, 0–1.
    source
        The file the definitions come from.
    """

    streams: tuple[StreamDefinition, ...]
    sorting_rate: float
    fill_factor: float
    source: str

    @property
    def codes(self) -> tuple[str, ...]:
        """Stream codes, in file order."""
        return tuple(s.code for s in self.streams)

    def __getitem__(self, code: str) -> StreamDefinition:
        for s in self.streams:
            if s.code == code:
                return s
        msg = f"no stream {code!r}; streams are {', '.join(self.codes)}"
        raise ValidationError(msg)

    def effective_shares(self) -> dict[str, float]:
        """Share of household waste collected as each stream, after sorting (sums to 1).

        ``food`` and ``recyclable`` keep ``sorting_rate`` of their share; what is not sorted
        goes to ``residual``.
        """
        out: dict[str, float] = {}
        unsorted = 0.0
        for s in self.streams:
            if s.code == "residual":
                out[s.code] = out.get(s.code, 0.0) + s.share
            else:
                out[s.code] = s.share * self.sorting_rate
                unsorted += s.share * (1.0 - self.sorting_rate)
        out["residual"] = out.get("residual", 0.0) + unsorted
        return out

    def with_sorting_rate(self, rate: float) -> StreamSet:
        """Return a copy with another sorting rate (validated)."""
        _check_unit(rate, "sorting_rate", self.source)
        return StreamSet(self.streams, float(rate), self.fill_factor, self.source)


def _check_unit(value: object, name: str, src: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{src}: field `{name}` must be a number, got {value!r}"
        raise ValidationError(msg)
    if not 0.0 <= float(value) <= 1.0:
        msg = f"{src}: field `{name}` must be between 0 and 1, got {value}"
        raise ValidationError(msg)
    return float(value)


def _positive(value: object, name: str, src: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"{src}: field `{name}` must be a positive number, got {value!r}"
        raise ValidationError(msg)
    return float(value)


def _text(row: dict[str, Any], key: str, where: str, src: str, *, required: bool = True) -> str:
    value = row.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        msg = f"{src}: field `{where}.{key}` must be a non-empty text"
        raise ValidationError(msg)
    return value.strip()


def _stream(row: dict[str, Any], k: int, src: str) -> StreamDefinition:
    where = f"stream[{k}]"
    code = _text(row, "code", where, src)
    if code not in STREAM_CODES:
        msg = f"{src}: field `{where}.code` must be one of {', '.join(STREAM_CODES)}, got {code!r}"
        raise ValidationError(msg)
    share = _check_unit(row.get("share"), f"{where}.share", src)
    density = _positive(row.get("bulk_density_kg_m3"), f"{where}.bulk_density_kg_m3", src)
    bins = row.get("bin_types_l")
    if not isinstance(bins, list) or not bins or any(b not in BIN_TYPES_L for b in bins):
        msg = f"{src}: field `{where}.bin_types_l` must list sizes among 240 and 660, got {bins!r}"
        raise ValidationError(msg)
    freqs = row.get("frequencies_per_week")
    if (
        not isinstance(freqs, list)
        or not freqs
        or any(isinstance(f, bool) or not isinstance(f, int) or not 1 <= f <= 7 for f in freqs)
    ):
        msg = (
            f"{src}: field `{where}.frequencies_per_week` must list whole numbers of "
            f"collections per week between 1 and 7, got {freqs!r}"
        )
        raise ValidationError(msg)
    max_bins = row.get("max_bins", 8)
    if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 1:
        msg = f"{src}: field `{where}.max_bins` must be a whole number >= 1, got {max_bins!r}"
        raise ValidationError(msg)
    kind = _text(row, "facility_kind", where, src)
    fallback = row.get("fallback_kinds", [])
    if not isinstance(fallback, list):
        msg = f"{src}: field `{where}.fallback_kinds` must be a list"
        raise ValidationError(msg)
    for name, value in (
        (f"{where}.facility_kind", kind),
        *((f"{where}.fallback_kinds", v) for v in fallback),
    ):
        if value not in FACILITY_KINDS:
            msg = (
                f"{src}: field `{name}`: unknown facility kind {value!r}; known kinds: "
                f"{', '.join(sorted(FACILITY_KINDS))}"
            )
            raise ValidationError(msg)
    return StreamDefinition(
        code=code,
        name_vi=_text(row, "name_vi", where, src),
        name_en=_text(row, "name_en", where, src),
        share=share,
        bulk_density_kg_m3=density,
        bin_types_l=tuple(sorted({int(b) for b in bins})),
        frequencies_per_week=tuple(sorted({int(f) for f in freqs})),
        max_bins=int(max_bins),
        facility_kind=kind,
        fallback_kinds=tuple(str(v) for v in fallback),
        facility_name=_text(row, "facility_name", where, src, required=False),
    )


def load_streams(path: str | Path | None = None) -> StreamSet:
    """Read and validate a streams file (TOML); the packaged defaults when `path` is None.

    Parameters
    ----------
    path
        A ward's streams file with the keys of ``streams.toml``.

    Returns
    -------
    StreamSet

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ValidationError
        On a malformed file, naming the field: shares not summing to 1, an unknown facility
        kind, a frequency outside 1–7 (0 included), a negative or zero density or bin count,
        a missing or repeated stream.
    """
    src_path = Path(path) if path is not None else DEFAULT_STREAMS_FILE
    src = src_path.name
    if not src_path.exists():
        msg = f"streams file {src_path} not found"
        raise DataNotFoundError(msg)
    try:
        doc = tomllib.loads(src_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{src}: not a valid TOML file: {exc}"
        raise ValidationError(msg) from exc
    rows = doc.get("stream")
    if not isinstance(rows, list) or not rows:
        msg = f"{src}: field `stream` must list the streams as [[stream]] tables"
        raise ValidationError(msg)
    streams = tuple(_stream(row, k, src) for k, row in enumerate(rows))
    codes = [s.code for s in streams]
    if sorted(codes) != sorted(STREAM_CODES):
        msg = f"{src}: field `stream.code` must name each of {', '.join(STREAM_CODES)} once"
        raise ValidationError(msg)
    total = sum(s.share for s in streams)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        msg = f"{src}: field `stream.share`: shares must sum to 1, they sum to {total:g}"
        raise ValidationError(msg)
    sorting = _check_unit(doc.get("sorting_rate", 1.0), "sorting_rate", src)
    fill = _check_unit(doc.get("fill_factor", 0.85), "fill_factor", src)
    if fill == 0:
        msg = f"{src}: field `fill_factor` must be above 0"
        raise ValidationError(msg)
    log.info("load_streams: %d streams from %s (sorting rate %.2f)", len(streams), src, sorting)
    return StreamSet(streams, sorting, fill, str(src_path))


def _matches(kind_text: object, kind: str) -> bool:
    return kind in str(kind_text).lower()


def facilities_for_streams(
    streams: StreamSet, facilities: gpd.GeoDataFrame, area_wgs84: BaseGeometry
) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """Map each stream to the nearest facility of its kind, with a note on how it was chosen.

    A stream's ``facility_name`` wins when that facility is in the file; otherwise the nearest
    facility (to the area) whose ``kind`` contains the stream's ``facility_kind``, then each of
    its ``fallback_kinds`` in turn. With no facility at all the stream maps to an empty frame and
    the note says so (the caller then uses a labelled stand-in).

    Parameters
    ----------
    streams
        The ward's streams.
    facilities
        Facilities with ``fid, name, kind`` and a position (EPSG:4326), as from
        `gomrac.geo.facilities.load_facilities`.
    area_wgs84
        The study area (EPSG:4326), to measure "nearest".

    Returns
    -------
    dict[str, tuple[geopandas.GeoDataFrame, str]]
        Per stream code: the one-row facility (or an empty frame) and the note.
    """
    out: dict[str, tuple[gpd.GeoDataFrame, str]] = {}
    if facilities.empty:
        for s in streams.streams:
            out[s.code] = (facilities, f"{s.code}: no facility with a position is known")
        return out
    metric = facilities.to_crs(METRIC_CRS)
    target = gpd.GeoSeries([area_wgs84], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    dist_km = metric.distance(target) / 1000.0
    for s in streams.streams:
        if s.facility_name:
            key = normalize_name(s.facility_name).replace(" ", "")
            named = [
                i
                for i, row in facilities.iterrows()
                if key in normalize_name(f"{row['fid']} {row['name']}").replace(" ", "")
            ]
            if named:
                row = facilities.loc[[named[0]]]
                out[s.code] = (row, f"{s.code}: {row['name'].iloc[0]} (named in the streams file)")
                continue
        chosen = None
        for rank, kind in enumerate((s.facility_kind, *s.fallback_kinds)):
            hits = facilities.index[[_matches(k, kind) for k in facilities["kind"]]]
            if len(hits):
                best = dist_km.loc[hits].idxmin()
                row = facilities.loc[[best]]
                note = f"{s.code}: nearest {kind} facility {row['name'].iloc[0]}"
                if rank:
                    note += f" (fallback: no {s.facility_kind} facility has a position)"
                chosen = (row, note)
                break
        if chosen is None:
            chosen = (
                facilities.iloc[0:0],
                f"{s.code}: no facility of kind {s.facility_kind} or its fallbacks is known",
            )
        out[s.code] = chosen
    return out
