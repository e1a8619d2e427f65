"""The one listing grammar of every list call: filters and page tokens.

A filter is a conjunction of terms, `key=value AND key="quoted value"`:

- `AND` joins terms in any case (`and`, `And`); there is no OR.
- A value is a bare word (no spaces, no `"`) or double-quoted; inside quotes `\\"` is a
  quote and `\\\\` a backslash.
- Each key may be given once; a key the call does not know is refused, naming the keys it
  knows; a key with fixed choices (a status) takes one of them in any case.
- Every problem is reported at once, each as a field violation of `filter`.

A page token is opaque to callers. It carries a version, the call that made it, the
filter it was made for (in a canonical form: term order, spacing and the case of AND do
not matter) and where the next page starts. A token is refused by another call, with
another filter, or from another version, each with a message that says what to do.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum

from dagwire.server.engine.errors import FieldViolation, InvalidArgument
from dagwire.server.engine.quoting import quoted

TOKEN_VERSION = 1
FILTER = "filter"
PAGE_TOKEN = "page_token"

# Where a page starts: the sort key of the last item of the page before.
Cursor = tuple[int | str, ...]


class Listing(StrEnum):
    """The calls that page, by RPC name: a token names the one that made it."""

    PIPELINES = "ListPipelines"
    PIPELINE_VERSIONS = "GetPipeline"
    RUNS = "ListRuns"
    ARTIFACTS = "ListArtifacts"
    CACHE_ENTRIES = "ListCacheEntries"
    STEP_EXECUTIONS = "ListStepExecutions"
    SCHEDULES = "ListSchedules"
    JOBS = "ListJobs"


# A filter, cut into tokens: a quoted string (maybe unterminated), an AND between
# spaces, a run of other characters, or spaces.
_LEX = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\Z)|\s+(?i:AND)\s+|[^"\s]+|\s+', re.DOTALL)
_SEPARATOR = re.compile(r"\s+(?i:AND)\s+", re.DOTALL)
_TERM = re.compile(
    r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*\Z', re.DOTALL
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse_filter(
    text: str, keys: Collection[str], choices: Mapping[str, Collection[str]] | None = None
) -> dict[str, str]:
    """`key=value AND ...` -> {key: value}. `choices` lists the values a key may take
    (matched in any case, answered as listed). Raises InvalidArgument with a violation
    of `filter` for each malformed term, unknown or repeated key and unknown choice."""
    terms, problems = _terms(text)
    where: dict[str, str] = {}
    known = ", ".join(sorted(keys))
    for key, value in terms:
        if key not in keys:
            problems.append(f"unknown key {quoted(key)}; keys: {known}")
        elif key in where:
            problems.append(f"key {quoted(key)} is given twice; give each key once")
        else:
            where[key] = _choice(key, value, (choices or {}).get(key), problems)
    if problems:
        raise InvalidArgument([FieldViolation(FILTER, problem) for problem in problems])
    return where


def page_token(listing: Listing, cursor: Cursor | None, filter_text: str) -> str:
    """The token of the page that starts after `cursor` ("" when there is none)."""
    if cursor is None:
        return ""
    payload: dict[str, object] = {
        "v": TOKEN_VERSION,
        "l": listing.value,
        "f": canonical(filter_text),
        "c": list(cursor),
    }
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def page_cursor(listing: Listing, token: str, filter_text: str) -> Cursor | None:
    """Where the page of `token` starts (None for the first page). Raises
    InvalidArgument (field page_token) for a token this listing did not hand out."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        version, made_by, made_for, cursor = payload["v"], payload["l"], payload["f"], payload["c"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _bad_token("is not a token this server handed out; list again without it") from None
    if version != TOKEN_VERSION:
        raise _bad_token(
            f"was made by another version of the server (v{version}, this is "
            f"v{TOKEN_VERSION}); list again without it"
        )
    if made_by != listing.value:
        raise _bad_token(f"was made by {made_by}, not {listing.value}; list again without it")
    if made_for != canonical(filter_text):
        shown = f"filter {quoted(made_for)}" if made_for else "no filter"
        raise _bad_token(
            f"was made for {shown}; send that filter with it, or list again without it"
        )
    if not isinstance(cursor, list) or not all(type(x) in (int, str) for x in cursor):
        raise _bad_token("is not a token this server handed out; list again without it")
    return tuple(cursor)


def seq_cursor(listing: Listing, token: str, filter_text: str) -> int | None:
    """page_cursor for listings ordered by one integer (a store sequence or an offset)."""
    cursor = page_cursor(listing, token, filter_text)
    if cursor is None:
        return None
    if len(cursor) != 1 or type(cursor[0]) is not int or cursor[0] < 0:
        raise _bad_token("is not a token this server handed out; list again without it")
    return cursor[0]


def seq_token(listing: Listing, seq: int | None, filter_text: str) -> str:
    return page_token(listing, None if seq is None else (seq,), filter_text)


def canonical(filter_text: str) -> str:
    """The filter as a token remembers it: its terms sorted, spaced and joined alike;
    a filter that does not parse is kept as written (stripped)."""
    terms, problems = _terms(filter_text)
    if problems:
        return filter_text.strip()
    return " AND ".join(f"{key}={quote(value)}" for key, value in sorted(terms))


def quote(value: str) -> str:
    """A value as the grammar reads it back: bare when it can be, quoted otherwise."""
    if value and re.fullmatch(r'[^\s"\\]+', value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def terms_text(terms: Sequence[tuple[str, str]]) -> str:
    """Terms written in the grammar, e.g. to bind a token to a call's repeated field."""
    return " AND ".join(f"{key}={quote(value)}" for key, value in terms)


def _terms(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The filter's (key, value) terms, and a description of each malformed one."""
    if not text.strip():
        return [], []
    chunks, current = [], ""
    for token in _LEX.findall(text):
        if _SEPARATOR.fullmatch(token):
            chunks.append(current)
            current = ""
        else:
            current += token
    chunks.append(current)
    terms: list[tuple[str, str]] = []
    problems: list[str] = []
    for chunk in chunks:
        match = _TERM.match(chunk)
        if match is None:
            problems.append(
                f"{quoted(chunk.strip())} is not a key=value term (quote a value with "
                f'spaces: key="a value"; join terms with AND)'
            )
        elif match[2] is not None:
            terms.append((match[1], _ESCAPE.sub(r"\1", match[2])))
        else:
            terms.append((match[1], match[3]))
    return terms, problems


def _choice(key: str, value: str, allowed: Collection[str] | None, problems: list[str]) -> str:
    if allowed is None:
        return value
    for choice in allowed:
        if choice.lower() == value.lower():
            return choice
    problems.append(f"{key} {quoted(value)} is not one of: {', '.join(allowed)}")
    return value


def _bad_token(description: str) -> InvalidArgument:
    return InvalidArgument.of(PAGE_TOKEN, description)
