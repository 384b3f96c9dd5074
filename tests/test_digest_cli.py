"""`mailbot digest` commands (as a subprocess, the way people run them) and the digest tick's schedule."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

from sqlmodel import select

from mailbot.app import App
from mailbot.digests.jobs import digest_tick
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice
from tests.helpers import make_app, make_config
from tests.test_digest_send import smtp_outbox, write_config
from tests.test_digest_support import build_team, check_html


def mailbot(config: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailbot", "--config", config, *args],
                          check=False, capture_output=True, text=True, timeout=120)


def test_preview_renders_without_queueing(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    build_team(app.engine)
    config = write_config(tmp_path, db_url, smtp_server)
    html_file = tmp_path / "statement.html"
    done = mailbot(config, "digest", "preview", "--tech", "DAN@techs.example", "--month", "2026-12",
                   "--html", str(html_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Subject: December 2026 CEC statement: 10 of 14 hours, hours due soon")
    assert "4 hours still needed in 90 days (by 2027-02-28)" in done.stdout
    assert "4 hours still needed in 90 days" in check_html(html_file.read_text())
    with session_scope(app.engine) as s:
        assert s.exec(select(Notice)).all() == []
    assert smtp_server.messages == []


def test_bad_input_is_one_line_and_exit_1(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    make_app(tmp_path, db_url).engine  # noqa: B018 - creates the schema
    config = write_config(tmp_path, db_url, smtp_server)
    unknown = mailbot(config, "digest", "preview", "--tech", "nobody@techs.example")
    assert unknown.returncode == 1 and "nobody@techs.example" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    bad_month = mailbot(config, "digest", "send", "--month", "2026-13")
    assert bad_month.returncode == 1 and "month must be YYYY-MM" in bad_month.stderr


def test_send_and_escalate_report_as_json(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    build_team(app.engine)
    config = write_config(tmp_path, db_url, smtp_server)
    sent = mailbot(config, "digest", "send", "--month", "2026-12", "--json")
    assert sent.returncode == 0, sent.stderr
    report = json.loads(sent.stdout)
    assert (report["queued"], report["rollups_queued"], report["sent"], report["interrupted"]) == (6, 1, 7, [])
    escalated = mailbot(config, "digest", "escalate", "--as-of", "2026-12-01", "--json")
    assert escalated.returncode == 0, escalated.stderr
    assert json.loads(escalated.stdout)["topics"]["cycle"] == 1  # Dan, 90 days before his cycle ends
    assert len(smtp_server.wait_for(7 + json.loads(escalated.stdout)["sent"])) >= 8


def test_digest_tick_waits_for_the_day_then_runs_once(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    config = make_config(tmp_path, db_url, outbox=smtp_outbox(smtp_server))
    now = {"t": datetime(2026, 11, 30, 23, 0, tzinfo=UTC)}
    app = App(config, clock=lambda: now["t"])
    build_team(app.engine)
    assert digest_tick(app) is None  # November was never run, but a week past its day is too late
    now["t"] = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    report = digest_tick(app)
    assert report is not None and (report.period, report.queued, report.sent) == ("2026-12", 6, 7)
    now["t"] = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert digest_tick(app) is None  # done
    assert len(smtp_server.wait_for(7)) == 7
