from enum import StrEnum


class EnforcementMode(StrEnum):
    BLOCK = "block"
    OBSERVE = "observe"
    PROGRESSIVE = "progressive"
    STEP_UP = "step_up"

    def __str__(self) -> str:
        return str(self.value)
