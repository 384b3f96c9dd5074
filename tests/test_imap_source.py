"""ImapSource against a real Dovecot (tests/dovecot.py): listing, PEEK fetch, MOVE, IDLE, TLS, outages."""
from __future__ import annotations

import threading
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailbot.errors import ConfigError, ProcessingError
from mailbot.inbox.imap import ImapSource
from mailbot.inbox.imap_wire import idle_done, idle_start, is_exists
from mailbot.inbox.source import MailSource

pytestmark = pytest.mark.servers


def message(subject: str, body: str = "Certificate attached.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "tech@example.com"
    msg["To"] = "certs@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@example.com>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)  # CRLF line ends: what IMAP stores and returns byte for byte


def source(account, **overrides) -> ImapSource:
    options = {"host": account.host, "port": account.port, "security": "none", "username": account.user,
               "password": account.password, "timeout": 10}
    options.update(overrides)
    return ImapSource(**options)


@pytest.fixture
def three_messages(dovecot, imap_account):
    """One \\Seen, one \\Flagged, one untouched; returns {uid: raw}."""
    raws = [message("first seen"), message("second flagged"), message("third plain")]
    flags = [["\\Seen"], ["\\Flagged"], []]
    return {dovecot.append(imap_account.user, raw, flags=f): raw for raw, f in zip(raws, flags)}


def test_is_a_mail_source(imap_account):
    src = source(imap_account)
    assert isinstance(src, MailSource)
    assert src.account == f"imap://{imap_account.user}@{imap_account.host}:{imap_account.port}"
    assert imap_account.password not in src.account


def test_folder_state_lists_uids_and_fetch_returns_exact_bytes_without_setting_seen(
        dovecot, imap_account, three_messages):
    before = dovecot.flags(imap_account.user)
    assert before == {uid: f for uid, f in zip(three_messages, [{"\\Seen"}, {"\\Flagged"}, set()])}
    with source(imap_account) as src:
        state = src.folder_state()
        assert state.folder == "INBOX"
        assert state.uidvalidity > 0
        assert state.keys == [str(uid) for uid in sorted(three_messages)]
        fetched = dict(src.fetch(state.keys))
    assert fetched == {str(uid): raw for uid, raw in three_messages.items()}
    assert dovecot.flags(imap_account.user) == before


def test_fetch_skips_keys_that_are_gone_or_not_uids(dovecot, imap_account, three_messages):
    first = min(three_messages)
    with source(imap_account) as src:
        fetched = list(src.fetch([str(first), "999999", "not-a-uid"]))
    assert fetched == [(str(first), three_messages[first])]


def test_fetch_downloads_in_bounded_batches(dovecot, imap_account, dovecot_proxy):
    body = "x" * 4000 + "\n"
    dovecot.deliver_to_maildir(imap_account.user, [message(f"m{i}", body) for i in range(60)])
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port) as src:
        keys = src.folder_state().keys
        dovecot_proxy.reset_counters()
        stream = src.fetch(keys)
        next(stream)
        # Only the first batch (20 bodies of ~4 kB) has been read, not all 60.
        assert 20 * 4000 < dovecot_proxy.bytes_to_client < 30 * 4000
        assert len(list(stream)) == 59


def test_file_moves_into_a_new_folder_and_keeps_every_flag(dovecot, imap_account, three_messages):
    with source(imap_account) as src:
        for key in src.folder_state().keys:
            src.file(key, "Processed")
        assert src.folder_state().keys == []
    assert "Processed" in dovecot.folders(imap_account.user)
    moved = dovecot.flags(imap_account.user, "Processed")
    assert sorted(map(sorted, moved.values())) == [[], ["\\Flagged"], ["\\Seen"]]


def test_file_uses_move_so_a_message_a_person_deleted_is_not_expunged(dovecot, imap_account, three_messages):
    deleted_by_person, ours, _ = sorted(three_messages)
    dovecot.store_flags(imap_account.user, deleted_by_person, ["\\Deleted"])
    with source(imap_account) as src:
        src.file(str(ours), "Processed")
    inbox = dovecot.flags(imap_account.user)
    assert ours not in inbox
    assert inbox[deleted_by_person] == {"\\Seen", "\\Deleted"}
    assert len(dovecot.uids(imap_account.user, "Processed")) == 1


def test_filing_a_key_that_is_already_gone_is_not_an_error(dovecot, imap_account, three_messages):
    uid = str(min(three_messages))
    with source(imap_account) as src:
        src.file(uid, "Processed")
        src.file(uid, "Processed")
        src.file("424242", "Review")
    assert len(dovecot.uids(imap_account.user, "Processed")) == 1


def test_folder_state_of_2000_messages_downloads_no_bodies(dovecot, imap_account, dovecot_proxy):
    template = message("bulk NNNNN", "y" * 4000 + "\n")  # 2,000 × 4 kB = 8 MB of bodies on the server
    raws = [template.replace(b"NNNNN", b"%05d" % i) for i in range(2000)]
    dovecot.deliver_to_maildir(imap_account.user, raws)
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port) as src:
        dovecot_proxy.reset_counters()
        state = src.folder_state()
    assert len(state.keys) == 2000
    # The UID list is ~9 kB; a dozen bodies would already exceed 48 kB.
    assert dovecot_proxy.bytes_to_client < 48_000


def test_uidvalidity_changes_when_the_folder_is_recreated(dovecot, imap_account):
    user = imap_account.user
    dovecot.append(user, message("in certs"), folder="Certs")
    with source(imap_account, folder="Certs") as src:
        before = src.folder_state()
        assert len(before.keys) == 1
        with dovecot.client(user) as box:
            box.folder.delete("Certs")
            box.folder.create("Certs")
        dovecot.append(user, message("in certs"), folder="Certs")
        try:
            after = src.folder_state()
        except ProcessingError as exc:  # the server may close a session whose folder vanished
            assert not exc.permanent
            after = src.folder_state()
    assert after.uidvalidity != before.uidvalidity
    assert len(after.keys) == 1


def test_wait_for_new_returns_when_another_connection_appends(dovecot, imap_account):
    with source(imap_account) as src:
        src.folder_state()
        timer = threading.Timer(0.5, dovecot.append, (imap_account.user, message("arrives during idle")))
        timer.start()
        started = time.monotonic()
        changed = src.wait_for_new(30)
        waited = time.monotonic() - started
        timer.join()
        assert changed is True
        assert waited < 20  # woken by the server, not by the 30 s timeout
        assert len(src.folder_state().keys) == 1


def test_wait_for_new_reports_mail_that_arrived_before_it_was_called(dovecot, imap_account):
    with source(imap_account) as src:
        src.folder_state()
        dovecot.append(imap_account.user, message("arrived between listing and idle"))
        assert src.wait_for_new(10) is True


def test_wait_for_new_times_out_quietly(imap_account):
    with source(imap_account) as src:
        src.folder_state()
        assert src.wait_for_new(0.5) is False


def test_server_stop_is_transient_and_the_next_call_after_start_reconnects(dovecot, imap_account):
    dovecot.append(imap_account.user, message("survives a restart"))
    with source(imap_account) as src:
        assert len(src.folder_state().keys) == 1
        dovecot.stop()
        try:
            with pytest.raises(ProcessingError) as lost:
                src.folder_state()
            assert lost.value.permanent is False
            assert imap_account.user in str(lost.value)
            with pytest.raises(ProcessingError) as refused:
                src.folder_state()
            assert refused.value.permanent is False
        finally:
            dovecot.start()
        assert len(src.folder_state().keys) == 1


def test_network_drop_during_idle_is_transient_and_recovers(dovecot, imap_account, dovecot_proxy):
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port) as src:
        src.folder_state()
        threading.Timer(0.3, dovecot_proxy.drop_connections).start()
        with pytest.raises(ProcessingError) as dropped:
            src.wait_for_new(30)
        assert dropped.value.permanent is False
        dovecot.append(imap_account.user, message("after the drop"))
        assert len(src.folder_state().keys) == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_modes_connect_with_a_trusted_context(dovecot, imap_account, security):
    port = imap_account.ssl_port if security == "ssl" else imap_account.port
    dovecot.append(imap_account.user, message(f"over {security}"))
    with source(imap_account, security=security, port=port, ssl_context=imap_account.ssl_context()) as src:
        state = src.folder_state()
        assert [raw for _, raw in src.fetch(state.keys)] == [message(f"over {security}")]


def test_default_context_refuses_the_self_signed_certificate_permanently(imap_account):
    with pytest.raises(ProcessingError) as untrusted, source(imap_account, security="ssl", port=imap_account.ssl_port):
        pass
    assert untrusted.value.permanent is True
    assert "certificate" in str(untrusted.value)


def test_wrong_password_is_permanent_and_never_shows_the_password(imap_account):
    wrong = "Wr0ng-Secret-Value"
    with pytest.raises(ProcessingError) as rejected, source(imap_account, password=wrong):
        pass
    assert rejected.value.permanent is True
    assert imap_account.user in str(rejected.value)
    assert wrong not in str(rejected.value)


def test_append_and_ensure_folders(dovecot, imap_account):
    raw = message("our sent copy")
    with source(imap_account) as src:
        src.ensure_folders(["Processed", "Review", "INBOX"])
        src.ensure_folders(["Processed"])  # idempotent
        src.append("Sent", raw)
        src.append("Drafts", raw, flags=())
    assert {"Processed", "Review", "Sent", "Drafts"} <= set(dovecot.folders(imap_account.user))
    assert list(dovecot.flags(imap_account.user, "Sent").values()) == [{"\\Seen"}]
    assert list(dovecot.flags(imap_account.user, "Drafts").values()) == [set()]


def test_unknown_security_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="inbox.security"):
        ImapSource("127.0.0.1", 143, security="tls1.0")


def test_slash_in_folder_names_follows_a_dot_delimited_server(dovecot_oauth2, imap_account):
    dotted = dovecot_oauth2.server  # Dovecot's Maildir++ default separator ".", which refuses "/" in names
    user, password = dotted.add_user()
    uid = dotted.append(user, message("to a nested folder"))
    with source(imap_account, port=dotted.port, username=user, password=password) as src:
        src.file(str(uid), "mailbot/Processed")
        src.append("mailbot/Sent", message("sent copy"))
    assert {"mailbot.Processed", "mailbot.Sent"} <= set(dotted.folders(user))
    assert dotted.uids(user, "mailbot.Processed") == [uid]


def test_slash_in_folder_names_on_a_slash_delimited_server(dovecot, imap_account, three_messages):
    with source(imap_account) as src:
        src.file(str(min(three_messages)), "mailbot/Processed")
    assert dovecot.uids(imap_account.user, "mailbot/Processed") == [1]


def test_after_a_reconnect_keys_from_an_older_uidvalidity_are_refused(dovecot, imap_account, dovecot_proxy):
    user = imap_account.user
    dovecot.append(user, message("old generation"), folder="Certs")
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port, folder="Certs") as src:
        [old_key] = src.folder_state().keys
        dovecot_proxy.drop_connections()
        with dovecot.client(user) as box:  # recreated with other mail: UID 1 is now a different message
            box.folder.delete("Certs")
            box.folder.create("Certs")
        dovecot.append(user, message("new generation"), folder="Certs")
        for act in (lambda: list(src.fetch([old_key])), lambda: src.file(old_key, "Processed")):
            with pytest.raises(ProcessingError) as stale:
                act()
            assert stale.value.permanent is False
        assert "UIDVALIDITY" in str(stale.value)
        assert dovecot.uids(user, "Certs") == [1]  # nothing was moved
        [new_key] = src.folder_state().keys
        assert list(src.fetch([new_key])) == [(new_key, message("new generation"))]


def test_idle_is_renewed_and_still_hears_new_mail(dovecot, imap_account, dovecot_proxy):
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port) as src:
        src.idle_renew_seconds = 0.2  # instead of 25 minutes
        src.folder_state()
        dovecot_proxy.reset_counters()
        assert src.wait_for_new(1.0) is False
        renewals = dovecot_proxy.bytes_to_server // len(b"A001 IDLE\r\nDONE\r\n")
        assert renewals >= 3  # several IDLE/DONE rounds on one connection, none of them broke it
        threading.Timer(0.5, dovecot.append, (imap_account.user, message("after renewals"))).start()
        assert src.wait_for_new(30) is True


def test_xoauth2_login_asks_for_a_fresh_token_on_each_connect(dovecot_oauth2):
    server, provider = dovecot_oauth2.server, dovecot_oauth2.provider
    user, _ = server.add_user()
    uid = server.append(user, message("read with a token"))
    issued: list[str] = []

    def token() -> str:
        issued.append(provider.issue(user))
        return issued[-1]

    with ImapSource(server.host, server.port, "none", user, oauth2_token=token, timeout=10) as src:
        assert src.folder_state().keys == [str(uid)]
        provider.revoke(issued[-1])  # an open session stays; the next connect needs a new token
        src.close()
        assert src.folder_state().keys == [str(uid)]
    assert len(issued) == 2


def test_rejected_xoauth2_token_is_permanent_and_not_shown(dovecot_oauth2):
    server, provider = dovecot_oauth2.server, dovecot_oauth2.provider
    user, _ = server.add_user()
    revoked = provider.issue(user)
    provider.revoke(revoked)
    with pytest.raises(ProcessingError) as rejected, \
            ImapSource(server.host, server.port, "none", user, oauth2_token=lambda: revoked, timeout=10):
        pass
    assert rejected.value.permanent is True
    assert user in str(rejected.value) and revoked not in str(rejected.value)


def test_without_idle_wait_for_new_sleeps_then_asks(dovecot, imap_account):
    with source(imap_account, idle=False) as src:
        src.folder_state()
        threading.Timer(0.2, dovecot.append, (imap_account.user, message("found by polling"))).start()
        assert src.wait_for_new(1.0) is True
        src.folder_state()
        assert src.wait_for_new(0.2) is False


def test_a_hung_server_times_out_as_a_transient_error(dovecot, imap_account, dovecot_proxy):
    with source(imap_account, host=dovecot_proxy.host, port=dovecot_proxy.port, timeout=1) as src:
        src.folder_state()
        dovecot_proxy.stall()
        try:
            with pytest.raises(ProcessingError) as hung:
                src.folder_state()
        finally:
            dovecot_proxy.resume()
        assert hung.value.permanent is False
        assert "timed out" in str(hung.value)
        assert src.folder_state().keys == []  # reconnects once the peer answers again


def test_wait_for_new_on_a_fresh_connection_asks_for_a_listing_first(imap_account):
    with source(imap_account) as src:
        assert src.wait_for_new(5) is True  # changes while disconnected are unknown
        assert src.wait_for_new(0.3) is False


def test_file_recreates_a_folder_a_person_deleted_meanwhile(dovecot, imap_account, three_messages):
    first, second, _ = sorted(three_messages)
    with source(imap_account) as src:
        src.file(str(first), "Processed")
        with dovecot.client(imap_account.user) as box:
            box.folder.delete("Processed")
        src.file(str(second), "Processed")
    assert dovecot.uids(imap_account.user, "Processed") == [1]
    assert second not in dovecot.uids(imap_account.user)


def test_append_recreates_a_folder_a_person_deleted_meanwhile(dovecot, imap_account):
    with source(imap_account) as src:
        src.append("Sent", message("first copy"))
        with dovecot.client(imap_account.user) as box:
            box.folder.delete("Sent")
        src.append("Sent", message("second copy"))
    assert len(dovecot.uids(imap_account.user, "Sent")) == 1


def test_idle_start_hands_back_news_that_came_with_the_continuation(dovecot, imap_account):
    """Dovecot sends pending EXISTS in the same packet as "+ idling": imaplib buffers it, where polling the
    socket would never see it (seen here: the poll then waits out its whole timeout)."""
    with dovecot.client(imap_account.user) as box:
        box.folder.set("INBOX")
        dovecot.append(imap_account.user, message("pending when IDLE starts"))
        tag, early = idle_start(box.client)
        try:
            assert any(is_exists(line) for line in early)
        finally:
            idle_done(box, tag)
