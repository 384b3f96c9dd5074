"""Backlog throughput and memory: a backlog of forwarded certificates (90 % text PDFs, 10 % scans) lands in
the inbox of a running `mailbot run` and is ingested end to end (fetched, extracted, recorded, filed, the
receipt sent to the SMTP sink), beside a bare baseline loop over the same text-PDF emails in the same run:
imap-tools fetch (mark_seen=False, 20 per FETCH like mailbot) + pypdfium2 text + nothing else.

    python -m bench.bench_backlog --n 1000 [--db sqlite|postgresql]

The text PDFs arrive first, the scans after they are done, so the text throughput is measured on its own.
RSS is the daemon plus its extraction worker, sampled as the backlog goes (25/50/75/100 %), and the peak is
the kernel's high-water mark (VmHWM) of each; tesseract's short-lived processes are not counted.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import (
    PER_TECH,
    Daemon,
    Figure,
    Servers,
    certificate_forward,
    database,
    peak_rss_mb,
    register,
    rss_mb,
    servers,
    technicians,
    wait_until,
    write_config,
)

GOAL_RATIO, GOAL_PEAK_MB, GOAL_FLAT_MB = 0.8, 150.0, 15.0
CHECKPOINTS = (25, 50, 75, 100)


def baseline(srv: Servers, raws: list[bytes]) -> float:
    """Seconds for the bare loop over `raws` (delivered to an account of its own first)."""
    import pypdfium2 as pdfium
    from imap_tools import MailBoxUnencrypted

    user, password = srv.dovecot.add_user()
    srv.dovecot.deliver_to_maildir(user, raws)
    started, pdfs = time.perf_counter(), 0
    with MailBoxUnencrypted(srv.dovecot.host, srv.dovecot.port).login(user, password) as box:
        for msg in box.fetch(mark_seen=False, bulk=20):
            for att in msg.attachments:
                if att.payload.startswith(b"%PDF-"):
                    pdf = pdfium.PdfDocument(att.payload)
                    "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
                    pdfs += 1
    seconds = time.perf_counter() - started
    if pdfs != len(raws):
        raise RuntimeError(f"baseline read {pdfs} PDFs from {len(raws)} emails")
    return seconds


@dataclass
class Progress:
    """What the ledger says (done rows by state, receipts still to send) and the daemon's memory."""
    db_url: str
    pid: int
    total: int
    states: dict[str, int] = field(default_factory=dict)
    unsent: int = 0
    at: dict[int, float] = field(default_factory=dict)  # checkpoint % → RSS MB (daemon + worker)
    worker_peak: float = 0.0

    def done(self) -> int:
        return sum(n for state, n in self.states.items() if state not in ("received", "retry"))

    def watch(self, stop: threading.Event) -> None:
        engine = create_engine(self.db_url)
        try:
            while not stop.wait(0.2):
                self.sample(engine)
        finally:
            engine.dispose()

    def sample(self, engine) -> None:  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            self.states = dict(conn.execute(text("SELECT state, count(*) FROM inboundmessage GROUP BY state")).all())
            self.unsent = conn.execute(text("SELECT count(*) FROM notice WHERE state IN ('pending', 'sending')")
                                       ).scalar_one()
        self.worker_peak = max(self.worker_peak, peak_rss_mb(self.pid)[1])
        for pct in CHECKPOINTS:
            if pct not in self.at and self.done() * 100 >= pct * self.total and not (pct == 100 and self.unsent):
                self.at[pct] = sum(rss_mb(self.pid))

    def settled(self, count: int) -> bool:
        return self.done() >= count and not self.unsent


@dataclass(frozen=True)
class BacklogRun:
    n_text: int
    n_scan: int
    text_seconds: float
    scan_seconds: float
    baseline_seconds: float
    rss_at: dict[int, float]
    peak_daemon: float
    peak_worker: float
    states: dict[str, int]
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage over the text PDFs' passes


STAGE = re.compile(r"\b([a-z]+)_ms=(\d+)")


def stage_seconds(log_text: str) -> dict[str, float]:
    """Seconds per stage summed over the "poll done … list_ms=3 fetch_ms=40 …" lines of a daemon log."""
    total: dict[str, float] = {}
    for line in log_text.splitlines():
        if "poll done" in line:
            for stage, ms in STAGE.findall(line):
                total[stage] = total.get(stage, 0.0) + int(ms) / 1000
    return total


def ingest(daemon: Daemon, progress: Progress, srv: Servers, user: str, raws: list[bytes], total: int) -> float:
    """Deliver `raws` at once; seconds until the ledger has `total` done rows and no receipt left to send."""
    started = time.monotonic()
    srv.dovecot.deliver_to_maildir(user, raws)
    wait_until(lambda: progress.settled(total) or daemon.proc.poll() is not None, 60 + 5 * len(raws), "the backlog")
    if daemon.proc.poll() is not None:
        raise RuntimeError(f"mailbot run exited:\n{daemon.log.read_text(errors='replace')[-3000:]}")
    return time.monotonic() - started


def measure(srv: Servers, workdir: Path, db_url: str, n: int) -> BacklogRun:
    n_scan = n // 10
    n_text = n - n_scan
    techs = technicians(-(-n // PER_TECH))
    register(db_url, techs)
    raws = [certificate_forward(i, techs[i % len(techs)], scanned=i >= n_text) for i in range(n)]
    baseline_seconds = baseline(srv, raws[:n_text])
    user, password = srv.dovecot.add_user()
    config = write_config(workdir, db_url, imap_port=srv.dovecot.port, user=user, password=password,
                          smtp_port=srv.sink.port, poll_seconds=1)
    with Daemon(config, workdir / f"daemon-{user}.log") as daemon:
        daemon.wait_for_log("poll done")
        progress, stop = Progress(db_url, daemon.pid, n), threading.Event()
        sampler = threading.Thread(target=progress.watch, args=(stop,), daemon=True)
        sampler.start()
        try:
            before = daemon.log.stat().st_size
            text_seconds = ingest(daemon, progress, srv, user, raws[:n_text], n_text)
            with daemon.log.open("rb") as log_file:
                log_file.seek(before)
                stages = stage_seconds(log_file.read().decode("utf-8", "replace"))
            scan_seconds = ingest(daemon, progress, srv, user, raws[n_text:], n)
            time.sleep(0.5)  # one more sample after the last receipt
        finally:
            stop.set()
            sampler.join()
        peak_daemon = peak_rss_mb(daemon.pid)[0]
    return BacklogRun(n_text, n_scan, text_seconds, scan_seconds, baseline_seconds, dict(progress.at),
                      peak_daemon, progress.worker_peak, dict(progress.states), stages)


def run(srv: Servers, workdir: Path, backends: list[str], *, n: int = 1000) -> list[Figure]:
    figures = []
    for backend in backends:
        with database(backend, workdir) as db_url:
            figures += figures_for(measure(srv, workdir, db_url, n), backend)
    return figures


def figures_for(r: BacklogRun, backend: str) -> list[Figure]:
    ours, theirs = r.n_text / r.text_seconds, r.n_text / r.baseline_seconds
    rss = [r.rss_at.get(p, 0.0) for p in CHECKPOINTS]
    peak = r.peak_daemon + r.peak_worker
    growth = max(rss) - min(rss)
    return [
        Figure("backlog", f"text PDFs end to end, mailbot vs baseline ({r.n_text}, {backend})",
               f"{ours:.1f}/s vs {theirs:.1f}/s = {ours / theirs:.2f}×", f"≥ {GOAL_RATIO:g}×", ours / theirs >= GOAL_RATIO),
        Figure("backlog", f"time per text PDF by stage, mailbot vs the baseline's whole loop ({backend})",
               _stages(r) + f" vs {r.baseline_seconds * 1000 / r.n_text:.1f} ms"),
        Figure("backlog", f"scans (OCR) end to end ({r.n_scan}, {backend})",
               f"{r.scan_seconds / max(r.n_scan, 1):.2f} s each"),
        Figure("backlog", f"RSS at 25/50/75/100 %, daemon + worker ({backend})",
               " / ".join(f"{v:.0f}" for v in rss) + " MB", f"flat (within {GOAL_FLAT_MB:g} MB)",
               growth <= GOAL_FLAT_MB),
        Figure("backlog", f"peak RSS, daemon + worker ({backend})",
               f"{r.peak_daemon:.0f} + {r.peak_worker:.0f} = {peak:.0f} MB", f"≤ {GOAL_PEAK_MB:g} MB",
               peak <= GOAL_PEAK_MB),
        Figure("backlog", f"outcome by state ({backend})",
               ", ".join(f"{state} {count}" for state, count in sorted(r.states.items()))),
    ]


def _stages(r: BacklogRun) -> str:
    """"read 5.1 + record 9.5 + … = 20.6 ms (wall 21.0 ms)": the daemon's own account of its passes."""
    per = {stage: seconds * 1000 / r.n_text for stage, seconds in r.stages.items()}
    parts = " + ".join(f"{stage} {ms:.1f}" for stage, ms in sorted(per.items(), key=lambda kv: -kv[1]))
    return f"{parts} = {sum(per.values()):.1f} ms (wall {r.text_seconds * 1000 / r.n_text:.1f} ms)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with servers() as srv, tempfile.TemporaryDirectory() as tmp:
        for figure in run(srv, Path(tmp), [args.db], n=args.n):
            print(f"{figure.name}: {figure.value}  (goal {figure.goal or '-'})")


if __name__ == "__main__":
    main()
