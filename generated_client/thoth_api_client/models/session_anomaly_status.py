from enum import StrEnum


class SessionAnomalyStatus(StrEnum):
    INSUFFICIENT_BASELINE = "insufficient_baseline"
    SCORED = "scored"

    def __str__(self) -> str:
        return str(self.value)
