"""`mailbot audit-pack`: every credit with its evidence bytes, approval and sending, an index and a summary."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from mailbot.ledger import credits as credit_ops
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.auditpack import build_pack, safe_name
from mailbot.ledger.db import session_scope
from mailbot.ledger.evidence import EvidenceStore
from mailbot.ledger.models import Document, Draft, InboundMessage
from mailbot.ledger.techs import add_technician, deactivate
from tests.helpers import make_app
from tests.test_import_export import run, write_config

PDF = b"%PDF-1.4\n% a certificate of completion\n%%EOF\n"
EML = b"From: dana@example.com\r\nSubject: Fwd: certificate\r\n\r\nsee attached\r\n"


@pytest.fixture
def ledger(tmp_path, db_url):
    """Dana: one emailed certificate (approved by the office, sent), one hostile title, one voided
    credit. Lee: a manual booth credit whose certificate file has gone missing."""
    app = make_app(tmp_path, db_url)
    store = EvidenceStore(tmp_path / "evidence")
    with session_scope(app.engine) as s:
        dana = add_technician(s, "Dana ../Reyes", ["dana@example.com"], iicrc_id="100234",
                              certifications=[("WRT", date(2023, 4, 3))])
        lee = add_technician(s, "Lee Park", ["lee@example.com"])
        message = InboundMessage(account="certs", folder="INBOX", uidvalidity=7, mailbox_key="41",
                                 raw_path=str(store.put(EML, "message/rfc822")), from_addr="dana@example.com")
        s.add(message)
        s.flush()
        doc = Document(message_row_id=message.id, filename="../../cert.pdf", content_type="application/pdf",
                       sha256="a" * 64, stored_path=str(store.put(PDF, "application/pdf")))
        s.add(doc)
        s.flush()
        emailed = credit_ops.add_credit(s, dana, title="Applied Microbial Remediation", hours=Decimal(7),
                                        completed_on=date(2026, 3, 14), actor="mailbot", document_id=doc.id,
                                        message_row_id=message.id)
        draft = Draft(tech_id=dana.id, credit_id=emailed.id, to_addr="renewals@iicrcnet.org", subject="s",
                      body_text="b", body_html="<p>b</p>")
        s.add(draft)
        s.flush()
        draft_ops.approve(s, draft.id, actor="office@testco.example")
        assert draft_ops.claim_for_sending(s, draft.id)
        draft_ops.mark_sent(s, draft.id, "<sent-1@testco.example>")
        credit_ops.add_credit(s, dana, title="../../etc/passwd \\ evil", hours=Decimal("1.5"),
                              completed_on=date(2026, 4, 1), actor="cli:office")
        voided = credit_ops.add_credit(s, dana, title="Entered twice", hours=Decimal(2),
                                       completed_on=date(2026, 4, 2), actor="cli:office")
        credit_ops.void_credit(s, voided.id, reason="typo", actor="cli:office")
        gone = Document(content_type="application/pdf", sha256="b" * 64, stored_path=str(tmp_path / "gone.pdf"))
        s.add(gone)
        s.flush()
        credit_ops.add_credit(s, lee, title="IICRC booth", hours=Decimal(2), completed_on=date(2026, 3, 15),
                              actor="cli:office", kind="booth", document_id=gone.id)
        deactivate(s, lee, on=date(2026, 6, 30), actor="cli:office")
        ids = {"emailed": emailed.id, "voided": voided.id, "draft": draft.id}
    return app, tmp_path, ids


def open_pack(path):
    zf = zipfile.ZipFile(path)
    index = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode())))
    return zf, index


def test_pack_holds_every_credit_with_its_evidence_and_trail(ledger):
    app, tmp_path, ids = ledger
    with session_scope(app.engine) as s:
        result = build_pack(s, tmp_path / "pack.zip", evidence_root=tmp_path / "evidence", rules=app.rules,
                            as_of=date(2026, 5, 1))
    zf, index = open_pack(tmp_path / "pack.zip")
    assert len(index) == 4 and result["credits"] == 4
    emailed = next(r for r in index if r["credit_id"] == str(ids["emailed"]))
    assert zf.read(emailed["certificate"]) == PDF
    assert zf.read(emailed["raw_email"]) == EML
    assert (emailed["approved_by"], emailed["draft_state"], emailed["smtp_message_id"]) == \
        ("office@testco.example", "sent", "<sent-1@testco.example>")
    assert emailed["sent_at"] and emailed["hours"] == "7"
    actions = [e["action"] for e in json.loads(zf.read(emailed["events"]))]
    assert actions == ["credit.add", "draft.approve", "draft.sent"]
    voided = next(r for r in index if r["credit_id"] == str(ids["voided"]))
    assert (voided["state"], voided["void_reason"], voided["voided_by"]) == ("voided", "typo", "cli:office")
    booth = next(r for r in index if r["course"] == "IICRC booth")
    assert booth["certificate"] == "MISSING" and len(result["missing"]) == 1 and "gone.pdf" in result["missing"][0]
    summary = zf.read("summary.txt").decode()
    assert "approved by office@testco.example" in summary and "VOIDED by cli:office" in summary
    assert "EVIDENCE NOT FOUND" in summary and "left on 2026-06-30" in summary
    # Dana: WRT 2023-04-03 → cycle 2023-04-03 .. 2027-04-02; 7 + 1.5 h standing (the voided 2 h never count)
    assert "balance as of 2026-05-01: 8.5 of 14 h in the cycle 2023-04-03 to 2027-04-02" in summary


def test_names_inside_the_zip_cannot_escape_it(ledger):
    app, tmp_path, _ = ledger
    with session_scope(app.engine) as s:
        build_pack(s, tmp_path / "pack.zip", evidence_root=tmp_path / "evidence")
    zf, _ = open_pack(tmp_path / "pack.zip")
    for name in zf.namelist():
        parts = name.split("/")
        assert not name.startswith("/") and "\\" not in name and ".." not in parts and all(parts), name
    assert safe_name("../../etc/passwd") == "etc-passwd" and safe_name("..") == "untitled"


def test_leaver_packet_holds_only_that_technician(ledger, capsys):
    app, tmp_path, _ = ledger
    config = write_config(tmp_path, app.config.database.url)
    code, out, err = run(capsys, config, "audit-pack", str(tmp_path / "lee.zip"), "--tech", "lee@example.com",
                         "--json")
    assert code == 0, err
    zf, index = open_pack(tmp_path / "lee.zip")
    assert [r["email"] for r in index] == ["lee@example.com"]
    assert json.loads(out)["credits"] == 1
    summary = zf.read("summary.txt").decode()
    assert "Dana" not in summary and "balance as of" in summary


def test_unknown_technician_is_a_one_line_error(ledger, capsys):
    app, tmp_path, _ = ledger
    config = write_config(tmp_path, app.config.database.url)
    code, _, err = run(capsys, config, "audit-pack", str(tmp_path / "x.zip"), "--tech", "nobody@example.com")
    assert code == 1 and err.count("\n") == 1 and "nobody@example.com" in err
