"""Truck and handcart networks built from the real central-Hanoi OSM extract."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import Point

from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo import osm as geo_osm
from gomrac.geo.network import (
    NetworkRules,
    exclusion_report,
    largest_scc_share,
    networks_for,
    road_km_within,
)
from gomrac.geo.restrictions import CLOSED_ATTR

# Independent reading of the truck rules (NetworkRules' documented defaults for the 12 t,
# 2.3 m wide, 3.3 m high compactor truck), on raw OSM tags.
NOT_FOR_TRUCKS = {
    "footway",
    "path",
    "steps",
    "pedestrian",
    "cycleway",
    "track",
    "bridleway",
    "corridor",
    "construction",
    "proposed",
    "platform",
    "elevator",
}
ALLEY_SERVICES = {"alley", "driveway", "parking_aisle", "drive-through", "emergency_access"}
MINOR = {"residential", "service", "unclassified", "living_street", "road"}
LANE_WORDS = ("ngõ", "ngách", "hẻm", "kiệt")


def _number(text: str | None) -> float | None:
    """A plain metric number ("3.5", "3.5 m", "10 t"); None for anything else."""
    if text is None:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(m|t)?", text.strip())
    return float(m.group(1)) if m else None


def _truck_forbidden(tags: dict[str, str]) -> bool:
    if tags.get("highway") in NOT_FOR_TRUCKS or tags.get("service") in ALLEY_SERVICES:
        return True
    if tags.get("area") == "yes":
        return True
    decided = None  # the most specific access key tagged decides
    for key in ("access", "vehicle", "motor_vehicle", "motorcar", "hgv"):
        decided = tags.get(key, decided)
    if decided in {"no", "private", "agricultural", "forestry"}:
        return True
    limits = {"width": 3.5, "est_width": 3.5, "maxwidth": 2.3, "maxweight": 12.0, "maxheight": 3.3}
    if any((v := _number(tags.get(k))) is not None and v < lim for k, lim in limits.items()):
        return True
    widths = [_number(tags.get(k)) for k in ("width", "est_width", "maxwidth")]
    name = tags.get("name", "").lower()
    return (
        all(w is None for w in widths)
        and tags.get("highway") in MINOR
        and any(re.match(rf"{w}(\s|\d|$)", name) for w in LANE_WORDS)
    )


@cache
def _raw_ways(path: str) -> tuple[dict[int, dict[str, str]], dict[int, list[int]]]:
    tags: dict[int, dict[str, str]] = {}
    nodes: dict[int, list[int]] = {}
    for way in ET.parse(path).getroot().iter("way"):
        wid = int(way.get("id"))
        tags[wid] = {t.get("k"): t.get("v") for t in way.iter("tag")}
        nodes[wid] = [int(n.get("ref")) for n in way.iter("nd")]
    return tags, nodes


def _osmids(value) -> list[int]:
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def test_truck_network__strongly_connected(hanoi_networks) -> None:
    """The truck network's largest strongly connected component holds at least 95% of its nodes."""
    G = hanoi_networks.truck
    assert len(G) > 1000
    assert largest_scc_share(G) >= 0.95


def test_cart_only_edges__forbidden_or_unreachable(
    hanoi_networks, hanoi_streets_file, hanoi_area
) -> None:
    """Every cart-only way is forbidden to trucks by its tags, or cut off from the truck network."""
    tags, nodes = _raw_ways(str(hanoi_streets_file))
    truck_ways = {
        w for _, _, d in hanoi_networks.truck.edges(data=True) for w in _osmids(d["osmid"])
    }
    cart_ways = {w for _, _, d in hanoi_networks.cart.edges(data=True) for w in _osmids(d["osmid"])}
    cart_only = cart_ways - truck_ways
    assert len(cart_only) > 500  # the extract has hundreds of alleys and footways
    # independent truck graph over every way whose tags allow trucks
    allowed = nx.Graph()
    for wid, t in tags.items():
        if "highway" in t and not _truck_forbidden(t):
            nx.add_path(allowed, nodes[wid])
    main = max(nx.connected_components(allowed), key=len)
    inner = hanoi_area.geometry.buffer(-0.002)  # away from the clipping edge
    G = hanoi_networks.cart
    bad = []
    for wid in cart_only:
        if _truck_forbidden(tags[wid]):
            continue
        ends = [n for n in nodes[wid] if n in G.nodes]
        if not ends or not all(
            inner.contains(Point(G.nodes[n]["x"], G.nodes[n]["y"])) for n in ends
        ):
            continue
        if any(n in main for n in nodes[wid]):
            bad.append((wid, tags[wid]))
    assert bad == []


def test_truck_network__oneways_respected(hanoi_networks, hanoi_streets_file) -> None:
    """A way tagged oneway=yes is never driven against its direction."""
    tags, nodes = _raw_ways(str(hanoi_streets_file))
    G = hanoi_networks.truck
    checked = 0
    for u, v, d in G.edges(data=True):
        ids = _osmids(d["osmid"])
        if len(ids) != 1 or tags[ids[0]].get("oneway") != "yes":
            continue
        order = nodes[ids[0]]
        if order[0] == order[-1]:  # closed rings (roundabouts): start and end are one node
            continue
        if u in order and v in order:
            assert order.index(u) < order.index(v), (u, v, ids)
            checked += 1
    assert checked > 50


def test_cart_network__two_way(hanoi_networks) -> None:
    """People on foot ignore one-way signs: every cart edge has its reverse."""
    G = hanoi_networks.cart
    assert all(G.has_edge(v, u) for u, v in G.edges())


def test_networks__osmnx_compatible(hanoi_networks) -> None:
    """osmnx functions work on both graphs: travel times are positive, routes exist."""
    for G in (hanoi_networks.truck, hanoi_networks.cart):
        tt = np.array([d["travel_time"] for _, _, d in G.edges(data=True)])
        assert (tt > 0).all()
        assert G.graph["crs"] == "epsg:4326"
    G = hanoi_networks.truck
    a = ox.distance.nearest_nodes(G, 105.835, 21.028)
    b = ox.distance.nearest_nodes(G, 105.850, 21.020)
    route = ox.routing.shortest_path(G, a, b, weight="travel_time")
    assert route is not None and route[0] == a and route[-1] == b


def test_cart_network__longer_than_truck(hanoi_networks) -> None:
    """Alleys and footways make the handcart network far larger than the truck network."""
    assert hanoi_networks.cart.number_of_edges() > 3 * hanoi_networks.truck.number_of_edges()


def test_networks_for__cache(settings, hanoi_area, tmp_path, monkeypatch) -> None:
    """A second load reads the cache in data/osm and gives the same graphs, numbers as numbers."""
    settings = settings.model_copy(update={"cache_dir": tmp_path})
    first = networks_for(hanoi_area, settings=settings)
    second = networks_for(hanoi_area, settings=settings)
    assert not first.from_cache and second.from_cache
    for name in (
        "gomrac_cart_kph",
        "gomrac_unreachable_nodes",
        "gomrac_unreadable_ways",
        "gomrac_time_limited_edges",
    ):
        graph = "cart" if name == "gomrac_cart_kph" else "truck"
        cached = getattr(second, graph).graph[name]
        assert cached == getattr(first, graph).graph[name]
        assert not isinstance(cached, str)
    assert (len(second.truck), second.truck.number_of_edges()) == (
        len(first.truck),
        first.truck.number_of_edges(),
    )
    assert list((tmp_path / "osm" / hanoi_area.slug).glob("truck-*.graphml"))
    # the weekly closures survive the GraphML round trip, edge by edge
    closures = [
        {(u, v, k): c for u, v, k, c in n.truck.edges(keys=True, data=CLOSED_ATTR) if c}
        for n in (first, second)
    ]
    assert closures[0] == closures[1]
    assert len(closures[0]) == first.truck.graph["gomrac_time_limited_edges"] > 20


def test_networks_for__rules_change_cache_key(settings, hanoi_area) -> None:
    """Looser width rules let more roads in and are cached separately."""
    strict = networks_for(hanoi_area, settings=settings)
    loose = networks_for(
        hanoi_area, rules=NetworkRules(truck_excluded_service=frozenset()), settings=settings
    )
    assert loose.truck.number_of_edges() > strict.truck.number_of_edges()


def test_find_source__no_data_explains(settings, monkeypatch) -> None:
    """Without an extract and offline, the error says how to get one (Geofabrik + osmium)."""
    from gomrac.geo.wards import find_ward

    settings = settings.model_copy(update={"offline": True})
    with pytest.raises(DataNotFoundError, match="osmium extract"):
        geo_osm.find_source(find_ward("Lê Chân", settings=settings).geometry, settings=settings)


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({"highway": "service", "service": "alley"}, "service=alley"),
        ({"highway": "residential", "width": "2.5"}, "width=2.5 < 3.5 m"),
        ({"highway": "residential", "access": "private"}, "access=private"),
        ({"highway": "footway"}, "highway=footway"),
        ({"highway": "tertiary", "maxweight": "5"}, "maxweight=5 < 12 t"),
        ({"highway": "residential", "maxweight": "7.5 st"}, "maxweight=7.5 st (6.8 t) < 12 t"),
        ({"highway": "residential", "maxheight": "3.2"}, "maxheight=3.2 < 3.3 m"),
        ({"highway": "residential", "maxwidth": "2"}, "maxwidth=2 < 2.3 m"),
        ({"highway": "residential", "motorcar": "no"}, "motorcar=no"),
        ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, None),
        ({"highway": "residential", "name": "Ngõ 12 Núi Trúc"}, "name=Ngõ 12 Núi Trúc"),
        ({"highway": "residential", "name": "Ngõ 12 Núi Trúc", "width": "5"}, None),
        ({"highway": "tertiary", "name": "Ngõ Huế"}, None),
        ({"highway": "residential", "width": "3,5 m"}, None),
        ({"highway": "residential", "width": "6 m"}, None),
        ({"highway": ["residential", "service"]}, None),
    ],
)
def test_rules__truck_reason(tags, reason) -> None:
    """The rules name the tag that closes a way to trucks."""
    assert NetworkRules().truck_reason(tags) == reason


def test_rules__cart_reason() -> None:
    """Carts take alleys and footways but not steps or trunk roads."""
    rules = NetworkRules()
    assert rules.cart_reason({"highway": "service", "service": "alley"}) is None
    assert rules.cart_reason({"highway": "footway"}) is None
    assert rules.cart_reason({"highway": "steps"}) == "highway=steps"
    assert rules.cart_reason({"highway": "trunk"}) == "highway=trunk"
    assert NetworkRules(cart_allows_steps=True).cart_reason({"highway": "steps"}) is None


def test_truck_network__no_edge_of_an_excluded_way(hanoi_networks, hanoi_streets_file) -> None:
    """No truck edge belongs to a way the rules exclude, read independently from the raw XML."""
    tags, _ = _raw_ways(str(hanoi_streets_file))
    G = hanoi_networks.truck
    ways = {w for _, _, d in G.edges(data=True) for w in _osmids(d["osmid"])}
    assert len(ways) > 1000
    assert [w for w in ways if _truck_forbidden(tags[w])] == []
    # the rules that matter on this extract did exclude ways that the old rules kept
    lanes = [
        w for w, t in tags.items() if t.get("highway") == "residential" and _truck_forbidden(t)
    ]
    assert len(lanes) > 150
    assert not set(lanes) & ways


def test_truck_network__oneway_for_cars_is_oneway_for_trucks(
    hanoi_networks, hanoi_streets_file
) -> None:
    """A two-way street tagged oneway:motorcar=yes is driven by trucks only in its direction."""
    tags, nodes = _raw_ways(str(hanoi_streets_file))
    car_oneway = {
        w for w, t in tags.items() if t.get("oneway:motorcar") == "yes" and t.get("oneway") != "yes"
    }
    G = hanoi_networks.truck
    checked = 0
    for u, v, d in G.edges(data=True):
        ids = _osmids(d["osmid"])
        if len(ids) != 1 or ids[0] not in car_oneway:
            continue
        order = nodes[ids[0]]
        assert order.index(u) < order.index(v), (u, v, ids)
        checked += 1
    assert checked >= 5


def test_exclusion_report__counts_match_raw_xml(settings, hanoi_area, hanoi_streets_file) -> None:
    """The report's ways per rule equal an independent count over the raw XML."""
    tags, _ = _raw_ways(str(hanoi_streets_file))
    report = exclusion_report(hanoi_area, settings=settings)
    truck = report.summary[report.summary["mode"] == "truck"].set_index("rule")
    # the truck area (sample + 500 m) covers the whole extract: every highway way is counted
    assert truck.loc["all", "ways"] == sum(1 for t in tags.values() if "highway" in t) == 5074
    height = [w for w, t in tags.items() if (h := _number(t.get("maxheight"))) and h < 3.3]
    weight = [w for w, t in tags.items() if (m := _number(t.get("maxweight"))) and m < 12]
    alley = [w for w, t in tags.items() if t.get("service") in ALLEY_SERVICES]
    assert truck.loc["maxheight", "ways"] == len(height) == 6
    assert truck.loc["maxweight", "ways"] == len(weight) == 4
    assert truck.loc["service", "ways"] == len(alley)
    named = [
        w
        for w, t in tags.items()
        if t.get("highway") in MINOR
        and all(_number(t.get(k)) is None for k in ("width", "est_width", "maxwidth"))
        and any(re.match(rf"{x}(\s|\d|$)", t.get("name", "").lower()) for x in LANE_WORDS)
    ]
    assert truck.loc["name", "ways"] == len(named)
    ways = report.ways[report.ways["mode"] == "truck"]
    whole = set(ways.loc[ways["rules"] != "oneway", "osmid"])
    assert whole == {w for w, t in tags.items() if "highway" in t and _truck_forbidden(t)}
    # one direction only: two-way streets that are one-way for cars (and so for trucks)
    one_direction = set(ways.loc[ways["rules"] == "oneway", "osmid"])
    assert one_direction == {
        w
        for w, t in tags.items()
        if t.get("oneway:motorcar") == "yes"
        and t.get("oneway") != "yes"
        and not _truck_forbidden(t)
    }
    # garbled conditionals are counted, not raised: 2 ways "@ (...)", 1 way "no @ @ (...)"
    bad = report.problems[report.problems["kind"] == "syntax"]
    assert bad["ways"].sum() == 3


@pytest.mark.parametrize("mode", ["truck", "cart"])
def test_road_km_within__each_street_once_as_osmnx_counts_it(vanmieu_data, mode: str) -> None:
    """The centre-line km of the Văn Miếu networks equal those of osmnx's undirected graph
    (two-way streets once, parallel ways both), clipped to the area."""
    import geopandas as gpd

    from gomrac.geo.crs import METRIC_CRS, WGS84

    G = getattr(vanmieu_data.networks, mode)
    poly = vanmieu_data.area.geometry
    undirected = ox.convert.graph_to_gdfs(
        ox.convert.to_undirected(G), nodes=False, fill_edge_geometry=True
    ).to_crs(METRIC_CRS)
    clip = gpd.GeoSeries([poly], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    want = float(undirected.geometry.intersection(clip).length.sum() / 1000)
    directed = ox.convert.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).to_crs(METRIC_CRS)
    both_ways = float(directed.geometry.intersection(clip).length.sum() / 1000)
    assert want > 1.0
    assert road_km_within(G, poly) == pytest.approx(want, rel=1e-9)
    assert both_ways > 1.2 * want  # counting each direction would be a different number
