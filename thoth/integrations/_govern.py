"""What the integrations share besides the governed-call protocol (:mod:`thoth._governed`).

Framework-neutral helpers only: the arguments dict a call is decided on, the
sync/async test, and best-effort result translation. Each
integration keeps its own framework's shapes.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["as_args", "best_effort", "is_async_callable", "log"]

log = logging.getLogger("thoth.integrations")  # the logger of thoth._governed too


def as_args(raw: Any) -> dict[str, Any]:
    """Tool arguments as the dict the enforcer expects, whatever shape the framework used."""
    try:
        if raw is None:
            return {}
        if isinstance(raw, Mapping):
            return {str(k): v for k, v in raw.items()}
        dump = getattr(raw, "model_dump", None)
        if callable(dump):  # a pydantic model (validated arguments)
            dumped = dump()
            if isinstance(dumped, dict):
                return dumped
    except Exception:  # noqa: BLE001 - any shape of arguments must still reach the enforcer, never fail the hook
        return {"input": repr(raw)}
    return {"input": raw}


def best_effort(describe: Callable[[Any], Any], result: Any) -> Any:
    """``describe(result)`` for the TOOL_CALL_POST event, or ``repr(result)`` when its shape is odd."""
    try:
        return describe(result)
    except Exception:  # noqa: BLE001 - the tool already ran: an odd result must not break the call
        return repr(result)


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """Like the frameworks' own test: coroutine functions, and objects whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - we want the bound method, not callable()
    return call is not None and inspect.iscoroutinefunction(call)
