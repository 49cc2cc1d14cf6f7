from enum import StrEnum


class AnomalyReasonKind(StrEnum):
    NEW_TOOL = "new_tool"
    UNUSUAL_RATE = "unusual_rate"
    UNUSUAL_TRANSITION = "unusual_transition"

    def __str__(self) -> str:
        return str(self.value)
