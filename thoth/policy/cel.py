"""CEL conditions behind a small interface, so the engine can be swapped.

``cel-expr-python`` (Google's C++ CEL) type-checks expressions against declared
variables when the policy loads; ``common-expression-language`` is used when it
is the only one installed (it checks syntax only).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

#: Variables a condition may use; see thoth.policy.load.
VARIABLES: tuple[str, ...] = (
    "args",
    "tool",
    "tags",
    "agent",
    "user",
    "tenant",
    "environment",
    "mode",
    "session",
    "context",
)

_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)", re.DOTALL)


@attrs.frozen
class CelCompileError(Exception):
    """A condition that does not compile; line and column are 1-based within the expression."""

    message: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return self.message


class CelEvalError(Exception):
    """A condition that failed while evaluating (missing key, wrong type, not a bool)."""


class Condition(Protocol):
    source: str

    def evaluate(self, activation: Any) -> bool: ...


class CelEngine(Protocol):
    name: str

    def compile(self, source: str) -> Condition: ...

    def activation(self, data: Mapping[str, Any]) -> Any:
        """Prepare the variables once per decision; every condition evaluates against it."""


# The engines are native bindings (C++, Rust) that document no exception types: every error one
# raises is turned into CelCompileError (a policy that does not load, with a position) or
# CelEvalError (the rule blocks the call, naming itself), never an error out of a request.
# Hence the broad ``except Exception`` below.


def _boolean(result: Any) -> bool:
    if not isinstance(result, bool):
        raise CelEvalError(f"condition gave {type(result).__name__}, not bool")
    return result


def _compiled(compile_source: Callable[[str], Any], source: str) -> Any:
    try:
        return compile_source(source)
    except Exception as exc:  # noqa: BLE001 - any binding error is a compile error (see above)
        raise _compile_error(str(exc)) from None


def _compile_error(raw: str) -> CelCompileError:
    match = _POSITION.search(raw)
    if not match:
        return CelCompileError(raw.strip())
    detail = match.group(3).split("\n")[0].strip()
    return CelCompileError(detail, int(match.group(1)), int(match.group(2)))


class _CppCondition:
    __slots__ = ("_error_type", "_expr", "source")

    def __init__(self, source: str, expr: Any, error_type: Any) -> None:
        self.source = source
        self._expr = expr
        self._error_type = error_type

    def evaluate(self, activation: Any) -> bool:
        try:
            value = self._expr.eval(activation)
        except Exception as exc:  # noqa: BLE001 - the binding raises on some runtime errors (see above)
            raise CelEvalError(str(exc)) from None
        result = value.value()
        if value.type() == self._error_type:
            raise CelEvalError(str(result))
        return _boolean(result)


class CppCelEngine:
    """cel-expr-python: checked at compile time against the declared variables."""

    name = "cel-expr-python"

    def __init__(self) -> None:
        from cel_expr_python import cel  # type: ignore[import-untyped]

        self._cel = cel
        dyn = cel.Type.DYN
        string = cel.Type.STRING
        types = {
            "args": cel.Type.Map(string, dyn),
            "tool": string,
            "tags": cel.Type.List(string),
            "agent": string,
            "user": string,
            "tenant": string,
            "environment": string,
            "mode": string,
            "session": cel.Type.Map(string, dyn),
            "context": cel.Type.Map(string, string),
        }
        self._env = cel.NewEnv(variables=types)

    def compile(self, source: str) -> Condition:
        expr = _compiled(self._env.compile, source)
        return_type = expr.return_type()
        if return_type not in (self._cel.Type.BOOL, self._cel.Type.DYN):
            raise CelCompileError(f"condition must give a bool, not {return_type.name()}")
        return _CppCondition(source, expr, self._cel.Type.ERROR)

    def activation(self, data: Mapping[str, Any]) -> Any:
        try:
            return self._env.Activation(data)
        except Exception as exc:  # noqa: BLE001 - arguments it cannot convert block the call (see above)
            raise CelEvalError(f"arguments cannot be given to CEL: {exc}") from None


class _PyCondition:
    __slots__ = ("_program", "source")

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    def evaluate(self, activation: Any) -> bool:
        try:
            result = self._program.execute(activation)
        except Exception as exc:  # noqa: BLE001 - any evaluation error blocks the call (see above)
            raise CelEvalError(f"{type(exc).__name__}: {exc}") from None
        return _boolean(result)


class RustCelEngine:
    """common-expression-language: the fallback; syntax is checked at compile time."""

    name = "common-expression-language"

    def __init__(self) -> None:
        import cel

        self._cel = cel

    def compile(self, source: str) -> Condition:
        return _PyCondition(source, _compiled(self._cel.compile, source))

    def activation(self, data: Mapping[str, Any]) -> Any:
        return dict(data)


def default_engine() -> CelEngine:
    """The best engine installed."""
    try:
        return CppCelEngine()
    except ImportError:
        pass
    try:
        return RustCelEngine()
    except ImportError:
        raise ImportError(
            "a CEL engine is needed for policy conditions: pip install 'thoth-sdk[server]'"
        ) from None
