"""Benchmark: a monthly run of N statements through one SMTP connection to a real local server (aiosmtpd).

    python -m bench.bench_digest --n 10000 [--db sqlite:///path.db] [--keep DIR]

Prints the time to queue (balance + render + insert) and to send, the throughput, and how many SMTP
connections the server saw (the promise: one). The server is tests/smtp_server.SmtpSink, so run this
from a source checkout.
"""
from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mailbot.digests.fanout import MonthReport, send_month
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Certification, TechAddress, Technician
from tests.helpers import INBOX_ADDR, make_app
from tests.smtp_server import SmtpSink

INSERT_BATCH = 1000


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
    """Child process: run the SMTP server (its own GIL, as a real server would have); report counts on request."""
    sink = SmtpSink().start()
    conn.send((sink.host, sink.port))
    expected = conn.recv()
    received = len(sink.wait_for(expected, timeout=120))
    conn.send((received, sink.connection_count))
    sink.stop()


def run(n: int, workdir: Path, db_url: str | None = None, month: str = "2026-12") -> BenchResult:
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(theirs,), daemon=True)
    server.start()
    try:
        host, port = ours.recv()
        outbox = {"kind": "smtp", "host": host, "port": port, "security": "none", "from": INBOX_ADDR}
        app = make_app(workdir, db_url or f"sqlite:///{workdir / 'bench.db'}", outbox=outbox)
        add_technicians(app.engine, n)
        started = time.perf_counter()
        report = send_month(app, month)
        seconds = time.perf_counter() - started
        ours.send(report.sent)
        received, connections = ours.recv()
        return BenchResult(n, seconds, received, connections, report)
    finally:
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of technicians (statements)")
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--keep", default=None, help="work directory to keep (default: a temporary one)")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = run(args.n, Path(args.keep), args.db)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args.n, Path(tmp), args.db)
    r = result.report
    print(f"statements queued: {r.queued}  roll-ups: {r.rollups_queued}  sent: {r.sent}  failed: {r.failed}")
    print(f"received at the SMTP server: {result.received} over {result.connections} connection(s)")
    print(f"total {result.seconds:.1f} s (queue + send)  →  {result.per_second:.0f} messages/s")


if __name__ == "__main__":
    main()
