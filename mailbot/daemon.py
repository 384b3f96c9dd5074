"""The daemon: APScheduler runs each tick on its schedule; an IDLE watcher wakes the poll job early.

Ticks are bounded and idempotent, so a missed or repeated run is harmless. SIGTERM/SIGINT let the
running tick finish, then exit 0.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from mailbot import sdnotify
from mailbot.alarms import alarm_tick
from mailbot.app import App
from mailbot.digests.jobs import digest_tick, escalation_tick
from mailbot.jobs import poll_tick, reconcile_tick, recover_interrupted_work, send_notices, send_tick
from mailbot.leader import leader_lock, wait_for_leadership
from mailbot.ledger import health
from mailbot.ledger.db import session_scope
from mailbot.mail import notices

log = logging.getLogger("mailbot.daemon")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter (malloc.h)


def fix_mmap_threshold(size: int = 128 * 1024) -> None:
    """Keep glibc's mmap threshold at its default. Left to itself it rises to the size of the biggest
    buffer freed (a scanned certificate's email is ~200 KB), after which such buffers come from the heap
    and stay in RSS once freed; mmapped, they go back to the system at once (~6 MB after a backlog with
    scans). The extraction worker gets the same through MALLOC_MMAP_THRESHOLD_ (extract/worker.py)."""
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, size)
    except (OSError, AttributeError):  # not glibc: its allocator decides for itself
        pass


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
                        scheduler.modify_job("poll", next_run_time=datetime.now(UTC))
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


def auth_check_tick(app: App) -> None:
    """OAuth2 sign-in trouble (a failed refresh, a refresh token about to expire) → one email per day."""
    from mailbot.auth import auth_warnings
    from mailbot.mail.compose import render

    warnings = auth_warnings(app)
    if not warnings:
        return
    context = {"company": {"name": app.config.company.name}, "kind": "alarm", "job": "sign-in",
               "what": "; ".join(warnings), "when": app.clock().strftime("%Y-%m-%d %H:%M UTC")}
    rendered = render(app.templates, "alarm", context)
    with session_scope(app.engine) as s:
        for admin in app.config.company.admins:
            notices.queue(s, recipient=admin, kind="auth-warning", period=app.today().isoformat(), rendered=rendered)


def build_scheduler(app: App) -> BlockingScheduler:
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(2)}, job_defaults=JOB_DEFAULTS,
                                  timezone=app.config.company.timezone)
    now = datetime.now(UTC)
    scheduler.add_job(_guarded("poll", poll_tick), "interval", args=[app], id="poll",
                      seconds=app.config.schedule.poll_seconds, next_run_time=now, replace_existing=True)
    scheduler.add_job(_guarded("send", send_tick), "interval", args=[app], id="send",
                      seconds=app.config.schedule.send_seconds, next_run_time=now, replace_existing=True)
    sched = app.config.schedule
    scheduler.add_job(_guarded("digest", digest_tick), "cron", args=[app], id="digest", hour=sched.digest_hour,
                      minute=5, replace_existing=True)  # daily; the tick knows the day and if the month is done
    scheduler.add_job(_guarded("escalate", escalation_tick), "cron", args=[app], id="escalate",
                      hour=sched.digest_hour, minute=15, replace_existing=True)
    hour, minute = sched.reconcile_at.split(":")
    scheduler.add_job(_guarded("reconcile", reconcile_tick), "cron", args=[app], id="reconcile",
                      hour=int(hour), minute=int(minute), replace_existing=True)
    started = app.clock()
    scheduler.add_job(_guarded("alarm", lambda a: (alarm_tick(a, started), send_notices(a))), "interval",
                      args=[app], id="alarm", seconds=60, replace_existing=True)
    scheduler.add_job(_guarded("auth", auth_check_tick), "interval", args=[app], id="auth", hours=6,
                      next_run_time=datetime.now(UTC), replace_existing=True)
    return scheduler


def _watch_leadership(lock, scheduler: BlockingScheduler, stop: threading.Event, lost: threading.Event) -> None:  # type: ignore[no-untyped-def]
    def check() -> None:
        if not stop.is_set() and not lock.still_held():
            log.error("leadership lost: stopping so a standby can take over")
            lost.set()
            stop.set()
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()
    scheduler.add_job(check, "interval", seconds=10, id="leadership", replace_existing=True)


def _standby(lock, stop: threading.Event) -> bool:  # type: ignore[no-untyped-def]
    def waiting() -> None:
        log.info("standby: another mailbot leads; waiting")
        sdnotify.notify("READY=1", "STATUS=standby: another mailbot leads this database")
    return wait_for_leadership(lock, stop, on_wait=waiting)


def _reexec() -> None:
    """SIGHUP: the config is re-read by starting afresh in the same process (same PID for systemd)."""
    sdnotify.notify("RELOADING=1")
    log.info("reloading: re-executing to re-read the config")
    os.execv(sys.executable, [sys.executable, "-m", "mailbot", *sys.argv[1:]])


class Signals:
    """SIGTERM/SIGINT stop, SIGHUP reloads. The handler only sets flags and starts a thread: blocking in a
    signal handler can deadlock with a job thread that needs a lock the interrupted main thread holds."""

    def __init__(self, scheduler: BlockingScheduler):
        self.scheduler = scheduler
        self.stop, self.reload = threading.Event(), threading.Event()
        self.settled = threading.Event()  # the main thread will not start the scheduler (any more)
        self._stopper: threading.Thread | None = None
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:  # type: ignore[no-untyped-def]
        log.info("stopping signal=%s", signal.Signals(signum).name)
        if signum == signal.SIGHUP:
            self.reload.set()
        else:
            sdnotify.notify("STOPPING=1")
        self.stop.set()
        if self._stopper is None:
            self._stopper = threading.Thread(target=self._shutdown_when_started, name="stopper", daemon=True)
            self._stopper.start()

    def _shutdown_when_started(self) -> None:
        """Stop the scheduler, letting the running tick finish (a signal may come just before it starts)."""
        while not self.scheduler.running and not self.settled.is_set():
            time.sleep(0.05)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def run_scheduler(self) -> None:
        if not self.stop.is_set():
            self.scheduler.start()
        self.settled.set()
        if self._stopper is not None:  # the running tick finishes before the caller gives up the lock
            self._stopper.join()


def _lead(app: App, scheduler: BlockingScheduler, lock, signals: Signals, lost: threading.Event) -> None:  # type: ignore[no-untyped-def]
    log.info("leader pid=%d", os.getpid())
    recover_interrupted_work(app)
    with session_scope(app.engine) as s:
        health.record_ok(s, "daemon", detail=f"leader pid={os.getpid()} host={socket.gethostname()}")
    _watch_leadership(lock, scheduler, signals.stop, lost)
    threading.Thread(target=_idle_watcher, args=(app, scheduler, signals.stop), name="idle", daemon=True).start()
    log.info("started poll_seconds=%d send_seconds=%d", app.config.schedule.poll_seconds,
             app.config.schedule.send_seconds)
    sdnotify.notify("READY=1", f"STATUS=leader: polling every {app.config.schedule.poll_seconds}s")
    interval = sdnotify.watchdog_interval()
    if interval:
        scheduler.add_job(lambda: sdnotify.notify("WATCHDOG=1"), "interval", seconds=interval, id="watchdog")
    signals.run_scheduler()


def run_daemon(app: App) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or until leadership is lost (exit 1, systemd restarts us).
    SIGHUP finishes the running tick, then re-executes to re-read the config."""
    setup_logging()
    fix_mmap_threshold()
    app.engine  # noqa: B018 - connect and migrate before the first tick
    scheduler = build_scheduler(app)
    signals, lost = Signals(scheduler), threading.Event()
    lock = leader_lock(app.engine, app.sqlite_path)
    if _standby(lock, signals.stop):
        try:
            _lead(app, scheduler, lock, signals, lost)
        finally:
            lock.release()
        log.info("stopped")
    signals.settled.set()
    if signals.reload.is_set():
        _reexec()
    return 1 if lost.is_set() else 0
