"""Domain refusals; each carries the contract's wire code and a Vietnamese message."""


class DomainError(Exception):
    """`detail`: for the technician, in English (which field of a configuration was wrong)."""

    def __init__(self, code: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
