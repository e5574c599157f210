"""Worker processes and threads: how many, and mapping work over forked processes.

Workers are forked, so they see the build's data (the site model, the texts to count)
without pickling it; only the items handed out and the results travel between processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

PR_SET_PDEATHSIG = 1
_SHARED: Any = None  # what the forked workers of the current fork_map see
_FUNCTION: Callable[[Any, Any], Any] | None = None


def worker_count(jobs: int) -> int:
    """--jobs N, or 0 for the number of cores this process may use."""
    if jobs > 0:
        return jobs
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the build process, which stops them and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def die_with_parent() -> None:
    """Ask Linux to kill this process when the build dies (SIGKILL included), so a killed
    build's helpers (workers, cp, Pagefind) never write into a staging folder after it: the
    next build could not remove it while they do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _call(item: Any) -> Any:
    assert _FUNCTION is not None
    return _FUNCTION(_SHARED, item)


def fork_map(function: Callable[[Any, Item], Result], shared: Any, items: list[Item],
             workers: int) -> list[Result]:
    """``[function(shared, item) for item in items]``, computed by ``workers`` forked processes.

    ``shared`` reaches the workers through the fork, not through pickling; items and
    results are pickled.  The caller checks ``can_fork()`` and that ``workers`` > 1.
    """
    global _SHARED, _FUNCTION
    _SHARED, _FUNCTION = shared, function
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=ignore_interrupts) as pool:
            return pool.map(_call, items, chunksize=1)
    finally:
        _SHARED, _FUNCTION = None, None


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM for a few system calls, so a swap is never left half done."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no POSIX signals
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
