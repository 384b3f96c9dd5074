"""Intake decisions end to end on the embedded setup (Maildir inbox, file outbox, real database)."""
import mailbox
from email.message import EmailMessage

from sqlmodel import select

from mailbot.jobs import poll_tick, reprocess
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, InboundMessage, Notice
from mailbot.ledger.techs import add_technician
from mailbot.mail.receipts import RECEIPTS_PER_HOUR
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR, make_app

CERT = SampleCertificate("Dana Reyes", "Applied Microbial Remediation Refresher", "7 CECs", "March 14, 2026",
                         "Gulf Coast Restoration Academy")


def deliver(tmp_path, raw: bytes) -> None:
    mailbox.Maildir(tmp_path / "Maildir", create=True).add(mailbox.MaildirMessage(raw))


def notices(app) -> list[Notice]:
    with session_scope(app.engine) as s:
        return list(s.exec(select(Notice)).all())


def test_receipts_are_rate_limited_per_sender(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"])
    for i in range(RECEIPTS_PER_HOUR + 3):
        deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                          provider_addr="x@p.example", subject=f"link {i}", attachment=None))
    report = poll_tick(app)
    assert report.review == RECEIPTS_PER_HOUR + 3  # every message is kept and listed
    assert len(notices(app)) == RECEIPTS_PER_HOUR


def test_automatic_mail_gets_no_reply_and_no_credit(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"])
    ooo = EmailMessage()
    ooo["From"] = "dana@techs.example"
    ooo["To"] = INBOX_ADDR
    ooo["Subject"] = "Automatic reply: Recorded: 1 CEC certificate"
    ooo["Auto-Submitted"] = "auto-replied"
    ooo.set_content("I am out of the office until Monday.")
    ooo.add_attachment(certificate_pdf(CERT), maintype="application", subtype="pdf", filename="c.pdf")
    deliver(tmp_path, ooo.as_bytes())
    report = poll_tick(app)
    assert (report.ignored, report.credits, len(notices(app))) == (1, 0, 0)


def test_unknown_sender_is_quarantined_silently_then_reprocessed(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    deliver(tmp_path, forwarded_email(sender="new.hire@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                      provider_addr="x@p.example", subject="cert", attachment=certificate_pdf(CERT)))
    poll_tick(app)
    with session_scope(app.engine) as s:
        row = s.exec(select(InboundMessage)).one()
    assert row.state == "review" and "unknown sender" in row.reason
    assert notices(app) == []  # no backscatter
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["new.hire@techs.example"])
    again = reprocess(app, row.id, actor="cli:test")
    assert again.state == "recorded"
    with session_scope(app.engine) as s:
        [credit] = s.exec(select(Credit)).all()
    assert credit.hours_centi == 700
    assert [n.recipient for n in notices(app)] == ["new.hire@techs.example"]


def test_name_on_certificate_must_match_the_sender(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        add_technician(s, "Marcus Lee", ["marcus@techs.example"])
    deliver(tmp_path, forwarded_email(sender="marcus@techs.example", sender_name="Marcus Lee", to=INBOX_ADDR,
                                      provider_addr="x@p.example", subject="cert", attachment=certificate_pdf(CERT)))
    report = poll_tick(app)
    assert (report.review, report.credits) == (1, 0)
    with session_scope(app.engine) as s:
        row = s.exec(select(InboundMessage)).one()
    assert "does not match" in row.reason


def test_the_provider_behind_a_forward_is_recorded_beside_the_forwarder(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"])
    deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                      provider_addr="registrar@academy.example", subject="cert",
                                      attachment=certificate_pdf(CERT)))
    poll_tick(app)
    with session_scope(app.engine) as s:
        row = s.exec(select(InboundMessage)).one()
    assert (row.from_addr, row.original_sender) == ("dana@techs.example", "registrar@academy.example")


def test_admin_accepts_an_uncertain_certificate_from_the_review_queue(tmp_path, db_url):
    from decimal import Decimal

    from mailbot.ledger.models import Draft, ReviewItem
    from mailbot.review import Facts, accept

    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"])
    old_unit = SampleCertificate("Dana Reyes", "Carpet Cleaning Technician Update", "1 CEC (7 hrs)",
                                 "March 14, 2019", "Old School of Cleaning")
    deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                      provider_addr="x@p.example", subject="old cert",
                                      attachment=certificate_pdf(old_unit)))
    report = poll_tick(app)
    assert (report.review, report.credits) == (1, 0)
    with session_scope(app.engine) as s:
        [item] = s.exec(select(ReviewItem)).all()
    assert item.kind == "extraction" and item.document_id is not None
    with session_scope(app.engine) as s:
        credit_id, draft_id = accept(s, app, item.id, Facts(hours=Decimal(7)), actor="cli:office")
    with session_scope(app.engine) as s:
        credit, draft, item = s.get(Credit, credit_id), s.get(Draft, draft_id), s.get(ReviewItem, item.id)
        assert (credit.hours_centi, credit.completed_on.isoformat(), credit.created_by) == (700, "2019-03-14",
                                                                                             "cli:office")
        assert credit.course_title == "Carpet Cleaning Technician Update"
        assert draft.state == "drafted" and draft.attachment_path  # the certificate goes with it
        assert (item.state, item.resolved_by) == ("resolved", "cli:office")
    assert {n.kind for n in notices(app)} == {"receipt"} and len(notices(app)) == 2  # forward + recorded


def test_reconcile_lists_a_claimed_message_that_left_the_inbox(tmp_path, db_url):
    from mailbot.jobs import reconcile_tick
    from mailbot.ledger.models import ReviewItem

    app = make_app(tmp_path, db_url)
    deliver(tmp_path, forwarded_email(sender="x@techs.example", sender_name="X", to=INBOX_ADDR,
                                      provider_addr="x@p.example", subject="cert", attachment=None))
    with app.source() as source:
        state = source.folder_state()
    with session_scope(app.engine) as s:  # what a crash right after the claim leaves behind
        s.add(InboundMessage(account=source.account, folder=state.folder, uidvalidity=state.uidvalidity,
                             mailbox_key="gone-key", state="received"))
    report = reconcile_tick(app)
    assert report.vanished and report.unknown == 1  # the delivered message is new, the claimed one is gone
    with session_scope(app.engine) as s:
        [item] = s.exec(select(ReviewItem).where(ReviewItem.kind == "vanished")).all()
        row = s.get(InboundMessage, item.message_row_id)
    assert (row.mailbox_key, row.state) == ("gone-key", "dead")
