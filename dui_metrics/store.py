"""Store: the local analytical store and the only holder of a DuckDB connection.

It owns the schema, its version and migrations, and the SQL files of ``dui_metrics/sql``.
Tables (schema version 1):

- ``meta(key, value)``: ``schema_version``.
- ``imports``: the ingestion log, one row per file loaded (name, SHA-256, time, rows loaded
  and replaced, référentiel version).
- ``establishments``: the établissements reference, one row per ``finess_et``.
- ``usage``: typed monthly base counts keyed ``(finess_et, periode, indicateur)``, each row
  pointing to the import and line it came from (the raw layer as received stays in the file
  named by the log).

Nothing connects at import time. The app opens the store read-only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

SCHEMA_VERSION = 1
DEFAULT_PATH = Path("data") / "dui-metrics.duckdb"
ENV_VAR = "DUI_METRICS_STORE"


class StoreError(RuntimeError):
    """The store cannot be opened or used (missing file, newer schema...)."""


def version_key(path: str | Path) -> tuple[int, int]:
    """Identity of the store file's current version: (inode, modification time in ns)."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


# A snapshot link lives for the few milliseconds of an open; one older than this was left by a
# reader killed while opening (by ctime: linking or unlinking a file's name updates it).
STALE_SNAPSHOT_LINK_S = 60.0


def remove_stale_snapshot_links(path: str | Path) -> None:
    """Remove the ``Store.snapshot`` links of ``path`` left by readers killed mid-open: each
    would keep an old version of the store on disk. Age, not the pid in the name, tells them
    apart: a reader in another container sharing the folder has a pid unknown here."""
    path = Path(path)
    for link in path.parent.glob(f".{glob.escape(path.name)}.snapshot-*"):
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by its reader
            if time.time() - link.stat().st_ctime > STALE_SNAPSHOT_LINK_S:
                link.unlink()


def default_path() -> Path:
    """``$DUI_METRICS_STORE`` or ``data/dui-metrics.duckdb``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


@cache
def sql(name: str) -> str:
    """The statement of ``dui_metrics/sql/<name>.sql``."""
    return resources.files("dui_metrics").joinpath("sql", f"{name}.sql").read_text("utf-8")


def _create_v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("schema_v1"))


# Migrations from version N to N + 1. Each runs inside the transaction that bumps the version,
# so a store is never left between two versions.
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {}


class Store:
    """Local analytical store; the only holder of a DuckDB connection."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        in_memory = self.path == ":memory:"
        if read_only and not in_memory and not Path(self.path).exists():
            raise StoreError(
                f"aucun magasin de données à {self.path} : importez des exports avec "
                "« dui-metrics ingest » ou créez la démo avec « dui-metrics demo »"
            )
        if not in_memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if read_only and not in_memory:
            self._upgrade_if_needed()
        try:
            self.con = duckdb.connect(self.path, read_only=read_only and not in_memory)
        except duckdb.Error as exc:
            raise StoreError(f"impossible d'ouvrir le magasin {self.path} : {exc}") from exc
        if not read_only or in_memory:
            self._ensure_schema()
        else:
            self._check_version(self._version())

    @classmethod
    def _from_connection(cls, parent: Store, con: duckdb.DuckDBPyConnection) -> Store:
        child = cls.__new__(cls)
        child.path, child.read_only, child.con = parent.path, parent.read_only, con
        return child

    def cursor(self) -> Store:
        """A Store on a new cursor of the same database: one per thread or script run."""
        return Store._from_connection(self, self.con.cursor())

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -------------------------------------------------------------------------
    def _version(self) -> int | None:
        has_meta = self.scalar(
            "select count(*) from information_schema.tables where table_name = 'meta'"
        )
        if not has_meta:
            return None
        value = self.scalar("select value from meta where key = 'schema_version'")
        return int(value) if value is not None else None

    def _check_version(self, version: int | None) -> None:
        if version is None:
            raise StoreError(f"{self.path} n'est pas un magasin dui-metrics")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"le magasin {self.path} a le schéma {version}, plus récent que celui de cette "
                f"version de dui-metrics ({SCHEMA_VERSION}) : mettez dui-metrics à jour"
            )

    def _ensure_schema(self) -> None:
        version = self._version()
        if version is None:
            with self.transaction():
                _create_v1(self.con)
                self.con.execute(
                    "insert into meta values ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
            return
        self._check_version(version)
        while version < SCHEMA_VERSION:
            with self.transaction():
                MIGRATIONS[version](self.con)
                version += 1
                self.con.execute(
                    "update meta set value = ? where key = 'schema_version'", [str(version)]
                )

    def _upgrade_if_needed(self) -> None:
        """A read-only open of an older store first migrates it, as any write: on a copy
        that then replaces the store (see writer.py)."""
        with duckdb.connect(self.path, read_only=True) as probe:
            probe_store = Store._from_connection(self, probe)
            version = probe_store._version()
        if version is not None and version < SCHEMA_VERSION:
            from dui_metrics.writer import writable_copy

            with writable_copy(self.path):
                pass

    @classmethod
    def snapshot(cls, path: str | Path) -> Store:
        """A read-only Store on the current version of the store file, for long-lived readers.

        DuckDB shares one database instance per path within a process, so a process that keeps
        a connection open would never see a newer version written by ``writer.writable_copy``.
        Opening through a private hard link named after the file's identity gives each version
        its own instance; the link is removed at once (the open file stays readable).
        ``version_key`` tells whether the store has been replaced since.
        """
        path = Path(path)
        if not path.exists():
            return cls(path, read_only=True)  # raises the explanatory StoreError
        remove_stale_snapshot_links(path)
        key = version_key(path)
        # pid and thread: two threads snapshotting the same version must not share a link
        owner = f"{os.getpid()}-{threading.get_ident()}"
        alias = path.with_name(f".{path.name}.snapshot-{owner}-{key[0]}-{key[1]}")
        alias.unlink(missing_ok=True)
        os.link(path, alias)
        try:
            snap = cls(alias, read_only=True)
        finally:
            alias.unlink(missing_ok=True)
        snap.path, snap.version_key = str(path), key
        return snap

    @property
    def schema_version(self) -> int:
        return self._version() or 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception."""
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    # --- reading ------------------------------------------------------------------------
    def execute(self, statement: str, params: object = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(statement, params)

    def one(self, statement: str, params: object = None) -> tuple | None:
        """The first row of a statement, or None. Reads the whole result: DuckDB 2.0 refuses
        new work on a connection whose previous result is unfinished."""
        rows = self.con.execute(statement, params).fetchall()
        return rows[0] if rows else None

    def scalar(self, statement: str, params: object = None) -> object:
        """The first column of the first row (None when there is no row)."""
        row = self.one(statement, params)
        return row[0] if row else None

    def query(self, name: str, params: object = None) -> duckdb.DuckDBPyConnection:
        """Run ``sql/<name>.sql`` with bound parameters."""
        return self.con.execute(sql(name), params)

    def arrow(self, name: str, params: object = None):
        """Run ``sql/<name>.sql`` and return a pyarrow table (no DB-API copy)."""
        return self.con.sql(sql(name), params=params).to_arrow_table()

    def arrow_of(self, statement: str, params: object = None):
        """The result of a statement as a pyarrow table."""
        return self.con.sql(statement, params=params).to_arrow_table()

    def register(self, name: str, table: object) -> None:
        """Expose a pyarrow table or DataFrame to SQL on this cursor."""
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def imports(self) -> list[dict]:
        """The ingestion log, oldest first."""
        cur = self.con.execute(
            "select import_id, file_name, sha256, kind, imported_at, rows_loaded, "
            "rows_replaced, referentiel_version from imports order by import_id"
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def months(self) -> list:
        """Months with usage data, oldest first."""
        return [
            r[0] for r in self.execute("select distinct periode from usage order by 1").fetchall()
        ]

    def latest_month(self):
        """Latest ``periode`` with usage data, or None for an empty store."""
        return self.scalar("select max(periode) from usage")
