"""``instrument()`` and friends: validate the configuration, build the parts, govern the tools."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

from pydantic import ValidationError

from thoth._inventory import describe_tools, requests_for
from thoth._local import LocalEnforcer
from thoth._runtime import TOOL_INVENTORY, runtime
from thoth._wire import PUBLISH_TOOL_INVENTORY, EnforcementMode, parse_enforcement
from thoth.emitter import HttpEmitter
from thoth.enforcer_client import EnforcerClient, transport_for
from thoth.errors import ThothConfigError
from thoth.models import ThothConfig
from thoth.session import _CURRENT_SESSION, SessionContext
from thoth.step_up import StepUpClient
from thoth.tracer import Tracer

__all__ = ["build_tracer", "create_tracer", "instrument", "instrument_anthropic", "instrument_openai"]

logger = logging.getLogger("thoth.inventory")

_INVENTORY_SOURCE: Final = "thoth-python-sdk"


def _config_error(exc: ValidationError) -> ThothConfigError:
    # include_input=False: a bad value may be the API key itself.
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "config"
        if error["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown option (check its spelling)")
        else:
            problems.append(f"{where}: {error['msg']}")
    return ThothConfigError("invalid Thoth configuration: " + "; ".join(problems))


def make_config(
    *,
    agent_id: str,
    approved_scope: Any,
    tenant_id: str | None,
    user_id: str,
    enforcement: str | EnforcementMode,
    api_key: str | None,
    api_url: str | None,
    **options: Any,
) -> ThothConfig:
    """A validated ThothConfig, or a ThothConfigError that says what to fix."""
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ThothConfigError(
            "agent_id must be a non-empty string naming this agent, e.g. agent_id='billing-agent'"
        )
    try:
        mode = parse_enforcement(enforcement)
    except ValueError as exc:
        raise ThothConfigError(str(exc)) from None
    tenant = tenant_id or os.environ.get("THOTH_TENANT_ID")
    if not tenant:
        raise ThothConfigError("tenant_id is required: pass tenant_id=... or set THOTH_TENANT_ID")
    if isinstance(approved_scope, str) or not isinstance(approved_scope, list | tuple | set | frozenset):
        raise ThothConfigError("approved_scope must be a list of tool names, e.g. ['read_file', 'search']")
    try:
        config = ThothConfig(
            agent_id=agent_id,
            approved_scope=list(approved_scope),
            tenant_id=tenant,
            user_id=user_id,
            enforcement=mode,
            api_key=api_key,
            api_url=api_url,
            **options,
        )
    except ValidationError as exc:
        raise _config_error(exc) from None
    _ = config.resolved_api_url  # raises ThothConfigError for a missing or unsafe URL
    _ = config.publishes_tool_inventory  # raises ThothConfigError for a THOTH_TOOL_INVENTORY typo
    _ = config.resolved_decision_mode  # and for a THOTH_DECISION_MODE typo
    _ = config.resolved_otel  # and for a THOTH_OTEL typo
    return config


def build_tracer(config: ThothConfig, session_id: str | None = None) -> Tracer:
    """The parts for one agent, sharing the process-wide pool and event sender for the endpoint.
    It does not touch the current session (``instrument()`` makes its session current)."""
    transport = transport_for(config)
    session = SessionContext(config, session_id=session_id)
    emitter = HttpEmitter(
        config.resolved_api_url,
        config.resolved_api_key,
        batch_size=config.event_batch_size,
        max_events=config.event_buffer_max_events,
        max_bytes=config.event_buffer_max_bytes,
        transport=transport,
    )
    remote = EnforcerClient(config, transport=transport)
    enforcer: EnforcerClient | LocalEnforcer = remote
    if config.resolved_decision_mode == "local":
        enforcer = LocalEnforcer(config, remote, runtime().bundle_source(config, transport))
    return Tracer(
        config=config,
        session=session,
        emitter=emitter,
        enforcer=enforcer,
        step_up=StepUpClient(config, transport=transport),
    )


def _tracer(
    agent_id: str,
    approved_scope: Any,
    tenant_id: str | None,
    user_id: str,
    enforcement: str,
    api_key: str | None,
    api_url: str | None,
    session_id: str | None,
    options: dict[str, Any],
) -> Tracer:
    config = make_config(
        agent_id=agent_id,
        approved_scope=approved_scope,
        tenant_id=tenant_id,
        user_id=user_id,
        enforcement=enforcement,
        api_key=api_key,
        api_url=api_url,
        **options,
    )
    tracer = build_tracer(config, session_id)
    # aten-thoth's contract: each instrument() call's session is the current one in this context.
    _CURRENT_SESSION.set(tracer.session)
    return tracer


def create_tracer(
    *,
    agent_id: str,
    approved_scope: list[str],
    tenant_id: str | None = None,
    user_id: str = "system",
    enforcement: str = "progressive",
    api_key: str | None = None,
    api_url: str | None = None,
    session_id: str | None = None,
    **options: Any,
) -> Tracer:
    """A :class:`~thoth.tracer.Tracer` for one agent, configured like :func:`instrument`.

    For code that governs calls itself: ``tracer.wrap_tool(name, fn)``, or
    ``tracer.authorize(name, args)`` then ``permit.finish(result=...)``, or a
    framework hook such as ``thoth.integrations.langchain.ThothMiddleware(tracer)``.
    """
    return _tracer(
        agent_id, approved_scope, tenant_id, user_id, enforcement, api_key, api_url, session_id, options
    )


def instrument(
    agent: Any,
    *,
    agent_id: str,
    approved_scope: list[str],
    tenant_id: str | None = None,
    user_id: str = "system",
    enforcement: str = "progressive",
    api_key: str | None = None,
    api_url: str | None = None,
    session_id: str | None = None,
    **options: Any,
) -> Any:
    """Govern every tool of ``agent`` in place and return the same object.

    ``agent`` may be an object of a supported framework (LangChain, LangGraph,
    CrewAI, AutoGen, OpenAI Agents, MCP, pydantic-ai, ...), any object with a
    ``.tools`` list, a list of tools, or a dict of callables.

    ``api_key`` defaults to ``THOTH_API_KEY``; ``THOTH_API_URL`` overrides
    ``api_url``; ``tenant_id`` defaults to ``THOTH_TENANT_ID``. Further keyword
    options are :class:`~thoth.models.ThothConfig` fields (``on_block="return"``,
    ``step_up_timeout_minutes``, ``event_content="none"``, ...).

    Raises:
        ThothConfigError: the configuration cannot work; the message says what to fix.
    """
    tracer = _tracer(
        agent_id, approved_scope, tenant_id, user_id, enforcement, api_key, api_url, session_id, options
    )
    from thoth.integrations import instrument_object

    governed = instrument_object(agent, tracer)
    publish_tool_inventory(agent, tracer)
    return governed


class InventoryRefused(Exception):
    """The enforcer did not record a tool inventory (the background thread counts it as failed)."""


def publish_tool_inventory(agent: Any, tracer: Tracer) -> None:
    """Queue ``agent``'s tools for the enforcer's tool inventory, unless the configuration says
    not to. The background thread reads the tools and posts them: the agent's start never waits,
    and a failure is logged and counted (``thoth.delivery_stats()["tool_inventories"]``), never raised."""
    config = tracer.config
    if not config.publishes_tool_inventory:
        return
    transport = transport_for(config)
    url = PUBLISH_TOOL_INVENTORY.url(tenant_id=config.tenant_id)

    def publish() -> None:
        for body in requests_for(config.agent_id, describe_tools(agent), _INVENTORY_SOURCE):
            response = transport.sync_client.request(PUBLISH_TOOL_INVENTORY.method, url, json=body)
            if response.status_code != 200:
                logger.warning(
                    "thoth: the enforcer did not record the tool inventory of %s: HTTP %d",
                    config.agent_id,
                    response.status_code,
                )
                raise InventoryRefused(response.status_code)

    runtime().background.submit(TOOL_INVENTORY, publish)


def _instrument_dict(
    tool_fns: Mapping[str, Callable[..., Any]], tracer: Tracer
) -> dict[str, Callable[..., Any]]:
    if not isinstance(tool_fns, Mapping):
        raise ThothConfigError(f"expected a dict of tool name -> callable, got {type(tool_fns).__name__}")
    for name, fn in tool_fns.items():
        if not callable(fn):
            raise ThothConfigError(f"tool {name!r} is not callable ({type(fn).__name__})")
    return {name: tracer.wrap_dict_tool(name, fn) for name, fn in tool_fns.items()}


def instrument_openai(
    tool_fns: Mapping[str, Callable[..., Any]],
    *,
    agent_id: str,
    approved_scope: list[str],
    tenant_id: str | None = None,
    user_id: str = "system",
    enforcement: str = "progressive",
    api_key: str | None = None,
    api_url: str | None = None,
    session_id: str | None = None,
    **options: Any,
) -> dict[str, Callable[..., Any]]:
    """A new dict of governed callables for an OpenAI tool-calling loop.

    Each takes the parsed arguments dict of a ``tool_calls`` entry:
    ``governed[call.function.name](json.loads(call.function.arguments))``.
    """
    tracer = _tracer(
        agent_id, approved_scope, tenant_id, user_id, enforcement, api_key, api_url, session_id, options
    )
    governed = _instrument_dict(tool_fns, tracer)
    publish_tool_inventory(tool_fns, tracer)
    return governed


def instrument_anthropic(
    tool_fns: Mapping[str, Callable[..., Any]],
    *,
    agent_id: str,
    approved_scope: list[str],
    tenant_id: str | None = None,
    user_id: str = "system",
    enforcement: str = "progressive",
    api_key: str | None = None,
    api_url: str | None = None,
    session_id: str | None = None,
    **options: Any,
) -> dict[str, Callable[..., Any]]:
    """A new dict of governed callables for an Anthropic tool-use loop.

    Each takes the ``input`` dict of a ``tool_use`` block: ``governed[block.name](block.input)``.
    """
    tracer = _tracer(
        agent_id, approved_scope, tenant_id, user_id, enforcement, api_key, api_url, session_id, options
    )
    governed = _instrument_dict(tool_fns, tracer)
    publish_tool_inventory(tool_fns, tracer)
    return governed
