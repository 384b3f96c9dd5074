"""Submissions on real servers: approval by email reply, refusals that change nothing, exactly one send,
a copy in Sent, IICRC's reply acknowledged, and names/titles that stay data."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlmodel import select

from mailbot.jobs import poll_tick, send_tick
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft, InboundMessage
from mailbot.ledger.techs import add_technician
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import ADMIN, INBOX_ADDR, make_app

pytestmark = pytest.mark.servers
RENEWALS = "renewals@iicrc-test.example"
SECRET = "0123456789abcdef-test-secret"
CERT = SampleCertificate("Dana Reyes", "Applied Structural Drying Refresher", "7 CECs", "March 14, 2026",
                         "Gulf Coast Restoration Academy", approval_number="ASD-5521")


@pytest.fixture
def app(tmp_path, imap_account, smtp_server, db_url):
    app = make_app(tmp_path, db_url,
                   inbox={"kind": "imap", "host": imap_account.host, "port": imap_account.port, "security": "none",
                          "username": imap_account.user, "password": imap_account.password},
                   outbox={"kind": "smtp", "host": smtp_server.host, "port": smtp_server.port, "security": "none",
                           "from": INBOX_ADDR, "sent_folder": "Sent"},
                   iicrc={"live": True, "renewals_address": RENEWALS},
                   approvals={"secret": SECRET})
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"], iicrc_id="IICRC-778899")
    return app


def forward(imap_account, cert=CERT, sender="dana@techs.example") -> bytes:
    pdf = certificate_pdf(cert)
    imap_account.server.append(imap_account.user, forwarded_email(
        sender=sender, sender_name=cert.person, to=INBOX_ADDR, provider_addr="registrar@academy.example",
        subject="Your certificate", attachment=pdf))
    return pdf


def reply(request: EmailMessage, *, sender=ADMIN, body="APPROVE", subject=None, headers=()) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INBOX_ADDR
    msg["Subject"] = subject if subject is not None else f"Re: {request['Subject']}"
    msg["Message-ID"] = make_msgid(domain="testco.example")
    msg["In-Reply-To"] = request["Message-ID"]
    for name, value in headers:
        msg[name] = value
    msg.set_content(f"{body}\n\nOn Tuesday you wrote:\n> {request['Subject']}\n")
    return msg.as_bytes()


def approval_request(smtp_server):
    return next(m.message for m in smtp_server.messages if m.rcpt_tos == [ADMIN])


def draft_state(app) -> str:
    with session_scope(app.engine) as s:
        return s.exec(select(Draft)).one().state


def test_approve_by_email_reply_sends_exactly_once_with_a_copy_in_sent(app, imap_account, smtp_server):
    pdf = forward(imap_account)
    poll_tick(app)
    smtp_server.wait_for(2)  # receipt to the technician + approval request to the admin
    request = approval_request(smtp_server)
    assert "APPROVE" in request.get_body(("plain",)).get_content()
    assert "Applied Structural Drying Refresher" in request.get_body(("plain",)).get_content()

    imap_account.server.append(imap_account.user, reply(request))
    poll_tick(app)
    assert draft_state(app) == "approved"
    send_tick(app)
    send_tick(app)

    submissions = [m for m in smtp_server.messages if RENEWALS in m.rcpt_tos]
    assert len(submissions) == 1
    sub = submissions[0].message
    assert sub["Cc"] == "dana@techs.example"
    [att] = list(sub.iter_attachments())
    assert att.get_content() == pdf
    assert draft_state(app) == "sent"
    with imap_account.server.client(imap_account.user) as box:
        box.folder.set("Sent")
        [copy] = list(box.fetch(mark_seen=False))
    assert copy.headers["message-id"][0].strip() == sub["Message-ID"]


@pytest.mark.parametrize("case", ["non-admin", "forged-from-no-token", "token-for-another-draft", "replayed",
                                  "expired", "dkim-failed"])
def test_refused_approvals_change_nothing(app, imap_account, smtp_server, case):
    forward(imap_account)
    forward(imap_account, SampleCertificate("Dana Reyes", "Odor Control Basics", "3 CECs", "April 2, 2026",
                                            "Gulf Coast Restoration Academy"))
    poll_tick(app)
    requests = [m.message for m in smtp_server.wait_for(4) if m.rcpt_tos == [ADMIN]]
    first, second = sorted(requests, key=lambda m: m["Subject"])
    if case == "non-admin":
        raw = reply(first, sender="dana@techs.example")
    elif case == "forged-from-no-token":
        raw = reply(first, subject="Re: approve the drying submission")
    elif case == "token-for-another-draft":
        tag_a = first["Subject"][first["Subject"].index("[mailbot"):]
        tag_b = second["Subject"][second["Subject"].index("[mailbot"):]
        draft_b = tag_b.split()[1]
        raw = reply(first, subject="Re: " + tag_a.replace(tag_a.split()[1], draft_b))
    elif case == "replayed":
        imap_account.server.append(imap_account.user, reply(first))
        poll_tick(app)
        with session_scope(app.engine) as s:
            approved = [d.id for d in s.exec(select(Draft).where(Draft.state == "approved"))]
        assert len(approved) == 1
        raw = reply(first, body="REJECT changed my mind")  # same token again: must be refused
    elif case == "expired":
        app.clock = lambda: datetime.now(UTC) + timedelta(days=30)  # tokens last 7 days
        raw = reply(first)
    else:
        raw = reply(first, headers=[("Authentication-Results",
                                     "mx.testco.example; dkim=fail header.d=testco.example; spf=fail")])
    with session_scope(app.engine) as s:
        before = {d.id: d.state for d in s.exec(select(Draft))}
    imap_account.server.append(imap_account.user, raw)
    poll_tick(app)
    with session_scope(app.engine) as s:
        after = {d.id: d.state for d in s.exec(select(Draft))}
        last = s.exec(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert after == before
    assert last.state == "review" and "refused" in last.reason


def test_iicrc_reply_is_acknowledged_not_a_certificate(app, imap_account, smtp_server):
    forward(imap_account)
    poll_tick(app)
    with session_scope(app.engine) as s:
        draft_ops.approve(s, s.exec(select(Draft)).one().id, actor="cli:test")
    send_tick(app)
    [sub] = [m.message for m in smtp_server.wait_for(3) if RENEWALS in m.rcpt_tos]
    answer = EmailMessage()
    answer["From"] = RENEWALS
    answer["To"] = INBOX_ADDR
    answer["Subject"] = f"RE: {sub['Subject']}"
    answer["In-Reply-To"] = sub["Message-ID"]
    answer["Message-ID"] = make_msgid(domain="iicrc-test.example")
    answer.set_content("Thank you, the credit has been added to the record.")
    answer.add_attachment(certificate_pdf(CERT), maintype="application", subtype="pdf", filename="cert.pdf")
    imap_account.server.append(imap_account.user, answer.as_bytes())
    poll_tick(app)
    with session_scope(app.engine) as s:
        draft = s.exec(select(Draft)).one()
        last = s.exec(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert draft.acknowledged_at is not None
    assert last.state == "handled"


def test_names_and_titles_are_data_not_headers_or_templates(app, imap_account, smtp_server):
    with session_scope(app.engine) as s:
        add_technician(s, "Eve {{ 7*7 }} <b>Bold</b>", ["eve@techs.example"])
    hostile = SampleCertificate("Eve {{ 7*7 }} <b>Bold</b>", "Drying\r\nBcc: victim@evil.example {{ 7*7 }}",
                                "7 CECs", "March 14, 2026", "Academy <script>x</script>")
    forward(imap_account, hostile, sender="eve@techs.example")
    poll_tick(app)
    for received in smtp_server.wait_for(1):
        assert "victim@evil.example" not in received.rcpt_tos
        assert received.message["Bcc"] is None
        html = received.message.get_body(("html",))
        if html is not None:
            assert "<b>Bold</b>" not in html.get_content() and "<script>" not in html.get_content()
        assert "49" not in received.message["Subject"]


def _approved_draft(app, imap_account, smtp_server) -> int:
    forward(imap_account)
    poll_tick(app)
    smtp_server.wait_for(2)
    with session_scope(app.engine) as s:
        draft = s.exec(select(Draft)).one()
        draft_ops.approve(s, draft.id, actor="cli:test")
        return draft.id


def test_temporary_smtp_refusals_then_success_send_exactly_once(app, imap_account, smtp_server):
    _approved_draft(app, imap_account, smtp_server)
    smtp_server.script("421 4.3.2 try again later", "451 4.7.1 greylisted")
    report = send_tick(app)
    submissions = [m for m in smtp_server.messages if RENEWALS in m.rcpt_tos]
    assert len(report.sent) == 1 and len(submissions) == 1
    assert draft_state(app) == "sent"


def test_permanent_refusal_fails_with_the_reason_and_is_not_retried(app, imap_account, smtp_server):
    draft_id = _approved_draft(app, imap_account, smtp_server)
    before = smtp_server.transaction_count
    smtp_server.script("550 5.1.1 mailbox unavailable")
    report = send_tick(app)
    assert [d for d, _ in report.failed] == [draft_id]
    send_tick(app)  # a failed draft is not picked up again
    assert smtp_server.transaction_count - before == 1
    with session_scope(app.engine) as s:
        draft = s.get(Draft, draft_id)
    assert draft.state == "failed" and "550" in draft.error and "mailbox unavailable" in draft.error
