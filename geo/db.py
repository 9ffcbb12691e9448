"""Database engine, schema migrations and sessions (SpatiaLite by default, PostGIS in production).

=======================  ================================================================
variable                 meaning
=======================  ================================================================
GOMRAC_DATABASE_URL      SQLAlchemy URL; default ``sqlite:///<cache_dir>/gomrac.sqlite``;
                         production: ``postgresql+psycopg://user:pass@host:5432/gomrac``
SPATIALITE_LIBRARY_PATH  where SQLite finds the SpatiaLite module (default ``mod_spatialite``)
=======================  ================================================================

SQLite connections load ``mod_spatialite`` through GeoAlchemy2's `load_spatialite` (spatial
metadata initialised with the WGS 84 reference systems only, which is fast), run in WAL mode
with a busy timeout, enforce foreign keys, and open every transaction with ``BEGIN IMMEDIATE``:
concurrent writers then queue on the busy timeout instead of failing with "database is locked"
when a read lock cannot be upgraded. PostgreSQL needs the ``postgis`` extension in the database.

Some Python builds (pyenv's among them) compile the standard ``sqlite3`` module without
extension loading; `make_engine` then uses ``pysqlite3`` (PyPI ``pysqlite3-binary``, the same
DB-API with loadable extensions) and says so when neither can load SpatiaLite.

The schema is created and upgraded by Alembic (`init_db`), never by ``create_all``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from alembic import command
from alembic.config import Config
from geoalchemy2.admin.dialects.sqlite import load_spatialite
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gomrac.analysis.errors import DataNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S: Final = 60.0
_MIGRATION_LOCK_KEY: Final = 7_311_2025  # pg_advisory_lock key serialising concurrent upgrades
#: execution option of an engine or connection that only reads (``engine.execution_options(
#: **{READ_ONLY: True})``): on SQLite its transactions begin deferred, without the write lock
READ_ONLY: Final = "gomrac_read_only"


def sqlite_module() -> ModuleType:
    """
    Return a DB-API ``sqlite3`` module able to load SpatiaLite.

    The standard library module when it supports extension loading, else ``pysqlite3``.

    Raises
    ------
    DataNotFoundError
        If neither can load extensions; the message says what to install.
    """
    import sqlite3

    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2
    except ImportError:
        msg = (
            "this Python's sqlite3 module cannot load extensions, so SpatiaLite is unavailable; "
            "install pysqlite3-binary (pip install pysqlite3-binary) or use PostGIS through "
            "GOMRAC_DATABASE_URL=postgresql+psycopg://..."
        )
        raise DataNotFoundError(msg) from None
    module: ModuleType = dbapi2
    return module


def _preload_spatial_libraries() -> None:
    """
    Load shapely's GEOS, pyproj's PROJ and pyogrio's GDAL before SQLite or SpatiaLite.

    Observed with the wheels this project pins: once a SpatiaLite (or pysqlite3) connection
    is open, loading pyogrio's GDAL, which carries its own SQLite, PROJ and GEOS, makes it
    crash on first use (reading a GeoPackage segfaults). SQLite loads ``mod_spatialite`` with
    ``RTLD_GLOBAL``, so the system's libsqlite3/libproj/libgeos enter the global symbol scope
    and a library loaded later can bind to them; libraries loaded before keep their own
    bindings. ``tests/geo/test_db.py`` checks the order in a fresh interpreter.
    """
    for name in ("shapely", "pyproj", "pyogrio"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional here, required elsewhere
            log.debug("preload: %s not installed", name)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    load_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")
    cur = dbapi_conn.cursor()
    # after loading SpatiaLite, which sets its own 5 s busy timeout
    cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at BEGIN: a deferred transaction that read first cannot wait for
    # the lock in WAL mode (SQLITE_BUSY_SNAPSHOT), an immediate one waits on busy_timeout.
    # A connection marked READ_ONLY never writes: it reads a WAL snapshot beside the writer.
    conn.exec_driver_sql(
        "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """
    Create an engine for SpatiaLite or PostGIS.

    Parameters
    ----------
    url
        SQLAlchemy URL (`Settings.database_url`): ``sqlite:///path`` (SpatiaLite) or
        ``postgresql+psycopg://...`` (PostGIS). The folder of a SQLite file is created.
    **kwargs
        Passed to `sqlalchemy.create_engine` (e.g. ``pool_size``).

    Returns
    -------
    Engine
        With SpatiaLite loaded on every SQLite connection.

    Raises
    ------
    DataNotFoundError
        If the URL is a SQLite in-memory database (each pooled connection would see its own
        empty database) or names an unsupported backend.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            msg = "in-memory SQLite is not supported; give a file: sqlite:////tmp/gomrac.sqlite"
            raise DataNotFoundError(msg)
        os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        _preload_spatial_libraries()
        kwargs.setdefault("module", sqlite_module())
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif backend == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    else:
        msg = f"unsupported database {backend!r}: use sqlite:///file or postgresql+psycopg://"
        raise DataNotFoundError(msg)
    log.info("make_engine: %s", engine.url.render_as_string(hide_password=True))
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration pointing at ``geo/migrations`` (and at `engine` when given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def init_db(engine: Engine, *, revision: str = "head") -> None:
    """
    Create or upgrade the schema to `revision` with Alembic (idempotent).

    On PostgreSQL a session advisory lock serialises concurrent callers (several API workers
    starting at once); on SQLite ``BEGIN IMMEDIATE`` does the same.

    Parameters
    ----------
    engine
        From `make_engine`.
    revision
        Alembic target revision.
    """
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        is_pg = conn.dialect.name == "postgresql"
        if is_pg:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if is_pg:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                conn.commit()
    log.info("init_db: %s at %s", engine.url.get_backend_name(), revision)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """
    Open a session, commit when the block ends, roll back and re-raise on error.

    Parameters
    ----------
    engine
        Engine to use (`make_engine`, migrated by `init_db`).

    Examples
    --------
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     session.add(report)
    """
    session = make_sessionmaker(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
