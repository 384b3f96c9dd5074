"""Hypothesis strategies for MIME fuzzing: generated message trees and byte mutations."""
from __future__ import annotations

import base64

from hypothesis import strategies as st

from tests.data.eml import builders as b

SAMPLE_PAYLOADS = [b.make_pdf(), b.make_image(320, 320, "PNG"), b.make_zip({"c.pdf": b"%PDF-1.4 x"}),
                   b"\x78\x9f\x3e\x22\x00\x00garbage-tnef", b"<html>expired</html>", b"",
                   b"From: a@b.example\nSubject: inner\n\nhello\n", b.make_image(5, 5, "PNG")]
_TRICKY_VALUES = ["=?utf-8?q?=E2=9C=93?=", "=?x-bogus?b?!!!?=", "<>", "", "a@b", "<<@>>", "\u202e\u0000", "\\",
                  '"', "=?utf-8?b?" + "A" * 50, "(((((", "multipart/mixed; boundary=", "rfc822"]
value = st.one_of(st.sampled_from(_TRICKY_VALUES), st.text(st.characters(blacklist_categories=("Cs", "Cc")),
                                                              max_size=30))
_ctype = st.sampled_from(["text/plain", "text/html", "application/pdf", "application/octet-stream",
                          "application/zip", "application/ms-tnef", "image/png", "image/jpeg", "text/plain; charset=zz",
                          "message/rfc822", "message/external-body", "multipart/mixed", "BOGUS", ""])
_cte = st.sampled_from(["base64", "quoted-printable", "7bit", "8bit", "x-uuencode", "bogus"])


def _leaf(ctype: str, cte: str, disposition: str, filename: str, cid: str, payload: bytes) -> str:
    body = base64.encodebytes(payload).decode() if cte == "base64" else payload.decode("latin-1")
    return (f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}\nContent-ID: <{cid}>\n"
            f'Content-Disposition: {disposition}; filename="{filename}"\n\n{body}\n')


def _multipart(children: list[str], boundary: str, subtype: str) -> str:
    inner = "".join(f"--{boundary}\n{child}\n" for child in children)
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n{inner}--{boundary}--\n'


def _rfc822(child: str, sender: str) -> str:
    return f"Content-Type: message/rfc822\n\nFrom: {sender}\nSubject: inner\n{child}"


_names = st.one_of(value, st.sampled_from(["cert.pdf", "../../etc/passwd.pdf", "winmail.dat", "a.zip", "f.eml",
                                            "logo.png", "=?utf-8?q?c=C3=A9rt.pdf?=", "x\\y.pdf"]))
_html = st.sampled_from([b'<img src="cid:logo">', b"<html><body>APPROVE</body></html>", b"<p>From: x@y.z</p>"])
_leaves = st.builds(_leaf, _ctype, _cte, st.sampled_from(["attachment", "inline", "bogus", ""]), _names,
                    st.sampled_from(["logo", "", "<<>>", "x@y"]),
                    st.one_of(st.sampled_from(SAMPLE_PAYLOADS), _html, st.binary(max_size=300)))
trees = st.recursive(_leaves, lambda kids: st.one_of(
    st.builds(_multipart, st.lists(kids, max_size=4), st.sampled_from(["b1", "b2", "", "b1 b2"]),
              st.sampled_from(["mixed", "alternative", "related", "report", "digest"])),
    st.builds(_rfc822, kids, value)), max_leaves=12)


BASE_MESSAGES = [
    b.as_bytes(b.attach(b.base_message(body=b.gmail_forward_body()), b.make_pdf(), "application/pdf", "c.pdf")),
    b.as_bytes(b.attach(b.base_message(), b.make_zip({"c.pdf": b.make_pdf("z")}), "application/zip", "c.zip")),
    b.nested_multipart(5, b.make_pdf("n")),
]
mutation = st.tuples(st.sampled_from(["insert", "delete", "replace", "truncate"]), st.floats(0, 1),
                      st.binary(max_size=40))


def mutate(raw: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for kind, where, chunk in mutations:
        at = int(where * len(raw))
        if kind == "insert":
            raw = raw[:at] + chunk + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + len(chunk) + 1:]
        elif kind == "replace":
            raw = raw[:at] + chunk + raw[at + len(chunk):]
        else:
            raw = raw[:at]
    return raw


