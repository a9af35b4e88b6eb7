"""Invisible and look-alike characters do not get a short password past the policy, and a password is the
same password however its characters are encoded: the policy, the stored hash and sign-in all see it NFKC
normalised without format characters (Unicode Cf such as U+200B)."""
from __future__ import annotations

import re

from click.testing import CliRunner
from werkzeug.security import generate_password_hash

from engine.accounts.passwords import broken_rules, normalised
from tests.webapp.conftest import UserClient, app, as_user, engine  # noqa: F401  (fixtures)
from webapp.cli import main
from webapp.demo import DEMO_PASSWORD

ZWSP = "\u200b"
FULL_WIDTH = "Ｈｙｄｒａｕｌｉｃ－ｖａｌｖｅ－７"  # Hydraulic-valve-7 in full-width forms


def change(user: UserClient, current: str, new: str):
    user.page("/account/password")
    return user.post("/account/password", {"current_password": current, "new_password": new,
                                           "repeat_password": new})


def errors_shown(response) -> list[str]:
    alert = response.get_data(as_text=True).split('role="alert"')[1].split("</div>")[0]
    return re.findall(r"<li>(.*?)</li>", alert)


def stored_hash(app, username: str) -> str:  # noqa: F811
    return app.extensions["aftersales.directory"].get(username).password_hash


def test_zero_width_spaces_do_not_make_a_short_password_long_enough(app, as_user):  # noqa: F811
    user = as_user("qa.wang")
    before = stored_hash(app, "qa.wang")
    user.post("/language", {"language": "en", "next": "/account/password"})
    refused = change(user, DEMO_PASSWORD, "A1!" + ZWSP * 10)
    assert refused.status_code == 422
    assert "At least 10 characters." in errors_shown(refused)
    assert stored_hash(app, "qa.wang") == before
    # Other format characters (joiners, direction marks, the BOM) count for nothing either.
    assert [r.code for r in broken_rules("Ab1!\u200d\u200c\u2060\u200e\u202e\ufeffxy", "qa.wang")] == ["too_short"]
    # Hidden in a common password, they do not make it uncommon.
    assert "common" in [r.code for r in broken_rules(f"Pass{ZWSP}word123!", "qa.wang")]


def test_the_command_line_refuses_the_same_padded_password(app, database):  # noqa: F811
    url = database.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["--database-url", url, "user", "password", "qa.wang",
                                       "--password", "A1!" + ZWSP * 10], catch_exceptions=False)
    assert result.exit_code == 2 and "at least 10 characters" in result.output


def test_a_password_set_in_full_width_signs_in_as_typed_on_any_keyboard(app, as_user):  # noqa: F811
    user = as_user("qa.wang")
    assert change(user, DEMO_PASSWORD, FULL_WIDTH).status_code == 302
    for typed in (FULL_WIDTH, "Hydraulic-valve-7", f"Hydraulic{ZWSP}-valve-7"):
        assert UserClient(app.test_client()).login("qa.wang", typed).status_code == 302, typed
    assert UserClient(app.test_client()).login("qa.wang", "Hydraulic-valve-8").status_code == 401
    # The new password must differ from the current one, also when only its encoding differs.
    again = UserClient(app.test_client())
    again.login("qa.wang", "Hydraulic-valve-7")
    again.post("/language", {"language": "en", "next": "/account/password"})
    same = change(again, "Hydraulic-valve-7", FULL_WIDTH)
    assert "The new password must differ from the current one." in errors_shown(same)


def test_a_hash_stored_before_normalisation_still_signs_in(app):  # noqa: F811
    """Someone who set a password with invisible characters before this change can still sign in."""
    padded = f"Gearbox{ZWSP}-2026-x"
    assert normalised(padded) != padded
    with app.extensions["aftersales.engine"].db.sessions.begin() as session:
        from engine.storage.models import User
        session.get(User, "qa.wang").password_hash = generate_password_hash(padded)
    assert UserClient(app.test_client()).login("qa.wang", padded).status_code == 302
    assert UserClient(app.test_client()).login("qa.wang", "Gearbox-2026-y").status_code == 401
