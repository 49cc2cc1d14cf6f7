"""autogen-agentchat 0.7 bypass matrix: every public way an agent, a team or a tool object runs a
tool, each driven by ``ReplayChatCompletionClient`` against a real `thoth serve` on 127.0.0.1.
Each path either refuses the blocked tool before its body runs, with the refusal recorded by the
enforcer, or is refused by Thoth with a clear error."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext")

from agentchat_support import LOADED_RAN, Tools, calls, model, results_seen
from autogen_agentchat.agents import AssistantAgent, BaseChatAgent, SocietyOfMindAgent
from autogen_agentchat.base import Response
from autogen_agentchat.conditions import TextMentionTermination
from autogen_agentchat.messages import TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_agentchat.tools import AgentTool, TeamTool
from autogen_core import CancellationToken
from autogen_core.tools import FunctionTool, StaticWorkbench, TextResultContent, ToolResult, Workbench

import thoth
from tests.integrations._shared import REFUSAL_MARK, events, governed_options, make_tracer, new_agent_id
from thoth.integrations.agentchat import govern_workbench

pytestmark = pytest.mark.integration

MAIL = {"to": "x", "body": "y"}


def options(server: Any, agent_id: str, scope: list[str] | None = None) -> dict[str, Any]:
    return governed_options(
        server, agent_id, ["search_docs"] if scope is None else scope, "block", on_block="return"
    )


def blocked(server: Any, agent_id: str, tool: str = "send_email") -> bool:
    """The enforcer recorded a refusal of ``tool`` for ``agent_id``, and no run of it."""
    kinds = [(k, t) for k, t, _ in events(server, agent_id)]
    return ("TOOL_CALL_BLOCK", tool) in kinds and ("TOOL_CALL_POST", tool) not in kinds


def mailer(tools: Tools, name: str = "mailer", final: str = "all done", **extra: Any) -> AssistantAgent:
    """An agent whose model sends one email, then says ``final``."""
    return AssistantAgent(
        name,
        model_client=model(calls(("send_email", MAIL, f"c-{name}")), final),
        tools=tools.functions(),
        reflect_on_tool_use=True,
        **extra,
    )


async def refused_in(agent: AssistantAgent) -> bool:
    result = (await results_seen(agent))[f"c-{agent.name}"]
    return bool(result.is_error) and str(result.content).startswith(REFUSAL_MARK)


# -- the agent's own entry points -------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["run", "run_stream", "on_messages", "on_messages_stream"])
async def test_every_agent_entry_point_is_decided(thoth_server: Any, entry: str) -> None:
    agent_id = new_agent_id(f"agentchat-bypass-{entry}")
    tools = Tools()
    agent = mailer(tools)
    thoth.instrument(agent, **options(thoth_server, agent_id))

    task = [TextMessage(content="mail it", source="user")]
    if entry == "run":
        await agent.run(task="mail it")
    elif entry == "run_stream":
        _ = [m async for m in agent.run_stream(task="mail it")]
    elif entry == "on_messages":
        await agent.on_messages(task, CancellationToken())
    else:
        _ = [m async for m in agent.on_messages_stream(task, CancellationToken())]

    assert tools.ran == [] and await refused_in(agent)
    assert blocked(thoth_server, agent_id)


# -- teams -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
async def test_round_robin_and_selector_teams_are_decided(thoth_server: Any, stream: bool) -> None:
    agent_id = new_agent_id("agentchat-bypass-teams")
    tools = Tools()
    first, second = mailer(tools, "first"), mailer(tools, "second")
    done = TextMentionTermination("all done")
    round_robin = RoundRobinGroupChat([first], termination_condition=done)
    selector = SelectorGroupChat(
        [second, AssistantAgent("idle", model_client=model("idle"))],
        model_client=model("second", "second"),
        termination_condition=TextMentionTermination("all done"),
    )
    for team in (round_robin, selector):
        thoth.instrument(team, **options(thoth_server, agent_id))
        if stream:
            _ = [m async for m in team.run_stream(task="mail it")]
        else:
            await team.run(task="mail it")

    assert tools.ran == []
    assert await refused_in(first) and await refused_in(second)
    assert [(k, t) for k, t, _ in events(thoth_server, agent_id)].count(
        ("TOOL_CALL_BLOCK", "send_email")
    ) == 2


async def test_swarm_handoff_target_is_decided(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-bypass-swarm")
    tools = Tools()
    router = AssistantAgent(
        "router",
        model_client=model(calls(("transfer_to_mailer", {}, "c-handoff"))),
        handoffs=["mailer"],
    )
    target = mailer(tools)
    team = Swarm([router, target], termination_condition=TextMentionTermination("all done"))
    thoth.instrument(team, **options(thoth_server, agent_id))

    await team.run(task="mail it")

    assert tools.ran == [] and await refused_in(target)
    assert blocked(thoth_server, agent_id)


# -- nested agents and teams -------------------------------------------------------------------------
@pytest.mark.parametrize("nesting", ["team_in_team", "society_of_mind", "agent_tool", "team_tool"])
async def test_nested_agents_and_teams_are_decided(thoth_server: Any, nesting: str) -> None:
    agent_id = new_agent_id(f"agentchat-bypass-{nesting}")
    tools = Tools()
    inner = mailer(tools, "inner")
    inner_team = RoundRobinGroupChat([inner], termination_condition=TextMentionTermination("all done"))
    outer: Any
    if nesting == "team_in_team":
        outer = RoundRobinGroupChat([inner_team], termination_condition=TextMentionTermination("all done"))
    elif nesting == "society_of_mind":
        outer = SocietyOfMindAgent("society", team=inner_team, model_client=model("summary"))
    else:
        runner = (
            AgentTool(inner) if nesting == "agent_tool" else TeamTool(inner_team, "crew", "A crew.", True)
        )
        outer = AssistantAgent(
            "outer",
            model_client=model(calls((runner.name, {"task": "mail it"}, "c-outer")), "all done"),
            tools=[runner],
            reflect_on_tool_use=True,
        )
    scope = ["search_docs", "inner", "crew"]  # the outer agent may use its sub-agent, not send_email
    thoth.instrument(outer, **options(thoth_server, agent_id, scope))

    await outer.run(task="mail it")

    assert tools.ran == []
    if nesting != "society_of_mind":  # which resets its inner team, and so the inner model's context
        assert await refused_in(inner)
    assert blocked(thoth_server, agent_id)


class EchoAgent(BaseChatAgent):
    """A custom agent: Thoth cannot see how (or whether) it runs tools."""

    @property
    def produced_message_types(self) -> Any:
        return (TextMessage,)

    async def on_messages(self, messages: Any, cancellation_token: CancellationToken) -> Response:
        return Response(chat_message=TextMessage(content="echo", source=self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        return None


def test_a_team_with_an_agent_thoth_cannot_govern_is_refused_and_left_alone(thoth_server: Any) -> None:
    tools = Tools()
    agent = mailer(tools)
    team = RoundRobinGroupChat([agent, EchoAgent("echo", "echoes")])
    before = list(agent._workbench)
    with pytest.raises(thoth.ThothConfigError, match="EchoAgent 'echo'"):
        thoth.instrument(team, **options(thoth_server, new_agent_id("agentchat-bypass-custom")))
    assert agent._workbench == before  # nothing half-instrumented


# -- workbenches and tools ---------------------------------------------------------------------------
class GrowingWorkbench(Workbench):
    """Lists whatever tools it holds now, like an MCP server (``McpWorkbench``) that adds one later."""

    def __init__(self, ran: list[str]) -> None:
        self.tools: dict[str, Any] = {}
        self.ran = ran

    async def list_tools(self) -> Any:
        return [
            {"name": name, "description": name, "parameters": {"type": "object", "properties": {}}}
            for name in self.tools
        ]

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: Any = None,
        call_id: str | None = None,
    ) -> ToolResult:
        self.ran.append(name)
        return ToolResult(name=name, result=[TextResultContent(content="ran")])

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def reset(self) -> None: ...
    async def save_state(self) -> Mapping[str, Any]:
        return {}

    async def load_state(self, state: Mapping[str, Any]) -> None: ...


async def test_a_tool_a_workbench_lists_after_instrument_is_decided(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-bypass-late")
    ran: list[str] = []
    workbench = GrowingWorkbench(ran)
    agent = AssistantAgent(
        "assistant",
        model_client=model(calls(("wipe_disk", {}, "c-assistant")), "ok"),
        workbench=workbench,
        reflect_on_tool_use=True,
    )
    thoth.instrument(agent, **options(thoth_server, agent_id))
    workbench.tools["wipe_disk"] = object()  # added after instrument()

    await agent.run(task="go")

    assert ran == [] and await refused_in(agent)
    assert blocked(thoth_server, agent_id, "wipe_disk")


async def test_a_shared_tool_is_decided_under_the_agent_that_runs_it(thoth_server: Any) -> None:
    lenient, strict = new_agent_id("agentchat-bypass-lenient"), new_agent_id("agentchat-bypass-strict")
    tools = Tools()
    shared = [FunctionTool(f, description=f.__doc__ or "") for f in tools.functions()]
    one = AssistantAgent(
        "one",
        model_client=model(calls(("send_email", {"to": "a", "body": "b"}, "c-one")), "ok"),
        tools=shared,
        reflect_on_tool_use=True,
    )
    two = AssistantAgent(
        "two",
        model_client=model(calls(("send_email", MAIL, "c-two")), "ok"),
        tools=shared,
        reflect_on_tool_use=True,
    )
    thoth.instrument(one, **options(thoth_server, lenient, ["send_email"]))
    thoth.instrument(two, **options(thoth_server, strict))

    await one.run(task="go")
    await two.run(task="go")

    assert tools.ran == [("send_email", {"to": "a", "body": "b"})]
    assert await refused_in(two)
    assert [k for k, _, _ in events(thoth_server, lenient)] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert blocked(thoth_server, strict)
    with pytest.raises(thoth.ThothConfigError, match="several agents"):  # run directly: whose settings?
        await shared[1].run_json(MAIL, CancellationToken())
    assert tools.ran == [("send_email", {"to": "a", "body": "b"})]


async def test_the_original_tool_object_stays_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-bypass-original")
    tools = Tools()
    send_email = FunctionTool(tools.functions()[1], description="Send an email.")
    thoth.instrument(
        AssistantAgent("owner", model_client=model("ok"), tools=[send_email]),
        **options(thoth_server, agent_id),
    )
    # another agent nobody instrumented, holding the same tool object
    stranger = AssistantAgent(
        "stranger",
        model_client=model(calls(("send_email", MAIL, "c-stranger")), "ok"),
        tools=[send_email],
        reflect_on_tool_use=True,
    )

    with pytest.raises(thoth.ThothPolicyViolation):
        await send_email.run_json(MAIL, CancellationToken())
    await stranger.run(task="go")

    assert tools.ran == []
    assert (await results_seen(stranger))["c-stranger"].is_error
    kinds = [(k, t) for k, t, _ in events(thoth_server, agent_id)]
    assert kinds.count(("TOOL_CALL_BLOCK", "send_email")) == 2 and blocked(thoth_server, agent_id)


async def test_reinstrumenting_with_another_tracer_uses_the_new_one(thoth_server: Any) -> None:
    first, second = new_agent_id("agentchat-bypass-first"), new_agent_id("agentchat-bypass-second")
    tools = Tools()
    agent = mailer(tools)
    thoth.instrument(agent, **options(thoth_server, first, ["search_docs", "send_email"]))
    thoth.instrument(agent, **options(thoth_server, second))
    tracer = make_tracer(thoth_server, second, ["search_docs"], "block", on_block="return")
    shared = govern_workbench(StaticWorkbench([]), tracer)
    assert govern_workbench(shared, tracer) is shared  # same tracer: unchanged
    assert govern_workbench(shared, make_tracer(thoth_server, first, [], "block")) is not shared

    await agent.run(task="go")

    assert tools.ran == [] and await refused_in(agent)
    assert blocked(thoth_server, second)
    assert events(thoth_server, first) == []


async def test_a_deep_copy_stays_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("agentchat-bypass-deepcopy")
    tools = Tools()
    original = mailer(tools)
    thoth.instrument(original, **options(thoth_server, agent_id))
    clone = copy.deepcopy(original)

    await clone.run(task="go")

    assert tools.ran == [] and await refused_in(clone)
    assert blocked(thoth_server, agent_id)


@pytest.mark.parametrize("what", ["agent", "team"])
async def test_a_loaded_copy_refuses_until_instrumented(thoth_server: Any, what: str) -> None:
    agent_id = new_agent_id(f"agentchat-bypass-load-{what}")
    LOADED_RAN.clear()

    def send_email(to: str, body: str) -> str:
        """Send an email."""
        import agentchat_support  # a loaded copy compiles this source anew, without our globals

        agentchat_support.LOADED_RAN.append(to)
        return f"sent to {to}"

    agent = AssistantAgent(
        "mailer",
        model_client=model(calls(("send_email", MAIL, "c-mailer")), "all done"),
        tools=[send_email],
        reflect_on_tool_use=True,
    )
    original: Any = (
        agent
        if what == "agent"
        else RoundRobinGroupChat([agent], termination_condition=TextMentionTermination("all done"))
    )
    thoth.instrument(original, **options(thoth_server, agent_id))

    with pytest.warns(
        UserWarning, match="SECURITY WARNING"
    ):  # autogen's warning that loading a FunctionTool runs code
        loaded = type(original).load_component(original.dump_component())
    loaded_agent = loaded if what == "agent" else loaded._participants[0]
    await loaded.run(task="go")
    unbound = (await results_seen(loaded_agent))["c-mailer"]
    assert unbound.is_error and "thoth.instrument()" in unbound.content

    if what == "team":
        await loaded.reset()
    await loaded_agent.model_context.clear()
    loaded_agent._model_client = model(calls(("send_email", MAIL, "c-mailer")), "all done")
    thoth.instrument(loaded, **options(thoth_server, agent_id))
    await loaded.run(task="go")

    assert LOADED_RAN == [] and await refused_in(loaded_agent)
    assert blocked(thoth_server, agent_id)
