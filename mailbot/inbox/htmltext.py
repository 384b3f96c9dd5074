"""HTML mail bodies as plain text, good enough to read forward headers and "APPROVE" replies.

Block elements become line breaks and inline ones (b, span, a) do not, so an Outlook or
Apple forward header such as `<b>From:</b> <span>Foo &lt;<a>foo@x</a>&gt;</span><br>`
comes out as the single line "From: Foo <foo@x>".
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    "br", "p", "div", "tr", "li", "ul", "ol", "table", "blockquote", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "pre", "section", "article", "header", "footer", "dt", "dd",
}
# Enough for any human-written mail body; beyond it html.parser only burns CPU on generated junk.
_MAX_HTML_CHARS = 2_000_000
_SKIPPED_TAGS = {"script", "style", "head", "title", "xml"}
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
# Block edges are "soft" breaks: `<div>From: x<br></div><div>Date: y</div>` is two lines,
# not two lines with a blank between, which is how Apple Mail lays out a forward header.
_SOFT_BREAK = "\x00"
_SOFT_BREAKS = re.compile(r"\n?(?:[ \t]*\x00[ \t]*)+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in _BLOCK_TAGS:
            self.chunks.append(_SOFT_BREAK)

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS and tag != "br":
            self.chunks.append(_SOFT_BREAK)

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            # Source newlines inside HTML are just spaces; only tags make lines.
            self.chunks.append(data.replace("\r", " ").replace("\n", " ").replace(_SOFT_BREAK, ""))


def html_to_text(html: str) -> str:
    """Readable text of an HTML document; never raises (broken HTML gives partial text)."""
    collector = _TextCollector()
    try:
        collector.feed(html[:_MAX_HTML_CHARS])
        collector.close()
    except Exception:  # noqa: BLE001, S110 - html.parser can assert on pathological markup;
        pass  # the text collected so far is still the best answer
    text = _SOFT_BREAKS.sub("\n", "".join(collector.chunks))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
