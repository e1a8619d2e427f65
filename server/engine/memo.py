"""Per-object memoisation for the engine's immutable values.

A change to a job replaces one task and keeps every other task object as it was, so
whatever was derived from an unchanged task (its stored JSON, its wire message) can be
reused instead of rebuilt: encoding a 1,000-task job then costs one task, not 1,000.
Entries live exactly as long as their object (a weak reference's callback drops them),
so identity is a safe key and nothing accumulates.
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
        # id -> (value, the weak reference whose callback removes the entry)
        self._values: dict[int, tuple[V, weakref.ref[K]]] = {}

    def __call__(self, key: K) -> V:
        entry = self._values.get(id(key))
        if entry is not None:
            return entry[0]
        assert self._compute is not None, "this memo is filled through put()"
        return self.put(key, self._compute(key))

    def find(self, key: K) -> V | None:
        """The value kept for `key`, or None."""
        entry = self._values.get(id(key))
        return None if entry is None else entry[0]

    def put(self, key: K, value: V) -> V:
        ident = id(key)
        values = self._values
        # A plain weakref callback is much cheaper than weakref.finalize; CPython runs it
        # when the object dies, before its id can be given to another object.
        values[ident] = (value, weakref.ref(key, lambda _ref: values.pop(ident, None)))
        return value

    def __len__(self) -> int:
        return len(self._values)
