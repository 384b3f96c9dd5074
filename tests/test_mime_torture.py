"""read_message under torture (issue 9): limits, malformed input, and property-based fuzzing."""
from __future__ import annotations

import email
import os
from email.policy import default as default_policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.domain import MailFacts
from mailbot.inbox.mime import MimeLimits, read_message
from tests.data.eml import builders as b
from tests.data.eml import fuzz as fz


def with_attachment(data: bytes, filename: str, ctype: str = "application/octet-stream") -> bytes:
    return b.as_bytes(b.attach(b.base_message(), data, ctype, filename))


# ---------------------------------------------------------------- torture: limits and malformed input


def test_100_level_nesting_is_a_problem_within_default_limits_and_readable_with_higher_ones():
    pdf = b.make_pdf()
    raw = b.nested_multipart(100, pdf)
    bounded = read_message(raw)
    assert bounded.documents == () and "nested deeper than 50" in bounded.problems[0]
    generous = read_message(raw, MimeLimits(max_depth=150))
    assert [d.data for d in generous.documents] == [pdf] and generous.problems == ()


def test_nesting_beyond_the_parsers_recursion_limit_still_gives_the_headers():
    facts = read_message(b.nested_multipart(3000, b.make_pdf()))
    assert facts.from_addr == "morgan.tech+certs@example.com" and facts.subject == "deep"
    assert facts.documents == () and "nested too deeply" in facts.problems[0]


def test_invalid_charset_body_is_still_read():
    raw = (b"From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
           b"APPROVE 12\n")
    facts = read_message(raw)
    assert facts.body_text == "APPROVE 12"


def test_ten_megabyte_header_is_cut_short():
    raw = b"From: a@b.example\nSubject: " + b"x " * (5 * 1024 * 1024) + b"\nDate: nonsense\n\nbody\n"
    facts = read_message(raw)
    assert facts.subject.startswith("x x") and len(facts.subject) <= MimeLimits().max_header_chars
    assert facts.body_text == "body" and facts.from_addr == "a@b.example"


@pytest.mark.parametrize("date", ["nonsense", "Mon, 32 Foo 2026 99:99:99 +9999", "", "Tue, 3 Mar 2026"])
def test_bad_dates_become_none(date):
    facts = read_message(f"From: a@b.example\nDate: {date}\nSubject: s\n\nbody\n".encode())
    assert facts.date is None


def test_message_over_the_size_limit_keeps_headers_and_says_why():
    raw = with_attachment(b.make_pdf(), "cert.pdf")
    facts = read_message(raw, MimeLimits(max_message_bytes=1000))
    assert facts.from_addr == "morgan.tech+certs@example.com" and facts.message_id == "<fwd-1@example.com>"
    assert facts.documents == () and "over the" in facts.problems[0] and "limit" in facts.problems[0]


def test_attachment_and_part_count_limits():
    msg = b.base_message()
    for i in range(6):
        b.attach(msg, b.make_pdf(str(i)), "application/pdf", f"c{i}.pdf")
    few_parts = read_message(b.as_bytes(msg), MimeLimits(max_parts=4))
    assert len(few_parts.documents) == 2 and "more than 4 MIME parts" in few_parts.problems[-1]
    small = read_message(b.as_bytes(msg), MimeLimits(max_attachment_bytes=100))
    assert small.documents == () and len(small.problems) == 6


@pytest.mark.parametrize("raw", [b"", b"\x00\xff" * 100, b"From:\n\n", b"Content-Type: multipart/mixed\n\n--x",
                                 b"From: <<<@@@>>>\nMessage-ID: no brackets\nReferences: <a@b> junk <c@d>\n\n"])
def test_garbage_never_raises(raw):
    facts = read_message(raw)
    assert isinstance(facts, MailFacts)


def test_non_bytes_input_is_a_problem_not_an_exception():
    facts = read_message("From: a@b\n\nhi")  # type: ignore[arg-type]
    assert facts.documents == () and "not a message" in facts.problems[0]


def test_reply_headers_and_references():
    raw = (b"From: Office <Admin@Company.Example>\nMessage-ID: <r1@x>\nIn-Reply-To: <draft-7@mailbot>\n"
           b"References: <a@x>\n <draft-7@mailbot>\nSubject: Re: Approve?\n\nAPPROVE\n\n> quoted\n")
    facts = read_message(raw)
    assert facts.from_addr == "admin@company.example"
    assert facts.in_reply_to == "<draft-7@mailbot>" and facts.references == ("<a@x>", "<draft-7@mailbot>")
    assert facts.body_text.startswith("APPROVE")


def test_stdlib_parse_of_our_fixture_agrees_on_structure():
    # Guard against the builder silently producing a different shape than the test assumes.
    msg = email.message_from_bytes(b.nested_multipart(3, b"%PDF-1.4"), policy=default_policy)
    assert sum(1 for _ in msg.walk()) == 4


# ---------------------------------------------------------------- property tests: nothing raises

# CI runs a modest number of cases; HYPOTHESIS_PROFILE=thorough runs the issue-9 10,000.
FUZZ_EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 300
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.fixed_dictionaries({name: fz.value for name in ("From", "Subject", "Date", "Message-ID", "References",
                                                         "Return-Path", "Auto-Submitted", "In-Reply-To")}), fz.trees)
def test_fuzz_read_message_on_generated_messages(headers, tree):
    raw = ("".join(f"{name}: {value}\n" for name, value in headers.items()) + "MIME-Version: 1.0\n" + tree)
    facts = read_message(raw.encode("utf-8", "surrogateescape"))
    assert isinstance(facts, MailFacts)
    assert not _hit_last_line_of_defence(facts)
    assert facts.from_addr is None or facts.from_addr == facts.from_addr.lower()
    assert all(d.content_type in ("application/pdf", "image/jpeg", "image/png", "image/heic", "image/tiff")
               for d in facts.documents)
    assert all(d.filename is None or ("/" not in d.filename and "\\" not in d.filename) for d in facts.documents)


@FUZZ
@given(st.sampled_from(fz.BASE_MESSAGES), st.lists(fz.mutation, min_size=1, max_size=8))
def test_fuzz_read_message_on_mutated_messages(raw, mutations):
    facts = read_message(fz.mutate(raw, mutations))
    assert isinstance(facts, MailFacts) and not _hit_last_line_of_defence(facts)


def _hit_last_line_of_defence(facts: MailFacts) -> bool:
    """read_message's catch-all turns a bug into a problem line; the fuzzers must not reach it."""
    return any(problem.startswith("message could not be read") for problem in facts.problems)


@pytest.mark.parametrize("from_header, name", [
    ("=?utf-8?q?Evil=0D=0ABcc=3A_victim=40x=2Eexample?= <a@b.example>", "Evil Bcc: victim@x.example"),
    ('"Morgan\r\n Tech" <a@b.example>', "Morgan Tech"),  # a folded display name
])
def test_cr_lf_in_the_display_name_is_made_inert(from_header, name):
    facts = read_message(f"From: {from_header}\nSubject: s\n\nhi\n".encode())
    assert facts.from_addr == "a@b.example"
    assert facts.from_name == name and "\r" not in facts.from_name and "\n" not in facts.from_name


@pytest.mark.parametrize("from_header", ['"a\\r\\nBcc: v@x.example"@b.example', '"two words"@b.example', "a@"])
def test_an_address_that_is_not_one_plain_address_is_none(from_header):
    assert read_message(f"From: {from_header}\nSubject: s\n\nhi\n".encode()).from_addr is None


def test_subject_with_encoded_cr_lf_is_one_line():
    facts = read_message(b"From: a@b.example\nSubject: =?utf-8?q?Hi=0D=0ABcc=3A_x=40y=2Ez?=\n\nhi\n")
    assert facts.subject == "Hi Bcc: x@y.z"
