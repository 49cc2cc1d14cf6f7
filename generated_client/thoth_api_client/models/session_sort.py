from enum import StrEnum


class SessionSort(StrEnum):
    ANOMALY = "anomaly"
    RECENT = "recent"

    def __str__(self) -> str:
        return str(self.value)
