"""What ``instrument()`` publishes of an agent's tools (``thoth._inventory``, pure)."""

from __future__ import annotations

import json
from typing import Any

import pydantic

from thoth._inventory import MAX_TOOLS_PER_REQUEST, describe_tools, requests_for


def lookup(term: str, limit: int = 5) -> list[str]:
    """Look a term up."""
    return [term] * limit


class SchemaTool:
    """A framework-style tool object: a name, a description and a JSON schema of its input."""

    def __init__(self, name: str, schema: dict[str, Any], description: str = "A tool.") -> None:
        self.name = name
        self.description = description
        self.params_json_schema = schema


class Holder:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def test_value_keywords_are_stripped_but_properties_of_those_names_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "default": {"type": "string", "default": "sk-live-secret"},  # a *parameter* named default
            "to": {"type": "string", "examples": ["ceo@acme.com"], "example": "cfo@acme.com"},
            "nested": {"type": "object", "properties": {"examples": {"type": "integer", "default": 3}}},
        },
        "$defs": {"default": {"type": "string", "default": "x"}},
        "default": {"to": "someone"},
    }
    (entry,) = describe_tools([SchemaTool("send", schema)])
    published = entry["input_schema"]
    assert set(published["properties"]) == {"default", "to", "nested"}
    assert published["properties"]["default"] == {"type": "string"}
    assert published["properties"]["to"] == {"type": "string"}
    assert published["properties"]["nested"]["properties"] == {"examples": {"type": "integer"}}
    assert published["$defs"] == {"default": {"type": "string"}}
    assert "default" not in published
    for leaked in ("sk-live-secret", "ceo@acme.com", "cfo@acme.com", "someone"):
        assert leaked not in json.dumps(published)


def test_a_function_s_schema_comes_from_its_signature_without_its_defaults() -> None:
    def transfer(account: str, amount: float, note: str = "pin 4242", *args: Any, **options: Any) -> None:
        """Move money."""

    (entry,) = describe_tools({"transfer": transfer})
    schema = entry["input_schema"]
    assert entry["description"] == "Move money."
    assert {name: prop.get("type") for name, prop in schema["properties"].items()} == {
        "account": "string",
        "amount": "number",
        "note": "string",
    }
    assert schema["required"] == ["account", "amount"]
    assert schema["additionalProperties"] is True  # **options takes any further argument
    assert "4242" not in json.dumps(entry) and "title" not in schema


def test_annotations_pydantic_cannot_read_still_give_the_parameter_names() -> None:
    class Opaque:
        pass

    def handle(thing: Opaque, other: NoSuchName) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    (entry,) = describe_tools([handle])
    assert set(entry["input_schema"]["properties"]) == {"thing", "other"}


def test_a_pydantic_args_schema_is_read_like_langchain_and_crewai_keep_it() -> None:
    class Input(pydantic.BaseModel):
        path: str
        lines: int = 10

    tool = Holder(name="read_file", description="Read a file.", args_schema=Input)
    (entry,) = describe_tools(Holder(tools=[tool]))
    assert entry["name"] == "read_file" and set(entry["input_schema"]["properties"]) == {"path", "lines"}
    assert "10" not in json.dumps(entry["input_schema"])


def test_tools_are_found_where_agents_keep_them() -> None:
    agentchat_tool = Holder(
        name="b", description="B.", schema={"name": "b", "parameters": {"type": "object"}}
    )
    crew = Holder(
        agents=[Holder(tools=[SchemaTool("a", {"type": "object"})]), Holder(tools=[agentchat_tool])]
    )
    assert [e["name"] for e in describe_tools(crew)] == ["a", "b"]
    assert describe_tools(crew)[1]["input_schema"] == {"type": "object"}
    graph = Holder(nodes={"tools": Holder(bound=Holder(tools_by_name={"c": lookup})), "model": Holder()})
    assert [e["name"] for e in describe_tools(graph)] == ["c"]
    server = Holder(_tool_manager=Holder(_tools={"d": Holder(name="d", description="D.", parameters={})}))
    assert describe_tools(server) == [{"name": "d", "description": "D.", "input_schema": {}}]
    assert [e["name"] for e in describe_tools(Holder(function_map={"e": lookup}))] == ["e"]
    assert [e["name"] for e in describe_tools(lookup)] == ["lookup"]  # one tool on its own


def test_an_agent_that_is_not_a_tool_and_holds_none_publishes_nothing() -> None:
    assert describe_tools(Holder(name="assistant")) == []
    assert describe_tools(object()) == []
    assert describe_tools([]) == []


def test_odd_tools_are_left_out_not_raised() -> None:
    class Exploding:
        name = "explodes"

        @property
        def description(self) -> str:
            raise RuntimeError("boom")

        @property
        def params_json_schema(self) -> dict[str, Any]:
            raise RuntimeError("boom")

    entries = describe_tools([Exploding(), SchemaTool("fine", {"type": "object"}), SchemaTool("", {})])
    assert [e["name"] for e in entries] == ["explodes", "fine"]
    assert entries[0] == {"name": "explodes"}


def test_sizes_are_bounded_as_the_contract_says() -> None:
    huge = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "description": "x" * 100} for i in range(1000)},
    }
    long_name = "n" * 257
    entries = describe_tools(
        [SchemaTool("big", huge, description="d" * 10_000), SchemaTool(long_name, {}), SchemaTool("big", {})]
    )
    assert [e["name"] for e in entries] == ["big"]  # the 257-character name and the duplicate are left out
    assert len(entries[0]["description"]) == 4096
    assert "input_schema" not in entries[0]  # over 64 KiB of JSON: no schema rather than a cut one


def test_many_tools_go_in_requests_of_at_most_the_contract_s_hundred() -> None:
    entries = [{"name": f"tool_{i}"} for i in range(2 * MAX_TOOLS_PER_REQUEST + 1)]
    bodies = requests_for("agent-1", entries, "thoth-python-sdk")
    assert [len(body["tools"]) for body in bodies] == [100, 100, 1]
    assert {(body["agent_id"], body["source"]) for body in bodies} == {("agent-1", "thoth-python-sdk")}
    assert [tool for body in bodies for tool in body["tools"]] == entries
    assert requests_for("agent-1", [], "thoth-python-sdk") == []
