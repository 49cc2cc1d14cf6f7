from enum import StrEnum


class SourceType(StrEnum):
    AGENT_LLM_INVOCATION = "agent_llm_invocation"
    AGENT_TOOL_CALL = "agent_tool_call"

    def __str__(self) -> str:
        return str(self.value)
