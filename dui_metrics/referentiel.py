"""The référentiel: versioned indicator definitions, windows, VA rules and targets.

The definitions are data (``referentiel.toml`` inside the package); users may pass their own
file to change windows or targets. Nothing here computes anything.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from dui_metrics.text import normalize_key


class ReferentielError(ValueError):
    """The référentiel file is unreadable or inconsistent."""


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    kind: str  # "stock", "flux" or "taux"
    unit: str = ""
    unit_plural: str = ""
    numerator: str | None = None
    denominator: str | None = None
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    indicator: str | None  # None for "deploye"


@dataclass(frozen=True)
class Referentiel:
    version: str
    activity_window_months: int
    pp_window_months: int
    va_window_months: int
    counts: tuple[Indicator, ...]
    rates: tuple[Indicator, ...]
    criteria: tuple[Criterion, ...]
    targets: dict[str, float] = field(default_factory=dict)
    source: str = ""

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return self.counts + self.rates

    def quantity(self, code: str, value: int) -> str:
        """``value`` with its unit, French style: 0 and 1 take the singular."""
        from dui_metrics.formats import fr_int

        ind = self.indicator(code)
        unit = ind.unit if abs(value) < 2 else ind.unit_plural
        return f"{fr_int(value)} {unit}".strip()

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    @property
    def count_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.counts)

    @property
    def rate_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.rates)

    def name_lookup(self) -> dict[str, str]:
        """Normalized code, label or synonym → canonical code (counts and rates)."""
        lookup: dict[str, str] = {}
        for ind in self.indicators:
            for name in (ind.code, ind.label, *ind.synonyms):
                lookup[normalize_key(name)] = ind.code
        return lookup


def _parse(data: dict, source: str) -> Referentiel:
    try:
        windows = data["fenetres"]
        counts = tuple(
            Indicator(
                code=d["code"],
                label=d["libelle"],
                kind=d["nature"],
                unit=d.get("unite", ""),
                unit_plural=d.get("unite_pluriel", d.get("unite", "")),
                synonyms=tuple(d.get("synonymes", ())),
            )
            for d in data["indicateurs"]
        )
        rates = tuple(
            Indicator(
                code=d["code"],
                label=d["libelle"],
                kind="taux",
                numerator=d["numerateur"],
                denominator=d["denominateur"],
                synonyms=tuple(d.get("synonymes", ())),
            )
            for d in data["taux"]
        )
        criteria = tuple(
            Criterion(code=d["code"], label=d["libelle"], indicator=d.get("indicateur"))
            for d in data["va"]["criteres"]
        )
        ref = Referentiel(
            version=str(data["version"]),
            activity_window_months=int(windows["activite_mois"]),
            pp_window_months=int(windows["projet_personnalise_mois"]),
            va_window_months=int(windows["va_mois"]),
            counts=counts,
            rates=rates,
            criteria=criteria,
            targets={k: float(v) for k, v in data.get("cibles", {}).items()},
            source=source,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferentielError(f"{source} : référentiel incomplet ou invalide ({exc})") from exc
    _check(ref)
    return ref


# Codes are the data contract's snake_case names (files, CLI, exports): never free text.
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _check(ref: Referentiel) -> None:
    for code in [i.code for i in ref.indicators] + [c.code for c in ref.criteria]:
        if not _CODE.fullmatch(code):
            raise ReferentielError(
                f"{ref.source} : code « {code} » invalide : lettres minuscules sans accent, "
                "chiffres et _ attendus, commençant par une lettre (ex. ins_qualifiees)"
            )
    codes = {i.code for i in ref.counts}
    kinds = {i.code: i.kind for i in ref.counts}
    for rate in ref.rates:
        if kinds.get(rate.numerator) != kinds.get(rate.denominator):
            raise ReferentielError(
                f"{ref.source} : le taux {rate.code} mêle un stock et un flux "
                f"({rate.numerator}, {rate.denominator})"
            )
        for part in (rate.numerator, rate.denominator):
            if part not in codes:
                raise ReferentielError(
                    f"{ref.source} : le taux {rate.code} utilise {part}, qui n'est pas un comptage"
                )
    for ind in ref.counts:
        if ind.kind not in ("stock", "flux"):
            raise ReferentielError(f"{ref.source} : nature inconnue {ind.kind!r} pour {ind.code}")
    known = codes | {r.code for r in ref.rates}
    for crit in ref.criteria:
        if crit.indicator is not None and crit.indicator not in known:
            raise ReferentielError(
                f"{ref.source} : le critère {crit.code} vise un indicateur inconnu {crit.indicator}"
            )
    if ref.va_window_months < 1:
        raise ReferentielError(f"{ref.source} : va_mois doit être au moins 1")


@cache
def default() -> Referentiel:
    """The référentiel shipped with the package."""
    text = resources.files("dui_metrics").joinpath("referentiel.toml").read_text("utf-8")
    return _parse(tomllib.loads(text), "referentiel.toml")


def load(path: str | Path | None = None) -> Referentiel:
    """The référentiel at ``path``, or the packaged one when ``path`` is None."""
    if path is None:
        return default()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ReferentielError(f"{path} : fichier introuvable") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReferentielError(f"{path} : fichier TOML illisible ({exc})") from exc
    return _parse(data, str(path))
