"""LangGraph: govern every tool call a ``ToolNode`` runs, and the tool objects themselves.

The hook is ToolNode's own ``wrap_tool_call`` / ``awrap_tool_call`` pair, which
sees each call with its id before the tool runs (sync and async, parallel calls
and ``Send`` fan-out included). Three ways in:

* ``instrument(graph_or_tool_node, tracer)``: finds every ``ToolNode`` in a
  compiled graph (``create_agent``, ``create_react_agent``, your own
  ``StateGraph``, subgraphs that ``get_subgraphs()`` lists) and governs it in
  place, and governs its tools in place too (``thoth.integrations.langchain``),
  so a tool you still hold is governed when called directly. Wrappers already
  on the node (``create_agent`` middleware) keep running, outside ours: Thoth
  checks the call that actually executes.
* ``governed_tool_node(tools, tracer, **kwargs)``: a new governed ``ToolNode``.
* ``tool_call_wrappers(tracer)``: the pair to pass to ``ToolNode`` yourself.

Every way of running the graph goes through its nodes: ``invoke``, ``ainvoke``,
``stream``, ``astream``, ``batch``, ``abatch``, and the copies ``graph.copy()`` /
``graph.with_config()`` make (they share the governed nodes). A tool added to
``node.tools_by_name`` later is decided by the node, and governed in place when
it first runs. A tool shared by two instrumented graphs is decided under the
graph whose node runs it. One ``ToolNode`` object shared by two compiled graphs
(``builder.compile()`` twice) cannot carry two settings: instrumenting the second
graph under other settings raises ``ThothConfigError``; instrumenting the same
graph again with new settings takes effect. A graph a node function invokes
itself, and that ``get_subgraphs()`` does not list, is not found: instrument it too.

A refusal answers the call with ``ToolMessage(status="error")`` carrying the
reason, so the agent goes on (``tracer.on_block == "return"``), or raises
``ThothPolicyViolation`` out of ``invoke`` (``"raise"``). The tool never runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langgraph.prebuilt import ToolNode

from thoth.errors import ThothConfigError
from thoth.integrations._langchain_toolcall import ToolCallGovernor, govern_in_place, same_settings

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_tool_node", "governed_tool_node", "instrument", "tool_call_wrappers"]

# The wrappers a node had before we governed it, so instrumenting twice re-wraps the originals.
_ORIGINAL = "_thoth_original_wrappers"
# (tracer, the objects instrument() was given): a node shared by two graphs cannot carry two settings.
_GOVERNED_BY = "_thoth_governed_by"


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern every ``ToolNode`` in a compiled graph (or one ``ToolNode``) in place."""
    nodes = list(_tool_nodes(obj, seen=set()))
    if not nodes:
        raise ThothConfigError(
            f"thoth: found no ToolNode to govern in {type(obj).__name__}; pass a compiled graph "
            "or a ToolNode, or build one with thoth.integrations.langgraph.governed_tool_node()"
        )
    for node in nodes:  # check them all before changing any
        _check_owner(node, tracer, obj)
    for node in nodes:
        govern_tool_node(node, tracer, owner=obj)
    return obj


def tool_call_wrappers(tracer: Tracer) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(wrap_tool_call, awrap_tool_call)`` for ``ToolNode(...)``."""
    governor = ToolCallGovernor(tracer)
    return governor.wrap, governor.awrap


def governed_tool_node(tools: Sequence[Any], tracer: Tracer, **kwargs: Any) -> Any:
    """A new ``ToolNode`` over ``tools`` whose every call is governed."""
    node = ToolNode(tools, **kwargs)
    return govern_tool_node(node, tracer)


def govern_tool_node(node: Any, tracer: Tracer, *, owner: Any = None) -> Any:
    """Govern one ``ToolNode`` and its tools in place (re-instrumenting swaps the tracer)."""
    owner = node if owner is None else owner
    _check_owner(node, tracer, owner)
    previous, owners = getattr(node, _GOVERNED_BY, (None, ()))
    # The graphs that govern this node under these settings (more than one if it is shared).
    kept = (
        [o for o in owners if o is not owner]
        if previous is not None and same_settings(previous, tracer)
        else []
    )
    setattr(node, _GOVERNED_BY, (tracer, (*kept, owner)))
    original = getattr(node, _ORIGINAL, None)
    if original is None:
        original = (node._wrap_tool_call, node._awrap_tool_call)
        setattr(node, _ORIGINAL, original)
    outer_sync, outer_async = original
    governor = ToolCallGovernor(tracer)
    node._wrap_tool_call = _compose(outer_sync, governor.wrap)
    if outer_async is not None:
        node._awrap_tool_call = _compose(outer_async, governor.awrap)
    elif outer_sync is None:
        node._awrap_tool_call = governor.awrap
    # else: a sync-only outer wrapper; ToolNode runs it (now governed) on the async path too.
    for tool in node.tools_by_name.values():  # the objects the user holds: direct calls are governed
        govern_in_place(tool, tracer, shared=True, replaces=previous)
    return node


def _check_owner(node: Any, tracer: Tracer, owner: Any) -> None:
    previous, owners = getattr(node, _GOVERNED_BY, (None, ()))
    if previous is None or same_settings(previous, tracer) or all(o is owner for o in owners):
        return
    raise ThothConfigError(
        f"thoth: this ToolNode is already governed for agent {previous.config.agent_id!r} by another "
        f"graph (e.g. builder.compile() called twice); governing it for agent {tracer.config.agent_id!r} "
        "would change how that graph's calls are decided. Give each graph its own ToolNode"
    )


def _compose(outer: Callable[..., Any] | None, inner: Callable[..., Any]) -> Callable[..., Any]:
    """``outer`` keeps its place; the governed check sits between it and the tool."""
    if outer is None:
        return inner

    def composed(request: Any, execute: Callable[..., Any]) -> Any:
        return outer(request, lambda req: inner(req, execute))

    return composed


def _tool_nodes(obj: Any, seen: set[int]) -> Iterator[Any]:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, ToolNode):
        yield obj
        return
    for node in getattr(obj, "nodes", {}).values():
        bound = getattr(node, "bound", None)
        if isinstance(bound, ToolNode):
            yield from _tool_nodes(bound, seen)
    get_subgraphs = getattr(obj, "get_subgraphs", None)
    if callable(get_subgraphs):
        for _name, subgraph in get_subgraphs():
            yield from _tool_nodes(subgraph, seen)
