"""Shared fixtures. Real servers and databases live in their own plugin modules."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures_db",
    "tests.fixtures_dovecot",
    "tests.fixtures_smtp",
]

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus" / "realworld"


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {SHARED_CORPUS}")
    return SHARED_CORPUS
