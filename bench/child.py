"""What the benches share: waiting for a child process with a time limit and reading its
own peak memory."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def part_child(
    script: str, tag: str, out: Path, part: str, max_gib: float, timeout: float, profile: bool
) -> tuple[dict | str, float, float]:
    """Run ``script --part PART`` (a bench re-running itself for one part, data in ``out``)
    in a child: as `json_child`."""
    result = Path(f"/tmp/dui-bench-{tag}-{os.getpid()}-{part}.json")
    command = [sys.executable, script, "--out", str(out), "--part", part]
    command += ["--max-gib", str(max_gib)] + (["--profile", part] if profile else [])
    return json_child(command, result, timeout, max_gib)


def add_part_options(parser: argparse.ArgumentParser, parts: tuple[str, ...]) -> None:
    """The options of a bench run in parts, each in a child (`part_child`)."""
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--parts", nargs="+", choices=parts, default=list(parts))
    parser.add_argument("--max-gib", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--part", choices=parts, help=argparse.SUPPRESS)


def generated(folder: Path, wanted: dict, outputs: list[Path], key: str, make, regenerate=False):
    """A bench's data set in ``folder``: (what ``make()`` returned, reused). Reused when
    ``folder/bench.json`` describes the same ``wanted`` parameters and every file of
    ``outputs`` exists, else made again by ``make()``, whose result is kept in bench.json
    under ``key``. The folder must be outside the repository."""
    if folder.resolve().is_relative_to(Path(__file__).resolve().parent.parent):
        sys.exit(f"{folder}: choose a folder outside the repository")
    manifest = folder / "bench.json"
    reused = (
        not regenerate
        and manifest.exists()
        and {k: v for k, v in json.loads(manifest.read_text()).items() if k in wanted} == wanted
        and all(path.exists() for path in outputs)
    )
    if reused:
        return json.loads(manifest.read_text())[key], True
    value = make()
    manifest.write_text(json.dumps({**wanted, key: value}))
    return value, False
