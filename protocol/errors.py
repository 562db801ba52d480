"""The project's exceptions; every one that reaches the wire carries a contract error code."""


class QmsError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(QmsError):
    """A config file is wrong; the message is one line naming the file and the key. `vietnamese` says it to an
    administrator who made the change on a page (the staff console), where the mistake is one a page can make."""

    def __init__(self, message: str, vietnamese: str | None = None) -> None:
        super().__init__(message)
        self.vietnamese = vietnamese


class BadMessage(QmsError):
    """An inbound payload is refused; `code` is the wire error code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
