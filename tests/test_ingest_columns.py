"""Columns that are not data: ignored with a warning (never silently), or refused when they
make the file ambiguous."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from dui_metrics.ingest import ingest_file


def header_warnings(result) -> list[str]:
    return [str(w) for w in result.warnings if w.line == 1]


def test_usage_file_with_a_name_column_loads_and_says_it_ignored_it(store, write_file, ref) -> None:
    path = write_file(
        "u.csv", "finess_et;raison_sociale;periode;ins_qualifiees\n690000013;EHPAD Un;2025-01;4\n"
    )
    result = ingest_file(store, path, ref)
    assert result.status == "chargé" and result.rows_loaded == 1
    assert header_warnings(result) == [
        f"{path}, ligne 1, colonne raison_sociale : colonne ignorée dans un fichier de "
        "usages (format large)"
    ]


def test_unknown_column_in_long_form_is_ignored_with_a_warning(store, write_file, ref) -> None:
    path = write_file(
        "l.csv",
        "finess_et;periode;indicateur;valeur;source\n690000013;2025-01;ins_qualifiees;4;x\n",
    )
    result = ingest_file(store, path, ref)
    assert result.status == "chargé"
    assert header_warnings(result) == [
        f"{path}, ligne 1, colonne source : colonne inconnue ignorée (usages (format long))"
    ]


def test_count_column_in_a_long_file_is_refused(store, write_file, ref) -> None:
    path = write_file(
        "m.csv",
        "finess_et;periode;indicateur;valeur;dossiers_actifs\n690000013;2025-01;ins_qualifiees;4;5\n",
    )
    result = ingest_file(store, path, ref)
    assert result.status == "refusé"
    assert "colonne de comptage dans un fichier au format long" in str(result.error)


def test_nan_in_a_parquet_float_column_is_a_missing_value(store, tmp_path, ref) -> None:
    path = tmp_path / "nan.parquet"
    pq.write_table(
        pa.table(
            {
                "finess_et": ["690000013", "690000013"],
                "periode": ["2025-01", "2025-02"],
                "ins_qualifiees": pa.array([4.0, float("nan")], pa.float64()),
            }
        ),
        path,
    )
    result = ingest_file(store, path, ref)
    # 2 rows, the NaN one is missing: 1 value loaded
    assert result.status == "chargé" and result.rows_loaded == 1


def test_display_names_replace_temporary_paths_in_messages(store, write_file, ref) -> None:
    from dui_metrics.ingest import ingest_paths

    path = write_file(
        "tmp123.csv", "finess_et;periode;indicateur;valeur\n12345;2025-01;ins_qualifiees;1\n"
    )
    (result,) = ingest_paths(store, [path], ref, names={str(path): "mon_export.csv"})
    assert str(result.error.problems[0]).startswith("mon_export.csv, ligne 2, colonne finess_et")
