"""Lapse triage drafts the right request, for approval; confirmations show up in balances."""
from datetime import date

from sqlmodel import select

from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft
from mailbot.ledger.techs import add_technician
from mailbot.mail.lapses import draft_lapse_requests
from tests.helpers import make_app


def test_invoice_under_24_months_reinstatement_after(tmp_path, db_url):
    app = make_app(tmp_path, db_url, iicrc={"live": True, "renewals_address": "renew@iicrc.example",
                                            "reinstatements_address": "reinstate@iicrc.example"})
    with session_scope(app.engine) as s:
        # WRT on 2021-06-01: the 4-year cycle ended 2025-06-01 with no hours → 17 full months by 2026-11-25.
        add_technician(s, "Recent Lapse", ["recent@x.example"], certifications=[("WRT", date(2021, 6, 1))])
        # WRT on 2018-03-01: the first cycle ended 2022-03-01 short → 56 months by 2026-11-25.
        add_technician(s, "Long Lapse", ["long@x.example"], certifications=[("WRT", date(2018, 3, 1))])
        # WRT on 2024-01-15: cycle runs to 2028-01-15, not lapsed.
        add_technician(s, "Current", ["current@x.example"], certifications=[("WRT", date(2024, 1, 15))])
    with session_scope(app.engine) as s:
        made = {d.cc_addrs: (d.kind, d.to_addr, d.state) for d in draft_lapse_requests(s, app, date(2026, 11, 25))}
    assert made == {"recent@x.example": ("lapse-invoice", "renew@iicrc.example", "drafted"),
                    "long@x.example": ("reinstatement", "reinstate@iicrc.example", "drafted")}
    with session_scope(app.engine) as s:  # run again: nothing new
        assert draft_lapse_requests(s, app, date(2026, 11, 26)) == []
        assert len(s.exec(select(Draft)).all()) == 2


def test_not_live_routes_lapse_requests_to_the_test_address(tmp_path, db_url):
    app = make_app(tmp_path, db_url, iicrc={"live": False, "test_address": "test@x.example"})
    with session_scope(app.engine) as s:
        add_technician(s, "Long Lapse", ["long@x.example"], certifications=[("WRT", date(2018, 3, 1))])
    with session_scope(app.engine) as s:
        [draft] = draft_lapse_requests(s, app, date(2026, 11, 25))
        assert draft.to_addr == "test@x.example" and draft.subject.startswith("[TEST")
