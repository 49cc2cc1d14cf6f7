"""Which framework an object belongs to, judged by its type's modules alone (no imports).

The registry is data: each framework's top-level packages, and the name of the
``thoth.integrations`` module that adapts it, imported by name only when an object
of that framework shows up (as entry points are). The core (``Tracer.wrap_tool``,
``instrument()``) asks this module, so it never imports an integration itself.
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

__all__ = ["Integration", "detect", "load", "wrap_framework_tool"]


@dataclass(frozen=True, slots=True)
class Integration:
    """A framework: the top-level packages its classes live in, and our module for it."""

    name: str
    packages: tuple[str, ...]

    @property
    def module(self) -> str:
        return f"thoth.integrations.{self.name}"


# Order matters where packages overlap: the most specific framework first.
REGISTRY: tuple[Integration, ...] = (
    Integration("crewai", ("crewai",)),
    Integration("langgraph", ("langgraph",)),
    Integration("langchain", ("langchain_core", "langchain", "langchain_classic")),
    Integration("openai_agents", ("agents",)),
    Integration("agentchat", ("autogen_agentchat", "autogen_core", "autogen_ext")),
    Integration("ag2", ("ag2",)),
    Integration("autogen", ("autogen",)),
    Integration("mcp", ("mcp", "fastmcp")),
    Integration("pydantic_ai", ("pydantic_ai",)),
    Integration("claude_agent_sdk", ("claude_agent_sdk",)),
)


def _packages_of(obj: Any) -> list[str]:
    target = obj
    if isinstance(obj, list | tuple) and obj:
        target = obj[0]
    return [cls.__module__.partition(".")[0] for cls in type(target).__mro__]


def detect(obj: Any) -> Integration | None:
    """The integration for ``obj``'s framework, judged by type names alone (no imports)."""
    packages = _packages_of(obj)
    for integration in REGISTRY:
        if any(package in integration.packages for package in packages):
            return integration
    return None


def load(integration: Integration) -> ModuleType:
    """Import the integration's module (which imports its framework)."""
    try:
        return importlib.import_module(integration.module)
    except ModuleNotFoundError as exc:
        if exc.name == integration.module:
            raise ThothConfigError(f"Thoth has no {integration.name} integration installed") from exc
        raise


def wrap_framework_tool(tool_name: str, tool: Any, tracer: Tracer) -> Any | None:
    """A governed proxy for a framework's tool object (e.g. a LangChain BaseTool), else None."""
    if callable(tool) and not hasattr(tool, "invoke"):
        return None  # plain functions and callables: the tracer wraps them itself
    integration = detect(tool)
    if integration is None:
        return None
    govern_tool: Callable[..., Any] | None = getattr(load(integration), "govern_tool", None)
    return govern_tool(tool, tracer, name=tool_name) if govern_tool is not None else None
