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
ui.text_table(counts)
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
ui.text_table(rates)
ui.download_buttons(rates, "taux", key="rates")
st.markdown(
    "Un taux est une fraction entre 0 et 1 (affichée en pourcentage). Il existe pour un mois "
    "quand son numérateur et son dénominateur y existent ; un dénominateur nul donne "
    "« non calculable », jamais 0. Sur une période, numérateur et dénominateur sont pris au "
    "même mois (le dernier où les deux existent). Les agrégats (organisme, commande, éditeur, "
    "territoire, catégorie) additionnent numérateurs et dénominateurs (taux pondéré) et "
    "montrent aussi la médiane et les quartiles des établissements. À l'écran et dans le "
    "détail de la VA, un taux s'affiche au dixième de point, une demie arrondie au-dessus "
    "(73 / 80 = 91,25 % s'affiche 91,3 %), comme un tableur affiche la fraction des fichiers."
)

st.subheader("Vérification d'aptitude (VA)")
st.markdown(
    f"**Fenêtre** : les {ref.va_window_months} mois civils se terminant par le mois choisi. "
    "Les critères *flux* additionnent les mois renseignés de la fenêtre ; les critères *stock* "
    "et *taux* prennent le dernier mois renseigné de la fenêtre.\n\n"
    "Chaque critère vaut ✅ **ok** (valeur non nulle), ❌ **zéro** (données reçues mais nulles, "
    "ou taux non calculable) ou ❌ **manquant** (aucune donnée sur la fenêtre). Un zéro bloque "
    "la VA exactement comme une donnée manquante.\n\n"
    "Chaque établissement est dans l'un de trois cas, les mêmes sur toutes les pages, dans "
    "les fichiers et dans le détail de `dui-metrics va` ; ils s'additionnent :\n"
    "- **prêt** : tous ses critères sont ok ;\n"
    "- **bloqué faute de données** : au moins un critère manquant (il n'y a rien à juger : "
    "l'export vient d'abord) ;\n"
    "- **bloqué par un zéro** : aucun critère manquant, au moins un critère à zéro.\n\n"
    "Un bon de commande et un organisme sont prêts quand tous leurs établissements le sont."
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
ui.text_table(criteria)
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

st.subheader("Petits effectifs (comparaisons entre organismes)")
st.markdown(
    "Quand une vue compare des établissements de **plusieurs organismes gestionnaires** (page "
    "Comparaison, et page Organisme gestionnaire avec « Tous les organismes »), l'option "
    "« Masquer les petits effectifs » est **activée par défaut** dès que votre périmètre "
    "compte plus d'un organisme. Règle :\n"
    "1. **De 1 à 4** : un nombre de personnes, de dossiers, de documents ou de messages "
    "(numérateur ou dénominateur d'un taux, ou leur somme pour un département ou pour "
    "l'ensemble) compris entre 1 et 4 s'affiche « < 5 ». **0 reste affiché** (c'est la valeur "
    "qui bloque la VA) ; une donnée manquante reste vide.\n"
    "2. **Le taux et la paire** : quand le numérateur ou le dénominateur d'un établissement est "
    "masqué, son taux et ses deux termes le sont, même un terme nul (« masqué » pour un terme "
    "qui n'est pas entre 1 et 4) : ni taux × dénominateur, ni l'autre terme ne redonnent la "
    "valeur. La colonne « Prêt pour la VA » reste affichée.\n"
    "3. **Masquage secondaire** : un total affiché (un département, l'ensemble de la "
    "sélection) n'a jamais **un seul** membre masqué, sinon total − membres affichés le "
    "redonnerait. S'il n'y en a qu'un, le plus petit autre établissement du département (par "
    "dénominateur) est masqué aussi ; faute d'un autre, c'est le total du département qui est "
    "masqué. Un total de 1 à 4 est masqué. De même, si un seul département est masqué, le plus "
    "petit autre l'est aussi, avec au moins un de ses établissements ; faute d'un autre, le taux "
    "pondéré de la sélection est masqué.\n"
    "4. **Filtres** : un établissement masqué dans la vue de tout votre périmètre le reste quels "
    "que soient les filtres : restreindre la vue (une catégorie, un organisme) ne montre jamais "
    "ce que la vue large cache.\n"
    "5. **Médianes et quartiles** : calculés sur les seuls taux affichés, et non montrés quand "
    "un groupe (la sélection, un département, un groupe du graphique) compte moins de **5** "
    "taux affichés : en dessous, une « médiane » n'est que le taux d'un ou deux "
    "établissements.\n"
    "6. **Partout dans la vue** : tableaux ; classement (les établissements masqués viennent "
    "après les taux affichés, par nom et sans rang, car leur place trahirait leur taux) ; "
    "carte (département masqué en gris, survol sans valeur) ; graphique de répartition "
    "(aucun point ni boîte à une valeur masquée) ; fichiers CSV et XLSX (« < 5 » ou "
    "« masqué », jamais la valeur) ; adresse de la page (elle ne porte que les choix, jamais un "
    "chiffre).\n"
    "7. **Non masqués** : les **nombres d'établissements** (ESMS comparés, avec un taux, prêts, "
    "bloqués par un zéro ou faute de données) et les parts d'ESMS prêts : ils comptent des "
    "établissements, publics dans FINESS, pas des personnes ; les masquer ne cacherait rien "
    "qu'on ne puisse compter dans FINESS, et le classement affiche déjà le verdict de chaque "
    "établissement. Les **médianes et quartiles** d'un groupe de moins de 5 taux affichés, eux, "
    "ne sont jamais montrés (point 5).\n"
    "8. **Désactiver** : seulement par un choix explicite, pour vous et pour la session en "
    "cours. L'adresse de la page ne porte pas l'option : un lien partagé s'ouvre toujours "
    "masqué, et les fichiers téléchargés sans masquage ont « _non_masque » dans leur nom. "
    "Chaque utilisateur voit déjà, page Établissement, les chiffres de son propre périmètre : "
    "le masquage protège ce qui est partagé (liens, copies d'écran, fichiers). Un périmètre "
    "d'un seul organisme n'est jamais masqué : ce sont ses propres chiffres."
)
st.caption(
    "La page Éditeur ne montre que des statuts (ok, zéro, manquant) et des nombres "
    "d'établissements : rien n'y est masqué. Le dossier de preuves d'un organisme ne contient "
    "que ses propres établissements."
)

st.info(
    "Les cibles d'usage officielles n'ont pas pu être confirmées : aucune n'est fixée par "
    "défaut. Un référentiel personnel (`--referentiel FICHIER` en ligne de commande) peut "
    "changer les fenêtres et fixer des cibles.",
    icon="ℹ️",
)
