"""canonical_json builds its encoder once; its bytes must stay json.dumps' exactly (every hash
an SDK or server ever computed depends on them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from thoth._chain import canonical_json

VALUES: list[Any] = [
    {"b": 1, "a": "é", "n": None, "t": True, "f": False},
    {"nested": {"z": [1, 2.5, {"y": '\u2028\x00\x1f"\\/'}], "a": {}}, "list": []},
    {"floats": [1.0, -0.0, 1e16, 1e-7, 123456789.123456789, 2**70]},
    {"keys": {"1": 1, "10": 2, "2": 3, "B": 4, "a": 5, "é": 6}},
    "a bare string \u00e9",
    1.5,
    [],
    None,
]


def _dumps(value: Any, allow_nan: bool = True) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan
    ).encode("utf-8")


@pytest.mark.parametrize("value", VALUES)
def test_canonical_json_is_json_dumps_byte_for_byte(value: Any) -> None:
    assert canonical_json(value) == _dumps(value)
    assert canonical_json(value, allow_nan=False) == _dumps(value, allow_nan=False)


def test_nan_follows_allow_nan_as_json_dumps_does() -> None:
    assert canonical_json({"x": float("nan")}) == b'{"x":NaN}'
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("inf")}, allow_nan=False)


def test_what_json_cannot_encode_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"x": object()})
    with pytest.raises(TypeError):
        canonical_json({(1, 2): "tuple key"})
