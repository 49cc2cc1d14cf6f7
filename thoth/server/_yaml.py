"""YAML loading that keeps line and column for every mapping value (for error messages)."""

from __future__ import annotations

from typing import Any

import yaml


class LocatedError(Exception):
    """An error at a place in a file: ``file:line:column: message``."""

    def __init__(self, message: str, file: str, line: int, column: int) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.message = message
        self.file = file
        self.line = line
        self.column = column


class MarkedDict(dict[Any, Any]):
    """A mapping that remembers where it and each of its values start (0-based marks)."""

    mark: yaml.Mark
    marks: dict[Any, yaml.Mark]
    styles: dict[Any, str | None]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.mark = node.start_mark
    result.marks = {}
    result.styles = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in result
        except TypeError:
            problem = "a key must be a plain value"
            raise yaml.MarkedYAMLError(problem=problem, problem_mark=key_node.start_mark) from None
        if duplicate:
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.marks[key] = value_node.start_mark
        result.styles[key] = value_node.style if isinstance(value_node, yaml.ScalarNode) else None
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load(text: str, file: str) -> Any:
    """Parse YAML; syntax errors become LocatedError with 1-based line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise LocatedError(str(exc.problem or exc), file, line, column) from None
    except yaml.YAMLError as exc:
        raise LocatedError(str(exc), file, 1, 1) from None
