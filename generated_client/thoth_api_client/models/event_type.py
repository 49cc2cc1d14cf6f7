from enum import StrEnum


class EventType(StrEnum):
    LLM_INVOCATION = "LLM_INVOCATION"
    TOOL_CALL_BLOCK = "TOOL_CALL_BLOCK"
    TOOL_CALL_POST = "TOOL_CALL_POST"
    TOOL_CALL_PRE = "TOOL_CALL_PRE"

    def __str__(self) -> str:
        return str(self.value)
