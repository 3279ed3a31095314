"""Helpers shared by tests/test_concurrency.py and tests/test_crash_safety.py (and the reader
processes they start): generated exports, a line reader with a timeout, the state of the
writers' lock and what is left beside a store file."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import sys
import time
from pathlib import Path

from dui_metrics.finess import luhn_check_digit

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
WIDE = "finess_et;periode;personnes_accompagnees;dossiers_actifs\n"
LONG = "finess_et;periode;indicateur;valeur\n"


def finess(i: int) -> str:
    """The i-th FINESS number of the Rhône (69), with a correct Luhn key."""
    first8 = f"69{i:06d}"
    return first8 + luhn_check_digit(first8)


def wide_file(esms: list[str], months: list[str], accompanied: int, active: int) -> str:
    """Wide form: personnes_accompagnees and dossiers_actifs for every ESMS and month."""
    return WIDE + "".join(f"{f};{m};{accompanied};{active}\n" for f in esms for m in months)


def lock_is_free(store_path: Path) -> bool:
    """Nobody holds the writers' lock of ``store_path``."""
    with open(store_path.with_name(store_path.name + ".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def leftovers(store_path: Path) -> list[str]:
    """Files beside the store other than the store and its lock: writers' copies and their
    WAL (``store.duckdb.<pid>.tmp*``), snapshot links (``.store.duckdb.snapshot-*``)."""
    return sorted(
        p.name
        for p in store_path.parent.iterdir()
        if p.name.startswith((store_path.name, "." + store_path.name))
        and p.name not in (store_path.name, store_path.name + ".lock")
    )


def read_line(fd: int, timeout: float = 60) -> str:
    """One line from a pipe's file descriptor, or AssertionError after ``timeout`` seconds
    (a writer blocked forever on the lock must fail the test, not hang it)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no answer within {timeout} s (got {data!r})"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            assert chunk, f"pipe closed (got {data!r})"
            data += chunk
    return data.decode().rstrip("\n")
