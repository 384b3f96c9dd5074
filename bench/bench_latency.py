"""Forward → receipt latency: certificates APPENDed one at a time to Dovecot while `mailbot run` runs
(IMAP inbox, SMTP outbox to an aiosmtpd sink); each is timed from just before its APPEND to the moment the
technician's receipt reaches the sink. Twice in the same run: with IDLE (and a long poll interval, so IDLE
does the work) and polling only (inbox.idle = false, the same poll interval).

    python -m bench.bench_latency --n 50 --poll-seconds 30 [--db sqlite|postgresql]

Arrivals are spaced at random (seeded) so some land while a pass is running, as in real life.
"""
from __future__ import annotations

import argparse
import math
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    PER_TECH,
    Daemon,
    Figure,
    Servers,
    certificate_forward,
    database,
    message_id,
    register,
    servers,
    technicians,
    write_config,
)

GOAL_P95_SECONDS = 5.0


@dataclass(frozen=True)
class LatencyRun:
    mode: str  # "IDLE" or "polling only"
    latencies: list[float]  # seconds, one per receipt that arrived
    lost: int  # forwards whose receipt never came within the wait

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile (no interpolation: with 50 samples p95 is the 48th)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.inf
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class ArrivalClock:
    """Timestamps each message reaching the sink (by its In-Reply-To) as soon as the sink has it."""

    def __init__(self, sink):  # type: ignore[no-untyped-def]
        self.sink, self.arrived, self._stop = sink, {}, threading.Event()
        self._seen = len(sink.messages)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sink.wait_for(self._seen + 1, timeout=0.2)
            except TimeoutError:
                continue
            now = time.monotonic()
            for received in messages[self._seen:]:
                self.arrived.setdefault((received.message["In-Reply-To"] or "").strip(), now)
            self._seen = len(messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(srv: Servers, workdir: Path, db_url: str, *, n: int, poll_seconds: int, idle: bool,
            gap: tuple[float, float], seed: int = 9) -> LatencyRun:
    """One daemon, `n` forwards APPENDed one at a time `gap` seconds apart; latency of each receipt."""
    user, password = srv.dovecot.add_user()
    techs = technicians(-(-n // PER_TECH))
    register(db_url, techs)
    config = write_config(workdir, db_url, imap_port=srv.dovecot.port, user=user, password=password,
                          smtp_port=srv.sink.port, poll_seconds=poll_seconds, idle=idle)
    forwards = [certificate_forward(i, techs[i % len(techs)]) for i in range(n)]
    rng, sent_at = random.Random(seed), {}
    with Daemon(config, workdir / f"daemon-{user}.log") as daemon:
        daemon.wait_for_log("poll done")  # leader, migrated, first (empty) pass over; IDLE watcher up
        time.sleep(0.5)
        clock = ArrivalClock(srv.sink)
        try:
            for raw in forwards:
                sent_at[message_id(raw)] = time.monotonic()
                srv.dovecot.append(user, raw)
                time.sleep(rng.uniform(*gap))
            deadline = time.monotonic() + 2 * poll_seconds + 30
            while time.monotonic() < deadline and not set(sent_at) <= set(clock.arrived):
                time.sleep(0.1)
        finally:
            clock.close()
    latencies = [clock.arrived[mid] - t for mid, t in sent_at.items() if mid in clock.arrived]
    return LatencyRun("IDLE" if idle else "polling only", latencies, n - len(latencies))


def run(srv: Servers, workdir: Path, backends: list[str], *, n: int = 50, poll_seconds: int = 30,
        gap: tuple[float, float] = (0.5, 2.5)) -> list[Figure]:
    figures = []
    for backend in backends:
        runs = []
        for idle in (True, False):
            with database(backend, workdir) as db_url:
                runs.append(measure(srv, workdir, db_url, n=n, poll_seconds=poll_seconds, idle=idle, gap=gap))
        figures += figures_for(runs, backend, n, poll_seconds)
    return figures


def figures_for(runs: list[LatencyRun], backend: str, n: int, poll_seconds: int) -> list[Figure]:
    with_idle, polling = runs
    p95 = with_idle.percentile(95)
    where = f"{n} forwards, {backend}, poll every {poll_seconds} s"
    return [
        Figure("latency", f"p50 / p95 with IDLE ({where})",
               f"{with_idle.percentile(50):.2f} s / {p95:.2f} s", f"p95 ≤ {GOAL_P95_SECONDS:g} s",
               p95 <= GOAL_P95_SECONDS and not with_idle.lost),
        Figure("latency", f"p50 / p95 polling only ({where})",
               f"{polling.percentile(50):.2f} s / {polling.percentile(95):.2f} s"),
        Figure("latency", f"receipts missing (IDLE, polling; {backend})", f"{with_idle.lost}, {polling.lost}",
               "0", not with_idle.lost and not polling.lost),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--poll-seconds", type=int, default=30)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with servers() as srv, tempfile.TemporaryDirectory() as tmp:
        for figure in run(srv, Path(tmp), [args.db], n=args.n, poll_seconds=args.poll_seconds):
            print(f"{figure.name}: {figure.value}  (goal {figure.goal or '-'})")


if __name__ == "__main__":
    main()
