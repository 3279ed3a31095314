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

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from dui_metrics.formats import fr_size
from dui_metrics.store import (
    DISK_FULL,
    Store,
    StoreFault,
    fault,
    locate,
    raise_as_fault,
    remove_stale_snapshot_links,
)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writers_lock(path: Path) -> Iterator[None]:
    """Exclusive lock among writers of ``path`` (waits for the writer before). ``path`` is the
    store's real path (`store.locate`): two aliases of one store share its lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "w")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise_as_fault(exc, path, "verrou des écritures")
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Free space asked for beyond the copy itself before a write starts: what a small command
# writes. A larger write that fills the disk fails later, cleanly (the copy is removed).
FREE_SPACE_MARGIN = 1 << 20


def check_free_space(folder: Path, needed: int, path: Path) -> None:
    """A ``StoreFault`` (disk full) when ``folder`` has less than ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise StoreFault(
            f"disque plein : {fr_size(free)} libres dans {folder}, il en faut au moins "
            f"{fr_size(needed)} pour écrire une copie du magasin {path} ; libérez de "
            "l'espace puis relancez la commande (rien n'a été écrit)",
            DISK_FULL,
        )


@contextmanager
def writable_copy(path: str | Path, *, commit: bool = True) -> Iterator[Store]:
    """A read-write Store on a private copy of the store at ``path``.

    On normal exit with ``commit`` the copy replaces the store atomically; on an exception,
    or with ``commit=False`` (a dry run: "what would happen if…"), the copy is thrown away.
    A dry run takes no lock (it never waits for an import, nor makes one wait) and copies
    into a private folder, out of the way of the writers' clean-up of stray copies: it reads
    one whole version of the store, since writers only ever rename a finished copy over it.
    ``path`` may be a symbolic link: the real file is copied, locked and replaced. Faults of
    the machine (read-only folder, full disk, unreadable store) raise ``StoreFault`` in
    French, and no copy is left behind on any path.
    """
    path = locate(path)
    with contextlib.ExitStack() as held:
        if commit:
            held.enter_context(writers_lock(path))
            folder = path.parent
        else:
            folder = Path(held.enter_context(tempfile.TemporaryDirectory(prefix="dui-metrics-")))
        tmp = folder / f"{path.name}.{os.getpid()}.tmp"
        try:
            if commit:
                for stray in path.parent.glob(glob.escape(path.name) + ".*.tmp*"):
                    stray.unlink()  # left by a writer that was killed: never the live store
                remove_stale_snapshot_links(path)  # left by readers killed while opening
            if path.exists():
                check_free_space(folder, path.stat().st_size + FREE_SPACE_MARGIN, path)
                shutil.copyfile(path, tmp)
            store = Store(tmp, shown_as=path)
        except BaseException as exc:
            _remove(tmp)
            _raise_fault(exc, path, "copie", tmp)
        try:
            yield store
        except BaseException as exc:
            with contextlib.suppress(Exception):
                store.close()
            _remove(tmp)
            _raise_fault(exc, path, "écriture", tmp)
        try:
            if not commit:
                store.close()
                _remove(tmp)
                return
            # Everything into the file before it replaces the store. An explicit checkpoint
            # raises on a full disk; the one that close() makes fails silently, leaving the
            # data in a .wal that the rename would leave behind (and the next writer delete).
            store.execute("checkpoint")
            store.close()
            if tmp.with_name(tmp.name + ".wal").exists():
                raise StoreFault(
                    f"enregistrement du magasin {path} inachevé (journal d'écriture restant) ; "
                    "vérifiez l'espace disque puis relancez la commande",
                    DISK_FULL,
                )
            _fsync(tmp)
            os.replace(tmp, path)
            _fsync(path.parent)
        except BaseException as exc:
            _remove(tmp)
            _raise_fault(exc, path, "enregistrement", tmp)


def _raise_fault(exc: BaseException, path: Path, doing: str, tmp: Path) -> NoReturn:
    """Raise ``exc`` again, as a French ``StoreFault`` when it is a fault of the machine,
    worded about the store at ``path`` (never its private copy ``tmp``)."""
    found = fault(exc, path, doing)
    if found is None:
        raise exc
    text = str(found).replace(str(tmp), str(path))
    if found is exc and text == str(exc):
        raise exc
    raise StoreFault(text, found.cause) from exc


def _remove(tmp: Path) -> None:
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        with contextlib.suppress(OSError):
            leftover.unlink(missing_ok=True)
