"""Builders shared by the digest tests: a small team in every status, and an HTML well-formedness check.

(No tests here; the file is named for the digest tests' ownership pattern.)
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser

from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, Draft, PlanEntry, ReviewItem, to_centi
from mailbot.ledger.techs import add_technician

AS_OF = date(2026, 12, 1)
VOID_TAGS = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "source", "wbr"}


def add_credit(s, tech_id: int, title: str, on: date, hours: str, draft: str | None = None,
               confirmed: bool = False) -> int:  # type: ignore[no-untyped-def]
    credit = Credit(tech_id=tech_id, course_title=title, hours_centi=to_centi(hours), completed_on=on,
                    dedupe_key=f"{tech_id}|{title}|{on}")
    s.add(credit)
    s.flush()
    if draft:
        s.add(Draft(tech_id=tech_id, credit_id=credit.id, to_addr="renewals@iicrc.example", subject=f"CEC {title}",
                    body_text="x", body_html="<p>x</p>", state=draft,
                    sent_at=datetime(2026, 10, 1, tzinfo=UTC) if draft == "sent" else None,
                    confirmed_at=datetime(2026, 10, 5, tzinfo=UTC) if confirmed else None))
    return credit.id


def build_team(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One technician per status at AS_OF (2026-12-01). Returns status → email."""
    with session_scope(engine) as s:
        done = add_technician(s, "Carla Complete", ["carla@techs.example"], certifications=[("WRT", date(2024, 1, 10))])
        add_credit(s, done.id, "Drying refresher", date(2025, 3, 4), "8", draft="sent")
        add_credit(s, done.id, "Mold update", date(2026, 2, 9), "7", draft="sent", confirmed=True)
        ontrack = add_technician(s, "Oscar Ontrack", ["oscar@techs.example"],
                                 certifications=[("WRT", date(2025, 6, 1))])
        add_credit(s, ontrack.id, "Odor basics", date(2026, 4, 2), "7")
        behind = add_technician(s, "Bea Behind", ["bea@techs.example"], certifications=[("WRT", date(2024, 6, 1))])
        add_credit(s, behind.id, "Safety hour", date(2025, 1, 20), "2", draft="drafted")
        s.add(ReviewItem(tech_id=behind.id, kind="extraction", reason="hours unclear", hours_centi=300))
        s.add(PlanEntry(tech_id=behind.id, on=date(2027, 2, 15), hours_centi=300, title="Q1 online course"))
        soon = add_technician(s, "Dan Duesoon", ["dan@techs.example"], certifications=[("WRT", date(2023, 3, 1))])
        add_credit(s, soon.id, "Water class", date(2024, 5, 5), "10")
        lapsed = add_technician(s, "Lou Lapsed", ["lou@techs.example"], certifications=[("WRT", date(2020, 1, 15))])
        add_credit(s, lapsed.id, "Late course", date(2026, 6, 1), "3")
        add_technician(s, "Nina Nocert", ["nina@techs.example"])
    return {"complete": "carla@techs.example", "on-track": "oscar@techs.example",
            "behind-pace": "bea@techs.example", "due-soon": "dan@techs.example", "lapsed": "lou@techs.example",
            "no-certifications": "nina@techs.example"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


def check_html(html: str) -> str:
    """Assert the HTML is well-formed with nothing left unrendered; return its visible text, one-spaced."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.errors, checker.errors
    assert checker.stack == [], f"unclosed tags: {checker.stack}"
    assert "{{" not in html and "{%" not in html
    return " ".join(" ".join(checker.text).split())
