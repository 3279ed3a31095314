"""Twenty simultaneous users of one dashboard process on the national store: page times, the
process's memory, and each user's perimeter checked on screen (issue 16).

Usage (from the repository root; the national store comes from ``bench/national.py`` then
``dui-metrics ingest``):

    .venv/bin/python bench/national.py /tmp/dui-national
    .venv/bin/dui-metrics ingest --store /tmp/dui-national.store.duckdb /tmp/dui-national
    .venv/bin/python bench/sessions.py                          # /tmp/dui-national.store.duckdb
    .venv/bin/python bench/sessions.py --store PATH --users 20 --rounds 2
    .venv/bin/python bench/sessions.py --phases alone users --think 10  # 10 s of reading

Each phase runs in its own child process, which plays the server: Streamlit's AppTest
sessions of the real app.py, one per thread, started together (a barrier), in that one
process, as ``streamlit run`` serves its sessions on threads of one process (one GIL, one
DuckDB snapshot of the store, one ``st.cache_data``). Every session is logged in
(``st.user`` with ``is_logged_in``, an ``[auth]`` section in the secrets, an ``acces.toml``
written by this script) and does what a user does: the first view of the app
(« connexion » below: the login gate computes the perimeter, then Accueil), then every page of
app.py in navigation order (starting at a different page for each session), ``--rounds``
times (round 1: the perimeter's caches are cold; later rounds: warm), with ``--think``
seconds of pause on average between two views (default 0: every user clicks again as soon as
a page is drawn, the worst case). A page view is timed from the rerun request to the end of the
script run, widget states of the previous page sent as the browser sends them.

Phases (each its own process, so each starts with empty caches and its own peak RSS):
- ``users``: the measure. ``--users`` identities of different perimeters, from the store:
  12 OG users (FINESS EJ spread over OG sizes, 1 to 50 ESMS), 4 ARS users (a small région, a
  large région, a département, two départements), 3 editors (the largest, a middle one, the
  smallest of the reference) and 1 admin (everything), 20 in all; ``--users`` fewer takes the
  first ones of that list.
- baselines measured in the same run: ``alone`` (the first OG user, one session alone: the
  page's own cost without contention) and ``admins`` (the same number of sessions, all admin:
  one perimeter, so every cache is shared after its first computation).
Figures: median and worst time per page and overall, page views per second, the process's CPU
time per view (user + system: what the load of other processes does not change much), the
process's RSS once imports and the store snapshot are done (before any session) and its peak
(VmHWM, and the largest VmRSS sampled every 0.1 s); the load average (other processes share
the CPUs).

Perimeter check on every view of a non-admin session: every FINESS (ET or EJ) of the store
found in the page (every element's text, lists' options, charts' JSON, tables' cells), main
area and sidebar, must be one of the session's perimeter; any other is a leak, printed with
the user and the page. Blind check guard: the Établissement page of each such session must show
at least one FINESS of its perimeter.

Known fault worked around (see ``COLLIDING_KEYS``): Organisme gestionnaire and Éditeur have
selectboxes keyed ``og`` and ``editeur``, Comparaison has multiselects with the same keys, all
bound to the URL; Streamlit keeps a bound widget's value when its page is left, so
Organisme gestionnaire → Établissement → Comparaison fails (TypeError in the ``og``
multiselect, which gets the selectbox's None: « Cette page n'a pas pu s'afficher » on screen),
and Comparaison → Éditeur gives the Éditeur selectbox the value [] (not one of its options:
AppTest cannot read it back, the URL gets ``editeur=[]``). The bench drops those two keys at
each page change; ``--keep-colliding-keys`` does not, and counts the failures (children run
with ``DUI_METRICS_DEBUG``: a page's error is an AppTest exception). A page change after which
AppTest could not read the widgets back is sent without widget states, and counted. The
store is only read; the bench checks that its identity is unchanged at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import e2e_support as e2e  # noqa: E402

DEFAULT_STORE = Path("/tmp/dui-national.store.duckdb")
LOGIN = "connexion"  # the first view of a session: app.py's default page after the gate
# An [auth] section as in .streamlit/secrets.toml; nothing is contacted under AppTest.
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "un-secret-de-bench-assez-long-pour-signer",
    "client_id": "dui-metrics",
    "client_secret": "secret-du-client",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
# Widget keys shared by pages with widgets of different types (see the module docstring).
COLLIDING_KEYS = ("og", "editeur")
FINESS_TOKEN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{2}|2[AB])[0-9]{7}(?![0-9A-Za-z])")


@dataclass
class User:
    email: str
    role: str
    scope: dict[str, list[str]] = field(default_factory=dict)  # og / regions / ... → values

    @property
    def label(self) -> str:
        values = ", ".join(v for values in self.scope.values() for v in values)
        return f"{self.role} {values}".strip()


def pick_users(store: Path, n: int) -> list[User]:
    """The identities of the ``users`` phase, read from the store's reference."""
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        ogs = con.execute(
            "select finess_ej from establishments group by finess_ej order by count(*), finess_ej"
        ).fetchall()
        editors = con.execute(
            "select editeur from establishments where editeur is not null "
            "group by editeur order by count(*) desc, editeur"
        ).fetchall()
        regions = con.execute(
            "select region from establishments where region is not null "
            "group by region order by count(*), region"
        ).fetchall()
        deps = con.execute(
            "select departement from establishments where departement is not null "
            "group by departement order by count(*), departement"
        ).fetchall()
    users: list[User] = []
    # 12 OGs spread from the smallest to the largest (by number of ESMS).
    for i in range(12):
        ej = ogs[round(i * (len(ogs) - 1) / 11)][0]
        users.append(User(f"og{i + 1:02d}@bench.example", "og", {"og": [ej]}))
    users += [
        User("ars1@bench.example", "ars", {"regions": [regions[0][0]]}),
        User("ars2@bench.example", "ars", {"regions": [regions[-1][0]]}),
        User("ars3@bench.example", "ars", {"departements": [deps[len(deps) // 2][0]]}),
        User("ars4@bench.example", "ars", {"departements": [deps[0][0], deps[-1][0]]}),
    ]
    for i, row in enumerate((editors[0], editors[len(editors) // 2], editors[-1])):
        users.append(User(f"editeur{i + 1}@bench.example", "editeur", {"editeurs": [row[0]]}))
    users.append(User("admin@bench.example", "admin"))
    return users[:n]


def acces_toml(users: list[User]) -> str:
    lines = ['contact = "Équipe du bench"']
    for user in users:
        lines += ["[[acces]]", f'email = "{user.email}"', f'role = "{user.role}"']
        lines += [f"{key} = {json.dumps(values)}" for key, values in user.scope.items()]
    return "\n".join(lines) + "\n"


# --- the child: one phase, in one process -----------------------------------------------------


def status_kib(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """The largest VmRSS seen, every ``period`` seconds."""

    def __init__(self, period: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.period, self.peak, self.done = period, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, status_kib("VmRSS"))
            self.done.wait(self.period)


def share_one_runtime() -> None:
    """Make AppTest usable from threads of one process, as one server's sessions.

    Each AppTest run installs its own mock Runtime as the process's singleton and removes it
    at the end, swaps ``st.secrets`` and patches ``config.get_option``: runs overlapping on
    threads would undo each other's. Here one mock Runtime (with the same managers AppTest
    gives it) serves every session, with one script cache; the secrets are set once; the
    config is patched while at least one run is going on."""
    from unittest.mock import MagicMock

    import streamlit as st
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import (
        MemoryCacheStorageManager,
    )
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.runtime.secrets import Secrets
    from streamlit.testing.v1 import app_test, local_script_runner
    from streamlit.testing.v1.util import patch_config_options

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    registry = BidiComponentManager()
    registry.discover_and_register_components(start_file_watching=False)
    runtime.bidi_component_registry = registry
    Runtime.instance = classmethod(lambda cls: runtime)
    Runtime.exists = classmethod(lambda cls: True)

    # One bytecode cache, as the server's Runtime has: AppTest compiles every script at every
    # run, and CPython 3.11 fails now and then when threads build ASTs at the same time
    # (« AST constructor recursion depth mismatch », python/cpython#106905).
    script_cache = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: script_cache

    secrets = Secrets()
    secrets._secrets = {"auth": AUTH, "acces": os.environ["DUI_METRICS_BENCH_ACCES"]}
    st.secrets = secrets

    # AppTest patches config.get_option ("global.appTest") for each run and puts back what it
    # found at the end: runs overlapping on threads would leave one run's patch in place, then
    # patch over it (a chain). Here the first run to start patches, the last to end unpatches.
    lock, active = threading.Lock(), [0, None]

    @contextlib.contextmanager
    def shared_patch(overrides: dict):
        with lock:
            if active[0] == 0:
                active[1] = patch_config_options(overrides)
                active[1].__enter__()
            active[0] += 1
        try:
            yield
        finally:
            with lock:
                active[0] -= 1
                if active[0] == 0:
                    active[1].__exit__(None, None, None)

    app_test.patch_config_options = shared_patch


def shown_text(at) -> str:
    """Every element of the page (main area and sidebar, inside every container): its
    protobuf as UTF-8 text (options, charts' JSON), tables as their cells (CSV)."""
    import pandas as pd
    from google.protobuf import text_format

    parts: list[str] = []

    def walk(node) -> None:
        value = None
        if getattr(node, "type", "") in ("arrow_data_frame", "arrow_table", "table"):
            try:
                value = node.value
            except Exception:  # noqa: BLE001 - then the proto below
                value = None
        if isinstance(value, pd.DataFrame):
            parts.append(value.to_csv())
        elif getattr(node, "proto", None) is not None:
            parts.append(text_format.MessageToString(node.proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@dataclass
class View:
    session: int
    user: str
    round: int
    page: str
    seconds: float
    exception: str = ""
    leaked: list[str] = field(default_factory=list)
    own_shown: int = 0  # FINESS of the perimeter found on the page
    states_sent: bool = True  # False: AppTest could not read back the previous page's widgets


def run_phase(
    phase: str, users: list[User], rounds: int, keep_colliding: bool, think: float
) -> dict:
    import random
    import resource

    import duckdb
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    share_one_runtime()
    pages = e2e.app_pages()
    store = os.environ["DUI_METRICS_STORE"]

    # What each session may show, and every FINESS of the store (what it must not).
    with duckdb.connect(store, read_only=True) as con:
        rows = con.execute(
            "select finess_et, finess_ej, region, departement, editeur from establishments"
        ).fetchall()
    every = {r[0] for r in rows} | {r[1] for r in rows}

    def allowed(user: User) -> set[str] | None:
        if user.role == "admin":
            return None
        s = user.scope
        mine = [
            r
            for r in rows
            if r[1] in s.get("og", [])
            or r[2] in s.get("regions", [])
            or r[3] in s.get("departements", [])
            or r[4] in s.get("editeurs", [])
        ]
        return {r[0] for r in mine} | {r[1] for r in mine}

    # Imports and the store snapshot happen once per process: done before the sessions.
    start = time.perf_counter()
    warm = AppTest.from_file(str(e2e.APP), default_timeout=900)
    warm.user = {"is_logged_in": True, "email": "nobody@bench.example", "sub": "nobody"}
    warm.run()  # the « no access » page: imports, gate, store snapshot; no ESMS data cached
    warm_up = time.perf_counter() - start
    st.cache_data.clear()
    rss_idle = status_kib("VmRSS")

    views: list[View] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(users))
    failures: list[str] = []

    def session(i: int, user: User) -> None:
        mine = allowed(user)
        forbidden = None if mine is None else every - mine
        local: list[View] = []
        pause = random.Random(i)  # think time between views: uniform in [0, 2 × think]

        def record(page: str, rnd: int, seconds: float, at, sent: bool = True) -> None:
            view = View(i, user.email, rnd, page, seconds, states_sent=sent)
            if at.exception:
                view.exception = at.exception[0].value.splitlines()[0][:200]
            else:  # ui.PAGE_FAULT, should DUI_METRICS_DEBUG not reach the page
                faults = [e.value for e in at.error if "n'a pas pu s'afficher" in e.value]
                view.exception = faults[0][:200] if faults else ""
            if forbidden is not None:
                found = set(FINESS_TOKEN.findall(shown_text(at)))
                view.leaked = sorted(found & forbidden)
                view.own_shown = len(found & mine)
            local.append(view)

        try:
            at = AppTest.from_file(str(e2e.APP), default_timeout=900)
            at.user = {"is_logged_in": True, "email": user.email, "sub": user.email}
            barrier.wait()
            t = time.perf_counter()
            at.run()
            record(LOGIN, 1, time.perf_counter() - t, at)
            order = pages[i % len(pages) :] + pages[: i % len(pages)]
            for rnd in range(1, rounds + 1):
                for page in order:
                    try:  # what the browser sends: the widget states of the page it leaves
                        states = at._tree.get_widget_states()
                    except (ValueError, TypeError, KeyError):
                        states = None  # AppTest cannot read back a widget of that page
                    at.switch_page(f"pages/{page}.py")
                    if not keep_colliding and states is not None:
                        for key in COLLIDING_KEYS:
                            if key in at.session_state:
                                del at.session_state[key]
                        kept = [
                            w
                            for w in states.widgets
                            if not w.id.endswith(tuple(f"-{k}" for k in COLLIDING_KEYS))
                        ]
                        del states.widgets[:]
                        states.widgets.extend(kept)
                    if think:
                        time.sleep(pause.uniform(0, 2 * think))
                    t = time.perf_counter()
                    at._run(states)
                    record(page, rnd, time.perf_counter() - t, at, states is not None)
        except Exception as exc:  # noqa: BLE001 - reported, the other sessions go on
            with lock:
                failures.append(f"session {i} ({user.email}): {type(exc).__name__}: {exc}")
        with lock:
            views.extend(local)

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler = RssSampler()
    sampler.start()
    start = time.perf_counter()
    threads = [
        threading.Thread(target=session, args=(i, u), name=f"session-{i}")
        for i, u in enumerate(users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": cpu.ru_utime + cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime,
        "phase": phase,
        "sessions": len(users),
        "warm_up_s": warm_up,
        "wall_s": wall,
        "rss_idle_mib": rss_idle / 1024,
        "rss_peak_sampled_mib": sampler.peak / 1024,
        "vmhwm_mib": status_kib("VmHWM") / 1024,
        "views": [asdict(v) for v in views],
        "failures": failures,
        "load": os.getloadavg(),
    }


# --- the parent: phases, table ---------------------------------------------------------------


def quiet_streamlit_logs() -> None:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    for name, log in logging.root.manager.loggerDict.items():
        if name.startswith("streamlit") and isinstance(log, logging.Logger):
            log.setLevel(logging.ERROR)


def store_identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def load_average(values=None) -> str:
    return ", ".join(f"{x:.2f}" for x in (values or os.getloadavg()))


def print_phase(result: dict, pages: list[str]) -> None:
    views = result["views"]
    name = result["phase"]
    print(
        f"\n{name}: {result['sessions']} session(s), {len(views)} page views in "
        f"{result['wall_s']:.1f} s ({len(views) / result['wall_s']:.1f} views/s, process CPU "
        f"{result['cpu_s']:.0f} s: {result['cpu_s'] / len(views):.2f} s per view); process RSS "
        f"idle {result['rss_idle_mib']:.0f} MiB (imports + snapshot, warm-up "
        f"{result['warm_up_s']:.1f} s), peak {result['vmhwm_mib']:.0f} MiB (VmHWM; sampled "
        f"{result['rss_peak_sampled_mib']:.0f}); load at end {load_average(result['load'])}"
    )
    header = ("page", "views", "median s", "worst s", "median round 1", "median later", "errors")
    lines = []
    for page in [LOGIN, *pages, "(all pages)"]:
        chosen = [v for v in views if page in ("(all pages)", v["page"])]
        if page == "(all pages)":
            chosen = [v for v in views if v["page"] != LOGIN]
        if not chosen:
            continue
        times = [v["seconds"] for v in chosen]
        first = [v["seconds"] for v in chosen if v["round"] == 1]
        later = [v["seconds"] for v in chosen if v["round"] > 1]
        errors = sum(bool(v["exception"]) for v in chosen)
        lines.append(
            (
                page,
                str(len(chosen)),
                f"{statistics.median(times):.2f}",
                f"{max(times):.2f}",
                f"{statistics.median(first):.2f}" if first else "—",
                f"{statistics.median(later):.2f}" if later else "—",
                str(errors) if errors else "",
            )
        )
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)))
    unsent = sum(not v["states_sent"] for v in views)
    if unsent:
        print(f"page changes without the previous page's widget states (AppTest): {unsent}")
    for failure in result["failures"]:
        print(f"⚠ {failure}")
    for v in views:
        if v["exception"]:
            print(f"⚠ exception: session {v['session']} {v['user']} {v['page']}: {v['exception']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help="store read (never written)"
    )
    parser.add_argument("--users", type=int, default=20, help="simultaneous sessions (≤ 20)")
    parser.add_argument("--rounds", type=int, default=2, help="visits of every page per session")
    parser.add_argument(
        "--phases",
        nargs="*",
        choices=["alone", "users", "admins"],
        default=["alone", "users", "admins"],
        help="phases to run (default: all three)",
    )
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a session's views, s"
    )
    parser.add_argument(
        "--keep-colliding-keys",
        action="store_true",
        help="keep the og / editeur values between pages (the known fault: counts failures)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a phase, in its own process
    args = parser.parse_args()
    store = args.store.resolve()
    if not store.is_file():
        parser.error(f"--store {store}: no such file (bench/national.py, then ingest)")

    if args.child:
        quiet_streamlit_logs()
        users = [User(**u) for u in json.loads(os.environ["DUI_METRICS_BENCH_USERS"])]
        result = run_phase(args.child, users, args.rounds, args.keep_colliding_keys, args.think)
        print("RESULT " + json.dumps(result))
        return 0

    import streamlit

    print(
        f"dui-metrics sessions bench · Python {platform.python_version()} · Streamlit "
        f"{streamlit.__version__} · {os.cpu_count()} CPU · {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"store: {store} ({store.stat().st_size / 2**20:.1f} MiB, read only), today {e2e.TODAY}")
    print(f"load average (1, 5, 15 min) at start: {load_average()}")
    users = pick_users(store, args.users)
    for user in users:
        print(f"  {user.email}: {user.label}")
    admins = [User(f"admin{i + 1:02d}@bench.example", "admin") for i in range(len(users))]
    before = store_identity(store)
    pages = e2e.app_pages()
    results = []
    leaks: list[str] = []
    blind: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dui-bench-sessions-") as tmp:
        acces = Path(tmp) / "acces.toml"
        acces.write_text(acces_toml(users + admins), encoding="utf-8")
        for phase in args.phases:
            chosen = {"alone": users[:1], "users": users, "admins": admins}[phase]
            env = os.environ | {
                "DUI_METRICS_STORE": str(store),
                "DUI_METRICS_TODAY": e2e.TODAY,
                "DUI_METRICS_BENCH_ACCES": str(acces),
                "DUI_METRICS_BENCH_USERS": json.dumps([asdict(u) for u in chosen]),
                # A page's unexpected error raised (AppTest's exception), not only shown.
                "DUI_METRICS_DEBUG": "1",
            }
            env.pop("DUI_METRICS_ACCES", None)
            command = [sys.executable, __file__, "--child", phase, "--store", str(store)]
            command += ["--rounds", str(args.rounds), "--think", str(args.think)]
            if args.keep_colliding_keys:
                command.append("--keep-colliding-keys")
            # The working folder: the app writes data/demo there if it ever misses its store.
            done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode or not lines:
                print(f"⚠ phase {phase} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
                continue
            result = json.loads(lines[-1][len("RESULT ") :])
            results.append(result)
            print_phase(result, pages)
            for v in result["views"]:
                if v["leaked"]:
                    leaks.append(f"{v['user']} {v['page']} round {v['round']}: {v['leaked'][:5]}")
            by_session: dict[str, int] = {}
            for v in result["views"]:
                if v["page"] == "etablissement":
                    by_session[v["user"]] = max(by_session.get(v["user"], 0), v["own_shown"])
            blind += [
                f"{phase} {email}"
                for email, shown in by_session.items()
                if shown == 0 and not email.startswith("admin")
            ]
        written = sorted(str(p.relative_to(tmp)) for p in Path(tmp).rglob("data") if p.is_dir())
    unchanged = store_identity(store) == before

    checked = sum(1 for r in results for v in r["views"] if not v["user"].startswith("admin"))
    print()
    if leaks:
        print(f"⚠ LEAKS: FINESS outside the session's perimeter on {len(leaks)} views:")
        for leak in leaks:
            print(f"  {leak}")
    else:
        print(f"perimeter check: no FINESS outside its perimeter on {checked} non-admin views")
    if blind:
        print(f"⚠ check blind (no FINESS of the perimeter on Établissement): {blind}")
    print(f"load average (1, 5, 15 min) at end: {load_average()}")
    print(
        "store unchanged (inode, size, mtime)" if unchanged else "⚠ THE STORE WAS WRITTEN",
        "· no demo data written" if not written else f"· ⚠ demo data written in {written}",
    )
    return 0 if unchanged and not written and not leaks else 1


if __name__ == "__main__":
    sys.exit(main())
