"""The project's exceptions; every one that reaches the wire carries a contract error code."""


class QmsError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(QmsError):
    """A config file is wrong; the message is one line naming the file and the key."""


class BadMessage(QmsError):
    """An inbound payload is refused; `code` is the wire error code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
