"""The wire vocabulary on the SDK side: the contract's enums, paths and methods, defined once.

The enums are the generated client's own (generated from ``openapi/thoth.yaml``), re-exported
under the names the public API has always used. The operations are the few requests the SDK
sends on its hot paths; it builds them itself (once, as templates) rather than through the
generated client's per-call model round trip, and ``tests/contract/test_wire.py`` checks each
against the spec, so a path or method cannot drift from the contract.
"""

from __future__ import annotations

from typing import Final, NamedTuple
from urllib.parse import quote

from thoth_api_client.models.decision import Decision as DecisionType
from thoth_api_client.models.enforcement_mode import EnforcementMode
from thoth_api_client.models.event_type import EventType
from thoth_api_client.models.hold_resolution import HoldResolution
from thoth_api_client.models.hold_state import HoldState
from thoth_api_client.models.source_type import SourceType

__all__ = [
    "ENFORCE",
    "EXPLAIN",
    "GET_HOLD",
    "GET_POLICY_BUNDLE",
    "INGEST_EVENTS",
    "MODES_IN_ORDER",
    "OPERATIONS",
    "PUBLISH_TOOL_INVENTORY",
    "DecisionType",
    "EnforcementMode",
    "EventType",
    "HoldResolution",
    "HoldState",
    "Operation",
    "SourceType",
    "parse_enforcement",
]


class Operation(NamedTuple):
    """One operation of the contract: its ``operationId``, HTTP method and path template."""

    operation_id: str
    method: str
    path: str

    def url(self, **params: str) -> str:
        """The path with its ``{parameters}`` filled in, each percent-encoded as one segment."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})


ENFORCE: Final = Operation("enforce", "POST", "/v1/enforce")
GET_HOLD: Final = Operation("get_hold", "GET", "/v1/enforce/hold/{hold_token}")
INGEST_EVENTS: Final = Operation("ingest_events", "POST", "/v1/events/batch")
EXPLAIN: Final = Operation("explain", "POST", "/v1/explain")
PUBLISH_TOOL_INVENTORY: Final = Operation(
    "publish_tool_inventory", "POST", "/{tenant_id}/thoth/tool-inventory"
)
GET_POLICY_BUNDLE: Final = Operation("get_policy_bundle", "GET", "/v1/policy/bundle")
OPERATIONS: Final = (ENFORCE, GET_HOLD, INGEST_EVENTS, EXPLAIN, PUBLISH_TOOL_INVENTORY, GET_POLICY_BUNDLE)

# From least to most strict but progressive, as the README lists them (the enum's order is alphabetical).
MODES_IN_ORDER: Final = (
    EnforcementMode.OBSERVE,
    EnforcementMode.STEP_UP,
    EnforcementMode.BLOCK,
    EnforcementMode.PROGRESSIVE,
)
_MODE_NAMES: Final = ", ".join(m.value for m in MODES_IN_ORDER)


def parse_enforcement(value: object) -> EnforcementMode:
    """The one place a user's ``enforcement`` becomes the enum: ``"Block"``, ``" block "`` and
    ``EnforcementMode.BLOCK`` all give ``EnforcementMode.BLOCK``. Raises ValueError otherwise."""
    if isinstance(value, EnforcementMode):
        return value
    try:
        return EnforcementMode(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"unknown enforcement mode {value!r}: use one of {_MODE_NAMES}") from None
