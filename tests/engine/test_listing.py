"""The listing grammar every list call shares: filters and page tokens (engine.listing).
Each call's own keys are tested end to end with its call; this file is the grammar."""

from __future__ import annotations

import base64
import json

import pytest

from dagwire.server.engine.errors import InvalidArgument
from dagwire.server.engine.listing import (
    Listing,
    canonical,
    page_cursor,
    page_token,
    parse_filter,
    seq_cursor,
)

KEYS = {"name", "status", "username"}
STATUSES = {"status": ["running", "failed"]}


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text, KEYS, STATUSES)
    return [(v.field, v.description) for v in caught.value.violations]


# -- filters ----------------------------------------------------------------------------


def test_an_empty_filter_matches_everything() -> None:
    assert parse_filter("   ", KEYS) == {}


def test_terms_join_with_and_in_any_case() -> None:
    where = parse_filter("name=a AND username=b and status=failed", KEYS)
    assert where == {"name": "a", "username": "b", "status": "failed"}


def test_a_quoted_value_keeps_spaces_the_word_and_and_escaped_quotes() -> None:
    where = parse_filter(r'name="night AND day \"v2\"" AND username=b', KEYS)
    assert where == {"name": 'night AND day "v2"', "username": "b"}


def test_a_choice_is_matched_in_any_case_and_answered_as_listed() -> None:
    assert parse_filter("status=FAILED", KEYS, STATUSES) == {"status": "failed"}


def test_an_unknown_key_is_refused_naming_the_keys_there_are() -> None:
    assert problems("colour=red") == [
        ("filter", "unknown key 'colour'; keys: name, status, username")
    ]


def test_a_repeated_key_is_refused_not_overwritten() -> None:
    assert problems("name=a AND name=b") == [
        ("filter", "key 'name' is given twice; give each key once")
    ]


def test_a_value_outside_a_keys_choices_is_refused_with_the_choices() -> None:
    assert problems("status=done") == [("filter", "status 'done' is not one of: running, failed")]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("name", id="no-equals"),
        pytest.param("name=", id="no-value"),
        pytest.param("name=a OR name=b", id="or"),
        pytest.param("name=a b", id="unquoted-space"),
        pytest.param('name="a', id="unterminated-quote"),
        pytest.param("name=a AND", id="trailing-and"),
        pytest.param("name=a AND  AND username=b", id="empty-term"),
    ],
)
def test_a_malformed_term_is_refused(text: str) -> None:
    assert [field for field, _ in problems(text)] == ["filter"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems("colour=red AND name=a AND name=b AND status=done AND oops")
    assert [description.split(" ")[0] for _, description in found] == [
        "'oops'",
        "unknown",
        "key",
        "status",
    ]


# -- page tokens ------------------------------------------------------------------------


def test_a_token_gives_back_where_the_next_page_starts() -> None:
    token = page_token(Listing.RUNS, (42, "run-1"), "name=a")
    assert page_cursor(Listing.RUNS, token, "name=a") == (42, "run-1")


def test_no_cursor_means_no_token_and_no_token_the_first_page() -> None:
    assert page_token(Listing.RUNS, None, "") == ""
    assert page_cursor(Listing.RUNS, "", "") is None


def test_a_token_is_opaque_text_safe_in_a_url() -> None:
    token = page_token(Listing.RUNS, (7,), 'name="a b"')
    assert token.isascii() and not set(token) - set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_a_token_continues_the_same_filter_written_another_way() -> None:
    token = page_token(Listing.RUNS, (7,), "name=a AND username=b")
    assert seq_cursor(Listing.RUNS, token, ' username="b"   and name=a') == 7


def test_a_token_made_for_another_filter_is_refused_naming_its_filter() -> None:
    token = page_token(Listing.RUNS, (7,), "name=a")
    with pytest.raises(InvalidArgument) as caught:
        page_cursor(Listing.RUNS, token, "name=b")
    assert str(caught.value) == (
        "page_token: was made for filter 'name=a'; send that filter with it, "
        "or list again without it"
    )


def test_a_token_made_by_another_call_is_refused() -> None:
    token = page_token(Listing.PIPELINES, (7,), "")
    with pytest.raises(InvalidArgument) as caught:
        page_cursor(Listing.RUNS, token, "")
    assert str(caught.value) == (
        "page_token: was made by ListPipelines, not ListRuns; list again without it"
    )


def test_a_token_of_another_version_is_refused() -> None:
    payload = {"v": 0, "l": "ListRuns", "f": "", "c": [7]}
    token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(InvalidArgument) as caught:
        page_cursor(Listing.RUNS, token, "")
    assert "another version of the server (v0, this is v1)" in str(caught.value)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage!", id="not-base64"),
        pytest.param(base64.urlsafe_b64encode(b"v1:7").decode(), id="old-seq-token"),
        pytest.param(base64.urlsafe_b64encode(b'{"v": 1}').decode(), id="missing-parts"),
    ],
)
def test_a_token_this_server_did_not_hand_out_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        page_cursor(Listing.RUNS, token, "")
    assert [v.field for v in caught.value.violations] == ["page_token"]


def test_a_sequence_token_must_hold_one_non_negative_number() -> None:
    token = page_token(Listing.RUNS, ("run-1",), "")
    with pytest.raises(InvalidArgument):
        seq_cursor(Listing.RUNS, token, "")


def test_the_canonical_filter_sorts_terms_and_quotes_only_what_needs_it() -> None:
    assert canonical('username="b"  and name="a b"') == 'name="a b" AND username=b'
