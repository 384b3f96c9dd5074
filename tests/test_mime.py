"""read_message over the shared real-world corpus and over messages built here."""
from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.domain import MailFacts
from mailbot.inbox.mime import read_message

CORPUS_EML = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "realworld" / "eml"
CORPUS_FILES = sorted(CORPUS_EML.iterdir()) if CORPUS_EML.is_dir() else []


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_parses_without_exception(path: Path):
    facts = read_message(path.read_bytes())
    assert isinstance(facts, MailFacts)
