"""Contains all the data models used in inputs/outputs"""

from .anomaly_reason import AnomalyReason
from .anomaly_reason_kind import AnomalyReasonKind
from .bundle_signature import BundleSignature
from .bundle_signature_alg import BundleSignatureAlg
from .decision import Decision
from .decision_counts import DecisionCounts
from .enforce_request import EnforceRequest
from .enforce_response import EnforceResponse
from .enforcement_mode import EnforcementMode
from .error import Error
from .error_details_type_0_item import ErrorDetailsType0Item
from .event import Event
from .event_page import EventPage
from .event_type import EventType
from .explain_request import ExplainRequest
from .explanation import Explanation
from .explanation_severity import ExplanationSeverity
from .explanation_source import ExplanationSource
from .health import Health
from .health_status import HealthStatus
from .health_store import HealthStore
from .hold import Hold
from .hold_page import HoldPage
from .hold_poll_response import HoldPollResponse
from .hold_resolution import HoldResolution
from .hold_state import HoldState
from .ingest_result import IngestResult
from .policy_bundle import PolicyBundle
from .policy_bundle_policy import PolicyBundlePolicy
from .receipt import Receipt
from .receipt_alg import ReceiptAlg
from .receipt_claims import ReceiptClaims
from .receipt_public_key import ReceiptPublicKey
from .receipt_public_key_alg import ReceiptPublicKeyAlg
from .recorded_tool import RecordedTool
from .recorded_tool_input_schema_type_0 import RecordedToolInputSchemaType0
from .resolve_hold_request import ResolveHoldRequest
from .session import Session
from .session_anomaly import SessionAnomaly
from .session_anomaly_status import SessionAnomalyStatus
from .session_page import SessionPage
from .session_sort import SessionSort
from .source_type import SourceType
from .stored_event import StoredEvent
from .tool_inventory import ToolInventory
from .tool_inventory_item import ToolInventoryItem
from .tool_inventory_item_input_schema import ToolInventoryItemInputSchema
from .tool_inventory_page import ToolInventoryPage
from .tool_inventory_result import ToolInventoryResult

__all__ = (
    "AnomalyReason",
    "AnomalyReasonKind",
    "BundleSignature",
    "BundleSignatureAlg",
    "Decision",
    "DecisionCounts",
    "EnforcementMode",
    "EnforceRequest",
    "EnforceResponse",
    "Error",
    "ErrorDetailsType0Item",
    "Event",
    "EventPage",
    "EventType",
    "ExplainRequest",
    "Explanation",
    "ExplanationSeverity",
    "ExplanationSource",
    "Health",
    "HealthStatus",
    "HealthStore",
    "Hold",
    "HoldPage",
    "HoldPollResponse",
    "HoldResolution",
    "HoldState",
    "IngestResult",
    "PolicyBundle",
    "PolicyBundlePolicy",
    "Receipt",
    "ReceiptAlg",
    "ReceiptClaims",
    "ReceiptPublicKey",
    "ReceiptPublicKeyAlg",
    "RecordedTool",
    "RecordedToolInputSchemaType0",
    "ResolveHoldRequest",
    "Session",
    "SessionAnomaly",
    "SessionAnomalyStatus",
    "SessionPage",
    "SessionSort",
    "SourceType",
    "StoredEvent",
    "ToolInventory",
    "ToolInventoryItem",
    "ToolInventoryItemInputSchema",
    "ToolInventoryPage",
    "ToolInventoryResult",
)
