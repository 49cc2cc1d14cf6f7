"""LangChain: govern tools (``@tool``, ``StructuredTool``, ``BaseTool`` subclasses), agents built
with ``create_agent``, and ``AgentExecutor`` (``langchain_classic``).

Governed in place: ``instrument(obj, tracer)`` returns the same object, and the tool objects
you hold are governed themselves (see :mod:`thoth.integrations._langchain_toolcall`):

* a tool, a list of tools, an object with ``.tools``: each ``BaseTool`` becomes an instance
  of a governed subclass of its own class, so ``invoke``, ``ainvoke``, ``run``, ``arun``,
  ``batch``, ``abatch``, ``stream``, ``astream``, a direct ``tool.func(...)`` /
  ``await tool.coroutine(...)`` and ``tool._run(...)`` are all decided first, wherever the
  tool is used (``AgentExecutor``, ``create_agent``, ``ToolNode``, your own loop after
  ``model.bind_tools``). Copies of the tool stay governed. Plain functions in a list are
  replaced by governed ones (``Tracer.wrap_tool``); the function object you hold yourself
  is yours, as any Python function is. Provider built-in tools (dicts) run at the provider.
* an ``AgentExecutor``: its tools as above, and the executor itself, whose every tool step
  (``invoke``, ``ainvoke``, ``stream``, ``astream``, ``batch``, ``iter``, copies) runs with
  the executor's tracer in scope: a tool shared by two executors is decided under the one
  that runs it, and a tool added to ``executor.tools`` later is governed when it first runs.
* a ``create_agent`` graph: its ToolNode and tools (``thoth.integrations.langgraph``).
* ``ThothMiddleware`` / ``middleware(tracer)`` for ``create_agent(..., middleware=[...])``
  (``wrap_tool_call`` and ``awrap_tool_call``): it decides the calls the agent makes, and
  governs in place each tool it runs. Put it last to check the call that actually runs.

Who decides: the agent that runs the call (executor, ToolNode, middleware) when there is
one; else the tool's own tracer, from the first ``instrument()`` that reached it.
Instrumenting a tool (or a list of tools) already governed under other settings raises
``ThothConfigError`` (nothing would say which agent decides); re-instrumenting an agent
with new settings takes effect. ``instrument()`` on a list governs the tools in it then:
a tool appended to that list later is not known to Thoth unless an instrumented agent runs it.

A refusal is what the framework shows the model for a handled tool error: the refusal
text, as ``ToolMessage(status="error")`` when the call carries a tool-call id
(``tracer.on_block == "return"``); or ``ThothPolicyViolation`` raised out of the tool and
the agent run (``"raise"``), uncaught by langchain. The tool body never runs.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool

from thoth.errors import ThothConfigError
from thoth.integrations._langchain_toolcall import (
    GovernedTool,
    ToolFailed,
    agent_scope,
    govern_in_place,
)
from thoth.integrations._langchain_usage import UsageCallback

if TYPE_CHECKING:
    from thoth.tracer import Tracer

# Also ThothMiddleware, loaded on first access (it needs the `langchain` package).
__all__ = [
    "GovernedTool",
    "ToolFailed",
    "UsageCallback",
    "govern_executor",
    "govern_tool",
    "govern_tools",
    "instrument",
    "middleware",
    "usage_callback",
]


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern a LangChain agent, executor, tool list or tool in place. See the module docstring."""
    if isinstance(obj, BaseTool):
        return govern_tool(obj, tracer)
    if isinstance(obj, MutableSequence):
        return govern_tools(obj, tracer)
    if _is_langgraph(obj):
        from thoth.integrations import langgraph

        return langgraph.instrument(obj, tracer)
    if _is_agent_executor(obj):
        return govern_executor(obj, tracer)
    tools = getattr(obj, "tools", None)
    if isinstance(tools, MutableSequence):
        govern_tools(tools, tracer)
        return obj
    if isinstance(tools, tuple | list):
        obj.tools = govern_tools(list(tools), tracer)
        return obj
    raise ThothConfigError(
        f"thoth: cannot govern a {type(obj).__name__}: pass an AgentExecutor, a create_agent graph, "
        "a list of tools, an object with a .tools list, or add ThothMiddleware to create_agent"
    )


def govern_tools(tools: MutableSequence[Any], tracer: Tracer) -> MutableSequence[Any]:
    """Govern each tool of ``tools`` in place (plain functions are replaced); returns ``tools``."""
    for index, tool in enumerate(tools):
        tools[index] = _govern_any(tool, tracer)
    return tools


def govern_tool(tool: BaseTool, tracer: Tracer, *, name: str | None = None) -> BaseTool:
    """Govern ``tool`` in place and return it (the same object).

    ``name`` is the tool name policy sees, if not the tool's own (``Tracer.wrap_tool(name, tool)``).
    Raises ThothConfigError when the tool is already governed under other settings.
    """
    return govern_in_place(tool, tracer, policy_name=name)


def govern_executor(executor: Any, tracer: Tracer) -> Any:
    """Govern an ``AgentExecutor`` in place: its tools, and each tool step it takes."""
    previous = _executor_tracer(executor)
    if not isinstance(executor, _GovernedExecutor):
        object.__setattr__(executor, "__class__", _executor_class(type(executor)))
    object.__setattr__(executor, _EXECUTOR_STATE, _Carrier(tracer))
    for tool in executor.tools:
        govern_in_place(tool, tracer, shared=True, replaces=previous)
    return executor


def usage_callback(tracer: Tracer) -> UsageCallback:
    """A callback handler that records each model call's token usage under ``tracer`` (an
    LLM_INVOCATION event and the session's ``token_spend``): ``config={"callbacks": [...]}`` on an
    agent, executor, LangGraph graph or model. ``middleware(tracer)`` already records it."""
    return UsageCallback(tracer)


def middleware(tracer: Tracer) -> Any:
    """An ``AgentMiddleware`` for ``create_agent(..., middleware=[...])`` that governs tool calls."""
    return _middleware_class()(tracer)


def __getattr__(name: str) -> Any:
    # ThothMiddleware needs the `langchain` package; langchain-core alone is enough for the rest.
    if name == "ThothMiddleware":
        return _middleware_class()
    raise AttributeError(name)


def _middleware_class() -> Any:
    from thoth.integrations._langchain_middleware import ThothMiddleware

    return ThothMiddleware


def _govern_any(tool: Any, tracer: Tracer) -> Any:
    if isinstance(tool, BaseTool):
        return govern_tool(tool, tracer)
    if callable(tool):  # create_agent / ToolNode also accept plain functions
        return tracer.wrap_tool(getattr(tool, "__name__", type(tool).__name__), tool)
    if isinstance(tool, dict):  # a provider's built-in tool: it runs at the provider, out of our reach
        return tool
    raise ThothConfigError(f"thoth: cannot govern tool {tool!r}: not a BaseTool or a callable")


def _is_langgraph(obj: Any) -> bool:
    return any(cls.__module__.startswith("langgraph.") for cls in type(obj).__mro__)


def _is_agent_executor(obj: Any) -> bool:
    # langchain_classic's AgentExecutor (and the older langchain.agents one): every tool step
    # goes through these two methods.
    cls = type(obj)
    return callable(getattr(cls, "_perform_agent_action", None)) and callable(
        getattr(cls, "_aperform_agent_action", None)
    )


# ---- AgentExecutor ----------------------------------------------------------------------------
_EXECUTOR_STATE = "_thoth_executor_tracer"


class _Carrier:
    """The executor's tracer, in its __dict__: copies of the executor share it, never copy it."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __copy__(self) -> _Carrier:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Carrier:
        return self


def _executor_tracer(executor: Any) -> Tracer | None:
    carrier = executor.__dict__.get(_EXECUTOR_STATE)
    return carrier.tracer if isinstance(carrier, _Carrier) else None


def _step_tracer(executor: Any, name_to_tool_map: dict[str, Any]) -> Tracer:
    tracer = _executor_tracer(executor)
    if tracer is None:
        raise ThothConfigError("thoth: this AgentExecutor has lost its governance; instrument it again")
    for tool in name_to_tool_map.values():  # tools added or replaced after instrument()
        if isinstance(tool, BaseTool):
            govern_in_place(tool, tracer, shared=True)
    return tracer


class _GovernedExecutor:
    """Mixed into an AgentExecutor's class: each tool step runs with the executor's tracer in scope."""

    def _perform_agent_action(
        self, name_to_tool_map: dict[str, Any], color_mapping: Any, agent_action: Any, *args: Any
    ) -> Any:
        tracer = _step_tracer(self, name_to_tool_map)
        with agent_scope(tracer, call_id=getattr(agent_action, "tool_call_id", None)):
            return super()._perform_agent_action(  # type: ignore[misc]
                name_to_tool_map, color_mapping, agent_action, *args
            )

    async def _aperform_agent_action(
        self, name_to_tool_map: dict[str, Any], color_mapping: Any, agent_action: Any, *args: Any
    ) -> Any:
        tracer = _step_tracer(self, name_to_tool_map)
        with agent_scope(tracer, call_id=getattr(agent_action, "tool_call_id", None)):
            return await super()._aperform_agent_action(  # type: ignore[misc]
                name_to_tool_map, color_mapping, agent_action, *args
            )


_EXECUTOR_CLASSES: dict[type, type] = {}  # one governed subclass per executor class


def _executor_class(cls: type) -> type:
    if cls not in _EXECUTOR_CLASSES:
        _EXECUTOR_CLASSES[cls] = type(cls.__name__, (_GovernedExecutor, cls), {"__module__": cls.__module__})
    return _EXECUTOR_CLASSES[cls]
