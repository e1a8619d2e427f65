"""PaddleFlow's nested DAGs, flattened before a spec is checked.

A step with `entry_points` is a sub-DAG (PaddleFlow's WorkflowSourceDag). Its steps become
steps of the run under their full names, `dag.step` (PaddleFlow's absolute names), so they
show in GetRun and as StepExecutions like any other step:

- a sub-step's deps name its siblings; a sub-step without deps waits for the DAG's deps;
- a step depending on a DAG waits for every step inside it;
- `{{sibling.x}}` inside a DAG is `{{dag.sibling.x}}`; `{{PF_PARENT.p}}` is the DAG's
  parameter `p` (its value, itself read in the DAG's scope) or, in artifacts, the DAG's
  input artifact `p` (the upstream output it names);
- `{{dag.out}}` outside names the DAG's output artifact `out`, i.e. the sub-step output
  it maps to (`output: {out: "{{child.art}}"}`).

Pure: a YAML document in, a YAML document out; whatever does not fit is left for the
checker to report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagwire.server.engine.quoting import quoted as _quoted

PARENT = "PF_PARENT"
LOOP_ARGUMENT = "PF_LOOP_ARGUMENT"
MAX_LOOP_ITEMS = 100
_REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
MAX_DEPTH = 8


@dataclass
class _Scope:
    """One level of DAG: its steps' full names and what `PF_PARENT` means in it."""

    prefix: str  # "" at the top, else "dag." (with its parents')
    siblings: dict[str, Any] = field(default_factory=dict)  # name -> raw body
    parent_parameters: Mapping[str, object] = field(default_factory=dict)
    parent_inputs: Mapping[str, str] = field(default_factory=dict)  # name -> full "step.out"
    # DAG name (full) -> its output artifacts (name -> full "step.art") and its steps.
    dag_outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    dag_steps: dict[str, list[str]] = field(default_factory=dict)


def has_dags(document: object) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("entry_points"), dict):
        return False
    return any(_is_dag(body) for body in document["entry_points"].values())


def loop_items(value: object) -> tuple[str, ...]:
    """A loop_argument's items: a list, or a JSON list in a string, of at most
    MAX_LOOP_ITEMS scalars, each as PaddleFlow renders it (%v); ValueError says why not."""
    items = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
    if not isinstance(items, list) or not items:
        raise ValueError(f"must be a non-empty list (or a JSON list), got {_quoted(value)}")
    if len(items) > MAX_LOOP_ITEMS:
        raise ValueError(f"at most {MAX_LOOP_ITEMS} items, got {len(items)}")
    if not all(isinstance(item, str | int | float | bool) for item in items):
        raise ValueError("items must be strings or numbers")
    return tuple(json.dumps(item) if isinstance(item, bool) else str(item) for item in items)


def looping_dags(entries: object, prefix: str = "entry_points", depth: int = 0) -> list[str]:
    """The paths of the DAGs whose loop_argument cannot be laid out when the spec is
    read (a reference, or no usable list)."""
    if not isinstance(entries, dict) or depth >= MAX_DEPTH:
        return []
    found: list[str] = []
    for name, body in entries.items():
        if _is_dag(body):
            if "loop_argument" in body and _dag_loop(body) is None:
                found.append(f"{prefix}.{name}.loop_argument")
            found += looping_dags(body["entry_points"], f"{prefix}.{name}.entry_points", depth + 1)
    return found


def flatten(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every sub-DAG's steps lifted to the top level."""
    if not has_dags(document):
        return document
    steps: dict[str, Any] = {}
    _flatten(document["entry_points"], _Scope(prefix=""), (), steps, 0)
    return {**document, "entry_points": steps}


def _dag_loop(body: dict[str, Any]) -> tuple[str, ...] | None:
    """A DAG's loop_argument items when it gives the list itself; None when it has none
    or one this module cannot lay out (a reference, a bad list: the checker says so)."""
    value = body.get("loop_argument")
    if value is None or (isinstance(value, str) and _REFERENCE.search(value)):
        return None
    try:
        return loop_items(value)
    except ValueError:
        return None


def _is_dag(body: object) -> bool:
    return isinstance(body, dict) and isinstance(body.get("entry_points"), dict)


def _flatten(
    entries: dict[str, Any],
    scope: _Scope,
    outer_deps: tuple[str, ...],
    out: dict[str, Any],
    depth: int,
) -> list[str]:
    """Lift `entries` (one DAG level) into `out`; the full names of the steps made."""
    scope.siblings = dict(entries)
    lifted: dict[str, dict[str, Any]] = {}  # DAG name -> its steps, lifted
    # DAGs first, so that siblings referring to a DAG's outputs or depending on it know
    # its steps; the result keeps the spec's order.
    for name, body in entries.items():
        if not _is_dag(body) or depth >= MAX_DEPTH:
            continue
        full = f"{scope.prefix}{name}"
        deps = _deps(body.get("deps"), scope) or outer_deps
        items = _dag_loop(body)
        # A DAG with a loop_argument list is lifted once per item: `dag`, `dag-1`, ...
        # (PaddleFlow's runtime names), its steps seeing the item as
        # {{PF_PARENT.PF_LOOP_ARGUMENT}}; what depends on the DAG waits for every copy.
        copies: list[tuple[str, str | None]] = (
            [(full, None)]
            if items is None
            else [(full if i == 0 else f"{full}-{i}", item) for i, item in enumerate(items)]
        )
        lifted[name] = {}
        made_here: list[str] = []
        for copy_name, item in copies:
            parameters = _parameters(body.get("parameters"), scope)
            if item is not None:
                parameters = {**parameters, LOOP_ARGUMENT: item}
            inner = _Scope(
                prefix=f"{copy_name}.",
                parent_parameters=parameters,
                parent_inputs={
                    art: _inner_reference(ref)
                    for art, ref in _inputs(body, scope).items()
                    if isinstance(ref, str)
                },
            )
            made_here += _flatten(body["entry_points"], inner, deps, lifted[name], depth + 1)
        scope.dag_steps[full] = made_here
        if items is not None:
            continue  # a looping DAG's outputs are many: not readable downstream here yet
        outputs = (body.get("artifacts") or {}).get("output") or {}
        scope.dag_outputs[full] = {
            art: _full(_inner_reference(ref), inner)
            for art, ref in (outputs.items() if isinstance(outputs, dict) else [])
            if isinstance(ref, str)
        }
    made: list[str] = []
    for name, body in entries.items():
        full = f"{scope.prefix}{name}"
        if name in lifted:
            out.update(lifted[name])
            made += list(lifted[name])
            continue
        made.append(full)
        out[full] = _step(body, scope, outer_deps) if isinstance(body, dict) else body
    return made


def _step(body: dict[str, Any], scope: _Scope, outer_deps: tuple[str, ...]) -> dict[str, Any]:
    """One step of a DAG level, its names and references made full."""
    step = dict(body)
    deps = _deps(body.get("deps"), scope) or (outer_deps if scope.prefix else ())
    if deps or "deps" in body:
        step["deps"] = list(deps)
    for key in ("command", "condition", "loop_argument"):
        if isinstance(step.get(key), str):
            step[key] = _rewrite(step[key], scope)
    if isinstance(step.get("env"), dict):
        step["env"] = {
            k: _rewrite(v, scope) if isinstance(v, str) else v for k, v in step["env"].items()
        }
    if isinstance(step.get("parameters"), dict):
        step["parameters"] = _parameters(step["parameters"], scope)
    artifacts = step.get("artifacts")
    if isinstance(artifacts, dict) and isinstance(artifacts.get("input"), dict):
        step["artifacts"] = {**artifacts, "input": _inputs(step, scope)}
    return step


def _deps(value: object, scope: _Scope) -> tuple[str, ...]:
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        names = [str(part) for part in value]
    else:
        return ()
    deps: list[str] = []
    for name in names:
        full = f"{scope.prefix}{name}"
        deps += scope.dag_steps.get(full, [full])
    return tuple(dict.fromkeys(deps))


def _parameters(value: object, scope: _Scope) -> dict[str, object]:
    if not isinstance(value, dict):
        return {}
    result: dict[str, object] = {}
    for name, raw in value.items():
        if isinstance(raw, str):
            result[name] = _rewrite(raw, scope)
        elif isinstance(raw, dict) and isinstance(raw.get("default"), str):
            result[name] = {**raw, "default": _rewrite(raw["default"], scope)}
        else:
            result[name] = raw
    return result


def _inputs(body: dict[str, Any], scope: _Scope) -> dict[str, str]:
    """A step's (or DAG's) input artifacts as full `step.output` references."""
    inputs = (body.get("artifacts") or {}).get("input") or {}
    if not isinstance(inputs, dict):
        return {}
    result: dict[str, str] = {}
    for name, ref in inputs.items():
        if not isinstance(ref, str):
            result[name] = ref
            continue
        target = _inner_reference(ref)
        upstream, _, art = target.rpartition(".")
        if upstream == PARENT and art in scope.parent_inputs:
            result[name] = "{{" + scope.parent_inputs[art] + "}}"
        else:
            result[name] = "{{" + _full(target, scope) + "}}"
    return result


def _inner_reference(ref: str) -> str:
    match = _REFERENCE.fullmatch(ref.strip())
    return match.group(1) if match else ref.strip()


def _full(target: str, scope: _Scope) -> str:
    """`sibling.x` in this scope -> its full reference (a DAG's output mapped through)."""
    upstream, dot, name = target.rpartition(".")
    if not dot:
        return target
    full = f"{scope.prefix}{upstream}"
    if full in scope.dag_outputs and name in scope.dag_outputs[full]:
        return scope.dag_outputs[full][name]
    if upstream in scope.siblings:
        return f"{full}.{name}"
    return target


def _rewrite(text: str, scope: _Scope) -> str:
    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        upstream, dot, name = ref.rpartition(".")
        if dot and upstream == PARENT:
            if name in scope.parent_parameters:
                value = scope.parent_parameters[name]
                if isinstance(value, dict):
                    value = value.get("default", "")
                return str(value)
            if name in scope.parent_inputs:
                return match.group(0)  # an artifact path: the checker says where it fits
        if dot:
            return "{{" + _full(ref, scope) + "}}"
        return match.group(0)

    return _REFERENCE.sub(replace, text)
