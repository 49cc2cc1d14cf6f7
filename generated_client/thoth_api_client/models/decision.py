from enum import StrEnum


class Decision(StrEnum):
    ALLOW = "ALLOW"
    BLOCK = "BLOCK"
    DEFER = "DEFER"
    MODIFY = "MODIFY"
    STEP_UP = "STEP_UP"

    def __str__(self) -> str:
        return str(self.value)
