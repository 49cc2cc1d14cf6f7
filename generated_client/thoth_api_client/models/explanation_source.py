from enum import StrEnum


class ExplanationSource(StrEnum):
    REQUEST = "request"
    STORED = "stored"

    def __str__(self) -> str:
        return str(self.value)
