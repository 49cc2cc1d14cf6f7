"""LangChain: govern tools (``@tool``, ``StructuredTool``, ``BaseTool``), agents
built with ``create_agent``, and ``AgentExecutor`` (``langchain_classic``).

Two hooks, both public surfaces of langchain:

* ``GovernedTool``: a proxy ``BaseTool`` with the inner tool's name and schema
  whose ``run`` / ``arun`` (what ``invoke``, ``ainvoke``, ``AgentExecutor`` and
  ``ToolNode`` all go through) authorize the call and then hand it, unchanged,
  to the inner tool's own ``run`` / ``arun``: callbacks, validation, injected
  arguments and ``ToolMessage`` formatting stay the inner tool's.
* ``ThothMiddleware``: an ``AgentMiddleware`` for ``create_agent`` with both
  ``wrap_tool_call`` and ``awrap_tool_call``.

``instrument(obj, tracer)`` takes an ``AgentExecutor``, a list of tools, an
object with ``.tools`` (all governed in place, the same object is returned), a
compiled graph from ``create_agent`` (its ToolNode is governed, see
``thoth.integrations.langgraph``), or one tool (a governed proxy is returned:
a pydantic tool cannot be patched in place).

A refusal is what the framework shows the model for a handled tool error: the
refusal text, as ``ToolMessage(status="error")`` when the call carries a
tool-call id (``tracer.on_block == "return"``); or ``ThothPolicyViolation``
raised out of the agent run (``"raise"``). The tool body never runs.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import PrivateAttr

from thoth.errors import ThothConfigError
from thoth.integrations._langchain_toolcall import record_tool_result

if TYPE_CHECKING:
    from thoth._governed import GovernedCall
    from thoth.tracer import Tracer

# Also ThothMiddleware, loaded on first access (it needs the `langchain` package).
__all__ = ["GovernedTool", "govern_tool", "govern_tools", "instrument", "middleware"]


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern a LangChain agent, executor, tool list or tool. See the module docstring."""
    if isinstance(obj, BaseTool):
        return govern_tool(obj, tracer)
    if isinstance(obj, MutableSequence):
        return govern_tools(obj, tracer)
    if _is_langgraph(obj):
        from thoth.integrations import langgraph

        return langgraph.instrument(obj, tracer)
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
    """Replace each tool of ``tools`` by its governed proxy, in place; returns ``tools``."""
    for index, tool in enumerate(tools):
        tools[index] = _govern_any(tool, tracer)
    return tools


def govern_tool(tool: BaseTool, tracer: Tracer, *, name: str | None = None) -> GovernedTool:
    """A governed proxy of ``tool`` (same name, description and argument schema).

    ``name`` is the tool name policy sees, if not the tool's own (``Tracer.wrap_tool(name, tool)``).
    """
    if isinstance(tool, GovernedTool):
        tool = tool.inner
    return GovernedTool.wrap(tool, tracer, policy_name=name)


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


# What the model and the framework see of a tool (``extras`` is newer than langchain-core 1.0).
_SURFACE = (
    "name",
    "description",
    "args_schema",
    "return_direct",
    "response_format",
    "tags",
    "metadata",
    "extras",
)


class GovernedTool(BaseTool):  # type: ignore[misc]  # langchain is untyped for mypy here
    """A ``BaseTool`` that authorizes each call, then runs the inner tool."""

    _inner: BaseTool = PrivateAttr()
    _tracer: Any = PrivateAttr()
    _policy_name: str = PrivateAttr()

    @classmethod
    def wrap(cls, inner: BaseTool, tracer: Tracer, policy_name: str | None = None) -> GovernedTool:
        surface = {field: getattr(inner, field) for field in _SURFACE if field in BaseTool.model_fields}
        governed = cls(**surface)
        governed._inner = inner
        governed._tracer = tracer
        governed._policy_name = policy_name or inner.name
        return governed

    @property
    def inner(self) -> BaseTool:
        """The tool this proxy governs."""
        return self._inner

    # The schema the model sees and ToolNode inspects for injected arguments is the inner tool's.
    @property
    def args(self) -> dict[str, Any]:
        return dict(self._inner.args)

    @property
    def tool_call_schema(self) -> Any:
        return self._inner.tool_call_schema

    def get_input_schema(self, config: Any = None) -> Any:
        return self._inner.get_input_schema(config)

    @property
    def func(self) -> Callable[..., Any] | None:
        return getattr(self._inner, "func", None)

    @property
    def coroutine(self) -> Callable[..., Any] | None:
        return getattr(self._inner, "coroutine", None)

    def run(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        policy_args = self._policy_args(tool_input)
        governed = self._tracer.govern(self._policy_name, policy_args, call_id=kwargs.get("tool_call_id"))
        if governed.refused:
            return self._refuse(governed, kwargs.get("tool_call_id"))
        with governed:
            result = self._inner.run(self._input_for(tool_input, policy_args, governed), *args, **kwargs)
        return record_tool_result(governed, result, ToolFailed)

    async def arun(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        policy_args = self._policy_args(tool_input)
        governed = await self._tracer.agovern(
            self._policy_name, policy_args, call_id=kwargs.get("tool_call_id")
        )
        if governed.refused:
            return self._refuse(governed, kwargs.get("tool_call_id"))
        with governed:
            result = await self._inner.arun(
                self._input_for(tool_input, policy_args, governed), *args, **kwargs
            )
        return record_tool_result(governed, result, ToolFailed)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        # Every entry point goes through run()/arun(); reaching here would skip the check.
        raise ThothConfigError("thoth: a GovernedTool runs through run()/invoke(), not _run()")

    def _policy_args(self, tool_input: str | dict[str, Any]) -> dict[str, Any]:
        """The arguments the model chose: injected ones (state, runtime, call id) stay local."""
        visible = self._visible_args()
        if isinstance(tool_input, dict):
            return {k: v for k, v in tool_input.items() if visible is None or k in visible}
        if visible is not None and len(visible) == 1:
            return {next(iter(visible)): tool_input}
        return {"input": tool_input}

    def _visible_args(self) -> set[str] | None:
        try:
            return set(self._inner.args)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None  # e.g. a hand-written JSON schema without "properties": keep every argument

    def _input_for(
        self, tool_input: str | dict[str, Any], policy_args: dict[str, Any], governed: GovernedCall
    ) -> str | dict[str, Any]:
        """The input to run with: the original, or the enforcer's rewrite after a MODIFY."""
        if not governed.modified:
            return tool_input
        injected = (
            {k: v for k, v in tool_input.items() if k not in policy_args}
            if isinstance(tool_input, dict)
            else {}
        )
        return {**injected, **governed.args}

    def _refuse(self, governed: GovernedCall, call_id: str | None) -> Any:
        text = governed.refuse()  # raises on on_block="raise"
        if call_id is None:
            return text
        return ToolMessage(content=text, name=self.name, tool_call_id=call_id, status="error")


class ToolFailed(Exception):
    """The inner tool failed and langchain turned the error into its result."""
