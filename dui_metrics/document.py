"""The HTML document of every page says it is French.

Streamlit answers every page's address with the same ``index.html``, which declares
``<html lang="en">``: screen readers then read the French screen with an English voice, and
Chromium offers to translate the page « from English ». `FrenchDocument` rewrites that
declaration to ``lang="fr"`` in the document (nothing else; scripts, styles and the
websocket pass through untouched).

Tried and not kept (bench, 2026-12-03): adding ``<link rel="modulepreload">`` lines for the
scripts of each page's elements (tables, metrics, Vega) to the same document, so the browser
fetches them while Streamlit starts. First visits were not faster (Accueil 3.10 vs 2.95 s,
Organisme gestionnaire 4.23 vs 3.98 s, Méthode 3.09 vs 3.32 s, four alternating runs each):
the time goes to compiling and running the scripts on the browser's main thread, not to
fetching them; over an emulated 20 Mbit/s, 40 ms network the gain stayed under 0.3 s.
"""

from __future__ import annotations

DECLARED = b'<html lang="en">'
FRENCH = b'<html lang="fr">'


def page_address(path: str) -> bool:
    """Whether a request's path can be a page (answered with the HTML document): not a file
    (``…/x.js``) nor Streamlit's own paths (``/_stcore/…``)."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "." not in last and not last.startswith("_") and "/_stcore/" not in path


class FrenchDocument:
    """ASGI middleware: in an HTML answer (status 200, ``text/html``) to a page's address,
    ``lang="en"`` becomes ``lang="fr"``; every other answer is left as it is."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or not page_address(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        # Asked uncompressed (Streamlit gzips a page's document, 12 KB), to be read as text.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        scope = {**scope, "headers": headers}
        start: dict | None = None
        body: list[bytes] = []

        async def rewrite(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                found = dict(message.get("headers", []))
                if (
                    message["status"] == 200
                    and found.get(b"content-type", b"").startswith(b"text/html")
                    and b"content-encoding" not in found
                ):
                    start = message  # held until the whole body is read
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                document = b"".join(body).replace(DECLARED, FRENCH, 1)
                kept = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-length", b"etag")
                ]
                kept.append((b"content-length", str(len(document)).encode()))
                await send({**start, "headers": kept})
                await send({"type": "http.response.body", "body": document})
            else:
                await send(message)

        await self.app(scope, receive, rewrite)
