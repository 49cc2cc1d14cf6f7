"""Framework integrations, found by looking at an object's type and imported only then.

``import thoth`` imports no framework. ``thoth.instrument(obj)`` looks at the
modules of ``type(obj).__mro__`` (or of the first item of a list) and hands the
object to the matching ``thoth.integrations.<name>.instrument(obj, tracer)``.
Objects of no known framework get the generic treatment (:mod:`thoth.integrations.generic`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["Integration", "detect", "instrument_object", "wrap_framework_tool"]


@dataclass(frozen=True, slots=True)
class Integration:
    """A framework: the top-level packages its classes live in, and our module for it."""

    name: str
    packages: tuple[str, ...]

    @property
    def module(self) -> str:
        return f"thoth.integrations.{self.name}"


# Order matters where packages overlap: the most specific framework first.
_REGISTRY: list[Integration] = [
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
]


def _packages_of(obj: Any) -> list[str]:
    target = obj
    if isinstance(obj, list | tuple) and obj:
        target = obj[0]
    return [cls.__module__.partition(".")[0] for cls in type(target).__mro__]


def detect(obj: Any) -> Integration | None:
    """The integration for ``obj``'s framework, judged by type names alone (no imports)."""
    packages = _packages_of(obj)
    for integration in _REGISTRY:
        if any(package in integration.packages for package in packages):
            return integration
    return None


def _load(integration: Integration) -> Any:
    try:
        return importlib.import_module(integration.module)
    except ModuleNotFoundError as exc:
        if exc.name == integration.module:
            raise ThothConfigError(f"Thoth has no {integration.name} integration installed") from exc
        raise


def instrument_object(obj: Any, tracer: Tracer) -> Any:
    """Govern every tool of ``obj`` in place, through its framework's integration."""
    integration = detect(obj)
    if integration is None:
        from thoth.integrations import generic

        return generic.instrument(obj, tracer)
    return _load(integration).instrument(obj, tracer)


def wrap_framework_tool(tool_name: str, tool: Any, tracer: Tracer) -> Any | None:
    """A governed proxy for a framework's tool object (e.g. a LangChain BaseTool), else None."""
    if callable(tool) and not hasattr(tool, "invoke"):
        return None  # plain functions and callables: the tracer wraps them itself
    integration = detect(tool)
    if integration is None:
        return None
    govern_tool: Callable[..., Any] | None = getattr(_load(integration), "govern_tool", None)
    return govern_tool(tool, tracer, name=tool_name) if govern_tool is not None else None
