"""Run every benchmark, print one table of figures, and with --write put it in docs/benchmarks.md.

    python -m bench.run                  # full sizes (what `make bench` runs; tens of minutes)
    python -m bench.run --quick          # smoke sizes, a minute or two
    python -m bench.run --only latency,idle --db sqlite --write

Every figure is a ratio or a side-by-side pair measured in the same run. The table in the docs sits between
two marker comments; the prose around it (what each benchmark does and why) is written by hand.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import bench_backlog, bench_idle_pass, bench_latency
from bench.common import Figure, Servers, database, machine_info, postgres_available, servers

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- bench.run:start -->", "<!-- bench.run:end -->"


@dataclass(frozen=True)
class Sizes:
    latency_n: int
    latency_poll_seconds: int
    latency_gap: tuple[float, float]
    idle_small: int
    idle_large: int
    backlog_n: int
    extract_files: int | None  # None: all of them
    digest_n: int


FULL = Sizes(50, 30, (0.5, 2.5), 100, 10_000, 1000, None, 10_000)
QUICK = Sizes(3, 2, (0.1, 0.4), 10, 100, 10, 2, 30)


def extract_figures(srv: Servers, workdir: Path, backends: list[str], sizes: Sizes) -> list[Figure]:
    """bench/bench_extract.py (another engineer's): per-page medians, mailbot vs pdftotext; OCR per page."""
    import statistics

    from bench import bench_extract as be
    from mailbot.extract import ocr_available

    realworld = [(p.name, p.read_bytes()) for p in sorted(be.REALWORLD.glob("*.pdf"))] if be.REALWORLD.is_dir() else []
    # the same files as `python -m bench.bench_extract`
    text_forms = {"pdf", "spaced", "sideways", "rotate90", "rotate180", "rotate270"}
    text_files = [f for f in realworld if be._has_text(f[1])] + be._generated(text_forms)
    rows = be.bench_text(text_files[:sizes.extract_files])
    ours, theirs = (statistics.median(r[i] for r in rows) for i in (1, 2))
    figures = [Figure("extraction", f"text PDF per page, mailbot vs pdftotext ({len(rows)} files)",
                      f"{ours * 1000:.2f} ms vs {theirs * 1000:.2f} ms = {ours / theirs:.2f}×", "≤ 1×",
                      ours <= theirs)]
    if ocr_available():
        scans = [f for f in realworld if not be._has_text(f[1])] + be._generated({"scan", "photo_jpeg", "photo_png",
                                                                                     "photo_turned"})
        ocr = be.bench_ocr(scans[:sizes.extract_files])
        slowest = max(seconds for _, seconds in ocr)
        figures.append(Figure("extraction", f"OCR per page, median / slowest ({len(ocr)} files, each the median of "
                              f"{be.OCR_RUNS} readings)",
                              f"{statistics.median(s for _, s in ocr):.2f} s / {slowest:.2f} s", "≤ 1 s",
                              slowest <= 1.0))
    return figures


def digest_figures(srv: Servers, workdir: Path, backends: list[str], sizes: Sizes) -> list[Figure]:
    """bench/bench_digest.py (another engineer's): a month of statements through one SMTP connection, then
    the same month killed with SIGKILL half-way and re-run."""
    from bench import bench_digest

    figures = []
    for backend in backends:
        with database(backend, workdir) as db_url:
            result = bench_digest.run(sizes.digest_n, Path(tempfile.mkdtemp(dir=workdir)), db_url)
        full = result.n >= 10_000  # the goal is stated for 10,000; smaller runs are only smoke
        figures += [
            Figure("digest", f"{result.n:,} statements sent ({backend})",
                   f"{result.seconds:.1f} s ({result.per_second:.0f}/s)", "≤ 120 s for 10,000",
                   result.seconds <= 120 if full else None),
            Figure("digest", f"received / SMTP connections ({backend})", f"{result.received:,} / {result.connections}",
                   f"{result.report.sent:,} / ≤ 3", result.received == result.report.sent and result.connections <= 3),
        ]
        with database(backend, workdir) as db_url:
            kill = bench_digest.kill_and_rerun(sizes.digest_n, Path(tempfile.mkdtemp(dir=workdir)), db_url)
        figures.append(kill_figure(kill, backend))
    return figures


def kill_figure(k, backend: str) -> Figure:  # type: ignore[no-untyped-def]
    """kill -9 at 50 % and re-run. At most once (docs/digests.md): the one statement in flight at the kill may
    or may not have arrived; it is not resent but reported to the admins, so "received" is n or n - 1."""
    value = (f"{k.received:,} received, {k.doubles} doubles, {len(k.interrupted)} interrupted "
             f"({k.arrived_anyway} of them arrived), {k.unreported} missing unreported (killed at {k.at_kill:,})")
    return Figure("digest", f"kill -9 at 50 % then re-run, {k.n:,} statements ({backend})", value,
                  f"{k.n:,} received, or {k.n - 1:,} + 1 reported interrupted; 0 doubles", k.promise_kept)


BENCHES: dict[str, Callable[[Servers, Path, list[str], Sizes], list[Figure]]] = {
    "latency": lambda srv, w, b, s: bench_latency.run(srv, w, b, n=s.latency_n, poll_seconds=s.latency_poll_seconds,
                                                      gap=s.latency_gap),
    "idle": lambda srv, w, b, s: bench_idle_pass.run(srv, w, b, small=s.idle_small, large=s.idle_large),
    "backlog": lambda srv, w, b, s: bench_backlog.run(srv, w, b, n=s.backlog_n),
    "extract": extract_figures,
    "digest": digest_figures,
}


def run_all(names: list[str], backends: list[str], sizes: Sizes) -> list[Figure]:
    figures = []
    with servers() as srv, tempfile.TemporaryDirectory(prefix="mailbot-bench-") as tmp:
        for name in names:
            print(f"running {name} …", file=sys.stderr, flush=True)
            try:
                figures += BENCHES[name](srv, Path(tmp), backends, sizes)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark is a row in the table, not a crash
                figures.append(Figure(name, "benchmark failed", f"{type(exc).__name__}: {exc}"[:200], "runs", False))
    return figures


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**not met**")


def table(figures: list[Figure]) -> str:
    lines = ["| benchmark | figure | value | goal | |", "|---|---|---|---|---|"]
    for f in figures:
        cells = [f.bench, f.name, f.value, f.goal, _verdict(f.met)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


ORDER = ["latency", "idle pass", "backlog", "extraction", "digest"]  # table order, by Figure.bench
_RUN_LINE = re.compile(r"^- \[(?P<benches>[^\]]*)\] (?P<rest>.*)$")


def _kept_runs(previous: str, rerun: set[str]) -> list[str]:
    """Run lines of `previous` naming benchmarks not run again now (with only those names left)."""
    kept = []
    for line in previous.splitlines():
        if found := _RUN_LINE.match(line):
            left = [b for b in found["benches"].split(", ") if b not in rerun]
            if left:
                kept.append(f"- [{', '.join(left)}] {found['rest']}")
    return kept


def _kept_figures(previous: str, rerun: set[str]) -> list[Figure]:
    """Table rows of `previous` for benchmarks not run again now."""
    kept = []
    for line in previous.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 5 and cells[0] not in ("benchmark", "---") and cells[0] not in rerun:
            met = {"met": True, "**not met**": False}.get(cells[4])
            kept.append(Figure(cells[0], cells[1], cells[2], cells[3], met))
    return kept


def results_section(figures: list[Figure], machine: dict[str, str], quick: bool, previous: str = "") -> str:
    """The generated section of the docs. Rows and run lines of benchmarks not run this time are kept from
    `previous`, so `--only digest --write` updates the digest rows and leaves the others as measured."""
    rerun = {f.bench for f in figures}
    sizes = "smoke sizes (--quick: the figures only show that the harness runs)" if quick else "full sizes"
    names = ", ".join(b for b in ORDER if b in rerun) or ", ".join(sorted(rerun))
    runs = _kept_runs(previous, rerun) + [f"- [{names}] {machine['date']}, {sizes}: `{machine['command']}`"]
    rows = sorted(_kept_figures(previous, rerun) + figures,
                  key=lambda f: ORDER.index(f.bench) if f.bench in ORDER else len(ORDER))
    return "\n".join([
        START,
        (f"Machine: {machine['cores']} cores, {machine['memory']} memory ({machine['cpu']}; {machine['os']}; "
         f"Python {machine['python']})."),
        "",
        "Runs (benchmarks, date, sizes, command):",
        "",
        *runs,
        "",
        table(rows),
        END,
    ])


def current_section(path: Path = DOCS) -> str:
    text = path.read_text() if path.exists() else ""
    found = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.DOTALL)
    return found.group(0) if found else ""


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the generated section of docs/benchmarks.md (or append one if the markers are missing)."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    updated = pattern.sub(lambda _m: section, current) if pattern.search(current) else f"{current.rstrip()}\n\n{section}\n"
    path.write_text(updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes (seconds per benchmark)")
    parser.add_argument("--write", action="store_true", help="update the results in docs/benchmarks.md")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated, from: {', '.join(BENCHES)}")
    parser.add_argument("--db", default="sqlite,postgresql", help="backends: sqlite, postgresql or both")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    unknown = [n for n in names if n not in BENCHES] + [b for b in backends if b not in ("sqlite", "postgresql")]
    if unknown:
        parser.error(f"unknown benchmark or backend: {', '.join(unknown)}")
    if "postgresql" in backends and not postgres_available():
        print("PostgreSQL is not reachable: running on SQLite only", file=sys.stderr)
        backends = [b for b in backends if b != "postgresql"] or ["sqlite"]
    figures = run_all(names, backends, QUICK if args.quick else FULL)
    section = results_section(figures, machine_info(), args.quick, current_section() if args.write else "")
    print(section)
    if args.write:
        write_docs(section)
    # Goals not met are findings, reported in the table; only a benchmark that could not run fails the command.
    return 1 if any(f.name == "benchmark failed" for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
