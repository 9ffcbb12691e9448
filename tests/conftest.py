"""Shared fixtures: the real data folder, the Hanoi sample area and its networks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gomrac.geo.settings import Settings

# The suite's one reading of the environment (GOMRAC_DATA_DIR, GOMRAC_OFFLINE, ...): every test
# passes these settings in, or its own copy with `model_copy(update=...)`.
SETTINGS = Settings()

# GDAL (pyogrio) must load its own SQLite/PROJ before SpatiaLite loads the system ones into the
# process, or reading a GeoPackage afterwards crashes: open one GeoPackage first, in every worker.
_gpkg = SETTINGS.data_dir / "boundaries" / "haiphong_haiduong_admin_2009.gpkg"
if _gpkg.exists():
    import pyogrio

    pyogrio.read_info(_gpkg, layer="provinces_2009")


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings every test passes in (read from the environment once)."""
    return SETTINGS


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data; the suite needs it (see SOURCES.md)."""
    path = SETTINGS.data_dir
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
def hanoi_area(hanoi_sample_file: Path):
    """The Hanoi sample area as a StudyArea."""
    from gomrac.geo.wards import area_from_file

    return area_from_file(hanoi_sample_file, settings=SETTINGS)


@pytest.fixture(scope="session")
def hanoi_networks(hanoi_area):
    """Truck and handcart networks of the Hanoi sample, built from the real extract."""
    from gomrac.geo.network import networks_for

    return networks_for(hanoi_area, settings=SETTINGS)


@pytest.fixture(scope="session")
def hanoi_data(hanoi_sample_file: Path):
    """Everything the analyses need about the Hanoi sample area."""
    from gomrac.api.pipeline import load_ward_data

    return load_ward_data(boundary=hanoi_sample_file, settings=SETTINGS)


@pytest.fixture(scope="session")
def vanmieu_boundary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 km² study area around Văn Miếu (Hanoi): real streets and real building footprints."""
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path_factory.mktemp("areas") / "van_mieu.geojson"
    gpd.GeoDataFrame(
        {"name": ["Văn Miếu (Hà Nội, mẫu)"]},
        geometry=[box(105.8268, 21.0233, 105.8390, 21.0303)],
        crs=4326,
    ).to_file(path)
    return path


@pytest.fixture(scope="session")
def vanmieu_data(vanmieu_boundary: Path):
    """Networks, features, population and demand of the Văn Miếu area."""
    from gomrac.api.pipeline import load_ward_data

    return load_ward_data(boundary=vanmieu_boundary, settings=SETTINGS)


@pytest.fixture(scope="session")
def vanmieu_points(vanmieu_data):
    """A --cover-all gathering-point plan of the Văn Miếu area."""
    from gomrac.api.points import PointsParams, plan_points

    return plan_points(vanmieu_data, params=PointsParams(time_limit_s=30))


@pytest.fixture(scope="session")
def vanmieu_plan(vanmieu_data):
    """A ward plan of the Văn Miếu area (points, week, hotspots, cameras), labelled as the Hanoi
    sample; short searches."""
    import warnings

    from gomrac.api.planning import PlanOptions, plan_ward

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan_ward(
            vanmieu_data,
            settings=SETTINGS,
            options=PlanOptions(time_limit_s=5, camera_budget=4),
            is_sample=True,
        )


@pytest.fixture(scope="session")
def vanmieu_routes(vanmieu_data, vanmieu_points):
    """A daily collection plan for the Văn Miếu points (stand-in landfill, labelled)."""
    from gomrac.api.routes import RoutesParams, plan_routes

    return plan_routes(
        vanmieu_data, vanmieu_points.proposed.to_crs(4326), params=RoutesParams(time_limit_s=5)
    )


POSTGIS_ENV = "GOMRAC_TEST_POSTGIS_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--require-all-dialects``: fail, rather than skip, the PostGIS runs without a server."""
    parser.addoption(
        "--require-all-dialects",
        action="store_true",
        help=f"fail when {POSTGIS_ENV} is not set instead of skipping PostGIS tests",
    )


def postgis_schema_url(base_url: str, schema: str) -> str:
    """`base_url` with a search_path that puts `schema` first (PostGIS stays reachable)."""
    from sqlalchemy.engine import make_url

    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema},public"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database per test: a SpatiaLite file, or a fresh PostGIS schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gomrac.sqlite'}"
        return
    base = os.environ.get(POSTGIS_ENV)
    if not base:
        if request.config.getoption("--require-all-dialects"):
            pytest.fail(f"{POSTGIS_ENV} is not set and --require-all-dialects was given")
        pytest.skip(f"{POSTGIS_ENV} is not set (start one with scripts/postgis.sh start)")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgis_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str):
    """A migrated engine on `db_url`."""
    from gomrac.geo.db import init_db, make_engine

    eng = make_engine(db_url)
    init_db(eng)
    yield eng
    eng.dispose()
