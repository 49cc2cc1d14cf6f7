"""The generic shape of the aten-thoth README: an object with ``.tools``, a list of tools, or a dict.

A tool is governed through its ``.run`` (and ``.arun``) when it has one, else by
replacing it, in its list or dict, with a governed callable of the same name.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from thoth.errors import ThothConfigError

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_item", "instrument"]


def _tool_name(tool: Any) -> str:
    name = getattr(tool, "name", None) or getattr(tool, "__name__", None)
    if not isinstance(name, str) or not name:
        raise ThothConfigError(
            f"cannot govern a tool of type {type(tool).__name__}: it has no .name or __name__; "
            "give it a name, or wrap it yourself with tracer.wrap_tool(name, fn)"
        )
    return name


def govern_item(tool: Any, tracer: Tracer, name: str | None = None) -> Any:
    """Govern one tool; returns what should stand in its place (the same object, when patched)."""
    name = name or _tool_name(tool)
    run = getattr(tool, "run", None)
    if callable(run):
        try:
            tool.run = tracer.wrap_tool(name, run)
            arun = getattr(tool, "arun", None)
            if callable(arun):
                tool.arun = tracer.wrap_tool(name, arun)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ThothConfigError(
                f"cannot govern tool {name!r}: {type(tool).__name__}.run cannot be replaced ({exc}); "
                "if it belongs to an agent framework, install that framework's Thoth integration"
            ) from exc
        return tool
    if callable(tool):
        return tracer.wrap_tool(name, tool)
    raise ThothConfigError(f"cannot govern {name!r}: a tool must have a .run method or be callable")


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern ``agent``'s tools in place and return ``agent``."""
    if isinstance(agent, MutableMapping):
        for name in list(agent):
            agent[name] = govern_item(agent[name], tracer, name=str(name))
        return agent
    if isinstance(agent, list):
        agent[:] = [govern_item(tool, tracer) for tool in agent]
        return agent
    tools = getattr(agent, "tools", None)
    if tools is None:
        raise ThothConfigError(
            f"instrument() does not know how to govern a {type(agent).__name__}: pass an object with "
            "a .tools list, a list of tools, a dict of callables, or an object of a supported framework"
        )
    if isinstance(tools, list):
        tools[:] = [govern_item(tool, tracer) for tool in tools]
    elif isinstance(tools, MutableMapping):
        instrument(tools, tracer)
    else:
        agent.tools = type(tools)(govern_item(tool, tracer) for tool in tools)
    return agent
