"""The parameters and data requirements an action on a step carries (ModelArts'
WorkflowParameter and DataRequirement), checked and turned into parameter overrides.

A parameter's value must parse as its type, be one of its enum when it has one, have its
format when dagwire knows the format, and meet its constraint. Each problem is one field
violation naming the parameter, so that a caller fixes all of them at once.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dagwire.server.workflow.errors import FieldViolation, InvalidArgument

_Check = Callable[[str, str], str | None]


@dataclass(frozen=True, slots=True)
class ActionParameter:
    """A WorkflowParameter; values are text (JSON numbers and booleans as their JSON)."""

    name: str
    value: str = ""
    type: str = ""
    default: str = ""
    enum: tuple[str, ...] = ()
    format: str = ""
    constraint: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective(self) -> str:
        return self.value or self.default


@dataclass(frozen=True, slots=True)
class DataRequirement:
    """A DataRequirement: its value map's "value" entry (else the map as JSON) becomes
    the parameter of its name."""

    name: str
    value: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective(self) -> str:
        if "value" in self.value:
            return self.value["value"]
        return json.dumps(dict(self.value), sort_keys=True)


def _is_int(text: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", text.strip()) is not None


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _is_bool(text: str) -> bool:
    return text.lower() in ("true", "false")


# ModelArts' parameter types -> does the text parse as one.
TYPES: Mapping[str, Callable[[str], bool]] = {
    "str": lambda _: True,
    "int": _is_int,
    "float": _is_float,
    "bool": _is_bool,
}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _is_date_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# Formats dagwire checks. ModelArts also uses display formats (e.g. `schedule`), which
# say how a console shows the value, not what it may be: those are recorded only.
FORMATS: Mapping[str, Callable[[str], bool]] = {
    "json": _is_json,
    "uuid": _is_uuid,
    "date-time": _is_date_time,
}


def _number_limit(compare: Callable[[float, float], bool], word: str) -> _Check:
    def check(value: str, limit: str) -> str | None:
        if not _is_float(value):
            return f"is {value!r}, not a number, so it cannot be {word} {limit}"
        if not _is_float(limit):
            return f"its constraint {limit!r} is not a number"
        return None if compare(float(value), float(limit)) else f"is {value}, not {word} {limit}"

    return check


def _length_limit(compare: Callable[[int, int], bool], word: str) -> _Check:
    def check(value: str, limit: str) -> str | None:
        if not limit.isdigit():
            return f"its constraint {limit!r} is not a length"
        if compare(len(value), int(limit)):
            return None
        return f"has {len(value)} characters, not {word} {limit}"

    return check


def _pattern(value: str, pattern: str) -> str | None:
    try:
        matched = re.fullmatch(pattern, value) is not None
    except re.error as error:
        return f"its pattern {pattern!r} is not a regular expression: {error}"
    return None if matched else f"{value!r} does not match {pattern!r}"


# constraint key -> check(value, limit): None when met, else why not.
CONSTRAINTS: Mapping[str, _Check] = {
    "min": _number_limit(lambda v, limit: v >= limit, "at least"),
    "max": _number_limit(lambda v, limit: v <= limit, "at most"),
    "min_length": _length_limit(lambda n, limit: n >= limit, "at least"),
    "max_length": _length_limit(lambda n, limit: n <= limit, "at most"),
    "pattern": _pattern,
}


def _problems(parameter: ActionParameter) -> list[str]:
    value = parameter.effective
    kind = parameter.type or "str"
    if kind not in TYPES:
        return [f"type {kind!r} is not one of {', '.join(TYPES)}"]
    problems = []
    if not TYPES[kind](value):
        problems.append(f"{value!r} is not of type {kind}")
    if parameter.enum and value not in parameter.enum:
        problems.append(f"{value!r} is not one of {', '.join(parameter.enum)}")
    check_format = FORMATS.get(parameter.format)
    if check_format is not None and not check_format(value):
        problems.append(f"{value!r} is not {parameter.format}")
    for key, limit in parameter.constraint.items():
        check = CONSTRAINTS.get(key)
        if check is None:
            problems.append(f"constraint {key!r} is not one of {', '.join(CONSTRAINTS)}")
        elif (why := check(value, limit)) is not None:
            problems.append(why)
    return problems


def action_overrides(
    parameters: Sequence[ActionParameter],
    data_requirements: Sequence[DataRequirement],
    known: Collection[str],
) -> dict[str, str]:
    """The parameter overrides an action carries, after every check: names the step
    does not have (`known`), duplicates, and values that break their own declaration
    are all refused together."""
    violations: list[FieldViolation] = []
    overrides: dict[str, str] = {}
    for where, name, value in [
        *((f"parameters.{p.name}", p.name, p.effective) for p in parameters),
        *((f"data_requirements.{d.name}", d.name, d.effective) for d in data_requirements),
    ]:
        if name not in known:
            violations.append(FieldViolation(where, f"the step has no parameter {name!r}"))
        elif name in overrides:
            violations.append(FieldViolation(where, "is given more than once"))
        overrides[name] = value
    for parameter in parameters:
        violations += [
            FieldViolation(f"parameters.{parameter.name}", why) for why in _problems(parameter)
        ]
    if violations:
        raise InvalidArgument(violations)
    return overrides
