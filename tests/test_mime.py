"""read_message over the shared real-world corpus and over messages built here."""
from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.domain import MailFacts
from mailbot.inbox.mime import MimeLimits, read_message
from tests.data.eml import builders as b

CORPUS_EML = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "realworld" / "eml"
CORPUS_FILES = sorted(CORPUS_EML.iterdir()) if CORPUS_EML.is_dir() else []
needs_corpus = pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus not present")


def corpus(name: str) -> bytes:
    return (CORPUS_EML / name).read_bytes()


def with_attachment(data: bytes, filename: str, ctype: str = "application/octet-stream") -> bytes:
    return b.as_bytes(b.attach(b.base_message(), data, ctype, filename))


# ---------------------------------------------------------------- the shared corpus


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_parses_without_exception(path: Path):
    facts = read_message(path.read_bytes())
    assert isinstance(facts, MailFacts)
    assert all(isinstance(problem, str) and problem for problem in facts.problems)


@needs_corpus
def test_corpus_pdf_attachment_is_found_next_to_odd_text_parts():
    facts = read_message(corpus("flanker__attached-pdf.eml"))
    assert [(d.filename, d.content_type, d.origin) for d in facts.documents] == [
        ("test.pdf", "application/pdf", ("test.pdf",))
    ]
    assert facts.documents[0].data.startswith(b"%PDF-")
    assert facts.body_text == "Test - body content"


@needs_corpus
def test_corpus_pdf_with_unicode_subject():
    facts = read_message(corpus("mikelmail__attachment_pdf.eml"))
    assert "🎉" in facts.subject and "🍿" in facts.subject
    assert [(d.filename, d.content_type) for d in facts.documents] == [("broken.pdf", "application/pdf")]
    assert facts.from_addr == "xxxx@xxxx.com"


@needs_corpus
def test_corpus_pdf_inside_forwarded_message_rfc822():
    facts = read_message(corpus("mikelmail__attachment_message_rfc822.eml"))
    assert [(d.filename, d.origin) for d in facts.documents] == [("broken.pdf", ("message/rfc822", "broken.pdf"))]
    assert facts.from_addr == "foo@example.com"
    assert facts.original_sender == "xxxx@xxxx.com"  # the sender of the attached message
    assert facts.body_text == "This is the first part."


@needs_corpus
@pytest.mark.parametrize("name, attached_sender", [
    ("flanker__enclosed.eml", "dan@example.com"),
    ("mikelmail__attachment_msg_from_outlook.eml", "pavel@yyy.com"),
    ("mimekit__simple-embedded-message.eml", "mimekit@example.com"),
    ("flanker__torture-part.eml", "nsb@thumper.bellcore.com"),
])
def test_corpus_forward_as_attachment_without_documents(name, attached_sender):
    facts = read_message(corpus(name))
    assert facts.documents == ()
    assert facts.original_sender == attached_sender


def _tnef_message(name: str) -> bytes:
    return with_attachment(corpus(name), "winmail.dat", "application/ms-tnef")


@needs_corpus
def test_corpus_tnef_pdf_is_found_and_office_files_are_noted():
    facts = read_message(_tnef_message("mimekit__MAPI_ATTACH_DATA_OBJ.tnef"))
    assert [(d.filename, d.content_type, d.origin) for d in facts.documents] == [
        ("VIA_Nytt_1402.pdf", "application/pdf", ("winmail.dat", "VIA_Nytt_1402.pdf"))
    ]
    assert facts.documents[0].data.startswith(b"%PDF-")
    notes = " ".join(facts.problems)
    assert "VIA_Nytt_1402.doc" in notes and "VIA_Nytt_14021.htm" in notes


@needs_corpus
def test_corpus_winmail_dat_small_jpeg_is_a_decoration_and_html_is_noted():
    # ytnef's winmail.dat holds an 83x72 px JPEG (an avatar) and an HTML page: no certificate.
    facts = read_message(_tnef_message("ytnef__winmail.dat"))
    assert facts.documents == ()
    assert any("bookmark.htm" in problem for problem in facts.problems)


@needs_corpus
def test_corpus_tnef_with_only_a_body_yields_nothing():
    facts = read_message(_tnef_message("tnefparse__body.tnef"))
    assert facts.documents == () and facts.problems == ()


@needs_corpus
def test_corpus_outlook_koi8r_mail_with_empty_winmail_dat():
    facts = read_message(corpus("mimekit__ukr.eml"))
    assert "шостий" in facts.body_text  # koi8-r decoded
    assert facts.documents == ()


@needs_corpus
def test_corpus_top_level_tnef_label_on_a_tiny_png_is_not_a_certificate():
    facts = read_message(corpus("mmp__m4006.eml"))
    assert facts.documents == ()
    assert facts.subject == "Read: invitation"


@needs_corpus
def test_corpus_small_inline_iphone_image_is_ignored():
    facts = read_message(corpus("flanker__iphone.eml"))  # a 20x20 px JPEG
    assert facts.documents == ()
    assert facts.body_text == "Hello"


@needs_corpus
@pytest.mark.parametrize("name", ["crisp__apple_mail_en_body.txt", "crisp__gmail_en_body.txt",
                                  "crisp__gmail_en_body_variant_14.txt", "crisp__new_outlook_2019_en_body.txt",
                                  "crisp__outlook_2013_en_body.txt"])
def test_corpus_plain_forward_bodies_name_the_original_sender(name):
    raw = b.as_bytes(b.base_message(body=corpus(name).decode("utf-8")))
    facts = read_message(raw)
    assert facts.from_addr == "morgan.tech+certs@example.com"
    assert facts.original_sender == "john.doe@acme.com"


@needs_corpus
@pytest.mark.parametrize("name", ["quotequail__apple_forward.html", "quotequail__gmail_forward.html"])
def test_corpus_html_forward_bodies_name_the_original_sender(name):
    msg = b.base_message()
    msg.set_content(corpus(name).decode("utf-8"), subtype="html")
    facts = read_message(b.as_bytes(msg))
    assert facts.original_sender == "foo@bar.example"
    assert facts.body_text.startswith("test")


@needs_corpus
def test_corpus_html_forward_prefers_the_html_block_when_the_plain_part_has_none():
    msg = b.base_message(body="see below")
    msg.add_alternative(corpus("quotequail__gmail_forward.html").decode("utf-8"), subtype="html")
    facts = read_message(b.as_bytes(msg))
    assert facts.body_text == "see below"
    assert facts.original_sender == "foo@bar.example"


@needs_corpus
@pytest.mark.parametrize("name, provider", [
    ("discourse__forwarded_email_1.eml", "some@one.com"),
    ("discourse__forwarded_email_4.eml", "some@one.com"),
    ("talon__outlook.eml", "xxx@xxx.mailgun.org"),
])
def test_corpus_inline_forwards(name, provider):
    facts = read_message(corpus(name))
    assert facts.original_sender == provider
    assert facts.robot_reason is None


@needs_corpus
def test_corpus_headers_are_read():
    facts = read_message(corpus("discourse__forwarded_email_1.eml"))
    assert facts.from_addr == "ba@bar.com" and facts.from_name == "Ba Bar"
    assert facts.message_id == "<58@foo.bar.mail>"
    assert facts.subject == "FW: Discoursing much?"
    assert facts.date is not None and (facts.date.year, facts.date.month, facts.date.day) == (2016, 12, 1)


@needs_corpus
def test_corpus_ietf_list_mail_is_a_robot_and_external_bodies_are_not_documents():
    facts = read_message(corpus("flanker__message-external-body.eml"))
    assert facts.documents == ()
    assert facts.robot_reason is not None and "bulk" in facts.robot_reason.lower()


@needs_corpus
@pytest.mark.parametrize("name", ["msgextract__strangeDate.msg", "ytnef__winmail.dat", "tnefparse__body.tnef"])
def test_corpus_binary_files_that_are_not_mail_give_empty_facts(name):
    facts = read_message(corpus(name))
    assert facts.from_addr is None and facts.documents == ()


# ---------------------------------------------------------------- built fixtures: where certificates hide


def test_gmail_forward_with_pdf_attachment():
    pdf = b.make_pdf()
    msg = b.attach(b.base_message(body=b.gmail_forward_body(note="my water course")), pdf, "application/pdf",
                   "Certificate.pdf")
    facts = read_message(b.as_bytes(msg))
    assert facts.from_addr == "morgan.tech+certs@example.com" and facts.from_name == "Morgan Tech"
    assert facts.original_sender == "courses@academy.example"
    assert [(d.filename, d.content_type, d.data, d.origin) for d in facts.documents] == [
        ("Certificate.pdf", "application/pdf", pdf, ("Certificate.pdf",))
    ]
    assert facts.body_text.startswith("my water course")
    assert facts.robot_reason is None and facts.problems == ()


@pytest.mark.parametrize("body", [b.outlook_forward_body(), b.apple_forward_body()])
def test_outlook_and_apple_forwards_name_the_provider(body):
    facts = read_message(b.as_bytes(b.base_message(body=body)))
    assert facts.original_sender == "courses@academy.example"


def test_forward_as_attachment_nested_two_deep():
    pdf = b.make_pdf("deep")
    provider_mail = b.attach(b.base_message(sender=b.PROVIDER, body="Your certificate"), pdf, "application/pdf",
                             "cert.pdf")
    manager_forward = b.wrap_as_rfc822(provider_mail, sender="Manager <boss@company.example>")
    facts = read_message(b.as_bytes(b.wrap_as_rfc822(manager_forward)))
    assert [(d.data, d.origin) for d in facts.documents] == [(pdf, ("message/rfc822", "message/rfc822", "cert.pdf"))]
    assert facts.from_addr == "morgan.tech+certs@example.com"
    assert facts.original_sender == "boss@company.example"  # the outermost attached message
    assert facts.body_text == "Forwarding as attachment."


def test_inline_pdf_is_a_document():
    pdf = b.make_pdf()
    facts = read_message(b.as_bytes(b.attach(b.base_message(), pdf, "application/pdf", "cert.pdf", "inline")))
    assert [(d.filename, d.content_type) for d in facts.documents] == [("cert.pdf", "application/pdf")]


def test_octet_stream_pdf_without_a_name_is_sniffed():
    pdf = b.make_pdf()
    msg = b.base_message()
    msg.add_attachment(pdf, maintype="application", subtype="octet-stream")
    facts = read_message(b.as_bytes(msg))
    assert [(d.filename, d.content_type, d.origin) for d in facts.documents] == [
        (None, "application/pdf", ("application/octet-stream",))
    ]


def test_octet_stream_named_pdf_and_mislabelled_png():
    pdf, png = b.make_pdf(), b.make_image(1200, 900, "PNG")
    msg = b.attach(b.base_message(), pdf, "application/octet-stream", "cert.PDF")
    b.attach(msg, png, "application/pdf", "scan.pdf")  # label says PDF, bytes say PNG
    facts = read_message(b.as_bytes(msg))
    assert [(d.filename, d.content_type) for d in facts.documents] == [
        ("cert.PDF", "application/pdf"), ("scan.pdf", "image/png")
    ]


def test_html_session_expired_page_named_pdf_is_a_problem_not_a_document():
    page = b"<!DOCTYPE html><html><body>Your session has expired. Please log in.</body></html>"
    facts = read_message(with_attachment(page, "cert.pdf", "application/pdf"))
    assert facts.documents == ()
    assert len(facts.problems) == 1
    assert "cert.pdf" in facts.problems[0] and "HTML page" in facts.problems[0]


def test_path_traversal_filename_is_reduced_to_its_base_name():
    facts = read_message(with_attachment(b.make_pdf(), "../../etc/passwd.pdf"))
    assert [d.filename for d in facts.documents] == ["passwd.pdf"]
    assert facts.documents[0].origin == ("passwd.pdf",)


def test_same_pdf_attached_twice_is_one_document():
    pdf = b.make_pdf()
    msg = b.attach(b.attach(b.base_message(), pdf, "application/pdf", "a.pdf"), pdf, "application/pdf", "b.pdf")
    assert [d.filename for d in read_message(b.as_bytes(msg)).documents] == ["a.pdf"]


def test_photos_jpeg_png_heic_are_documents():
    # Small but above the decoration thresholds (100 px short side, 300 px long side).
    photos = {"a.jpg": b.make_image(640, 480, "JPEG"), "b.png": b.make_image(480, 640, "PNG"),
              "c.heic": b.make_image(320, 400, "HEIF"), "d.tif": b.make_image(340, 440, "TIFF")}
    msg = b.base_message()
    for name, data in photos.items():
        b.attach(msg, data, "application/octet-stream", name)
    facts = read_message(b.as_bytes(msg))
    assert [(d.filename, d.content_type) for d in facts.documents] == [
        ("a.jpg", "image/jpeg"), ("b.png", "image/png"), ("c.heic", "image/heic"), ("d.tif", "image/tiff")
    ]


def test_signature_logo_and_tracking_pixel_are_ignored_but_the_photo_is_kept():
    logo = b.make_image(600, 150, "PNG", colour="navy")  # wide, but small in bytes and shown via cid:
    pixel = b.make_image(1, 1, "PNG")
    photo = b.make_image(1600, 1200, "JPEG")
    msg = b.base_message(body="Certificate photo attached")
    msg.add_alternative('<p>Thanks</p><img src="cid:logo@sig"><img src="https://t.example/p.png">',
                        subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(logo, maintype="image", subtype="png", cid="<logo@sig>")
    b.attach(msg, pixel, "image/png", "p.png", "inline")
    b.attach(msg, b.make_image(1, 1, "GIF"), "image/gif", "spacer.gif", "inline")
    b.attach(msg, photo, "image/jpeg", "IMG_0001.jpg")
    facts = read_message(b.as_bytes(msg))
    assert [d.filename for d in facts.documents] == ["IMG_0001.jpg"]
    assert facts.problems == ()


def test_large_uncited_inline_image_is_kept():
    photo = b.make_image(1200, 1600, "PNG")
    facts = read_message(b.as_bytes(b.attach(b.base_message(), photo, "image/png", None, "inline")))
    assert [(d.filename, d.content_type) for d in facts.documents] == [(None, "image/png")]


def test_zip_with_a_pdf():
    pdf = b.make_pdf()
    archive = b.make_zip({"certs/../water/cert.pdf": pdf, "readme.txt": b"hello", "__MACOSX/._cert.pdf": b"x"})
    facts = read_message(with_attachment(archive, "certs.zip", "application/zip"))
    assert [(d.filename, d.data, d.origin) for d in facts.documents] == [("cert.pdf", pdf, ("certs.zip", "cert.pdf"))]
    assert len(facts.problems) == 1 and "readme.txt" in facts.problems[0]


def test_zip_bomb_member_is_refused_by_ratio():
    bomb = b.make_zip({"cert.pdf": b"%PDF-1.4\n" + bytes(40 * 1024 * 1024)})
    facts = read_message(with_attachment(bomb, "bomb.zip"))
    assert facts.documents == ()
    assert len(facts.problems) == 1 and "zip bomb" in facts.problems[0] and "cert.pdf" in facts.problems[0]


def test_zip_over_total_size_or_member_count_is_not_opened():
    archive = b.make_zip({f"c{i}.pdf": b.make_pdf(str(i)) for i in range(5)})
    too_big = read_message(with_attachment(archive, "a.zip"), MimeLimits(max_zip_total_bytes=1000))
    too_many = read_message(with_attachment(archive, "a.zip"), MimeLimits(max_zip_members=4))
    for facts in (too_big, too_many):
        assert facts.documents == () and len(facts.problems) == 1 and "not opened" in facts.problems[0]


def test_zip_inside_zip_and_corrupt_zip_are_problems():
    inner = b.make_zip({"cert.pdf": b.make_pdf()})
    outer = b.make_zip({"inner.zip": inner})
    nested = read_message(with_attachment(outer, "outer.zip"))
    corrupt = read_message(with_attachment(b"PK\x03\x04garbage", "broken.zip"))
    assert nested.documents == () and "archive inside an archive" in nested.problems[0]
    assert corrupt.documents == () and "not a readable zip" in corrupt.problems[0]


def _provider_mail_with(pdf: bytes) -> bytes:
    return b.as_bytes(b.attach(b.base_message(sender=b.PROVIDER, body="Yours"), pdf, "application/pdf", "cert.pdf"))


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_transfer_encoded_message_rfc822_is_decoded(encoding):
    # Exchange sends forwards-as-attachment base64-encoded, which RFC 2046 forbids.
    import base64
    import quopri

    pdf = b.make_pdf("encoded")
    inner = _provider_mail_with(pdf)
    encoded = base64.encodebytes(inner) if encoding == "base64" else quopri.encodestring(inner)
    raw = (b'From: a@b.example\nSubject: x\nContent-Type: multipart/mixed; boundary="zz"\n\n--zz\n'
           b"Content-Type: text/plain\n\nhi\n--zz\nContent-Type: message/rfc822\nContent-Transfer-Encoding: "
           + encoding.encode() + b"\n\n" + encoded + b"\n--zz--\n")
    facts = read_message(raw)
    assert [(d.data, d.origin) for d in facts.documents] == [(pdf, ("message/rfc822", "cert.pdf"))]


def test_eml_file_sent_as_octet_stream_is_opened():
    pdf = b.make_pdf("eml")
    facts = read_message(with_attachment(_provider_mail_with(pdf), "Your certificate.eml"))
    assert [(d.data, d.origin) for d in facts.documents] == [(pdf, ("message/rfc822", "cert.pdf"))]


@needs_corpus
def test_winmail_dat_inside_a_forwarded_message():
    outlook_mail = b.attach(b.base_message(sender=b.PROVIDER), corpus("mimekit__MAPI_ATTACH_DATA_OBJ.tnef"),
                            "application/ms-tnef", "winmail.dat")
    facts = read_message(b.as_bytes(b.wrap_as_rfc822(outlook_mail)))
    assert [(d.filename, d.origin) for d in facts.documents] == [
        ("VIA_Nytt_1402.pdf", ("message/rfc822", "winmail.dat", "VIA_Nytt_1402.pdf"))
    ]
    assert facts.original_sender == "courses@academy.example"


def test_encrypted_and_unreadable_winmail_parts_are_explained():
    msg = b.attach(b.base_message(), b"\x30\x82garbage", "application/pkcs7-mime", "smime.p7m")
    b.attach(msg, b"not tnef at all", "application/ms-tnef", "winmail.dat")
    problems = read_message(b.as_bytes(msg)).problems
    assert len(problems) == 2
    assert "smime.p7m" in problems[0] and "encrypted" in problems[0]
    assert "winmail.dat" in problems[1] and "TNEF" in problems[1]


def test_original_sender_skips_the_forwarders_own_earlier_forward():
    # The technician forwarded it to themselves first, then on to certs@: the provider is the second block.
    body = b.gmail_forward_body(sender="Morgan Tech <morgan.tech@example.com>") + b.gmail_forward_body()
    facts = read_message(b.as_bytes(b.base_message(body=body)))
    assert facts.original_sender == "courses@academy.example"


def test_empty_plain_alternative_falls_back_to_the_html_text():
    msg = b.base_message(body="\n")
    msg.add_alternative("<html><body><p>REJECT wrong person</p></body></html>", subtype="html")
    assert read_message(b.as_bytes(msg)).body_text == "REJECT wrong person"


def test_pasted_screenshot_shown_through_cid_is_kept_even_when_it_compresses_small():
    screenshot = b.make_image(1100, 850, "PNG")  # white with a little text: a few KB
    assert len(screenshot) < 40 * 1024
    msg = b.base_message(body="screenshot below")
    msg.add_alternative('<p>My certificate:</p><img src="cid:shot@x">', subtype="html")
    msg.get_payload()[1].add_related(screenshot, maintype="image", subtype="png", cid="<shot@x>")
    assert [d.content_type for d in read_message(b.as_bytes(msg)).documents] == ["image/png"]


def test_image_pasted_as_a_data_uri_is_found_and_a_tiny_one_ignored():
    import base64

    photo, icon = b.make_image(1200, 900, "JPEG"), b.make_image(16, 16, "PNG")
    html = (f'<p>cert:</p><img src="data:image/jpeg;base64,{base64.b64encode(photo).decode()}">'
            f'<img src="data:image/png;base64,{base64.b64encode(icon).decode()}">')
    msg = b.base_message(body="see html")
    msg.add_alternative(html, subtype="html")
    facts = read_message(b.as_bytes(msg))
    assert [(d.data, d.origin) for d in facts.documents] == [(photo, ("text/html", "data-uri"))]


def test_non_ascii_rfc2231_filename_is_decoded():
    facts = read_message(with_attachment(b.make_pdf(), "Zertifikat_Müller_été.pdf", "application/pdf"))
    assert [d.filename for d in facts.documents] == ["Zertifikat_Müller_été.pdf"]


@needs_corpus
def test_outlook_msg_attachment_is_explained():
    facts = read_message(with_attachment(corpus("msgextract__strangeDate.msg"), "Fw certificate.msg",
                                         "application/vnd.ms-outlook"))
    assert facts.documents == ()
    assert len(facts.problems) == 1 and "Outlook item (.msg)" in facts.problems[0]
