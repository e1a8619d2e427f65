"""Pipeline specs: YAML in PaddleFlow's shape, parsed and checked into immutable values.

Every problem is reported as a field violation with its exact path (for example
`entry_points.train.deps`), all of them at once, so that a user fixes a spec in one
round trip. Parsing is pure: no I/O, nothing stored.

    name: train-pipeline
    docker_env: python:3.11          # recorded; the local executor runs on the host
    parallelism: 5
    parameters: {data_dir: /data}    # visible to every step
    entry_points:
      prepare:
        command: "prep.sh {{data_dir}} {{train_data}}"
        artifacts: {output: [train_data]}
      train:
        deps: prepare
        command: "train.sh {{epoch}} {{data}}"
        parameters: {epoch: 5, lr: {type: float, default: 0.1}}
        artifacts: {input: {data: "{{prepare.train_data}}"}}
        cache: {enable: true, max_expired_time: 600}
    post_process:
      notify: {command: "echo done"}
    failure_options: {strategy: continue}
    cache: {enable: false, max_expired_time: -1}
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import yaml

from dagwire.server.engine.conditions import OPERATORS
from dagwire.server.engine.expressions import ExpressionError
from dagwire.server.engine.expressions import check as check_expression
from dagwire.server.engine.model import Branching, Condition, ExecutionPolicy, FailureStrategy
from dagwire.server.engine.names import directory_name_problem
from dagwire.server.engine.quoting import quoted, quoted_list, shortened
from dagwire.server.workflow import distributed
from dagwire.server.workflow.components import inline as inline_components
from dagwire.server.workflow.dags import MAX_LOOP_ITEMS, flatten, has_dags, loop_items, looping_dags
from dagwire.server.workflow.errors import FieldViolation, InvalidArgument

MAX_YAML_BYTES = 1 << 20
MAX_STEPS = 1_000
MAX_YAML_DEPTH = 32
MAX_NAME_LENGTH = 63
SYSTEM_VARIABLES = frozenset({"PF_RUN_ID", "PF_STEP_NAME", "PF_USER_NAME", "PF_LOOP_ARGUMENT"})
# System variables PaddleFlow set before its DAG runtime (pkg/pipeline/common/const.go
# until its commit c2757321, July 2022) and sets no more; its older examples use them
# (example/pipeline/base_pipeline/run.yaml.multiple). Refused, saying so.
_RETIRED_SYSTEM_VARIABLES = frozenset(
    {"PF_FS_ID", "PF_FS_NAME", "PF_USER_ID", "PF_JOB_ID", "PF_RUN_TIME"}
)
_RETIRED = (
    "{{{{{ref}}}}} is a system variable PaddleFlow dropped in 2022 (with its DAG runtime); "
    "the system variables are " + ", ".join(sorted(SYSTEM_VARIABLES))
)

# A step's name; `dag.step` is a step of a nested DAG (workflow.dags).
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$")
_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_DOUBLE_BRACE = re.compile(r"\{(?=\{)")
# PaddleFlow's variable names (parameters, artifacts) may start with '_'; ours may hold '-'.
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PARAM_TYPES: Mapping[str, type] = {
    "string": str,
    "int": int,
    "float": float,
    "bool": bool,
    "path": str,
}
# PaddleFlow's check of a `path` parameter's value (parameterHandler.go, CheckDictParam).
_PATH_VALUE = re.compile(r"^[.a-zA-Z0-9/_-]+$")

_TOP_KEYS = frozenset(
    {
        "name",
        "docker_env",
        "parallelism",
        "parameters",
        "entry_points",
        "post_process",
        "failure_options",
        "cache",
        "fs_options",
        "disabled",
    }
)
_STEP_KEYS = frozenset(
    {"command", "app_image", "deps", "parameters", "env", "artifacts", "cache", "docker_env"}
    | {"timeout", "hold", "policy", "condition", "title", "network", "extra_fs", "loop_argument"}
    | set(distributed.FIELDS)  # refused, saying why (workflow.distributed)
)
_FS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_FS_KEYS = frozenset({"name", "sub_path", "mount_path", "read_only"})


@dataclass(frozen=True, slots=True)
class CacheOptions:
    enable: bool = False
    max_expired_time: int = -1  # seconds an entry stays valid; -1 for ever
    # PaddleFlow's fs_scope: `name` or `name/path` of the owner's file systems whose
    # content is part of the cache fingerprint (editing a file there reruns the step).
    fs_scope: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FsMount:
    """A file system a step sees (PaddleFlow's fs_options): `name` names one of the run
    owner's file systems, `sub_path` a folder inside it (relative, no `..`)."""

    name: str
    sub_path: str = ""
    mount_path: str = ""  # PaddleFlow's path inside the container; recorded, see steps
    read_only: bool = False

    @property
    def reference(self) -> str:
        """`name` or `name/sub/path`: where below the owner's file systems it lives."""
        return f"{self.name}/{self.sub_path}" if self.sub_path else self.name


@dataclass(frozen=True, slots=True)
class StepSpec:
    name: str
    command: str = ""
    app_image: str = ""
    deps: tuple[str, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    input_artifacts: Mapping[str, str] = field(default_factory=dict)  # name -> "step.output"
    output_artifacts: tuple[str, ...] = ()
    cache: CacheOptions = CacheOptions()
    docker_env: str = ""
    timeout: int = 0
    post: bool = False
    hold: bool = False  # waits for a user's continue before it runs
    network: bool = False  # its sandbox asks for the network (the operator decides)
    execution_policy: ExecutionPolicy = ExecutionPolicy.STOP
    title: str = ""
    condition: Branching | None = None  # a condition step: no command
    extra_fs: tuple[FsMount, ...] = ()  # its own, then fs_options.extra_fs (PaddleFlow's order)
    # PaddleFlow's `condition: "{{num}} > 0"` (engine.expressions): false skips the step.
    when: str = ""
    # PaddleFlow's loop_argument: the items it runs once each for (a copy per item,
    # `step`, `step-1`, ...); loop_item is the copy's {{PF_LOOP_ARGUMENT}}.
    loop: tuple[str, ...] = ()
    loop_item: str | None = None
    # loop_argument: "{{name}}": a parameter (its value known when the run is made) or an
    # input artifact (its content once the upstream has run); the list is read when the
    # step is launched, and the step becomes one copy per item then (engine.loops).
    loop_ref: str = ""


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    name: str
    steps: tuple[StepSpec, ...]  # entry points in spec order, then the post step
    parameters: Mapping[str, str] = field(default_factory=dict)
    docker_env: str = ""
    parallelism: int = 10
    failure_strategy: FailureStrategy = FailureStrategy.FAIL_FAST
    main_fs: FsMount | None = None  # every step's working directory (fs_options.main_fs)
    disabled: tuple[str, ...] = ()  # steps not run unless a run names its own (PaddleFlow's)

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


def references(text: str) -> list[str]:
    """The `{{name}}` references in a string, in order."""
    return _REFERENCE.findall(text)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace the references `values` knows; leave the others for a later stage."""
    return _REFERENCE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def substitute_quoted(command: str, values: Mapping[str, str]) -> str:
    """`substitute` for a shell command: each value lands as one shell word, never as
    shell syntax, and cannot be taken for a reference by a later stage."""
    return _REFERENCE.sub(
        lambda m: shell_quote(values[m.group(1)]) if m.group(1) in values else m.group(0),
        command,
    )


def shell_quote(value: str) -> str:
    """shlex.quote, with every `{{` inside split as `{''{` (the same word to the shell):
    a command is filled in stages (parameters, then artifact paths at launch), and a
    value holding `{{name}}` must reach the process as those characters, not as another
    value pasted in by the next stage."""
    return _DOUBLE_BRACE.sub("{''", shlex.quote(value))


def check_fs_name(name: str, field_name: str = "fs_name") -> None:
    """InvalidArgument unless `name` is empty or can name a file system."""
    if name and (not _FS_NAME.match(name) or len(name) > MAX_NAME_LENGTH):
        raise InvalidArgument.of(
            field_name, f"must name a file system: letters, digits, '_' or '-', got {quoted(name)}"
        )


def parse_pipeline(text: str, field_name: str = "pipeline_yaml") -> PipelineSpec:
    """Parse and check a YAML spec; InvalidArgument lists every problem found."""
    if not text.strip():
        raise InvalidArgument.of(field_name, "the YAML spec is empty")
    if len(text.encode()) > MAX_YAML_BYTES:
        raise InvalidArgument.of(field_name, f"the YAML spec exceeds {MAX_YAML_BYTES} bytes")
    try:
        document = yaml.load(text, Loader=_SpecLoader)  # a SafeLoader: see _SpecLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = shortened(getattr(error, "problem", None) or str(error))
        raise InvalidArgument.of(field_name, f"not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise InvalidArgument.of(field_name, "the YAML spec is nested too deeply") from None
    except ValueError as error:  # a value YAML reads but Python refuses (a 5,000-digit int)
        raise InvalidArgument.of(
            field_name, f"not a usable value: {shortened(str(error))}"
        ) from None
    checker = _Checker()
    if isinstance(document, dict):
        document, problems = inline_components(document)
        checker.violations += problems
    if has_dags(document):
        for path in looping_dags(document["entry_points"]):
            checker.fail(
                path,
                "a sub-DAG's loop_argument must be the list itself (a non-empty YAML or "
                f"JSON list of at most {MAX_LOOP_ITEMS} scalars); a loop over a parameter or "
                "an artifact goes on the DAG's steps",
            )
        document = flatten(document)
    return checker.pipeline(document)


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader without aliases. An alias (`*name`) repeats a node without copying
    it, so a few hundred bytes of nested aliases expand to billions of elements (a
    "billion laughs" bomb) for whoever walks the document; no spec needs one."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._refuse("aliases (*name) are not allowed in a pipeline spec: write the value out")
        if self._depth >= MAX_YAML_DEPTH:
            self._refuse(f"the spec nests more than {MAX_YAML_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _refuse(self, problem: str) -> NoReturn:
        raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)  # type: ignore[no-untyped-call]


class _Checker:
    """Walks the document once, collecting violations instead of stopping at the first."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, path: str, description: str) -> None:
        # A path holds the caller's keys, a description may quote its values.
        self.violations.append(FieldViolation(shortened(path), shortened(description, 500)))

    def pipeline(self, document: object) -> PipelineSpec:
        if not isinstance(document, dict):
            raise InvalidArgument.of("", "the spec must be a YAML mapping")
        for key in document:
            if key not in _TOP_KEYS:
                self.fail(
                    str(key), f"unknown field; expected one of {', '.join(sorted(_TOP_KEYS))}"
                )
        name = self.pipeline_name(document.get("name"))
        parameters = self.parameters("parameters", document.get("parameters"))
        docker_env = self.string("docker_env", document.get("docker_env", ""))
        parallelism = self.integer("parallelism", document.get("parallelism", 10), 1, 1_000)
        defaults = self.cache("cache", document.get("cache"), CacheOptions())
        strategy = self.failure_strategy(document.get("failure_options"))
        main_fs, extra_fs = self.fs_options(document.get("fs_options"))
        steps = self.steps("entry_points", document.get("entry_points"), defaults, required=True)
        post = self.steps("post_process", document.get("post_process"), defaults, required=False)
        if len(post) > 1:
            self.fail("post_process", f"at most one post step is allowed, got {len(post)}")
        post_steps = tuple(replace(step, post=True) for step in post)
        for step in post_steps:
            if step.when or step.condition is not None:
                self.fail(f"post_process.{step.name}.condition", "the post step takes no condition")
            if step.deps:
                self.fail(
                    f"post_process.{step.name}.deps",
                    "the post step runs after every step; it takes no deps",
                )
        all_steps = steps + post_steps
        names = [step.name for step in all_steps]
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            self.fail(
                f"post_process.{duplicate}", "a post step must not share an entry point's name"
            )
        steps = self.loops(self.branch_deps(steps))
        if extra_fs:  # PaddleFlow appends the global extra_fs to every step's own
            steps = tuple(replace(s, extra_fs=s.extra_fs + extra_fs) for s in steps)
            post_steps = tuple(replace(s, extra_fs=s.extra_fs + extra_fs) for s in post_steps)
        all_steps = steps + post_steps
        disabled = self.deps("disabled", document.get("disabled"))
        for index, off in enumerate(disabled):
            if off not in names:
                self.fail(
                    f"disabled[{index}]", f"unknown step {quoted(off)}; steps: {quoted_list(names)}"
                )
        # Every check runs, whatever failed before: one round trip shows every problem.
        self.graph(steps, parameters)
        for step in post_steps:
            self.references(step, {s.name: s for s in all_steps}, parameters, "post_process")
        if self.violations:
            raise InvalidArgument(self.violations)
        return PipelineSpec(
            name=name,
            steps=all_steps,
            parameters=parameters,
            docker_env=docker_env,
            parallelism=parallelism,
            failure_strategy=strategy,
            main_fs=main_fs,
            disabled=disabled,
        )

    # --- fields ------------------------------------------------------------------------

    def pipeline_name(self, value: object) -> str:
        if not isinstance(value, str) or not value:
            self.fail("name", "is required: a non-empty string")
            return ""
        if len(value) > MAX_NAME_LENGTH or not _PIPELINE_NAME.match(value):
            self.fail(
                "name",
                f"must start with a letter or digit and hold only letters, digits, '_', '-', "
                f"'.' (at most {MAX_NAME_LENGTH} characters), got {quoted(value)}",
            )
        return value

    def string(self, path: str, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(path, f"must be a string, got {type(value).__name__}")
            return ""
        return str(value)

    def integer(self, path: str, value: object, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be an integer, got {quoted(value)}")
            return low
        if not low <= value <= high:
            self.fail(path, f"must be within [{low}, {high}], got {quoted(value)}")
            return low
        return value

    def mapping(self, path: str, value: object) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, got {type(value).__name__}")
            return {}
        return value

    def parameters(self, path: str, value: object) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, raw in self.mapping(path, value).items():
            where = f"{path}.{name}"
            if not isinstance(name, str) or not _VARIABLE.match(name):
                self.fail(
                    where,
                    "a parameter name must be a letter or '_' followed by letters, digits, '_' or '-'",
                )
                continue
            if name in SYSTEM_VARIABLES:
                self.fail(where, f"{name} is a system variable and cannot be redefined")
                continue
            result[name] = self.parameter_value(where, raw)
        return result

    def parameter_value(self, path: str, raw: object) -> str:
        if isinstance(raw, dict):
            unknown = set(raw) - {"type", "default"}
            if unknown:
                self.fail(
                    path,
                    f"unknown keys {sorted(map(str, unknown))}; a typed parameter has type and default",
                )
            kind = raw.get("type", "string")
            if kind not in _PARAM_TYPES:
                self.fail(
                    f"{path}.type", f"must be one of {', '.join(_PARAM_TYPES)}, got {quoted(kind)}"
                )
                return ""
            default = raw.get("default", "")
            expected = _PARAM_TYPES[kind]
            if kind == "float" and isinstance(default, int) and not isinstance(default, bool):
                default = float(default)
            if kind in ("int", "float") and isinstance(default, str):
                default = _number(default, expected)  # `default: "10"`, as PaddleFlow reads it
            if not isinstance(default, expected) or (expected is int and isinstance(default, bool)):
                self.fail(f"{path}.default", f"must be of type {kind}, got {quoted(default)}")
                return ""
            if kind == "path" and not _PATH_VALUE.match(str(default)):
                self.fail(
                    f"{path}.default",
                    f"a path holds only letters, digits, '.', '/', '_' and '-', got {quoted(default)}",
                )
                return ""
            return _render(default)
        if raw is None or isinstance(raw, str | int | float | bool):
            return _render(raw)
        if isinstance(raw, list) and all(isinstance(i, str | int | float | bool) for i in raw):
            return json.dumps(raw)  # a list (a loop's items, say) travels as its JSON text
        self.fail(path, f"must be a scalar, a list or {{type, default}}, got {type(raw).__name__}")
        return ""

    def cache(self, path: str, value: object, defaults: CacheOptions) -> CacheOptions:
        options = self.mapping(path, value)
        for key in options:
            if key not in ("enable", "max_expired_time", "fs_scope"):
                self.fail(
                    f"{path}.{key}", "unknown field; expected enable, max_expired_time or fs_scope"
                )
        enable = options.get("enable", defaults.enable)
        if not isinstance(enable, bool):
            self.fail(f"{path}.enable", f"must be true or false, got {quoted(enable)}")
            enable = False
        expiry = options.get("max_expired_time", defaults.max_expired_time)
        if isinstance(expiry, str):  # PaddleFlow keeps it as a string of digits
            expiry = _number(expiry, int)
        if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry < -1:
            self.fail(
                f"{path}.max_expired_time",
                f"must be seconds (>= 0) or -1 for ever, got {quoted(expiry)}",
            )
            expiry = -1
        scope = (
            self.fs_scope(f"{path}.fs_scope", options["fs_scope"])
            if "fs_scope" in options
            else defaults.fs_scope
        )
        return CacheOptions(enable=enable, max_expired_time=expiry, fs_scope=scope)

    def fs_scope(self, path: str, value: object) -> tuple[str, ...]:
        """[{name, path: "a,b/c"}] -> ("name/a", "name/b/c"); a path is relative to the
        file system's root (a leading '/' names the root too); no path: the whole fs."""
        if value is None:
            return ()
        if isinstance(value, str):  # PaddleFlow's old docs (3_cache.md, removed since)
            self.fail(
                path,
                "a string of paths is PaddleFlow's form before its fs_options (2022) and "
                f"its parser refuses it now: write [{{name: <fs>, path: {quoted(value)}}}]",
            )
            return ()
        if not isinstance(value, list):
            self.fail(path, f"must be a list of {{name, path}}, got {type(value).__name__}")
            return ()
        scope: list[str] = []
        for index, raw in enumerate(value):
            where = f"{path}[{index}]"
            item = self.mapping(where, raw)
            for key in item:
                if key not in ("name", "path"):
                    self.fail(f"{where}.{key}", "unknown field; expected name or path")
            name = item.get("name")
            if not isinstance(name, str) or not _FS_NAME.match(name):
                self.fail(f"{where}.name", f"must name a file system, got {quoted(name)}")
                continue
            for part in self.string(f"{where}.path", item.get("path")).split(","):
                relative = part.strip().strip("/")
                if relative and _relative_path_problem(relative):
                    self.fail(
                        f"{where}.path",
                        f"must be paths inside the file system, without '.' or '..', got {quoted(part)}",
                    )
                    continue
                scope.append(f"{name}/{relative}" if relative else name)
        return tuple(dict.fromkeys(scope))

    def fs_options(self, value: object) -> tuple[FsMount | None, tuple[FsMount, ...]]:
        options = self.mapping("fs_options", value)
        for key in options:
            if key not in ("main_fs", "extra_fs"):
                self.fail(f"fs_options.{key}", "unknown field; expected main_fs or extra_fs")
        main = options.get("main_fs")
        main_fs = None if main is None else self.fs_mount("fs_options.main_fs", main)
        if main_fs is not None and main_fs.read_only:
            self.fail("fs_options.main_fs.read_only", "the main file system is always writable")
        return main_fs, self.fs_mounts("fs_options.extra_fs", options.get("extra_fs"))

    def fs_mounts(self, path: str, value: object) -> tuple[FsMount, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(
                path,
                f"must be a list of {{name, sub_path, mount_path, read_only}}, got {type(value).__name__}",
            )
            return ()
        mounts = (self.fs_mount(f"{path}[{i}]", raw) for i, raw in enumerate(value))
        return tuple(mount for mount in mounts if mount is not None)

    def fs_mount(self, path: str, value: object) -> FsMount | None:
        body = self.mapping(path, value)
        for key in body:
            if key not in _FS_KEYS:
                self.fail(
                    f"{path}.{key}", f"unknown field; expected one of {', '.join(sorted(_FS_KEYS))}"
                )
        name = body.get("name")
        if not isinstance(name, str) or not _FS_NAME.match(name) or len(name) > MAX_NAME_LENGTH:
            self.fail(
                f"{path}.name",
                f"must name a file system: letters, digits, '_' or '-', got {quoted(name)}",
            )
            return None
        sub_path = self.string(f"{path}.sub_path", body.get("sub_path"))
        if sub_path.startswith("/"):
            self.fail(f"{path}.sub_path", "must be relative: it must not start with '/'")
            sub_path = ""
        sub_path = sub_path.rstrip("/")
        if sub_path and _relative_path_problem(sub_path):
            self.fail(
                f"{path}.sub_path",
                f"must be a plain relative path without '.' or '..', got {quoted(sub_path)}",
            )
            sub_path = ""
        mount_path = self.string(f"{path}.mount_path", body.get("mount_path"))
        if mount_path and not mount_path.startswith("/"):
            self.fail(f"{path}.mount_path", f"must be an absolute path, got {quoted(mount_path)}")
        elif mount_path and (
            mount_path.strip("/") == ""
            or _relative_path_problem(mount_path.strip("/"))
            or mount_path.split("/")[1] in ("dev", "proc")
        ):
            self.fail(
                f"{path}.mount_path",
                "must be a folder path below / (not /, /dev or /proc; no '.' or '..'), "
                f"got {quoted(mount_path)}",
            )
            mount_path = ""
        read_only = body.get("read_only", False)
        if not isinstance(read_only, bool):
            self.fail(f"{path}.read_only", f"must be true or false, got {quoted(read_only)}")
            read_only = False
        return FsMount(name, sub_path, mount_path, read_only)

    def failure_strategy(self, value: object) -> FailureStrategy:
        options = self.mapping("failure_options", value)
        raw = options.get("strategy", FailureStrategy.FAIL_FAST.value)
        try:
            return FailureStrategy(raw)
        except ValueError:
            self.fail(
                "failure_options.strategy", f"must be fail_fast or continue, got {quoted(raw)}"
            )
            return FailureStrategy.FAIL_FAST

    def steps(
        self, path: str, value: object, defaults: CacheOptions, *, required: bool
    ) -> tuple[StepSpec, ...]:
        if value is None and not required:
            return ()
        entries = self.mapping(path, value)
        if required and not entries:
            if value is None or isinstance(value, dict):
                self.fail(path, "is required: a mapping of step name to step")
            return ()
        if len(entries) > MAX_STEPS:
            self.fail(path, f"at most {MAX_STEPS} steps are allowed, got {len(entries)}")
            return ()
        return tuple(
            self.step(f"{path}.{name}", name, raw, defaults) for name, raw in entries.items()
        )

    def step(self, path: str, name: object, raw: object, defaults: CacheOptions) -> StepSpec:
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
            self.fail(
                path,
                f"a step name must be a letter followed by letters, digits, '_' or '-' (at most {MAX_NAME_LENGTH})",
            )
            name = str(name)
        body = self.mapping(path, raw)
        for key in body:
            if key not in _STEP_KEYS:
                self.fail(
                    f"{path}.{key}",
                    f"unknown field; expected one of {', '.join(sorted(_STEP_KEYS))}",
                )
        command = self.string(f"{path}.command", body.get("command"))
        app_image = self.string(f"{path}.app_image", body.get("app_image"))
        # PaddleFlow's condition is an expression string; ModelArts' a mapping.
        raw_condition = body.get("condition")
        when = ""
        if isinstance(raw_condition, str):
            when = raw_condition.strip()
            if not when:
                self.fail(f"{path}.condition", "an expression such as '{{num}} > 0' is required")
        condition = (
            self.branching(f"{path}.condition", raw_condition)
            if "condition" in body and not isinstance(raw_condition, str)
            else None
        )
        job_field = next((key for key in distributed.FIELDS if key in body), None)
        if job_field is not None:  # one violation saying why, not also "needs a command"
            self.fail(f"{path}.{job_field}", distributed.field_problem(job_field, body[job_field]))
        elif condition is not None and (command or app_image):
            self.fail(path, "a condition step runs no command or app_image")
        elif condition is None and bool(command) == bool(app_image):
            self.fail(
                path, distributed.env_form_problem(body.get("env")) or _ONE_OF_COMMAND_OR_IMAGE
            )
        hold = body.get("hold", False)
        if not isinstance(hold, bool):
            self.fail(f"{path}.hold", f"must be true or false, got {quoted(hold)}")
            hold = False
        network = body.get("network", False)
        if not isinstance(network, bool):
            self.fail(f"{path}.network", f"must be true or false, got {network!r}")
            network = False
        policy = self.mapping(f"{path}.policy", body.get("policy"))
        for key in policy:
            if key not in ("execution_policy", "use_cache"):
                self.fail(
                    f"{path}.policy.{key}", "unknown field; expected execution_policy or use_cache"
                )
        try:
            execution_policy = ExecutionPolicy(policy.get("execution_policy", "stop"))
        except ValueError:
            self.fail(
                f"{path}.policy.execution_policy",
                f"must be retry, stop or continue, got {quoted(policy.get('execution_policy'))}",
            )
            execution_policy = ExecutionPolicy.STOP
        artifacts = self.mapping(f"{path}.artifacts", body.get("artifacts"))
        for key in artifacts:
            if key not in ("input", "output"):
                self.fail(f"{path}.artifacts.{key}", "unknown field; expected input or output")
        inputs: dict[str, str] = {}
        for art, ref in self.mapping(f"{path}.artifacts.input", artifacts.get("input")).items():
            where = f"{path}.artifacts.input.{art}"
            target = _unwrap_reference(ref)
            if not isinstance(art, str) or not _VARIABLE.match(art):
                self.fail(
                    where,
                    "an artifact name must be a letter or '_' followed by letters, digits, '_' or '-'",
                )
            elif not isinstance(target, str) or "." not in target.strip("."):
                self.fail(
                    where,
                    f"must reference an upstream output as {{{{step.artifact}}}}, got {quoted(ref)}",
                )
            else:
                inputs[art] = target
        outputs = self.outputs(f"{path}.artifacts.output", artifacts.get("output"))
        loop, loop_ref = self.loop(f"{path}.loop_argument", body.get("loop_argument"))
        for clash in sorted(set(inputs) & set(outputs)):
            self.fail(f"{path}.artifacts.output", f"{quoted(clash)} is also an input artifact")
        return StepSpec(
            name=name,
            command=command,
            app_image=app_image,
            deps=self.deps(f"{path}.deps", body.get("deps")),
            parameters=self.parameters(f"{path}.parameters", body.get("parameters")),
            env={
                str(k): self.string(f"{path}.env.{k}", v)
                for k, v in self.mapping(f"{path}.env", body.get("env")).items()
            },
            input_artifacts=inputs,
            output_artifacts=outputs,
            cache=self.cache(f"{path}.cache", body.get("cache"), defaults),
            docker_env=self.string(f"{path}.docker_env", body.get("docker_env")),
            timeout=self.integer(f"{path}.timeout", body.get("timeout", 0), 0, 7 * 24 * 3600),
            hold=hold,
            network=network,
            execution_policy=execution_policy,
            title=self.string(f"{path}.title", body.get("title")),
            condition=condition,
            extra_fs=self.fs_mounts(f"{path}.extra_fs", body.get("extra_fs")),
            when=when,
            loop=loop,
            loop_ref=loop_ref,
        )

    def branching(self, path: str, value: object) -> Branching | None:
        body = self.mapping(path, value)
        for key in body:
            if key not in ("conditions", "if_then_steps", "else_then_steps"):
                self.fail(
                    f"{path}.{key}",
                    "unknown field; expected conditions, if_then_steps or else_then_steps",
                )
        conditions = self.conditions(f"{path}.conditions", body.get("conditions"))
        if not conditions:
            self.fail(f"{path}.conditions", "a condition step needs at least one condition")
        return Branching(
            conditions=conditions,
            if_then=self.deps(f"{path}.if_then_steps", body.get("if_then_steps")),
            else_then=self.deps(f"{path}.else_then_steps", body.get("else_then_steps")),
        )

    def conditions(self, path: str, value: object) -> tuple[Condition, ...]:
        if not isinstance(value, list):
            self.fail(path, "must be a list of {type, left, right}")
            return ()
        result = []
        for index, raw in enumerate(value):
            where = f"{path}[{index}]"
            item = self.mapping(where, raw)
            kind = item.get("type")
            if kind not in OPERATORS:
                self.fail(
                    f"{where}.type",
                    f"must be one of {', '.join(sorted(OPERATORS))}, got {quoted(kind)}",
                )
                continue
            if kind == "or":
                inner = self.conditions(f"{where}.conditions", item.get("conditions"))
                result.append(Condition("or", any_of=inner))
                continue
            result.append(
                Condition(
                    str(kind),
                    _render(item.get("left"))
                    if not isinstance(item.get("left"), str)
                    else item["left"],
                    _render(item.get("right"))
                    if not isinstance(item.get("right"), str)
                    else item["right"],
                )
            )
        return tuple(result)

    def branch_deps(self, steps: tuple[StepSpec, ...]) -> tuple[StepSpec, ...]:
        """A condition step's branches depend on it, whether or not they say so."""
        names = {step.name for step in steps}
        extra: dict[str, list[str]] = {}
        for step in steps:
            if step.condition is None:
                continue
            for field_name, branch in (
                ("if_then_steps", step.condition.if_then),
                ("else_then_steps", step.condition.else_then),
            ):
                for target in branch:
                    if target not in names or target == step.name:
                        self.fail(
                            f"entry_points.{step.name}.condition.{field_name}",
                            f"unknown step {quoted(target)}",
                        )
                    else:
                        extra.setdefault(target, []).append(step.name)
        return tuple(
            replace(step, deps=tuple(dict.fromkeys((*step.deps, *extra.get(step.name, ())))))
            for step in steps
        )

    def deps(self, path: str, value: object) -> tuple[str, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            items: Sequence[object] = [part.strip() for part in value.split(",")]
        elif isinstance(value, list):
            items = value
        else:
            self.fail(
                path, f"must be a comma-separated string or a list, got {type(value).__name__}"
            )
            return ()
        deps: list[str] = []
        for item in items:
            if not isinstance(item, str) or not item:
                self.fail(path, f"must name steps, got {quoted(item)}")
            elif item not in deps:
                deps.append(item)
        return tuple(deps)

    def outputs(self, path: str, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        names = list(value) if isinstance(value, list | dict) else None
        if names is None:
            self.fail(path, f"must be a list of artifact names, got {type(value).__name__}")
            return ()
        for name in names:
            if not isinstance(name, str) or not _VARIABLE.match(name):
                self.fail(
                    path,
                    f"an artifact name must be a letter or '_' followed by letters, digits, '_' or '-', got {quoted(name)}",
                )
        return tuple(str(name) for name in names)

    # --- the graph ---------------------------------------------------------------------

    def graph(self, steps: tuple[StepSpec, ...], globals_: Mapping[str, str]) -> None:
        by_name = {step.name: step for step in steps}
        for step in steps:
            for dep in step.deps:
                if dep == step.name:
                    self.fail(f"entry_points.{step.name}.deps", "a step cannot depend on itself")
                elif dep not in by_name:
                    self.fail(
                        f"entry_points.{step.name}.deps",
                        f"unknown step {quoted(dep)}; steps: {quoted_list(by_name)}",
                    )
        cycle = _find_cycle(steps)
        if cycle:
            self.fail(f"entry_points.{cycle[0]}.deps", f"dependency cycle: {' -> '.join(cycle)}")
        for step in steps:
            self.references(step, by_name, globals_, "entry_points")

    def references(
        self,
        step: StepSpec,
        steps: Mapping[str, StepSpec],
        globals_: Mapping[str, str],
        section: str,
    ) -> None:
        """Every `{{...}}` must name a parameter, a system variable, one of the step's
        artifacts, or a parameter of a step it depends on."""
        path = f"{section}.{step.name}"
        own = set(step.parameters) | set(globals_) | SYSTEM_VARIABLES
        artifacts = set(step.input_artifacts) | set(step.output_artifacts)
        texts = [("command", step.command)]
        if step.condition is not None:
            texts += _condition_texts("condition.conditions", step.condition.conditions)
        texts += [(f"env.{k}", v) for k, v in step.env.items()]
        texts += [(f"parameters.{k}", v) for k, v in step.parameters.items()]
        for where, text in texts:
            for ref in references(text):
                if "." in ref:
                    upstream, _, param = ref.rpartition(".")
                    if upstream not in steps or (upstream not in step.deps and not step.post):
                        self.fail(
                            f"{path}.{where}",
                            f"{{{{{ref}}}}} names step {quoted(upstream)}, which is not among deps",
                        )
                    elif steps[upstream].when:
                        self.fail(f"{path}.{where}", _CONDITIONAL.format(ref=ref, step=upstream))
                    elif (
                        param not in steps[upstream].parameters
                        and not where.startswith("condition.")  # or a metric it reports
                    ):
                        self.fail(
                            f"{path}.{where}",
                            f"{{{{{ref}}}}}: step {quoted(upstream)} has no parameter {quoted(param)}",
                        )
                elif ref in artifacts:
                    if where.startswith("parameters."):
                        self.fail(
                            f"{path}.{where}",
                            f"{{{{{ref}}}}} is an artifact; parameters cannot hold artifact paths",
                        )
                elif ref in _RETIRED_SYSTEM_VARIABLES:
                    self.fail(f"{path}.{where}", _RETIRED.format(ref=ref))
                elif ref not in own:
                    self.fail(f"{path}.{where}", f"unknown reference {{{{{ref}}}}}")
        if step.when:
            self.when(step, f"{path}.condition", own)
        if step.loop_ref:
            self.loop_reference(step, steps, own, f"{path}.loop_argument")
        for art, target in step.input_artifacts.items():
            upstream, _, output = target.rpartition(".")
            where = f"{path}.artifacts.input.{art}"
            if upstream not in steps or (upstream not in step.deps and not step.post):
                self.fail(where, f"names step {quoted(upstream)}, which is not among deps")
            elif steps[upstream].when:
                self.fail(where, _CONDITIONAL.format(ref=target, step=upstream))
            elif output not in steps[upstream].output_artifacts:
                self.fail(where, f"step {quoted(upstream)} has no output artifact {quoted(output)}")

    def loop(self, path: str, value: object) -> tuple[tuple[str, ...], str]:
        """(items, reference): a list, or a JSON list in a string, of scalars (PaddleFlow
        renders each with %v); or one `{{name}}` whose list is read at run time."""
        if value is None:
            return (), ""
        if isinstance(value, str) and references(value):
            match = _REFERENCE.fullmatch(value.strip())
            if match is None:
                self.fail(
                    path,
                    "must be a list, a JSON list, or one reference such as '{{nums}}' "
                    f"(a parameter or an input artifact), got {quoted(value)}",
                )
                return (), ""
            return (), match.group(1)
        try:
            return loop_items(value), ""
        except ValueError as error:
            self.fail(path, str(error))
            return (), ""

    def loop_reference(
        self, step: StepSpec, steps: Mapping[str, StepSpec], own: set[str], path: str
    ) -> None:
        """PaddleFlow's loop_argument references: a parameter of the step (or the
        pipeline's), or one of its input artifacts (a file holding a JSON list); ours
        also takes an upstream step's parameter, `{{step.param}}`, as commands do."""
        ref = step.loop_ref
        if ref in SYSTEM_VARIABLES:
            self.fail(path, f"{{{{{ref}}}}} is a system variable, not a list")
        elif "." in ref:
            upstream, _, param = ref.rpartition(".")
            if upstream not in steps or upstream not in step.deps:
                self.fail(
                    path, f"{{{{{ref}}}}} names step {quoted(upstream)}, which is not among deps"
                )
            elif param not in steps[upstream].parameters:
                self.fail(
                    path,
                    f"{{{{{ref}}}}}: step {quoted(upstream)} has no parameter {quoted(param)} "
                    f"(an artifact is read through an input artifact of this step)",
                )
        elif ref in step.output_artifacts:
            self.fail(path, f"{{{{{ref}}}}} is an output of this step; a loop reads an input")
        elif ref not in own and ref not in step.input_artifacts:
            self.fail(
                path,
                f"{{{{{ref}}}}} must name a parameter or an input artifact of the step",
            )
        if "PF_LOOP_ARGUMENT" in step.when:
            self.fail(
                f"{path.rpartition('.')[0]}.condition",
                "a condition on {{PF_LOOP_ARGUMENT}} needs the loop's list in the spec; "
                "this one is read at run time",
            )

    def loops(self, steps: tuple[StepSpec, ...]) -> tuple[StepSpec, ...]:
        """A step with a loop becomes one step per item (PaddleFlow's runtime names:
        `step`, `step-1`, ...); what depends on it waits for every copy."""
        copies = {
            step.name: [
                step.name if index == 0 else f"{step.name}-{index}"
                for index in range(len(step.loop))
            ]
            for step in steps
            if step.loop
        }
        later = {step.name for step in steps if step.loop_ref}  # copies made at run time
        for step in steps:
            base, dash, number = step.name.rpartition("-")
            if dash and number.isdigit() and base in later:
                self.fail(
                    f"entry_points.{base}.loop_argument",
                    f"its runs are named {quoted(base)}-1, -2, ...: rename step {quoted(step.name)}",
                )
        if later:
            copies.update({name: [name] for name in later})
        if not copies:
            return steps
        taken = {step.name for step in steps}
        for name, names in copies.items():
            for clash in sorted(taken & set(names[1:])):
                self.fail(
                    f"entry_points.{name}.loop_argument",
                    f"its run {quoted(clash)} would share a step's name; rename that step",
                )
        expanded: list[StepSpec] = []
        for step in steps:
            deps = tuple(
                dict.fromkeys(name for dep in step.deps for name in copies.get(dep, [dep]))
            )
            if not step.loop or step.loop_ref:
                expanded.append(replace(step, deps=deps))
                continue
            for name, item in zip(copies[step.name], step.loop, strict=True):
                expanded.append(replace(step, name=name, deps=deps, loop_item=item))
        return tuple(expanded)

    def when(self, step: StepSpec, path: str, own: set[str]) -> None:
        """PaddleFlow's checkCondition: templates name the step's parameters (or system
        variables), and the text without their braces parses."""
        for ref in references(step.when):
            if ref in step.input_artifacts:
                self.fail(
                    path,
                    f"{{{{{ref}}}}} is an input artifact; conditions on artifact contents "
                    "are not supported here yet: pass the value as a parameter",
                )
            elif ref not in own:
                self.fail(path, f"{{{{{ref}}}}} in a condition must name a parameter of the step")
        try:
            check_expression(step.when.replace("{{", "").replace("}}", ""))
        except ExpressionError as error:
            self.fail(path, f"not a condition expression: {error}")


_CONDITIONAL = (
    "{{{{{ref}}}}}: step {step!r} has a condition, so its parameters and output "
    "artifacts cannot be referenced (it may not run)"
)


def _condition_texts(path: str, conditions: tuple[Condition, ...]) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for index, condition in enumerate(conditions):
        where = f"{path}[{index}]"
        if condition.op == "or":
            texts += _condition_texts(f"{where}.conditions", condition.any_of)
        else:
            texts += [(f"{where}.left", condition.left), (f"{where}.right", condition.right)]
    return texts


def _unwrap_reference(ref: object) -> object:
    """`{{step.output}}` -> `step.output`; PaddleFlow accepts the bare form too."""
    if isinstance(ref, str) and (match := _REFERENCE.fullmatch(ref.strip())):
        return match.group(1)
    return ref


_ONE_OF_COMMAND_OR_IMAGE = "a step needs exactly one of command or app_image"


def _relative_path_problem(text: str) -> str | None:
    """Why `text` is no plain relative path inside a folder (None: it is one)."""
    for part in text.split("/"):
        problem = directory_name_problem(part)
        if problem is not None:
            return problem
    return None


def _number(text: str, kind: type) -> object:
    """`text` as an int or float when it reads as one, else `text` (then refused)."""
    try:
        return kind(text.strip())
    except ValueError:
        return text


def _render(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _find_cycle(steps: Sequence[StepSpec]) -> list[str]:
    """A dependency cycle as [a, b, ..., a], or [] when the graph is acyclic. Unknown
    steps and a step naming itself are reported on their own and not followed here."""
    names = {step.name for step in steps}
    deps = {
        step.name: tuple(d for d in step.deps if d in names and d != step.name) for step in steps
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in deps:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            if index < len(deps[node]):
                stack.append((node, index + 1))
                nxt = deps[node][index]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return []
