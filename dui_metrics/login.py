"""The login gate: who may open the dashboard, and which ESMS the session sees (issue 16).

The third library module that imports Streamlit (after `dui_metrics.ui` and
`dui_metrics.server`): it owns ``st.login``, ``st.user``, ``st.logout`` and the session's
perimeter. app.py calls `gate` on every page view, before the navigation is built, so no page
and no navigation menu is served to a visitor who has not passed it, whatever the page URL.

- Local mode: no ``[auth]`` section in the secrets (or no secrets file at all) is one person on
  one machine: every ESMS (`access.EVERYTHING`), and the sidebar says so.
- With ``[auth]``: a visitor not logged in gets the login page and nothing else; a logged-in
  identity gets the perimeter of its rule in the access file (``acces.toml``), or a page saying
  it has no access.

It fails closed: a secrets file that does not parse, an access file that is missing or
malformed stops the app with a French message (details in the server log); never « everyone
sees everything ». Text read from files (the contact, an identity) is shown as text, never as
Markdown or HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import streamlit as st

from dui_metrics import access, ui
from dui_metrics.text import escape_markdown

LOG = logging.getLogger(__name__)

LOCAL_CAPTION = "mode local, sans authentification"
LOGIN_TITLE = "dui-metrics · usages du DUI Ségur"
LOGIN_SENTENCE = (
    "Ce tableau de bord est réservé aux personnes habilitées : connectez-vous pour voir les "
    "établissements de votre périmètre."
)
NO_ACCESS_TITLE = "Vous n'avez pas accès à ce tableau de bord"
LOGIN_LABEL = "Se connecter"
LOGOUT_LABEL = "Se déconnecter"

# Streamlit's error_id when no secrets file exists at all (a file that does not parse has
# another id: it may hold an [auth] section, so it is not local mode).
_NO_SECRETS_FILE = "no-secrets-found"
# Keys of [auth] that hold a mapping without being a named provider.
_AUTH_MAPPINGS = {"client_kwargs"}
_PERIMETER_KEY = "_dui_metrics_perimeter"  # (key of what it was computed from, Perimeter)


def auth_section() -> Mapping[str, object] | None:
    """The ``[auth]`` section of the secrets, or None in local mode.

    Read through ``st.secrets`` at each call (AppTest replaces that attribute). A secrets file
    that exists but does not parse stops the app: it may hold an ``[auth]`` section."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError as exc:  # Streamlit's StreamlitSecretNotFoundError
        if getattr(exc, "error_id", None) == _NO_SECRETS_FILE:
            return None
        LOG.error("secrets illisibles, tableau de bord arrêté : %s", exc)
        _stop_with_error(
            "Le fichier de secrets du tableau de bord (.streamlit/secrets.toml) est illisible : "
            "l'administrateur doit le corriger (détails dans le journal du serveur)."
        )
    if section is None:
        return None
    if not isinstance(section, Mapping):
        LOG.error("la clé « auth » des secrets n'est pas une section : %r", type(section))
        _stop_with_error(
            "La section [auth] des secrets du tableau de bord est mal écrite : l'administrateur "
            "doit la corriger (détails dans le journal du serveur)."
        )
    return section


def providers(auth: Mapping[str, object]) -> list[str | None]:
    """The providers ``st.login`` may be called with: None (Streamlit's "default", settings
    directly in ``[auth]``) when ``[auth]`` has its own ``client_id`` or no named provider,
    else the names of its ``[auth.NAME]`` subsections."""
    named = [
        name
        for name, value in auth.items()
        if isinstance(value, Mapping) and name not in _AUTH_MAPPINGS
    ]
    if "client_id" in auth or not named:
        return [None]
    return sorted(named)


def gate() -> access.Perimeter:
    """The perimeter of this session, or the page stops (login, no access, bad access file).

    Call it after ``st.set_page_config`` and before ``st.navigation``."""
    auth = auth_section()
    if auth is None:
        st.sidebar.caption(LOCAL_CAPTION)
        return access.EVERYTHING
    identity = _identity()
    if identity is None:
        _login_page(auth)
    perimeter = _perimeter_of(identity)
    st.sidebar.text(f"Connecté : {_who(identity)} — {perimeter.label}")
    st.sidebar.button(LOGOUT_LABEL, key="login_logout", on_click=_logout)
    return perimeter


def current_perimeter() -> access.Perimeter:
    """The perimeter `gate` computed for this session (`access.EVERYTHING` in local mode).

    With ``[auth]`` and no perimeter for the identity now logged in (a page run without the
    gate), the page stops: it shows nothing rather than everything."""
    if auth_section() is None:
        return access.EVERYTHING
    identity = _identity()
    held = st.session_state.get(_PERIMETER_KEY)
    if identity is None or held is None or held[0][0] != _identity_key(identity):
        st.stop()
    return held[1]


# --- steps of the gate ---------------------------------------------------------------------


def _identity() -> dict[str, object] | None:
    """The logged-in user's claims (without tokens), or None when nobody is logged in."""
    user = st.user.to_dict()
    # Only an explicit True counts: st.user omits the flag when it cannot tell.
    if user.get("is_logged_in") is not True:
        return None
    return {k: v for k, v in user.items() if k not in ("is_logged_in", "tokens")}


def _identity_key(identity: Mapping[str, object]) -> tuple:
    return (identity.get("iss"), identity.get("sub"), identity.get("email"))


def _who(identity: Mapping[str, object]) -> str:
    for claim in ("email", "name", "sub"):
        if identity.get(claim):
            return str(identity[claim])
    return "identité sans adresse"


def _login_page(auth: Mapping[str, object]) -> NoReturn:
    st.title(LOGIN_TITLE)
    st.write(LOGIN_SENTENCE)
    names = providers(auth)
    for name in names:
        label = LOGIN_LABEL if len(names) == 1 else f"{LOGIN_LABEL} ({name})"
        # A callback: a click survives the rerun that app.py's navigation may add.
        st.button(label, key=f"login_{name or 'default'}", on_click=_login, args=(name,))
    st.stop()


def _login(provider: str | None) -> None:
    st.login(provider)


def _logout() -> None:
    st.session_state.pop(_PERIMETER_KEY, None)
    st.logout()


def _load_access() -> access.Access:
    """The access file, read at each run (a change applies at the next click); the page stops
    with the reason when it is not configured or cannot be read."""
    path = access.path_from(st.secrets)
    if path is None:
        LOG.error(
            "connexion configurée sans fichier d'accès (clé « %s » des secrets ou variable %s)",
            access.SECRETS_KEY,
            access.ENV_VAR,
        )
        _stop_with_error(
            "Aucun fichier d'accès n'est configuré (clé « "
            f"{access.SECRETS_KEY} » de .streamlit/secrets.toml ou variable {access.ENV_VAR}) : "
            "personne n'est admis tant qu'il manque."
        )
    try:
        return access.load(path)
    except access.AccessError as exc:
        LOG.error("fichier d'accès refusé : %s", exc)
        # The message names the file and the line; the folder stays on the server.
        _stop_with_error(
            "Fichier d'accès refusé, le tableau de bord est arrêté : "
            + _without_folder(str(exc), Path(path))
        )
    except OSError as exc:
        LOG.error("fichier d'accès illisible (%s) : %s", path, exc)
        _stop_with_error(
            f"Fichier d'accès introuvable ou illisible : {Path(path).name} "
            "(détails dans le journal du serveur)."
        )


def _perimeter_of(identity: Mapping[str, object]) -> access.Perimeter:
    rules = _load_access()
    rule = rules.rule_for(identity)
    if rule is None:
        _no_access_page(identity, rules.contact)
    # Kept per session and recomputed when the rule or the store's version changes.
    key = (_identity_key(identity), repr(rule), ui.store_version())
    held = st.session_state.get(_PERIMETER_KEY)
    if held is None or held[0] != key:
        held = (key, access.perimeter_of(ui.base_store(), rule))
        st.session_state[_PERIMETER_KEY] = held
    return held[1]


def _no_access_page(identity: Mapping[str, object], contact: str) -> NoReturn:
    st.session_state.pop(_PERIMETER_KEY, None)
    st.title(NO_ACCESS_TITLE)
    st.text(f"Vous êtes connecté(e) en tant que {_who(identity)}.")
    if contact:
        st.text(contact)
    st.button(LOGOUT_LABEL, key="login_logout", on_click=_logout)
    st.stop()


def _stop_with_error(message: str) -> NoReturn:
    st.error(escape_markdown(message), icon="⛔")
    st.stop()


def _without_folder(message: str, path: Path) -> str:
    """``message`` with the access file's full path replaced by its name."""
    for written in {str(path), str(path.resolve()), str(path.absolute())}:
        message = message.replace(written, path.name)
    return message
