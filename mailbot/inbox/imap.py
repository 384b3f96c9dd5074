"""The IMAP mail source: imap-tools over SSL, STARTTLS or plain, used so it never disturbs a shared inbox.

Three imap-tools habits are worked around here (see docs/stack-notes): `fetch()` would set \\Seen (we send
`UID FETCH … BODY.PEEK[]` ourselves), `move()` decides on MOVE from the capabilities read before login and then
falls back to COPY + a folder-wide EXPUNGE (we refresh capabilities after login and send `UID MOVE`), and
`flag()`/`delete()` expunge the folder (we never call them). The connection is opened lazily and dropped on
any transport failure, so the next call after a ProcessingError(permanent=False) reconnects by itself.
"""
from __future__ import annotations

import imaplib
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Self
from urllib.parse import quote

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError
from imap_tools.utils import encode_folder

from mailbot.errors import ConfigError, ProcessingError
from mailbot.inbox.imap_wire import (
    bodies_from_fetch,
    close_quietly,
    decode,
    idle_done,
    idle_start,
    is_exists,
    login_xoauth2,
    server_text,
)
from mailbot.inbox.source import FolderState, batched

SECURITY_MODES = ("ssl", "starttls", "none")
# RFC 2177: servers may drop an IDLE after 30 minutes; re-issue well before the 29-minute mark.
IDLE_RENEW_SECONDS = 25 * 60
# Server response codes that mean "a person must fix the account", not "try again later".
PERMANENT_CODES = (b"AUTHENTICATIONFAILED", b"AUTHORIZATIONFAILED", b"EXPIRED", b"PRIVACYREQUIRED")


class ImapSource:
    """One IMAP account and its inbox folder. Use as a context manager; one instance per thread."""

    idle_renew_seconds: float = IDLE_RENEW_SECONDS  # longest single IDLE before DONE + a fresh IDLE

    def __init__(self, host: str, port: int, security: str = "ssl", username: str = "",
                 password: str | None = None, folder: str = "INBOX", *,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0,
                 oauth2_token: Callable[[], str] | None = None, idle: bool = True):
        if security not in SECURITY_MODES:
            raise ConfigError(f"inbox.security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.folder, self.timeout = username, folder, timeout
        self._password = password or ""
        self._oauth2_token = oauth2_token  # set → XOAUTH2 instead of LOGIN, asked for a token per connect
        self.idle = idle  # False: wait_for_new polls (for servers whose IDLE misbehaves, and the benchmark)
        self._last_token = ""
        self._ssl_context = ssl_context
        self.account = f"imap://{quote(username, safe='@')}@{host}:{port}"
        self._box: BaseMailBox | None = None
        self._selected = False
        self._known_folders: set[str] | None = None
        self._delimiter: str | None = None
        # UIDVALIDITY of the last folder_state(): keys handed out belong to it, across reconnects.
        self._listed_uidvalidity: int | None = None

    # ---- connection ---------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._connected()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out politely; a connection that is already broken is just dropped."""
        box, self._box = self._box, None
        if box is not None:
            try:
                box.client.logout()
            except (imaplib.IMAP4.error, OSError, EOFError):
                pass
        self._forget_session()

    def _forget_session(self) -> None:
        self._selected = False
        self._known_folders = None
        self._delimiter = None

    def _server_name(self, box: BaseMailBox, folder: str) -> str:
        """Folder names are configured with "/" for hierarchy ("mailbot/Processed"); servers whose
        delimiter is "." (Dovecot's Maildir++ default) would refuse the "/", so translate it."""
        if self._delimiter is None:
            typ, data = box.client.list('""', '""')
            found = re.search(rb'\) (?:"(.)"|NIL)', data[0] or b"") if typ == "OK" else None
            self._delimiter = found.group(1).decode() if found and found.group(1) else "/"
        return folder.replace("/", self._delimiter) if self._delimiter != "/" else folder

    def _encoded(self, box: BaseMailBox, folder: str) -> bytes:
        return encode_folder(self._server_name(box, folder))

    def _drop(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.client.shutdown()
            except (OSError, EOFError, imaplib.IMAP4.error):
                pass
        self._forget_session()

    def _connected(self) -> BaseMailBox:
        if self._box is None:
            self._box = self._connect()
        return self._box

    def _open(self) -> BaseMailBox:
        context = self._ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return MailBox(self.host, self.port, timeout=self.timeout, ssl_context=context)
        if self.security == "starttls":
            return MailBoxStartTls(self.host, self.port, timeout=self.timeout, ssl_context=context)
        return MailBoxUnencrypted(self.host, self.port, timeout=self.timeout)

    def _connect(self) -> BaseMailBox:
        with self._guard("connect"):
            box = self._open()
            try:
                self._login(box)
                # Servers (Dovecot among them) announce MOVE, IDLE, UIDPLUS only after login; imaplib kept
                # the pre-login list, which would make imap-tools and us fall back to COPY + EXPUNGE.
                box.client._get_capabilities()
            except BaseException:
                close_quietly(box)
                raise
        self._forget_session()
        return box

    def _login(self, box: BaseMailBox) -> None:
        """LOGIN with the password, or XOAUTH2 with a token fetched now (tokens expire between connects).

        A token provider may raise ProcessingError itself (e.g. permanent when its refresh token was
        revoked); anything else it raises counts as transient.
        """
        try:
            if self._oauth2_token is not None:
                try:
                    self._last_token = self._oauth2_token()
                except ProcessingError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the provider is another module's code
                    raise ProcessingError(self._scrub(
                        f"IMAP {self.account}: could not get an OAuth2 token ({exc})"), permanent=False) from None
                login_xoauth2(box, self.username, self._last_token)
            else:
                box.login(self.username, self._password, initial_folder=None)
        except imaplib.IMAP4.abort:
            raise
        except (MailboxLoginError, imaplib.IMAP4.error) as exc:
            raise ProcessingError(self._scrub(
                f"IMAP login to {self.account} was rejected ({server_text(exc)}): "
                "check inbox.username and the password or token"), permanent=True) from None

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn library and socket failures into ProcessingError with a readable, password-free message."""
        try:
            yield
        except ProcessingError:
            raise
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise ProcessingError(self._scrub(
                f"IMAP {self.account}: cannot {action}: the server certificate is not trusted "
                f"({exc.verify_message})"), permanent=True) from None
        except (imaplib.IMAP4.abort, OSError, EOFError) as exc:
            self._drop()
            raise ProcessingError(self._scrub(
                f"IMAP {self.account}: cannot {action}: connection lost or refused "
                f"({type(exc).__name__}: {exc})"), permanent=False) from None
        except (imaplib.IMAP4.error, UnexpectedCommandStatusError) as exc:
            text = server_text(exc)
            permanent = any(code.decode() in text for code in PERMANENT_CODES)
            raise ProcessingError(self._scrub(
                f"IMAP {self.account}: cannot {action}: server said {text}"), permanent=permanent) from None

    def _scrub(self, text: str) -> str:
        for secret in (self._password, self._last_token):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _selected_box(self) -> BaseMailBox:
        """The connection with the inbox selected, reconnecting if needed. After a reconnect the UIDs the
        caller holds are only meaningful if UIDVALIDITY is unchanged: otherwise UID n is another message,
        and moving or reading it would act on the wrong mail."""
        box = self._connected()
        if not self._selected:
            uidvalidity = self._select_inbox(box)
            if self._listed_uidvalidity is not None and uidvalidity != self._listed_uidvalidity:
                self._selected = False
                raise ProcessingError(
                    f"IMAP {self.account}: UIDVALIDITY of {self.folder!r} changed from "
                    f"{self._listed_uidvalidity} to {uidvalidity} since it was listed: list it again",
                    permanent=False)
        return box

    def _select_inbox(self, box: BaseMailBox) -> int:
        """SELECT the inbox (read-write: MOVE needs it) and return its UIDVALIDITY."""
        with self._guard(f"open folder {self.folder!r}"):
            typ, data = box.client.select(self._encoded(box, self.folder))
            if typ != "OK":
                raise ProcessingError(self._scrub(
                    f"IMAP {self.account}: cannot open folder {self.folder!r} "
                    f"(server said {decode(data)}): check inbox.folder"), permanent=True)
            uidvalidity = int(box.client.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
        self._selected = True
        return uidvalidity

    # ---- MailSource ---------------------------------------------------------------------------------
    def folder_state(self) -> FolderState:
        box = self._connected()
        # Re-SELECT every time: it yields a fresh UIDVALIDITY (a recreated folder changes it).
        uidvalidity = self._select_inbox(box)
        self._listed_uidvalidity = uidvalidity
        signature = self._selected_signature(box, uidvalidity)  # stated before the listing: never newer than it
        with self._guard("list the inbox"):
            typ, data = box.client.uid("SEARCH", "ALL")
            if typ != "OK":
                raise imaplib.IMAP4.error(decode(data))
            keys = sorted((k.decode() for k in (data[0] or b"").split()), key=int)
            # Whatever EXISTS came with SELECT is now listed; wait_for_new looks only at later ones.
            box.client.untagged_responses.clear()
        return FolderState(self.folder, uidvalidity, keys, signature)

    @staticmethod
    def _selected_signature(box: BaseMailBox, uidvalidity: int) -> tuple[int, int, int] | None:
        untagged = box.client.untagged_responses
        try:
            return uidvalidity, int(untagged["UIDNEXT"][-1]), int(untagged["EXISTS"][-1])
        except (KeyError, IndexError, ValueError):  # a server that leaves UIDNEXT out: no shortcut
            return None

    def status_signature(self) -> tuple[int, int, int] | None:
        box = self._connected()
        with self._guard(f"ask about folder {self.folder!r}"):
            typ, data = box.client.status(self._encoded(box, self.folder), "(UIDVALIDITY UIDNEXT MESSAGES)")
        if typ != "OK" or not data or not isinstance(data[0], bytes):
            return None
        found = dict(re.findall(rb"(UIDVALIDITY|UIDNEXT|MESSAGES) (\d+)", data[0]))
        try:
            return int(found[b"UIDVALIDITY"]), int(found[b"UIDNEXT"]), int(found[b"MESSAGES"])
        except KeyError:
            return None

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """Raw bytes of each UID still in the inbox, 20 per FETCH, via BODY.PEEK so \\Seen is never set.

        Keys that are not decimal UIDs cannot exist in an IMAP folder and are skipped like missing ones.
        """
        uids = [key for key in keys if key.isdigit()]
        for batch in batched(uids):
            box = self._selected_box()
            with self._guard("fetch messages"):
                typ, data = box.client.uid("FETCH", ",".join(batch), "(UID BODY.PEEK[])")
                if typ == "BAD":
                    raise imaplib.IMAP4.error(decode(data))
            # A NO here (e.g. expunged meanwhile) still carries the messages that could be read.
            yield from bodies_from_fetch(data)

    def file(self, key: str, folder: str) -> None:
        self.file_many([key], folder)

    def file_many(self, keys: Sequence[str], folder: str) -> None:
        """Move these messages into `folder` with one `UID MOVE` (a batch costs one round trip)."""
        uids = ",".join(key for key in keys if key.isdigit())  # other keys cannot be in the folder: "gone"
        if not uids:
            return

        def move(box: BaseMailBox) -> tuple[str, list]:
            if "MOVE" in box.client.capabilities:
                return box.client.uid("MOVE", uids, self._encoded(box, folder))
            return self._copy_then_expunge(box, uids, folder)

        self._into_folder(folder, f"move message {uids} to {folder!r}", move, selected=True)

    def _into_folder(self, folder: str, action: str, command: Callable[[BaseMailBox], tuple[str, list]],
                     *, selected: bool = False) -> None:
        """Run a command that puts mail into `folder`, creating the folder first. If a person deleted it
        after we listed it, the server answers TRYCREATE: create it again and retry once."""
        for attempt in (1, 2):
            self.ensure_folders([folder])
            box = self._selected_box() if selected else self._connected()
            with self._guard(action):
                typ, data = command(box)
                if typ == "OK":
                    return
                if attempt == 1 and b"TRYCREATE" in b" ".join(d or b"" for d in data):
                    self._known_folders = None
                    continue
                raise imaplib.IMAP4.error(f"{typ} {decode(data)}")

    def _copy_then_expunge(self, box: BaseMailBox, uids: str, folder: str) -> tuple[str, list]:
        """For servers without MOVE: never a folder-wide EXPUNGE, which would remove what people deleted."""
        typ, data = box.client.uid("COPY", uids, self._encoded(box, folder))
        if typ != "OK":
            return typ, data
        box.client.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in box.client.capabilities:
            return box.client.uid("EXPUNGE", uids)
        return typ, data  # left marked \Deleted; the server's own expunge removes it later

    def ensure_folders(self, names: Iterable[str]) -> None:
        box = self._connected()
        with self._guard("create folders"):
            wanted = [self._server_name(box, n) for n in names if n.upper() != "INBOX"]
            if self._known_folders is not None and all(n in self._known_folders for n in wanted):
                return
            known = {f.name for f in box.folder.list()}
            for name in wanted:
                if name not in known:
                    typ, data = box.client.create(encode_folder(name))
                    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d or b"" for d in data):
                        raise imaplib.IMAP4.error(f"CREATE {name}: {decode(data)}")
                    box.client.subscribe(encode_folder(name))  # so people's mail clients show it
                    known.add(name)
        self._known_folders = known

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ("\\Seen",)) -> None:
        self._into_folder(folder, f"append to {folder!r}", lambda box: box.client.append(
            self._encoded(box, folder), " ".join(flags) or None, None, raw))

    def wait_for_new(self, timeout: float) -> bool:
        """IDLE on the inbox (renewed every 25 minutes); True once the server reports new mail (EXISTS).

        Also True at once when called on a fresh (re)connection before any folder_state(): what changed
        while we were away is unknown, so the caller should list the folder.

        Without IDLE (not offered by the server, or `idle=False`): sleep, then NOOP and look for EXISTS.
        """
        box = self._selected_box()
        if self._exists_reported(box):
            return True  # arrived since the last listing; Dovecot would only say so a while into IDLE
        if not self.idle or "IDLE" not in box.client.capabilities:
            time.sleep(timeout)
            return self._exists_reported(box)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            with self._guard("wait for new mail (IDLE)"):
                if self._idle_once(box, min(remaining, self.idle_renew_seconds)):
                    return True
        return False

    def _exists_reported(self, box: BaseMailBox) -> bool:
        """NOOP lets the server report changes; EXISTS means messages were added to the folder."""
        with self._guard("check the inbox"):
            box.client.noop()
        return bool(box.client.untagged_responses.pop("EXISTS", None))

    def _idle_once(self, box: BaseMailBox, seconds: float) -> bool:
        """One IDLE … DONE round; True when any line in it announced new mail."""
        tag, lines = idle_start(box.client)
        if not any(is_exists(line) for line in lines):
            lines += box.idle.poll(timeout=seconds)
        if any(line.startswith(b"* BYE") for line in lines):
            raise imaplib.IMAP4.abort(decode(lines))
        lines += idle_done(box, tag)
        box.client.untagged_responses.pop("EXISTS", None)  # counted here, from the raw lines
        return any(is_exists(line) for line in lines)
