"""Road networks of a study area: the truck network and the handcart/walk network.

Both are osmnx graphs (``MultiDiGraph`` with node ``x``/``y`` in degrees, edge ``length`` in metres,
``speed_kph``, ``travel_time`` in seconds), so every osmnx function works on them.

Which way goes in which network is decided on the raw OSM tags of each way by `NetworkRules`:

* **truck** (a 7–12 t compactor truck): ``highway`` in `NetworkRules.truck_highways`; not a
  ``service`` way tagged ``alley`` (ngõ/ngách/hẻm), ``driveway``, ``parking_aisle``,
  ``drive-through`` or ``emergency_access``; ``access``, ``vehicle``, ``motor_vehicle``,
  ``motorcar`` and ``hgv`` not ``no``/``private``; ``width`` (or ``est_width``), when tagged, at
  least `min_truck_width_m`; ``maxweight``, when tagged, at least the truck's gross weight.
  One-way streets are one-way. Pieces of road cut off from the main network (service roads
  reached only through alleys) are unreachable for trucks and left out: the truck network is the
  largest weakly connected component.
* **handcart/walk** (residents walking to a gathering point, crews pushing a 660 L cart): every
  ``highway`` way but motorways, trunk roads, steps (unless `cart_allows_steps`) and ways not
  yet built; ``access``/``foot`` not ``no``. Both directions are open (people on foot).

Speeds are documented assumptions (urban collection trucks in Hai Phong's traffic), configurable
through `NetworkRules.truck_speed_kph` and `cart_speed_kph`; a tagged ``maxspeed`` caps nothing
here because trucks collecting waste rarely reach it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import networkx as nx
import osmnx as ox
import shapely
from tqdm.auto import tqdm

from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.crs import METRIC_CRS, WGS84
from gomrac.geo.osm import OsmSource, clip_to_highways, find_source, osmnx_settings, padded_bbox
from gomrac.geo.settings import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gomrac.geo.wards import StudyArea

log = logging.getLogger(__name__)

Mode = Literal["truck", "cart"]

#: Ways tags kept on edges (osmnx keeps only `useful_tags_way`).
EDGE_TAGS = (
    "access",
    "area",
    "bridge",
    "est_width",
    "foot",
    "hgv",
    "highway",
    "junction",
    "lanes",
    "maxspeed",
    "maxweight",
    "motor_vehicle",
    "motorcar",
    "name",
    "oneway",
    "ref",
    "service",
    "surface",
    "tunnel",
    "vehicle",
    "width",
)

_TRUCK_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
_CART_EXCLUDED = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "construction",
        "proposed",
        "abandoned",
        "bus_guideway",
        "raceway",
        "elevator",
        "platform",
        "escape",
    }
)
#: Urban speeds of a loaded collection truck by road class, km/h (local assumption: Hai Phong's
#: inner-city traffic; trucks stop and start). Override per study area where GPS traces exist.
TRUCK_SPEED_KPH: Mapping[str, float] = {
    "motorway": 60,
    "motorway_link": 40,
    "trunk": 45,
    "trunk_link": 30,
    "primary": 30,
    "primary_link": 25,
    "secondary": 25,
    "secondary_link": 20,
    "tertiary": 20,
    "tertiary_link": 18,
    "unclassified": 15,
    "residential": 15,
    "living_street": 10,
    "service": 10,
    "road": 15,
}


@dataclass(frozen=True)
class NetworkRules:
    """Which OSM ways trucks and handcarts may use, and how fast they move.

    Attributes
    ----------
    truck_highways
        ``highway`` values open to trucks.
    truck_excluded_service
        ``service`` values closed to trucks (``alley`` is how ngõ/ngách/hẻm are tagged).
    min_truck_width_m
        Narrowest carriageway a truck enters, metres (local assumption: a 2.3 m wide compactor
        truck needs about 3.5 m to pass parked motorbikes).
    truck_gross_t
        Gross weight of the truck, tonnes, compared with ``maxweight``.
    forbidden_access
        Access values that close a way to trucks.
    cart_allows_steps
        Whether the handcart/walk network includes steps (not for carts, by default).
    truck_speed_kph
        Speed per ``highway`` class, km/h.
    truck_fallback_kph
        Speed of a truck on a class not in `truck_speed_kph`.
    cart_speed_kph
        Walking speed pushing a handcart, km/h (3.0: a loaded 660 L cart).
    """

    truck_highways: frozenset[str] = _TRUCK_HIGHWAYS
    truck_excluded_service: frozenset[str] = frozenset(
        {"alley", "driveway", "parking_aisle", "drive-through", "emergency_access"}
    )
    min_truck_width_m: float = 3.5
    truck_gross_t: float = 12.0
    forbidden_access: frozenset[str] = frozenset({"no", "private"})
    cart_excluded_highways: frozenset[str] = _CART_EXCLUDED
    cart_allows_steps: bool = False
    truck_speed_kph: Mapping[str, float] = field(default_factory=lambda: dict(TRUCK_SPEED_KPH))
    truck_fallback_kph: float = 15.0
    cart_speed_kph: float = 3.0

    def truck_reason(self, tags: Mapping[str, object]) -> str | None:
        """Why a way is closed to trucks, or None when it is open.

        Parameters
        ----------
        tags
            The way's OSM tags (values may be lists after osmnx simplification: every part must
            be open).
        """
        for hw in _values(tags.get("highway")):
            if hw not in self.truck_highways:
                return f"highway={hw}"
        for svc in _values(tags.get("service")):
            if svc in self.truck_excluded_service:
                return f"service={svc}"
        for key in ("access", "vehicle", "motor_vehicle", "motorcar", "hgv"):
            for val in _values(tags.get(key)):
                if val in self.forbidden_access:
                    return f"{key}={val}"
        for key in ("width", "est_width"):
            for val in _values(tags.get(key)):
                width = _metres(val)
                if width is not None and width < self.min_truck_width_m:
                    return f"{key}={val} < {self.min_truck_width_m} m"
        for val in _values(tags.get("maxweight")):
            limit = _metres(val)  # tonnes; same number parsing
            if limit is not None and limit < self.truck_gross_t:
                return f"maxweight={val} < {self.truck_gross_t} t"
        if _values(tags.get("area")) == ["yes"]:
            return "area=yes"
        return None

    def cart_reason(self, tags: Mapping[str, object]) -> str | None:
        """Why a way is closed to handcarts and pedestrians, or None when it is open."""
        for hw in _values(tags.get("highway")):
            if hw in self.cart_excluded_highways:
                return f"highway={hw}"
            if hw == "steps" and not self.cart_allows_steps:
                return "highway=steps"
        for key in ("access", "foot"):
            for val in _values(tags.get(key)):
                if val == "no":
                    return f"{key}=no"
        return None

    def digest(self) -> str:
        """Return a short hash of the rules, part of every cache key."""
        raw = json.dumps(asdict(self), sort_keys=True, default=sorted)
        return hashlib.sha1(raw.encode()).hexdigest()[:10]


def _values(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v).strip().lower() for v in value]
    return [v.strip().lower() for v in str(value).split(";") if v.strip()]


def _metres(text: str) -> float | None:
    m = re.match(r"^\s*(\d+(?:[.,]\d+)?)", text)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    if "'" in text or "ft" in text:
        value *= 0.3048
    return value


@dataclass(frozen=True)
class Networks:
    """The two networks of a study area and where they came from."""

    truck: nx.MultiDiGraph
    cart: nx.MultiDiGraph
    source: OsmSource
    from_cache: bool
    build_s: float
    truck_area: BaseGeometry  # EPSG:4326, the area the truck network covers
    cart_area: BaseGeometry


def truck_area_for(
    area: StudyArea,
    facilities: gpd.GeoDataFrame | None,
    *,
    buffer_m: float,
    max_facility_km: float = 40.0,
) -> BaseGeometry:
    """Return the area a ward's truck network must cover.

    That is the ward, its buffer, and the way to its facilities: facilities within
    `max_facility_km` of the ward are joined to it by the buffered convex hull, so that the
    network reaches Tràng Cát from Lê Chân.
    """
    ward = area.to_gdf().to_crs(METRIC_CRS).geometry.iloc[0]
    parts = [ward.buffer(buffer_m)]
    if facilities is not None and len(facilities):
        pts = facilities.to_crs(METRIC_CRS).geometry
        near = pts[pts.distance(ward) <= max_facility_km * 1000]
        if len(near):
            parts.append(shapely.union_all([ward, *near]).convex_hull.buffer(1000))
    metric = shapely.union_all(parts)
    return gpd.GeoSeries([metric], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def cart_area_for(area: StudyArea, *, buffer_m: float) -> BaseGeometry:
    """Return the area of the handcart/walk network: the ward and a walking buffer."""
    ward = area.to_gdf().to_crs(METRIC_CRS).geometry.iloc[0]
    return gpd.GeoSeries([ward.buffer(buffer_m)], crs=METRIC_CRS).to_crs(WGS84).iloc[0]


def networks_for(
    area: StudyArea,
    *,
    settings: Settings,
    facilities: gpd.GeoDataFrame | None = None,
    osm_path: str | Path | None = None,
    rules: NetworkRules | None = None,
    buffer_m: float = 500.0,
    refresh: bool = False,
    progress: bool = False,
) -> Networks:
    """Build (or read from the cache) the truck and handcart networks of a study area.

    Parameters
    ----------
    area
        The ward or boundary.
    facilities
        Facilities the trucks drive to (EPSG:4326); the truck network is extended to reach them.
    osm_path
        A local OSM file to use instead of searching the data folders.
    rules
        Which ways each network takes; the documented defaults when None.
    buffer_m
        Buffer around the ward, metres, so that routes and walks near the boundary are right.
    refresh
        Rebuild even when a cached graph exists.
    progress
        Show a progress bar on stderr.

    Returns
    -------
    Networks
        Both graphs, the source used and whether they came from the cache.

    Raises
    ------
    DataNotFoundError
        When no OSM data covers the area and Overpass cannot be reached (the message says how to
        get an extract).
    """
    rules = rules or NetworkRules()
    t0 = time.perf_counter()
    truck_area = truck_area_for(area, facilities, buffer_m=buffer_m)
    cart_area = cart_area_for(area, buffer_m=buffer_m)
    # An extract that covers the ward but not the road to the facilities still serves the
    # walking analyses; routing then says which facility is off the network.
    source = find_source(area.geometry, settings=settings, wanted_wgs84=truck_area, path=osm_path)
    key = _cache_key(area, source, rules, truck_area)
    folder = settings.osm_cache_dir / area.slug
    truck_file, cart_file = folder / f"truck-{key}.graphml", folder / f"cart-{key}.graphml"
    if truck_file.exists() and cart_file.exists() and not refresh:
        truck = ox.load_graphml(truck_file, graph_dtypes=_GRAPH_DTYPES)
        cart = ox.load_graphml(cart_file, graph_dtypes=_GRAPH_DTYPES)
        log.info("networks_for %s: read from cache %s", area.name, key)
        return Networks(truck, cart, source, True, time.perf_counter() - t0, truck_area, cart_area)
    steps = tqdm(total=4, desc=f"road networks {area.slug}", disable=not progress, unit="step")
    raw = _raw_graph(
        source, truck_area, folder / f"_clip-{key}.osm", settings=settings, refresh=refresh
    )
    steps.update()
    truck = _subnetwork(raw, truck_area, rules, "truck")
    steps.update()
    cart = _subnetwork(raw, cart_area, rules, "cart")
    steps.update()
    folder.mkdir(parents=True, exist_ok=True)
    _save_atomic(truck, truck_file)
    _save_atomic(cart, cart_file)
    steps.update()
    steps.close()
    dt = time.perf_counter() - t0
    log.info(
        "networks_for %s: truck %d nodes/%d edges, cart %d/%d from %s in %.1f s",
        area.name,
        len(truck),
        truck.number_of_edges(),
        len(cart),
        cart.number_of_edges(),
        source.label,
        dt,
    )
    return Networks(truck, cart, source, False, dt, truck_area, cart_area)


def _save_atomic(G: nx.MultiDiGraph, path: Path) -> None:
    """Write a GraphML file so that a concurrent reader never sees it half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ox.save_graphml(G, tmp)
    os.replace(tmp, path)


def _cache_key(
    area: StudyArea, source: OsmSource, rules: NetworkRules, truck_area: BaseGeometry
) -> str:
    area_hash = hashlib.sha1(shapely.to_wkb(truck_area.simplify(1e-5))).hexdigest()[:8]
    return f"{source.cache_key()}-{rules.digest()}-{area_hash}"


def _raw_graph(
    source: OsmSource,
    area: BaseGeometry,
    clip_file: Path,
    *,
    settings: Settings,
    refresh: bool = False,
) -> nx.MultiDiGraph:
    """Build the unsimplified, directed graph of every highway way in `area`.

    One-ways are respected. With `refresh`, osmnx downloads again instead of answering from its
    HTTP cache, and a local extract is clipped again.
    """
    # keep the tags `NetworkRules` reads on the edges (osmnx keeps only `useful_tags_way`)
    if refresh and source.kind == "overpass":
        # osmnx would answer from its HTTP cache: drop the kept answers so they are fetched anew
        shutil.rmtree(settings.osm_cache_dir / "_overpass", ignore_errors=True)
    with osmnx_settings(settings, useful_tags_way=list(EDGE_TAGS)):
        if source.kind == "graphml":
            assert source.path is not None
            G = ox.load_graphml(source.path)
        elif source.kind == "overpass":
            # every highway way, private ones included: `NetworkRules` decides, not osmnx
            G = ox.graph_from_polygon(
                area, network_type="all", simplify=False, retain_all=True, truncate_by_edge=True
            )
        else:
            if refresh or not clip_file.exists():
                clip_to_highways(source, padded_bbox(area, 0.005), clip_file)
            G = ox.graph_from_xml(clip_file, bidirectional=False, simplify=False, retain_all=True)
    return G


# GraphML stores graph attributes as text; these are read back as numbers.
_GRAPH_DTYPES = {"gomrac_cart_kph": float, "gomrac_unreachable_nodes": int}


def _subnetwork(
    raw: nx.MultiDiGraph, area: BaseGeometry, rules: NetworkRules, mode: Mode
) -> nx.MultiDiGraph:
    reason = rules.truck_reason if mode == "truck" else rules.cart_reason
    keep = [(u, v, k) for u, v, k, d in raw.edges(keys=True, data=True) if reason(d) is None]
    G = nx.MultiDiGraph(raw.edge_subgraph(keep))
    G.graph = dict(raw.graph)
    if len(G) == 0:
        msg = f"no {mode} roads in the OSM data for this area"
        raise DataNotFoundError(msg)
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    if mode == "cart":
        _make_two_way(G)
    else:
        # Service roads reached only through alleys form islands no truck can get to: drop them.
        before = len(G)
        G = ox.truncate.largest_component(G, strongly=False)
        G.graph["gomrac_unreachable_nodes"] = before - len(G)
    if not G.graph.get("simplified", False):
        G = ox.simplify_graph(G)
    G.graph["gomrac_mode"] = mode
    G.graph["gomrac_rules"] = rules.digest()
    if mode == "truck":
        G = ox.routing.add_edge_speeds(
            G, hwy_speeds=dict(rules.truck_speed_kph), fallback=rules.truck_fallback_kph
        )
        # osmnx takes a tagged maxspeed first; trucks collecting waste stay at the class speed.
        for _, _, d in G.edges(data=True):
            classes = d["highway"] if isinstance(d["highway"], list) else [d["highway"]]
            speeds = [rules.truck_speed_kph.get(h, rules.truck_fallback_kph) for h in classes]
            d["speed_kph"] = min(float(d["speed_kph"]), sum(speeds) / len(speeds))
    else:
        G.graph["gomrac_cart_kph"] = rules.cart_speed_kph
        for _, _, d in G.edges(data=True):
            d["speed_kph"] = rules.cart_speed_kph
    return ox.routing.add_edge_travel_times(G)


def _make_two_way(G: nx.MultiDiGraph) -> None:
    """Add the reverse of every edge that has none (people on foot ignore one-way signs)."""
    missing = [(v, u, dict(d)) for u, v, d in G.edges(data=True) if not G.has_edge(v, u)]
    for v, u, d in missing:
        d["reversed"] = not d.get("reversed", False)
        G.add_edge(v, u, **d)
    for _, _, d in G.edges(data=True):
        d["oneway"] = False


def largest_scc_share(G: nx.MultiDiGraph) -> float:
    """Share of nodes in the largest strongly connected component (1.0 for an empty graph)."""
    if len(G) == 0:
        return 1.0
    return max(len(c) for c in nx.strongly_connected_components(G)) / len(G)


def routable(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Keep the largest strongly connected component: every node reaches every other node."""
    return ox.truncate.largest_component(G, strongly=True)


def edges_gdf(G: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """Return the edges of a graph as a GeoDataFrame in EPSG:4326 (u, v, key index)."""
    return ox.convert.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True)


def road_km_within(G: nx.MultiDiGraph, polygon_wgs84: BaseGeometry) -> float:
    """Kilometres of street centre-line of `G` in a polygon, each two-way street counted once."""
    U = ox.convert.to_undirected(G)
    edges = ox.convert.graph_to_gdfs(U, nodes=False, fill_edge_geometry=True).to_crs(METRIC_CRS)
    poly = gpd.GeoSeries([polygon_wgs84], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    return float(edges.geometry.intersection(poly).length.sum() / 1000)
