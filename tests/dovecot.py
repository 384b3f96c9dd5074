"""A real Dovecot IMAP server for tests, run as a plain process from a config written into a temp dir.

Debian's dovecot-imapd, no systemd: plain IMAP (with STARTTLS) and implicit TLS on free loopback ports that
stay the same across stop()/start(), passwd-file users with {PLAIN} passwords, Maildir storage owned by
nobody (passwd-file refuses UID 0). The traps this avoids are in ../shared/docs/stack-notes.md: stdio goes to a
log file (the daemon would otherwise hold the caller's pipes), the state dir is 0755 so the `dovecot` auth
user can traverse it, and the stats writer is disabled so shutdown does not stall.
"""
from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from imap_tools import MailBoxUnencrypted

DOVECOT_BINARY = "dovecot"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@+-]*")  # also a file name: no leading dot
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


def dovecot_available() -> bool:
    return shutil.which(DOVECOT_BINARY) is not None or Path("/usr/sbin/dovecot").exists()


def _dovecot_path() -> str:
    return shutil.which(DOVECOT_BINARY) or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mail_owner() -> tuple[int, int]:
    """The uid/gid that owns the Maildirs: nobody when we are root, else ourselves."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    key.chmod(0o600)
    return cert, key


def _internal_user() -> str:
    """Dovecot's own unprivileged user: `dovecot` when run as root, else everything runs as us."""
    return "dovecot" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name


# A self-contained config: nothing from /etc/dovecot, nothing on the standard ports.
_CONFIG_TEMPLATE = """# written by tests/dovecot.py
base_dir = {run_dir}
state_dir = {state_dir}
instance_name = {instance_name}
listen = {host}
protocols = imap
log_path = {log_path}
stats_writer_socket_path =
default_internal_user = {internal_user}
default_login_user = {internal_user}
first_valid_uid = 1
last_valid_uid = 0
disable_plaintext_auth = no
# Tests try wrong passwords on purpose: no 2 s failure delay, and no per-IP penalty (up to 15 s) that
# would slow every later login from 127.0.0.1; disabling the anvil penalty socket is Dovecot's documented way.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{auth}ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
{dh_line}mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = {separator}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users}/%u
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


class Dovecot:
    """One Dovecot instance. Ports are chosen once in __init__ so a restart keeps them."""

    host = "127.0.0.1"

    def __init__(self, root: Path | None = None, separator: str = "/", oauth2_introspection_url: str | None = None):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()  # plain IMAP, STARTTLS offered
        self.ssl_port = free_port()  # implicit TLS
        self.passwords: dict[str, str] = {}
        # Hierarchy separator clients see: "/" (as many servers) lets tests say "mailbot/Processed";
        # "." is Dovecot's Maildir++ default, where such a name is refused unless the client translates it.
        self.separator = separator
        # Set: XOAUTH2/OAUTHBEARER logins are accepted, their tokens checked at this RFC 7662 endpoint.
        self.oauth2_introspection_url = oauth2_introspection_url
        # Unique per instance: its processes are titled "dovecot-<instance_name>/imap" etc.
        self.instance_name = f"mailbot-test-{self.port}-{secrets.token_hex(3)}"
        self.uid, self.gid = _mail_owner()
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.users_path = self.root / "users"
        self.run_dir = self.root / "run"
        self.home_root = self.root / "home"
        self._process: subprocess.Popen | None = None
        self._atexit_registered = False
        self._prepare()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # ---- set-up -------------------------------------------------------------------------------------
    def _prepare(self) -> None:
        for d in (self.run_dir, self.root / "state", self.home_root):
            d.mkdir(mode=0o755, exist_ok=True)
        self.cert_path, self.key_path = _make_self_signed_cert(self.root)
        self.users_path.mkdir(mode=0o755, exist_ok=True)
        self.config_path.write_text(self._config_text())

    def _config_text(self) -> str:
        dh = "/usr/share/dovecot/dh.pem"
        return _CONFIG_TEMPLATE.format(
            run_dir=self.run_dir, state_dir=self.root / "state", instance_name=self.instance_name, host=self.host,
            log_path=self.log_path, internal_user=_internal_user(), auth=self._auth_text(), cert=self.cert_path,
            key=self.key_path, dh_line=f"ssl_dh = <{dh}\n" if Path(dh).exists() else "",
            separator=self.separator, users=self.users_path, port=self.port, ssl_port=self.ssl_port)

    def _auth_text(self) -> str:
        if not self.oauth2_introspection_url:
            return "auth_mechanisms = plain login\n"
        oauth2_conf = self.root / "oauth2.conf.ext"
        oauth2_conf.write_text(f"introspection_mode = post\nintrospection_url = {self.oauth2_introspection_url}\n"
                               "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
        # After passwd-file (whose failure continues to the next passdb) so passwords keep working too.
        return ("auth_mechanisms = plain login xoauth2 oauthbearer\n"
                f"passdb {{\n  driver = oauth2\n  args = {oauth2_conf}\n}}\n")

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """Add a passwd-file user (Dovecot re-reads the file when it changes, no restart needed)."""
        name = name or f"user{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(12)
        if not _SAFE_NAME.fullmatch(name) or ":" in password or "\n" in password:
            raise ValueError("user names are [A-Za-z0-9._@+-]; passwords cannot contain ':' or newlines")
        home = self.home_root / name
        home.mkdir(mode=0o700, exist_ok=True)
        os.chown(home, self.uid, self.gid)
        # One passwd-file per user (the path has %u): a file Dovecot has never opened is read fresh, where
        # appending to one shared file is only noticed after Dovecot's once-a-second re-check.
        user_file = self.users_path / name
        user_file.write_text(f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n")
        user_file.chmod(0o644)
        self.passwords[name] = password
        return name, password

    # ---- lifecycle ----------------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.run_dir / "master.pid"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        if not self._atexit_registered:  # a benchmark or a killed test run must not leave a server behind
            atexit.register(self.stop)
            self._atexit_registered = True
        log = self.log_path.open("ab")
        # Foreground (-F) so we own the master process; stdio to the log file, never our pipes.
        self._process = subprocess.Popen(
            [_dovecot_path(), "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start; log:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}; log:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the master (which closes every client connection) and wait for master.pid to vanish."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._kill_leftover_children()

    def _kill_leftover_children(self) -> None:
        """Dovecot 2.3 here leaves logged-in imap processes running after the master exits (despite
        shutdown_clients = yes), so a "stopped" server would keep serving existing clients. Kill the ones
        this instance started, found by their unique process title."""
        prefix = f"dovecot-{self.instance_name}/".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (proc / "cmdline").read_bytes().startswith(prefix):
                    os.kill(int(proc.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate (and verifies the host)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def maildir(self, user: str) -> Path:
        return self.home_root / user / "Maildir"

    # ---- test helpers (a second, independent client) ------------------------------------------------
    @contextmanager
    def client(self, user: str) -> Iterator[MailBoxUnencrypted]:
        """An imap-tools connection logged in as `user` over plain IMAP, for arranging and inspecting mail."""
        box = MailBoxUnencrypted(self.host, self.port, timeout=10)
        box.login(user, self.passwords[user], initial_folder=None)
        try:
            yield box
        finally:
            box.logout()

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: Sequence[str] = ()) -> int:
        """APPEND one message; returns its UID (from APPENDUID)."""
        with self.client(user) as box:
            if folder != "INBOX" and not box.folder.exists(folder):
                box.folder.create(folder)
            flag_list = f"({' '.join(flags)})" if flags else None
            typ, data = box.client.append(folder, flag_list, None, raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            return _appenduid(data)

    def append_many(self, user: str, raws: Sequence[bytes], folder: str = "INBOX") -> list[int]:
        with self.client(user) as box:
            uids = []
            for raw in raws:
                typ, data = box.client.append(folder, None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
                uids.append(_appenduid(data))
            return uids

    def deliver_to_maildir(self, user: str, raws: Sequence[bytes]) -> None:
        """Drop messages straight into the user's Maildir new/ the way a local MTA would: thousands per
        second, where APPEND manages a few hundred. Dovecot assigns UIDs when it next looks at the folder."""
        maildir = self.maildir(user)
        for sub in ("", "tmp", "new", "cur"):
            (maildir / sub).mkdir(mode=0o700, exist_ok=True)
            os.chown(maildir / sub, self.uid, self.gid)
        stamp = f"{int(time.time())}.M{secrets.token_hex(4)}P{os.getpid()}"
        for index, raw in enumerate(raws):
            name = f"{stamp}Q{index}.mailbot-test"
            tmp = maildir / "tmp" / name
            tmp.write_bytes(raw)
            os.chown(tmp, self.uid, self.gid)
            tmp.rename(maildir / "new" / name)

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every message in `folder`, read without touching them."""
        with self.client(user) as box:
            typ, detail = box.client.select(_quote(folder), readonly=True)
            if typ != "OK":
                raise LookupError(f"{user} has no folder {folder!r} ({detail!r}); folders: {self.folders(user)}")
            _, data = box.client.uid("FETCH", "1:*", "(FLAGS)")
            return _parse_flags(data)

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        return sorted(self.flags(user, folder))

    def folders(self, user: str) -> list[str]:
        with self.client(user) as box:
            return sorted(f.name for f in box.folder.list())

    def store_flags(self, user: str, uid: int, flags: Sequence[str], folder: str = "INBOX") -> None:
        """Set flags the way a person's mail client would (plain UID STORE, no expunge)."""
        with self.client(user) as box:
            box.client.select(_quote(folder))
            box.client.uid("STORE", str(uid), "+FLAGS", f"({' '.join(flags)})")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _appenduid(data: list) -> int:
    # Response text: b'[APPENDUID <uidvalidity> <uid>] Append completed.'
    text = b" ".join(d for d in data if isinstance(d, bytes)).decode()
    marker = "APPENDUID "
    start = text.index(marker) + len(marker)
    return int(text[start:].split("]")[0].split()[1])


def _parse_flags(data: list) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {}
    for item in data:
        if not isinstance(item, bytes):
            continue
        text = item.decode()
        if "UID " not in text or "FLAGS (" not in text:
            continue
        uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
        flags = text.split("FLAGS (")[1].split(")")[0].split()
        # \Recent belongs to the session, not the message: leave it out so tests compare what people see.
        result[uid] = {f for f in flags if f != "\\Recent"}
    return result
