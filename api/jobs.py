"""Background plan jobs: one queue interface, procrastinate on PostgreSQL, a thread on SpatiaLite.

A job is a plan run (`gomrac.api.plan_runs`): `PlanQueue.enqueue` stores a ``queued`` plan row
and hands its id to the queue; a worker claims it, runs `execute_plan_run` (progress stored at
each stage and each weekly day problem, a cancel honoured there) and stores the outcome in the
same row. The row is the job's state for everyone: the web app, the command line and a
city-wide batch read status, progress, summary and files from the database, whichever worker
ran it.

=============  ==========================================================================
database       queue
=============  ==========================================================================
PostgreSQL     procrastinate (`ProcrastinateQueue`): the job table lives in the database
               (created by migration 0004), workers are ``gomrac worker`` processes on any
               machine that reaches the database and the plans folder (``GOMRAC_PLANS_DIR``,
               shared storage when they run elsewhere). The web app only enqueues.
SpatiaLite     an in-process worker (`InProcessQueue`): one thread of the web app that takes
               queued rows oldest first; a run left ``running`` by a process that no longer
               exists is stored as failed when the next one starts.
=============  ==========================================================================

A cancel asked for a queued job cancels it at once (procrastinate's job too); for a running
job it is stored and the run stops before its next stage (points, week, hotspots, cameras,
files) or, in the weekly routing, before its next day problem; its partial files are removed.
A HiGHS model or a PyVRP search running then polls the request (`gomrac.analysis.stopping`)
and ends within about a second instead of running to its time limit; so does a run whose
worker is shutting down.

Examples
--------
>>> queue = queue_for(engine, settings=settings)  # doctest: +SKIP
>>> run = queue.enqueue("11383", PlanRequest(), created_by="lan.nguyen")  # doctest: +SKIP
>>> wait_for_plan(engine, run.id, timeout_s=600).status  # doctest: +SKIP
'done'
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.engine import make_url

from gomrac.analysis.errors import ConfigError
from gomrac.api.plan_runs import PlanRequest, execute_plan_run, worker_name
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import FINISHED_PLAN_STATUSES, Plan

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext
    from sqlalchemy.engine import Engine

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

TASK_NAME: Final = "gomrac.plan_run"
QUEUE_NAME: Final = "plans"
#: Seconds between two looks at the queue when nothing wakes the in-process worker.
POLL_S: Final = 2.0


class PlanQueue(Protocol):
    """What every plan queue offers (`InProcessQueue`, `ProcrastinateQueue`)."""

    def enqueue(self, ward_code: str, request: PlanRequest, *, created_by: str | None) -> Plan:
        """Store a queued plan run for `ward_code`, hand it to the workers, return it as queued.

        A worker may claim it at once: read `get_plan_status` for what it is now.
        """

    def cancel(self, plan_id: int) -> Plan:
        """Cancel a queued run at once, a running one at its next stage."""

    def start(self) -> None:
        """Start what runs the jobs in this process, if anything."""

    def close(self) -> None:
        """Stop what `start` started and release connections."""


def get_plan_status(engine: Engine, plan_id: int) -> Plan:
    """Return a plan run as stored now (status, progress, stage, summary...)."""
    with session_scope(engine) as session:
        return store.get_plan(session, plan_id)


def wait_for_plan(
    engine: Engine, plan_id: int, *, timeout_s: float = 600.0, poll_s: float = 0.2
) -> Plan:
    """
    Wait until a plan run has finished (done, failed or cancelled) and return it.

    Raises
    ------
    TimeoutError
        If it is still queued or running after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        plan = get_plan_status(engine, plan_id)
        if plan.status in FINISHED_PLAN_STATUSES:
            return plan
        if time.monotonic() > deadline:
            msg = f"plan {plan_id} is still {plan.status} after {timeout_s:g} s"
            raise TimeoutError(msg)
        time.sleep(poll_s)


def _create_run(
    engine: Engine, ward_code: str, request: PlanRequest, created_by: str | None
) -> Plan:
    with session_scope(engine) as session:
        return store.create_plan_run(
            session, ward_code=ward_code, params=request.to_params(), created_by=created_by
        )


def _request_cancel(engine: Engine, plan_id: int) -> Plan:
    with session_scope(engine) as session:
        return store.request_plan_cancel(session, plan_id)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class InProcessQueue:
    """
    The SpatiaLite queue: a thread of this process runs queued plan rows, oldest first.

    Parameters
    ----------
    engine
        The app's database.
    settings
        Passed to every run.
    poll_s
        Seconds between looks at the queue when no enqueue wakes the thread.
    """

    def __init__(self, engine: Engine, *, settings: Settings, poll_s: float = POLL_S) -> None:
        self.engine = engine
        self.settings = settings
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def enqueue(self, ward_code: str, request: PlanRequest, *, created_by: str | None) -> Plan:
        """Store a queued run and wake the worker thread."""
        with session_scope(self.engine) as session:
            plan = store.create_plan_run(
                session, ward_code=ward_code, params=request.to_params(), created_by=created_by
            )
            plan.job_id = f"in-process:{plan.id}"
        self._wake.set()  # the worker may claim it at once: `plan` is the run as queued
        return plan

    def cancel(self, plan_id: int) -> Plan:
        """Cancel a queued run at once, a running one at its next stage."""
        return _request_cancel(self.engine, plan_id)

    def start(self) -> None:
        """Fail the runs orphaned by a stopped process, then start the worker thread."""
        self._fail_orphans()
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gomrac-plan-worker", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop the thread; a running plan stops at its next stage and is stored failed."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _fail_orphans(self) -> None:
        host = worker_name().split(":", 1)[0]
        with session_scope(self.engine) as session:
            running = session.scalars(select(Plan).where(Plan.status == "running")).all()
            for plan in running:
                who_host, _, pid = (plan.worker or "").rpartition(":")
                if who_host == host and pid.isdigit() and _pid_alive(int(pid)):
                    continue
                store.fail_plan_run(
                    session,
                    plan.id,
                    error=f"the process running it ({plan.worker}) stopped; queue the plan again",
                )

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with session_scope(self.engine) as session:
                    plan_id = store.next_queued_plan(session)
                if plan_id is None:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                execute_plan_run(
                    self.engine, plan_id, settings=self.settings, should_abort=self._stop.is_set
                )
            except Exception:  # the worker outlives a database hiccup
                log.exception("in-process plan worker: retrying in %.0f s", self.poll_s)
                self._stop.wait(self.poll_s)


def conninfo(database_url: str) -> str:
    """Return the libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        msg = (
            "the procrastinate job queue needs PostgreSQL (GOMRAC_DATABASE_URL="
            "postgresql+psycopg://...); with SpatiaLite the web app runs plans itself"
        )
        raise ConfigError(msg)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run_plan_task(context: JobContext, plan_id: int) -> str:
    """Run one plan row and store its outcome (the procrastinate task)."""
    from procrastinate.exceptions import JobAborted

    extra = context.additional_context
    plan = execute_plan_run(
        extra["engine"],
        plan_id,
        settings=extra["settings"],
        worker=f"{worker_name()}/{context.worker_name or 'worker'}",
        should_abort=context.should_abort,
    )
    if plan.status == "cancelled" and context.should_abort():
        msg = f"plan {plan_id} cancelled"
        raise JobAborted(msg)
    return plan.status


def procrastinate_app(database_url: str, *, max_pool_size: int = 4) -> procrastinate.App:
    """
    Return a procrastinate app on the database of `database_url` with the plan task.

    The connection's ``search_path`` (a ``-csearch_path=`` option in the URL) is kept, so the
    job table is the one migration 0004 created beside gomrac's tables.
    """
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=max_pool_size
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME, queue=QUEUE_NAME, pass_context=True)(_run_plan_task)
    return app


class ProcrastinateQueue:
    """
    The PostgreSQL queue: procrastinate jobs, run by ``gomrac worker`` processes.

    The connection pool opens at the first enqueue or cancel and closes with `close`.
    """

    def __init__(self, engine: Engine, *, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.app = procrastinate_app(settings.database_url, max_pool_size=2)
        self._open = False
        self._lock = threading.Lock()

    def _opened(self) -> procrastinate.App:
        with self._lock:
            if not self._open:
                self.app.open()
                self._open = True
        return self.app

    def enqueue(self, ward_code: str, request: PlanRequest, *, created_by: str | None) -> Plan:
        """Store a queued run, then defer its procrastinate job (a refusal fails the run)."""
        plan = _create_run(self.engine, ward_code, request, created_by)
        try:
            job_id = self._opened().configure_task(TASK_NAME).defer(plan_id=plan.id)
        except Exception as exc:
            log.exception("plan %s: the job queue refused it", plan.id)
            with session_scope(self.engine) as session:
                return store.fail_plan_run(
                    session, plan.id, error=f"the job queue refused the plan: {exc}"
                )
        with session_scope(self.engine) as session:
            store.set_plan_job(session, plan.id, job_id=str(job_id))
        plan.job_id = str(job_id)  # a worker may have claimed it already: this is the run as queued
        return plan

    def cancel(self, plan_id: int) -> Plan:
        """Store the cancel, then cancel (queued) or abort (running) the procrastinate job."""
        plan = _request_cancel(self.engine, plan_id)
        if plan.job_id and plan.job_id.isdigit():
            self._opened().job_manager.cancel_job_by_id(int(plan.job_id), abort=True)
        return plan

    def start(self) -> None:
        """Nothing runs here: ``gomrac worker`` processes run the jobs."""

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            if self._open:
                self.app.close()
                self._open = False


def queue_for(engine: Engine, *, settings: Settings) -> PlanQueue:
    """Return the queue of this database: procrastinate on PostgreSQL, else in-process."""
    if engine.dialect.name == "postgresql":
        return ProcrastinateQueue(engine, settings=settings)
    return InProcessQueue(engine, settings=settings)


def _worker_context(settings: Settings) -> tuple[Engine, dict[str, Any]]:
    from gomrac.geo.db import init_db, make_engine

    conninfo(settings.database_url)  # a clear error before anything connects
    engine = make_engine(settings.database_url)
    init_db(engine)
    return engine, {"engine": engine, "settings": settings}


async def run_worker_async(
    settings: Settings,
    *,
    wait: bool = True,
    name: str | None = None,
    concurrency: int = 1,
    install_signal_handlers: bool = True,
    poll_s: float = POLL_S,
) -> None:
    """
    Run a procrastinate worker for plan jobs until stopped (or, ``wait=False``, the queue is empty).

    Parameters
    ----------
    settings
        The worker's settings: the database (PostgreSQL), data and plans folders.
    wait
        Keep waiting for jobs (True) or return when the queue is empty.
    name
        The worker's name in procrastinate and in the runs it records.
    concurrency
        Plans run at once (each in a thread).
    install_signal_handlers
        Stop gracefully on SIGINT/SIGTERM (False when embedded in another loop).
    poll_s
        Seconds between polls for new jobs and abort requests (LISTEN/NOTIFY wakes it sooner).
    """
    engine, context = _worker_context(settings)
    app = procrastinate_app(settings.database_url, max_pool_size=concurrency + 2)
    try:
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE_NAME],
                wait=wait,
                name=name or worker_name(),
                concurrency=concurrency,
                additional_context=context,
                install_signal_handlers=install_signal_handlers,
                fetch_job_polling_interval=poll_s,
                abort_job_polling_interval=poll_s,
            )
    finally:
        engine.dispose()


def run_worker(settings: Settings, **kwargs: Any) -> None:
    """Run `run_worker_async` in a new event loop (``gomrac worker``)."""
    asyncio.run(run_worker_async(settings, **kwargs))
