"""Data-quality flags on a hand-made store."""

from __future__ import annotations

from dui_metrics import quality
from dui_metrics.ingest import ingest_paths


def test_quality_flags(store, write_file, ref) -> None:
    reference = write_file(
        "ref.csv",
        "finess_et;finess_ej;raison_sociale\n"
        "690000013;690000005;E1\n"
        "690000021;690000005;E2\n"
        "330000019;690000005;E3 sans usage\n",
    )
    usage = write_file(
        "usage.csv",
        "finess_et;periode;indicateur;valeur\n"
        # E1: 01 and 03 only; the store's latest month is 04 -> 02 and 04 missing
        "690000013;2025-01;dossiers_actifs;3\n"
        "690000013;2025-03;dossiers_actifs;3\n"
        # E2: MSSanté 5, 3, then 0 in its latest month -> dropped to zero (max before: 5)
        "690000021;2025-02;mss_messages_envoyes;5\n"
        "690000021;2025-03;mss_messages_envoyes;3\n"
        "690000021;2025-04;mss_messages_envoyes;0\n"
        # E4: not in the reference, and its check digit is wrong (690000014 fails Luhn)
        "690000014;2025-04;dossiers_actifs;1\n",
    )
    results = ingest_paths(store, [reference, usage], ref)
    assert [r.status for r in results] == ["chargé", "chargé"]
    flags = quality.flags(store)
    assert list(flags.itertuples(index=False, name=None)) == [
        ("330000019", "sans_usage", "dans le référentiel, aucune donnée d'usage reçue"),
        ("690000013", "mois_manquants", "2 mois sans donnée : 02/2025, 04/2025"),
        ("690000014", "finess_luhn", "FINESS 690000014 : clé de contrôle (Luhn) incorrecte"),
        ("690000014", "sans_referentiel", "usages reçus, ESMS absent du référentiel"),
        (
            "690000021",
            "chute_a_zero",
            "Messages MSSanté envoyés tombe à 0 en 04/2025 (jusqu'à 5 les 3 mois précédents)",
        ),
    ]


def test_months_covered_by_different_indicators_are_not_missing(store, write_file, ref) -> None:
    reference = write_file(
        "ref.csv",
        "finess_et;finess_ej;raison_sociale\n690000013;690000005;E1\n690000021;690000005;E2\n",
    )
    usage = write_file(
        "usage.csv",
        "finess_et;periode;indicateur;valeur\n"
        # E1: dossiers actifs in 01 and 02, MSSanté in 03 and 04: no single indicator covers
        # 01..04 but every month has data -> no missing month.
        "690000013;2025-01;dossiers_actifs;3\n"
        "690000013;2025-02;dossiers_actifs;3\n"
        "690000013;2025-03;mss_messages_envoyes;2\n"
        "690000013;2025-04;mss_messages_envoyes;2\n"
        # E2: DMP 6 in 12/2024, then 0 in 04/2025, its latest month: the 3 months before
        # (01..03/2025) hold no DMP value -> not a drop to zero; 01..03/2025 missing.
        "690000021;2024-12;dmp_documents_envoyes;6\n"
        "690000021;2025-04;dmp_documents_envoyes;0\n",
    )
    results = ingest_paths(store, [reference, usage], ref)
    assert [r.status for r in results] == ["chargé", "chargé"]
    flags = quality.flags(store)
    assert list(flags.itertuples(index=False, name=None)) == [
        ("690000021", "mois_manquants", "3 mois sans donnée : 01/2025, 02/2025, 03/2025"),
    ]
