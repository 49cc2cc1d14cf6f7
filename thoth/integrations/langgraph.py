"""LangGraph: govern every tool call a ``ToolNode`` runs.

The hook is ToolNode's own ``wrap_tool_call`` / ``awrap_tool_call`` pair, which
sees each call with its id before the tool runs (sync and async, parallel calls
included). Three ways in:

* ``instrument(graph_or_tool_node, tracer)``: finds every ``ToolNode`` in a
  compiled graph (``create_agent``, ``create_react_agent``, your own
  ``StateGraph``, subgraphs too) and governs it in place. Wrappers already on
  the node (``create_agent`` middleware) keep running, outside ours: Thoth
  checks the call that actually executes.
* ``governed_tool_node(tools, tracer, **kwargs)``: a new governed ``ToolNode``.
* ``tool_call_wrappers(tracer)``: the pair to pass to ``ToolNode`` yourself.

A refusal answers the call with ``ToolMessage(status="error")`` carrying the
reason, so the agent goes on (``tracer.on_block == "return"``), or raises
``ThothPolicyViolation`` out of ``invoke`` (``"raise"``). The tool never runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langgraph.prebuilt import ToolNode

from thoth.errors import ThothConfigError
from thoth.integrations._langchain_toolcall import ToolCallGovernor

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["govern_tool_node", "governed_tool_node", "instrument", "tool_call_wrappers"]

# The wrappers a node had before we governed it, so instrumenting twice re-wraps the originals.
_ORIGINAL = "_thoth_original_wrappers"


def instrument(obj: Any, tracer: Tracer) -> Any:
    """Govern every ``ToolNode`` in a compiled graph (or one ``ToolNode``) in place."""
    nodes = list(_tool_nodes(obj, seen=set()))
    if not nodes:
        raise ThothConfigError(
            f"thoth: found no ToolNode to govern in {type(obj).__name__}; pass a compiled graph "
            "or a ToolNode, or build one with thoth.integrations.langgraph.governed_tool_node()"
        )
    for node in nodes:
        govern_tool_node(node, tracer)
    return obj


def tool_call_wrappers(tracer: Tracer) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(wrap_tool_call, awrap_tool_call)`` for ``ToolNode(...)``."""
    governor = ToolCallGovernor(tracer)
    return governor.wrap, governor.awrap


def governed_tool_node(tools: Sequence[Any], tracer: Tracer, **kwargs: Any) -> Any:
    """A new ``ToolNode`` over ``tools`` whose every call is governed."""
    node = ToolNode(tools, **kwargs)
    return govern_tool_node(node, tracer)


def govern_tool_node(node: Any, tracer: Tracer) -> Any:
    """Govern one ``ToolNode`` in place (idempotent: re-instrumenting swaps the tracer)."""
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
    return node


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
