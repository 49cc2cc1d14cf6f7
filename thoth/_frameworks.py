"""Which framework an object belongs to, judged by its type's modules alone (no imports).

The registry is data: each framework's top-level packages, and the name of the
``thoth.integrations`` module that adapts it, imported by name only when an object
of that framework shows up (as entry points are). The core (``Tracer.wrap_tool``,
``instrument()``) asks this module, so it never imports an integration itself.

A framework's tool object found in a generic container (a list, a dict, an object's
``.tools``) is governed by its integration's ``govern_tool(tool, tracer, name=...)``;
a framework whose integration has none governs its tools only through the agent that
runs them, and such a tool is refused (:func:`tool_governor`), never left ungoverned. An
integration's optional ``check_tool(tool)`` refuses a tool it cannot govern, so that a
container is checked whole before any of its tools is changed (:func:`check_tool`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = [
    "Integration",
    "check_tool",
    "detect",
    "load",
    "tool_framework",
    "tool_governor",
    "wrap_framework_tool",
]


@dataclass(frozen=True, slots=True)
class Integration:
    """A framework: the top-level packages its classes live in, and our module for it.

    ``runner`` names what runs the framework's tools (what to instrument instead), for the
    message that refuses a tool its integration cannot govern on its own. A list of the tools
    of a framework that does not ``takes_lists`` is governed item by item (the generic path)."""

    name: str
    packages: tuple[str, ...]
    runner: str
    takes_lists: bool = False  # its instrument() governs a list of its tools (others: item by item)

    @property
    def module(self) -> str:
        return f"thoth.integrations.{self.name}"


# Order matters where packages overlap: the most specific framework first.
REGISTRY: tuple[Integration, ...] = (
    Integration("crewai", ("crewai",), "the CrewAI Agent or Crew that uses it"),
    Integration("langgraph", ("langgraph",), "the compiled graph or ToolNode that runs it"),
    Integration(
        "langchain",
        ("langchain_core", "langchain", "langchain_classic"),
        "the AgentExecutor or create_agent graph that runs it",
        takes_lists=True,
    ),
    Integration("openai_agents", ("agents",), "the Agent that runs it", takes_lists=True),
    Integration(
        "agentchat",
        ("autogen_agentchat", "autogen_core", "autogen_ext"),
        "the AssistantAgent or team that runs it (or, for your own loop, pass its workbench through "
        "thoth.integrations.agentchat.govern_workbench(StaticWorkbench([...]), tracer))",
    ),
    Integration("ag2", ("ag2",), "the ag2 Agent that runs it"),
    Integration("autogen", ("autogen",), "the ConversableAgent that runs it"),
    Integration(
        "mcp", ("mcp", "fastmcp"), "the MCPServer that serves it, or the ClientSession that calls it"
    ),
    Integration("pydantic_ai", ("pydantic_ai",), "the pydantic-ai Agent that runs it"),
    Integration("claude_agent_sdk", ("claude_agent_sdk",), "the ClaudeAgentOptions or ClaudeSDKClient"),
)


def _detect_type(obj: Any) -> Integration | None:
    """The integration of the framework ``type(obj)`` (or a base of it) comes from."""
    packages = [cls.__module__.partition(".")[0] for cls in type(obj).__mro__]
    for integration in REGISTRY:
        if any(package in integration.packages for package in packages):
            return integration
    return None


def detect(obj: Any) -> Integration | None:
    """The integration for ``obj``'s framework, judged by type names alone (no imports).

    A list or tuple is judged by its first item, unless it also holds another framework's
    tools: then no single integration can take it, and the generic path governs each item
    through its own framework's integration.
    """
    if not isinstance(obj, list | tuple):
        return _detect_type(obj)
    if not obj:
        return None
    first = _detect_type(obj[0])
    others = {found for item in obj[1:] if (found := _detect_type(item)) is not None}
    return first if not others - {first} else None


def tool_framework(tool: Any) -> Integration | None:
    """The framework of a tool object found in a list, dict or ``.tools`` (no imports): an
    instance of one of its classes. Plain functions and methods belong to none."""
    if isinstance(tool, list | tuple):
        return None  # not a tool: the caller refuses it as it would any other non-tool
    return _detect_type(tool)


def tool_governor(integration: Integration, tool: Any, name: str | None) -> Callable[..., Any]:
    """``integration``'s ``govern_tool(tool, tracer, name=...)`` for ``tool``.

    Raises:
        ThothConfigError: the framework governs its tools only through the agent that runs them,
            so the tool cannot be governed where it stands (left alone, it would run unchecked).
    """
    govern_tool: Callable[..., Any] | None = getattr(load(integration), "govern_tool", None)
    if govern_tool is None:
        label = name or getattr(tool, "name", None) or type(tool).__name__
        raise ThothConfigError(
            f"thoth: cannot govern {label!r} ({type(tool).__name__}, {integration.name}) as an item of a "
            f"list, dict or .tools: Thoth governs {integration.name} tools through the agent that runs "
            f"them, not on their own. Call thoth.instrument() on {integration.runner} instead (an agent "
            "itself: instrument each one on its own), or put a plain function in the tool's place"
        )
    return govern_tool


def check_tool(integration: Integration, tool: Any, name: str | None) -> None:
    """Refuse, before anything is changed, a tool of ``integration`` it cannot govern where it
    stands: its integration has no ``govern_tool``, or its ``check_tool(tool)`` refuses it.

    Raises:
        ThothConfigError: as :func:`tool_governor`, or the integration's own refusal.
    """
    tool_governor(integration, tool, name)
    check: Callable[[Any], None] | None = getattr(load(integration), "check_tool", None)
    if check is not None:
        check(tool)


def load(integration: Integration) -> ModuleType:
    """Import the integration's module (which imports its framework)."""
    try:
        return importlib.import_module(integration.module)
    except ModuleNotFoundError as exc:
        if exc.name == integration.module:
            raise ThothConfigError(f"Thoth has no {integration.name} integration installed") from exc
        raise


def wrap_framework_tool(tool_name: str, tool: Any, tracer: Tracer) -> Any | None:
    """A governed proxy for a framework's tool object (e.g. a LangChain BaseTool), else None.

    Raises:
        ThothConfigError: a framework's tool that is not callable and that its integration cannot
            govern on its own (wrapping it as a function would fail only after the decision).
    """
    if callable(tool) and not hasattr(tool, "invoke"):
        return None  # plain functions and callables: the tracer wraps them itself
    integration = tool_framework(tool)
    if integration is None:
        return None
    return tool_governor(integration, tool, tool_name)(tool, tracer, name=tool_name)
