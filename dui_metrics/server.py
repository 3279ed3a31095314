"""The dashboard's server: pages ready before the first visitor, and again after each import.

`streamlit run app.py` finds the ``st.App`` that app.py builds when it is imported (as the
server's module, not as a page view) and starts it with `lifespan`. While the server runs,
`keep_warm` opens every page of ``pages/`` in its default view, in a session of its own with
no browser, as soon as the server starts and again whenever the store gets a new version (an
import from the Données page or from ``dui-metrics ingest``). The first visitor then finds
the imports done, the store's snapshot open and the pages' results in the shared caches. On
the national store (bench/pages.py), a fresh server's first page took 4-12 s in the browser,
Python imports and the pages' first computations; after the warm-up (8-10 s from the
server's start), the first visit takes 2.2-7.4 s, mostly the browser loading Streamlit's
scripts (1.1-1.7 s for an empty script).

Nothing depends on it: a visitor who comes during a warm-up waits for the same computations
(Streamlit computes each cached value once), and a page that fails here fails the same way
on screen. Each warm-up writes one line to the server's output.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import Runtime

from dui_metrics.store import default_path, version_key

DEFAULT_PAGE = "accueil"  # app.py's default page: its address is the site's root
POLL_S = 2.0  # how often the store's version is looked at (one stat)
PAGE_TIMEOUT_S = 600.0  # a page run longer than this is left to finish on its own
READY_LINE = "dui-metrics : pages prêtes"  # printed after each warm-up, then "(N en S s)"


def page_names(folder: Path) -> list[str]:
    """Addresses of the dashboard's pages (``<folder>/<name>.py``): "" first, the default page,
    whose run switches a fresh server to app.py's navigation."""
    return ["", *sorted(p.stem for p in folder.glob("*.py") if p.stem != DEFAULT_PAGE)]


def store_version() -> tuple[int, int] | None:
    path = default_path()
    return version_key(path) if path.exists() else None


class _Visitor:
    """A session client without a browser: drops what the pages draw, notes when a run ends."""

    def __init__(self) -> None:
        self.finished = asyncio.Event()

    def write_forward_msg(self, msg: ForwardMsg) -> None:  # called on the server's event loop
        if (
            msg.WhichOneof("type") == "script_finished"
            and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
        ):
            self.finished.set()

    @property
    def client_context(self):
        return None


async def visit(runtime: Runtime, pages: list[str], timeout_s: float = PAGE_TIMEOUT_S) -> None:
    """Open each page of ``pages`` once, in order, in one new session, as a browser would with
    an address holding no parameter; return once the last run has ended."""
    visitor = _Visitor()
    session_id = runtime.connect_session(client=visitor, user_info={})
    try:
        for page in pages:
            visitor.finished.clear()
            msg = BackMsg(rerun_script=ClientState(page_name=page, query_string=""))
            runtime.handle_backmsg(session_id, msg)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(visitor.finished.wait(), timeout_s)
    finally:
        runtime.close_session(session_id)


async def warm_up(runtime: Runtime, pages: list[str]) -> tuple[int, int] | None:
    """`visit` ``pages`` once and say so on the server's output; return the store's version
    seen before the visit (a version written during it is warmed next time)."""
    version = store_version()
    start = time.perf_counter()
    try:
        await visit(runtime, pages)
    except Exception as exc:  # noqa: BLE001 - the server runs on; the pages will say it
        print(f"dui-metrics : préparation des pages interrompue ({exc!r})", flush=True)
    else:
        seconds = f"{time.perf_counter() - start:.1f}".replace(".", ",")
        print(f"{READY_LINE} ({len(pages)} en {seconds} s)", flush=True)
    return version


async def keep_warm(
    runtime: Runtime, pages: list[str], poll_s: float = POLL_S, on_ready=lambda: None
) -> None:
    """`warm_up` now, then ``on_ready()``, then `warm_up` again each time the store's version
    changes, until cancelled."""
    warmed = await warm_up(runtime, pages)
    on_ready()
    while True:
        await asyncio.sleep(poll_s)
        if store_version() != warmed:
            warmed = await warm_up(runtime, pages)


def open_browser() -> None:
    """Open the dashboard in the user's browser unless the server is headless, as `streamlit
    run` does for a plain script (it does not for an st.App). Called once the pages are ready:
    the first page the user sees is a warm one."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_address_is_unix_socket, server_util

    if config.get_option("server.headless"):
        return
    if config.is_manually_set("browser.serverAddress"):
        address = config.get_option("browser.serverAddress")
    elif config.is_manually_set("server.address"):
        if server_address_is_unix_socket():
            return
        address = server_util.get_display_address(config.get_option("server.address"))
    else:
        address = "localhost"
    cli_util.open_browser(server_util.get_url(address))


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
OPEN_WARNING = "dui-metrics : attention, le tableau de bord écoute sur"


def warn_if_open_to_network() -> None:
    """Say so when the server listens beyond this machine (``--server.address`` other than
    the loopback address set in the project's settings), without a login."""
    from streamlit import config

    address = config.get_option("server.address") or ""
    if address not in LOOPBACK:
        shown = address or "toutes les adresses de la machine"
        print(
            f"{OPEN_WARNING} {shown}, sans authentification : quiconque atteint ce port voit "
            "tous les établissements (mode local : --server.address 127.0.0.1, le réglage du "
            "projet).",
            flush=True,
        )


@contextlib.asynccontextmanager
async def lifespan(app):
    """st.App lifespan: `keep_warm` runs while the server serves, on the pages beside app.py;
    the browser opens once they are ready (`open_browser`)."""
    warn_if_open_to_network()
    pages = page_names(Path(app.script_path).resolve().parent / "pages")
    warm = keep_warm(Runtime.instance(), pages, on_ready=open_browser)
    task = asyncio.get_running_loop().create_task(warm)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
