"""Class dependencies built on the event loop.

FastAPI calls a class used as a dependency (`Depends()` on a class) like a plain `def`: in
anyio's thread pool, a hand-off to a thread and back on every request that names it (the
py-spy profiles in bench/RESULTS.md show the hops). `constructed(Class)` is the same
dependency, with the same parameters (so the same validation and the same contract), as a
coroutine FastAPI awaits on the loop. tests/core/test_dependencies.py checks that no
route's dependency runs in the thread pool.
"""

import inspect
from typing import Any, TypeVar

from fastapi import Depends

T = TypeVar("T")


def constructed(cls: type[T]) -> Any:
    """`Depends()` on ``cls``, awaited: its constructor's parameters are the dependency's."""

    async def build(**kwargs: Any) -> T:
        return cls(**kwargs)

    build.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    build.__name__ = build.__qualname__ = f"constructed_{cls.__name__}"
    return Depends(build)
