"""The generic shape of the aten-thoth README: an object with ``.tools``, a list of tools, or a dict.

A tool is governed through its ``.run`` (and ``.arun``) when it has one, else by
replacing it, in its list or dict, with a governed callable of the same name.

What is governed, and what is not:

* A callable replaced in its list or dict: the list or dict holds the governed
  callable. The original function you still hold is your own, not governed;
  call tools through the instrumented object.
* A tool with ``.run`` is governed in place, so the object you hold is governed
  too. It carries one tracer: instrumenting the *same* agent (list, dict) again
  with another tracer re-governs it (the new settings take effect), but a tool
  object shared with another agent that has a different tracer raises
  ``ThothConfigError`` (it cannot be decided under two agents); give each agent
  its own tool object.
* Tools added to the agent after ``instrument()`` are not governed until you
  instrument it again; code that runs an ungoverned tool runs it as your own.
* ``beta_tool`` objects of the Anthropic SDK are governed by their integration
  (:func:`thoth.integrations.anthropic.govern_tool`), in place.
* A tool object of another supported framework (a LangChain ``StructuredTool``, an OpenAI
  Agents ``FunctionTool``, an AutoGen ``Tool``) is governed by that framework's integration
  (its ``govern_tool``), exactly as when it is instrumented on its own: never by replacing
  its ``.run``, which would miss the framework's other entry points (``invoke``,
  ``ainvoke``, ...). A framework that governs its tools only through the agent running them
  (CrewAI, pydantic-ai, MCP, AgentChat, ag2, ...) cannot govern one sitting in a container:
  ``instrument()`` refuses it with ``ThothConfigError`` before governing anything.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from thoth import _frameworks
from thoth._governed import governed_by
from thoth.errors import ThothConfigError

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_item", "instrument"]

_OWNER = "__thoth_owner__"  # on a tool governed in place: the agent (list, dict) it was governed for


def _tool_name(tool: Any) -> str:
    name = getattr(tool, "name", None) or getattr(tool, "__name__", None)
    if not isinstance(name, str) or not name:
        raise ThothConfigError(
            f"cannot govern a tool of type {type(tool).__name__}: it has no .name or __name__; "
            "give it a name, or wrap it yourself with tracer.wrap_tool(name, fn)"
        )
    return name


def _check_shared(tool: Any, name: str, run: Any, tracer: Tracer, owner: Any) -> None:
    """Refuse to move a tool governed in place for another agent under a different tracer."""
    governor = governed_by(run)
    if governor is None or governor[0] is tracer:
        return
    previous = getattr(tool, _OWNER, None)
    if previous is not None and owner is not None and previous is not owner:
        raise ThothConfigError(
            f"cannot govern tool {name!r} for agent {tracer.config.agent_id!r}: the same tool object is "
            f"already governed in place for agent {governor[0].config.agent_id!r}, and one object carries "
            "one tracer; give each agent its own tool object"
        )


def govern_item(tool: Any, tracer: Tracer, name: str | None = None, owner: Any = None) -> Any:
    """Govern one tool; returns what should stand in its place (the same object, when patched).

    ``owner`` is the agent, list or dict the tool belongs to (see the module docstring).
    """
    if _anthropic(tool):
        from thoth.integrations.anthropic import govern_tool

        return govern_tool(tool, tracer, name=name)
    framework_governor = _framework_governor(tool, name)
    if framework_governor is not None:
        return framework_governor(tool, tracer, name=name)
    name = name or _tool_name(tool)
    run = getattr(tool, "run", None)
    if callable(run):
        _check_shared(tool, name, run, tracer, owner)
        try:
            tool.run = tracer.wrap_tool(name, run)
            arun = getattr(tool, "arun", None)
            if callable(arun):
                tool.arun = tracer.wrap_tool(name, arun)
            if owner is not None:
                setattr(tool, _OWNER, owner)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ThothConfigError(
                f"cannot govern tool {name!r}: {type(tool).__name__}.run cannot be replaced ({exc}); "
                "if it belongs to an agent framework, install that framework's Thoth integration"
            ) from exc
        return tool
    if callable(tool):
        return tracer.wrap_tool(name, tool)
    raise ThothConfigError(f"cannot govern {name!r}: a tool must have a .run method or be callable")


def _framework_governor(tool: Any, name: str | None) -> Callable[..., Any] | None:
    """The ``govern_tool`` of the framework ``tool`` belongs to; None for a tool of no framework.
    Raises ThothConfigError for a framework tool that cannot be governed on its own."""
    integration = _frameworks.tool_framework(tool)
    return None if integration is None else _frameworks.tool_governor(integration, tool, name)


def _check_all(tools: list[tuple[str | None, Any]], tracer: Tracer, owner: Any) -> None:
    """Refuse a framework tool that cannot be governed, or a shared tool, before changing any."""
    for name, tool in tools:
        if _anthropic(tool):
            continue
        integration = _frameworks.tool_framework(tool)
        if integration is not None:
            _frameworks.check_tool(integration, tool, name)
            continue
        run = getattr(tool, "run", None)
        if callable(run):
            _check_shared(tool, name or _tool_name(tool), run, tracer, owner)


def _govern_all(tools: list[Any], tracer: Tracer, owner: Any) -> list[Any]:
    _check_all([(None, tool) for tool in tools], tracer, owner)
    return [govern_item(tool, tracer, owner=owner) for tool in tools]


def _govern_mapping(tools: MutableMapping[Any, Any], tracer: Tracer, owner: Any) -> None:
    _check_all([(str(name), tool) for name, tool in tools.items()], tracer, owner)
    for name in list(tools):
        tools[name] = govern_item(tools[name], tracer, name=str(name), owner=owner)


def _anthropic(obj: Any) -> bool:
    return type(obj).__module__.startswith("anthropic.")


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern ``agent``'s tools in place and return ``agent``."""
    if _anthropic(agent) or (isinstance(agent, list) and agent and _anthropic(agent[0])):
        from thoth.integrations import anthropic  # beta_tool objects: governed in place, as a whole

        return anthropic.instrument(agent, tracer)
    if isinstance(agent, MutableMapping):
        _govern_mapping(agent, tracer, agent)
        return agent
    if isinstance(agent, list):
        agent[:] = _govern_all(agent, tracer, agent)
        return agent
    tools = getattr(agent, "tools", None)
    if tools is None:
        raise ThothConfigError(
            f"instrument() does not know how to govern a {type(agent).__name__}: pass an object with "
            "a .tools list, a list of tools, a dict of callables, or an object of a supported framework"
        )
    if isinstance(tools, list):
        tools[:] = _govern_all(tools, tracer, agent)
    elif isinstance(tools, MutableMapping):
        _govern_mapping(tools, tracer, agent)
    else:
        agent.tools = type(tools)(_govern_all(list(tools), tracer, agent))
    return agent
