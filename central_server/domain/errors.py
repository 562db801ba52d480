"""Domain refusals; each carries the contract's wire code and a Vietnamese message."""


class DomainError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
