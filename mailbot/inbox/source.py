"""What mailbot needs from a mailbox, whatever it is: list, read without marking, file away, wait.

Two adapters implement it: `mailbot.inbox.imap.ImapSource` (a real IMAP server via imap-tools) and
`mailbot.inbox.maildir.MaildirSource` (a local Maildir++ tree, the embedded default). Both promise the same
things: listing and reading never change \\Seen or any other flag, filing a message moves it (never copies and
expunges the folder), and failures come out as `mailbot.errors.ProcessingError` with `permanent` set:
False for outages worth retrying (refused, reset, timeout, BYE), True for what a person must fix (bad
credentials, an untrusted certificate). Messages never contain a password.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

# How many messages one FETCH asks for: bounds memory and the size of a single server response.
FETCH_BATCH = 20


@dataclass(frozen=True)
class FolderState:
    """The inbox folder as the server sees it now: its UIDVALIDITY and every message key, no bodies.

    `keys` are UIDs as decimal strings for IMAP (ascending), Maildir keys for a Maildir (sorted).
    A Maildir has no UIDVALIDITY: it is always 0 there, and keys are stable across moves instead.
    """

    folder: str
    uidvalidity: int
    keys: list[str] = field(default_factory=list)
    # (UIDVALIDITY, UIDNEXT, message count) as the server stated them when the folder was opened, before
    # the keys were listed; None where the source has no such thing (a Maildir). See status_signature.
    signature: tuple[int, int, int] | None = None


@runtime_checkable
class MailSource(Protocol):
    account: str  # stable identity of the mailbox, e.g. "imap://user@host:993" or "maildir:/abs/path"
    folder: str  # the inbox folder this source watches

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def folder_state(self) -> FolderState:
        """UIDVALIDITY and all keys of the inbox folder, without downloading any message body."""
        ...

    def status_signature(self) -> tuple[int, int, int] | None:
        """(UIDVALIDITY, UIDNEXT, message count) of the inbox folder without opening it, or None when the
        source cannot say. Equal to an earlier FolderState.signature ⇒ no message was added or removed
        since (UIDNEXT grows with every arrival, the count falls with every removal)."""
        ...

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(key, raw RFC 822 bytes) for each key still present, in bounded batches, never setting \\Seen."""
        ...

    def file(self, key: str, folder: str) -> None:
        """Move one message into `folder` (created if missing), flags kept; a key already gone is fine."""
        ...

    def file_many(self, keys: Sequence[str], folder: str) -> None:
        """`file` for several messages at once (one round trip where the server allows it)."""
        ...

    def ensure_folders(self, names: Iterable[str]) -> None:
        """Create each folder that does not exist yet."""
        ...

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ("\\Seen",)) -> None:
        """Store a message (e.g. the Sent copy) in `folder` with IMAP-style flags."""
        ...

    def wait_for_new(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True as soon as the inbox may have changed."""
        ...


def batched(items: Sequence[str], size: int = FETCH_BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
