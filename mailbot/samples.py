"""Sample certificates and forwarded emails that mailbot generates itself (for `mailbot demo` and tests).

The people, companies and courses here are invented.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid


@dataclass(frozen=True)
class SampleCertificate:
    person: str
    title: str
    hours_text: str  # as printed, e.g. "7 CECs"
    date_text: str  # as printed, e.g. "March 14, 2026"
    provider: str
    approval_number: str | None = None
    landscape: bool = True


def certificate_pdf(cert: SampleCertificate) -> bytes:
    """A one-page certificate of completion in the common layout: title, name, course, hours, date."""
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.pdfgen import canvas

    size = landscape(letter) if cert.landscape else letter
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size, invariant=1)
    c.setTitle("Certificate of Completion")
    width, height = size
    lines = [
        ("Helvetica-Bold", 30, "Certificate of Completion"),
        ("Helvetica", 14, "This is to certify that"),
        ("Helvetica-Bold", 24, cert.person),
        ("Helvetica", 14, "has successfully completed the course"),
        ("Helvetica-Bold", 18, cert.title),
        ("Helvetica", 14, f"Credit: {cert.hours_text}"),
        ("Helvetica", 14, f"Completed on {cert.date_text}"),
        ("Helvetica", 12, f"Provider: {cert.provider}"),
    ]
    if cert.approval_number:
        lines.append(("Helvetica", 12, f"IICRC Approved Course #{cert.approval_number}"))
    y = height - 90
    for font, size_pt, text in lines:
        c.setFont(font, size_pt)
        c.drawCentredString(width / 2, y, text)
        y -= size_pt + 22
    c.showPage()
    c.save()
    return buf.getvalue()


def forwarded_email(*, sender: str, sender_name: str, to: str, provider_addr: str, subject: str,
                    attachment: bytes | None, filename: str = "certificate.pdf",
                    when: datetime | None = None, note: str = "") -> bytes:
    """A Gmail-style forward: the technician's note, the forwarded header block, the certificate attached."""
    when = when or datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = to
    msg["Subject"] = f"Fwd: {subject}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg.set_content(
        f"{note or 'Here is my certificate.'}\n\n"
        "---------- Forwarded message ---------\n"
        f"From: Training Desk <{provider_addr}>\n"
        f"Date: {format_datetime(when)}\n"
        f"Subject: {subject}\n"
        f"To: {sender_name} <{sender}>\n\n"
        "Congratulations on completing your course. Your certificate is attached.\n")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes()
