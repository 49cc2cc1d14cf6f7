"""Contains all the data models used in inputs/outputs"""

from .decision import Decision
from .enforce_request import EnforceRequest
from .enforce_request_tool_args import EnforceRequestToolArgs
from .enforce_response import EnforceResponse
from .enforce_response_modified_tool_args_type_0 import (
    EnforceResponseModifiedToolArgsType0,
)
from .enforcement_mode import EnforcementMode
from .error import Error
from .error_details_type_0_item import ErrorDetailsType0Item
from .event import Event
from .event_metadata import EventMetadata
from .event_page import EventPage
from .event_type import EventType
from .health import Health
from .health_status import HealthStatus
from .health_store import HealthStore
from .hold import Hold
from .hold_page import HoldPage
from .hold_resolution import HoldResolution
from .hold_state import HoldState
from .hold_status import HoldStatus
from .ingest_result import IngestResult
from .resolve_hold_request import ResolveHoldRequest
from .source_type import SourceType
from .stored_event import StoredEvent
from .stored_event_metadata_type_0 import StoredEventMetadataType0

__all__ = (
    "Decision",
    "EnforcementMode",
    "EnforceRequest",
    "EnforceRequestToolArgs",
    "EnforceResponse",
    "EnforceResponseModifiedToolArgsType0",
    "Error",
    "ErrorDetailsType0Item",
    "Event",
    "EventMetadata",
    "EventPage",
    "EventType",
    "Health",
    "HealthStatus",
    "HealthStore",
    "Hold",
    "HoldPage",
    "HoldResolution",
    "HoldState",
    "HoldStatus",
    "IngestResult",
    "ResolveHoldRequest",
    "SourceType",
    "StoredEvent",
    "StoredEventMetadataType0",
)
