"""Evaluation of condition tasks: pure, over parameters already substituted and the
metrics upstream tasks reported."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from dagwire.server.engine.model import Condition

OPERATORS = frozenset({"==", "!=", ">", ">=", "<", "<=", "in", "or"})
_REFERENCE = re.compile(r"^\{\{\s*([^{}]+?)\s*\}\}$")
_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class ConditionError(ValueError):
    """An operand references a metric nobody reported, or cannot be compared."""


def evaluate(
    conditions: tuple[Condition, ...], metrics: Mapping[str, str]
) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether every condition holds, and each referenced operand's value (the metric
    list ModelArts records). `metrics` maps "task.metric" to the reported value."""
    seen: dict[str, str] = {}
    result = all(_holds(condition, metrics, seen) for condition in conditions)
    return result, tuple(seen.items())


def _holds(condition: Condition, metrics: Mapping[str, str], seen: dict[str, str]) -> bool:
    if condition.op == "or":
        return any(_holds(inner, metrics, seen) for inner in condition.any_of)
    left = _operand(condition.left, metrics, seen)
    right = _operand(condition.right, metrics, seen)
    if condition.op == "==":
        return _coerce(left) == _coerce(right)
    if condition.op == "!=":
        return _coerce(left) != _coerce(right)
    if condition.op == "in":
        return _coerce(left) in [_coerce(item) for item in _members(right)]
    compare = _ORDER.get(condition.op)
    if compare is None:
        raise ConditionError(f"unknown operator {condition.op!r}")
    a, b = _coerce(left), _coerce(right)
    if isinstance(a, float) != isinstance(b, float):
        raise ConditionError(f"cannot order {left!r} and {right!r}: one is not a number")
    return compare(a, b)


def _operand(text: str, metrics: Mapping[str, str], seen: dict[str, str]) -> str:
    match = _REFERENCE.match(text.strip())
    if match is None:
        return text
    name = match.group(1)
    if name not in metrics:
        raise ConditionError(f"{{{{{name}}}}} was not reported by its task")
    seen[name] = metrics[name]
    return metrics[name]


def _coerce(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _members(text: str) -> list[str]:
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = None
    if isinstance(loaded, list):
        return [str(item) for item in loaded]
    return [part.strip() for part in text.split(",")]
