"""PaddleFlow's `components` and `reference`, inlined before a spec is checked.

`components` maps names to step or DAG definitions; an entry point (or a step of a DAG,
or of another component) with `reference: {component: name}` stands for a copy of that
definition, as PaddleFlow resolves it: the referencing step gives its own `deps`, its
`parameters` override the component's (they must be among them) and its input artifacts
replace the component's. The `components` section itself runs nothing. Pure; what does
not fit is left for the checker or reported here as field violations.
"""

from __future__ import annotations

import copy
from typing import Any

from dagwire.server.workflow.errors import FieldViolation

MAX_DEPTH = 8
# What a referencing step may hold besides its reference (PaddleFlow's checkReference).
_REFERENCE_KEYS = frozenset({"reference", "deps", "parameters", "artifacts"})


def inline(document: dict[str, Any]) -> tuple[dict[str, Any], list[FieldViolation]]:
    """The document with every reference replaced by its component, and the problems."""
    components = document.get("components")
    if "components" not in document and not _references_anywhere(document):
        return document, []
    problems: list[FieldViolation] = []
    if not isinstance(components, dict):
        if components is not None:
            problems.append(FieldViolation("components", "must be a mapping of name to component"))
        components = {}
    result = {key: value for key, value in document.items() if key != "components"}
    for section in ("entry_points", "post_process"):
        if isinstance(document.get(section), dict):
            result[section] = _level(document[section], components, section, 0, problems)
    return result, problems


def _references_anywhere(document: dict[str, Any]) -> bool:
    entries = document.get("entry_points")
    return isinstance(entries, dict) and any(
        isinstance(body, dict) and "reference" in body for body in entries.values()
    )


def _level(
    entries: dict[str, Any],
    components: dict[str, Any],
    path: str,
    depth: int,
    problems: list[FieldViolation],
) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, body in entries.items():
        where = f"{path}.{name}"
        if isinstance(body, dict) and "reference" in body:
            body = _resolve(body, components, where, depth, problems)
        if isinstance(body, dict) and isinstance(body.get("entry_points"), dict):
            if depth >= MAX_DEPTH:
                problems.append(FieldViolation(where, f"nests more than {MAX_DEPTH} levels"))
            else:
                inner = _level(body["entry_points"], components, where, depth + 1, problems)
                body = {**body, "entry_points": inner}
        resolved[name] = body
    return resolved


def _resolve(
    body: dict[str, Any],
    components: dict[str, Any],
    where: str,
    depth: int,
    problems: list[FieldViolation],
) -> dict[str, Any] | None:
    reference = body.get("reference")
    name = reference.get("component") if isinstance(reference, dict) else None
    if not isinstance(name, str) or name not in components:
        known = ", ".join(sorted(map(str, components))) or "none"
        problems.append(
            FieldViolation(
                f"{where}.reference.component",
                f"must name one of the spec's components ({known}), got {name!r}",
            )
        )
        return None
    extra = sorted(str(key) for key in body if key not in _REFERENCE_KEYS)
    if extra:
        problems.append(
            FieldViolation(
                where,
                f"a step with a reference holds only deps, parameters, input artifacts "
                f"and the reference; remove {', '.join(extra)}",
            )
        )
    template = components[name]
    if isinstance(template, dict) and "reference" in template:
        if depth >= MAX_DEPTH:
            problems.append(FieldViolation(where, f"references chain more than {MAX_DEPTH} deep"))
            return None
        template = _resolve(template, components, f"components.{name}", depth + 1, problems)
    if not isinstance(template, dict):
        problems.append(FieldViolation(f"components.{name}", "must be a step or a DAG"))
        return None
    step = copy.deepcopy(template)
    step.pop("deps", None)
    if "deps" in body:
        step["deps"] = body["deps"]
    parameters = body.get("parameters")
    if isinstance(parameters, dict):
        declared = _mapping(step.get("parameters"))
        for param in parameters:
            if param not in declared:
                problems.append(
                    FieldViolation(
                        f"{where}.parameters.{param}",
                        f"component {name!r} has no parameter {param!r}",
                    )
                )
        step["parameters"] = {**declared, **parameters}
    artifacts = body.get("artifacts")
    inputs = artifacts.get("input") if isinstance(artifacts, dict) else None
    if inputs is not None:
        own = _mapping(step.get("artifacts"))
        step["artifacts"] = {**own, "input": inputs}
    return step


def _mapping(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}
