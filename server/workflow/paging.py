"""Request helpers shared by the workflow services: required fields, page sizes, and
the listing grammar's filters and page tokens (engine.listing, shared with ListJobs),
each rejected with a precise field violation."""

from __future__ import annotations

from dagwire.server.engine.listing import Listing as Listing
from dagwire.server.engine.listing import parse_filter as parse_filter
from dagwire.server.engine.listing import seq_cursor, seq_token
from dagwire.server.workflow.errors import InvalidArgument

MAX_PAGE_SIZE = 1_000


def required(field_name: str, value: str) -> str:
    if not value:
        raise InvalidArgument.of(field_name, "is required")
    return value


def page_limit(page_size: int, default: int) -> int:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument.of(
            "page_size", f"must be within [0, {MAX_PAGE_SIZE}], got {page_size}"
        )
    return page_size or default


def encode_token(listing: Listing, seq: int | None, filter_text: str) -> str:
    """The token of the page after store sequence `seq`, bound to its call and filter."""
    return seq_token(listing, seq, filter_text)


def decode_token(listing: Listing, token: str, filter_text: str) -> int | None:
    return seq_cursor(listing, token, filter_text)
