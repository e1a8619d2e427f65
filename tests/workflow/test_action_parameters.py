"""The checks on an action's parameters (ModelArts' WorkflowParameter): every type, enum,
format and constraint, met and broken, and names the step does not have."""

from __future__ import annotations

import pytest

from dagwire.server.workflow.action_parameters import (
    ActionParameter,
    DataRequirement,
    action_overrides,
)
from dagwire.server.workflow.errors import InvalidArgument

KNOWN = {"p", "data"}


def problems(parameter: ActionParameter) -> dict[str, str]:
    try:
        action_overrides([parameter], [], KNOWN)
    except InvalidArgument as error:
        return {v.field: v.description for v in error.violations}
    return {}


@pytest.mark.parametrize(
    "parameter",
    [
        pytest.param(ActionParameter("p", "text"), id="str-by-default"),
        pytest.param(ActionParameter("p", "-3", type="int"), id="int"),
        pytest.param(ActionParameter("p", "0.5", type="float"), id="float"),
        pytest.param(ActionParameter("p", "true", type="bool"), id="bool"),
        pytest.param(ActionParameter("p", "b", enum=("a", "b")), id="in-enum"),
        pytest.param(ActionParameter("p", '{"a": 1}', format="json"), id="json"),
        pytest.param(
            ActionParameter("p", "6f1c1e5e-2f6b-4c59-9a53-0f1d3c8a2b10", format="uuid"), id="uuid"
        ),
        pytest.param(ActionParameter("p", "2025-01-01T10:00:00", format="date-time"), id="time"),
        pytest.param(ActionParameter("p", "7", format="schedule"), id="display-format"),
        pytest.param(ActionParameter("p", "5", constraint={"min": "1", "max": "5"}), id="range"),
        pytest.param(
            ActionParameter("p", "abc", constraint={"min_length": "3", "max_length": "3"}),
            id="length",
        ),
        pytest.param(ActionParameter("p", "v12", constraint={"pattern": r"v\d+"}), id="pattern"),
        pytest.param(ActionParameter("p", default="4", type="int"), id="default-when-no-value"),
    ],
)
def test_a_value_meeting_its_declaration_is_an_override(parameter: ActionParameter) -> None:
    assert action_overrides([parameter], [], KNOWN) == {"p": parameter.effective}


@pytest.mark.parametrize(
    ("parameter", "words"),
    [
        pytest.param(ActionParameter("p", "x", type="int"), "'x' is not of type int", id="int"),
        pytest.param(ActionParameter("p", "nan", type="float"), "not of type float", id="float"),
        pytest.param(ActionParameter("p", "yes", type="bool"), "not of type bool", id="bool"),
        pytest.param(ActionParameter("p", "x", type="list"), "type 'list'", id="unknown-type"),
        pytest.param(ActionParameter("p", "c", enum=("a", "b")), "not one of a, b", id="enum"),
        pytest.param(ActionParameter("p", "{", format="json"), "is not json", id="json"),
        pytest.param(ActionParameter("p", "x", format="uuid"), "is not uuid", id="uuid"),
        pytest.param(ActionParameter("p", "0", constraint={"min": "1"}), "at least 1", id="min"),
        pytest.param(ActionParameter("p", "9", constraint={"max": "5"}), "at most 5", id="max"),
        pytest.param(
            ActionParameter("p", "ab", constraint={"min_length": "3"}), "at least 3", id="short"
        ),
        pytest.param(
            ActionParameter("p", "abcd", constraint={"max_length": "3"}), "at most 3", id="long"
        ),
        pytest.param(
            ActionParameter("p", "x1", constraint={"pattern": r"v\d+"}), "does not match", id="re"
        ),
        pytest.param(
            ActionParameter("p", "1", constraint={"step": "2"}), "constraint 'step'", id="unknown"
        ),
    ],
)
def test_a_value_breaking_its_declaration_is_refused_naming_it(
    parameter: ActionParameter, words: str
) -> None:
    assert words in problems(parameter)["parameters.p"]


def test_unknown_names_are_refused_all_together() -> None:
    with pytest.raises(InvalidArgument) as refused:
        action_overrides(
            [ActionParameter("epochs", "3"), ActionParameter("p", "1")],
            [DataRequirement("dataset", {"value": "obs://x"})],
            KNOWN,
        )
    assert {v.field for v in refused.value.violations} == {
        "parameters.epochs",
        "data_requirements.dataset",
    }


def test_a_data_requirement_gives_its_value_entry_else_its_whole_map() -> None:
    overrides = action_overrides(
        [],
        [DataRequirement("p", {"value": "a"}), DataRequirement("data", {"obs_url": "/x"})],
        KNOWN,
    )
    assert overrides == {"p": "a", "data": '{"obs_url": "/x"}'}


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="more than once"):
        action_overrides([ActionParameter("p", "1")], [DataRequirement("p", {"value": "2"})], KNOWN)
