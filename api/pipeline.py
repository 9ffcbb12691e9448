"""The steps every command shares: load a study area's data and estimate its demand.

`load_ward_data` resolves the area, builds (or reads) both road networks, reads the feature
layers and the population, and spreads households and waste over demand units. Commands and the
API call it once and pass its pieces to the pure functions of `analysis`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from gomrac.analysis.demand import DemandParams, estimate_demand, proxy_groups
from gomrac.analysis.distance import GraphArrays
from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.crs import METRIC_CRS, to_metric
from gomrac.geo.facilities import choose_landfill, load_facilities
from gomrac.geo.features import Features, features_for
from gomrac.geo.network import (
    Networks,
    edges_gdf,
    largest_scc_share,
    networks_for,
    road_km_within,
    routable,
)
from gomrac.geo.osm import OSM_ATTRIBUTION
from gomrac.geo.population import Population, population_for
from gomrac.geo.wards import BOUNDARY_ATTRIBUTION, StudyArea, resolve_area

if TYPE_CHECKING:
    import networkx as nx

    from gomrac.geo.network import NetworkRules
    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

HANOI_SAMPLE = "boundaries/hanoi_central_sample_area.geojson"


@dataclass(frozen=True)
class WardData:
    """Everything the analyses need about one study area."""

    area: StudyArea
    networks: Networks | None  # None when no road data covers the area (see `roads_missing`)
    features: Features
    population: Population
    facilities: gpd.GeoDataFrame  # EPSG:4326, the facility the trucks unload at (one row) or none
    demand: gpd.GeoDataFrame | None  # EPSG:32648; None without roads or buildings to carry it
    groups: gpd.GeoDataFrame | None  # EPSG:32648, residential groups (proxy unless imported)
    params: DemandParams
    roads_missing: str | None = None  # why there is no road network, and how to get one
    notes: tuple[str, ...] = ()  # the area's notes and how the facility was chosen

    @cached_property
    def walk_arrays(self) -> GraphArrays:
        """The walk/handcart network's main component as arrays (metres), built once."""
        return GraphArrays.from_graph(routable(self.require_networks().cart), weight="length")

    @cached_property
    def truck_graph(self) -> nx.MultiDiGraph:
        """The truck network's largest strongly connected component (every node reaches all)."""
        return routable(self.require_networks().truck)

    @cached_property
    def truck_arrays(self) -> GraphArrays:
        """The truck network's largest strongly connected component as arrays (seconds)."""
        return GraphArrays.from_graph(self.truck_graph, weight="travel_time")

    @cached_property
    def truck_edges(self) -> gpd.GeoDataFrame:
        """The edges of the truck network's main part, EPSG:32648 (projected once).

        Every street a truck can reach and leave: where gathering points may stand for trucks to
        serve them.
        """
        return to_metric(edges_gdf(self.truck_graph))

    @cached_property
    def cart_edges(self) -> gpd.GeoDataFrame:
        """The handcart/walk network's edges, EPSG:32648 (projected once)."""
        return to_metric(edges_gdf(self.require_networks().cart))

    @cached_property
    def metric_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The non-empty feature layers (buildings, schools, markets, ...), EPSG:32648."""
        return {k: to_metric(v) for k, v in self.features.layers.items() if len(v)}

    @cached_property
    def area_gdf(self) -> gpd.GeoDataFrame:
        """The area's polygon as a one-row frame, EPSG:32648."""
        return gpd.GeoDataFrame(
            {"name": [self.area.name]}, geometry=[self.area.metric_geometry()], crs=METRIC_CRS
        )

    def require_networks(self) -> Networks:
        """Return the road networks, or raise the `DataNotFoundError` that says how to get them."""
        if self.networks is None:
            raise DataNotFoundError(self.roads_missing or "no road network")
        return self.networks

    def require_demand(self) -> gpd.GeoDataFrame:
        """Return the demand units, or raise a `DataNotFoundError` when nothing could carry them."""
        if self.demand is None:
            raise DataNotFoundError(self.roads_missing or "no demand units for this area")
        return self.demand

    def attribution(self) -> list[str]:
        """Attribution lines for maps and exports."""
        lines = [OSM_ATTRIBUTION]
        key = self.area.boundary_source
        if key in BOUNDARY_ATTRIBUTION:
            lines.append(BOUNDARY_ATTRIBUTION[key])
        return lines


def load_ward_data(
    ward: str | None = None,
    *,
    settings: Settings,
    boundary: str | Path | None = None,
    osm_path: str | Path | None = None,
    facilities_path: str | Path | None = None,
    population: float | None = None,
    rules: NetworkRules | None = None,
    params: DemandParams | None = None,
    groups: gpd.GeoDataFrame | None = None,
    progress: bool = False,
    require_roads: bool = True,
    landfill: str | None = None,
    refresh_roads: bool = False,
) -> WardData:
    """Resolve a study area and load its networks, features, population and demand.

    With ``require_roads=False`` an area without road data still loads (boundary, features,
    population); `WardData.roads_missing` then says how to get an extract. ``refresh_roads``
    rebuilds the networks rather than reading them from the cache (an Overpass download is
    cached once and otherwise kept).
    """
    area = resolve_area(ward, boundary=boundary, settings=settings)
    facilities = None
    notes = list(area.notes)
    if area.in_haiphong or facilities_path:
        facilities, note = choose_landfill(
            load_facilities(facilities_path, settings=settings), area.geometry, name=landfill
        )
        notes.append(note)
    networks: Networks | None = None
    missing: str | None = None
    try:
        networks = networks_for(
            area,
            settings=settings,
            facilities=facilities,
            osm_path=osm_path,
            rules=rules,
            progress=progress,
            refresh=refresh_roads,
        )
    except DataNotFoundError as exc:
        if require_roads:
            raise
        missing = str(exc)
    features = features_for(
        area, settings=settings, network_source=networks.source if networks else None
    )
    pop = population_for(area, settings=settings, override=population)
    params = params or (DemandParams() if area.is_urban else DemandParams.rural())
    buildings = features.layers["buildings"]
    demand = None
    if networks is not None or len(buildings):
        extent = (
            gpd.GeoSeries([features.building_extent], crs="EPSG:4326").to_crs(METRIC_CRS).iloc[0]
            if not features.building_extent.is_empty
            else None
        )
        streets = (
            to_metric(edges_gdf(networks.cart))
            if networks is not None
            else gpd.GeoDataFrame({"highway": []}, geometry=[], crs=METRIC_CRS)
        )
        demand = estimate_demand(
            area.metric_geometry(),
            pop.persons,
            buildings=to_metric(buildings) if len(buildings) else None,
            streets=streets,
            building_extent=extent,
            params=params,
        )
    if groups is not None:
        groups = to_metric(groups)
    elif demand is not None:
        groups = proxy_groups(demand)
    return WardData(
        area=area,
        networks=networks,
        features=features,
        population=pop,
        facilities=facilities
        if facilities is not None
        else gpd.GeoDataFrame(geometry=[], crs=4326),
        demand=demand,
        groups=groups,
        params=params,
        roads_missing=missing,
        notes=tuple(notes),
    )


def ward_summary(data: WardData) -> dict[str, Any]:
    """Collect the figures of `gomrac ward summary`, with the sources named.

    Without road data the road figures are None and ``data_sources.roads`` says how to get an
    extract; households and waste then come from the population alone.
    """
    area, nets, feats, d = data.area, data.networks, data.features, data.demand
    kinds = set(d["kind"]) if d is not None else set()
    sources = {
        "boundary": area.boundary_source,
        "roads": nets.source.label if nets else f"none: {data.roads_missing}",
        "roads_cached": nets.from_cache if nets else None,
        "features": list(feats.sources),
        "population": data.population.source,
        "demand_units": " and ".join(sorted(kinds)) or "none (population only)",
        "attribution": data.attribution(),
    }
    persons = data.population.persons
    households = (
        float(d["households"].sum())
        if d is not None
        else persons / data.params.persons_per_household
    )
    waste_kg = (
        float(d["waste_kg_day"].sum()) if d is not None else persons * data.params.kg_per_person_day
    )
    road = _road_figures(data)
    poly = area.geometry
    return {
        "ward": area.name,
        "code": area.code,
        "boundary_source": area.boundary_source,
        "area_km2": round(area.area_km2, 3),
        **road,
        "buildings": feats.count("buildings", within=area.geometry),
        "population": round(persons),
        "population_year": data.population.year,
        "households": round(households),
        "waste_t_per_day": round(waste_kg / 1000, 2),
        "waste_t_per_day_by_stream": {
            s: round(waste_kg * share / 1000, 2) for s, share in data.params.stream_shares.items()
        },
        "residential_groups": len(data.groups) if data.groups is not None else None,
        "schools": feats.count("schools", within=poly) + feats.count("kindergartens", within=poly),
        "markets": feats.count("markets", within=poly),
        "hospitals": feats.count("hospitals", within=poly),
        "water_bodies": feats.count("water", within=poly),
        "waste_facilities": feats.count("waste_facilities", within=poly),
        "notes": list(data.notes),
        "data_sources": sources,
    }


def _road_figures(data: WardData) -> dict[str, Any]:
    nets, poly = data.networks, data.area.geometry
    if nets is None:
        keys = (
            "truck_road_km",
            "cart_road_km",
            "truck_nodes",
            "truck_edges",
            "truck_scc_share",
            "cart_nodes",
            "cart_edges",
        )
        return dict.fromkeys(keys)
    return {
        "truck_road_km": round(road_km_within(nets.truck, poly), 2),
        "cart_road_km": round(road_km_within(nets.cart, poly), 2),
        "truck_nodes": len(nets.truck),
        "truck_edges": nets.truck.number_of_edges(),
        "truck_scc_share": round(largest_scc_share(nets.truck), 4),
        "cart_nodes": len(nets.cart),
        "cart_edges": nets.cart.number_of_edges(),
    }
