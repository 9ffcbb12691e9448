"""Split-body trucks and per-type garages in the weekly plan of the Văn Miếu sample.

Provenance: the Văn Miếu fixture of tests/conftest.py (real OSM streets and buildings of central
Hanoi). The facilities and the garage are SAMPLE positions chosen on the area's own truck
streets (its westmost node takes food waste, its eastmost residual and recyclable waste, its
southmost node is the split-body trucks' garage), so the two streams a split-body truck carries
are tipped ~1 km apart; the fleet is a sample fleet file.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import Point

from gomrac.analysis.errors import ApproximateDataWarning, ValidationError
from gomrac.api.check import check_week
from gomrac.api.routes import fleet_from_file
from gomrac.api.weekly import SAMPLE_LABEL, assignment_from_points_plan, plan_week, write_week
from gomrac.geo.crs import METRIC_CRS, WGS84

WEEK = date(2026, 12, 7)  # a Monday
GEOD = pyproj.Geod(ellps="WGS84")


def _lonlat(data, pick) -> tuple[float, float]:
    xy = data.truck_arrays.xy
    p = gpd.GeoSeries([Point(xy[pick(xy)])], crs=METRIC_CRS).to_crs(WGS84).iloc[0]
    return round(p.x, 6), round(p.y, 6)


@pytest.fixture(scope="module")
def sites(vanmieu_data):
    """SAMPLE facilities (food west, residual and recyclable east) and a garage (south)."""
    west = _lonlat(vanmieu_data, lambda xy: int(np.argmin(xy[:, 0])))
    east = _lonlat(vanmieu_data, lambda xy: int(np.argmax(xy[:, 0])))
    south = _lonlat(vanmieu_data, lambda xy: int(np.argmin(xy[:, 1])))
    facilities = gpd.GeoDataFrame(
        {
            "fid": ["MAU-1", "MAU-2"],
            "name": ["Điểm ủ phân (MẪU)", "Điểm tập kết rác còn lại và tái chế (MẪU)"],
            "kind": ["composting", "landfill recycling"],
        },
        geometry=[Point(west), Point(east)],
        crs=WGS84,
    )
    return facilities, south


@pytest.fixture(scope="module")
def fleet_file(sites, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample fleet: split-body food + residual trucks garaged south, compactors for the rest."""
    _, (lon, lat) = sites
    path = tmp_path_factory.mktemp("fleet") / "fleet.csv"
    pd.DataFrame(
        {
            "name": ["xe hai ngăn (MẪU)", "xe ép 7 t (MẪU)"],
            "count": [8, 4],
            "capacity_kg": [7000, 7000],
            "compartment_food_kg": [2000, None],
            "compartment_residual_kg": [5000, None],
            "garage_lon": [lon, None],
            "garage_lat": [lat, None],
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def split_week(vanmieu_data, vanmieu_points, sites, fleet_file, tmp_path_factory):
    """The weekly plan with the sample split-body fleet, written to a folder."""
    facilities, _ = sites
    with pytest.warns(ApproximateDataWarning, match="MẪU"):
        plan = plan_week(
            vanmieu_data,
            vanmieu_points.proposed,
            fleet=fleet_from_file(fleet_file),
            facilities=facilities,
            assignment=assignment_from_points_plan(vanmieu_data, vanmieu_points),
            week_start=WEEK,
            time_limit_s=10,
            max_iterations=200,
        )
    out = tmp_path_factory.mktemp("split_week")
    write_week(plan, out, label=SAMPLE_LABEL, attribution=vanmieu_data.attribution())
    return plan, out


def test_split_week__no_violation(split_week) -> None:
    """The independent checker finds nothing wrong, split-body checks included."""
    plan, out = split_week
    assert plan.overall["solver_violations"] == 0
    assert check_week(out) == []


def test_split_week__co_collected_on_one_stop(split_week) -> None:
    """Every food and residual visit is one stop of a split-body truck carrying both."""
    plan, _ = split_week
    v = plan.visits
    both = v[v["stream"].isin(["food", "residual"])]
    assert both["vehicle"].str.startswith("TPCL-").all()
    stops = both.groupby(["point_id", "service_day", "vehicle", "arrival_s"])["stream"]
    assert len(stops) == len(both) / 2
    assert all(sorted(streams) == ["food", "residual"] for _, streams in stops)
    # the shared pattern: both streams on the same days at every point
    p = plan.points
    assert (p["food_days"] == p["residual_days"]).all()
    assert v[v["stream"] == "recyclable"]["vehicle"].str.startswith("TC-").all()


def test_split_week__compartments_within_capacity_and_unloaded_at_their_facility(
    split_week,
) -> None:
    """Each compartment's load per trip fits it and is tipped at its own stream's facility."""
    plan, out = split_week
    t = pd.read_csv(out / "trips.csv")
    fac = pd.read_csv(out / "facilities.csv").set_index("stream")
    split = t[t["collection"] == "food+residual"]
    assert len(split) and set(split["stream"]) == {"food", "residual"}
    caps = {"food": 2000.0, "residual": 5000.0}
    v = plan.visits
    for (stream, day, vehicle, trip), rows in split.groupby(
        ["stream", "service_day", "vehicle", "trip"]
    ):
        assert len(rows) == 1
        r = rows.iloc[0]
        assert r["capacity_kg"] == caps[stream]
        mine = v[
            (v["stream"] == stream)
            & (v["service_day"] == day)
            & (v["vehicle"] == vehicle)
            & (v["trip"] == trip)
        ]
        assert mine["kg"].sum() == pytest.approx(r["kg"], abs=0.05 * len(mine))
        assert mine["kg"].sum() <= caps[stream] + 1e-6
        f = fac.loc[stream]
        assert GEOD.inv(r["unload_lon"], r["unload_lat"], f["lon"], f["lat"])[2] < 1.0
    apart = GEOD.inv(
        fac.loc["food", "lon"],
        fac.loc["food", "lat"],
        fac.loc["residual", "lon"],
        fac.loc["residual", "lat"],
    )[2]
    assert apart > 500.0
    # each trip tips food and residual at their two facilities, both after the last stop
    per_trip = split.groupby(["service_day", "vehicle", "trip"])["stream"].apply(set)
    assert (per_trip == {"food", "residual"}).all()


def test_split_week__type_garages(split_week, sites) -> None:
    """Split-body trucks leave from and return to their own garage; the others to the plan's."""
    _, out = split_week
    _, (lon, lat) = sites
    types = pd.read_csv(out / "vehicle_types.csv")
    split = types[types["collection"] == "food+residual"].iloc[0]
    assert GEOD.inv(split["garage_lon"], split["garage_lat"], lon, lat)[2] < 50.0
    plain = types[types["collection"] == "recyclable"].iloc[0]
    assert (
        GEOD.inv(
            split["garage_lon"], split["garage_lat"], plain["garage_lon"], plain["garage_lat"]
        )[2]
        > 100.0
    )
    t = pd.read_csv(out / "trips.csv")
    for _, r in t.iterrows():
        row = split if r["collection"] == "food+residual" else plain
        assert (r["garage_lon"], r["garage_lat"]) == (row["garage_lon"], row["garage_lat"])


def _plant(out: Path, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / how
    shutil.copytree(out, bad)
    v = pd.read_csv(bad / "visits.csv", dtype={"point_id": str})
    t = pd.read_csv(bad / "trips.csv")
    split = (v["vehicle"].str.startswith("TPCL-")) & (v["stream"] == "food")
    if how == "overloaded_compartment":
        v.loc[split.idxmax(), "kg"] += 2500.0
        v.to_csv(bad / "visits.csv", index=False)
    elif how == "wrong_facility":
        fac = pd.read_csv(bad / "facilities.csv").set_index("stream")
        food = t.index[(t["collection"] == "food+residual") & (t["stream"] == "food")][0]
        t.loc[food, ["unload_lon", "unload_lat"]] = fac.loc["residual", ["lon", "lat"]].to_numpy()
        t.to_csv(bad / "trips.csv", index=False)
    elif how == "split_stop":
        v.loc[split.idxmax(), "arrival_s"] += 60.0
        v.to_csv(bad / "visits.csv", index=False)
    elif how == "wrong_garage":
        types = pd.read_csv(bad / "vehicle_types.csv")
        types.loc[types["collection"] == "food+residual", "garage_lon"] += 0.005
        types.to_csv(bad / "vehicle_types.csv", index=False)
    return bad


@pytest.mark.parametrize(
    ("how", "expect"),
    [
        ("overloaded_compartment", "kg > capacity 2000 kg"),
        ("wrong_facility", "m from the food facility"),
        ("split_stop", "not all of ['food', 'residual'] together"),
        ("wrong_garage", "not its vehicle type's"),
    ],
)
def test_check_week__catches_planted_compartment_fault(
    split_week, tmp_path: Path, how: str, expect: str
) -> None:
    """A planted fault in a split-body truck's files is reported by the checker."""
    _, out = split_week
    issues = check_week(_plant(out, tmp_path, how))
    assert any(expect in i for i in issues), issues


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"compartment_glass_kg": 2000}, "compartment_glass_kg: unknown stream 'glass'"),
        ({"compartment_food_kg": -100}, "compartment_food_kg must be positive"),
        (
            {"compartment_food_kg": 3000, "compartment_residual_kg": 5000},
            "above the body's capacity_kg",
        ),
        ({"compartment_food_m3": 4}, "compartment_food_m3 is given without compartment_food_kg"),
        ({"garage_lon": 105.83}, "garage_lon and garage_lat must be given together"),
        ({"garage_lon": 105.83, "garage_lat": 121.0}, "garage_lonlat"),
    ],
)
def test_fleet_from_file__bad_compartments_and_garage(tmp_path: Path, fields, expect) -> None:
    """A bad split-body or garage field is refused in one line naming the field and the file."""
    path = tmp_path / "fleet.json"
    pd.DataFrame([{"name": "xe", "count": 2, "capacity_kg": 7000, **fields}]).to_json(
        path, orient="records"
    )
    with pytest.raises(ValidationError, match=expect) as info:
        fleet_from_file(path)
    assert "\n" not in str(info.value) and "fleet.json, vehicle type 1" in str(info.value)


def test_fleet_from_file__compartments_and_garage(fleet_file, sites) -> None:
    """The sample fleet file reads into a split-body type with its garage, and a plain type."""
    _, south = sites
    split, plain = fleet_from_file(fleet_file)
    assert [(c.stream, c.capacity_kg) for c in split.compartments] == [
        ("food", 2000.0),
        ("residual", 5000.0),
    ]
    assert split.garage_lonlat == south
    assert plain.compartments == () and plain.garage_lonlat is None


def test_plan_week__stream_in_two_layouts(vanmieu_data, vanmieu_points, tmp_path: Path) -> None:
    """A stream co-collected by two different compartment layouts is refused in one line."""
    path = tmp_path / "fleet.csv"
    pd.DataFrame(
        {
            "count": [2, 2],
            "compartment_food_kg": [2000, 2000],
            "compartment_residual_kg": [4000, None],
            "compartment_recyclable_kg": [None, 3000],
        }
    ).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="stream 'food' is in two compartment layouts"):
        plan_week(
            vanmieu_data, vanmieu_points.proposed, fleet=fleet_from_file(path), week_start=WEEK
        )


def test_cli_streams_plan__split_body_fleet_file(
    vanmieu_boundary, vanmieu_points, sites, fleet_file, tmp_path: Path, capsys
) -> None:
    """``gomrac streams plan --fleet`` with compartments and a garage: files the checker passes."""
    from gomrac.api.cli import main

    facilities, (lon, lat) = sites
    fac_csv = tmp_path / "facilities.csv"
    pd.DataFrame(
        {
            "fid": facilities["fid"],
            "name": facilities["name"],
            "kind": facilities["kind"],
            "lon": facilities.geometry.x,
            "lat": facilities.geometry.y,
        }
    ).to_csv(fac_csv, index=False)
    pts = tmp_path / "points.geojson"
    vanmieu_points.proposed.to_crs(WGS84).to_file(pts)
    out = tmp_path / "week"
    args = ["streams", "plan", "--boundary", str(vanmieu_boundary), "--points", str(pts)]
    args += ["--fleet", str(fleet_file), "--facilities", str(fac_csv), "--out", str(out)]
    with pytest.warns(ApproximateDataWarning):
        assert main([*args, "--time-limit", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["check_violations"] == 0
    assert check_week(out) == []
    types = pd.read_csv(out / "vehicle_types.csv").set_index("collection")
    assert GEOD.inv(*types.loc["food+residual", ["garage_lon", "garage_lat"]], lon, lat)[2] < 50
    v = pd.read_csv(out / "visits.csv")
    assert set(v.loc[v["stream"] == "food", "vehicle"].str[:5]) == {"TPCL-"}
