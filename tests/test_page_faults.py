"""No traceback nor server path reaches a browser (issue 16, « Hardening »): an unexpected
error on a page shows a French message with a reference, and the details go to the server's
log (`ui.run_page`); Streamlit's own error display is off (``client.showErrorDetails``)."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def failing_page() -> None:
    from dui_metrics import ui

    class Navigation:
        def run(self) -> None:
            raise RuntimeError("impossible de lire /srv/dui-metrics/secret/magasin.duckdb")

    ui.run_page(Navigation())


def test_an_unexpected_error_shows_a_french_message_and_logs_the_details(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DUI_METRICS_DEBUG")  # a real server: no developer mode
    with caplog.at_level(logging.ERROR, logger="dui_metrics.ui"):
        at = AppTest.from_function(failing_page, default_timeout=30).run()
    assert not at.exception  # no Streamlit exception element, no traceback
    (error,) = at.error
    match = re.fullmatch(
        r"Cette page n'a pas pu s'afficher : erreur inattendue, consignée dans le journal du "
        r"serveur \(référence (\d{8}-\d{6}-[0-9a-f]{6})\)\. Rechargez la page ; si l'erreur "
        r"revient, transmettez cette référence à l'administrateur du tableau de bord\.",
        error.value,
    )
    assert match, error.value
    assert "/srv" not in error.value
    # The log has the reference, the message and the traceback.
    (record,) = [r for r in caplog.records if r.name == "dui_metrics.ui"]
    assert match.group(1) in record.getMessage()
    assert record.exc_info and "secret/magasin.duckdb" in str(record.exc_info[1])


def test_developer_mode_raises_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUI_METRICS_DEBUG", "1")
    at = AppTest.from_function(failing_page, default_timeout=30).run()
    assert "secret/magasin.duckdb" in at.exception[0].message
    assert not at.error


def test_streamlit_shows_no_error_details_and_no_developer_menu() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    # no Deploy button, no developer menu, no ⋮ menu (its items were English)
    assert config["client"]["toolbarMode"] == "minimal"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] == 500  # the CLI's limit (ingest, 500 MB)


def test_fault_text_keeps_file_names_and_drops_folders() -> None:
    from dui_metrics import ui

    exc = OSError(
        "magasin protégé en écriture : /srv/dui/magasin.duckdb ; copie "
        "/tmp/dui-metrics-upload-x1/usages_*2025*.csv impossible"
    )
    assert ui.fault_text(exc, "/srv/dui/magasin.duckdb", "/tmp/dui-metrics-upload-x1") == (
        # Markdown-escaped (every ASCII punctuation character): on screen it reads
        # « magasin protégé en écriture : magasin.duckdb ; copie usages_*2025*.csv impossible »
        r"magasin protégé en écriture \: magasin\.duckdb \; copie usages\_\*2025\*\.csv impossible"
    )
