"""Per-object memoisation for the engine's immutable values.

A change to a job replaces one task and keeps every other task object as it was, so
whatever was derived from an unchanged task (its stored JSON, its wire message) can be
reused instead of rebuilt: encoding a 1,000-task job then costs one task, not 1,000.
Entries live exactly as long as their object (a finalizer drops them), so identity is
a safe key and nothing accumulates.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    def __init__(self, compute: Callable[[K], V] | None = None) -> None:
        self._compute = compute
        self._values: dict[int, V] = {}

    def __call__(self, key: K) -> V:
        ident = id(key)
        try:
            return self._values[ident]
        except KeyError:
            assert self._compute is not None, "this memo computes through get()"
            value = self._compute(key)
            self._values[ident] = value
            weakref.finalize(key, self._values.pop, ident, None)
            return value

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value for `key`, computed by `compute` the first time (for values that
        need more than the key to compute)."""
        ident = id(key)
        try:
            return self._values[ident]
        except KeyError:
            value = compute()
            self._values[ident] = value
            weakref.finalize(key, self._values.pop, ident, None)
            return value

    def __len__(self) -> int:
        return len(self._values)
