"""Writing to the store without ever showing readers a half-written state.

DuckDB lets one process write a database file, and a writer locks readers out. So nobody
writes the store file in place: a writer takes the writers' lock (``<store>.lock``: writers
queue behind each other), copies the store, writes into the copy, closes it (checkpoint),
then atomically renames the copy over the store. Readers (the dashboard, ``indicators``,
``va``) open the store read-only and see either the state before a command or the state
after it, never a mix; a reader already open keeps its snapshot until it reopens. A crash or
a kill at any point leaves the store as it was, with at most a stray ``*.tmp`` copy that the
next writer removes.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dui_metrics.store import Store, remove_stale_snapshot_links


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writers_lock(path: Path) -> Iterator[None]:
    """Exclusive lock among writers of ``path`` (waits for the writer before)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writable_copy(path: str | Path, *, commit: bool = True) -> Iterator[Store]:
    """A read-write Store on a private copy of the store at ``path``.

    On normal exit with ``commit`` the copy replaces the store atomically; on an exception,
    or with ``commit=False`` (a dry run: "what would happen if…"), the copy is thrown away.
    """
    path = Path(path)
    with writers_lock(path):
        for stray in path.parent.glob(glob.escape(path.name) + ".*.tmp*"):
            stray.unlink()  # left by a writer that was killed: never the live store
        remove_stale_snapshot_links(path)  # left by readers killed while opening
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        if path.exists():
            shutil.copyfile(path, tmp)
        store = Store(tmp)
        try:
            yield store
        except BaseException:
            store.close()
            _remove(tmp)
            raise
        store.close()  # checkpoints: everything is in the file, no .wal left
        if not commit:
            _remove(tmp)
            return
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)


def _remove(tmp: Path) -> None:
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
