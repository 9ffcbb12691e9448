"""Shared fixtures: the real data folder, the Hanoi sample area and its networks."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.settings import get_settings


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data; the suite needs it (see SOURCES.md)."""
    path = get_settings().data_dir
    if not (path / "boundaries").is_dir():
        pytest.fail(f"shared data not found at {path}; set GOMRAC_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def hanoi_sample_file(data_dir: Path) -> Path:
    """The study-area polygon of the central-Hanoi street extract."""
    return data_dir / "boundaries" / "hanoi_central_sample_area.geojson"


@pytest.fixture(scope="session")
def hanoi_streets_file(data_dir: Path) -> Path:
    """Real OSM streets of central Hanoi (2023-12-13), with alleys."""
    return data_dir / "osm" / "hanoi_central_streets_2023-12-13.osm"


@pytest.fixture(scope="session")
def hanoi_area(hanoi_sample_file: Path):  # noqa: ANN201
    """The Hanoi sample area as a StudyArea."""
    from geo.wards import area_from_file

    return area_from_file(hanoi_sample_file)


@pytest.fixture(scope="session")
def hanoi_networks(hanoi_area):  # noqa: ANN001, ANN201
    """Truck and handcart networks of the Hanoi sample, built from the real extract."""
    from geo.network import networks_for

    return networks_for(hanoi_area)


@pytest.fixture(scope="session")
def hanoi_data(hanoi_sample_file: Path):  # noqa: ANN201
    """Everything the analyses need about the Hanoi sample area."""
    from api.pipeline import load_ward_data

    return load_ward_data(boundary=hanoi_sample_file)


@pytest.fixture(scope="session")
def vanmieu_boundary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 km² study area around Văn Miếu (Hanoi): real streets and real building footprints."""
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path_factory.mktemp("areas") / "van_mieu.geojson"
    gpd.GeoDataFrame({"name": ["Văn Miếu (Hà Nội, mẫu)"]},
                     geometry=[box(105.8268, 21.0233, 105.8390, 21.0303)], crs=4326).to_file(path)
    return path


@pytest.fixture(scope="session")
def vanmieu_data(vanmieu_boundary: Path):  # noqa: ANN201
    """Networks, features, population and demand of the Văn Miếu area."""
    from api.pipeline import load_ward_data

    return load_ward_data(boundary=vanmieu_boundary)


@pytest.fixture(scope="session")
def vanmieu_points(vanmieu_data):  # noqa: ANN001, ANN201
    """A --cover-all gathering-point plan of the Văn Miếu area."""
    from api.points import PointsParams, plan_points

    return plan_points(vanmieu_data, params=PointsParams(time_limit_s=30))


@pytest.fixture(scope="session")
def vanmieu_routes(vanmieu_data, vanmieu_points):  # noqa: ANN001, ANN201
    """A daily collection plan for the Văn Miếu points (stand-in landfill, labelled)."""
    from api.routes import RoutesParams, plan_routes

    return plan_routes(vanmieu_data, vanmieu_points.proposed.to_crs(4326),
                       params=RoutesParams(time_limit_s=5))
