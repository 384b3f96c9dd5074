"""Approval replies are refused unless every check passes (pure checks; the real-server flow is elsewhere)."""
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.mail.approvals import find_tag, make_tag, parse_command, verify_reply

SECRET = "test-secret-0123456789"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADMINS = ("office@testco.example",)
NONCES = {12: "nonce-a", 13: "nonce-b"}


def tag_for(draft_id=12, nonce="nonce-a", expires=NOW + timedelta(days=7), secret=SECRET):
    return make_tag(secret, draft_id, nonce, expires)


def verify(subject, *, sender="office@testco.example", body="APPROVE\n\n> quoted request", auth=(), nonces=NONCES):
    return verify_reply(secret=SECRET, admins=ADMINS, sender=sender, subject=subject, body=body,
                        auth_results=list(auth), nonce_of=nonces.get, now=NOW)


def test_a_good_reply_is_accepted():
    verdict = verify(f"Re: Approve submission {tag_for()}")
    assert verdict.ok and verdict.draft_id == 12 and verdict.command.action == "approve"


def test_reject_carries_its_reason():
    verdict = verify(f"RE: {tag_for()}", body="reject: not an IICRC approved course\n> ...")
    assert verdict.ok and verdict.command.action == "reject"
    assert verdict.command.reason == "not an IICRC approved course"


@pytest.mark.parametrize("case, kwargs, why", [
    ("non-admin", {"sender": "tech@testco.example"}, "not an admin"),
    ("no tag (forged From without the token)", {"subject": "Re: approve draft 12"}, "no approval tag"),
    ("token for another draft", {"subject": f"Re: {tag_for(draft_id=12).replace('#12', '#13')}"}, "does not match"),
    ("replayed token (nonce rotated after use)", {"nonces": {12: "nonce-rotated"}}, "does not match"),
    ("used token (draft no longer awaiting)", {"nonces": {}}, "already used"),
    ("expired", {"subject": f"Re: {tag_for(expires=NOW - timedelta(seconds=1))}"}, "expired"),
    ("DKIM failed", {"auth": ["mx.testco.example; dkim=fail header.d=testco.example; spf=softfail"]},
     "neither dkim=pass nor spf=pass"),
    ("wrong secret", {"subject": f"Re: {tag_for(secret='other-secret')}"}, "does not match"),
    ("no command", {"body": "Looks fine to me"}, "APPROVE or REJECT"),
    ("reject without reason", {"body": "REJECT"}, "needs a reason"),
])
def test_refusals_say_why(case, kwargs, why):
    kwargs.setdefault("subject", f"Re: {tag_for()}")
    verdict = verify(**kwargs)
    assert not verdict.ok, case
    assert why in verdict.reason


def test_dkim_pass_is_accepted():
    assert verify(f"Re: {tag_for()}", auth=["mx; dkim=pass header.d=testco.example; spf=fail"]).ok


def test_tag_round_trip_and_command_parsing():
    tag = find_tag(f"Re: Fwd: {tag_for()} more")
    assert tag.draft_id == 12
    assert parse_command("\n\n  approve  \n") .action == "approve"
    assert parse_command("> APPROVE\nno") is None
