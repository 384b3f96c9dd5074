"""Errors the CLI turns into one-line messages, and the transient/permanent split used everywhere."""


class MailbotError(Exception):
    """A failure a user can act on; the CLI prints str(e) and exits 1."""


class ConfigError(MailbotError):
    """A bad or missing configuration value; the message names the key."""


class NotFound(MailbotError):
    pass


class ProcessingError(MailbotError):
    """A failure processing one item. `permanent` ones go to review, the rest are retried."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent
