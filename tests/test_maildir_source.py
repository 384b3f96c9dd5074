"""MaildirSource on a real Maildir++ tree in a temp dir: the MailSource promises, checked with stdlib mailbox."""
from __future__ import annotations

import mailbox
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.errors import ProcessingError
from mailbot.inbox.maildir import MaildirSource
from mailbot.inbox.source import MailSource


def raw(subject: str) -> bytes:
    return (f"From: tech@example.com\r\nTo: certs@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.com>\r\n\r\nCertificate attached.\r\n").encode()


def deliver(root: Path, name: str, data: bytes, sub: str = "new") -> None:
    """Place a file by hand, the way an MTA (new/) or a mail client that read it (cur/ + info) would."""
    for d in ("tmp", "new", "cur"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / sub / name).write_bytes(data)


def listing(root: Path) -> dict[str, list[str]]:
    return {sub: sorted(os.listdir(root / sub)) for sub in ("new", "cur")}


@pytest.fixture
def inbox(tmp_path) -> Path:
    root = tmp_path / "Maildir"
    deliver(root, "1700000001.M1P1.host:2,S", raw("first seen"), "cur")
    deliver(root, "1700000002.M2P1.host:2,F", raw("second flagged"), "cur")
    deliver(root, "1700000003.M3P1.host", raw("third new"), "new")
    return root


KEYS = ["1700000001.M1P1.host", "1700000002.M2P1.host", "1700000003.M3P1.host"]


def test_is_a_mail_source_named_by_its_absolute_path(inbox):
    src = MaildirSource(inbox)
    assert isinstance(src, MailSource)
    assert src.account == f"maildir:{inbox.resolve()}"


def test_folder_state_lists_keys_and_fetch_returns_exact_bytes_without_touching_flags(inbox):
    before = listing(inbox)
    with MaildirSource(inbox) as src:
        state = src.folder_state()
        fetched = dict(src.fetch(state.keys))
    assert (state.folder, state.uidvalidity, state.keys) == ("INBOX", 0, KEYS)
    assert fetched == {KEYS[0]: raw("first seen"), KEYS[1]: raw("second flagged"), KEYS[2]: raw("third new")}
    assert listing(inbox) == before  # nothing renamed: no new/→cur/ move, no info letters added


def test_fetch_skips_keys_that_are_gone(inbox):
    with MaildirSource(inbox) as src:
        assert list(src.fetch(["no-such-key", KEYS[2]])) == [(KEYS[2], raw("third new"))]


def test_file_moves_into_a_new_subfolder_keeping_key_and_flags(inbox):
    with MaildirSource(inbox) as src:
        for key in src.folder_state().keys:
            src.file(key, "Processed")
        assert src.folder_state().keys == []
    assert listing(inbox / ".Processed") == {
        "new": ["1700000003.M3P1.host"],
        "cur": ["1700000001.M1P1.host:2,S", "1700000002.M2P1.host:2,F"],
    }
    processed = mailbox.Maildir(inbox, create=False).get_folder("Processed")
    assert sorted(processed.keys()) == KEYS
    assert processed.get_bytes(KEYS[1]) == raw("second flagged")
    assert (inbox / ".Processed" / "maildirfolder").exists()  # Maildir++ marker Dovecot expects


def test_filing_leaves_other_messages_including_ones_marked_deleted(inbox):
    deliver(inbox, "1700000004.M4P1.host:2,ST", raw("deleted by a person"), "cur")
    with MaildirSource(inbox) as src:
        src.file(KEYS[0], "Processed")
        assert "1700000004.M4P1.host" in src.folder_state().keys
    assert (inbox / "cur" / "1700000004.M4P1.host:2,ST").exists()


def test_filing_a_key_that_is_already_gone_is_not_an_error(inbox):
    with MaildirSource(inbox) as src:
        src.file(KEYS[0], "Processed")
        src.file(KEYS[0], "Processed")
        src.file("never-existed", "Review")
    assert listing(inbox / ".Processed")["cur"] == ["1700000001.M1P1.host:2,S"]


def test_a_message_moved_by_someone_else_is_found_again(inbox):
    with MaildirSource(inbox) as src:
        src.folder_state()
        # A mail client reads the new message: new/KEY → cur/KEY:2,S behind our back.
        os.rename(inbox / "new" / KEYS[2], inbox / "cur" / f"{KEYS[2]}:2,S")
        assert list(src.fetch([KEYS[2]])) == [(KEYS[2], raw("third new"))]
        src.file(KEYS[2], "Processed")
    assert listing(inbox / ".Processed")["cur"] == [f"{KEYS[2]}:2,S"]


def test_wait_for_new_sees_a_delivery_from_another_process(inbox):
    with MaildirSource(inbox, poll_interval=0.05) as src:
        src.folder_state()
        timer = threading.Timer(0.3, deliver, (inbox, "1700000009.M9P1.host", raw("late")))
        timer.start()
        started = time.monotonic()
        changed = src.wait_for_new(30)
        timer.join()
        assert changed is True
        assert time.monotonic() - started < 20  # woken by the delivery, not by the timeout
        assert "1700000009.M9P1.host" in src.folder_state().keys


def test_wait_for_new_reports_mail_that_arrived_after_the_last_listing(inbox):
    with MaildirSource(inbox) as src:
        src.folder_state()
        time.sleep(0.01)  # let the directory mtime move on even on coarse-clock file systems
        deliver(inbox, "1700000010.M10P1.host", raw("between"))
        assert src.wait_for_new(5) is True


def test_wait_for_new_times_out_quietly(inbox):
    with MaildirSource(inbox, poll_interval=0.05) as src:
        src.folder_state()
        assert src.wait_for_new(0.3) is False


def test_append_writes_exact_bytes_with_flags_as_info(inbox):
    with MaildirSource(inbox) as src:
        src.append("Sent", raw("our sent copy"))
        src.append("Drafts", raw("a draft"), flags=())
    sent = listing(inbox / ".Sent")
    assert sent["new"] == [] and len(sent["cur"]) == 1 and sent["cur"][0].endswith(":2,S")
    assert (inbox / ".Sent" / "cur" / sent["cur"][0]).read_bytes() == raw("our sent copy")
    drafts = listing(inbox / ".Drafts")
    assert len(drafts["new"]) == 1 and ":" not in drafts["new"][0]


def test_ensure_folders_creates_maildirplusplus_folders_once(inbox):
    with MaildirSource(inbox) as src:
        src.ensure_folders(["Processed", "Review", "INBOX"])
        src.ensure_folders(["Processed"])
    assert sorted(mailbox.Maildir(inbox, create=False).list_folders()) == ["Processed", "Review"]


def test_a_missing_maildir_is_created_by_default(tmp_path):
    with MaildirSource(tmp_path / "fresh") as src:
        assert src.folder_state().keys == []
    assert {p.name for p in (tmp_path / "fresh").iterdir()} >= {"tmp", "new", "cur"}


def test_a_missing_maildir_without_create_is_a_permanent_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ProcessingError) as failed, MaildirSource(missing, create=False):
        pass
    assert failed.value.permanent is True
    assert str(missing) in str(failed.value)


def test_a_directory_that_is_not_a_maildir_is_a_permanent_error(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProcessingError) as failed, MaildirSource(tmp_path / "plain", create=False):
        pass
    assert failed.value.permanent is True


def test_hierarchical_folder_names_use_the_maildirplusplus_dot(inbox):
    with MaildirSource(inbox) as src:
        src.file(KEYS[0], "mailbot/Processed")
        src.file(KEYS[1], "mailbot/Processed")
    assert listing(inbox / ".mailbot.Processed")["cur"] == ["1700000001.M1P1.host:2,S", "1700000002.M2P1.host:2,F"]
    assert mailbox.Maildir(inbox, create=False).list_folders() == ["mailbot.Processed"]


@pytest.mark.servers
def test_dovecots_own_maildir_is_read_and_filed_compatibly(dovecot, imap_account):
    """The same Maildir++ tree Dovecot serves: our keys, bytes and moves agree with what IMAP shows."""
    user = imap_account.user
    dovecot.append(user, raw("seen one"), flags=["\\Seen"])
    dovecot.append(user, raw("flagged one"), flags=["\\Flagged"])
    with dovecot.client(user) as box:
        box.folder.create("mailbot/Processed")  # created by Dovecot, so it owns the directory
    with MaildirSource(dovecot.maildir(user)) as src:
        keys = src.folder_state().keys
        assert len(keys) == 2
        # Dovecot stores LF line ends on disk and serves CRLF over IMAP.
        assert sorted(body for _, body in src.fetch(keys)) == sorted(
            [raw("seen one").replace(b"\r\n", b"\n"), raw("flagged one").replace(b"\r\n", b"\n")])
        for key in keys:
            src.file(key, "mailbot/Processed")
    assert dovecot.uids(user, "INBOX") == []
    assert sorted(map(sorted, dovecot.flags(user, "mailbot/Processed").values())) == [["\\Flagged"], ["\\Seen"]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.tuples(st.sampled_from(["new", "cur"]), st.sampled_from(["", "S", "F", "RS", "ST"]),
                                   st.binary(min_size=1, max_size=300)), min_size=1, max_size=12),
       plan=st.lists(st.sampled_from(["Processed", "Review", "mailbot/Done", None]), min_size=12, max_size=12))
def test_filing_never_loses_doubles_or_alters_a_message(tmp_path_factory, messages, plan):
    root = tmp_path_factory.mktemp("prop") / "Maildir"
    expected: dict[str, tuple[str, bytes]] = {}  # file name → (folder directory, bytes)
    for index, (sub, letters, body) in enumerate(messages):
        key = f"17000000{index:02d}.M{index}P1.host"
        name = f"{key}:2,{letters}" if sub == "cur" else key
        deliver(root, name, body, sub)
        expected[name] = (root / sub, body)
    with MaildirSource(root) as src:
        keys = src.folder_state().keys
        for key, folder in zip(keys, plan):
            if folder is not None:
                src.file(key, folder)
                src.file(key, folder)  # a repeated move (crash before bookkeeping) changes nothing
                name = next(n for n in expected if n.split(":")[0] == key)
                expected[name] = (root / f".{folder.replace('/', '.')}" / expected[name][0].name, expected[name][1])
        assert sorted(src.folder_state().keys) == sorted(k for k, f in zip(keys, plan) if f is None)
    for name, (directory, body) in expected.items():
        assert (directory / name).read_bytes() == body
    every_file = [p.name for p in root.rglob("*") if p.is_file() and p.name != "maildirfolder"]
    assert sorted(every_file) == sorted(expected)
