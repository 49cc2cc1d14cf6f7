"""An agent's tools as the tool inventory records them: names, descriptions, input schemas. Pure.

``instrument()`` publishes them (``POST /{tenant}/thoth/tool-inventory``, in the background,
never on the agent's start path) so that platform teams see which tools exist and
``thoth policy coverage`` can name the tools no rule mentions.

What is read, without importing any framework: a dict of tools, a list of them, and the
attributes agents keep their tools in (``tools``, ``_tools``, ``function_map``, a graph's
tool nodes, a CrewAI crew's agents and tasks, an autogen-agentchat team's participants and an
agent's workbenches, an MCP server's tool manager (also through an in-memory MCP client), a
pydantic-ai agent's function toolset and toolsets). Per tool, the schema the framework already
has (``params_json_schema``, ``inputSchema``, ``args_schema``, ag2's ``schema.function``...),
else one built from the function's signature.

Schemas leave without ``default``, ``example`` and ``examples`` values (they can hold real
data a developer pasted in); descriptions and schemas are bounded as the contract says.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

__all__ = ["MAX_TOOLS_PER_REQUEST", "describe_tools", "requests_for"]

MAX_TOOLS_PER_REQUEST: Final = 100  # the contract's ToolInventory.tools maxItems
_MAX_NAME: Final = 256
_MAX_DESCRIPTION: Final = 4096
_MAX_SCHEMA_BYTES: Final = 64 * 1024
_MAX_TOOLS: Final = 2000  # an agent with more is not an agent: stop looking
_STRIPPED: Final = frozenset({"default", "example", "examples"})
# Keywords whose value maps *names* to schemas: those names are data, never stripped.
_NAMED_SCHEMAS: Final = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_SCHEMA_ATTRIBUTES: Final = ("params_json_schema", "inputSchema", "input_schema", "parameters")
_CONTAINERS: Final = ("tools", "_tools", "function_map", "_function_map", "tools_by_name")


def describe_tools(agent: Any) -> list[dict[str, Any]]:
    """The inventory entries of ``agent``'s tools (``name``, and ``description`` and
    ``input_schema`` when known), one per name, in the order found. Never raises for an odd
    tool: what cannot be read is left out."""
    entries: dict[str, dict[str, Any]] = {}
    for name, tool in _tools(agent, depth=0):
        if name in entries or len(entries) >= _MAX_TOOLS:
            continue
        entry = _entry(name, tool)
        if entry is not None:
            entries[name] = entry
    return list(entries.values())


def requests_for(agent_id: str, entries: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """The request bodies that publish ``entries``, at most 100 tools each."""
    return [
        {"agent_id": agent_id, "source": source, "tools": entries[start : start + MAX_TOOLS_PER_REQUEST]}
        for start in range(0, len(entries), MAX_TOOLS_PER_REQUEST)
    ]


# ---- finding the tools ---------------------------------------------------------------------
def _tools(obj: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > 3 or obj is None or isinstance(obj, str | bytes):
        return
    if isinstance(obj, Mapping):
        for key, value in list(obj.items()):
            yield (key if isinstance(key, str) else _name_of(value) or ""), value
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for item in list(obj):
            if _is_tool(item):
                yield _name_of(item) or "", item
            else:
                yield from _tools(item, depth + 1)
        return
    if depth > 0 and _is_tool(obj):
        yield _name_of(obj) or "", obj
        return
    found = False
    for item in _held_tools(obj, depth):
        found = True
        yield item
    if not found and depth == 0 and _is_single_tool(obj):  # instrument(one_tool)
        yield _name_of(obj) or "", obj


def _held_tools(obj: Any, depth: int) -> Iterator[tuple[str, Any]]:
    """The tools an agent object keeps, wherever its framework keeps them."""
    for attribute in _CONTAINERS:
        held = _attribute(obj, attribute)
        if isinstance(held, Mapping | list | tuple):
            yield from _tools(held, depth + 1)
    nodes = _attribute(obj, "nodes")  # a compiled LangGraph: its ToolNodes hold tools_by_name
    for node in list(nodes.values()) if isinstance(nodes, Mapping) else ():
        yield from _tools(_mapping(_attribute(node, "bound") or node, "tools_by_name"), depth + 1)
    for member in (*_members(obj, "agents"), *_members(obj, "tasks")):  # a CrewAI crew's agents, tasks
        yield from _tools(_attribute(member, "tools"), depth + 1)
    if depth < 3:
        for member in _members(obj, "_participants"):  # an autogen-agentchat team: agents, teams
            yield from _held_tools(member, depth + 1)
    for workbench in _members(obj, "_workbench"):  # an autogen-agentchat agent's StaticWorkbench,
        inner = _attribute(workbench, "inner") or workbench  # or Thoth's governed one around it
        yield from _tools(_attribute(inner, "_tools"), depth + 1)
    # An MCP server; an MCP Client connected to one in memory (a remote server's tools are only
    # listed over the wire, once connected: they are not read here).
    for server in (obj, _attribute(obj, "server")):
        yield from _tools(_attribute(_attribute(server, "_tool_manager"), "_tools"), depth + 1)
    toolset = _attribute(obj, "_function_toolset")  # a pydantic-ai agent
    yield from _tools(_attribute(toolset, "tools"), depth + 1)
    for toolset in _members(obj, "_user_toolsets"):  # its toolsets=[FunctionToolset(...)]; an MCP
        yield from _tools(_mapping(toolset, "tools"), depth + 1)  # toolset lists its tools when run


def _members(obj: Any, name: str) -> list[Any]:
    """The items of ``obj``'s list (or tuple) attribute ``name``; none when it has no such list."""
    held = _attribute(obj, name)
    return list(held) if isinstance(held, list | tuple) else []


def _mapping(obj: Any, name: str) -> Mapping[str, Any] | None:
    held = _attribute(obj, name)
    return held if isinstance(held, Mapping) else None


def _attribute(obj: Any, name: str) -> Any:
    try:
        return inspect.getattr_static(obj, name, None) and getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - a property that raises is a tool we cannot read, nothing more
        return None


def _is_tool(obj: Any) -> bool:
    return callable(obj) or isinstance(_attribute(obj, "name"), str)


def _is_single_tool(obj: Any) -> bool:
    """A tool given on its own, not an agent that happens to have a name: a function, or an
    object that carries a tool's schema."""
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return True
    schema_attributes = (*_SCHEMA_ATTRIBUTES, "args_schema", "function_schema")
    return any(_attribute(obj, a) is not None for a in schema_attributes)


def _name_of(tool: Any) -> str | None:
    for attribute in ("name", "__name__"):
        value = _attribute(tool, attribute)
        if isinstance(value, str) and value:
            return value
    return None


# ---- one tool ------------------------------------------------------------------------------
def _entry(name: str, tool: Any) -> dict[str, Any] | None:
    if not name or len(name) > _MAX_NAME:
        return None
    entry: dict[str, Any] = {"name": name}
    description = _description(tool)
    if description:
        entry["description"] = description[:_MAX_DESCRIPTION]
    schema = _schema(tool)
    if schema is not None:
        cleaned = _without_values(schema)
        try:
            size = len(json.dumps(cleaned, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError):  # not JSON: no schema is better than a wrong one
            size = _MAX_SCHEMA_BYTES + 1
        if size <= _MAX_SCHEMA_BYTES and isinstance(cleaned, dict):
            entry["input_schema"] = cleaned
    return entry


def _description(tool: Any) -> str | None:
    value = _attribute(tool, "description")
    if not isinstance(value, str) or not value.strip():
        value = _attribute(_ag2_function(tool), "description")
    if not isinstance(value, str) or not value.strip():
        value = inspect.getdoc(tool) if callable(tool) and not isinstance(tool, type) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _ag2_function(tool: Any) -> Any:
    """ag2 1.x (``import ag2``): a tool's ``schema`` is an object whose ``function`` carries the
    ``description`` and the ``parameters``; ``None`` for any other tool."""
    declared = _attribute(tool, "schema")
    return None if declared is None or isinstance(declared, Mapping) else _attribute(declared, "function")


def _schema(tool: Any) -> Mapping[str, Any] | None:
    for attribute in _SCHEMA_ATTRIBUTES:
        value = _attribute(tool, attribute)
        if isinstance(value, Mapping):
            return value
    declared = _attribute(tool, "schema")  # autogen-agentchat: {"name", "description", "parameters"}
    parameters = declared.get("parameters") if isinstance(declared, Mapping) else None
    if isinstance(parameters, Mapping):
        return parameters
    parameters = _attribute(_ag2_function(tool), "parameters")
    if isinstance(parameters, Mapping):
        return parameters
    pydantic_ai_schema = _attribute(_attribute(tool, "function_schema"), "json_schema")
    if isinstance(pydantic_ai_schema, Mapping):
        return pydantic_ai_schema
    args_schema = _attribute(tool, "args_schema")  # LangChain, CrewAI: a pydantic model class
    if isinstance(args_schema, Mapping):
        return args_schema
    json_schema = getattr(args_schema, "model_json_schema", None)
    if callable(json_schema):
        try:
            value = json_schema()
        except Exception:  # noqa: BLE001 - a model that cannot say its schema: publish none
            return None
        return value if isinstance(value, Mapping) else None
    target = _attribute(tool, "func") or _attribute(tool, "fn") or tool
    return _signature_schema(target) if callable(target) else None


def _signature_schema(fn: Any) -> dict[str, Any] | None:
    """A JSON schema of a plain function's parameters: pydantic's reading of the annotations,
    else the parameter names alone."""
    try:
        signature = inspect.signature(fn, eval_str=True)
    except Exception:  # noqa: BLE001 - a string annotation that names nothing here
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return None
    parameters = [
        p
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]
    try:
        from pydantic import ConfigDict, create_model

        fields: dict[str, Any] = {
            p.name: (Any if p.annotation is p.empty else p.annotation, ... if p.default is p.empty else None)
            for p in parameters
        }
        model = create_model("ToolInput", __config__=ConfigDict(arbitrary_types_allowed=True), **fields)
        schema: dict[str, Any] = model.model_json_schema()
    except Exception:  # noqa: BLE001 - annotations pydantic cannot read: names are still worth having
        required = [p.name for p in parameters if p.default is p.empty]
        schema = {"type": "object", "properties": {p.name: {} for p in parameters}, "required": required}
    schema.pop("title", None)  # pydantic's placeholder model name says nothing
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        schema["additionalProperties"] = True  # **kwargs: any further argument is taken
    return schema


def _without_values(schema: Any, depth: int = 0) -> Any:
    """``schema`` without the keywords that carry values (``default``, ``example(s)``)."""
    if depth > 64:
        return {}
    if isinstance(schema, Mapping):
        cleaned: dict[str, Any] = {}
        for key, value in schema.items():
            key = str(key)
            if key in _STRIPPED:
                continue
            if key in _NAMED_SCHEMAS and isinstance(value, Mapping):
                cleaned[key] = {str(k): _without_values(v, depth + 1) for k, v in value.items()}
            else:
                cleaned[key] = _without_values(value, depth + 1)
        return cleaned
    if isinstance(schema, list | tuple):
        return [_without_values(item, depth + 1) for item in schema]
    return schema
