"""The checks Kuscia's own CreateJob makes on a request, with its limits.

Facts from secretflow/kuscia: `validateCreateJobRequest` and the resource loop of
`CreateJob` in pkg/kusciaapi/service/job_service.go, the job id pattern `K3sRegex` in
pkg/common/constants.go, and Kubernetes' quantity grammar (k8s.io/apimachinery
pkg/api/resource, ParseQuantity), which Kuscia applies to cpu, memory and bandwidth.
The engine's own validation (server/engine/validation.py) runs after these and adds
dagwire's bounds; these are the ones a Kuscia client has learnt to expect.
"""

from __future__ import annotations

import re

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.names import DNS1123_LABEL_PATTERN, is_dns1123_label

# <signed number><suffix>: binary (Ki..Ei), decimal (n u m "" k M G T P E) or an exponent.
_QUANTITY = re.compile(
    r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)

# The JobResource fields Kuscia parses as quantities, in its order.
_RESOURCE_FIELDS = ("cpu", "memory", "bandwidth")


def is_quantity(text: str) -> bool:
    """`text` parses as a Kubernetes resource quantity ("500m", "2Gi", "1e3")."""
    return _QUANTITY.match(text) is not None


def validate_create_request(request: pb.CreateJobRequest) -> None:
    """Raise InvalidRequest (11100) where Kuscia's CreateJob would refuse the request."""
    # An empty job_id is left to the engine's "job_id is required".
    if request.job_id and not is_dns1123_label(request.job_id):
        raise InvalidRequest(
            f"job_id {request.job_id[:80]!r} is invalid: it must match "
            f"{DNS1123_LABEL_PATTERN!r} (lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    for t_index, task in enumerate(request.tasks):
        for p_index, party in enumerate(task.parties):
            where = f"tasks[{t_index}].parties[{p_index}]"
            _check_resources(where, party)
            _check_bandwidth_limits(where, party)


def _check_resources(where: str, party: pb.Party) -> None:
    for name in _RESOURCE_FIELDS:
        value = getattr(party.resources, name)
        if value and not is_quantity(value):
            raise InvalidRequest(
                f"parse input {name} resource failed: {where}.resources.{name} {value[:40]!r} "
                "is not a quantity such as '500m', '2', '512Mi' or '1Gi'"
            )


def _check_bandwidth_limits(where: str, party: pb.Party) -> None:
    for index, limit in enumerate(party.bandwidth_limits):
        if limit.limit_kbps <= 0:
            raise InvalidRequest(
                f"bandwidth limit kbps can not be zero or negative: "
                f"{where}.bandwidth_limits[{index}].limit_kbps is {limit.limit_kbps}"
            )
        if not limit.destination_id:
            raise InvalidRequest(
                f"bandwidth limit destination id can not be empty: "
                f"{where}.bandwidth_limits[{index}].destination_id"
            )
