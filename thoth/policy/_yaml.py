"""YAML loading that keeps line and column for every mapping value (for error messages).

Imported only to read YAML: local decisions load bundles (JSON data) and need no PyYAML."""

from __future__ import annotations

from typing import Any

import yaml

from thoth.policy._document import LocatedError, MarkedDict


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
