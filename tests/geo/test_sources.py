"""Road networks from the sources the offline suite cannot otherwise reach: PBF and Overpass.

The central-Hanoi street extract (OSM XML) is the reference. It is converted to a Geofabrik-style
``.osm.pbf`` with osmium-tool, and served by a local stand-in for the Overpass API
(`fake_overpass.FakeOverpass`); the networks built from either must be the networks built from
the XML file, for the Văn Miếu study area.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from fake_overpass import FakeOverpass
from shapely.geometry import box

from gomrac.geo.features import _read_osm_features, features_for
from gomrac.geo.network import Networks, largest_scc_share, networks_for, routable
from gomrac.geo.osm import file_bounds, find_source, padded_bbox
from gomrac.geo.settings import Settings

OSMIUM = shutil.which("osmium")


def _with(settings: Settings, **update: object) -> Settings:
    """`settings` with some fields changed (folders, online access), as a caller would pass."""
    return settings.model_copy(update=update)


@pytest.fixture(scope="module")
def vanmieu_area(settings, vanmieu_boundary: Path):
    """The 1 km² Văn Miếu box as a StudyArea (small, so that each build takes a few seconds)."""
    from gomrac.geo.wards import area_from_file

    return area_from_file(vanmieu_boundary, settings=settings)


@pytest.fixture(scope="module")
def osm_networks(
    settings, vanmieu_area, hanoi_streets_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Networks:
    """The reference: networks built from the OSM XML extract, in a cache of their own."""
    settings = _with(settings, cache_dir=tmp_path_factory.mktemp("osm-cache"))
    nets = networks_for(vanmieu_area, osm_path=hanoi_streets_file, settings=settings)
    assert nets.source.kind == "osm_xml" and nets.source.path == hanoi_streets_file
    assert not nets.from_cache
    return nets


@pytest.fixture(scope="module")
def pbf_file(hanoi_streets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The street extract converted to PBF with osmium-tool, as a Geofabrik clip would be."""
    if OSMIUM is None:
        pytest.skip(
            "the osmium command (osmium-tool) is not installed; scripts/setup.sh installs "
            "it: cannot write a .osm.pbf to test the PBF source"
        )
    out = tmp_path_factory.mktemp("pbf") / "hanoi_central_streets.osm.pbf"
    subprocess.run(
        [OSMIUM, "cat", str(hanoi_streets_file), "-o", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes()[:64] != hanoi_streets_file.read_bytes()[:64]  # binary, not XML
    return out


def _total_length_m(G: nx.MultiDiGraph) -> float:
    return float(sum(d["length"] for _, _, d in G.edges(data=True)))


def _assert_same_networks(got: Networks, ref: Networks) -> None:
    """Same nodes, same directed edges (with multiplicity) and same length, truck and cart."""
    for mode in ("truck", "cart"):
        G, R = getattr(got, mode), getattr(ref, mode)
        assert len(R) > 100, mode  # the reference itself is a real network
        assert (len(G), G.number_of_edges()) == (len(R), R.number_of_edges()), mode
        assert set(G.nodes) == set(R.nodes), mode
        assert Counter(G.edges()) == Counter(R.edges()), mode
        assert _total_length_m(G) == pytest.approx(_total_length_m(R), rel=1e-9), mode


def _assert_routable(nets: Networks) -> None:
    """Trucks can route across the network: most nodes in one strongly connected component."""
    G = nets.truck
    # the tag rules cut the small Văn Miếu box's truck network into pieces at its one-way and
    # access-restricted ends (86 % of nodes in the main part); the whole Hanoi sample keeps 95 %+
    assert largest_scc_share(G) >= 0.85
    core = routable(G)
    xs = {n: d["x"] for n, d in core.nodes(data=True)}
    west, east = min(xs, key=xs.get), max(xs, key=xs.get)
    route = ox.routing.shortest_path(core, west, east, weight="travel_time")
    assert route is not None and route[0] == west and route[-1] == east


# --- PBF ------------------------------------------------------------------------------------------


def test_networks_for__pbf_path_equals_osm(
    settings, vanmieu_area, pbf_file, osm_networks, tmp_path, monkeypatch
) -> None:
    """`osm_path=` a .osm.pbf: the source is the PBF and the networks are those of the XML file."""
    settings = _with(settings, cache_dir=tmp_path)
    nets = networks_for(vanmieu_area, osm_path=pbf_file, settings=settings)
    assert nets.source.kind == "pbf"
    assert nets.source.path == pbf_file
    assert nets.source.label == f"file:{pbf_file.name}"
    assert not nets.from_cache
    # the highway clip was made from the PBF, in this test's cache
    assert list((tmp_path / "osm" / vanmieu_area.slug).glob("_clip-*.osm"))
    _assert_same_networks(nets, osm_networks)
    _assert_routable(nets)


def test_networks_for__pbf_found_in_data_dir(
    settings, vanmieu_area, pbf_file, osm_networks, tmp_path, monkeypatch
) -> None:
    """A .osm.pbf dropped in ``<data dir>/osm`` is found without `osm_path` and used."""
    data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
    placed = data_dir / "osm" / "hanoi.osm.pbf"
    placed.parent.mkdir(parents=True)
    shutil.copy(pbf_file, placed)
    settings = _with(settings, data_dir=data_dir, cache_dir=cache_dir, offline=True)
    nets = networks_for(vanmieu_area, settings=settings)
    assert nets.source.kind == "pbf"
    assert nets.source.path == placed
    assert not nets.from_cache
    _assert_same_networks(nets, osm_networks)


def test_find_source__pbf_in_cache_dir(
    settings, vanmieu_area, pbf_file, hanoi_streets_file, tmp_path, monkeypatch
) -> None:
    """A .osm.pbf in ``<cache dir>/osm`` (``data/osm/`` of the repository) is found too."""
    data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
    (data_dir / "osm").mkdir(parents=True)
    placed = cache_dir / "osm" / "haiphong.osm.pbf"
    placed.parent.mkdir(parents=True)
    shutil.copy(pbf_file, placed)
    settings = _with(settings, data_dir=data_dir, cache_dir=cache_dir, offline=True)
    src = find_source(vanmieu_area.geometry, settings=settings)
    assert (src.kind, src.path) == ("pbf", placed)
    # the extent is read from the PBF header, where osmium copied the XML file's <bounds>
    assert src.bounds == pytest.approx(file_bounds(hanoi_streets_file))


# --- Overpass -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _online_with(
    osm_xml: Path, tmp_path: Path, settings: Settings
) -> Iterator[tuple[FakeOverpass, Settings]]:
    """Online with the Overpass API at a local server serving `osm_xml`; no local extract.

    Every osmnx setting changed here is restored afterwards, and so is ``socket.getaddrinfo``,
    which osmnx replaces before each Overpass request (``_http._config_dns``).
    """
    empty_data = tmp_path / "data"
    (empty_data / "osm").mkdir(parents=True)
    with FakeOverpass(osm_xml) as server, pytest.MonkeyPatch.context() as mp:
        mp.setattr(ox.settings, "overpass_url", server.url())
        mp.setattr(ox.settings, "overpass_rate_limit", True)  # osmnx asks /status first
        mp.setattr(ox.settings, "use_cache", True)  # osmnx's default: answers are kept on disk
        mp.setattr(ox.settings, "cache_folder", str(tmp_path / "osmnx-cache"))
        mp.setattr(ox.settings, "requests_timeout", 30)
        mp.setattr(socket, "getaddrinfo", socket.getaddrinfo)
        yield (
            server,
            _with(
                settings,
                offline=False,
                overpass_url=None,
                data_dir=empty_data,
                cache_dir=tmp_path / "cache",
            ),
        )


@pytest.fixture
def fake_overpass(
    settings: Settings, hanoi_streets_file: Path, tmp_path: Path
) -> Iterator[FakeOverpass]:
    """Overpass serving the central-Hanoi street extract; its settings are `online`."""
    with _online_with(hanoi_streets_file, tmp_path, settings) as (server, online):
        server.settings = online  # the settings a user online without an extract has
        yield server


def test_networks_for__overpass_equals_osm(
    settings, vanmieu_area, osm_networks, fake_overpass
) -> None:
    """Online without an extract, osmnx downloads from Overpass; same networks as the XML file.

    The server returns the whole extract for any query; osmnx truncates it to the truck area
    (``truncate_by_edge``) before gomrac filters and truncates it again, while the XML path clips
    to a padded box, filters, then truncates. Truncating by edge keeps every node that has a
    neighbour inside, so both orders keep the same nodes and edges: no tolerance is needed
    beyond floating-point summation.
    """
    online = fake_overpass.settings
    assert find_source(vanmieu_area.geometry, settings=online).kind == "overpass"
    nets = networks_for(vanmieu_area, settings=online)
    assert nets.source.kind == "overpass" and nets.source.path is None
    assert nets.source.label == "overpass"
    assert not nets.from_cache
    queries = fake_overpass.queries()
    assert queries, "osmnx sent no query to the Overpass server"
    assert all('way["highway"]' in q and "(poly:" in q for q in queries)
    assert any(r.method == "GET" and r.path == "/api/status" for r in fake_overpass.requests)
    for G in (nets.truck, nets.cart):
        assert len(G) > 0 and G.number_of_edges() > 0
    _assert_routable(nets)
    _assert_same_networks(nets, osm_networks)
    # osmnx kept its raw answers under the cache directory, not in its own folder, and its
    # settings are back as they were
    cache_dir = online.osm_cache_dir
    assert list((cache_dir / "_overpass").glob("*.json"))
    assert not (cache_dir.parents[1] / "osmnx-cache").exists()
    assert ox.settings.cache_folder.endswith("osmnx-cache")


def test_networks_for__overpass_url_setting(
    settings, vanmieu_area, fake_overpass, monkeypatch
) -> None:
    """GOMRAC_OVERPASS_URL ("Overpass endpoint for osmnx") is where the roads come from."""
    online = fake_overpass.settings
    wanted, default = fake_overpass.url("/api"), fake_overpass.url("/osmnx-default/api")
    monkeypatch.setattr(ox.settings, "overpass_url", default)
    nets = networks_for(vanmieu_area, settings=_with(online, overpass_url=wanted))
    assert nets.source.kind == "overpass"
    assert fake_overpass.queries("/api"), "no query reached GOMRAC_OVERPASS_URL"
    assert fake_overpass.queries("/osmnx-default/api") == []
    assert len(nets.truck) > 0


def test_features_for__overpass_equals_osm(settings, vanmieu_area, data_dir, tmp_path) -> None:
    """Online, buildings, schools and water come from Overpass: those of the same OSM file."""
    full_export = data_dir / "osm" / "hanoi_vanmieu_full_export_2023-12.osm"
    reference = _read_osm_features(
        full_export, box(*padded_bbox(vanmieu_area.geometry, 0.005)), label="file"
    )
    assert reference is not None and len(reference["buildings"]) > 100
    with _online_with(full_export, tmp_path, settings) as (server, online):
        source = find_source(vanmieu_area.geometry, settings=online)
        feats = features_for(vanmieu_area, network_source=source, settings=online)
        assert source.kind == "overpass"
        assert server.queries(), "no feature query reached the Overpass server"
    assert "overpass" in feats.sources
    # the stand-in serves nodes and ways only: multipolygon relations exist only in the reference
    relations = {el.get("id") for _, el in ET.iterparse(full_export) if el.tag == "relation"}
    for layer in ("buildings", "schools", "water", "worship"):
        want = set(reference[layer]["osm_id"]) - relations
        assert len(want) > 0, layer
        assert set(feats.layers[layer]["osm_id"]) == want, layer
    assert feats.building_extent.area > 0


def test_networks_for__overpass_cached_until_refresh(settings, vanmieu_area, fake_overpass) -> None:
    """A download is cached; the second load asks nothing; ``refresh`` downloads again."""
    online = fake_overpass.settings
    first = networks_for(vanmieu_area, settings=online)
    asked = len(fake_overpass.queries())
    assert asked > 0 and not first.from_cache
    again = networks_for(vanmieu_area, settings=online)
    assert again.from_cache and len(fake_overpass.queries()) == asked
    fresh = networks_for(vanmieu_area, refresh=True, settings=online)
    assert not fresh.from_cache
    assert len(fake_overpass.queries()) > asked  # not answered from osmnx's HTTP cache
    assert fresh.truck.number_of_edges() == first.truck.number_of_edges()
