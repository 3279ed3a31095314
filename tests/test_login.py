"""The login gate (issue 16) on the real app.py under AppTest: local mode, the login page on
every page URL, a logged-in user's perimeter, an identity without access, a bad access file.

AppTest sets ``st.user`` from ``at.user`` (Streamlit 1.67's testing helper: ``is_logged_in``
plus the claims) and ``st.secrets`` from ``at.secrets``; no OIDC provider is involved here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from dui_metrics import access, login
from tests.test_app import REFERENCE  # OG A (690000005): E1, E2; OG B (330000001): E3

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))

USAGE = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
    + "".join(
        f"{finess};2025-0{m};40;30;20;25;28;10;5\n"
        for m in (1, 2, 3)
        for finess in ("690000013", "690000021", "330000019")
    )
)
SECRET_NAMES = ("EHPAD Un", "IME Deux", "SSIAD Trois", "690000013", "690000021", "330000019")

# A generic OIDC provider, as in .streamlit/secrets.toml (nothing is contacted under AppTest).
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "un-secret-de-test-assez-long-pour-signer",
    "client_id": "dui-metrics",
    "client_secret": "secret-du-client",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
# The contact holds Markdown and HTML: shown as text, it reads exactly as written.
CONTACT = "Équipe régionale : **support**@grades.example <img src=x onerror=alert(1)> :red[x]"
ACCES = f"""contact = "{CONTACT}"
[[acces]]
email = "directrice@og-a.example"
role = "og"
og = ["690000005"]
[[acces]]
email = "admin@grades.example"
role = "admin"
"""
OG_USER = {"is_logged_in": True, "email": "directrice@og-a.example", "sub": "og-a-1"}
UNKNOWN_USER = {"is_logged_in": True, "email": "inconnu@ailleurs.example", "sub": "x-9"}


@pytest.fixture
def tiny_store(store_from, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = store_from(REFERENCE, USAGE)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    monkeypatch.delenv(access.ENV_VAR, raising=False)
    return path


@pytest.fixture
def no_secrets_file(tmp_path: Path) -> Iterator[None]:
    """Local mode whatever secrets.toml this machine holds: Streamlit looks in a folder that
    has none."""
    with patch_config_options({"secrets.files": [str(tmp_path / "nowhere" / "secrets.toml")]}):
        yield


@pytest.fixture
def acces_file(tmp_path: Path) -> Path:
    path = tmp_path / "acces.toml"
    path.write_text(ACCES, encoding="utf-8")
    return path


def app(secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets is not None:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    return at


def everything_shown(at: AppTest) -> str:
    """Every element of the page (main area and sidebar, inside every container, tab and
    expander) as its protobuf text: tables' Arrow data, charts' JSON, lists' options."""

    def walk(node) -> list[str]:
        texts = [str(node.proto)] if getattr(node, "proto", None) is not None else []
        for child in getattr(node, "children", {}).values():
            texts += walk(child)
        return texts

    return "\n".join(walk(at._tree))


def element_types(at: AppTest) -> set[str]:
    """Types of the elements on screen, the app's constant style sheet aside (theme.STYLE:
    CSS only, the same on every page, the login page included)."""
    from dui_metrics import theme

    return {
        node.type
        for node in at._tree
        if not hasattr(node, "children")
        and not (node.type == "html" and node.proto.body.strip() == theme.STYLE.strip())
    }


def assert_shows_nothing_of_the_store(at: AppTest) -> None:
    assert not at.exception
    assert not at.dataframe and not at.metric and not at.selectbox
    shown = everything_shown(at)
    for name in SECRET_NAMES:
        assert name not in shown


# --- local mode ----------------------------------------------------------------------------


def test_local_mode_says_so_and_shows_every_page(tiny_store: Path, no_secrets_file) -> None:
    at = app().run()
    assert not at.exception
    assert [c.value for c in at.sidebar.caption] == ["mode local, sans authentification"]
    assert {m.label: m.value for m in at.metric}["Établissements (ESMS)"] == "3"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.title and at.title[0].value != login.LOGIN_TITLE, page
        assert [c.value for c in at.sidebar.caption] == ["mode local, sans authentification"]


def test_unreadable_secrets_file_is_not_local_mode(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A secrets file that does not parse may hold [auth]: the app stops, it does not fall
    # back to « everyone sees everything ».
    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth]\nredirect_uri = "http://x/oauth2callback\n', encoding="utf-8")
    with patch_config_options({"secrets.files": [str(bad)]}):
        at = app().run()
    assert_shows_nothing_of_the_store(at)
    assert [e.value for e in at.error] == [
        login.escape_markdown(
            "Le fichier de secrets du tableau de bord (.streamlit/secrets.toml) est illisible : "
            "l'administrateur doit le corriger (détails dans le journal du serveur)."
        )
    ]
    assert not at.sidebar.caption


# --- with [auth], nobody logged in ---------------------------------------------------------


@pytest.mark.parametrize(
    "user",
    [
        pytest.param({"is_logged_in": False}, id="logged-out"),
        # AppTest's default user has an email but no login flag: not logged in either.
        pytest.param({"email": "test@example.com"}, id="no-flag"),
    ],
)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_url_shows_only_the_login_page(tiny_store: Path, page: str, user) -> None:
    at = app({"auth": AUTH}, user).run()
    at.switch_page(page).run()
    assert_shows_nothing_of_the_store(at)
    assert [t.value for t in at.title] == [login.LOGIN_TITLE]
    assert [b.label for b in at.button] == ["Se connecter"]
    # A title, one sentence, one button: no menu, no caption, no store error, no sidebar.
    assert element_types(at) == {"title", "markdown", "button"}
    assert not at.sidebar.children


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        pytest.param(AUTH, None, id="default-provider"),
        pytest.param(
            {
                "redirect_uri": AUTH["redirect_uri"],
                "cookie_secret": AUTH["cookie_secret"],
                "oidc": {k: AUTH[k] for k in ("client_id", "client_secret")}
                | {"server_metadata_url": AUTH["server_metadata_url"]},
            },
            "oidc",
            id="one-named-provider",
        ),
    ],
)
def test_login_button_calls_st_login_with_the_provider(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch, auth: dict, expected: str | None
) -> None:
    calls: list[str | None] = []
    monkeypatch.setattr(streamlit, "login", calls.append)
    at = app({"auth": auth}, {"is_logged_in": False}).run()
    at.button(key=f"login_{expected or 'default'}").click().run()
    assert calls == [expected]
    assert [t.value for t in at.title] == [login.LOGIN_TITLE]


def test_several_named_providers_get_one_button_each() -> None:
    auth = {"redirect_uri": "r", "cookie_secret": "c", "psc": {}, "keycloak": {}}
    assert login.providers(auth) == ["keycloak", "psc"]
    assert login.providers(AUTH) == [None]
    # client_kwargs is the default provider's options, not a provider.
    assert login.providers(AUTH | {"client_kwargs": {"prompt": "login"}}) == [None]


# --- logged in -----------------------------------------------------------------------------


def test_og_user_sees_its_perimeter_in_the_sidebar(tiny_store: Path, acces_file: Path) -> None:
    at = app({"auth": AUTH, "acces": str(acces_file)}, OG_USER).run()
    assert not at.exception
    (who,) = at.sidebar.text
    assert who.value.startswith("Connecté : directrice@og-a.example — ")
    perimeter = at.session_state["_dui_metrics_perimeter"][1]
    assert who.value == f"Connecté : directrice@og-a.example — {perimeter.label}"
    # OG A (690000005) holds E1 and E2, not E3.
    assert perimeter.finess == frozenset({"690000013", "690000021"})
    assert [b.label for b in at.sidebar.button] == ["Se déconnecter"]
    assert not at.sidebar.caption  # not « mode local »
    # The home page counts its perimeter only: E1 and E2 (the store holds 3 ESMS).
    assert {m.label: m.value for m in at.metric}["Établissements (ESMS)"] == "2"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.sidebar.text[0].value == who.value, page
        shown = everything_shown(at)
        # Nothing of E3 nor of its OG B, on any page (tables, charts, lists, downloads' data).
        for secret in ("SSIAD Trois", "330000019", "330000001"):
            assert secret not in shown, (page, secret)
        if page == "pages/etablissement.py":
            assert "690000013" in shown, page  # the check above reads tables: it can fail


def test_admin_sees_every_esms(tiny_store: Path, acces_file: Path) -> None:
    admin = {"is_logged_in": True, "email": "admin@grades.example", "sub": "admin-1"}
    at = app({"auth": AUTH, "acces": str(acces_file)}, admin).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Établissements (ESMS)"] == "3"


def test_logout_goes_back_to_the_login_page(tiny_store: Path, acces_file: Path) -> None:
    at = app({"auth": AUTH, "acces": str(acces_file)}, OG_USER).run()
    at.sidebar.button(key="login_logout").click().run()
    assert_shows_nothing_of_the_store(at)
    assert [t.value for t in at.title] == [login.LOGIN_TITLE]
    assert "_dui_metrics_perimeter" not in at.session_state


def test_unknown_identity_sees_no_access_and_the_contact(
    tiny_store: Path, acces_file: Path
) -> None:
    at = app({"auth": AUTH, "acces": str(acces_file)}, UNKNOWN_USER).run()
    for page in ["", *PAGES]:
        if page:
            at.switch_page(page).run()
        assert_shows_nothing_of_the_store(at)
        assert [t.value for t in at.title] == ["Vous n'avez pas accès à ce tableau de bord"]
        # The contact exactly as written in the file, as text (no Markdown, no HTML).
        assert [t.value for t in at.text] == [
            "Vous êtes connecté(e) en tant que inconnu@ailleurs.example.",
            CONTACT,
        ]
        assert [b.label for b in at.button] == ["Se déconnecter"]
        assert element_types(at) == {"title", "text", "button"}
        assert "_dui_metrics_perimeter" not in at.session_state


def test_malformed_access_file_stops_the_app_with_the_line(
    tiny_store: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "acces.toml"
    # Line 3: the address is not quoted.
    bad.write_text(
        'contact = "support@grades.example"\n[[acces]]\nemail = directrice@og-a.example\n',
        encoding="utf-8",
    )
    at = app({"auth": AUTH, "acces": str(bad)}, OG_USER).run()
    assert_shows_nothing_of_the_store(at)
    (error,) = at.error
    assert error.value.startswith(
        login.escape_markdown("Fichier d'accès refusé, le tableau de bord est arrêté : ")
    )
    assert "ligne 3" in error.value
    assert "acces" in error.value
    assert str(tmp_path) not in error.value  # the folder stays on the server
    assert element_types(at) == {"error"}
    assert not at.sidebar.children


def test_no_access_file_configured_lets_nobody_in(tiny_store: Path) -> None:
    at = app({"auth": AUTH}, OG_USER).run()
    assert_shows_nothing_of_the_store(at)
    (error,) = at.error
    assert "Aucun fichier d" in error.value
    assert access.ENV_VAR.replace("_", "\\_") in error.value


def test_access_file_from_the_environment(
    tiny_store: Path, acces_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(access.ENV_VAR, str(acces_file))
    at = app({"auth": AUTH}, OG_USER).run()
    assert not at.exception
    assert at.sidebar.text[0].value.startswith("Connecté : directrice@og-a.example — ")


# --- current_perimeter(), as the pages read it ---------------------------------------------

PAGE_READING_THE_PERIMETER = """
import streamlit as st
from dui_metrics import login

if st.session_state.get("through_gate", True):
    login.gate()
st.write("périmètre :", login.current_perimeter().label)
"""


def test_current_perimeter_in_local_mode(tiny_store: Path, no_secrets_file) -> None:
    at = AppTest.from_string(PAGE_READING_THE_PERIMETER, default_timeout=60).run()
    assert not at.exception
    assert at.markdown[-1].value == "périmètre : tous les établissements"


def test_current_perimeter_of_a_logged_in_user(tiny_store: Path, acces_file: Path) -> None:
    at = AppTest.from_string(PAGE_READING_THE_PERIMETER, default_timeout=60)
    at.secrets.update({"auth": AUTH, "acces": str(acces_file)})
    at.user = OG_USER
    at.run()
    assert not at.exception
    # OG 690000005 holds E1 and E2 in the tiny store.
    assert at.markdown[-1].value == "périmètre : organisme gestionnaire 690000005, 2 ESMS"


def test_current_perimeter_without_the_gate_shows_nothing(
    tiny_store: Path, acces_file: Path
) -> None:
    # A page run that did not pass the gate (no perimeter kept for this identity) stops.
    at = AppTest.from_string(PAGE_READING_THE_PERIMETER, default_timeout=60)
    at.secrets.update({"auth": AUTH, "acces": str(acces_file)})
    at.user = OG_USER
    at.session_state["through_gate"] = False
    at.run()
    assert not at.exception
    assert not at.markdown
    # Another identity in the same session does not inherit the perimeter kept for the first.
    at.session_state["through_gate"] = True
    at.run()
    assert at.markdown[-1].value == "périmètre : organisme gestionnaire 690000005, 2 ESMS"
    at.user = {"is_logged_in": True, "email": "admin@grades.example", "sub": "adm"}
    at.session_state["through_gate"] = False
    at.run()
    assert not at.markdown


@pytest.mark.parametrize(
    ("page", "key", "value"),
    [
        ("pages/organisme_gestionnaire.py", "og", "OG B (330000001)"),
        ("pages/organisme_gestionnaire.py", "og", "330000001"),
        ("pages/etablissement.py", "finess_et", "SSIAD Trois (330000019)"),
        ("pages/etablissement.py", "finess_et", "330000019"),
    ],
)
def test_an_address_naming_another_og_or_esms_shows_nothing_of_it(
    tiny_store: Path, acces_file: Path, page: str, key: str, value: str
) -> None:
    admin = {"is_logged_in": True, "email": "admin@grades.example", "sub": "admin-1"}
    seen = {}
    for who, user in (("admin", admin), ("og", OG_USER)):
        at = app({"auth": AUTH, "acces": str(acces_file)}, user)
        at.switch_page(page)
        at.query_params[key] = value
        at.run()
        assert not at.exception
        seen[who] = everything_shown(at)
    # The admin's page follows the address to E3 or OG B: the OG user's check can fail.
    assert "330000019" in seen["admin"] or "OG B" in seen["admin"]
    for secret in ("SSIAD Trois", "330000019", "330000001", "OG B"):
        assert secret not in seen["og"], secret
