"""Benchmark: a monthly run of N statements through one SMTP connection to a real local server (aiosmtpd),
then the same month killed with SIGKILL half-way and re-run.

    python -m bench.bench_digest --n 10000 [--db sqlite|postgresql|URL] [--keep DIR] [--no-kill]

Prints the time of the run (queue + send), the throughput and how many SMTP connections the server saw
(the promise: one). Then, on a fresh database, `mailbot digest send` runs as a child process, is killed
with SIGKILL when the server has received half the statements, and is run again: every technician must
have received exactly one statement, except at most one whose statement the killed process had claimed
mid-send, which is reported to the admins as interrupted and not resent (at most once, docs/digests.md).
The server is tests/smtp_server.SmtpSink, so run this from a source checkout.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Self

from mailbot.digests.fanout import MonthReport, send_month
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Certification, TechAddress, Technician
from tests.helpers import ADMIN, INBOX_ADDR, make_app
from tests.smtp_server import SmtpSink

INSERT_BATCH = 1000
MONTH = "2026-12"
KILL_WAIT_SECONDS = 900  # the longest a first run may take to reach half (a loaded 2-core machine)


@dataclass(frozen=True)
class BenchResult:
    n: int
    seconds: float
    received: int
    connections: int
    report: MonthReport

    @property
    def per_second(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class KillResult:
    """What the server received over a run killed half-way (SIGKILL) and its re-run."""

    n: int
    at_kill: int  # messages the server had received when the first run was killed
    killed: bool  # the first run was still running when killed (else nothing was tested)
    received: int  # technicians who received their statement
    doubles: int  # technicians who received more than one (the promise: 0)
    interrupted: list[str]  # the re-run's list: claimed by the killed run, reported, not resent
    unreported: int  # technicians with no statement who are not in that list (the promise: 0)
    rollups: int  # roll-ups received (the promise: one per admin)
    told: bool  # the admins got the interrupted-run report, or there was nothing to report
    rerun_seconds: float
    arrived_anyway: int = 0  # interrupted statements the server had in fact accepted before the kill

    @property
    def promise_kept(self) -> bool:
        """Nobody got two; nobody was left out silently; at most the one claim in flight at the kill is in
        doubt (it may have arrived: received is n or n - 1); the admins got one roll-up and the report."""
        return (self.killed and self.doubles == 0 and self.unreported == 0 and len(self.interrupted) <= 1
                and self.rollups == 1 and self.told)


def add_technicians(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """N technicians with one WRT each, inserted in batches (add_technician's per-row checks are not needed)."""
    for start in range(0, n, INSERT_BATCH):
        with session_scope(engine) as s:
            techs = [Technician(name=f"Bench Tech {i:06d}") for i in range(start, min(n, start + INSERT_BATCH))]
            s.add_all(techs)
            s.flush()
            for i, tech in enumerate(techs, start):
                s.add(TechAddress(tech_id=tech.id, address=f"tech{i:06d}@bench.example", is_primary=True))
                s.add(Certification(tech_id=tech.id, designation="WRT", certified_on=date(2024, 1 + i % 12, 1)))


def _serve(conn) -> None:  # type: ignore[no-untyped-def]
    """Child process: the SMTP server (its own GIL, as a real server would have), answering the parent:
    ("wait", (count, timeout)) → messages received by then; ("received", None) → (recipient, subject) of
    each; ("stop", None) → the number of connections, then it stops."""
    sink = SmtpSink().start()
    conn.send((sink.host, sink.port))
    while True:
        command, arg = conn.recv()
        if command == "wait":
            try:
                conn.send(len(sink.wait_for(arg[0], timeout=arg[1])))
            except TimeoutError:
                conn.send(len(sink.messages))
        elif command == "received":
            conn.send([(m.rcpt_tos[0], str(m.message["Subject"])) for m in sink.messages])
        else:
            conn.send(sink.connection_count)
            break
    sink.stop()


class _Server:
    """The sink in a child process, driven over a pipe."""

    def __enter__(self) -> Self:
        self.conn, theirs = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=_serve, args=(theirs,), daemon=True)
        self.proc.start()
        self.host, self.port = self.conn.recv()
        return self

    def ask(self, command: str, arg: object = None) -> object:
        self.conn.send((command, arg))
        return self.conn.recv()

    def __exit__(self, *exc_info: object) -> None:
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.terminate()

    def outbox(self) -> dict:
        return {"kind": "smtp", "host": self.host, "port": self.port, "security": "none", "from": INBOX_ADDR}


def run(n: int, workdir: Path, db_url: str | None = None, month: str = MONTH) -> BenchResult:
    workdir.mkdir(parents=True, exist_ok=True)
    with _Server() as server:
        app = make_app(workdir, db_url or f"sqlite:///{workdir / 'bench.db'}", outbox=server.outbox())
        add_technicians(app.engine, n)
        started = time.perf_counter()
        report = send_month(app, month)
        seconds = time.perf_counter() - started
        received = server.ask("wait", (report.sent, 120))
        connections = server.ask("stop")
    return BenchResult(n, seconds, received, connections, report)


def _write_config(workdir: Path, db_url: str, server: _Server) -> Path:
    path = workdir / "mailbot-kill.toml"
    path.write_text(f"""
[company]
name = "Bench Restoration"
timezone = "UTC"
admins = ["{ADMIN}"]
address = "{INBOX_ADDR}"
[database]
url = "{db_url}"
[outbox]
kind = "smtp"
host = "{server.host}"
port = {server.port}
security = "none"
from = "{INBOX_ADDR}"
[iicrc]
live = true
[storage]
evidence_dir = "{workdir / 'evidence'}"
""")
    return path


def _digest_send(config: Path, month: str, name: str) -> subprocess.Popen:
    """`mailbot digest send --json` as a child process; its output goes to files (a full pipe would stall it)."""
    out, err = (open(config.parent / f"{name}.{ext}", "w") for ext in ("out", "log"))  # noqa: SIM115
    with out, err:
        return subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(config), "digest", "send",
                                 "--month", month, "--json"], stdout=out, stderr=err, text=True)


def _report(config: Path, name: str) -> dict:
    lines = (config.parent / f"{name}.out").read_text().strip().splitlines()
    if not lines:
        raise RuntimeError(f"the re-run printed no report:\n{(config.parent / f'{name}.log').read_text()[-2000:]}")
    return json.loads(lines[-1])


def _kill_at(server: _Server, proc: subprocess.Popen, count: int) -> tuple[int, bool]:
    """SIGKILL `proc` once the server has `count` messages. (received at the kill, was it still running)."""
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while proc.poll() is None and time.monotonic() < deadline:
        if server.ask("wait", (count, 2.0)) >= count:
            break
    running = proc.poll() is None
    if running:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return server.ask("wait", (0, 0)), running and proc.returncode == -signal.SIGKILL


def kill_and_rerun(n: int, workdir: Path, db_url: str | None = None, month: str = MONTH) -> KillResult:
    """`mailbot digest send` killed with SIGKILL when the server has n/2 statements, then run again."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{workdir / 'kill.db'}"
    with _Server() as server:
        app = make_app(workdir, db_url, outbox=server.outbox())
        add_technicians(app.engine, n)
        app.engine.dispose()
        config = _write_config(workdir, db_url, server)
        at_kill, killed = _kill_at(server, _digest_send(config, month, "killed"), max(1, n // 2))
        started = time.perf_counter()
        _digest_send(config, month, "rerun").wait(timeout=KILL_WAIT_SECONDS)
        rerun_seconds = time.perf_counter() - started
        report = _report(config, "rerun")
        received = server.ask("received")
        server.ask("stop")
    return _tally(n, at_kill, killed, report, received, rerun_seconds)


def _tally(n: int, at_kill: int, killed: bool, report: dict, received: list, rerun_seconds: float) -> KillResult:
    statements = Counter(rcpt for rcpt, subject in received if "CEC statement" in subject)
    interrupted = list(report["interrupted"])
    everyone = {f"tech{i:06d}@bench.example" for i in range(n)}
    told = not interrupted or any("interrupted while sending" in subject for _, subject in received)
    return KillResult(n=n, at_kill=at_kill, killed=killed, received=len(statements),
                      doubles=sum(1 for c in statements.values() if c > 1), interrupted=interrupted,
                      unreported=len(everyone - set(statements) - set(interrupted)),
                      rollups=sum(1 for _, subject in received if "roll-up" in subject), told=told,
                      rerun_seconds=rerun_seconds, arrived_anyway=len(set(interrupted) & set(statements)))


def _print_run(result: BenchResult) -> None:
    r = result.report
    print(f"statements queued: {r.queued}  roll-ups: {r.rollups_queued}  sent: {r.sent}  failed: {r.failed}")
    print(f"received at the SMTP server: {result.received} over {result.connections} connection(s)")
    print(f"total {result.seconds:.1f} s (queue + send)  →  {result.per_second:.0f} messages/s")


def _print_kill(k: KillResult) -> None:
    print(f"kill -9 at 50 %: killed with {k.at_kill} received (still running: {k.killed}); "
          f"re-run {k.rerun_seconds:.1f} s")
    print(f"after the re-run: {k.received:,} of {k.n:,} received, {len(k.interrupted)} interrupted "
          f"(in doubt, reported to the admins, not resent: {', '.join(k.interrupted) or 'none'}; "
          f"{k.arrived_anyway} of them arrived), {k.doubles} doubles, "
          f"{k.unreported} missing and unreported, {k.rollups} roll-up(s)  →  "
          f"{'promise kept' if k.promise_kept else 'PROMISE BROKEN'}")


def main() -> None:
    from bench.common import database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of technicians (statements)")
    parser.add_argument("--db", default="sqlite",
                        help="sqlite or postgresql (a fresh database for each part), or a URL (no kill test then)")
    parser.add_argument("--keep", default=None, help="work directory to keep (default: a temporary one)")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 at 50 %% and re-run")
    args = parser.parse_args()
    fresh = args.db in ("sqlite", "postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with database(args.db, workdir) if fresh else nullcontext(args.db) as db_url:
            _print_run(run(args.n, workdir / "run", db_url))
        if args.no_kill or not fresh:
            return
        with database(args.db, workdir) as db_url:
            _print_kill(kill_and_rerun(args.n, workdir / "kill", db_url))


if __name__ == "__main__":
    main()
