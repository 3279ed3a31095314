"""Access: who may see which ESMS. Reads ``acces.toml`` (identities → role and perimeter) and
turns a rule into a `Perimeter`, the set of ESMS (FINESS ET) that the library functions
returning ESMS data take as their ``perimeter`` argument and apply in SQL.

The file (issue 16, README « Accès »)::

    contact = "Équipe régionale : support@grades.example"
    [[acces]]
    email = "directrice@og-a.example"   # or sub = "…", or claim = "name", valeur = "…"
    role = "og"
    og = ["750000127"]                  # FINESS EJ

Roles: ``og`` (the ESMS of some FINESS EJ), ``ars`` (of some régions and/or départements),
``editeur`` (of some editors of the reference), ``admin`` (everything). Any fault of the file
raises `AccessError` naming the file and the line: never « everyone sees everything ».
No Streamlit here: the app's login (``login.py``) and the CLI both use this module.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa

from dui_metrics import finess as finess_mod
from dui_metrics.errors import UsageError
from dui_metrics.records_store import RECORD_TABLES
from dui_metrics.store import Store
from dui_metrics.text import normalize_key

ENV_VAR = "DUI_METRICS_ACCES"  # path of acces.toml
SECRETS_KEY = "acces"  # top-level key of .streamlit/secrets.toml holding that path
ROLES = ("og", "ars", "editeur", "admin")

_IDENTITY_KEYS = ("email", "sub", "claim", "valeur")
_SCOPE_KEYS = {"og": ("og",), "ars": ("regions", "departements"), "editeur": ("editeurs",)}
_RULE_KEYS = (*_IDENTITY_KEYS, "role", "og", "regions", "departements", "editeurs")
_TOP_KEYS = ("contact", "acces")


class AccessError(ValueError):
    """The access file is missing or malformed, or an identity has no access: a French
    message naming the file and the line. The CLI exits with code 2, the app stops."""


class OutsidePerimeter(UsageError):
    """An ESMS or an OG asked for is outside the user's perimeter (CLI exit code 2). The
    message says so without telling whether it exists."""


@dataclass(frozen=True)
class Rule:
    """One ``[[acces]]`` entry of the file; ``line`` is the line of its ``[[acces]]``
    header. Régions are stored as INSEE codes (as the establishments table holds them),
    départements as codes (``"01"``, ``"2A"``, ``"974"``)."""

    role: str
    line: int
    email: str | None = None
    sub: str | None = None
    claim: str | None = None
    valeur: str | None = None
    og: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    editeurs: tuple[str, ...] = ()

    def matches(self, identity: Mapping[str, object]) -> bool:
        """Whether the OIDC claims ``identity`` are this rule's: e-mail compared without
        case; ``sub`` exactly; a claim equal to ``valeur`` (or a list claim holding it)."""
        if self.email is not None:
            email = identity.get("email")
            return isinstance(email, str) and email.strip().casefold() == self.email.casefold()
        if self.sub is not None:
            sub = identity.get("sub")
            return sub is not None and str(sub) == self.sub
        if self.claim is not None:
            value = identity.get(self.claim)
            if isinstance(value, list | tuple):
                return self.valeur in [str(v) for v in value]
            return value is not None and str(value) == self.valeur
        return False

    @property
    def identity_text(self) -> str:
        if self.email is not None:
            return self.email
        if self.sub is not None:
            return f"sub = {self.sub}"
        return f"{self.claim} = {self.valeur}"


@dataclass(frozen=True)
class Access:
    """The parsed access file: the contact shown to identities without access, and the
    rules in file order."""

    contact: str
    rules: tuple[Rule, ...]

    def rule_for(self, identity: Mapping[str, object]) -> Rule | None:
        """The first rule matching the OIDC claims ``identity`` (``st.user.to_dict()``:
        ``email``, ``sub``, ``name``…), or None: no access."""
        return next((rule for rule in self.rules if rule.matches(identity)), None)


# --- reading the file -----------------------------------------------------------------------
_TABLE_HEADER = re.compile(r"^\s*\[\[\s*acces\s*\]\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load(path: str | Path) -> Access:
    """Read and check the access file at ``path``; raises `AccessError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AccessError(f"fichier d'accès introuvable : {path}") from None
    except OSError as exc:
        raise AccessError(f"fichier d'accès illisible : {path} : {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AccessError(f"{path}, ligne {line} : texte UTF-8 attendu") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        where = f"{path}, ligne {found.group(1)}" if found else str(path)
        reason = _TOML_LINE.sub("", str(exc)).strip()
        raise AccessError(
            f"{where} : syntaxe TOML invalide ({reason}) ; voir l'exemple du README, "
            "section « Accès »"
        ) from None
    return _parse(path, text, parsed)


def _parse(path: Path, text: str, parsed: dict) -> Access:
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines, start=1) if _TABLE_HEADER.match(line)]

    def fail(line: int, message: str) -> AccessError:
        return AccessError(f"{path}, ligne {line} : {message}")

    for key in parsed:
        if key not in _TOP_KEYS:
            raise fail(
                _key_line(lines, key, 1, _first_header(lines)),
                f"clé inconnue « {key} » ; attendues en tête : contact, puis des tables [[acces]]",
            )
    contact = parsed.get("contact")
    if not isinstance(contact, str) or not contact.strip():
        raise fail(
            _key_line(lines, "contact", 1, _first_header(lines)),
            "« contact » manquant ou vide : indiquez en tête du fichier qui contacter pour "
            'obtenir un accès (contact = "…")',
        )
    entries = parsed.get("acces", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise fail(
            _key_line(lines, "acces", 1, len(lines) + 1),
            "« acces » doit être une suite de tables [[acces]]",
        )
    if len(starts) != len(entries):  # [[acces]] written in another TOML form: no line known
        starts = [1] * len(entries)
    rules = []
    for entry, start in zip(entries, starts, strict=True):
        end = next((n for n in range(start + 1, len(lines) + 1) if _ANY_HEADER.match(lines[n - 1])), len(lines) + 1)  # fmt: skip
        rules.append(
            _rule(entry, start, lambda key, s=start, e=end: _key_line(lines, key, s, e), fail)
        )
    return Access(contact=contact.strip(), rules=tuple(rules))


def _first_header(lines: list[str]) -> int:
    return next(
        (n for n, line in enumerate(lines, start=1) if _ANY_HEADER.match(line)), len(lines) + 1
    )


def _key_line(lines: list[str], key: str, start: int, end: int) -> int:
    """The line of ``key = …`` between lines ``start`` and ``end`` (excluded), else ``start``."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for n in range(start, min(end, len(lines) + 1)):
        if pattern.match(lines[n - 1]):
            return n
    return start


def _rule(entry: dict, start: int, line_of, fail) -> Rule:
    for key in entry:
        if key not in _RULE_KEYS:
            raise fail(
                line_of(key),
                f"clé inconnue « {key} » dans [[acces]] ; attendues : {', '.join(_RULE_KEYS)}",
            )
    for key in ("email", "sub", "claim", "valeur", "role"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise fail(line_of(key), f"« {key} » : texte non vide entre guillemets attendu")
    given = [key for key in ("email", "sub", "claim") if key in entry]
    if not given:
        raise fail(
            start,
            'identité manquante : indiquez email = "…", sub = "…" ou claim = "…" avec valeur = "…"',
        )
    if len(given) > 1:
        raise fail(
            line_of(given[1]),
            f"une seule identité par entrée : {' et '.join(given)} sont donnés ensemble",
        )
    if ("claim" in entry) != ("valeur" in entry):
        key = "claim" if "claim" in entry else "valeur"
        raise fail(line_of(key), "« claim » et « valeur » vont ensemble")
    role = entry.get("role")
    if role is None:
        raise fail(start, f"« role » manquant ; attendu : {', '.join(ROLES)}")
    if role not in ROLES:
        raise fail(line_of("role"), f"rôle inconnu « {role} » ; attendu : {', '.join(ROLES)}")
    scopes: dict[str, tuple[str, ...]] = {}
    for key in ("og", "regions", "departements", "editeurs"):
        if key not in entry:
            continue
        if key not in _SCOPE_KEYS.get(role, ()):
            raise fail(line_of(key), f"« {key} » ne s'applique pas au rôle « {role} »")
        values = entry[key]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail(line_of(key), f'« {key} » : liste de textes attendue, ex. ["…", "…"]')
        scopes[key] = tuple(_scope_value(key, v, line_of(key), fail) for v in values)
    wanted = _SCOPE_KEYS.get(role, ())
    if wanted and not any(scopes.get(key) for key in wanted):
        raise fail(
            start,
            f"le rôle « {role} » exige {' et/ou '.join(wanted)} (liste non vide)",
        )
    email = entry.get("email")
    return Rule(
        role=role,
        line=start,
        email=email.strip() if email else None,
        sub=entry.get("sub"),
        claim=entry.get("claim"),
        valeur=entry.get("valeur"),
        og=scopes.get("og", ()),
        regions=scopes.get("regions", ()),
        departements=scopes.get("departements", ()),
        editeurs=scopes.get("editeurs", ()),
    )


def _scope_value(key: str, value: str, line: int, fail) -> str:
    """One value of og / regions / departements / editeurs, checked and in stored form."""
    text = value.strip()
    if key == "og":
        code = text.upper()
        if not finess_mod.is_valid_finess(code):
            raise fail(
                line,
                f"FINESS EJ invalide « {value} » : 9 caractères attendus ({len(text)} lus), "
                "chiffres, 2A ou 2B pour la Corse",
            )
        return code
    if key == "regions":
        code = _region_code(text)
        if code is None:
            raise fail(line, f"région inconnue « {value} » (nom ou code INSEE attendu)")
        return code
    if key == "departements":
        code = text.upper().zfill(2) if text.isdigit() else text.upper()
        if not finess_mod.departement_name(code):
            raise fail(line, f"département inconnu « {value} » (code attendu, ex. 75, 2A, 974)")
        return code
    if not text:
        raise fail(line, "« editeurs » : nom d'éditeur vide")
    return text


def _region_code(text: str) -> str | None:
    """INSEE code of a région given by name (accents and case ignored) or code; the
    establishments table stores the code."""
    if text.isdigit() and finess_mod.region_name(text):
        return text.zfill(2)
    wanted = normalize_key(text)
    return next(
        (code for code, name in finess_mod.regions().items() if normalize_key(name) == wanted),
        None,
    )


def path_from(
    secrets: Mapping | None = None, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The access file's path: ``secrets[SECRETS_KEY]`` (``.streamlit/secrets.toml``) first,
    else the ``DUI_METRICS_ACCES`` variable, else None (no access file)."""
    value = None
    if secrets is not None:
        try:
            value = secrets.get(SECRETS_KEY)
        except (KeyError, FileNotFoundError):  # st.secrets without a secrets file
            value = None
    if not value:
        value = environ.get(ENV_VAR)
    return Path(str(value)).expanduser() if value else None


# --- perimeters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Perimeter:
    """The ESMS a user may see: ``finess`` the FINESS ET, or None for everything (admin,
    local mode). ``label`` says it in French (« organisme gestionnaire 750000127, 3 ESMS »)."""

    role: str
    finess: frozenset[str] | None
    label: str

    def allows(self, finess_et: str) -> bool:
        return self.finess is None or finess_et in self.finess

    def restrict(self, finess: Sequence[str] | None) -> list[str] | None:
        """A FINESS list for the library's ``$finess`` parameters, narrowed to this
        perimeter: ``finess`` None (every ESMS) gives the perimeter's ESMS, sorted; None
        only when both are everything."""
        if self.finess is None:
            return None if finess is None else list(finess)
        if finess is None:
            return sorted(self.finess)
        return [code for code in finess if code in self.finess]

    def require(self, finess_et: str) -> None:
        """Raise `OutsidePerimeter` unless ``finess_et`` is in the perimeter."""
        if not self.allows(finess_et):
            raise OutsidePerimeter(f"l'ESMS {finess_et} est hors de votre périmètre ({self.label})")

    @cached_property
    def key(self) -> str:
        """A short text that differs between perimeters: part of the app's cache keys."""
        if self.finess is None:
            return "*"
        digest = hashlib.sha256("\n".join(sorted(self.finess)).encode()).hexdigest()[:16]
        return f"{len(self.finess)}:{digest}"


EVERYTHING = Perimeter("admin", None, "tous les établissements")


def restrict(finess: Sequence[str] | None, perimeter: Perimeter | None) -> list[str] | None:
    """``finess`` narrowed to ``perimeter`` (None: no perimeter, ``finess`` as it is)."""
    if perimeter is None:
        return None if finess is None else list(finess)
    return perimeter.restrict(finess)


def perimeter_of(store: Store, rule: Rule) -> Perimeter:
    """The ESMS of the establishments reference that ``rule`` opens: ``og`` those whose
    FINESS EJ is listed; ``ars`` those of a listed région or département; ``editeur`` those
    whose editor is listed (case, accents and punctuation ignored); ``admin`` everything.
    An ESMS known only from usage data (no reference row) is in no perimeter but admin's."""
    if rule.role == "admin":
        return EVERYTHING
    if rule.role == "og":
        codes = _codes(store, "list_contains($og, finess_ej)", {"og": list(rule.og)})
        label = f"organisme{'s' if len(rule.og) > 1 else ''} gestionnaire{'s' if len(rule.og) > 1 else ''} {', '.join(rule.og)}"  # fmt: skip
    elif rule.role == "ars":
        codes = _codes(
            store,
            "list_contains($regions, region) or list_contains($departements, departement)",
            {"regions": list(rule.regions), "departements": list(rule.departements)},
        )
        parts = []
        if rule.regions:
            names = [finess_mod.region_name(code) or code for code in rule.regions]
            parts.append(f"région{'s' if len(names) > 1 else ''} {', '.join(names)}")
        if rule.departements:
            s = "s" if len(rule.departements) > 1 else ""
            parts.append(f"département{s} {', '.join(rule.departements)}")
        label = " ; ".join(parts)
    elif rule.role == "editeur":
        wanted = {normalize_key(name) for name in rule.editeurs}
        stored = [
            r[0]
            for r in store.execute(
                "select distinct editeur from establishments where editeur is not null"
            ).fetchall()
        ]
        names = [name for name in stored if normalize_key(name) in wanted]
        codes = _codes(store, "list_contains($editeurs, editeur)", {"editeurs": names})
        label = f"éditeur{'s' if len(rule.editeurs) > 1 else ''} {', '.join(rule.editeurs)}"
    else:  # a Rule built by hand with another role: nothing, never everything
        return Perimeter(rule.role, frozenset(), "aucun établissement")
    n = len(codes)
    return Perimeter(rule.role, codes, f"{label}, {n} ESMS")


# The conditions of `perimeter_of` are code constants; the values are bound parameters.
def _codes(store: Store, condition: str, params: dict) -> frozenset[str]:
    rows = store.execute(
        f"select finess_et from establishments where {condition}",
        {k: [str(v) for v in values] for k, values in params.items()},
    ).fetchall()
    return frozenset(r[0] for r in rows)


def for_user(store: Store, access_path: str | Path, email: str) -> Perimeter:
    """The perimeter of the user ``email`` in the access file (the CLI's ``--acces`` and
    ``--utilisateur``); raises `AccessError` for a malformed file or an unknown identity."""
    access = load(access_path)
    rule = access.rule_for({"email": email})
    if rule is None:
        raise AccessError(
            f"{email} n'a pas d'accès dans {access_path} ; contact : {access.contact}"
        )
    return perimeter_of(store, rule)


# --- the perimeter in the library -----------------------------------------------------------
# The tables holding ESMS data, each with its finess_et column; `scoped` shadows them.
SCOPED_TABLES = ("establishments", "usage", "usage_shadowed", "record_holders", *RECORD_TABLES)


@contextmanager
def scoped(store: Store, perimeter: Perimeter | None) -> Iterator[Store]:
    """``store`` seen through ``perimeter``: a Store on a new cursor where every table holding
    ESMS data (`SCOPED_TABLES`), the import log and the record extracts are temporary views
    holding only the perimeter's ESMS. Any SQL run on it, in any module, sees nothing else:
    rankings, medians and quartiles are computed on the perimeter only. The store's calendar
    (`Store.months`, `Store.latest_month`) stays the whole store's, so the VA window does not
    depend on who looks. Without a perimeter (None, or everything), ``store`` itself.

    DuckDB keeps temporary objects per connection: other cursors of the store are untouched."""
    if perimeter is None or perimeter.finess is None:
        yield store
        return
    cursor = scoped_cursor(store, perimeter)
    try:
        yield cursor
    finally:
        cursor.close()


def scoped_cursor(store: Store, perimeter: Perimeter) -> Store:
    """A new cursor of ``store`` seen through ``perimeter`` (see `scoped`), for a caller that
    keeps it open (the app: one per session); the caller closes it."""
    cursor = store.cursor()
    if perimeter.finess is None:
        return cursor
    try:
        _create_views(cursor, perimeter.finess)
    except BaseException:
        cursor.close()
        raise
    return cursor


def _create_views(cursor: Store, finess: frozenset[str]) -> None:
    database = str(cursor.scalar("select current_database()")).replace('"', '""')
    present = {
        r[0]
        for r in cursor.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'main'"
        ).fetchall()
    }

    def stored(table: str) -> str:
        return f'"{database}".main.{table}'

    cursor.execute("create temp table _perimeter (finess_et varchar primary key)")
    cursor.execute("insert into _perimeter select unnest($f::varchar[])", {"f": sorted(finess)})
    for table in SCOPED_TABLES:
        if table in present:
            cursor.execute(
                f"create temp view {table} as select * from {stored(table)} "
                "where finess_et in (select finess_et from _perimeter)"
            )
    holders = [
        t for t in ("usage", "usage_shadowed", "establishments", "record_holders") if t in present
    ]
    imported = " union ".join(f"select import_id from {t}" for t in holders)
    cursor.execute(
        f"create temp view imports as select * from {stored('imports')} "
        f"where import_id in ({imported})"
    )
    if "record_imports" in present:
        cursor.execute(
            f"create temp view record_imports as select * from {stored('record_imports')} "
            "where import_id in (select import_id from record_holders)"
        )
    cursor._calendar = stored("usage")


def _closing_reader(reader: pa.RecordBatchReader, scope: ExitStack) -> pa.RecordBatchReader:
    """``reader``, closing its scoped cursor once read to the end (or dropped)."""

    def batches():
        with scope:
            yield from reader

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def takes_perimeter(func: Callable) -> Callable:
    """Makes the library function ``func(store, …)`` take ``perimeter=`` (None: every ESMS)
    and run on the store `scoped` to it, so that whatever its SQL, it returns nothing of an ESMS
    outside the perimeter. A function that already has a ``perimeter`` parameter (to filter on
    a bound FINESS list, faster) receives it too. Generators keep the scope open while they
    yield, and an Arrow stream (`pyarrow.RecordBatchReader`) until it is read. tests/test_perimeter.py checks that every public function returning ESMS data
    has it."""
    signature = inspect.signature(func)
    handles = "perimeter" in signature.parameters

    def call(store: Store, args, kwargs, perimeter):
        if handles:
            kwargs["perimeter"] = perimeter
        return func(store, *args, **kwargs)

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def wrapper(store: Store, *args, perimeter: Perimeter | None = None, **kwargs):
            with scoped(store, perimeter) as seen:
                yield from call(seen, args, kwargs, perimeter)

    else:

        @functools.wraps(func)
        def wrapper(store: Store, *args, perimeter: Perimeter | None = None, **kwargs):
            with ExitStack() as stack:
                result = call(
                    stack.enter_context(scoped(store, perimeter)), args, kwargs, perimeter
                )
                if isinstance(result, pa.RecordBatchReader):  # read after the return
                    return _closing_reader(result, stack.pop_all())
                return result

    if not handles:
        parameters = list(signature.parameters.values())
        extra = inspect.Parameter(
            "perimeter", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Perimeter | None"
        )
        at = next(
            (i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_KEYWORD),
            len(parameters),
        )
        parameters.insert(at, extra)
        wrapper.__signature__ = signature.replace(parameters=parameters)
    wrapper.takes_perimeter = True
    return wrapper
