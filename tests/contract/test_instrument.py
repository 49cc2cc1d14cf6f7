"""thoth.instrument() and friends, as the aten-thoth README writes them; config errors; sessions; secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

import thoth
from tests._contract import BASE_URL, ContractAPI, Reply
from tests.contract.conftest import API_KEY
from thoth import ThothConfigError, ThothPolicyViolation, get_current_session
from thoth.tracer import Tracer

COMMON: dict[str, Any] = {
    "agent_id": "file-agent",
    "approved_scope": ["read_file"],
    "tenant_id": "acme-corp",
    "api_url": BASE_URL,
    "api_key": API_KEY,
}


class FileTool:
    name = "read_file"

    def __init__(self) -> None:
        self.paths: list[str] = []

    def run(self, path: str) -> str:
        self.paths.append(path)
        return f"contents of {path}"


class MyAgent:
    def __init__(self) -> None:
        self.tools = [FileTool()]


def test_readme_generic_example(api: ContractAPI) -> None:
    agent = MyAgent()
    assert thoth.instrument(agent, **COMMON, enforcement="block") is agent
    assert agent.tools[0].run("/tmp/report.txt") == "contents of /tmp/report.txt"
    api.on_enforce(Reply(json={"decision": "BLOCK", "reason": "sensitive path", "violation_id": "vio_7"}))
    with pytest.raises(ThothPolicyViolation) as info:
        agent.tools[0].run("/etc/passwd")
    assert (info.value.tool_name, info.value.reason, info.value.violation_id) == (
        "read_file",
        "sensitive path",
        "vio_7",
    )
    assert agent.tools[0].paths == ["/tmp/report.txt"]


def test_instrument_a_list_and_a_dict_of_callables(api: ContractAPI) -> None:
    def read_file(path: str) -> str:
        return path

    tools: list[Any] = [read_file]
    thoth.instrument(tools, **COMMON)
    mapping: dict[str, Any] = {"read_file": read_file}
    thoth.instrument(mapping, **COMMON)
    assert tools[0]("a") == "a" and mapping["read_file"]("b") == "b"
    assert [b["tool_args"] for b in api.enforce_bodies()] == [{"path": "a"}, {"path": "b"}]


def test_instrumenting_the_same_agent_twice_checks_once(api: ContractAPI) -> None:
    agent = thoth.instrument(MyAgent(), **COMMON)
    thoth.instrument(agent, **COMMON)
    agent.tools[0].run("x")
    assert len(api.enforce_bodies()) == 1


def test_thoth_client_legacy_aliases(api: ContractAPI) -> None:
    client = thoth.ThothClient(**COMMON)
    agent = client.wrap(MyAgent())
    agent.tools[0].run("x")
    governed = client.wrap_openai_tools({"read_file": lambda path: path})
    assert governed["read_file"]({"path": "y"}) == "y"
    assert "api_key" not in repr(client) and API_KEY not in repr(client)


def test_instrument_openai_and_anthropic_take_the_arguments_dict(api: ContractAPI) -> None:
    def send_email(to: str, subject: str, body: str) -> str:
        return f"sent to {to}"

    def search_docs(query: dict[str, Any]) -> str:  # a tool that wants the dict itself
        return f"found {query['q']}"

    openai_tools = thoth.instrument_openai({"send_email": send_email}, **COMMON, enforcement="block")
    assert (
        openai_tools["send_email"](json.loads('{"to": "bob", "subject": "s", "body": "b"}')) == "sent to bob"
    )
    assert openai_tools["send_email"]('{"to": "carol", "subject": "s", "body": "b"}') == "sent to carol"
    anthropic_tools = thoth.instrument_anthropic({"search_docs": search_docs}, **COMMON)
    assert anthropic_tools["search_docs"]({"q": "retention"}) == "found retention"


def test_a_dispatcher_given_malformed_json_refuses_without_asking_or_running(api: ContractAPI) -> None:
    ran: list[str] = []
    governed = thoth.instrument_openai({"send_email": lambda to: ran.append(to)}, **COMMON)
    with pytest.raises(TypeError, match="not valid JSON") as info:
        governed["send_email"]('{"to": "secret@example.com"')
    assert "secret@example.com" not in str(info.value)  # the call's content stays out of the error
    assert ran == [] and api.enforce_bodies() == []


def test_readme_violation_handling_in_a_tool_loop(api: ContractAPI) -> None:
    api.on_enforce(Reply(json={"decision": "BLOCK", "reason": "delete_record is outside the approved scope"}))
    governed = thoth.instrument_anthropic(
        {"delete_record": lambda id: "deleted"}, **COMMON, enforcement="step_up"
    )
    try:
        result = governed["delete_record"]({"id": 7})
    except ThothPolicyViolation as e:
        result = f"[blocked: {e.reason}]"
    assert result == "[blocked: delete_record is outside the approved scope]"


def test_readme_low_level_tracer_recipe(api: ContractAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    from thoth.emitter import HttpEmitter
    from thoth.enforcer_client import EnforcerClient
    from thoth.models import EnforcementMode, ThothConfig
    from thoth.session import SessionContext
    from thoth.step_up import StepUpClient
    from thoth.tracer import Tracer

    monkeypatch.setenv("THOTH_API_URL", BASE_URL)
    config = ThothConfig(
        agent_id="langgraph-analyst",
        approved_scope=["search_database"],
        tenant_id="acme-corp",
        user_id="alice@acme.com",
        enforcement=EnforcementMode.BLOCK,
        api_key=API_KEY,
        step_up_timeout_minutes=5,
        step_up_poll_interval_seconds=3,
    )
    session = SessionContext(config)
    tracer = Tracer(
        config=config,
        session=session,
        emitter=HttpEmitter(api_url=config.resolved_api_url, api_key=API_KEY),
        enforcer=EnforcerClient(config),
        step_up=StepUpClient(config),
    )
    governed = tracer.wrap_tool("search_database", lambda query: f"rows for {query}")
    assert governed("q4") == "rows for q4"
    assert session.tool_calls == ["search_database"]
    assert session.is_in_scope("search_database") and not session.is_in_scope("send_slack_message")


def test_env_vars_supply_key_url_and_tenant(api: ContractAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THOTH_API_KEY", API_KEY)
    monkeypatch.setenv("THOTH_API_URL", BASE_URL)
    monkeypatch.setenv("THOTH_TENANT_ID", "tenant-from-env")
    agent = thoth.instrument(
        MyAgent(), agent_id="a", approved_scope=["read_file"], api_url="https://ignored.example.com"
    )  # THOTH_API_URL overrides api_url
    agent.tools[0].run("x")
    request = api.calls("/v1/enforce")[0]
    assert request.headers["x-api-key"] == API_KEY
    assert json.loads(request.content)["tenant_id"] == "tenant-from-env"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_url": None}, "THOTH_API_URL"),
        ({"api_url": "ftp://enforce.example.com"}, "not an http(s) URL"),
        ({"api_url": "enforce.example.com"}, "not an http(s) URL"),
        ({"api_url": "http://enforce.example.com"}, "plain http to a non-loopback host"),
        ({"api_url": "https://user:pw@enforce.example.com"}, "must not carry credentials"),
        ({"enforcement": "strict"}, "use one of observe, step_up, block, progressive"),
        ({"agent_id": ""}, "agent_id must be a non-empty string"),
        ({"agent_id": "   "}, "agent_id must be a non-empty string"),
        ({"tenant_id": None}, "THOTH_TENANT_ID"),
        ({"approved_scope": "read_file"}, "approved_scope must be a list"),
        ({"on_block": "ignore"}, "on_block"),
        ({"step_up_poll_interval_seconds": 0}, "step_up_poll_interval_seconds"),
        ({"enforcment": "block"}, "enforcment: unknown option"),
    ],
)
def test_config_errors_fail_at_instrument_time_and_say_what_to_fix(
    overrides: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("THOTH_API_URL", "THOTH_API_KEY", "THOTH_TENANT_ID"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ThothConfigError) as info:
        thoth.instrument(MyAgent(), **{**COMMON, **overrides})
    assert message in str(info.value)
    assert API_KEY not in str(info.value)


def test_insecure_http_can_be_allowed_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THOTH_API_URL", raising=False)
    thoth.instrument(
        MyAgent(), **{**COMMON, "api_url": "http://enforcer.internal:8787"}, allow_insecure_http=True
    )


def test_unknown_object_gets_a_clear_error() -> None:
    with pytest.raises(ThothConfigError, match="does not know how to govern a int"):
        thoth.instrument(42, **COMMON)


def test_the_key_never_appears_in_reprs_logs_or_errors(
    api: ContractAPI, make_tracer: Callable[..., Tracer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tracer = make_tracer()
    api.on_enforce(Reply(401, json={"code": "unauthorized", "message": "invalid key"}))
    with pytest.raises(ThothPolicyViolation) as info:
        tracer.wrap_tool("read_file", lambda path: path)("x")
    thoth.flush(1.0)
    texts = [
        repr(tracer),
        repr(tracer.config),
        str(tracer.config),
        repr(tracer._enforcer),
        repr(tracer._step_up),
        repr(tracer._emitter),
        str(info.value),
        repr(info.value),
        caplog.text,
        json.dumps(thoth.delivery_stats()),
    ]
    assert all(API_KEY not in text for text in texts)


def test_sessions_are_isolated_across_threads() -> None:
    seen: dict[int, str | None] = {}
    mine: dict[int, str] = {}

    def worker(i: int) -> None:
        tracer = thoth.instrument({}, **COMMON, session_id=f"thread-{i}")
        assert tracer == {}
        session = get_current_session()
        mine[i] = f"thread-{i}"
        seen[i] = session.session_id if session else None

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == mine


async def test_sessions_are_isolated_across_tasks() -> None:
    async def task(i: int) -> tuple[str, str | None]:
        thoth.instrument({}, **COMMON, session_id=f"task-{i}")
        await asyncio.sleep(0)  # let the other tasks run in between
        session = get_current_session()
        return f"task-{i}", session.session_id if session else None

    results = await asyncio.gather(*(task(i) for i in range(500)))
    assert all(expected == got for expected, got in results)


def test_current_session_inside_a_governed_call(api: ContractAPI) -> None:
    seen: list[str] = []

    def read_file(path: str) -> str:
        session = get_current_session()
        seen.append(session.session_id if session else "none")
        return path

    tools = thoth.instrument({"read_file": read_file}, **COMMON, session_id="sess-inside")
    other = threading.Thread(target=tools["read_file"], args=("x",))  # a thread starts with an empty context
    other.start()
    other.join()
    tools["read_file"]("y")
    assert seen == ["sess-inside", "sess-inside"]


def test_import_thoth_imports_no_framework_or_server() -> None:
    code = (
        "import sys, thoth; heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('langchain', 'langchain_core', 'langgraph', 'crewai', 'autogen', 'openai', 'anthropic', 'mcp', "
        "'starlette', 'uvicorn', 'sqlalchemy', 'thoth.server')]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert out.stdout.strip() == "[]"


def test_create_tracer_is_the_public_way_to_govern_by_hand(api: ContractAPI) -> None:
    tracer = thoth.create_tracer(**COMMON, enforcement="block", on_block="return")
    permit = tracer.authorize("read_file", {"path": "a"}, call_id="call_1")
    permit.finish(result="contents")
    api.on_enforce(Reply(json={"decision": "BLOCK", "reason": "no"}))
    assert "was not run" in tracer.wrap_tool("read_file", lambda path: path)("b")
    assert thoth.flush(2.0)
    assert [e["metadata"]["call_id"] for e in api.events[:2]] == ["call_1", "call_1"]
    with pytest.raises(ThothConfigError):
        thoth.create_tracer(**{**COMMON, "agent_id": ""})
