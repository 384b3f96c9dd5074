"""Email = a template triple (<name>.subject.j2, <name>.txt.j2, <name>.html.j2) plus this one composer.

Pure: no network, no clock. Names and course titles are data: they are passed as template variables
(never compiled as templates), HTML-escaped in the HTML part, and folded to one line in headers so a
CR/LF in a name can never add a header.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, make_msgid
from importlib.resources import files
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

AUTO_SUBMITTED = "auto-generated"
PARSED_HEADERS_KEPT = 512  # distinct (name, value) pairs; a monthly run repeats ~10 of each email's ~17


class _Headers(HeaderRegistry):
    """The standard header classes, each made once per header name (the stdlib makes a new class on
    every lookup, a good share of building an email)."""

    @functools.lru_cache(maxsize=128)  # noqa: B019 - one registry per process; names are few
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name)


class _ComposePolicy(EmailPolicy):
    """policy.default for the emails mailbot writes, except a header value seen recently is not parsed
    again: From, Date, Auto-Submitted, MIME-Version, Content-Type… are the same in most emails of a run,
    and parsing headers was about half the cost of building one. Parsed headers are immutable (the
    message only swaps them), so sharing one between messages is safe."""

    def header_store_parse(self, name, value):  # type: ignore[no-untyped-def]
        if type(value) is str:
            return _stored(name, value)
        return super().header_store_parse(name, value)


POLICY = _ComposePolicy(header_factory=_Headers())


@functools.lru_cache(maxsize=PARSED_HEADERS_KEPT)
def _stored(name: str, value: str) -> tuple[str, str]:
    return EmailPolicy.header_store_parse(POLICY, name, value)


def packaged_templates_dir() -> Path:
    """templates/ at the top of a source checkout, else the copy installed as mailbot._templates."""
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if (checkout / "layout.html.j2").is_file():
        return checkout
    return Path(str(files("mailbot._templates")))


def template_env(override_dir: Path | None = None) -> Environment:
    """Admin overrides in `override_dir` win over the packaged templates, file by file."""
    dirs = [str(override_dir)] if override_dir else []
    dirs.append(str(packaged_templates_dir()))
    env = Environment(loader=FileSystemLoader(dirs), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["hours"] = format_hours
    return env


def format_hours(value: Any) -> str:
    """7 → "7", 3.50 → "3.5", 2.17 → "2.17"."""
    text = f"{value:.2f}" if not isinstance(value, str) else value
    return text.rstrip("0").rstrip(".") if "." in text else text


def one_line(text: str) -> str:
    """Collapse any whitespace run (CR/LF included) to one space: safe inside a header."""
    return re.sub(r"\s+", " ", str(text)).strip()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Envelope:
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_to: str | None = None
    from_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def render(env: Environment, name: str, context: dict[str, Any]) -> Rendered:
    subject = one_line(env.get_template(f"{name}.subject.j2").render(context))
    text = env.get_template(f"{name}.txt.j2").render(context)
    html = css_inline.inline(env.get_template(f"{name}.html.j2").render(context))
    return Rendered(subject=subject, text=text, html=html)


def build_message(rendered: Rendered, envelope: Envelope, attachments: Iterable[Attachment] = (),
                  *, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((one_line(envelope.from_name), envelope.from_addr)) if envelope.from_name \
        else envelope.from_addr
    msg["To"] = ", ".join(envelope.to)
    if envelope.cc:
        msg["Cc"] = ", ".join(envelope.cc)
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    msg["Subject"] = rendered.subject
    domain = envelope.from_addr.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    for key, value in envelope.headers.items():
        msg[key] = one_line(value)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    for att in attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=one_line(att.filename))
    return msg
