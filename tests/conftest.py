"""Shared fixtures: a pinned "today", a real DuckDB store file, tiny hand-made exports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dui_metrics import referentiel
from dui_metrics.store import Store

TODAY = "2025-06-15"  # current month 2025-06: 2025-07 is "in the future" for ingestion


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DUI_METRICS_TODAY", TODAY)
    monkeypatch.delenv("DUI_METRICS_STORE", raising=False)
    # A page's unexpected error fails the test with its traceback (`ui.run_page`), rather
    # than the French message a browser gets.
    monkeypatch.setenv("DUI_METRICS_DEBUG", "1")
    return TODAY


@pytest.fixture(autouse=True, scope="session")
def error_details_in_full() -> None:
    """AppTest shows a page's error in full: the project's config (.streamlit/config.toml)
    hides error details from browsers."""
    from streamlit import config

    config.set_option("client.showErrorDetails", "full")


@pytest.fixture
def ref() -> referentiel.Referentiel:
    return referentiel.default()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def store(store_path: Path):
    with Store(store_path) as s:
        yield s


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """write_file("usages.csv", text, encoding="utf-8") → path of a file in a tmp folder."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return write


def build_store(folder: Path, reference: str, usage: str) -> Path:
    """A store file in ``folder`` holding the reference and usage CSV texts, ingested (both
    must load)."""
    from dui_metrics.ingest import ingest_paths

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ref.csv").write_text(reference, encoding="utf-8")
    (folder / "usage.csv").write_text(usage, encoding="utf-8")
    path = folder / "store.duckdb"
    with Store(path) as store:
        results = ingest_paths(store, [folder / "ref.csv", folder / "usage.csv"])
    assert [r.status for r in results] == ["chargé", "chargé"]
    return path


@pytest.fixture
def store_from(tmp_path: Path) -> Callable[[str, str], Path]:
    """store_from(reference_csv, usage_csv) → a store file holding both, ingested (both must
    load)."""

    def build(reference: str, usage: str) -> Path:
        return build_store(tmp_path, reference, usage)

    return build
