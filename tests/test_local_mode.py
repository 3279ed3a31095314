"""Local mode (issue 12, item 9): `streamlit run app.py` with the project's settings listens on
the loopback address only, so that nobody else on the network reaches the dashboard; opened to
a network, the server says at once that it has no login."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from e2e_support import free_port

ROOT = Path(__file__).resolve().parent.parent
LISTEN = "0A"  # socket state in /proc/net/tcp*


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp and tcp6 write them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == LISTEN:
                found.add(address)
    return found


@contextlib.contextmanager
def dashboard(tmp_path: Path, *options: str) -> Iterator[tuple[int, Path]]:
    """`streamlit run app.py` from the project's folder (where Streamlit reads
    .streamlit/config.toml) with ``options``; yields its port and its output's file once it
    printed that its pages are ready."""
    port = free_port()
    env = {**os.environ, "DUI_METRICS_STORE": str(tmp_path / "absent.duckdb")}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                *options,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "pages prêtes" not in log.read_text("utf-8", "replace"):
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            assert server.poll() is None, log.read_text("utf-8", "replace")
            time.sleep(0.3)
        yield port, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_dashboard_listens_on_the_loopback_address_only(tmp_path: Path) -> None:
    # No --server.address: the setting under test is the project's own.
    with dashboard(tmp_path) as (port, log):
        # 127.0.0.1 only: not 0.0.0.0 (00000000), nor every IPv6 address (::).
        assert listening_addresses(port) == {"0100007F"}
        assert "dui-metrics : attention" not in log.read_text("utf-8")


def test_a_server_opened_to_the_network_says_so(tmp_path: Path) -> None:
    # --server.address 0.0.0.0 (README: only behind a login): the server says at once that
    # every establishment is visible to whoever reaches the port.
    with dashboard(tmp_path, "--server.address", "0.0.0.0") as (port, log):
        assert listening_addresses(port) == {"00000000"}
        assert (
            "dui-metrics : attention, le tableau de bord écoute sur 0.0.0.0, sans authentification"
        ) in log.read_text("utf-8")
