r"""Find, clip and read OpenStreetMap data for a study area: local files first, Overpass second.

Sources, in order:

1. a file given by the user (``--osm FILE``: ``.osm``, ``.osm.pbf``/``.pbf`` or ``.graphml``);
2. a file under ``<data_dir>/osm`` or ``<cache_dir>/osm`` whose extent covers the area (the
   smallest such file wins), e.g. a Geofabrik extract clipped with osmium::

       osmium extract -p haiphong_2025_outline_approx.geojson \
           vietnam-latest.osm.pbf -o haiphong.osm.pbf

3. osmnx over the Overpass API, when the machine is online and ``GOMRAC_OFFLINE`` is not set
   (``GOMRAC_OVERPASS_URL`` picks the server; osmnx keeps its raw answers under
   ``<cache_dir>/osm/_overpass``).

A PBF is clipped to the area's bounding box with the ``osmium`` command (osmium-tool) when it is
installed, and the highway ways (with the nodes they reference) are copied to an OSM XML file in
the cache with pyosmium, which ``osmnx.graph_from_xml`` reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import osmium
import shapely
from shapely.geometry import box

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.geo.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"
OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".graphml", ".osm.xml")
SourceKind = Literal["osm_xml", "pbf", "graphml", "overpass"]

#: Minimum share of the study area that a local extract must cover to be used.
MIN_COVER_SHARE = 0.98


@dataclass(frozen=True)
class OsmSource:
    """Where a study area's OSM data comes from.

    Attributes
    ----------
    kind
        ``osm_xml``, ``pbf``, ``graphml`` or ``overpass``.
    path
        The local file (None for Overpass).
    bounds
        (west, south, east, north) of the file in degrees, when known.
    """

    kind: SourceKind
    path: Path | None
    bounds: tuple[float, float, float, float] | None = None

    @property
    def label(self) -> str:
        """Short description for summaries: ``file:<name>`` or ``overpass``."""
        return "overpass" if self.path is None else f"file:{self.path.name}"

    def cache_key(self) -> str:
        """Return a key that changes with the source file (name, size, modification time)."""
        if self.path is None:
            return "overpass"
        stat = self.path.stat()
        raw = f"{self.path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
        return hashlib.sha1(raw.encode()).hexdigest()[:12]


def kind_of(path: Path) -> SourceKind:
    """Return the source kind of a file from its name; raise `ValidationError` for other files."""
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".pbf")):
        return "pbf"
    if name.endswith(".graphml"):
        return "graphml"
    if name.endswith((".osm", ".osm.xml", ".xml")):
        return "osm_xml"
    msg = f"{path}: not an OSM file (expected one of {', '.join(OSM_SUFFIXES)})"
    raise ValidationError(msg)


def file_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """Extent of an OSM file in degrees: its header box, else the extent of its nodes."""
    kind = kind_of(path)
    if kind == "graphml":
        return _graphml_bounds(path)
    if kind == "osm_xml":
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
        m = re.search(r"<bounds\s+([^>]*)/?>", head)
        if m:
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            keys = ("minlon", "minlat", "maxlon", "maxlat")
            if all(k in attrs for k in keys):
                west, south, east, north = (float(attrs[k]) for k in keys)
                return west, south, east, north
    else:
        header_box = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
        if header_box.valid():
            bl, tr = header_box.bottom_left, header_box.top_right
            return bl.lon, bl.lat, tr.lon, tr.lat
    return _node_bounds(path)


def _node_bounds(path: Path) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        # only nodes are read; the check narrows pyosmium's entity union
        if isinstance(node, osmium.osm.Node) and node.location.valid():
            xs.append(node.location.lon)
            ys.append(node.location.lat)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _graphml_bounds(path: Path) -> tuple[float, float, float, float] | None:
    # GraphML stores x/y as node data; read them with a light regex over the node blocks.
    text = path.read_text(encoding="utf-8", errors="replace")
    keys = dict(re.findall(r'<key id="(d\d+)" for="node" attr\.name="([xy])"', text))
    inv = {v: k for k, v in keys.items()}
    if "x" not in inv or "y" not in inv:
        return None
    xs = [float(v) for v in re.findall(rf'<data key="{inv["x"]}">([^<]+)</data>', text)]
    ys = [float(v) for v in re.findall(rf'<data key="{inv["y"]}">([^<]+)</data>', text)]
    return (min(xs), min(ys), max(xs), max(ys)) if xs and ys else None


def _search_dirs(s: Settings) -> list[Path]:
    return [s.data_dir / "osm", s.osm_cache_dir]


def local_extracts(*, settings: Settings) -> list[OsmSource]:
    """Every OSM file under the data and cache folders (not derived clips), with its extent."""
    found: list[OsmSource] = []
    for folder in _search_dirs(settings):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or not path.name.lower().endswith(OSM_SUFFIXES):
                continue
            if path.name.startswith("_"):  # derived clips and graphs written by gomrac
                continue
            try:
                found.append(OsmSource(kind_of(path), path, file_bounds(path)))
            except (ValidationError, RuntimeError, OSError) as exc:
                log.warning("skipping unreadable OSM file %s: %s", path, exc)
    return found


def find_source(
    area_wgs84: BaseGeometry,
    *,
    settings: Settings,
    wanted_wgs84: BaseGeometry | None = None,
    path: str | Path | None = None,
) -> OsmSource:
    """Choose the OSM source for an area (EPSG:4326 geometries).

    Parameters
    ----------
    area_wgs84
        The area the network must cover (the ward): a local file qualifies when it covers at
        least `MIN_COVER_SHARE` of it.
    wanted_wgs84
        The larger area the network should cover (buffer, the road to the landfill): among the
        qualifying files, the one covering most of it wins, then the smallest.
    path
        A file named by the user; used whatever its extent (a warning is logged if it falls short).

    Raises
    ------
    DataNotFoundError
        When no local file covers the area and Overpass may not be used; the message says how to
        get an extract.
    """
    if path is not None:
        p = Path(path)
        if not p.exists():
            msg = f"OSM file {p} not found"
            raise DataNotFoundError(msg)
        src = OsmSource(kind_of(p), p, file_bounds(p))
        share = _cover_share(src, area_wgs84)
        if share < MIN_COVER_SHARE:
            log.warning("%s covers only %.0f%% of the area", p.name, 100 * share)
        return src
    covering = [
        s
        for s in local_extracts(settings=settings)
        if _cover_share(s, area_wgs84) >= MIN_COVER_SHARE
    ]
    if covering:
        wanted = wanted_wgs84 if wanted_wgs84 is not None else area_wgs84
        return min(
            covering, key=lambda s: (-round(_cover_share(s, wanted), 2), _bbox_area(s.bounds))
        )
    if not settings.offline and _online(settings):
        return OsmSource("overpass", None, None)
    raise DataNotFoundError(
        _no_data_message(wanted_wgs84 if wanted_wgs84 is not None else area_wgs84, settings)
    )


def _bbox_area(bounds: tuple[float, float, float, float] | None) -> float:
    if bounds is None:
        return float("inf")
    return (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])


def _cover_share(src: OsmSource, area: BaseGeometry) -> float:
    if src.bounds is None or area.area == 0:
        return 0.0
    return float(area.intersection(box(*src.bounds)).area / area.area)


_OSMNX_SETTINGS_LOCK = threading.RLock()


@contextlib.contextmanager
def osmnx_settings(settings: Settings, **overrides: object) -> Iterator[None]:
    """Run osmnx against gomrac's Overpass server and cache folder, restoring its settings after.

    ``GOMRAC_OVERPASS_URL`` (when set) becomes osmnx's ``overpass_url``, so the server checked
    by `find_source` is the one that answers; osmnx's HTTP cache goes under the cache directory
    instead of ``./cache`` wherever the command runs. Other osmnx settings are given by name.
    """
    import osmnx as ox

    wanted: dict[str, object] = {"cache_folder": str(settings.osm_cache_dir / "_overpass")}
    if settings.overpass_url:
        wanted["overpass_url"] = settings.overpass_url
    wanted.update(overrides)
    with _OSMNX_SETTINGS_LOCK:  # osmnx's settings are global: one user at a time
        old = {name: getattr(ox.settings, name) for name in wanted}
        try:
            for name, value in wanted.items():
                setattr(ox.settings, name, value)
            yield
        finally:
            for name, value in old.items():
                setattr(ox.settings, name, value)


def _online(settings: Settings, timeout_s: float = 3.0) -> bool:
    """Return True when the Overpass API answers (a HEAD-sized status request)."""
    import httpx
    import osmnx as ox

    url = (settings.overpass_url or ox.settings.overpass_url).rstrip("/") + "/status"
    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


def _no_data_message(area: BaseGeometry, settings: Settings) -> str:
    w, s, e, n = (round(v, 3) for v in area.bounds)
    data_osm = settings.osm_cache_dir
    return (
        f"no OSM road data covers this area (lon {w}–{e}, lat {s}–{n}) and the Overpass API cannot "
        "be reached. Get an extract and put it in "
        f"{data_osm} (or pass --osm FILE):\n"
        "  1. download asia/vietnam-latest.osm.pbf from Geofabrik (download.geofabrik.de);\n"
        f"  2. osmium extract -b {w - 0.05:.3f},{s - 0.05:.3f},{e + 0.05:.3f},{n + 0.05:.3f} "
        "--strategy complete_ways "
        "vietnam-latest.osm.pbf -o haiphong.osm.pbf\n"
        "or run the same command on a machine with internet access (osmnx downloads from Overpass "
        "and caches the result under data/osm/)."
    )


def clip_to_highways(src: OsmSource, bbox: tuple[float, float, float, float], out: Path) -> Path:
    """Write the highway ways touching `bbox` (and their nodes) from `src` to OSM XML `out`.

    Parameters
    ----------
    src
        A local ``osm_xml`` or ``pbf`` source.
    bbox
        (west, south, east, north) in degrees.
    out
        The OSM XML file to write (replaced if present).
    """
    if src.path is None or src.kind not in {"osm_xml", "pbf"}:
        msg = f"cannot clip {src.label}: not a local OSM file"
        raise ValidationError(msg)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        path = _bbox_extract(src, bbox, Path(tmp)) if src.kind == "pbf" else src.path
        west, south, east, north = bbox
        keep: set[int] = set()
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):  # the filter passes ways only
                continue
            for node in way.nodes:
                loc = node.location
                if loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north:
                    keep.add(way.id)
                    break
        tmp_out = Path(tmp) / "highways.osm"
        with osmium.BackReferenceWriter(str(tmp_out), ref_src=str(path), overwrite=True) as writer:
            for way in osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
                osmium.filter.IdFilter(keep)
            ):
                writer.add(way)
        os.replace(tmp_out, out)
    log.info("clip_to_highways: %d highway ways from %s -> %s", len(keep), src.label, out.name)
    return out


def _bbox_extract(src: OsmSource, bbox: tuple[float, float, float, float], tmp: Path) -> Path:
    """Clip a PBF to `bbox` with osmium-tool when installed (fast); else return it unclipped."""
    assert src.path is not None
    exe = shutil.which("osmium")
    if exe is None:
        log.info("osmium-tool not installed: reading the whole %s with pyosmium", src.path.name)
        return src.path
    return _osmium_extract(exe, src.path, bbox, tmp / "clip.osm.pbf")


def _osmium_extract(
    exe: str, source: Path, bbox: tuple[float, float, float, float], out: Path
) -> Path:
    """Clip an OSM file to a bounding box with osmium-tool, keeping ways whole."""
    west, south, east, north = bbox
    cmd = [exe, "extract", "-b", f"{west},{south},{east},{north}", "--strategy", "complete_ways"]
    subprocess.run(
        [*cmd, "--overwrite", "-o", str(out), str(source)], check=True, capture_output=True
    )
    return out


def features_xml(src: OsmSource, bbox: tuple[float, float, float, float], out: Path) -> Path | None:
    """Return an OSM XML file with all elements in `bbox` for feature queries, or None.

    None stands for Overpass. An XML source is returned as it is (osmnx reads it directly); a PBF
    is clipped with osmium-tool and converted to XML.
    """
    if src.path is None or src.kind == "graphml":
        return None
    if src.kind == "osm_xml":
        return src.path
    exe = shutil.which("osmium")
    if exe is None:
        log.warning("osmium-tool not installed: no buildings or facilities read from %s", src.label)
        return None
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        _osmium_extract(exe, src.path, bbox, out)
    return out


def padded_bbox(geom: BaseGeometry, pad_deg: float = 0.0) -> tuple[float, float, float, float]:
    """Bounding box (west, south, east, north) of a geometry, padded by `pad_deg` degrees."""
    w, s, e, n = shapely.bounds(geom).tolist()
    return w - pad_deg, s - pad_deg, e + pad_deg, n + pad_deg
