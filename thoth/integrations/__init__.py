"""Framework integrations, found by looking at an object's type and imported only then.

``import thoth`` imports no framework. ``thoth.instrument(obj)`` looks at the
modules of ``type(obj).__mro__`` (or of the items of a list) and hands the
object to the matching ``thoth.integrations.<name>.instrument(obj, tracer)``.
Objects of no known framework get the generic treatment (:mod:`thoth.integrations.generic`),
which hands each framework tool it holds to that framework's ``govern_tool``.
Every module governs calls through one protocol, :class:`thoth.tracer.GovernedCall`
(``tracer.govern(...)``); it only translates its framework's shapes to and from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thoth._frameworks import Integration, detect, load, wrap_framework_tool

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["Integration", "detect", "instrument_object", "wrap_framework_tool"]


def instrument_object(obj: Any, tracer: Tracer) -> Any:
    """Govern every tool of ``obj`` in place, through its framework's integration.

    A list goes to its framework's integration when that one governs lists; else (a mixed list,
    or tools of a framework governed through its agents) the generic path hands each item to
    its own framework's integration, or refuses it.
    """
    integration = detect(obj)
    if integration is None or (isinstance(obj, list) and not integration.takes_lists):
        from thoth.integrations import generic

        return generic.instrument(obj, tracer)
    return load(integration).instrument(obj, tracer)
