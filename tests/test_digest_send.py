"""The monthly run against a real SMTP server (aiosmtpd): once per recipient, one connection, safe re-runs,
and a SIGKILL half-way through a 500-recipient `mailbot digest send` followed by a re-run.

The promise (docs/digests.md): nobody ever gets two statements; everybody gets one or, when a killed
process had claimed their statement mid-send, is listed for the admins as interrupted (at most one per kill).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date

import pytest
from sqlmodel import select

from mailbot.digests.fanout import send_month
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice
from mailbot.ledger.techs import add_technician
from tests.helpers import ADMIN, INBOX_ADDR, make_app
from tests.test_digest_support import build_team


def smtp_outbox(sink) -> dict:  # type: ignore[no-untyped-def]
    return {"kind": "smtp", "host": sink.host, "port": sink.port, "security": "none", "from": INBOX_ADDR}


def add_many(engine, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    from bench.bench_digest import add_technicians

    add_technicians(engine, n)  # batched inserts: one WRT each, addresses tech000000@bench.example …
    return [f"tech{i:06d}@bench.example" for i in range(n)]


def statements_by_recipient(sink) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(m.rcpt_tos[0] for m in sink.messages if "CEC statement" in str(m.message["Subject"]))


def test_month_goes_once_over_one_connection_and_reruns_send_nothing(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    team = build_team(app.engine)
    emails = add_many(app.engine, 50) + list(team.values())
    report = send_month(app, "2026-12")
    assert (report.queued, report.rollups_queued, report.sent, report.failed) == (56, 1, 57, 0)
    received = smtp_server.wait_for(57)
    assert statements_by_recipient(smtp_server) == Counter(emails)
    assert [m.rcpt_tos for m in received if "roll-up" in str(m.message["Subject"])] == [[ADMIN]]
    assert smtp_server.connection_count == 1
    auto = {str(m.message["Auto-Submitted"]) for m in received}
    assert auto == {"auto-generated"}
    again = send_month(app, "2026-12")
    assert (again.queued, again.already_queued, again.rollups_queued, again.sent) == (0, 56, 0, 0)
    assert len(smtp_server.messages) == 57


def test_a_new_technician_gets_theirs_on_rerun_and_nobody_else_again(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    build_team(app.engine)
    send_month(app, "2026-12")
    before = len(smtp_server.wait_for(7))
    with session_scope(app.engine) as s:
        add_technician(s, "Late Joiner", ["late@techs.example"], certifications=[("WRT", date(2026, 1, 1))])
    report = send_month(app, "2026-12")
    assert (report.queued, report.sent) == (1, 1)
    assert [m.rcpt_tos for m in smtp_server.wait_for(before + 1)[before:]] == [["late@techs.example"]]


def write_config(tmp_path, db_url: str, sink) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "mailbot.toml"
    path.write_text(f"""
[company]
name = "Test Restoration"
timezone = "UTC"
admins = ["{ADMIN}"]
address = "{INBOX_ADDR}"
[database]
url = "{db_url}"
[outbox]
kind = "smtp"
host = "{sink.host}"
port = {sink.port}
security = "none"
from = "{INBOX_ADDR}"
[iicrc]
live = true
""")
    return str(path)


def digest_send(config: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailbot", "--config", config, "digest", "send",
                             "--month", "2026-12", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_nobody_gets_two(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    emails = add_many(app.engine, 500)
    config = write_config(tmp_path, db_url, smtp_server)

    first = digest_send(config)
    try:
        smtp_server.wait_for(250, timeout=120)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    at_kill = len(smtp_server.messages)
    print(f"received {at_kill} before SIGKILL")
    assert at_kill < 501, "the run finished before the kill: nothing was tested"

    second = digest_send(config)
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    print("re-run:", report)

    got = statements_by_recipient(smtp_server)
    assert max(got.values()) == 1, [r for r, n in got.items() if n > 1]  # never two
    missing = set(emails) - set(got)
    assert missing <= set(report["interrupted"])  # nobody silently left out
    assert len(report["interrupted"]) <= 1  # one process, one claim in flight when it died
    rollups = [m for m in smtp_server.messages if "roll-up" in str(m.message["Subject"])]
    assert [m.rcpt_tos for m in rollups] == [[ADMIN]]
    if report["interrupted"]:
        [told] = [m for m in smtp_server.messages if "interrupted while sending" in str(m.message["Subject"])]
        assert told.rcpt_tos == [ADMIN] and report["interrupted"][0] in told.message.get_body(("plain",)).get_content()
    with session_scope(app.engine) as s:
        states = Counter(n.state for n in s.exec(select(Notice).where(Notice.kind == "statement")))
    assert states["sent"] + states["sending"] + states["interrupted"] == 500 and states["pending"] == 0


def test_bench_sized_for_ci_one_connection(tmp_path):  # type: ignore[no-untyped-def]
    """bench/bench_digest.py at 200 statements (the 10,000 run is `python -m bench.bench_digest --n 10000`)."""
    from bench.bench_digest import run

    result = run(200, tmp_path)
    assert (result.report.queued, result.report.sent, result.received) == (200, 201, 201)  # + the roll-up
    assert result.connections == 1


def test_a_statement_left_mid_send_is_reported_not_resent(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    """What a SIGKILL leaves behind, made on purpose: Dan's statement claimed (sending) by a dead process."""
    from datetime import datetime

    from sqlalchemy import update

    from mailbot.digests.fanout import MonthReport, queue_statements

    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    build_team(app.engine)
    queue_statements(app, date(2026, 12, 1), "2026-12", MonthReport("2026-12"))
    with session_scope(app.engine) as s:
        s.execute(update(Notice).where(Notice.recipient == "dan@techs.example")
                  .values(state="sending", claimed_at=datetime(2026, 12, 1, tzinfo=UTC)))
    report = send_month(app, "2026-12")
    assert report.interrupted == ["dan@techs.example"]
    received = smtp_server.wait_for(7)  # 5 statements, the roll-up, the report
    assert "dan@techs.example" not in {m.rcpt_tos[0] for m in received}
    [told] = [m for m in received if "interrupted while sending" in str(m.message["Subject"])]
    assert told.rcpt_tos == [ADMIN] and "dan@techs.example" in told.message.get_body(("plain",)).get_content()
    assert send_month(app, "2026-12").sent == 0  # the same list is not reported twice
    assert len(smtp_server.messages) == 7


@pytest.mark.slow
def test_two_runs_at_once_still_send_each_statement_once(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    """The daemon's tick and an admin's `digest send` racing: queue keys and claims keep it to one each."""
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    emails = add_many(app.engine, 150)
    config = write_config(tmp_path, db_url, smtp_server)
    runs = [digest_send(config), digest_send(config)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert statements_by_recipient(smtp_server) == Counter(emails)
    assert sum(r["queued"] for r in reports) == 150 and sum(r["rollups_queued"] for r in reports) == 1
    assert len([m for m in smtp_server.messages if "roll-up" in str(m.message["Subject"])]) == 1
