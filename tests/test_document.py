"""dui_metrics.document: the page's HTML document declares French; nothing else changes.

Run through the middleware with Streamlit's own index.html, served by a small ASGI app the
way Streamlit serves it (streamed in chunks, gzip when asked for). The real server with
app.py's st.App: tests/test_browser.py reads ``document.documentElement.lang`` on every page.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest
import streamlit

from dui_metrics.document import FrenchDocument, page_address

INDEX = Path(streamlit.__file__).parent / "static" / "index.html"


def serve(body: bytes, content_type: bytes, *, gzipped: bool = False):
    """An ASGI app answering every request with ``body``, gzipped if asked and allowed."""

    async def app(scope, receive, send):
        asked = dict(scope["headers"]).get(b"accept-encoding", b"")
        headers = [(b"content-type", content_type), (b"etag", b'"abc"')]
        data = body
        if gzipped and b"gzip" in asked:
            data = gzip.compress(body)
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        half = len(data) // 2  # two chunks, as a file is streamed
        await send({"type": "http.response.body", "body": data[:half], "more_body": True})
        await send({"type": "http.response.body", "body": data[half:]})

    return app


def call(app, path: str, method: str = "GET") -> tuple[dict, bytes]:
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"accept-encoding", b"gzip, deflate")],
    }
    asyncio.run(FrenchDocument(app)(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return dict(start["headers"]), body


@pytest.mark.parametrize("path", ["/", "/organisme_gestionnaire", "/base/etablissement"])
def test_a_page_document_is_french_and_otherwise_unchanged(path: str) -> None:
    original = INDEX.read_bytes()
    assert original.count(b'<html lang="en">') == 1  # what Streamlit ships
    headers, body = call(serve(original, b"text/html; charset=utf-8", gzipped=True), path)
    assert body == original.replace(b'<html lang="en">', b'<html lang="fr">')
    assert headers[b"content-length"] == str(len(original)).encode()  # same length: en → fr
    assert b"content-encoding" not in headers and b"etag" not in headers


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/static/js/index.DormvYxC.js", b"text/javascript"),
        ("/_stcore/health", b"text/plain"),
        ("/favicon.png", b"image/png"),
        ("/", b"application/json"),  # not an HTML answer
    ],
)
def test_other_answers_pass_untouched(path: str, content_type: bytes) -> None:
    text = b'<html lang="en">'
    headers, body = call(serve(text, content_type, gzipped=True), path)
    if page_address(path):
        assert body == text  # not HTML: not rewritten (asked uncompressed, though)
    else:
        assert gzip.decompress(body) == text
        assert headers[b"content-encoding"] == b"gzip"  # the request kept its Accept-Encoding


def test_page_address() -> None:
    assert page_address("/") and page_address("/methode") and page_address("/app/donnees/")
    assert not page_address("/static/css/index.css")
    assert not page_address("/_stcore/stream")
    assert not page_address("/media/abc.csv")
