"""Each benchmark of bench/ at a tiny size, so the harness never rots. These tests check that the
benchmarks run against the real servers and measure what they claim to (every receipt timed, no body
fetched, every certificate ingested); they never check a timing, which on a shared CI machine means nothing.
"""
from __future__ import annotations

import pytest

from bench import bench_backlog, bench_idle_pass, bench_latency, run
from bench.common import CommandCountingProxy, Figure, Servers, database, machine_info

pytestmark = pytest.mark.servers


@pytest.fixture
def srv(dovecot, smtp_server) -> Servers:  # type: ignore[no-untyped-def]
    if not dovecot.running:
        dovecot.start()
    return Servers(dovecot, smtp_server)


def test_latency_times_every_receipt_with_idle_and_polling(srv, tmp_path):
    runs = []
    for idle in (True, False):
        with database("sqlite", tmp_path) as db_url:
            runs.append(bench_latency.measure(srv, tmp_path, db_url, n=2, poll_seconds=1, idle=idle,
                                              gap=(0.05, 0.1)))
    assert [r.mode for r in runs] == ["IDLE", "polling only"]
    assert [(len(r.latencies), r.lost) for r in runs] == [(2, 0), (2, 0)]
    assert all(latency > 0 for r in runs for latency in r.latencies)
    figures = bench_latency.figures_for(runs, "sqlite", 2, 1)
    assert [f.met for f in figures if "missing" in f.name] == [True]


def test_latency_percentile_is_nearest_rank():
    run_ = bench_latency.LatencyRun("IDLE", [float(s) for s in range(1, 21)], 0)  # 1 … 20 s
    assert (run_.percentile(50), run_.percentile(95), run_.percentile(100)) == (10.0, 19.0, 20.0)
    assert bench_latency.LatencyRun("IDLE", [], 3).percentile(95) == float("inf")


@pytest.mark.parametrize("shape", bench_idle_pass.SHAPES)
def test_idle_pass_fetches_no_body_and_names_its_commands(srv, tmp_path, shape):
    with database("sqlite", tmp_path) as db_url:
        cost = bench_idle_pass.measure(srv, tmp_path, db_url, 30, shape)
    assert cost.fetched == 0
    # a running daemon's pass asks the unchanged folder its STATUS; after a start it opens and lists it
    assert "STATUS" in cost.commands and "SELECT" not in cost.commands
    assert "SELECT" in cost.listing_commands and "UID SEARCH" in cost.listing_commands
    assert not [c for c in cost.commands + cost.listing_commands if "FETCH" in c]
    assert cost.bytes_received > 0 and cost.listing_seconds > 0
    assert cost.select_seconds > 0  # the server's own SELECT, timed beside the pass


def test_command_counting_proxy_sees_a_fetch(srv):
    """The check "no FETCH was issued" means something only if a FETCH would be seen."""
    user, password = srv.dovecot.add_user()
    srv.dovecot.append(user, b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n")
    from imap_tools import MailBoxUnencrypted

    with CommandCountingProxy(srv.dovecot.host, srv.dovecot.port) as proxy:
        with MailBoxUnencrypted(proxy.host, proxy.port).login(user, password) as box:
            assert len(list(box.fetch(mark_seen=False))) == 1
        assert "UID FETCH" in proxy.commands() and "LOGIN" in proxy.commands()


def test_backlog_ingests_every_certificate_beside_the_baseline(srv, tmp_path):
    with database("sqlite", tmp_path) as db_url:
        result = bench_backlog.measure(srv, tmp_path, db_url, 10)
    assert (result.n_text, result.n_scan) == (9, 1)
    assert sum(result.states.values()) == 10 and set(result.states) <= {"recorded", "review"}
    assert result.states.get("recorded", 0) >= 9  # the text PDFs at least are read without help
    assert set(result.rss_at) == set(bench_backlog.CHECKPOINTS)
    assert result.peak_daemon > 0 and result.peak_worker > 0  # the worker ran and was measured
    assert len(srv.sink.messages) == 10  # one receipt per certificate
    # the daemon accounted for its passes stage by stage, and read and recorded something in each
    assert {"fetch", "read", "record", "file", "receipts"} <= set(result.stages)
    assert result.stages["read"] > 0 and result.stages["record"] > 0
    assert len(bench_backlog.figures_for(result, "sqlite")) == 6


def test_stage_seconds_sum_every_pass_of_a_daemon_log():
    log = ("2026-12-02 01:00:00 INFO mailbot.jobs poll done seen=20 fetched=20 recorded=20 review=0 ignored=0 "
           "duplicate=0 retry=0 dead=0 filed=20 list_ms=3 fetch_ms=40 read_ms=100 record_ms=250\n"
           "2026-12-02 01:00:01 INFO mailbot.jobs send done sent=0\n"
           "2026-12-02 01:00:02 INFO mailbot.jobs poll done seen=0 fetched=0 recorded=0 review=0 ignored=0 "
           "duplicate=0 retry=0 dead=0 filed=0 list_ms=2 receipts_ms=1500\n")
    assert bench_backlog.stage_seconds(log) == {"list": 0.005, "fetch": 0.04, "read": 0.1, "record": 0.25,
                                               "receipts": 1.5}


def test_runner_table_and_docs_section(tmp_path):
    figures = [Figure("idle pass", "wall | time", "1 vs 2", "≤ 1.5×", True), Figure("backlog", "peak", "9 MB")]
    section = run.results_section(figures, machine_info(), quick=True)
    assert "| idle pass | wall \\| time | 1 vs 2 | ≤ 1.5× | met |" in section
    assert "| backlog | peak | 9 MB |  |  |" in section
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# Benchmarks\n\nprose before\n\n{run.START}\nold table\n{run.END}\n\nprose after\n")
    run.write_docs(section, docs)
    text = docs.read_text()
    assert "old table" not in text and "prose before" in text and "prose after" in text
    assert text.count(run.START) == 1 and "wall \\| time" in text


def test_runner_rewrites_only_the_benchmarks_it_ran():
    machine = machine_info()
    first = run.results_section([Figure("latency", "p95", "1 s", "≤ 5 s", True),
                                 Figure("digest", "time", "99 s", "≤ 120 s", False)], machine, quick=False)
    second = run.results_section([Figure("digest", "time", "80 s", "≤ 120 s", True)], machine, quick=False,
                                 previous=first)
    assert "| latency | p95 | 1 s | ≤ 5 s | met |" in second  # kept as measured before
    assert "| digest | time | 80 s | ≤ 120 s | met |" in second and "99 s" not in second
    assert second.index("| latency") < second.index("| digest")
    runs = [line for line in second.splitlines() if line.startswith("- [")]
    assert [line.split("]")[0] for line in runs] == ["- [latency", "- [digest"]


def test_runner_refuses_an_unknown_benchmark(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--only", "nonsense", "--quick"])
    assert exit_info.value.code == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_digest_run_and_kill_at_half_then_rerun(tmp_path):
    """bench_digest at a tiny size: the run over one connection, then `mailbot digest send` SIGKILLed when
    the server has half the statements and run again: nobody gets two, nobody is left out unreported."""
    from bench import bench_digest

    result = bench_digest.run(20, tmp_path / "run")
    assert (result.report.queued, result.received, result.connections) == (20, 21, 1)
    kill = bench_digest.kill_and_rerun(60, tmp_path / "kill")
    assert kill.killed and 30 <= kill.at_kill < 61
    assert kill.doubles == 0 and kill.unreported == 0 and len(kill.interrupted) <= 1
    assert kill.received + len(kill.interrupted) - kill.arrived_anyway == 60
    assert kill.rollups == 1 and kill.promise_kept
    figure = run.kill_figure(kill, "sqlite")
    assert figure.met is True and "0 doubles" in figure.value
