"""The store and the process around it under faults (issue 12, items 1-4), with the real console
script, real DuckDB files and the real dashboard under AppTest.

- A real store never receives demo data: the dashboard writes the demo only on its very first
  start at the default path; a configured or vanished store is « introuvable », nothing is
  created; a store mixing demo data and real imports says so on every page.
- A symbolic link to a store is followed: the real store gets the data, the link stays a link,
  and two aliases of one store share one writers' lock.
- Faults are French messages with exit code 3 (2 for a folder given as --store), no traceback,
  no leftover copy, the store left exactly as it was; a full disk during the write says that
  no file was saved. A full disk or a read-only folder is a small tmpfs mounted by the test
  (root only: elsewhere those tests are skipped, with the reason).
- Folders are read recursively in name order; files that are not inputs are listed as ignored;
  a command that finds no input file says so and exits 1.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dui_metrics.store import DEMO_MIXED, DEMO_ONLY, Store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
TODAY = "2025-06-15"
DEMO_TODAY = "2026-11-15"  # the demo's months end in 10/2026
E1, E2 = "690000013", "010780914"  # Luhn keys ok
LONG = "finess_et;periode;indicateur;valeur\n"
REFERENCE = (
    "finess_et;finess_ej;raison_sociale;og_nom\n"
    f"{E1};690000005;EHPAD Un;OG A\n"
    f"{E2};010000008;IME Deux;OG B\n"
)


def run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120):
    full_env = {**os.environ, "DUI_METRICS_TODAY": TODAY}
    full_env.pop("DUI_METRICS_STORE", None)
    full_env.update(env or {})
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside(store: Path) -> list[str]:
    """Every file in the store's folder but the store and its lock (copies, WAL, links)."""
    return sorted(
        p.name for p in store.parent.iterdir() if p.name not in (store.name, store.name + ".lock")
    )


def no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr, out.stderr


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A store holding the two-ESMS reference and one usage value (E1 04/2025: 40 people)."""
    (tmp_path / "ref.csv").write_text(REFERENCE, encoding="utf-8")
    (tmp_path / "u.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    store = tmp_path / "store" / "store.duckdb"
    out = run("ingest", "--store", str(store), "ref.csv", "u.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return store


# --- 1. demo data never go into a real store ---------------------------------------------------
def page_texts(at: AppTest) -> str:
    """The page's messages as the reader sees them (Markdown escapes removed)."""
    parts = [e.value for kind in ("error", "warning", "info", "caption") for e in getattr(at, kind)]
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(str(p) for p in parts))


def test_dashboard_never_creates_a_configured_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "reel" / "magasin.duckdb"
    monkeypatch.setenv("DUI_METRICS_STORE", str(store))
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    # The file's name, not its folders: no server path reaches a browser (the log has it).
    assert "magasin introuvable : magasin.duckdb ;" in page_texts(at)
    assert str(store.parent) not in page_texts(at)
    # Nothing created: no store, no demo exports, not even the folder.
    assert not store.exists() and not (tmp_path / "data").exists()
    assert not store.parent.exists()


def test_a_store_that_disappears_is_missing_not_recreated_with_demo_data(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUI_METRICS_STORE", str(filled))
    monkeypatch.chdir(filled.parent)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Suivi des usages du DUI Ségur"
    filled.unlink()  # deleted while the dashboard runs
    at.run()
    assert f"magasin introuvable : {filled.name} ;" in page_texts(at)
    assert str(filled.parent) not in page_texts(at)
    assert not filled.exists() and not (filled.parent / "data").exists()


def test_the_default_store_gets_the_demo_only_at_the_very_first_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh folder, no DUI_METRICS_STORE: the first start writes the demo at the default path.
    folder = tmp_path / f"premier-{uuid.uuid4().hex}"  # a path this process never opened
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DUI_METRICS_TODAY", DEMO_TODAY)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    default = folder / "data" / "dui-metrics.duckdb"
    assert default.exists()
    with Store(default, read_only=True) as s:
        assert s.demo_state() == DEMO_ONLY
    assert "Données de démonstration (fictives)" in page_texts(at)
    # Deleted afterwards: « introuvable », and not written again.
    default.unlink()
    at.run()
    assert "magasin introuvable : dui-metrics.duckdb ;" in page_texts(at)
    assert not default.exists()


MIXED = "Ce magasin mélange les données de démonstration (fictives) et des imports réels"


def test_demo_and_real_imports_mixed_say_so_on_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s.duckdb"
    demo_env = {"DUI_METRICS_TODAY": DEMO_TODAY}
    out = run(
        "demo",
        "--store",
        str(store),
        "--dossier",
        str(tmp_path / "demo"),
        cwd=tmp_path,
        env=demo_env,
    )
    assert out.returncode == 0, out.stderr
    with Store(store, read_only=True) as s:
        assert s.demo_state() == DEMO_ONLY  # recorded in the store, by content
    # A real file, named like nothing demo-ish: the old banner (file names) vanished here.
    (tmp_path / "octobre.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    out = run("ingest", "--store", str(store), "octobre.csv", cwd=tmp_path, env=demo_env)
    assert out.returncode == 0, out.stderr
    assert "contient les données de démonstration (fictives)" in out.stderr
    with Store(store, read_only=True) as s:
        assert s.demo_state() == DEMO_MIXED
    monkeypatch.setenv("DUI_METRICS_STORE", str(store))
    monkeypatch.setenv("DUI_METRICS_TODAY", DEMO_TODAY)
    pages = [
        "pages/accueil.py",
        "pages/organisme_gestionnaire.py",
        "pages/etablissement.py",
        "pages/comparaison.py",
        "pages/editeur.py",
        "pages/donnees.py",
        "pages/methode.py",
    ]
    for page in pages:  # each page opened afresh, as from its address
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page(page).run()
        assert not at.exception, page
        assert any(MIXED in w.value for w in at.warning), page


# --- 2. symbolic links ------------------------------------------------------------------------
def test_ingest_through_a_symlink_writes_the_real_store(filled: Path, tmp_path: Path) -> None:
    link = tmp_path / "alias.duckdb"
    link.symlink_to(filled)
    (tmp_path / "mai.csv").write_text(LONG + f"{E2};2025-05;ins_qualifiees;7\n")
    out = run("ingest", "--store", str(link), "mai.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and link.resolve() == filled.resolve()
    with Store.snapshot(filled) as s:
        assert s.scalar("select valeur from usage where finess_et = ?", [E2]) == 7
    assert beside(filled) == []


def test_two_aliases_of_one_store_share_its_writers_lock(filled: Path, tmp_path: Path) -> None:
    link = tmp_path / "alias.duckdb"
    link.symlink_to(filled)
    (tmp_path / "mai.csv").write_text(LONG + f"{E2};2025-05;ins_qualifiees;7\n")
    env = {**os.environ, "DUI_METRICS_TODAY": TODAY}
    # Another writer, through the real path, holds the lock: the link's writer must wait.
    with open(filled.with_name(filled.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        writer = subprocess.Popen(
            [SCRIPT, "ingest", "--store", str(link), "mai.csv"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        waited = writer.poll() is None
        fcntl.flock(handle, fcntl.LOCK_UN)
    _, err = writer.communicate(timeout=60)
    assert waited, "the writer through the link did not wait for the lock of the real store"
    assert writer.returncode == 0, err
    assert not link.with_name("alias.duckdb.lock").exists()


# --- 3. faults ----------------------------------------------------------------------------------
def test_a_folder_as_store_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    (tmp_path / "magasins").mkdir()
    for args in (("ingest", "u.csv"), ("va",), ("indicators",), ("historique",)):
        out = run(args[0], "--store", "magasins", *args[1:], cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert "le magasin doit être un fichier, pas un dossier : magasins" in out.stderr
        no_traceback(out)
    assert list((tmp_path / "magasins").iterdir()) == []


def truncated(store: Path) -> None:
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def garbage(store: Path) -> None:
    store.write_bytes(b"finess_et;periode\n" * 50)


def empty(store: Path) -> None:
    store.write_bytes(b"")


def corrupt_block(store: Path) -> None:
    data = bytearray(store.read_bytes())
    data[5000:9000] = b"\x00" * 4000  # the checksums of the first blocks no longer match
    store.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(truncated, id="tronque"),
        pytest.param(garbage, id="pas-duckdb"),
        pytest.param(empty, id="vide"),
        pytest.param(corrupt_block, id="bloc-corrompu"),
    ],
)
@pytest.mark.parametrize("command", ["ingest", "va", "indicators", "historique"])
def test_an_unreadable_store_is_exit_3_and_left_as_it_was(
    filled: Path, tmp_path: Path, damage, command: str
) -> None:
    damage(filled)
    before = sha(filled)
    args = ["ingest", "--store", str(filled), "u.csv"] if command == "ingest" else [command]
    if command != "ingest":
        args += ["--store", str(filled)]
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert f"dui-metrics : erreur : magasin illisible : {filled}" in out.stderr
    no_traceback(out)
    assert sha(filled) == before
    assert beside(filled) == []


def test_a_duckdb_file_of_someone_else_is_refused_and_untouched(tmp_path: Path) -> None:
    other = tmp_path / "compta.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table factures (n integer)")
        con.execute("insert into factures values (1), (2)")
    before = sha(other)
    (tmp_path / "u.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    out = run("ingest", "--store", str(other), "u.csv", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert (
        f"magasin illisible : {other} est une base DuckDB qui n'est pas un magasin dui-metrics "
        "(tables : factures) ; elle est laissée intacte"
    ) in out.stderr
    assert "aucun fichier n'a été enregistré" in out.stderr
    out_va = run("va", "--store", str(other), cwd=tmp_path)
    assert out_va.returncode == 3, out_va.stderr
    assert f"magasin illisible : {other} n'est pas un magasin dui-metrics" in out_va.stderr
    no_traceback(out)
    no_traceback(out_va)
    assert sha(other) == before  # no table added
    assert beside(other) == ["u.csv"]


# Small file systems mounted by the test: a full disk, a read-only folder (root only).
@contextlib.contextmanager
def tmpfs(folder: Path, size_kb: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("monter un tmpfs (disque plein, dossier en lecture seule) demande root")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mount tmpfs impossible ici : {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_a_store_in_a_read_only_folder(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tmpfs(tmp_path / "ro", 20_000) as folder:
        store = folder / "store.duckdb"
        shutil.copyfile(filled, store)
        remount_read_only(folder)
        before = sha(store)
        out = run("ingest", "--store", str(store), "u.csv", cwd=tmp_path)
        assert out.returncode == 3, out.stderr
        assert f"dui-metrics : erreur : magasin protégé en écriture : {store}" in out.stderr
        assert "aucun fichier n'a été enregistré" in out.stderr
        no_traceback(out)
        assert sha(store) == before and sorted(p.name for p in folder.iterdir()) == [store.name]
        # Reading works: the CLI, and the dashboard (its snapshot link cannot be made there).
        va = run("va", "--store", str(store), "--format", "json", cwd=tmp_path)
        assert va.returncode == 0, va.stderr
        assert '"finess_et": "690000013"' in va.stdout
        monkeypatch.setenv("DUI_METRICS_STORE", str(store))
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception
        assert {m.label: m.value for m in at.metric}["Établissements (ESMS)"] == "2"
        # no fault: the only red box is Accueil's VA sentence (ESMS that block the VA)
        assert [e.value for e in at.error if "la VA sur" not in e.value] == []


def big_wide_file(path: Path, esms: int = 20_000, months: int = 10) -> None:
    """Random counts (they do not compress): far more than the few hundred KB left free."""
    rng = random.Random(1)
    with path.open("w") as handle:
        handle.write(
            "finess_et;periode;personnes_accompagnees;mss_messages_recus;"
            "mss_messages_envoyes;dmp_documents_envoyes\n"
        )
        for e in range(esms):
            code = f"{690000000 + e * 10:09d}"
            for m in range(1, months + 1):
                values = ";".join(str(rng.randint(0, 10**6)) for _ in range(4))
                handle.write(f"{code};2024-{m:02d};{values}\n")


def test_a_full_disk_before_the_copy(filled: Path, tmp_path: Path) -> None:
    size_kb = filled.stat().st_size // 1024 + 600  # the store fits, its copy does not
    with tmpfs(tmp_path / "plein", size_kb) as folder:
        store = folder / "store.duckdb"
        shutil.copyfile(filled, store)
        before = sha(store)
        out = run("ingest", "--store", str(store), "u.csv", cwd=tmp_path)
        assert out.returncode == 3, out.stderr
        assert "dui-metrics : erreur : disque plein : " in out.stderr
        assert f"pour écrire une copie du magasin {store}" in out.stderr
        no_traceback(out)
        assert sha(store) == before
        assert beside(store) == []


def test_a_full_disk_during_the_write_saves_nothing_and_says_so(
    filled: Path, tmp_path: Path
) -> None:
    big_wide_file(tmp_path / "gros.csv")
    (tmp_path / "mai.csv").write_text(LONG + f"{E2};2025-05;ins_qualifiees;7\n")
    # Room for the copy (and the 1 Mo margin asked for) but not for gros.csv's rows.
    size_kb = 2 * filled.stat().st_size // 1024 + 1024 + 300
    with tmpfs(tmp_path / "plein", size_kb) as folder:
        store = folder / "store.duckdb"
        shutil.copyfile(filled, store)
        before = sha(store)
        out = run("ingest", "--store", str(store), "mai.csv", "gros.csv", cwd=tmp_path)
        assert out.returncode == 3, out.stderr
        assert (
            f"dui-metrics : erreur : disque plein : plus de place pour écrire le magasin {store}"
            in out.stderr
        )
        assert (
            "dui-metrics : aucun fichier n'a été enregistré : le magasin est resté tel qu'il "
            "était ; fichiers acceptés mais non enregistrés, à importer de nouveau : "
            "mai.csv, gros.csv"
        ) in out.stderr
        # Never « chargé » for a file that was not saved, and no file refused as if it were bad.
        assert "chargé" not in out.stderr.replace("chargé(s)", "") and "refusé" not in out.stderr
        no_traceback(out)
        assert sha(store) == before
        assert beside(store) == []
    # The same files on a disk with room: both load (the command was right, the disk full).
    again = run("ingest", "--store", str(filled), "mai.csv", "gros.csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 fichier(s) : 2 chargé(s), 0 déjà importé(s), 0 refusé(s)" in again.stderr


# --- 4. folders -----------------------------------------------------------------------------------
def test_a_folder_is_read_recursively_and_what_is_not_read_is_listed(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    (exports / "b-sous-dossier" / "c").mkdir(parents=True)
    (exports / ".git").mkdir()
    (exports / ".git" / "config.csv").write_text("x")
    (exports / "a-ref.csv").write_text(REFERENCE)
    (exports / "b-sous-dossier" / "mars.csv").write_text(LONG + f"{E1};2025-03;ins_qualifiees;3\n")
    (exports / "b-sous-dossier" / "c" / "avril.csv").write_text(
        LONG + f"{E1};2025-04;ins_qualifiees;4\n"
    )
    (exports / "d-mai.csv").write_text(LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    (exports / "archive.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (exports / "notes.pdf").write_bytes(b"%PDF-1.4")
    (exports / "vieux.xlsb").write_bytes(b"PK\x03\x04")
    (exports / ".cache.csv").write_text(LONG)
    (exports / "LISEZMOI").write_text("x")
    out = run("ingest", "--store", "s.duckdb", "exports", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:6] == [
        "exports/.cache.csv : fichier caché ignoré",
        "exports/.git : dossier caché ignoré",
        "exports/LISEZMOI : fichier sans extension ignoré(e) : formats lus CSV, XLSX, ODS, XLS, Parquet et JSON / NDJSON (TDDUI)",
        "exports/archive.zip : archive ignorée, jamais ouverte : extrayez-en les fichiers",
        "exports/notes.pdf : extension .pdf ignoré(e) : formats lus CSV, XLSX, ODS, XLS, Parquet et JSON / NDJSON (TDDUI)",
        "exports/vieux.xlsb : classeur binaire Excel (.xlsb) ignoré : enregistrez-le au format .xlsx",
    ]
    # Then the reference first, then the usage files in path order (b-sous-dossier/c/avril
    # before b-sous-dossier/mars: « c » < « mars.csv »).
    assert [line.split(" : ")[0] for line in lines[6:]] == [
        "exports/a-ref.csv",
        "exports/b-sous-dossier/c/avril.csv",
        "exports/b-sous-dossier/mars.csv",
        "exports/d-mai.csv",
    ]
    assert (
        "4 fichier(s) : 4 chargé(s), 0 déjà importé(s), 0 refusé(s) ; 6 autre(s) fichier(s) ignoré(s)"
        in out.stderr
    )
    with Store.snapshot(tmp_path / "s.duckdb") as s:
        assert s.execute("select month(periode), valeur from usage order by 1").fetchall() == [
            (3, 3),
            (4, 4),
            (5, 5),
        ]


def test_a_command_that_finds_no_input_file_says_so_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "vide").mkdir()
    (tmp_path / "archives").mkdir()
    (tmp_path / "archives" / "exports.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    for folder in ("vide", "archives"):
        out = run("ingest", "--store", "s.duckdb", folder, cwd=tmp_path)
        assert out.returncode == 1, out.stderr
        assert (
            "aucun fichier à importer (CSV, XLSX ou Parquet) dans les chemins donnés" in out.stderr
        )
        no_traceback(out)


def test_the_dashboard_on_an_unreadable_store_says_so_without_a_traceback(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truncated(filled)
    before = sha(filled)
    monkeypatch.setenv("DUI_METRICS_STORE", str(filled))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    # The file's name, not its folders (the server's log has the path).
    assert f"magasin illisible : {filled.name} (ouverture)" in page_texts(at)
    assert str(filled.parent) not in page_texts(at)
    at.switch_page("pages/donnees.py").run()
    assert not at.exception
    assert f"magasin illisible : {filled.name} (ouverture)" in page_texts(at)
    assert str(filled.parent) not in page_texts(at)
    assert sha(filled) == before


def test_the_demo_added_to_a_store_with_real_imports_is_flagged(
    filled: Path, tmp_path: Path
) -> None:
    out = run(
        "demo",
        "--store",
        str(filled),
        "--dossier",
        str(tmp_path / "demo"),
        cwd=tmp_path,
        env={"DUI_METRICS_TODAY": DEMO_TODAY},
    )
    assert out.returncode == 0, out.stderr
    assert f"avertissement : le magasin {filled} contient déjà des imports réels" in out.stderr
    with Store(filled, read_only=True) as s:
        assert s.demo_state() == DEMO_MIXED


def test_an_invalid_cap_is_a_usage_error_before_any_file(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    out = run(
        "ingest", "--store", "s.duckdb", "u.csv", cwd=tmp_path, env={"DUI_METRICS_MAX_ROWS": "abc"}
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr == (
        "dui-metrics : erreur : DUI_METRICS_MAX_ROWS invalide « abc » : nombre entier positif "
        "attendu\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb.lock", "u.csv"]


def test_a_full_disk_at_any_point_of_the_write_never_loses_data_silently(
    filled: Path, tmp_path: Path
) -> None:
    # The demo exports (7 files) into a store on disks of growing sizes: from room for the
    # copy only, to room for everything. Whatever step the disk fills at (the rows, the
    # checkpoint that moves them into the file, the rename), either the command says « chargé »
    # with exit 0 and the store holds the 7 new imports, or it exits 3, names the files not
    # saved and leaves the store byte for byte as it was, with nothing beside it. (A full disk
    # during the checkpoint gave exit 0, « 7 chargé(s) », and a store without them.)
    demo = tmp_path / "demo"
    env = {"DUI_METRICS_TODAY": DEMO_TODAY}
    out = run(
        "demo", "--store", str(tmp_path / "x.duckdb"), "--dossier", str(demo), cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr
    base_kb = 2 * filled.stat().st_size // 1024 + 1024
    outcomes = []
    for extra_kb in range(0, 2800, 200):
        with tmpfs(tmp_path / f"disque-{extra_kb}", base_kb + extra_kb) as folder:
            store = folder / "store.duckdb"
            shutil.copyfile(filled, store)
            before = sha(store)
            # the 7 demo exports (not the demo's record files, in its subfolders)
            exports = sorted(str(p) for p in demo.iterdir() if p.is_file())
            out = run("ingest", "--store", str(store), *exports, cwd=tmp_path, env=env)
            no_traceback(out)
            if out.returncode == 0:
                assert "7 fichier(s) : 7 chargé(s), 0 déjà importé(s), 0 refusé(s)" in out.stderr
                with Store.snapshot(store) as s:
                    assert s.scalar("select count(*) from imports") == 2 + 7
                outcomes.append("chargé")
            else:
                assert out.returncode == 3, out.stderr
                assert "dui-metrics : erreur : disque plein" in out.stderr
                assert "aucun fichier n'a été enregistré" in out.stderr
                assert sha(store) == before
                outcomes.append("disque plein")
            assert beside(store) == []
    # The sweep went from a disk too small to one large enough.
    assert outcomes[0] == "disque plein" and outcomes[-1] == "chargé", outcomes


def test_a_real_store_is_never_taken_for_the_demo_by_its_file_names(tmp_path: Path) -> None:
    # Real exports in a folder whose name holds « demo » (a town, a person's name…): a new
    # store records that it holds no demo data, and never guesses from names.
    folder = tmp_path / "exports_demolombe"
    folder.mkdir()
    (folder / "usages_demo.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    out = run("ingest", "--store", "s.duckdb", str(folder), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with Store(tmp_path / "s.duckdb", read_only=True) as s:
        assert s.demo_state() == ""


def test_a_store_path_that_loops_is_a_usage_error_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "u.csv").write_text(LONG + f"{E1};2025-04;personnes_accompagnees;40\n")
    for args in (("ingest", "u.csv"), ("va",)):
        out = run(args[0], "--store", "a", *args[1:], cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        assert (
            "dui-metrics : erreur : le chemin du magasin a est un lien symbolique qui boucle sur "
            "lui-même" in out.stderr
        )
        no_traceback(out)
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def test_a_device_or_a_pipe_given_as_input_is_never_read(tmp_path: Path) -> None:
    # /dev/zero has no end (6 GB read before a kill) and a pipe blocks forever: both are
    # listed as ignored, unread, and nothing is created.
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "tube.csv")
    out = run("ingest", "--store", "s.duckdb", "zero.csv", "tube.csv", cwd=tmp_path, timeout=60)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [
        "zero.csv : pas un fichier ordinaire, ignoré",
        "tube.csv : pas un fichier ordinaire, ignoré",
    ]
    assert not (tmp_path / "s.duckdb").exists()


def test_an_output_that_cannot_be_written_is_not_called_a_store_fault(filled: Path) -> None:
    for command in ("indicators", "va", "historique"):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [SCRIPT, command, "--store", str(filled)],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "DUI_METRICS_TODAY": TODAY},
                timeout=60,
            )
        assert done.returncode == 3, done.stderr
        assert done.stderr == (
            "dui-metrics : erreur : écriture impossible dans la sortie standard : No space left "
            "on device\n"
        )


def test_a_writer_stopped_by_sigterm_removes_its_copy(filled: Path, tmp_path: Path) -> None:
    big_wide_file(tmp_path / "gros.csv", esms=40_000)
    before = sha(filled)
    writer = subprocess.Popen(
        [SCRIPT, "ingest", "--store", str(filled), "gros.csv"],
        cwd=tmp_path,
        env={**os.environ, "DUI_METRICS_TODAY": TODAY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(name.endswith(".tmp") for name in beside(filled)):  # the copy exists
        assert time.monotonic() < deadline and writer.poll() is None, writer.stderr
        time.sleep(0.05)
    writer.terminate()
    writer.communicate(timeout=60)
    assert writer.returncode != 0
    assert beside(filled) == [] and sha(filled) == before
