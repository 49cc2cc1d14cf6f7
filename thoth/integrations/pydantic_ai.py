"""pydantic-ai 2.x: a capability whose ``wrap_tool_execute`` authorizes every tool call (and
whose ``wrap_model_request`` records each model response's token usage as an LLM_INVOCATION).

* ``Agent(..., capabilities=[thoth_capability(tracer)])`` governs every run of an agent.
* ``instrument(agent, tracer)`` governs an existing ``Agent`` (or the ``Agent`` inside a
  ``WrapperAgent``): the agent carries its tracer, and each run gets the capability.

Where runs are built: ``Agent.iter`` (which ``run``, ``run_sync``, ``run_stream``,
``run_stream_sync``, ``run_stream_events`` and the UI/A2A adapters all go through) and the
realtime session worker are patched once, on the class, to add the capability as a per-run
capability (public ``capabilities=``). That way the capability follows the agent object:
a ``copy.copy`` of it, ``agent.override(tools=..., toolsets=..., spec=...)`` (a spec's
capabilities replace the agent's own, never the per-run ones), toolsets passed to one run,
tools registered after ``instrument()`` and deferred (approval) tools resumed in a later run
are all decided, because the hook wraps the execution of every tool the run resolves.

Which tracer decides a call: the agent's own (``instrument()``, else a ``thoth_capability``
it was built with); an agent that has none, run from inside a governed tool (agent
delegation), is decided under the tracer of the run that called it. One call is decided
once: the outermost Thoth layer decides and the inner ones pass it through. A tool shared
by two agents is decided under the agent whose run executes it. ``instrument()`` again with
another tracer switches the agent to it; it raises ``ThothConfigError`` when the agent was
built with a ``thoth_capability`` of another tracer (two policies for one agent).

The hook runs after argument validation, so the enforcer sees the validated arguments, and
runs the tool with the permitted ones (MODIFY). A refusal raises ``ToolFailed(refusal text)``:
the model reads it as a failed call, without spending the tool's retry budget, and the run
goes on (``on_block="return"``); with ``on_block="raise"`` the ``ThothPolicyViolation``
itself ends the run (pydantic-ai re-raises it unwrapped). Calls are keyed by the model's
``tool_call_id``. Calling a tool's Python function yourself is not a framework run and is
not governed.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from thoth._governed import instrumented_by, mark_instrumented
from thoth._usage import usage_of
from thoth.errors import ThothConfigError
from thoth.integrations._govern import as_args

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["instrument", "thoth_capability"]

# (tracer, call) while a governed call runs: inner Thoth layers pass that call through, and
# an agent with no tracer of its own, run from inside the tool, inherits the tracer.
_GOVERNING: ContextVar[tuple[Tracer, Any] | None] = ContextVar("thoth_pydantic_ai_governing", default=None)
# Set while the outermost Thoth capability wraps a model request: an agent built with
# thoth_capability() also gets the per-run one, and one request must be counted once.
_MODEL_REQUEST: ContextVar[bool] = ContextVar("thoth_pydantic_ai_model_request", default=False)
_PATCH_LOCK = threading.Lock()
_PATCHED = "__thoth_patched__"


def thoth_capability(tracer: Tracer) -> Any:
    """A pydantic-ai capability governing every tool call of the agent it is given to."""
    _patch_run_builders()  # so that an override(spec=...) dropping it still leaves the run governed
    return _capability_class()(tracer)


def instrument(agent: Any, tracer: Tracer) -> Any:
    """Govern every run of ``agent`` with ``tracer`` and return the agent.

    Raises:
        ThothConfigError: ``agent`` is not a pydantic-ai agent, or it was built with a
            ``thoth_capability`` of another tracer.
    """
    from pydantic_ai import Agent

    target = agent
    while not isinstance(target, Agent) and hasattr(target, "wrapped"):  # WrapperAgent and durable agents
        target = target.wrapped
    if not isinstance(target, Agent):
        raise ThothConfigError(
            f"Thoth cannot govern a pydantic-ai {type(agent).__name__}: pass an Agent, "
            "or give an agent capabilities=[thoth_capability(tracer)]"
        )
    own = _own_tracer(target)
    if own is not None and own is not tracer:
        raise ThothConfigError(
            "this pydantic-ai Agent was built with thoth_capability(...) of another tracer; "
            "instrument() cannot give it a second policy: build it without that capability"
        )
    _patch_run_builders()
    mark_instrumented(target, tracer)  # a second instrument() with another tracer replaces it
    return agent


def _own_tracer(agent: Any) -> Tracer | None:
    """The tracer of a ``thoth_capability`` the agent was built with, if any."""
    root = getattr(agent, "root_capability", None)
    for capability in getattr(root, "capabilities", ()):
        if isinstance(capability, _capability_class()):
            tracer: Tracer = capability.tracer
            return tracer
    return None


def _run_tracer(agent: Any) -> Tracer | None:
    """The tracer that decides the tool calls of a run of ``agent`` (see the module docstring)."""
    tracer = instrumented_by(agent) or _own_tracer(agent)
    if tracer is None and (governing := _GOVERNING.get()) is not None:
        tracer = governing[0]
    return tracer


def _with_capability(agent: Any, capabilities: Sequence[Any] | None) -> Sequence[Any] | None:
    tracer = _run_tracer(agent)
    if tracer is None:
        return capabilities
    return [*(capabilities or ()), _capability_class()(tracer)]


def _patch_run_builders() -> None:
    """Add the capability where ``Agent`` builds a run: ``iter`` and the realtime session worker."""
    from pydantic_ai import Agent

    with _PATCH_LOCK:
        for name in ("iter", "_open_realtime_session"):
            original = getattr(Agent, name, None)
            if original is None or getattr(original, _PATCHED, False):
                continue
            setattr(Agent, name, _governed_builder(original))


def _governed_builder(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def build(self: Any, *args: Any, capabilities: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        return original(self, *args, capabilities=_with_capability(self, capabilities), **kwargs)

    setattr(build, _PATCHED, True)
    return build


async def _execute(tracer: Tracer, call: Any, args: Any, handler: Any) -> Any:
    """Decide one validated call: a refusal raises ``ToolFailed`` (``"return"``) or the violation."""
    from pydantic_ai.exceptions import ToolFailed

    governed = await tracer.agovern(call.tool_name, as_args(args), call_id=call.tool_call_id)
    if governed.refused:
        raise ToolFailed(governed.refuse())  # refuse() raises the violation on on_block="raise"
    run_args = args
    if governed.modified:
        if not isinstance(args, dict):  # never run with the arguments the enforcer rewrote away
            governed.finish(error=TypeError("rewritten arguments cannot be applied"))
            raise ToolFailed(
                f"[Thoth policy] The tool '{call.tool_name}' was not run: "
                "its arguments were rewritten by policy and cannot be applied."
            )
        run_args = dict(governed.args)
    return await governed.arun(handler, run_args)


@functools.cache
def _capability_class() -> type[Any]:
    """Built on first use so that importing this module does not import pydantic-ai."""
    from pydantic_ai.capabilities import AbstractCapability

    class ThothCapability(AbstractCapability[Any]):  # type: ignore[misc]
        """Asks Thoth before each tool call runs; refusals reach the model as failed calls."""

        def __init__(self, tracer: Tracer) -> None:
            self.tracer = tracer

        async def wrap_tool_execute(
            self, ctx: Any, *, call: Any, tool_def: Any, args: Any, handler: Any
        ) -> Any:
            governing = _GOVERNING.get()
            if governing is not None and governing[1] is call:  # an outer Thoth layer decided it
                return await handler(args)
            token = _GOVERNING.set((self.tracer, call))
            try:
                return await _execute(self.tracer, call, args, handler)
            finally:
                _GOVERNING.reset(token)

        async def wrap_model_request(self, ctx: Any, *, request_context: Any, handler: Any) -> Any:
            """Record the token usage the model reported (``ModelResponse.usage``), once per request."""
            if _MODEL_REQUEST.get():
                return await handler(request_context)
            token, started = _MODEL_REQUEST.set(True), time.perf_counter()
            try:
                response = await handler(request_context)
            finally:
                _MODEL_REQUEST.reset(token)
            latency = round((time.perf_counter() - started) * 1000, 3)
            self.tracer.record_llm_invocation(usage_of(response, latency_ms=latency))
            return response

    return ThothCapability
