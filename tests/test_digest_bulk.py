"""The monthly run reads the ledger in bulk (one query per table for a group of technicians) and computes each
balance once for the statement and the roll-up. These tests hold the bulk path to the per-technician one
(`ledger.balances.compute_for`, which receipts and escalations use) and count queries, not seconds.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import event
from sqlmodel import select

from mailbot.digests.fanout import MonthReport, queue_rollups, queue_statements
from mailbot.digests.gather import active_technicians, snapshots
from mailbot.ledger.balances import compute_for
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice, PlanEntry, ReviewItem
from mailbot.ledger.techs import add_address, add_technician
from mailbot.mail import notices
from mailbot.mail.compose import Rendered
from tests.helpers import make_app
from tests.test_digest_support import AS_OF, add_credit, build_team


def build_varied_team(engine) -> None:  # type: ignore[no-untyped-def]
    """build_team plus the shapes a bulk read can get wrong: several addresses, certifications and drafts,
    a rejected draft, review items with and without hours, plans before and after the cycle end."""
    build_team(engine)
    with session_scope(engine) as s:
        many = add_technician(s, "Mia Many", ["mia.work@techs.example", "mia@home.example"],
                              certifications=[("WRT", date(2025, 3, 1)), ("ASD", date(2025, 9, 1))])
        add_address(s, many.id, "mia.old@techs.example")
        add_credit(s, many.id, "Rejected course", date(2026, 1, 5), "4", draft="rejected")
        add_credit(s, many.id, "Confirmed course", date(2026, 5, 5), "6", draft="sent", confirmed=True)
        add_credit(s, many.id, "Future course", date(2027, 1, 5), "2")
        s.add(ReviewItem(tech_id=many.id, kind="name-mismatch", reason="Mia M.", hours_centi=150))
        s.add(ReviewItem(tech_id=many.id, kind="no-certificate", reason="just a note"))
        s.add(ReviewItem(tech_id=many.id, kind="extraction", reason="done", hours_centi=500, state="resolved"))
        s.add(PlanEntry(tech_id=many.id, on=date(2027, 3, 1), hours_centi=700, title="Spring show"))
        s.add(PlanEntry(tech_id=many.id, on=date(2026, 11, 1), hours_centi=100, title="Past plan"))
        s.add(PlanEntry(tech_id=many.id, on=date(2031, 1, 1), hours_centi=100, title="Far future"))


def test_bulk_snapshots_give_the_per_technician_balances(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    build_varied_team(app.engine)
    with session_scope(app.engine) as s:
        techs = active_technicians(s)
        snaps = snapshots(s, app.rules, techs, AS_OF)
        one_by_one = [snapshots(s, app.rules, [t], AS_OF)[0] for t in techs]
        expected = [compute_for(s, app.rules, t, AS_OF) for t in techs]
    assert [snap.balance for snap in snaps] == expected
    assert snaps == one_by_one  # a preview says what the monthly run sends
    mia = next(snap for snap in snaps if snap.name == "Mia Many")
    assert mia.email == "mia.work@techs.example"
    assert [r.what for r in mia.review] == ["a certificate whose name does not match yours", "an email without a certificate"]
    assert "Far future" not in [p.title for p in mia.planned] and "Past plan" not in [p.title for p in mia.planned]
    assert sorted(c.title for c in mia.credits) == ["Confirmed course", "Rejected course"]


def count_queries(engine):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_queries_do_not_grow_with_the_team(tmp_path, db_url):  # type: ignore[no-untyped-def]
    from bench.bench_digest import add_technicians

    app = make_app(tmp_path, db_url)
    build_varied_team(app.engine)
    with session_scope(app.engine) as s:
        small = active_technicians(s)
    add_technicians(app.engine, 60)
    with session_scope(app.engine) as s:
        large = active_technicians(s)
        seen = count_queries(app.engine)
        snapshots(s, app.rules, small, AS_OF)
        for_small = len(seen)
        snapshots(s, app.rules, large, AS_OF)
    assert len(large) == len(small) + 60
    assert len(seen) - for_small == for_small == 6  # one query per table, whatever the team size


def test_queue_many_skips_what_is_queued_and_counts_the_new(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    rendered = Rendered("s", "t", "<p>h</p>")
    with session_scope(app.engine) as s:
        assert notices.queue(s, recipient="A@x.example", kind="statement", period="2026-12", rendered=rendered)
    with session_scope(app.engine) as s:
        queued = notices.queue_many(s, kind="statement", period="2026-12",
                                    items=[("a@x.example", rendered), ("b@x.example", rendered)])
        assert queued == 1 and notices.queue_many(s, kind="statement", period="2026-12", items=[]) == 0
    with session_scope(app.engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
    assert [(n.dedupe_key, n.state, n.attempts) for n in rows] == [
        ("a@x.example|statement|2026-12", "pending", 0), ("b@x.example|statement|2026-12", "pending", 0)]
    assert rows[1].created_at is not None and rows[1].body_html == "<p>h</p>"


def test_rollup_alone_computes_balances_without_queueing_statements(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    build_team(app.engine)
    report = MonthReport("2026-12")
    queue_rollups(app, AS_OF, "2026-12", report)
    with session_scope(app.engine) as s:
        kinds = [n.kind for n in s.exec(select(Notice))]
    assert kinds == ["rollup"] and report.rollups_queued == 1
    assert queue_statements(app, AS_OF, "2026-12", report, balances=True) is not None
    assert report.queued == 6
