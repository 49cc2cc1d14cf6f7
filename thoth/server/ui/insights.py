"""The console's Policies and Analytics pages: routes for ``Console`` (HTTP and store I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from thoth.server.ui.console import Console


def routes(console: Console) -> list[BaseRoute]:
    """Mounted under ``/ui`` by ``Console.routes``."""
    return []
