from enum import StrEnum


class HealthStore(StrEnum):
    OK = "ok"

    def __str__(self) -> str:
        return str(self.value)
