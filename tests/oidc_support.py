"""Helpers for tests/test_oidc_login.py: a real OpenID provider on loopback, the secrets and
access files that point the dashboard at it, a login through the provider's own form, and
what the browser received (page text, server messages, Plotly data, downloaded files).

The provider is `oidc-provider-mock` (the ``test`` extra): any client id and secret are
accepted, and its login form asks for a ``sub``; a ``sub`` it has never seen gets the claims
``{"email": sub}``, so typing an e-mail address logs in as that address. Nothing here asserts
on page content.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

from e2e_support import free_port

from dui_metrics.login import LOGIN_LABEL

# The werkzeug server of the provider logs every request on stderr: noise in test output.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


# Installed before the page's scripts (after e2e_support's observer, which wraps WebSocket
# first): keeps the text of every server message, decoded as UTF-8 without failing. Strings
# travel as UTF-8 inside Streamlit's protobuf messages and in the Arrow tables of
# st.dataframe (values of a column end to end, no separator), and Plotly figures as JSON: a
# FINESS or a name the server sent to this page is in there, shown or not.
_CAPTURE = """
(() => {
  const texts = (window.__serverText = []);
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const Wrapped = window.WebSocket;
  window.WebSocket = class extends Wrapped {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const d = event.data;
        if (typeof d === "string") texts.push(d);
        else if (d instanceof ArrayBuffer) texts.push(decoder.decode(new Uint8Array(d)));
        else if (d instanceof Blob) d.arrayBuffer().then((b) => texts.push(decoder.decode(b)));
      });
    }
  };
})();
"""

_PLOTLY_DATA = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map((el) => {
  try { return JSON.stringify({ data: el.data || [], layout: el.layout || {} }); }
  catch (e) { return ''; }
})
"""


@contextlib.contextmanager
def oidc_provider() -> Iterator[str]:
    """An OpenID provider on a free loopback port, in a thread of this process; yields its
    issuer URL (``http://localhost:PORT``)."""
    with warnings.catch_warnings():  # authlib's deprecation warnings at import time
        warnings.simplefilter("ignore")
        import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


def write_secrets(path: Path, *, issuer: str, app_port: int, access_file: Path) -> Path:
    """A secrets file (never the repository's .streamlit/secrets.toml) with ``[auth]`` for the
    provider at ``issuer`` and the access file; the dashboard must be opened at
    ``http://localhost:app_port``: the login cookie belongs to redirect_uri's host."""
    path.write_text(
        f"acces = {str(access_file)!r}\n"
        "[auth]\n"
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
        'cookie_secret = "cookie-secret-for-tests-only"\n'
        'client_id = "dui-metrics"\n'
        'client_secret = "secret-for-tests-only"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path


def capture_server_messages(context) -> None:
    """Every page of ``context`` keeps the text of the server's messages (`server_text`)."""
    context.add_init_script(_CAPTURE)


def server_text(page) -> str:
    """The text of every server message this page load received so far."""
    return "\n".join(page.evaluate("window.__serverText || []"))


def app_text(page) -> str:
    """What the page shows as text: main area and sidebar."""
    return page.locator('[data-testid="stApp"]').inner_text()


def plotly_data(page) -> list[str]:
    """The data and layout of every Plotly chart on the page, one JSON text per chart."""
    return page.evaluate(_PLOTLY_DATA)


def login(page, app_url: str, issuer: str, sub: str, timeout_s: float = 60) -> None:
    """Log in on the dashboard at ``app_url`` through the provider's form, as ``sub``; returns
    once the browser is back on the dashboard (the page may still be running)."""
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("button", name=LOGIN_LABEL).click(timeout=timeout_s * 1000)
    page.wait_for_url(f"{issuer}/**", timeout=timeout_s * 1000)
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{app_url}/**", timeout=timeout_s * 1000)


def download_text(name: str, data: bytes) -> str:
    """The text of a downloaded file: CSV as text, every cell of an XLSX, every page of a PDF."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    return data.decode("utf-8-sig", errors="replace")
