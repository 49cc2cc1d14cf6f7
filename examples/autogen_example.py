"""AutoGen (ag2 0.x, `import autogen`) + Thoth: govern a UserProxyAgent's function_map.

    pip install "thoth-sdk[autogen,server]"
    python examples/autogen_example.py

The existing SDK's API, unchanged: `wrap_autogen_tools(function_map, tracer=tracer)`.
(`thoth.instrument(user_proxy, ...)` does the same in place and also keys events by the
model's tool-call id.) Offline by default: the assistant is scripted
(`ConversableAgent(llm_config=False)` + `register_reply`) and Thoth talks to a throwaway
local `thoth serve`. Give the assistant a real `llm_config` to use a model, and set
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

import json
from typing import Any

import autogen
from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer

from thoth.emitter import HttpEmitter
from thoth.enforcer_client import EnforcerClient
from thoth.integrations.autogen import wrap_autogen_tools
from thoth.models import EnforcementMode, ThothConfig
from thoth.session import SessionContext
from thoth.step_up import StepUpClient
from thoth.tracer import Tracer


def search_docs(query: str) -> str:
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


def send_email(to: str, subject: str, body: str) -> str:
    raise RuntimeError("never reached: send_email is outside the approved scope")


def scripted_assistant() -> autogen.ConversableAgent:
    """Plays the model: two parallel tool calls, then a final answer."""
    calls = [
        ("call_1", "search_docs", {"query": "retention"}),
        ("call_2", "send_email", {"to": "all@acme.com", "subject": "Retention", "body": "90 days"}),
    ]
    turns: list[Any] = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for cid, name, args in calls
            ],
        },
        "Records are kept 90 days; I was not allowed to email the team. TERMINATE",
    ]
    assistant = autogen.ConversableAgent("assistant", llm_config=False, human_input_mode="NEVER")
    assistant.register_reply([autogen.Agent, None], lambda *args, **kwargs: (True, turns.pop(0)), position=0)
    return assistant


def build_tracer(url: str, key: str, tenant: str) -> Tracer:
    """The low-level recipe of the existing README (thoth.instrument builds the same parts)."""
    config = ThothConfig(
        agent_id="autogen-assistant",
        approved_scope=["search_docs"],
        tenant_id=tenant,
        user_id="alice@acme.com",
        enforcement=EnforcementMode.BLOCK,
        api_key=key,
        api_url=url,
    )
    return Tracer(
        config=config,
        session=SessionContext(config),
        emitter=HttpEmitter(api_url=config.resolved_api_url, api_key=key),
        enforcer=EnforcerClient(config),
        step_up=StepUpClient(config),
    )


def main() -> None:
    with enforcer() as (url, key, tenant):
        tracer = build_tracer(url, key, tenant)
        governed = wrap_autogen_tools({"search_docs": search_docs, "send_email": send_email}, tracer=tracer)
        user_proxy = autogen.UserProxyAgent(
            name="user_proxy",
            human_input_mode="NEVER",
            code_execution_config=False,
            function_map=governed,  # Thoth enforcement runs on every function call
            is_termination_msg=lambda m: "TERMINATE" in (m.get("content") or ""),
        )
        assistant = scripted_assistant()
        user_proxy.initiate_chat(
            assistant, message="Find the retention policy and email it.", max_turns=3, silent=True
        )
        for message in assistant.chat_messages[user_proxy]:
            for response in message.get("tool_responses", []):
                print(f"  tool {response['tool_call_id']}: {response['content']}")
        print(f"assistant: {assistant.last_message(user_proxy)['content']}")
        print_events(url, key, "autogen-assistant")


if __name__ == "__main__":
    main()
