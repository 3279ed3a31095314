"""Méthode: definitions, windows and VA rules, read from the référentiel with its version."""

import pandas as pd
import streamlit as st

from dui_metrics import ui
from dui_metrics.formats import fr_percent

ref = ui.referentiel()
ui.page_title("Méthode", f"Référentiel {ref.version} : toutes les règles ci-dessous en sont lues.")

st.subheader("Comptages de base")
st.markdown(
    "Chaque indicateur est calculé **par établissement (FINESS géographique) et par mois "
    "civil**. Un mois sans donnée est *manquant* ; un mois où l'établissement a envoyé 0 est "
    "*zéro* : les deux restent distincts partout."
)
counts = pd.DataFrame(
    [(i.code, i.label, "stock" if i.kind == "stock" else "flux") for i in ref.counts],
    columns=["Code", "Libellé", "Nature"],
)
st.dataframe(counts, hide_index=True)
ui.download_buttons(counts, "comptages", key="counts")
st.caption(
    "Sur plusieurs mois, les flux s'additionnent ; les stocks prennent la valeur du dernier "
    "mois renseigné."
)

st.subheader("Taux")
labels = {i.code: i.label for i in ref.indicators}
rates = pd.DataFrame(
    [
        (r.code, r.label, labels[r.numerator], labels[r.denominator], ref.targets.get(r.code))
        for r in ref.rates
    ],
    columns=["Code", "Libellé", "Numérateur", "Dénominateur", "Cible"],
)
rates["Cible"] = rates["Cible"].map(lambda v: fr_percent(v) if v == v and v is not None else "—")
st.dataframe(rates, hide_index=True)
ui.download_buttons(rates, "taux", key="rates")
st.markdown(
    "Un taux est une fraction entre 0 et 1 (affichée en pourcentage). Il existe pour un mois "
    "quand son numérateur et son dénominateur y existent ; un dénominateur nul donne "
    "« non calculable », jamais 0. Sur une période, numérateur et dénominateur sont pris au "
    "même mois (le dernier où les deux existent). Les agrégats (organisme, commande, éditeur, "
    "territoire, catégorie) additionnent numérateurs et dénominateurs (taux pondéré) et "
    "montrent aussi la médiane et les quartiles des établissements."
)

st.subheader("Vérification d'aptitude (VA)")
st.markdown(
    f"**Fenêtre** : les {ref.va_window_months} mois civils se terminant par le mois choisi. "
    "Les critères *flux* additionnent les mois renseignés de la fenêtre ; les critères *stock* "
    "et *taux* prennent le dernier mois renseigné de la fenêtre.\n\n"
    "Chaque critère vaut ✅ **ok** (valeur non nulle), ⚠️ **zéro** (données reçues mais nulles, "
    "ou taux non calculable) ou ❌ **manquant** (aucune donnée sur la fenêtre). Un "
    "établissement est prêt quand tous ses critères sont ok ; un bon de commande et un "
    "organisme le sont quand tous leurs établissements le sont."
)
criteria = pd.DataFrame(
    [
        (
            c.code,
            c.label,
            labels.get(c.indicator, "date de déploiement ou données d'usage"),
        )
        for c in ref.criteria
    ],
    columns=["Critère", "Règle", "Indicateur contrôlé"],
)
st.dataframe(criteria, hide_index=True)
ui.download_buttons(criteria, "criteres_va", key="criteria")

st.subheader("Fenêtres")
st.markdown(
    f"- Dossier actif : au moins une saisie datée sur les {ref.activity_window_months} "
    "derniers mois.\n"
    f"- Projet personnalisé : daté des {ref.pp_window_months} derniers mois.\n"
    f"- VA : {ref.va_window_months} mois civils."
)
st.subheader("Comptages calculés depuis les dossiers")
st.markdown(
    "Quand un éditeur ou un organisme importe les dossiers du DUI (tables pseudonymisées ou "
    "lots TDDUI), dui-metrics compte lui-même, par établissement et par mois M :\n"
    "- **date** : la date locale telle qu'écrite (`2026-04-01T00:30:00+02:00` est en avril), "
    "jamais convertie en UTC ;\n"
    "- **séjour ouvert** en M : entrée au plus tard le dernier jour de M, et sortie absente ou "
    "au plus tôt le premier jour de M ; un dossier présent dans deux établissements compte "
    "dans chacun pour ses propres dates ;\n"
    "- **personnes accompagnées** : dossiers distincts ayant un séjour ouvert en M ;\n"
    "- **trace d'usage** : un événement (ni annulé, ni seulement planifié), un projet "
    "personnalisé, ou un document DMP envoyé ou accepté ;\n"
    f"- **dossier actif** : séjour ouvert en M et au moins une trace datée des "
    f"{ref.activity_window_months} mois civils finissant par M ;\n"
    f"- **avec projet personnalisé** : un projet daté des {ref.pp_window_months} mois civils "
    "finissant par M ; **avec événement** : un événement compté daté de M ;\n"
    "- **INS qualifiée** : le dernier statut daté au plus tard du dernier jour de M est "
    "« qualifiée » (aucun statut connu : non qualifiée) ;\n"
    "- **documents DMP** envoyés ou acceptés en M ; **messages MSSanté** de M, par sens ;\n"
    "- **couverture** : les mois d'un import vont du premier au dernier mois où ses dossiers "
    "contiennent une activité ; chaque établissement y a tous ses comptages (0 quand rien ne "
    "s'est passé) à partir de son premier mois de séjour ou d'activité ;\n"
    "- un comptage que le fichier ne peut pas porter (DMP et MSSanté dans un lot TDDUI) reste "
    "**manquant**, jamais zéro ;\n"
    "- un comptage calculé depuis les dossiers **remplace** la valeur d'un export précalculé "
    "pour le même établissement, mois et indicateur ; sa source est « calculé depuis les "
    "dossiers »."
)

st.info(
    "Les cibles d'usage officielles n'ont pas pu être confirmées : aucune n'est fixée par "
    "défaut. Un référentiel personnel (`--referentiel FICHIER` en ligne de commande) peut "
    "changer les fenêtres et fixer des cibles.",
    icon="ℹ️",
)
