"""What the benches share: waiting for a child process with a time limit and reading its
own peak memory."""

from __future__ import annotations

import os
import subprocess
import time


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
