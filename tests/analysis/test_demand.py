"""Households and waste per building and street point, by stream; bins; proxy groups."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from gomrac.analysis.demand import (
    STREAMS,
    DemandParams,
    assign_groups,
    bins_needed,
    estimate_demand,
    proxy_groups,
    street_points,
)
from gomrac.analysis.errors import CRSError, ValidationError

X0, Y0 = 600_000.0, 2_300_000.0
AREA = box(X0, Y0, X0 + 400, Y0 + 400)


def _streets() -> gpd.GeoDataFrame:
    lines = [
        LineString([(X0, Y0 + 100), (X0 + 400, Y0 + 100)]),
        LineString([(X0, Y0 + 300), (X0 + 400, Y0 + 300)]),
        LineString([(X0 + 200, Y0), (X0 + 200, Y0 + 400)]),
    ]
    return gpd.GeoDataFrame(
        {"highway": ["residential", "service", "footway"]}, geometry=lines, crs=32648
    )


def _buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "kind": ["house", "yes", "school"],
            "levels": [2.0, np.nan, 3.0],
            "osm_id": ["1", "2", "3"],
        },
        geometry=[
            box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20),
            box(X0 + 30, Y0 + 10, X0 + 40, Y0 + 20),
            box(X0 + 50, Y0 + 10, X0 + 90, Y0 + 50),
        ],
        crs=32648,
    )


def test_estimate_demand__streets_only() -> None:
    """Without buildings the population is spread by street length; footways carry nobody."""
    d = estimate_demand(AREA, 1000, buildings=None, streets=_streets())
    assert d["persons"].sum() == pytest.approx(1000)
    assert set(d["kind"]) == {"street"}
    assert len(d) == 16  # two 400 m residential streets at 50 m spacing
    assert d["households"].sum() == pytest.approx(1000 / 3.3)


def test_estimate_demand__buildings_by_floor_area() -> None:
    """Buildings get people by footprint × levels (3 when untagged); a school gets none."""
    d = estimate_demand(AREA, 500, buildings=_buildings(), streets=_streets())
    assert set(d["kind"]) == {"building"} and len(d) == 2
    # 100 m² × 2 levels vs 100 m² × 3 default levels
    np.testing.assert_allclose(d["persons"].to_numpy(), [200.0, 300.0])


def test_estimate_demand__partial_building_extent() -> None:
    """Footprints mapped on half the area carry half the people; streets carry the rest."""
    extent = box(X0, Y0, X0 + 200, Y0 + 400)
    d = estimate_demand(
        AREA, 1000, buildings=_buildings(), streets=_streets(), building_extent=extent
    )
    assert d.loc[d["kind"] == "building", "persons"].sum() == pytest.approx(500)
    street = d[d["kind"] == "street"]
    assert street["persons"].sum() == pytest.approx(500)
    assert (street.geometry.x > X0 + 200).all()


def test_estimate_demand__streams_sum_to_total() -> None:
    """The three sorted streams add up to the total waste, at urban or rural rates."""
    for params in (DemandParams(), DemandParams.rural()):
        d = estimate_demand(AREA, 1000, buildings=None, streets=_streets(), params=params)
        assert d["waste_kg_day"].sum() == pytest.approx(1000 * params.kg_per_person_day)
        total = sum(d[f"{s}_kg_day"] for s in STREAMS)
        np.testing.assert_allclose(total, d["waste_kg_day"])


def test_estimate_demand__bad_inputs() -> None:
    """Degrees, a negative population and bad stream shares are refused with a message."""
    with pytest.raises(CRSError):
        estimate_demand(AREA, 10, buildings=None, streets=_streets().to_crs(4326))
    with pytest.raises(ValidationError, match="population"):
        estimate_demand(AREA, -1, buildings=None, streets=_streets())
    with pytest.raises(ValidationError, match="stream_shares"):
        DemandParams(stream_shares={"food": 0.5, "recyclable": 0.1, "residual": 0.1})


def test_street_points__two_way_counted_once() -> None:
    """A street stored as two directed edges yields one set of points."""
    s = _streets()
    rev = s.iloc[[0]].copy()
    rev["geometry"] = [LineString(list(s.geometry.iloc[0].coords)[::-1])]
    both = gpd.GeoDataFrame(gpd.pd.concat([s, rev]), crs=32648)
    assert len(street_points(both, AREA, spacing_m=50)) == len(street_points(s, AREA, spacing_m=50))


def test_bins_needed() -> None:
    """A 660 L bin holds 660 × 0.2 × 0.85 = 112.2 kg a collection: 113 kg needs two."""
    assert bins_needed(112.2).tolist() == 1
    assert bins_needed(113.0).tolist() == 2
    assert bins_needed(np.array([0.0, 50.0]), bin_l=240).tolist() == [0, 2]


def test_proxy_groups__cover_all_households() -> None:
    """Proxy groups partition the households, and every unit falls in a group."""
    d = estimate_demand(AREA, 3000, buildings=None, streets=_streets())
    g = proxy_groups(d, households_per_group=300)
    assert len(g) == round(d["households"].sum() / 300)
    assert g["households"].sum() == pytest.approx(d["households"].sum())
    assert assign_groups(d, g).notna().all()


def test_estimate_demand__real_hanoi(hanoi_data) -> None:
    """On the Hanoi sample, footprints carry the Văn Miếu part and streets the rest; totals hold."""
    d = hanoi_data.demand
    assert d["persons"].sum() == pytest.approx(hanoi_data.population.persons)
    kinds = d.groupby("kind")["persons"].sum()
    assert set(kinds.index) == {"building", "street"}
    assert 0 < kinds["building"] / kinds.sum() < 0.2  # Văn Miếu export covers ~1 km² of ~15
