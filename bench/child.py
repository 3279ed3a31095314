"""What the benches share: waiting for a child process with a time limit and reading its
own peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path


def wait_child(proc: subprocess.Popen, timeout: float, poll: float = 0.02):
    """Wait for ``proc``, killed (it alone, by its pid) once ``timeout`` seconds have passed.
    Returns (exit code, peak RSS in MiB of that child, killed)."""
    start = time.perf_counter()
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout and not killed:
            proc.kill()
            killed = True
        time.sleep(poll)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, killed


def json_child(
    command: list[str], result_file: Path, timeout: float, max_gib: float
) -> tuple[dict | str, float, float]:
    """Run ``command``, whose last line on standard output is a JSON result, in a child:
    (that result, or why it failed), wall seconds, peak RSS of the child (MiB)."""
    start = time.perf_counter()
    with result_file.open("w") as handle:
        proc = subprocess.Popen(command, stdout=handle)
    code, rss, killed = wait_child(proc, timeout, poll=0.05)
    wall = time.perf_counter() - start
    text = result_file.read_text()
    result_file.unlink()
    if killed:
        return f"stopped after {timeout:g} s", wall, rss
    if code:
        return f"failed (exit {code}; > {max_gib:g} GiB?)", wall, rss
    return json.loads(text.strip().splitlines()[-1]), wall, rss
