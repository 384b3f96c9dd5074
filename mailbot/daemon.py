"""The daemon: APScheduler runs each tick on its schedule; an IDLE watcher wakes the poll job early.

Ticks are bounded and idempotent, so a missed or repeated run is harmless. SIGTERM/SIGINT let the
running tick finish, then exit 0.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from mailbot.app import App
from mailbot.alarms import alarm_tick
from mailbot.jobs import poll_tick, recover_interrupted_work, send_notices, send_tick
from mailbot.ledger import health
from mailbot.ledger.db import session_scope
from mailbot.leader import leader_lock, wait_for_leadership

log = logging.getLogger("mailbot.daemon")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def setup_logging(level: int = logging.INFO) -> None:
    """One line per event, key=value context, to stderr (journald adds the timestamp)."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("apscheduler", "alembic"):  # they log every run at INFO; ours says what happened
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _guarded(name: str, func):  # type: ignore[no-untyped-def]
    """Run a tick; record success or failure in its health row (read by status and the stall alarm)."""
    def tick(app: App) -> None:
        try:
            func(app)
        except Exception as exc:  # noqa: BLE001 - a failing tick is logged; the next one runs anyway
            log.error("job failed job=%s error=%r", name, str(exc))
            with session_scope(app.engine) as s:
                health.record_failure(s, name, f"{type(exc).__name__}: {exc}")
            return
        with session_scope(app.engine) as s:
            health.record_ok(s, name)
    tick.__name__ = name
    return tick


def _idle_watcher(app: App, scheduler: BlockingScheduler, stop: threading.Event) -> None:
    """Hold an IDLE connection; when the server reports new mail, run the poll job now.
    Reconnects with exponential backoff (5 s → 5 min); the poll job keeps running meanwhile."""
    backoff = 5
    while not stop.is_set():
        try:
            with app.source() as source:
                _idle_health(app, ok=True, detail="IDLE connected")
                while not stop.is_set():
                    if source.wait_for_new(timeout=60):
                        _idle_health(app, ok=True, detail="new mail reported")
                        scheduler.modify_job("poll", next_run_time=datetime.now(timezone.utc))
        except Exception as exc:  # noqa: BLE001 - reconnect after a pause; polling covers the gap
            log.warning("idle watcher reconnecting error=%r", str(exc))
            _idle_health(app, ok=False, detail=str(exc))
            stop.wait(backoff)
            backoff = min(backoff * 2, 300)
        else:
            backoff = 5


def _idle_health(app: App, *, ok: bool, detail: str) -> None:
    try:
        with session_scope(app.engine) as s:
            if ok:
                health.record_ok(s, "idle", detail=detail)
            else:
                health.record_failure(s, "idle", detail)
    except Exception as exc:  # noqa: BLE001 - health bookkeeping never stops the watcher
        log.warning("health write failed error=%r", str(exc))


def build_scheduler(app: App) -> BlockingScheduler:
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(2)}, job_defaults=JOB_DEFAULTS,
                                  timezone=app.config.company.timezone)
    now = datetime.now(timezone.utc)
    scheduler.add_job(_guarded("poll", poll_tick), "interval", args=[app], id="poll",
                      seconds=app.config.schedule.poll_seconds, next_run_time=now, replace_existing=True)
    scheduler.add_job(_guarded("send", send_tick), "interval", args=[app], id="send",
                      seconds=app.config.schedule.send_seconds, next_run_time=now, replace_existing=True)
    started = app.clock()
    scheduler.add_job(_guarded("alarm", lambda a: (alarm_tick(a, started), send_notices(a))), "interval",
                      args=[app], id="alarm", seconds=60, replace_existing=True)
    return scheduler


def _watch_leadership(lock, scheduler: BlockingScheduler, stop: threading.Event, lost: threading.Event) -> None:  # type: ignore[no-untyped-def]
    def check() -> None:
        if not stop.is_set() and not lock.still_held():
            log.error("leadership lost: stopping so a standby can take over")
            lost.set()
            stop.set()
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()
    scheduler.add_job(check, "interval", seconds=10, id="leadership", replace_existing=True)


def run_daemon(app: App) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or until leadership is lost (exit 1, systemd restarts us)."""
    setup_logging()
    app.engine  # noqa: B018 - connect and create tables before the first tick
    stop, lost = threading.Event(), threading.Event()
    scheduler = build_scheduler(app)

    def shutdown(signum, _frame):  # type: ignore[no-untyped-def]
        log.info("stopping signal=%s", signal.Signals(signum).name)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    lock = leader_lock(app.engine, app.sqlite_path)
    if not wait_for_leadership(lock, stop, on_wait=lambda: log.info("standby: another mailbot leads; waiting")):
        return 0
    log.info("leader pid=%d", os.getpid())
    recover_interrupted_work(app)
    with session_scope(app.engine) as s:
        health.record_ok(s, "daemon", detail=f"leader pid={os.getpid()} host={socket.gethostname()}")
    _watch_leadership(lock, scheduler, stop, lost)
    threading.Thread(target=_idle_watcher, args=(app, scheduler, stop), name="idle", daemon=True).start()
    log.info("started poll_seconds=%d send_seconds=%d", app.config.schedule.poll_seconds,
             app.config.schedule.send_seconds)
    try:
        scheduler.start()
    finally:
        lock.release()
    log.info("stopped")
    return 1 if lost.is_set() else 0
