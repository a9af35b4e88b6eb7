"""The `aftersales` command line as someone testing from a shell uses it."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from webapp.cli import main

FORM = {
    "customer": "华东机电有限公司", "product_name": "减速电机", "spec_model": "JZ-200", "batch_no": "B1",
    "quantity_shipped": 100, "quantity_nonconforming": 30, "characteristic": "key", "consequence": "claim",
    "problem_description": "异响",
}


@pytest.fixture
def cli(database, tmp_path, monkeypatch):
    monkeypatch.setenv("AFTERSALES_OUTBOX_FILE", str(tmp_path / "outbox.jsonl"))
    url = database.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--database-url", url, *args], catch_exceptions=False)
    return run


def task_ids(output: str) -> dict[str, int]:
    """`aftersales tasks` lines: id, department, business key, task name, due ..."""
    return {line.split()[3]: int(line.split()[0]) for line in output.splitlines() if line.strip()}


def test_init_start_list_and_complete_from_the_shell(cli, tmp_path):
    result = cli("init")
    assert result.exit_code == 0 and "quality_feedback v1 deployed" in result.output
    assert "quality_feedback v1 unchanged" in cli("init").output  # idempotent

    form_file = tmp_path / "form.json"
    form_file.write_text(json.dumps(FORM, ensure_ascii=False), encoding="utf-8")
    result = cli("start", "quality_feedback", "--data-file", str(form_file), "--as", "sales.li")
    assert result.exit_code == 0 and re.search(r"instance 1 started \(QF-\d{4}-0001\)", result.output)

    quality = task_ids(cli("tasks", "--department", "quality").output)
    assert list(quality) == ["确认信息类别"]
    shown = cli("show-task", str(quality["确认信息类别"])).output
    assert "category" in shown and "override_reason" in shown

    for name, department in (("qa.wang", "quality"), ("sales.li", "sales")):
        added = cli("user", "add", name, "--name", name, "--department", department, "--password", "Lathe-spindle-42")
        assert added.exit_code == 0, added.output
    # The engine checks who acts, from the shell too: another department's user, or a name nobody has.
    for actor, reason in (("sales.li", "not a member of department 'quality'"), ("nobody.here", "no active user")):
        refused = cli("complete", str(quality["确认信息类别"]), "--as", actor, "--data", '{"category": "important"}')
        assert refused.exit_code == 2 and reason in refused.output
        assert cli("claim", str(quality["确认信息类别"]), "--as", actor).exit_code == 2
    assert "task_completed" not in cli("audit", "1").output
    assert cli("claim", str(quality["确认信息类别"]), "--as", "qa.wang").exit_code == 0
    result = cli("complete", str(quality["确认信息类别"]), "--as", "qa.wang", "--data", '{"category": "important"}')
    assert result.exit_code == 0
    again = cli("complete", str(quality["确认信息类别"]), "--as", "qa.wang", "--data", '{"category": "important"}')
    assert again.exit_code == 2 and "already completed by qa.wang" in again.output

    audit = cli("audit", "1").output
    assert "instance_started" in audit and "task_completed" in audit
    assert cli("worker", "--once").exit_code == 0
    assert (tmp_path / "outbox.jsonl").exists()  # the intake notifications were delivered


def test_invalid_form_is_refused_with_field_errors_and_nothing_started(cli):
    cli("init")
    result = cli("start", "quality_feedback", "--data", json.dumps({**FORM, "quantity_shipped": 0}), "--as", "s")
    assert result.exit_code == 2 and "quantity_shipped" in result.output
    assert cli("instances").output.strip() == ""


def test_a_broken_diagram_is_rejected_and_nothing_is_stored(cli, tmp_path):
    cli("init")
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>")
    result = cli("deploy", str(broken))
    assert result.exit_code == 2 and "not well-formed XML" in result.output


def test_users_added_from_the_shell_can_sign_in(cli, database):
    assert cli("init").exit_code == 0
    result = cli("user", "add", "qa.li", "--name", "李强", "--department", "quality:head",
                 "--password", "s3cret-pass")
    assert result.exit_code == 0, result.output
    listing = cli("user", "list").output
    assert "qa.li" in listing and "quality:head" in listing
    refused = cli("user", "add", "qa.li", "--name", "又一个", "--password", "Another-pass-7")
    assert refused.exit_code == 2 and "already exists" in refused.output
    refused = cli("user", "add", "x.y", "--name", "某人", "--department", "marketing",
                  "--password", "Another-pass-7")
    assert refused.exit_code == 2 and "unknown department 'marketing'" in refused.output

    from werkzeug.security import check_password_hash

    from engine.accounts.directory import Directory
    stored = Directory(database, None).get("qa.li")
    assert stored.heads("quality") and check_password_hash(stored.password_hash, "s3cret-pass")
