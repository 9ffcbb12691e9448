"""Alembic environment for gomrac (SpatiaLite and PostGIS).

`geo.db.init_db` runs the upgrade programmatically and passes its connection in
``config.attributes["connection"]``. From the command line, use the ini file beside this one::

    export GOMRAC_DATABASE_URL=sqlite:///data/gomrac.sqlite
    alembic -c geo/migrations/alembic.ini upgrade head
    alembic -c geo/migrations/alembic.ini revision --autogenerate -m "add a column"

Autogenerate uses GeoAlchemy2's helpers so spatial tables, columns and indexes are written with
``create_geospatial_table`` / ``create_geospatial_index`` (which handle SpatiaLite's
``RecoverGeometryColumn`` / ``CreateSpatialIndex``) and SpatiaLite's own tables are ignored.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from geoalchemy2.alembic_helpers import include_object as _include_spatial_object
from geoalchemy2.alembic_helpers import render_item, writer
from sqlalchemy.engine import Connection

from gomrac.geo.db import make_engine
from gomrac.geo.models import Base
from gomrac.geo.settings import settings_from_env

config = context.config
if config.config_file_name is not None:  # command line only; init_db leaves logging alone
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata

# SpatiaLite's own tables that GeoAlchemy2's filter does not know about
_SPATIALITE_TABLES = frozenset(
    {"ElementaryGeometries", "KNN", "KNN2", "SpatialIndex", "data_licenses", "sql_statements_log"}
)


def include_object(
    obj: object, name: str | None, obj_type: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the spatial extensions' tables out of autogenerate."""
    if obj_type == "table" and name in _SPATIALITE_TABLES:
        return False
    return bool(_include_spatial_object(obj, name, obj_type, reflected, compare_to))


def _configure_and_run(connection: Connection) -> None:
    # On PostgreSQL keep the version table in the schema the tables go to (the first schema of
    # the search_path), so a database with several gomrac schemas migrates each one.
    version_schema = (
        connection.dialect.default_schema_name if connection.dialect.name == "postgresql" else None
    )
    context.configure(
        connection=connection,
        version_table_schema=version_schema,
        target_metadata=target_metadata,
        include_object=include_object,
        render_item=render_item,
        process_revision_directives=writer,
        render_as_batch=True,  # SQLite alters tables by copy-and-move
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection given by `init_db`, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    # the alembic command line is an edge: the settings are read here, once
    url = config.get_main_option("sqlalchemy.url") or settings_from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    msg = "offline (--sql) migrations are not supported: spatial DDL needs a live connection"
    raise RuntimeError(msg)
run_migrations_online()
