"""Token spend in OpenAI Agents SDK runs: the SDK's own ``ScriptedModel`` reporting ``Usage`` on each
response, ``usage_hooks`` passed to the run, a real `thoth serve`; the stored LLM_INVOCATION events
and the session's ``token_spend`` must hold the exact counts."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, Runner, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.usage import Usage
from openai_agents_support import Tools

import thoth
from tests.integrations._shared import governed_options, make_tracer, new_agent_id, stored_events
from thoth.integrations.openai_agents import _governance, usage_hooks

pytestmark = pytest.mark.integration

set_tracing_disabled(True)


def test_usage_hooks_record_each_model_call_under_the_agents_tracer(thoth_server: Any) -> None:
    agent_id = new_agent_id("oai-agents-tok")
    model = ScriptedModel(
        [[function_call("search_docs", {"query": "a"}, call_id="c-a")], [assistant_message("done")]],
        default_usage=Usage(requests=1, input_tokens=30, output_tokens=5, total_tokens=35),
    )
    agent = Agent(name="assistant", model=model, tools=Tools().functions())
    thoth.instrument(agent, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))
    fallback = make_tracer(thoth_server, new_agent_id("unused"), [], "block")

    result = Runner.run_sync(agent, "go", hooks=usage_hooks(fallback))

    assert result.final_output == "done"
    assert fallback.session.token_spend == 0  # the instrumented agent's own tracer recorded them
    governance = _governance(agent)
    assert governance is not None and governance.resolve().session.token_spend == 70  # type: ignore[union-attr]
    llm = [e for e in stored_events(thoth_server, agent_id) if e["event_type"] == "LLM_INVOCATION"]
    assert [
        tuple(e["metadata"][k] for k in ("input_tokens", "output_tokens", "total_tokens")) for e in llm
    ] == [(30, 5, 35), (30, 5, 35)]
    assert all(e["source_type"] == "agent_llm_invocation" and e["content"] == "" for e in llm)
