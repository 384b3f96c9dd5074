"""parse_forward_block: the provider named in an inline forward header block."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.inbox.forwards import ForwardInfo, parse_forward_block, parse_forward_chain, split_printed_sender
from mailbot.inbox.htmltext import html_to_text
from tests.data.eml import builders as b

CORPUS_EML = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "realworld" / "eml"
needs_corpus = pytest.mark.skipif(not CORPUS_EML.is_dir(), reason="shared corpus not present")
# CI runs a modest number of cases; HYPOTHESIS_PROFILE=thorough runs the issue-9 10,000.
FUZZ_EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 300
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@needs_corpus
@pytest.mark.parametrize("name, date", [
    ("crisp__gmail_en_body.txt", "Wed, Oct 27, 2021 at 9:31 AM"),
    ("crisp__gmail_en_body_variant_14.txt", "Thu, 6 April 2023 at 16:17"),  # note above; first of many blocks
    ("crisp__apple_mail_en_body.txt", "25 October 2021 at 11:17:21 EEST"),  # "> "-quoted
    ("crisp__new_outlook_2019_en_body.txt", "Thursday, 28 October 2021 at 12:46"),  # no separator line
    ("crisp__outlook_2013_en_body.txt", "25 October 2021 11:17"),  # [mailto:] and Sent:
])
def test_corpus_text_bodies(name, date):
    info = parse_forward_block((CORPUS_EML / name).read_text(encoding="utf-8"))
    assert info == ForwardInfo("john.doe@acme.com", "John Doe", date, "Integer consequat non purus")


@needs_corpus
@pytest.mark.parametrize("name, expected", [
    ("quotequail__gmail_forward.html", ForwardInfo("foo@bar.example", "Foo Bar", "Thu, Mar 24, 2016 at 5:17 PM",
                                                   "The Subject")),
    ("quotequail__apple_forward.html", ForwardInfo("foo@bar.example", "Foo Bar", "March 24, 2016 at 20:16:25 GMT+1",
                                                   "The Subject")),
    # Outlook printed only the display name: the sender is known by name, not by address.
    ("quotequail__outlook_forward.html", ForwardInfo(None, "John Doe", "Wednesday, July 09, 2014 10:27 AM",
                                                     "The subject!")),
])
def test_corpus_html_bodies(name, expected):
    text = html_to_text((CORPUS_EML / name).read_text(encoding="utf-8"))
    assert parse_forward_block(text) == expected


def test_built_bodies():
    for body in (b.gmail_forward_body(), b.outlook_forward_body(), b.apple_forward_body()):
        info = parse_forward_block(body)
        assert info is not None and info.from_addr == "courses@academy.example", body
        assert info.from_name == "Restoration Academy"


def test_thunderbird_block_with_subject_before_from():
    text = ("-------- Forwarded Message --------\nSubject: Certificate\nDate: Tue, 3 Mar 2026 09:02:11 -0500\n"
            "From: Academy <courses@academy.example>\nTo: me@example.com\n\nbody")
    assert parse_forward_block(text) == ForwardInfo("courses@academy.example", "Academy",
                                                    "Tue, 3 Mar 2026 09:02:11 -0500", "Certificate")


def test_bold_markdown_outlook_plain_text():
    text = "*From:* Academy <courses@academy.example>\n*Sent:* Monday, 2 March 2026\n*Subject:* Cert\n"
    assert parse_forward_block(text).from_addr == "courses@academy.example"


def test_crlf_and_wrapped_to_line():
    text = ("---------- Forwarded message ---------\r\nFrom: courses@academy.example\r\nDate: today\r\n"
            "To: a@x.example,\r\n b@x.example\r\nSubject: Cert\r\n\r\nbody")
    assert parse_forward_block(text) == ForwardInfo("courses@academy.example", None, "today", "Cert")


@pytest.mark.parametrize("text", [
    "",
    "Hi team, the certificate is attached.",
    "From: the whole team, thanks!\nSee you Monday.",  # a lone From: in prose is not a header block
    "I got this from: the academy\n",
    "From:\nTo:\n",
])
def test_no_block(text):
    assert parse_forward_block(text) is None


def test_non_string_input_is_none():
    assert parse_forward_block(None) is None  # type: ignore[arg-type]
    assert parse_forward_block(b"From: a@b") is None  # type: ignore[arg-type]


@pytest.mark.parametrize("printed, expected", [
    ("John Doe <John.Doe@Acme.com>", ("john.doe@acme.com", "John Doe")),
    ("John Doe [mailto:john.doe@acme.com]", ("john.doe@acme.com", "John Doe")),
    ("Valéry <va@acme.com<mailto:va@acme.com>>", ("va@acme.com", "Valéry")),
    ("Foo Bar (foo@bar.example)", ("foo@bar.example", "Foo Bar")),
    ('"Doe, John" <j@d.example>', ("j@d.example", "Doe, John")),
    ("j@d.example", ("j@d.example", None)),
    ("Valéry", (None, "Valéry")),
])
def test_split_printed_sender(printed, expected):
    assert split_printed_sender(printed) == expected


_HEADER_WORDS = st.sampled_from(["From:", "Sent:", "Date:", "To:", "Subject:", "Cc:", "> ", "*From:*",
                                 "---------- Forwarded message ---------", "Begin forwarded message:",
                                 "-----Original Message-----", "<mailto:", "[mailto:", "@", "\n", "\r\n", " "])
_FORWARDISH_TEXT = st.lists(st.one_of(_HEADER_WORDS, st.text(max_size=30)), max_size=60).map("".join)


@FUZZ
@given(_FORWARDISH_TEXT)
def test_fuzz_parse_forward_block_never_raises(text):
    info = parse_forward_block(text)
    assert info is None or isinstance(info, ForwardInfo)
    if info is not None and info.from_addr is not None:
        assert "@" in info.from_addr and info.from_addr == info.from_addr.lower()


@FUZZ
@given(st.text(max_size=2000))
def test_fuzz_html_to_text_never_raises(html):
    assert isinstance(html_to_text(html), str)


@pytest.mark.parametrize("text", [
    ("-----Ursprüngliche Nachricht-----\nVon: Akademie <kurse@akademie.example>\nGesendet: Dienstag, 3. März 2026"
     "\nAn: Morgan\nBetreff: Zertifikat\n"),
    "De : Académie <kurse@akademie.example>\nEnvoyé : mardi 3 mars 2026 09:02\nÀ : Morgan\nObjet : Certificat\n",
    "De: Academia <kurse@akademie.example>\nEnviado: martes, 3 de marzo de 2026 9:02\nPara: Morgan\nAsunto: Certificado\n",
])
def test_localised_outlook_blocks(text):
    info = parse_forward_block(text)
    assert info is not None and info.from_addr == "kurse@akademie.example" and info.subject


def test_chain_lists_every_block_outermost_first():
    text = b.gmail_forward_body(sender="Me <me.personal@example.net>") + b.gmail_forward_body()
    assert [info.from_addr for info in parse_forward_chain(text)] == ["me.personal@example.net",
                                                                      "courses@academy.example"]
    assert parse_forward_block(text).from_addr == "me.personal@example.net"


def test_blank_lines_between_header_lines():
    text = ("-----Original Message-----\n\nFrom: Academy <courses@academy.example>\n\nSent: Monday, March 2, 2026"
            "\n\nTo: Morgan\n\nSubject: Certificate\n\nBody text.\n")
    assert parse_forward_block(text) == ForwardInfo("courses@academy.example", "Academy",
                                                    "Monday, March 2, 2026", "Certificate")


def test_blank_line_then_next_block_is_not_merged():
    text = b.gmail_forward_body(sender="First <first@x.example>") + b.gmail_forward_body()
    assert [i.from_addr for i in parse_forward_chain(text)] == ["first@x.example", "courses@academy.example"]
