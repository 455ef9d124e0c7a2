"""Work split over this machine's cores in forked processes, where that is safe.

Summaries of big sweeps read tens of thousands of small files and draw
several figures: both are independent pieces that a forked child can do
beside its parent. Forking is used only where it is safe and useful: the
platform forks, more than one core is ours, and no other thread runs (a
forked child of a threaded process, such as a pytest-xdist worker, can
deadlock on a lock another thread held).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Fewer items than this per core are not worth a fork (about 1 ms each).
MIN_CHUNK = 1000


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fork_is_useful() -> bool:
    """Whether work may go to forked children: fork exists, is safe and helps."""
    return hasattr(os, "fork") and cores() > 1 and threading.active_count() == 1


def map_chunks(function: Callable[[Sequence[Item]], list[Result]],
               items: Sequence[Item], min_chunk: int | None = None
               ) -> list[Result]:
    """``function`` over ``items`` in contiguous chunks, one per core.

    The results come back in the order of ``items`` (``function`` maps a
    chunk to one result per item, or to any list: the lists are joined in
    chunk order). Fewer than two chunks of ``min_chunk`` items, or where
    forking is not useful (:func:`fork_is_useful`), it is one call here
    (``min_chunk`` default: :data:`MIN_CHUNK`). This process takes the first
    chunk. A chunk that raises in a child raises ``RuntimeError`` here,
    naming the error.
    """
    return _start(function, items, min_chunk, keep_first=True)()


def start_chunks(function: Callable[[Sequence[Item]], list[Result]],
                 items: Sequence[Item], min_chunk: int | None = None
                 ) -> Callable[[], list[Result]]:
    """:func:`map_chunks` begun now, every chunk in a forked child.

    This process is free meanwhile (a summary imports what it draws with
    while its runs are read). Calling what it returns waits for the
    children and gives what :func:`map_chunks` gives; where nothing is
    forked, the work is done in that call.
    """
    return _start(function, items, min_chunk, keep_first=False)


def child(target: Callable, *args) -> tuple[BaseProcess, Connection]:
    """A forked child running ``target(*args, send)``; it and the receiving end.

    ``target`` sends its one result through ``send``. A plain process and a
    pipe, not a Pool: a Pool leaves threads behind, after which nothing here
    may fork safely. The parent's objects are frozen for the fork
    (``gc.freeze``): the child's collections leave them alone instead of
    walking (and so copying) the whole inherited heap, a fifth of a summary
    figure's CPU.

    Returns
    -------
    process, receive
        The started ``multiprocessing.Process`` and the end to ``recv`` from.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, send), daemon=True)
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
    send.close()
    return process, receive


def _start(function: Callable[[Sequence[Item]], list[Result]],
           items: Sequence[Item], min_chunk: int | None, keep_first: bool
           ) -> Callable[[], list[Result]]:
    min_chunk = MIN_CHUNK if min_chunk is None else min_chunk
    n_chunks = min(cores(), len(items) // max(1, min_chunk))
    if n_chunks < 2 or not fork_is_useful():
        return lambda: list(function(items))
    size = -(-len(items) // n_chunks)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    children = [child(_send_result, function, chunk)
                for chunk in (chunks[1:] if keep_first else chunks)]

    def results() -> list[Result]:
        parts = [list(function(chunks[0]))] if keep_first else []
        failures = []
        for process, receive in children:
            try:
                status, value = receive.recv()
            except EOFError:  # the child died without a word (killed)
                status, value = "error", f"exit status {process.exitcode}"
            process.join()
            receive.close()
            if status == "ok":
                parts.append(value)
            else:
                failures.append(value)
        if failures:
            raise RuntimeError(f"a forked reader failed: {'; '.join(failures)}")
        return [result for part in parts for result in part]

    return results


def _send_result(function, chunk, send) -> None:  # in the child
    try:
        send.send(("ok", list(function(chunk))))
    except Exception as err:  # noqa: BLE001 (raised again in the parent)
        send.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        send.close()
