"""SMTP transport: STARTTLS, implicit TLS or plain; AUTH; one connection per batch; bounded retries.

Failures become `SmtpError` (a `ProcessingError`): 4xx replies, timeouts and dropped connections are
retried with exponential backoff on a fresh connection when needed, then reported as transient; 5xx
replies, refused logins and untrusted certificates are permanent at once, because resending cannot help.

One ambiguity no client can remove: if the connection drops after the whole message was sent but before
the server's reply, the server may have kept it. mailbot's rule is at most once, so that case is never
retried: it raises `DeliveryUnknown` and the caller marks the draft or notice `interrupted` for a person.
"""
from __future__ import annotations

import logging
import select
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType
from typing import Self

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from mailbot.errors import ConfigError, ProcessingError
from mailbot.mail.envelope import ensure_message_id, envelope_of

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "ssl", "none")
Refusals = dict[str, tuple[int, bytes]]


class SmtpError(ProcessingError):
    """A send that failed; `code` is the SMTP reply code when the server gave one."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None):
        super().__init__(message, permanent=permanent)
        self.code = code


class PartialDeliveryError(SmtpError):
    """The server took the message for some recipients and refused the others.

    The message WAS sent: record `message_id` as sent and show `refused` to the admin; never resend it.
    """

    def __init__(self, message: str, *, message_id: str, refused: Refusals):
        super().__init__(message, permanent=True)
        self.message_id = message_id
        self.refused = refused


class DeliveryUnknown(SmtpError):
    """The whole message reached the server, then the connection was lost before its reply. It may or may
    not have been accepted: sending it again could deliver it twice, so it is never retried; the caller
    records it as interrupted for a person to check."""

    def __init__(self, message: str, *, message_id: str):
        super().__init__(message, permanent=True)
        self.message_id = message_id


class _TracksData:
    """Notes when the end of a message's DATA ("\r\n.\r\n") has been written to the socket."""

    message_transmitted = False

    def send(self, s):  # type: ignore[no-untyped-def]
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_transmitted = True


class _SMTP(_TracksData, smtplib.SMTP):
    pass


class _SMTP_SSL(_TracksData, smtplib.SMTP_SSL):
    pass


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ProcessingError) and not exc.permanent


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _describe_refusals(refused: Refusals) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode('utf-8', 'replace')})" for address, (code, reply) in refused.items()
    )


class SmtpTransport:
    """Sends messages over SMTP. Use as a context manager to reuse one connection for a batch.

    retries: how many times a transient failure is retried (so at most retries + 1 attempts).
    oauth2_token: returns a current access token; when set, AUTH XOAUTH2 is used for `username`.
    backoff: (first wait, longest wait) in seconds; waits double between attempts.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
        retries: int = 4,
        backoff: tuple[float, float] = (1.0, 30.0),
        local_hostname: str | None = None,
        oauth2_token: Callable[[], str] | None = None,
    ):
        if security not in SECURITY_MODES:
            raise ConfigError(f"outbox security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        if retries < 0:
            raise ConfigError(f"SMTP retries must be 0 or more, not {retries}")
        self.host, self.port, self.security = host, int(port), security
        self.username = username
        self._password = password  # kept private and out of repr: secrets never reach logs
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.retries = retries
        self.backoff = backoff
        self.local_hostname = local_hostname
        self._oauth2_token = oauth2_token  # set → AUTH XOAUTH2 (Microsoft 365, Gmail) instead of a password
        self._smtp: smtplib.SMTP | None = None
        self._batch_depth = 0

    def __repr__(self) -> str:
        user = f" as {self.username!r}" if self.username else ""
        return f"<SmtpTransport {self.security} {self.host}:{self.port}{user}>"

    @property
    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    # -- batch lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        # The connection opens lazily on the first send, so an empty batch costs nothing.
        self._batch_depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._batch_depth -= 1
        if self._batch_depth == 0:
            self.close()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open. Never raises."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def verify(self) -> None:
        """Connect, secure and log in once, then QUIT, without retrying: for `mailbot check`.

        Raises SmtpError whose message names the failing step (connection, STARTTLS, certificate, login).
        """
        try:
            smtp = self._open()
        except Exception as exc:  # narrowed by _classify, as in _attempt
            error = self._classify(exc)
            if error is None:
                raise
            raise error from None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    # -- sending ---------------------------------------------------------------------------------------

    def send(self, msg: EmailMessage) -> str:
        """Send one message to To + Cc + Bcc (Bcc is not in the bytes sent); return its Message-ID.

        Raises SmtpError (transient or permanent) or PartialDeliveryError (sent, but some recipients
        were refused).
        """
        message_id = ensure_message_id(msg)
        sender, recipients = envelope_of(msg)
        try:
            refused = self._send_with_retries(msg, sender, recipients)
        finally:
            if self._batch_depth == 0:
                self.close()
        if refused:
            raise PartialDeliveryError(
                f"{self._where}: sent {message_id}, but refused for {_describe_refusals(refused)}",
                message_id=message_id,
                refused=refused,
            )
        log.info("sent %s to %d recipient(s) via %s", message_id, len(recipients), self._where)
        return message_id

    def _send_with_retries(self, msg: EmailMessage, sender: str, recipients: list[str]) -> Refusals:
        first_wait, longest_wait = self.backoff
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=first_wait, min=first_wait, max=longest_wait),
            retry=retry_if_exception(_is_transient),
            before_sleep=self._log_retry,
        )
        try:
            return retrying(self._attempt, msg, sender, recipients)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise SmtpError(
                f"{last} (gave up after {self.retries + 1} attempts)",
                permanent=False,
                code=getattr(last, "code", None),
            ) from last

    def _attempt(self, msg: EmailMessage, sender: str, recipients: list[str]) -> Refusals:
        smtp = None
        try:
            smtp = self._connection()
            smtp.message_transmitted = False
            return smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
        except Exception as exc:  # narrowed by _classify: anything it does not know propagates as is
            lost_reply = isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPResponseException)
            if lost_reply and getattr(smtp, "message_transmitted", False):
                self._discard_unusable_connection(exc)
                raise DeliveryUnknown(f"{self._where}: connection lost after the whole message was sent, before "
                                      f"the server answered ({_describe(exc)}); it may have been delivered",
                                      message_id=str(msg["Message-ID"])) from None
            error = self._classify(exc)
            if error is None:
                raise
            self._discard_unusable_connection(exc)
            raise error from None  # the message carries the server's reply; smtplib's traceback adds nothing

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("attempt %d failed (%s); retrying in %.2fs", state.attempt_number, exc, wait)

    # -- connection ------------------------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and self._still_open(self._smtp):
            return self._smtp
        self._smtp = None
        self._smtp = self._open()
        return self._smtp

    @staticmethod
    def _still_open(smtp: smtplib.SMTP) -> bool:
        """Servers close idle connections during long batches; a NOOP finds out without spending an attempt.
        The NOOP is sent only when the server has said something unasked (its close, or a 421): a quiet
        socket is reused as is, which spares a round trip per message in a batch of thousands."""
        if smtp.sock is None:
            return False
        if not select.select([smtp.sock], [], [], 0)[0]:
            return True
        try:
            code, _ = smtp.noop()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            smtp.close()
            return False
        return True

    def _open(self) -> smtplib.SMTP:
        log.debug("connecting to %s (%s)", self._where, self.security)
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = _SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context, local_hostname=self.local_hostname
            )
        else:
            smtp = _SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                # Raises SMTPNotSupportedError when STARTTLS is not offered: never fall back to plain text.
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._oauth2_token is not None:
                self._login_xoauth2(smtp)
            elif self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _login_xoauth2(self, smtp: smtplib.SMTP) -> None:
        token = self._oauth2_token()  # fetched per connection: the provider refreshes it before expiry
        if not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        initial = f"user={self.username or ''}\x01auth=Bearer {token}\x01\x01"
        # On failure the server sends a 334 with a JSON reason; the client must answer with an empty line.
        smtp.auth("XOAUTH2", lambda challenge=None: "" if challenge is not None else initial,
                  initial_response_ok=True)

    def _discard_unusable_connection(self, exc: Exception) -> None:
        """Keep the connection after an ordinary refusal (smtplib sent RSET); drop it after anything else."""
        is_reply = isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))
        alive = self._smtp is not None and self._smtp.sock is not None
        if is_reply and alive and getattr(exc, "smtp_code", None) != 421:
            return
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()  # no QUIT: the connection is closed, timed out or in an unknown state

    # -- errors ----------------------------------------------------------------------------------------

    def _classify(self, exc: Exception) -> SmtpError | None:
        where = self._where
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return self._reply_error(f"{where}: login as {self.username!r} refused", exc)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return self._refusal_error(exc.recipients)
        if isinstance(exc, smtplib.SMTPResponseException):  # sender/data refused, bad greeting, HELO refused
            return self._reply_error(f"{where}: server replied", exc)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SmtpError(self._redact(f"{where}: {exc}"), permanent=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SmtpError(f"{where}: TLS certificate not trusted ({exc.verify_message})", permanent=True)
        if isinstance(exc, OSError):  # disconnects, timeouts, refused connections, TLS handshake failures
            return SmtpError(self._redact(f"{where}: {_describe(exc)}"), permanent=False)
        if isinstance(exc, (UnicodeError, ValueError)):
            return SmtpError(f"{where}: message cannot be encoded for SMTP: {_describe(exc)}", permanent=True)
        return None

    def _reply_error(self, prefix: str, exc: smtplib.SMTPResponseException) -> SmtpError:
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(
            exc.smtp_error
        )
        code = int(exc.smtp_code)
        return SmtpError(self._redact(f"{prefix}: {code} {reply}"), permanent=code >= 500, code=code)

    def _refusal_error(self, refused: Refusals) -> SmtpError:
        codes = [code for code, _ in refused.values()]
        # Greylisting answers 4xx to every recipient: nothing was delivered, so a retry is safe.
        permanent = any(code >= 500 for code in codes)
        return SmtpError(
            f"{self._where}: all recipients refused: {_describe_refusals(refused)}",
            permanent=permanent,
            code=max(codes) if codes else None,
        )

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text
