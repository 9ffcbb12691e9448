"""Engine, migrations and sessions on SpatiaLite and PostGIS."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.db import alembic_config, init_db, make_engine, session_scope
from gomrac.geo.models import Base, Camera, Plan, Report
from gomrac.geo.settings import settings_from_env

SPATIAL = {
    "ward": "MULTIPOLYGON",
    "residential_group": "GEOMETRY",
    "gathering_point": "POINT",
    "facility": "GEOMETRY",
    "report": "POINT",
    "dump_site": "GEOMETRY",
    "camera": "POINT",
}


def test_database_url__env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """GOMRAC_DATABASE_URL wins; otherwise a SpatiaLite file in the cache folder."""
    monkeypatch.setenv("GOMRAC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert settings_from_env().database_url == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("GOMRAC_DATABASE_URL")
    url = make_url(settings_from_env().database_url)
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database or "").name == "gomrac.sqlite"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://u@h/db"])
def test_make_engine__unsupported(url: str) -> None:
    """In-memory SQLite and other backends are refused with a message that says what to use."""
    with pytest.raises(DataNotFoundError, match=r"sqlite:///|postgresql"):
        make_engine(url)


def test_make_engine__sqlite_pragmas(tmp_path: Path) -> None:
    """SQLite connections have SpatiaLite, WAL, foreign keys and a busy timeout."""
    eng = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT spatialite_version()")).scalar()
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000
            assert conn.execute(text("SELECT ST_SRID(MakePoint(1, 2, 4326))")).scalar() == 4326
    finally:
        eng.dispose()


def test_init_db__spatial_columns_and_indexes(engine: Engine) -> None:
    """Every geometry column is registered with SRID 4326 and its type, and is indexed."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(
                text(
                    "SELECT f_table_name, geometry_type, srid, spatial_index_enabled "
                    "FROM geometry_columns"
                )
            ).all()
            codes = {0: "GEOMETRY", 1: "POINT", 6: "MULTIPOLYGON"}
            found = {t: (codes[g], s, bool(i)) for t, g, s, i in rows}
        else:
            rows = conn.execute(
                text(
                    "SELECT f_table_name, type, srid FROM geometry_columns "
                    "WHERE f_table_schema = current_schema()"
                )
            ).all()
            indexed = set(
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_indexes WHERE schemaname = current_schema() "
                        "AND indexdef LIKE '%USING gist (geom)%'"
                    )
                ).scalars()
            )
            found = {t: (g, s, t in indexed) for t, g, s in rows}
    assert found == {t: (kind, 4326, True) for t, kind in SPATIAL.items()}


def test_init_db__idempotent_and_at_head(engine: Engine) -> None:
    """A second init_db changes nothing and the database sits at the newest revision."""
    init_db(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_migrations__match_models(engine: Engine) -> None:
    """Autogenerate finds no difference between the migrated schema and geo.models."""
    from geoalchemy2.alembic_helpers import include_object

    def only_ours(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        if kind == "table" and name not in Base.metadata.tables:
            return False
        return bool(include_object(obj, name, kind, reflected, other))

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": only_ours, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrations__downgrade_and_upgrade(engine: Engine) -> None:
    """Downgrading to base drops every table and spatial registration; upgrading restores them."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        conn.commit()
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) & set(Base.metadata.tables) == set()
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("SELECT count(*) FROM geometry_columns")).scalar() == 0
    init_db(engine)
    with engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())


def test_geometry__srid_enforced(engine: Engine) -> None:
    """A point in another SRID is refused by the database (SpatiaLite trigger, PostGIS typmod)."""
    with pytest.raises((IntegrityError, DBAPIError)), session_scope(engine) as session:
        session.add(Report(service_code="burning", geom=from_shape(Point(1, 2), srid=3857)))


def test_geometry__type_enforced(engine: Engine) -> None:
    """A polygon in a POINT column is refused by the database."""
    square = Point(106.68, 20.84).buffer(0.001)
    with pytest.raises((IntegrityError, DBAPIError)), session_scope(engine) as session:
        session.add(Camera(ward_code="11383", geom=from_shape(square, srid=4326)))


def test_session_scope__commit_and_rollback(engine: Engine) -> None:
    """A clean block commits; an exception rolls the whole block back and propagates."""
    with session_scope(engine) as session:
        session.add(Plan(ward_code="11383", kind="points"))
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as session:
        session.add(Plan(ward_code="11383", kind="routes"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert session.scalars(select(Plan.kind)).all() == ["points"]


def test_concurrent_writers__wait_instead_of_failing(engine: Engine) -> None:
    """Eight threads each doing read-then-write transactions all succeed (no 'database locked')."""
    n_threads, n_each = 8, 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(n_each):
                with session_scope(engine) as session:
                    seen = session.scalar(select(func.count()).select_from(Plan))
                    session.add(Plan(ward_code="11383", kind="points", params={"seen": seen}))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == n_threads * n_each
        seen = sorted(p["seen"] for p in session.scalars(select(Plan.params)))
    if engine.dialect.name == "sqlite":
        # BEGIN IMMEDIATE serialises whole transactions: every count read was a distinct state
        assert seen == list(range(n_threads * n_each))


def test_spatialite__geopackage_readable_afterwards(tmp_path: Path, data_dir: Path) -> None:
    """After SpatiaLite is loaded, GDAL still reads a GeoPackage (no symbol clash, no segfault)."""
    script = f"""
import sys
import geopandas as gpd
from sqlalchemy import text
from gomrac.geo.db import init_db, make_engine
assert "pyogrio" not in sys.modules  # GDAL not loaded yet: the order that used to crash
engine = make_engine("sqlite:///{tmp_path / "x.sqlite"}")
init_db(engine)
with engine.connect() as conn:
    conn.execute(text("SELECT spatialite_version()"))
    gdf = gpd.read_file("{data_dir / "boundaries" / "haiphong_haiduong_admin_2009.gpkg"}",
                        layer="communes_2009")
    gdf.to_file("{tmp_path / "out.gpkg"}", layer="x")
    print(len(gpd.read_file("{tmp_path / "out.gpkg"}")))
"""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(  # our own interpreter
        [sys.executable, "-X", "faulthandler", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "488"
