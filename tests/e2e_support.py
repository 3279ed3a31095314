"""End-to-end helpers shared by tests/test_browser.py and bench/pages.py.

Owns what a real-browser run needs: the demo store built by the real console script, a
``streamlit run app.py`` server on a free loopback port, Debian's headless Chromium driven by
Playwright, and "Streamlit is idle" detection. Nothing here asserts on page content.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
TODAY = "2026-11-25"  # the demo's last month is 2026-10: VA window 08/2026–10/2026

# Debian's chromium: `playwright install` downloads a browser build and fails offline.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_MISSING = (
    f"{CHROMIUM} not found: the browser test drives Debian's Chromium. Install it with "
    "`apt-get update && apt-get install -y chromium fonts-noto-color-emoji` (.ci/run does); "
    "`playwright install` does not work offline."
)

# Installed before the page's own scripts: a MutationObserver stamps the last DOM change and
# the end of the last script run (stApp's data-test-script-state back to "notRunning"), and
# the WebSocket counts the server's messages (every script run sends some, even one too fast
# for the "running" state to reach the DOM). Times are ms since navigation start.
_OBSERVER = """
(() => {
  const s = (window.__e2e = { runs: 0, messages: 0, lastChange: 0, scriptDone: 0 });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => {
        s.messages += 1;
        s.lastChange = performance.now();
      });
    }
  };
  new MutationObserver((records) => {
    s.lastChange = performance.now();
    for (const r of records) {
      if (r.type !== "attributes" || r.attributeName !== "data-test-script-state") continue;
      const state = r.target.getAttribute("data-test-script-state");
      if (state === "running") s.runs += 1;
      if (state === "notRunning") s.scriptDone = s.lastChange;
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();
"""
# Idle: connected, script not running, no "Running…" icon, the script has run (a "running"
# state seen; or, for a rerun, server messages since the key press; for a fresh load, elements
# in the main area: the state reads "notRunning" before the first run too), and no DOM change
# nor message for `quiet` ms (charts and tables drawn).
_IDLE = """
({ quiet, needRun }) => {
  const s = window.__e2e;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!s || !app) return false;
  const ran = s.runs > 0 || (needRun ? s.messages > 0 : !!document.querySelector(
    '[data-testid="stMain"] [data-testid="stElementContainer"]'));
  return app.dataset.testScriptState === "notRunning"
    && app.dataset.testConnectionState === "CONNECTED"
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
    && ran && performance.now() - s.lastChange >= quiet;
}
"""


def app_pages() -> list[str]:
    """Page names in navigation order, read from app.py: ``st.Page("pages/x.py")`` → ``x``
    (also its URL path, since pages keep their file names as URL paths)."""
    return re.findall(r"""st\.Page\(\s*["']pages/(\w+)\.py["']""", APP.read_text("utf-8"))


def build_demo_store(folder: Path) -> Path:
    """Write and ingest the demo exports with the real console script; return the store."""
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "store.duckdb"
    cli = Path(sys.executable).with_name("dui-metrics")
    env = {**os.environ, "DUI_METRICS_TODAY": TODAY}
    env.pop("DUI_METRICS_STORE", None)
    done = subprocess.run(
        [str(cli), "demo", "--store", str(store), "--dossier", str(folder / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dui-metrics demo failed ({done.returncode}):\n{done.stderr}")
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """``streamlit run`` of a script on a free loopback port, its output in ``log``.

    Runs in ``cwd`` (a scratch folder: the app writes data/demo there if the store is
    missing) with the project's .streamlit/config.toml copied in, since Streamlit reads the
    config of its working directory.
    """

    def __init__(
        self,
        script: Path,
        store: Path,
        cwd: Path,
        log: Path,
        *,
        headless: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.script, self.store, self.cwd, self.log = script, store, cwd, log
        self.headless, self.env = headless, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> StreamlitServer:
        config = ROOT / ".streamlit" / "config.toml"
        if config.exists():
            (self.cwd / ".streamlit").mkdir(parents=True, exist_ok=True)
            (self.cwd / ".streamlit" / "config.toml").write_bytes(config.read_bytes())
        env = {
            **os.environ,
            "DUI_METRICS_STORE": str(self.store),
            "DUI_METRICS_TODAY": TODAY,
            **self.env,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(self.script),
                 "--server.headless", "true" if self.headless else "false",
                 "--server.address", "127.0.0.1",
                 "--server.port", str(self.port),
                 "--browser.gatherUsageStats", "false"],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s:\n{self.tail()}")

    def peak_rss_mib(self) -> float | None:
        """Peak resident memory of the server process so far (VmHWM, what getrusage's
        maxrss reports for a process), in MiB; None once it has exited."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except (OSError, AttributeError):
            return None
        kib = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(kib.group(1)) / 1024 if kib else None

    def wait_for_output(self, text: str, timeout: float = 300, count: int = 1) -> float:
        """Seconds until the server's output holds ``text`` ``count`` times (a warm-up line of
        `dui_metrics.server`, say); raises with the output's end after ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.log.read_text(errors="replace").count(text) >= count:
                return time.monotonic() - start
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"no « {text} » ×{count} in the server's output:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_chromium(playwright):
    """Debian's headless Chromium (raises FileNotFoundError with how to install it)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(CHROMIUM_MISSING)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def new_context(browser, width: int = 1400, height: int = 900):
    """A French browser window of ``width`` × ``height`` CSS pixels whose pages report when
    Streamlit is idle."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="fr-FR", timezone_id="Europe/Paris"
    )
    context.add_init_script(_OBSERVER)
    return context


@contextmanager
def chromium() -> Iterator:
    """Playwright's driver and Debian's headless Chromium, both closed on exit (raises
    FileNotFoundError, with how to install it, when the browser is missing: a browser test
    fails then, it is never skipped)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator:
    """One page of a fresh French context (`new_context`) of its own Chromium: what a browser
    test module opens its pages in."""
    with chromium() as browser:
        context = new_context(browser, width, height)
        try:
            yield context.new_page()
        finally:
            context.close()


def open_and_wait(page, url: str, timeout_s: float = 90, quiet_ms: int = 500) -> float:
    """Navigate to ``url`` (a new Streamlit session) and wait until Streamlit is idle; return
    the time from navigation start to the last DOM change before idle, in seconds (the quiet
    window excluded)."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
    _wait_idle(page, url, timeout_s, quiet_ms, need_run=False)
    return page.evaluate("window.__e2e.lastChange") / 1000


def rerun_and_wait(page, timeout_s: float = 90, quiet_ms: int = 500) -> float:
    """Rerun the script in the same session (Streamlit's "r" shortcut: what a widget change
    or a click in the sidebar costs) and wait until idle; return the time from the key press
    to the last DOM change before idle, in seconds."""
    mark = page.evaluate(
        "() => { window.__e2e.runs = 0; window.__e2e.messages = 0; return performance.now(); }"
    )
    page.focus('[data-testid="stMain"]')  # the shortcut is heard inside the app, not on body
    page.keyboard.press("r")
    _wait_idle(page, page.url, timeout_s, quiet_ms, need_run=True)
    return (page.evaluate("window.__e2e.lastChange") - mark) / 1000


def cold_rerun_and_wait(page, timeout_s: float = 90, quiet_ms: int = 500) -> float:
    """Empty the server's caches (Streamlit's "c" shortcut and its « Clear caches » button:
    st.cache_data and st.cache_resource, shared by every session), then `rerun_and_wait`:
    what a rerun costs when nothing it needs was computed before (a never-seen selection)."""
    page.focus('[data-testid="stMain"]')
    page.keyboard.press("c")
    button = page.get_by_role("button", name="Clear caches")
    button.click(timeout=timeout_s * 1000)
    button.wait_for(state="detached", timeout=timeout_s * 1000)
    return rerun_and_wait(page, timeout_s, quiet_ms)


def click_and_wait(locator, timeout_s: float = 90, quiet_ms: int = 500) -> None:
    """Click ``locator`` (a tab, a button: something that reruns the script) and wait until
    Streamlit is idle again."""
    page = locator.page
    page.evaluate("() => { window.__e2e.runs = 0; window.__e2e.messages = 0; }")
    locator.click()
    _wait_idle(page, page.url, timeout_s, quiet_ms, need_run=True)


def _wait_idle(page, url: str, timeout_s: float, quiet_ms: int, need_run: bool) -> None:
    try:
        page.wait_for_function(
            _IDLE,
            arg={"quiet": quiet_ms, "needRun": need_run},
            polling=100,
            timeout=timeout_s * 1000,
        )
    except Exception as error:  # playwright's TimeoutError: say what state the app was in
        state = page.evaluate(
            """() => { const a = document.querySelector('[data-testid="stApp"]');
                       return a ? [a.dataset.testScriptState, a.dataset.testConnectionState]
                                : 'no stApp'; }"""
        )
        raise AssertionError(
            f"{url}: Streamlit not idle after {timeout_s:.0f} s (script, connection: {state})"
        ) from error


def full_page_screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside stMain, not the document: grow the viewport to the content's
    height for the shot (so full_page sees it all), then put it back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return m ? m.scrollHeight : document.body.scrollHeight; }"""
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 16000)})
    try:
        page.wait_for_timeout(700)  # charts re-lay out to the new size
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
