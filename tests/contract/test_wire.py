"""The SDK's wire vocabulary (thoth._wire) is the contract's: enums, paths and methods."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests._contract import SPEC_PATH
from thoth import _wire, models
from thoth.errors import ThothConfigError


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with open(SPEC_PATH, encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


@pytest.mark.parametrize("operation", _wire.OPERATIONS, ids=lambda op: op.operation_id)
def test_each_operation_the_sdk_sends_is_the_contracts(
    spec: dict[str, Any], operation: _wire.Operation
) -> None:
    assert _operations(spec)[operation.operation_id] == (operation.method, operation.path)


@pytest.mark.parametrize(
    ("enum", "schema"),
    [
        (_wire.DecisionType, "Decision"),
        (_wire.EnforcementMode, "EnforcementMode"),
        (_wire.EventType, "EventType"),
        (_wire.SourceType, "SourceType"),
    ],
)
def test_each_wire_enum_has_the_contracts_values(spec: dict[str, Any], enum: type, schema: str) -> None:
    assert {member.value for member in enum} == set(spec["components"]["schemas"][schema]["enum"])


def test_the_public_names_are_the_one_definition() -> None:
    assert models.EnforcementMode is _wire.EnforcementMode
    assert models.DecisionType is _wire.DecisionType
    assert models.EventType is _wire.EventType
    assert models.SourceType is _wire.SourceType
    assert set(_wire.MODES_IN_ORDER) == set(_wire.EnforcementMode)
    assert models.EnforcementMode.BLOCK == "block"  # the aten-thoth spelling still works


def test_a_path_parameter_is_one_encoded_segment() -> None:
    assert _wire.GET_HOLD.url(hold_token="a/b?c") == "/v1/enforce/hold/a%2Fb%3Fc"


@pytest.mark.parametrize("given", ["block", "BLOCK", " Block ", _wire.EnforcementMode.BLOCK])
def test_enforcement_is_normalised_once_to_the_enum(given: object) -> None:
    assert _wire.parse_enforcement(given) is _wire.EnforcementMode.BLOCK
    config = models.ThothConfig(agent_id="a", approved_scope=[], tenant_id="t", enforcement=given)
    assert config.enforcement is _wire.EnforcementMode.BLOCK


def test_an_unknown_enforcement_names_the_modes() -> None:
    with pytest.raises(ValueError, match="use one of observe, step_up, block, progressive"):
        _wire.parse_enforcement("strict")
    import thoth

    with pytest.raises(ThothConfigError, match="unknown enforcement mode 'strict'"):
        thoth.create_tracer(
            agent_id="a", approved_scope=[], tenant_id="t", enforcement="strict", api_url="http://127.0.0.1:1"
        )
