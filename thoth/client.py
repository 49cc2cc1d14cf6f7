"""``ThothClient``: the aten-thoth facade that holds defaults for ``instrument*`` calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from thoth._instrument import instrument, instrument_anthropic, instrument_openai

__all__ = ["ThothClient"]


class ThothClient:
    """Keeps keyword defaults (agent_id, tenant_id, api_url, ...) for repeated ``instrument`` calls.

    Prefer the module-level ``thoth.instrument*`` functions in new code.
    """

    def __init__(self, **defaults: Any) -> None:
        self._defaults = defaults

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._defaults.items() if k != "api_key"}
        return f"ThothClient({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def _merged(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {**self._defaults, **overrides}

    def instrument(self, agent: Any, **kwargs: Any) -> Any:
        return instrument(agent, **self._merged(kwargs))

    def instrument_openai(self, tool_fns: Mapping[str, Callable[..., Any]], **kwargs: Any) -> dict[str, Any]:
        return instrument_openai(tool_fns, **self._merged(kwargs))

    def instrument_anthropic(
        self, tool_fns: Mapping[str, Callable[..., Any]], **kwargs: Any
    ) -> dict[str, Any]:
        return instrument_anthropic(tool_fns, **self._merged(kwargs))

    # aten-thoth's legacy aliases.
    def wrap(self, agent: Any, **kwargs: Any) -> Any:
        return self.instrument(agent, **kwargs)

    def wrap_openai_tools(self, tool_fns: Mapping[str, Callable[..., Any]], **kwargs: Any) -> dict[str, Any]:
        return self.instrument_openai(tool_fns, **kwargs)

    def wrap_anthropic_tools(
        self, tool_fns: Mapping[str, Callable[..., Any]], **kwargs: Any
    ) -> dict[str, Any]:
        return self.instrument_anthropic(tool_fns, **kwargs)
