"""PaddleFlow's distributed job forms, and what a spec using one is told here.

A PaddleFlow step asks for a distributed job in one of two ways (PaddleFlow's
example/pipeline/ray_job_example, paddle_job_example and distributed_job_example):
- an empty `command` whose env names `PF_JOB_TYPE: distributed` and a
  `PF_JOB_FRAMEWORK`, with the framework's own variables (`PD_JOB_*`, `RAY_JOB_*`);
- a `distributed_job` mapping (`distributed_jobs` in its first version) of a
  `framework` and `members` (role, replicas, image, flavour, command).
PaddleFlow hands either to the Kubernetes operator of that framework
(pkg/common/schema/job.go's frameworks). This server runs a step's command as
processes, locally or on a Ray cluster through an app image registered with
`executor: ray`, and builds no operator job from either form, the Ray one included
(its members or RAY_JOB_* variables describe a cluster to create, not a command to
run). So CreatePipeline refuses both with one violation on the step that names what
the form needs and what to write instead, never "unknown field".
"""

from __future__ import annotations

from collections.abc import Mapping

from dagwire.server.engine.quoting import quoted

# The step fields of the mapping form: `distributed_jobs` as PaddleFlow first named it
# (its commit 922ec5ed), `distributed_job` since (its parser.go, CompTypeDistributedJob).
FIELDS = ("distributed_job", "distributed_jobs")

# framework -> what PaddleFlow hands its distributed job to, and the env variable (env
# form) that names the job's entry point, if the framework has one.
FORMS: Mapping[str, tuple[str, str]] = {
    "paddle": ("a Kubernetes PaddleJob operator (PS or Collective mode)", "PD_JOB_ENTRY_POINT"),
    "ray": (
        "a Kubernetes KubeRay operator (a RayJob with head and worker groups)",
        "RAY_JOB_ENTRY_POINT",
    ),
    "spark": ("a Kubernetes Spark operator (a SparkApplication)", "PF_JOB_SPARK_MAIN_FILE"),
    "pytorch": ("a Kubernetes PyTorchJob operator (Kubeflow training)", ""),
    "tensorflow": ("a Kubernetes TFJob operator (Kubeflow training)", ""),
    "mpi": ("a Kubernetes MPIJob operator", ""),
    "mxnet": ("a Kubernetes MXJob operator", ""),
}
_UNKNOWN = "a Kubernetes operator for that framework"

_INSTEAD = (
    "dagwire runs a step's command as processes, locally or on a Ray cluster: "
    "give the step a command{hint}, or an app_image registered with `executor: ray`"
)


def env_form_problem(env: object) -> str:
    """What an empty-command step whose env asks for a PaddleFlow job is told (PF_JOB_TYPE
    names one); empty when its env asks for none."""
    if not isinstance(env, dict) or not env.get("PF_JOB_TYPE"):
        return ""
    job_type = str(env.get("PF_JOB_TYPE"))
    framework = str(env.get("PF_JOB_FRAMEWORK", "") or "")
    if job_type != "distributed" and not framework:
        return (
            f"an empty command with env PF_JOB_TYPE {quoted(job_type)} runs the image's own "
            "entry point in PaddleFlow; dagwire runs no image: give the step a command"
        )
    operator, entry_variable = FORMS.get(framework, (_UNKNOWN, ""))
    entry = env.get(entry_variable) if entry_variable else None
    hint = f" (e.g. command: {quoted(entry)}, from {entry_variable})" if entry else ""
    mode = f", PF_JOB_MODE {quoted(env['PF_JOB_MODE'])}" if env.get("PF_JOB_MODE") else ""
    return (
        f"an empty command asks PaddleFlow for a distributed {framework or 'framework-less'} "
        f"job (env PF_JOB_TYPE {quoted(job_type)}, PF_JOB_FRAMEWORK {quoted(framework)}{mode}), "
        f"which needs {operator}; " + _INSTEAD.format(hint=hint)
    )


def field_problem(field: str, value: object) -> str:
    """What a step with a `distributed_job` (or `distributed_jobs`) mapping is told."""
    if not isinstance(value, dict):
        return f"{field} must be a mapping of framework and members, got {quoted(value)}"
    framework = value.get("framework")
    if not isinstance(framework, str) or not framework:
        return f"{field} needs a framework (one of {', '.join(sorted(FORMS))}); " + _INSTEAD.format(
            hint=""
        )
    operator = FORMS.get(framework, (_UNKNOWN, ""))[0]
    return (
        f"{field} framework {quoted(framework)}{_members(value.get('members'))} needs "
        f"{operator}; " + _INSTEAD.format(hint=_member_hint(value.get("members")))
    )


def _members(members: object) -> str:
    """` (members pserver x2, pworker x2)`: what the job would have run."""
    if not isinstance(members, list) or not members:
        return " (no members)"
    roles = []
    for member in members[:8]:
        if isinstance(member, dict):
            roles.append(f"{member.get('role', '?')} x{member.get('replicas', 1)}")
    return f" (members {', '.join(roles)})" if roles else ""


def _member_hint(members: object) -> str:
    """The first member's command, to put in the step's own command."""
    if isinstance(members, list):
        for member in members:
            command = member.get("command") if isinstance(member, dict) else None
            if isinstance(command, str) and command.strip():
                return f" (e.g. a member's command: {quoted(command)})"
    return ""
