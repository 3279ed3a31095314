"""Store: the local analytical store and the only holder of a DuckDB connection.

It owns the schema, its version and migrations, and the SQL files of ``dui_metrics/sql``.
Tables (schema version 3):

- ``meta(key, value)``: ``schema_version``.
- ``imports``: the ingestion log, one row per file loaded (name, SHA-256, time, rows loaded
  and replaced, référentiel version, and since version 3 who imported it through the
  dashboard: ``imported_by``, see ``sql/migrate_v3.sql``).
- ``establishments``: the établissements reference, one row per ``finess_et``.
- ``usage``: typed monthly base counts keyed ``(finess_et, periode, indicateur)``, each row
  pointing to the import and line it came from (the raw layer as received stays in the file
  named by the log).
- ``records_*`` (``sejours``, ``ins``, ``pp``, ``evenements``, ``dmp``, ``mss``): the DUI's
  pseudonymised records (local dossier ids, dates, codes), ``record_imports`` (the extract of
  each record import, its coverage), ``usage_shadowed`` (precomputed values hidden by counts
  computed from records): see ``sql/migrate_v2.sql`` and ``dui_metrics/records_store.py``.

Nothing connects at import time. The app opens the store read-only.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NoReturn

import duckdb

SCHEMA_VERSION = 3
DEFAULT_PATH = Path("data") / "dui-metrics.duckdb"
ENV_VAR = "DUI_METRICS_STORE"
# meta key: SHA-256 of the demo files imported (comma-separated); see Store.demo_state
DEMO_KEY = "demo_sha256"
DEMO_ONLY, DEMO_MIXED = "demo", "mixte"


# The import log's columns, as `Store.imports` returns them.
IMPORT_COLUMNS = (
    "import_id",
    "file_name",
    "sha256",
    "kind",
    "imported_at",
    "rows_loaded",
    "rows_replaced",
    "referentiel_version",
)


class StoreError(RuntimeError):
    """The store cannot be opened or used (missing file, newer schema...): exit code 2."""


class StoreFault(StoreError):
    """A fault of the store's file or of the machine: unreadable (truncated, corrupt, not a
    dui-metrics store), write-protected, disk full. Exit code 3; ``cause`` is one of
    ``UNREADABLE``, ``READ_ONLY``, ``DISK_FULL``, ``IO``."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


UNREADABLE, READ_ONLY, DISK_FULL, IO = "illisible", "protégé en écriture", "disque plein", "e/s"

# What DuckDB and the system say, lowercased, for each cause (DuckDB words its I/O errors
# itself, without an errno).
_FAULT_WORDS = (
    (DISK_FULL, ("no space left on device", "disk full", "quota exceeded")),
    (READ_ONLY, ("read-only file system", "permission denied", "operation not permitted")),
    (
        UNREADABLE,
        (
            "corrupt database",
            "not a valid duckdb database",
            "could not read enough bytes",
            "checksum",
            "serialization error",
        ),
    ),
)
_FAULT_ERRNOS = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
}


def fault_cause(exc: BaseException) -> str | None:
    """The cause of a machine fault (``DISK_FULL``, ``READ_ONLY``, ``UNREADABLE``, ``IO``) behind
    an exception or the exceptions it was raised from or while handling (DuckDB reports a
    full disk, then « transaction aborted » for the next statement), or None when it is not
    one (a bug, a bad input)."""
    causes = [_own_fault_cause(e) for e in _chain(exc)]
    # The most telling cause wins: a full disk over the generic I/O error it led to.
    for wanted in (DISK_FULL, READ_ONLY, UNREADABLE, IO):
        if wanted in causes:
            return wanted
    return None


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, innermost last."""
    seen: list[BaseException] = []
    while exc is not None and len(seen) < 10 and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _own_fault_cause(exc: BaseException) -> str | None:
    if isinstance(exc, StoreFault):
        return exc.cause or IO
    if isinstance(exc, OSError) and exc.errno in _FAULT_ERRNOS:
        return _FAULT_ERRNOS[exc.errno]
    if isinstance(exc, OSError | duckdb.Error):
        text = str(exc).lower()
        for cause, words in _FAULT_WORDS:
            if any(word in text for word in words):
                return cause
        if isinstance(exc, OSError | duckdb.IOException):
            return IO
    return None


def fault(exc: BaseException, path: str | Path, doing: str = "") -> StoreFault | None:
    """A French ``StoreFault`` for a machine fault met on the store at ``path`` while
    ``doing`` (e.g. « écriture »), or None when ``exc`` is not one. The message names the
    path and what to do, never the input's content."""
    cause = fault_cause(exc)
    if cause is None:
        return None
    already = next((e for e in _chain(exc) if isinstance(e, StoreFault)), None)
    if already is not None:
        return already
    where = f"{path}" + (f" ({doing})" if doing else "")
    detail = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]
    messages = {
        DISK_FULL: f"disque plein : plus de place pour écrire le magasin {where} ; libérez de "
        "l'espace puis relancez la commande",
        READ_ONLY: f"magasin protégé en écriture : {where} ; le dossier ou le fichier n'est pas "
        "modifiable par cet utilisateur (droits, disque en lecture seule)",
        UNREADABLE: f"magasin illisible : {where} n'est pas un magasin DuckDB lisible (fichier "
        "tronqué ou endommagé ?) ; restaurez une sauvegarde, ou indiquez un autre fichier "
        "avec --store",
        IO: f"erreur d'entrée-sortie sur le magasin {where} : {detail}",
    }
    return StoreFault(messages[cause], cause)


def raise_as_fault(exc: BaseException, path: str | Path, doing: str) -> NoReturn:
    """Raise ``exc`` again: as its French ``StoreFault`` (`fault`) when it is a fault of the
    machine met on the store at ``path`` while ``doing``, else as it is."""
    found = fault(exc, path, doing)
    if found is None or found is exc:
        raise exc
    raise found from exc


def resolve(path: str | Path) -> Path:
    """The real path of a store: symbolic links resolved, so that copies, locks and the
    final rename act on the real file, and two aliases of one store share one lock. A link
    that loops is a usage error (never replaced by a new file)."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        real = Path(os.path.realpath(path))  # a store not created yet, or a dangling link
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(
                f"le chemin du magasin {path} est un lien symbolique qui boucle sur lui-même ; "
                "indiquez le fichier lui-même avec --store"
            ) from exc
        raise_as_fault(exc, path, "résolution du chemin")
    if real.is_symlink():  # realpath gave up on a loop
        raise StoreError(
            f"le chemin du magasin {path} est un lien symbolique qui boucle sur lui-même ; "
            "indiquez le fichier lui-même avec --store"
        )
    return real


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
    # A read-only folder cannot hold links, nor lose them: nothing to do there.
    with contextlib.suppress(OSError):
        for link in path.parent.glob(f".{glob.escape(path.name)}.snapshot-*"):
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile by its reader
                if time.time() - link.stat().st_ctime > STALE_SNAPSHOT_LINK_S:
                    link.unlink()


def locate(path: str | Path) -> Path:
    """The real path of the store at ``path`` (`resolve`); a usage error (exit 2) when it
    names a folder, or is a link that loops."""
    real = resolve(path)
    if real.is_dir():
        raise StoreError(
            f"le magasin doit être un fichier, pas un dossier : {path} ; indiquez par exemple "
            f"{Path(path) / 'dui-metrics.duckdb'}"
        )
    return real


def default_path() -> Path:
    """``$DUI_METRICS_STORE`` or ``data/dui-metrics.duckdb``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


@cache
def sql(name: str) -> str:
    """The statement of ``dui_metrics/sql/<name>.sql``."""
    return resources.files("dui_metrics").joinpath("sql", f"{name}.sql").read_text("utf-8")


def _create_v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("schema_v1"))


def _migrate_v2(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("migrate_v2"))


def _migrate_v3(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("migrate_v3"))


# Migrations from version N to N + 1. Each runs inside the transaction that bumps the version,
# so a store is never left between two versions. A new store is made by version 1's schema
# and every migration, in the same transaction.
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: _migrate_v2,
    2: _migrate_v3,
}


class Store:
    """Local analytical store; the only holder of a DuckDB connection."""

    # The table `months` and `latest_month` read: the whole store's calendar, also on a cursor
    # scoped to a perimeter (`access.scoped`), so that the VA window and the default periods
    # are the same for every viewer.
    _calendar = "usage"

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        read_only: bool = False,
        shown_as: str | Path | None = None,
    ) -> None:
        """The store in the file ``path``. ``shown_as``: the path messages name, when ``path``
        is a private copy or link of that store (`snapshot`, `writer.writable_copy`)."""
        file = str(path)
        self.path = str(shown_as or path)
        self.read_only = read_only
        in_memory = file == ":memory:"
        if not in_memory:
            locate(file)
        if read_only and not in_memory and not Path(file).exists():
            raise StoreError(
                f"magasin introuvable : {self.path} ; importez des exports avec "
                "« dui-metrics ingest » ou créez la démo avec « dui-metrics demo »"
            )
        try:
            if not in_memory and not read_only:
                Path(file).parent.mkdir(parents=True, exist_ok=True)
            if read_only and not in_memory:
                self._upgrade_if_needed(file)
            self.con = duckdb.connect(file, read_only=read_only and not in_memory)
        except StoreError:
            raise
        except (duckdb.Error, OSError) as exc:
            raise fault(exc, self.path, "ouverture") or StoreError(
                f"impossible d'ouvrir le magasin {self.path} : {exc}"
            ) from exc
        try:
            if not read_only or in_memory:
                self._ensure_schema()
            else:
                self._check_version(self._version())
        except BaseException as exc:
            self.con.close()
            raise_as_fault(exc, self.path, "lecture")

    @classmethod
    def _from_connection(cls, parent: Store, con: duckdb.DuckDBPyConnection) -> Store:
        child = cls.__new__(cls)
        child.path, child.read_only, child.con = parent.path, parent.read_only, con
        child._calendar = parent._calendar
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
            raise StoreFault(
                f"magasin illisible : {self.path} n'est pas un magasin dui-metrics ; il est "
                "laissé intact, indiquez un autre fichier avec --store",
                UNREADABLE,
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"le magasin {self.path} a le schéma {version}, plus récent que celui de cette "
                f"version de dui-metrics ({SCHEMA_VERSION}) : mettez dui-metrics à jour"
            )

    def _ensure_schema(self) -> None:
        version = self._version()
        if version is None:
            others = [
                name
                for (name,) in self.execute(
                    "select table_name from information_schema.tables order by 1"
                ).fetchall()
            ]
            if others:  # someone else's database: never add our tables to it
                shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
                raise StoreFault(
                    f"magasin illisible : {self.path} est une base DuckDB qui n'est pas un "
                    f"magasin dui-metrics (tables : {shown}) ; elle est laissée intacte, "
                    "indiquez un autre fichier avec --store",
                    UNREADABLE,
                )
            with self.transaction():
                _create_v1(self.con)
                for step in range(1, SCHEMA_VERSION):
                    MIGRATIONS[step](self.con)
                self.con.execute(
                    "insert into meta values ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
                # No demo data yet: recorded, so that `demo_state` never guesses from names.
                self.con.execute("insert into meta values (?, '')", [DEMO_KEY])
            return
        self._check_version(version)
        while version < SCHEMA_VERSION:
            with self.transaction():
                MIGRATIONS[version](self.con)
                version += 1
                self.con.execute(
                    "update meta set value = ? where key = 'schema_version'", [str(version)]
                )

    def _upgrade_if_needed(self, file: str) -> None:
        """A read-only open of an older store first migrates it, as any write: on a copy
        that then replaces the store file (see writer.py)."""
        with duckdb.connect(file, read_only=True) as probe:
            probe_store = Store._from_connection(self, probe)
            version = probe_store._version()
        if version is not None and version < SCHEMA_VERSION:
            from dui_metrics.writer import writable_copy

            with writable_copy(file):
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
        given = Path(path)
        path = locate(given)
        if not path.exists():
            return cls(given, read_only=True)  # raises the explanatory StoreError
        # An older store is migrated here, on the store's own file and under its writers'
        # lock: opened through the private link below, the migration would replace the link
        # (the store staying old, migrated again by each snapshot) and lock the link's name.
        cls(path, read_only=True, shown_as=given).close()
        remove_stale_snapshot_links(path)
        key = version_key(path)
        # pid and thread: two threads snapshotting the same version must not share a link
        owner = f"{os.getpid()}-{threading.get_ident()}"
        alias = path.with_name(f".{path.name}.snapshot-{owner}-{key[0]}-{key[1]}")
        try:
            alias.unlink(missing_ok=True)
            os.link(path, alias)
        except OSError:
            # A read-only folder (or one refusing hard links): nobody can replace the store
            # there, so the file itself is the snapshot.
            snap = cls(path, read_only=True, shown_as=given)
        else:
            try:
                snap = cls(alias, read_only=True, shown_as=given)
            finally:
                with contextlib.suppress(OSError):
                    alias.unlink(missing_ok=True)
        snap.version_key = key
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
            # The rollback of a failed write (a full disk) may fail too: the first error is
            # the one that tells what happened.
            with contextlib.suppress(duckdb.Error):
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
            f"select {', '.join(IMPORT_COLUMNS)} from imports order by import_id"
        )
        return [dict(zip(IMPORT_COLUMNS, row, strict=True)) for row in cur.fetchall()]

    # --- demo data ------------------------------------------------------------------------
    def add_demo_digests(self, digests: set[str]) -> None:
        """Record in the store that the files of these SHA-256 are demo data (`demo_state`)."""
        known = self.demo_digests() or set()
        value = ",".join(sorted(known | set(digests)))
        self.execute("insert or replace into meta values (?, ?)", [DEMO_KEY, value])

    def demo_digests(self) -> set[str] | None:
        """SHA-256 of the demo files imported into this store, or None for a store written
        before demo data were recorded (see `demo_state`)."""
        value = self.scalar("select value from meta where key = ?", [DEMO_KEY])
        return None if value is None else set(filter(None, str(value).split(",")))

    def demo_state(self) -> str:
        """``DEMO_ONLY`` when every import is demo data, ``DEMO_MIXED`` when demo data and
        real imports are mixed, ``""`` otherwise. A store written before demo data were
        recorded in ``meta`` is judged by file names, as then."""
        digests = self.demo_digests()
        if digests is None:
            names = [row["file_name"] for row in self.imports()]
            demo = [("demo" in name) for name in names]
        else:
            demo = [
                sha in digests for (sha,) in self.execute("select sha256 from imports").fetchall()
            ]
        if not demo or not any(demo):
            return ""
        return DEMO_ONLY if all(demo) else DEMO_MIXED

    def months(self) -> list:
        """Months with usage data, oldest first."""
        return [
            r[0]
            for r in self.execute(
                f"select distinct periode from {self._calendar} order by 1"
            ).fetchall()
        ]

    def latest_month(self):
        """Latest ``periode`` with usage data, or None for an empty store."""
        return self.scalar(f"select max(periode) from {self._calendar}")
