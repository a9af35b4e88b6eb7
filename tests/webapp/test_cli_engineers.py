"""`aftersales engineers` / `aftersales warranties`: an administrator keeps engineers, certificates (上岗证)
and warranty periods from the shell; the dispatcher and the warranty check read the same rows."""
from __future__ import annotations

from click.testing import CliRunner

from webapp.cli import main


def run(database, *args: str):
    url = database.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, ["--database-url", url, *args])


def test_engineers_are_added_certified_and_listed_with_their_state(database, staff):
    assert "5 demo engineers added" in run(database, "engineers", "seed-demo").output
    listed = run(database, "engineers", "list").output.splitlines()
    assert any(line.startswith("ts.dong") and "NOT CERTIFIED" in line for line in listed)
    assert any(line.startswith("fe.zhu") and "certified" in line and "open 0" in line for line in listed)

    added = run(database, "engineers", "add", "eng.lu", "--name", "陆军", "--region", "华中", "--skills",
                "installation,mechanical", "--certificate-no", "SG-2026-0100", "--certified-until", "2028-12-31")
    assert added.exit_code == 0 and "eng.lu added" in added.output
    assert run(database, "engineers", "add", "eng.lu", "--name", "陆军", "--region", "华中", "--skills", "repair",
               "--certificate-no", "x", "--certified-until", "2028-12-31").exit_code == 2
    unknown_user = run(database, "engineers", "add", "nobody", "--name", "无", "--region", "华中", "--skills",
                       "repair", "--certificate-no", "x", "--certified-until", "2028-12-31")
    assert unknown_user.exit_code == 2 and "no user 'nobody'" in unknown_user.output
    bad_skill = run(database, "engineers", "skills", "eng.lu", "plumbing")
    assert bad_skill.exit_code == 2 and "unknown: ['plumbing']" in bad_skill.output

    assert run(database, "engineers", "certify", "ts.dong", "--certificate-no", "SG-2026-0007",
               "--until", "2029-12-31").exit_code == 0
    assert run(database, "engineers", "deactivate", "fe.ye").exit_code == 0
    listed = run(database, "engineers", "list").output.splitlines()
    assert any(line.startswith("ts.dong") and "SG-2026-0007" in line and "certified" in line
               and "NOT" not in line for line in listed)
    assert any(line.startswith("fe.ye") and "inactive" in line for line in listed)
    assert any(line.startswith("eng.lu") and "华中" in line for line in listed)


def test_warranty_rules_are_seeded_and_changed(database):
    assert "no warranty rules" in run(database, "warranties", "list").output
    assert "5 warranty rules added" in run(database, "warranties", "seed").output
    assert run(database, "warranties", "set", "em", "--months", "18", "--product", "电子测量仪表").exit_code == 0
    assert run(database, "warranties", "set", "XK", "--months", "6", "--product", "试用机").exit_code == 0
    listed = run(database, "warranties", "list").output.splitlines()
    assert any(line.startswith("EM ") and "18 months" in line for line in listed)
    assert any(line.startswith("XK ") and "6 months" in line for line in listed)
    assert "0 warranty rules added" in run(database, "warranties", "seed").output
