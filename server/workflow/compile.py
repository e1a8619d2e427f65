"""A pipeline spec plus a run's options -> the engine's JobSpec.

Parameters are resolved here, once: defaults, then the run's overrides, then references
(`{{PF_RUN_ID}}`, `{{param}}`, `{{upstream.param}}`). Artifact references stay in the
command until launch, when their paths are known. A value lands in a command shell-quoted
(spec.substitute_quoted): no caller's value ever becomes shell syntax. What each step needs at launch
travels in its task's task_input_config as a StepConfig document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from dagwire.server.engine.expressions import ExpressionError
from dagwire.server.engine.expressions import evaluate as evaluate_expression
from dagwire.server.engine.model import (
    Branching,
    Condition,
    FailureStrategy,
    JobKind,
    JobSpec,
    PartySpec,
    TaskSpec,
)
from dagwire.server.workflow.errors import FieldViolation, InvalidArgument
from dagwire.server.workflow.spec import PipelineSpec, StepSpec, substitute, substitute_quoted

# The image a command step's task names; the step executor runs its command instead.
STEP_IMAGE = "dagwire-step"
# Every step runs as one party of this domain: a run is not a multi-party job.
RUN_DOMAIN = "local"


@dataclass(frozen=True, slots=True)
class RunOptions:
    run_id: str
    username: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    disabled: Sequence[str] = ()
    failure_strategy: FailureStrategy | None = None  # None: the spec's
    docker_env: str = ""  # empty: the spec's
    pipeline_id: str = ""
    reuse: Mapping[str, str] = field(default_factory=dict)  # step -> run whose outputs to reuse
    owner: str = ""  # the run's owner domain (engine.tenancy)
    fs_name: str = ""  # the run's main file system when the spec names none (PaddleFlow's fs_name)
    # The names among those the run uses that were registered when it was created.
    registered_fs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StepConfig:
    """What the step executor needs to launch one step (stored with its task)."""

    step: str
    run_id: str
    username: str
    command: str = ""  # artifact references still unresolved
    # The command and env with the step's own parameters still as references, so that a
    # retry or continue with new parameters can fill them in at launch.
    command_template: str = ""
    env_template: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    app_image: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)  # artifact -> "step.output"
    outputs: tuple[str, ...] = ()
    cache_enable: bool = False
    cache_max_expired_time: int = -1
    cache_fs_scope: tuple[str, ...] = ()  # `name[/path]` whose content the cache fingerprints
    docker_env: str = ""
    pipeline_id: str = ""
    reuse_from: str = ""  # a run whose recorded outputs of this step are reused
    owner: str = ""  # the run's owner domain: its cache entries and artifacts are its
    network: bool = False  # the step asks for the network in its sandbox
    # Its file systems (workflow.filesystems): `name[/sub_path]` of the owner's.
    main_fs: str = ""
    extra_fs: tuple[str, ...] = ()
    extra_fs_read_only: tuple[bool, ...] = ()
    # PaddleFlow's mount_path of the main fs, then of each extra fs ("" where none):
    # bound there in the step's sandbox.
    mount_paths: tuple[str, ...] = ()
    # PaddleFlow's condition, worked out at compile time from the step's parameters:
    # why it is skipped (false), or why it fails without running (not computable).
    skip_reason: str = ""
    condition_error: str = ""
    loop_argument: str = ""  # PF_LOOP_ARGUMENT: this copy's item of its loop_argument
    # A loop read at launch (engine.loops): its list as a parameter's value, or the input
    # artifact whose file holds it. A copy of the step (PartyLaunch.loop_item) runs with
    # {{PF_LOOP_ARGUMENT}} still a reference in its command, filled in then.
    loop_source: str = ""
    loop_artifact: str = ""
    # A retried run's loop read at launch: copy name -> the run whose outputs it reuses
    # (the copies that succeeded before; the others run again).
    loop_reuse: Mapping[str, str] = field(default_factory=dict)
    # Input artifacts read from a looping step: the paths of all its copies' outputs,
    # joined with ',' (PaddleFlow's way).
    looped_inputs: tuple[str, ...] = ()
    # Its file systems' names that were registered (fs_registry) when the run was made.
    registered_fs: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StepConfig:
        data = json.loads(text)
        for name in (
            "outputs",
            "extra_fs",
            "extra_fs_read_only",
            "cache_fs_scope",
            "mount_paths",
            "looped_inputs",
            "registered_fs",
        ):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)


def compile_run(spec: PipelineSpec, options: RunOptions) -> JobSpec:
    """The JobSpec of a run; InvalidArgument names unknown overrides or disabled steps."""
    # The run's own list replaces the spec's `disabled`, as in PaddleFlow.
    options = replace(options, disabled=tuple(options.disabled) or spec.disabled)
    _check_disabled(spec, options.disabled)
    _check_no_nul(options)
    resolved = resolve_parameters(spec, options)
    docker_env = options.docker_env or spec.docker_env
    main_fs = spec.main_fs.reference if spec.main_fs else options.fs_name
    task_ids = _task_ids(options.run_id, [step.name for step in spec.steps])
    looping = {step.name for step in spec.steps if step.loop_ref or step.loop_item is not None}
    tasks = []
    for step in spec.steps:
        params = resolved[step.name]
        values = _context(spec, step, resolved, options)
        shared = {k: v for k, v in values.items() if k not in params}
        skip_reason, condition_error = _when(step, values)
        config = StepConfig(
            step=step.name,
            run_id=options.run_id,
            username=options.username,
            command=substitute_quoted(step.command, values),
            app_image=step.app_image,
            env={k: substitute(v, values) for k, v in step.env.items()},
            command_template=substitute_quoted(step.command, shared),
            env_template={k: substitute(v, shared) for k, v in step.env.items()},
            title=step.title,
            parameters=params,
            inputs=dict(step.input_artifacts),
            outputs=step.output_artifacts,
            cache_enable=step.cache.enable,
            cache_max_expired_time=step.cache.max_expired_time,
            cache_fs_scope=step.cache.fs_scope,
            docker_env=step.docker_env or docker_env,
            pipeline_id=options.pipeline_id,
            reuse_from="" if step.loop_ref else options.reuse.get(step.name, ""),
            owner=options.owner,
            network=step.network,
            main_fs=main_fs,
            extra_fs=tuple(mount.reference for mount in step.extra_fs),
            extra_fs_read_only=tuple(mount.read_only for mount in step.extra_fs),
            mount_paths=_mount_paths(spec, step),
            skip_reason=skip_reason,
            condition_error=condition_error,
            loop_argument=step.loop_item or "",
            loop_source=values.get(step.loop_ref, "") if step.loop_ref else "",
            loop_artifact=step.loop_ref if step.loop_ref in step.input_artifacts else "",
            loop_reuse=_loop_reuse(step, options.reuse),
            registered_fs=tuple(sorted(options.registered_fs & set(_fs_names(step, main_fs)))),
            looped_inputs=tuple(
                art
                for art, target in step.input_artifacts.items()
                if target.rpartition(".")[0] in looping
            ),
        )
        tasks.append(
            TaskSpec(
                alias=step.name,
                task_id=task_ids[step.name],
                app_image=step.app_image or STEP_IMAGE,
                parties=(PartySpec(RUN_DOMAIN),),
                dependencies=step.deps,
                task_input_config=config.to_json(),
                timeout_seconds=step.timeout,
                # A false condition leaves the step out as PaddleFlow does: skipped,
                # and its dependents run (dagRuntime treats skipped as done).
                disabled=step.name in options.disabled or bool(skip_reason),
                post=step.post,
                hold=step.hold,
                execution_policy=step.execution_policy,
                branching=_substituted(step.condition, values),
            )
        )
    return JobSpec(
        job_id=options.run_id,
        initiator=RUN_DOMAIN,
        max_parallelism=spec.parallelism,
        tasks=tuple(tasks),
        kind=JobKind.RUN,
        failure_strategy=options.failure_strategy or spec.failure_strategy,
    )


def resolve_parameters(spec: PipelineSpec, options: RunOptions) -> dict[str, dict[str, str]]:
    """Each step's parameters after defaults, overrides and references."""
    violations: list[FieldViolation] = []
    globals_ = dict(spec.parameters)
    per_step = {step.name: dict(step.parameters) for step in spec.steps}
    for key, value in options.parameters.items():
        where = f"parameters.{key}"
        if "." in key:
            step_name, _, param = key.rpartition(".")
            if step_name not in per_step:
                violations.append(FieldViolation(where, f"no step named {step_name!r}"))
            elif param not in per_step[step_name]:
                violations.append(
                    FieldViolation(where, f"step {step_name!r} has no parameter {param!r}")
                )
            else:
                per_step[step_name][param] = value
            continue
        matched = key in globals_
        if matched:
            globals_[key] = value
        for params in per_step.values():
            if key in params:
                params[key] = value
                matched = True
        if not matched:
            violations.append(FieldViolation(where, "no step and no pipeline parameter has it"))
    if violations:
        raise InvalidArgument(violations)
    resolved: dict[str, dict[str, str]] = {}
    for step in _in_dependency_order(spec.steps):
        declared = {**globals_, **per_step[step.name]}
        context = {**declared, **_context(spec, step, resolved, options)}
        resolved[step.name] = {name: substitute(value, context) for name, value in declared.items()}
    return resolved


def _context(
    spec: PipelineSpec,
    step: StepSpec,
    resolved: Mapping[str, Mapping[str, str]],
    options: RunOptions,
) -> dict[str, str]:
    """What `{{...}}` in a step may name: its own resolved parameters (once known), its
    upstream steps' parameters as `step.param`, and the system variables."""
    upstream = {
        f"{dep}.{name}": value
        for dep in _readable(spec, step)
        for name, value in resolved[dep].items()
    }
    system = _system(options, step.name)
    if not step.loop_ref:  # else each copy's item, filled in at its launch
        system["PF_LOOP_ARGUMENT"] = step.loop_item or ""
    return {**resolved.get(step.name, {}), **upstream, **system}


def _readable(spec: PipelineSpec, step: StepSpec) -> tuple[str, ...]:
    """Steps whose parameters `step` may reference: its deps (the post step: every step)."""
    if step.post:
        return tuple(s.name for s in spec.steps if not s.post)
    return step.deps


def _in_dependency_order(steps: Sequence[StepSpec]) -> list[StepSpec]:
    """Entry points upstream first (the spec was checked acyclic), then the post step."""
    done: dict[str, StepSpec] = {}
    remaining = [step for step in steps if not step.post]
    while remaining:
        ready = [s for s in remaining if all(d in done for d in s.deps)]
        for step in ready:
            done[step.name] = step
            remaining.remove(step)
    return [*done.values(), *(step for step in steps if step.post)]


def _when(step: StepSpec, values: Mapping[str, str]) -> tuple[str, str]:
    """(skip reason, error) of the step's PaddleFlow condition; both empty when it holds."""
    if not step.when:
        return "", ""
    text = substitute(step.when, values)
    try:
        holds = evaluate_expression(text)
    except ExpressionError as error:
        return "", f"cannot calculate the condition [{text}] of step {step.name}: {error}"
    return ("" if holds else f"the condition [{text}] is false: skipped, not run"), ""


def _substituted(branching: Branching | None, values: Mapping[str, str]) -> Branching | None:
    """Parameters in a condition's operands are known now; metrics stay references."""
    if branching is None:
        return None

    def fill(condition: Condition) -> Condition:
        return replace(
            condition,
            left=substitute(condition.left, values),
            right=substitute(condition.right, values),
            any_of=tuple(fill(inner) for inner in condition.any_of),
        )

    return replace(branching, conditions=tuple(fill(c) for c in branching.conditions))


def used_file_systems(spec: PipelineSpec, fs_name: str = "") -> set[str]:
    """The names of the file systems a run of `spec` uses (fs_name: the run's main one
    when the spec names none)."""
    main = spec.main_fs.reference if spec.main_fs else fs_name
    return {name for step in spec.steps for name in _fs_names(step, main)}


def _fs_names(step: StepSpec, main_fs: str) -> list[str]:
    refs = [main_fs, *(m.reference for m in step.extra_fs), *step.cache.fs_scope]
    return [ref.split("/")[0] for ref in refs if ref]


def _loop_reuse(step: StepSpec, reuse: Mapping[str, str]) -> dict[str, str]:
    """The copies of a loop read at launch (`step`, `step-1`, ...) that a retry reuses."""
    if not step.loop_ref:
        return {}
    copy = re.compile(re.escape(step.name) + r"(-[0-9]+)?")
    return {alias: run for alias, run in reuse.items() if copy.fullmatch(alias)}


def _mount_paths(spec: PipelineSpec, step: StepSpec) -> tuple[str, ...]:
    """The main fs's mount_path, then each extra fs's; () when none has one."""
    main = spec.main_fs.mount_path if spec.main_fs else ""
    paths = (main, *(mount.mount_path for mount in step.extra_fs))
    return paths if any(paths) else ()


def _system(options: RunOptions, step: str) -> dict[str, str]:
    return {"PF_RUN_ID": options.run_id, "PF_STEP_NAME": step, "PF_USER_NAME": options.username}


def _check_no_nul(options: RunOptions) -> None:
    """Values reach a process as argv and environment, which cannot hold a NUL byte."""
    violations = [
        FieldViolation(f"parameters.{key}", "must not contain a NUL character")
        for key, value in options.parameters.items()
        if "\0" in value or "\0" in key
    ]
    if "\0" in options.username:
        violations.append(FieldViolation("username", "must not contain a NUL character"))
    if violations:
        raise InvalidArgument(violations)


def _check_disabled(spec: PipelineSpec, disabled: Sequence[str]) -> None:
    names = {step.name for step in spec.steps}
    violations = [
        FieldViolation(
            f"disabled[{i}]", f"no step named {name!r}; steps: {', '.join(sorted(names))}"
        )
        for i, name in enumerate(disabled)
        if name not in names
    ]
    off = set(disabled)
    for step in spec.steps:
        if step.name in off:
            continue
        for art, target in step.input_artifacts.items():
            upstream = target.rpartition(".")[0]
            if upstream in off:
                violations.append(
                    FieldViolation(
                        "disabled",
                        f"step {step.name!r} reads artifact {art!r} from disabled step {upstream!r}; "
                        "disable it too",
                    )
                )
    if violations:
        raise InvalidArgument(violations)


def _task_ids(run_id: str, names: Sequence[str]) -> dict[str, str]:
    """DNS-safe, unique task ids: the run id and the step name in lowercase."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for index, name in enumerate(names):
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "step"
        task_id = f"{run_id}-{slug}"
        if task_id in taken:
            task_id = f"{run_id}-{slug}-{index}"
        taken.add(task_id)
        ids[name] = task_id
    return ids
