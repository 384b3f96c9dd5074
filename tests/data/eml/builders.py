"""Builders for the MIME fixtures the inbox tests need, made with the email package.

Each returns raw bytes as a mail server would hand them over. Kept as code rather than
.eml files so each test shows exactly which shape it exercises.
"""
from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from email.policy import default as default_policy

TECH = "Morgan Tech <Morgan.Tech+certs@Example.COM>"
PROVIDER = "Restoration Academy <courses@academy.example>"


def make_pdf(text: str = "Certificate of Completion") -> bytes:
    """A real one-page PDF (reportlab), distinct per text so hashes differ."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def make_image(width: int, height: int, fmt: str = "JPEG", colour: str = "white") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).text((10, 10), f"{width}x{height}", fill="black")
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def base_message(subject: str = "Fwd: your certificate", sender: str = TECH, body: str = "See attached.") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "certs@company.example"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 03 Mar 2026 10:15:00 -0500"
    msg["Message-ID"] = "<fwd-1@example.com>"
    msg.set_content(body)
    return msg


def attach(msg: EmailMessage, data: bytes, ctype: str, filename: str | None = None,
           disposition: str = "attachment", cid: str | None = None) -> EmailMessage:
    maintype, subtype = ctype.split("/")
    kwargs = {"maintype": maintype, "subtype": subtype, "disposition": disposition}
    if filename is not None:
        kwargs["filename"] = filename
    if cid is not None:
        kwargs["cid"] = cid
    msg.add_attachment(data, **kwargs)
    return msg


def gmail_forward_body(sender: str = PROVIDER, note: str = "") -> str:
    return (f"{note}\n\n---------- Forwarded message ---------\nFrom: {sender}\n"
            "Date: Tue, Mar 3, 2026 at 9:02 AM\nSubject: Your certificate of completion\n"
            "To: <morgan.tech@example.com>\n\nCongratulations on completing the course.\n")


def outlook_forward_body(sender: str = "Restoration Academy [mailto:courses@academy.example]") -> str:
    return (f"FYI\n\n-----Original Message-----\nFrom: {sender}\nSent: Tuesday, March 3, 2026 9:02 AM\n"
            "To: Morgan Tech\nSubject: Your certificate of completion\n\nCongratulations.\n")


def apple_forward_body(sender: str = PROVIDER) -> str:
    return (f"Sent from my iPhone\n\nBegin forwarded message:\n\n> From: {sender}\n> Date: March 3, 2026 at "
            "9:02:11 AM EST\n> To: morgan.tech@example.com\n> Subject: Your certificate\n>\n> Well done.\n")


def wrap_as_rfc822(inner: EmailMessage, sender: str = TECH, subject: str = "Fwd: certificate") -> EmailMessage:
    """Forward-as-attachment: `inner` travels whole as a message/rfc822 part."""
    outer = base_message(subject=subject, sender=sender, body="Forwarding as attachment.")
    outer.add_attachment(inner)
    return outer


def nested_multipart(levels: int, leaf: bytes = b"", leaf_type: str = "application/pdf") -> bytes:
    """`levels` multipart/mixed parts inside each other, built as text (EmailMessage would
    recurse to serialise it), with one base64 leaf at the bottom."""
    import base64

    body = (f"Content-Type: {leaf_type}; name=deep.pdf\nContent-Disposition: attachment; filename=deep.pdf\n"
            f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(leaf).decode()}")
    for level in range(levels):
        body = f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n{body}\n--b{level}--\n'
    return f"From: {TECH}\nSubject: deep\nMIME-Version: 1.0\n{body}".encode()


def as_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=default_policy)
