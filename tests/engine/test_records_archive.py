"""Backups and retention (P4 step 7): a period's records exported to a ZIP, and the purge of cases finished
longer ago than the retention period, archived first, all or nothing."""
from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, String, Table, func, select, text

from engine.accounts import api_tokens
from engine.records import archive, archive_plan, archive_restore, queries, retention
from engine.storage.base import Base
from engine.storage.models import AuditEvent, Incident, ProcessInstance
from tests.conftest import BEIJING, PROCESSES

SECRET_HASH = "scrypt:32768:8:1$SeCrEtSaLt$0123456789abcdef-must-never-leave-the-database"
YEARS = 10


@pytest.fixture
def consultations(make_engine, staff):
    engine = make_engine()
    path = PROCESSES / "technical_consultation.bpmn"
    engine.deploy(path.read_bytes(), "process.owner", filename=path.name)
    staff.set_password_hash("ts.qian", SECRET_HASH, "admin")
    return engine


def consult(engine, customer: str = "华东机电有限公司") -> int:
    form = {"customer": customer, "contact": "王经理 138-0000-1234", "contact_email": "wang@huadong.example.com",
            "device_model": "JZ-200", "serial_no": "JZ200-2026-0815", "channel": "phone",
            "question": "更换刀具后主轴报警 E21 如何复位？"}
    return engine.start_instance("technical_consultation", form, "svc.huang")


def answer(engine, case: int) -> None:
    [task] = queries.list_tasks(engine.db, instance_id=case)
    engine.complete_task(task.id, "ts.qian", {"answer": "断电30秒后按复位键", "topic": "operation",
                                              "prominent": False, "prominent_reason": None})


def rows_of(db, case_ids: list[int]) -> dict[str, int]:
    """Rows per table that belong to these cases (tables with none left out)."""
    cases = Base.metadata.tables["process_instances"]
    selection = archive_plan.Selection(select(cases.c.id).where(cases.c.id.in_(case_ids)))
    counts = {}
    with db.engine.connect() as connection:
        for part in archive_plan.table_plan().case_parts:
            count = connection.scalar(select(func.count()).select_from(part.table)
                                      .where(archive_plan.belongs(part, selection)))
            if count:
                counts[part.name] = count
    return counts


def table_totals(db) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def jsonl(zf: zipfile.ZipFile, table: str) -> list[dict]:
    return [json.loads(line) for line in zf.read(f"{table}.jsonl").decode().splitlines()]


def test_every_table_is_exported_or_declared():
    plan = archive_plan.table_plan()
    classified = {p.name for p in plan.parts} | set(plan.not_exported)
    assert classified == set(Base.metadata.tables)
    kinds = {p.name: p.kind for p in plan.parts}
    assert kinds["human_tasks"] == kinds["technical_consultations"] == kinds["improvement_plan_reviews"] == "case"
    assert kinds["users"] == "reference" and kinds["knowledge_entries"] == "dated"
    assert "password_hash" not in {c.name for c in plan.part("users").columns}


def test_a_new_table_that_fits_no_rule_fails_until_declared():
    loyalty = Table("loyalty_points", Base.metadata, Column("id", Integer, primary_key=True),
                    Column("customer", String(80)))
    try:
        with pytest.raises(archive_plan.UnclassifiedTables, match="loyalty_points"):
            archive_plan.table_plan()
    finally:
        Base.metadata.remove(loyalty)
    archive_plan.table_plan()  # the metadata is whole again


def test_a_new_case_table_with_a_secret_column_fails_until_declared():
    webhooks = Table("customer_webhooks", Base.metadata, Column("id", Integer, primary_key=True),
                     Column("instance_id", Integer, nullable=False), Column("signing_secret", String(80)))
    try:
        with pytest.raises(archive_plan.UnclassifiedTables, match="customer_webhooks.signing_secret"):
            archive_plan.table_plan()
    finally:
        Base.metadata.remove(webhooks)


def test_export_holds_the_period_cases_with_all_their_rows_and_no_secrets(consultations, clock, database, tmp_path):
    engine = consultations
    token = api_tokens.issue(database, clock, "ts.qian", "CRM", "admin")
    answered = consult(engine)  # Monday 2026-11-16 09:00 Beijing
    clock.advance(timedelta(minutes=10))
    answer(engine, answered)
    clock.set(datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING))
    last_minute = consult(engine, "西北重工")  # still running, on the last day
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=BEIJING))
    next_year = consult(engine, "南方电子")
    answer(engine, next_year)

    out = tmp_path / "records-2026.zip"
    summary = archive.export_period(database, clock.now(), date(2026, 1, 1), date(2026, 12, 31), out, "auditor.li")

    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["kind"] == "export" and manifest["by"] == "auditor.li"
        assert manifest["period"] == {"from": "2026-01-01", "to": "2026-12-31", "timezone": "Asia/Shanghai"}
        assert manifest["exported_at"] == "2026-12-31T16:00:00+00:00"
        assert manifest["app_version"] and "schema_version" in manifest
        for name, sha in manifest["members"].items():  # every member as its SHA-256 says
            assert hashlib.sha256(zf.read(name)).hexdigest() == sha
        for name, entry in manifest["tables"].items():
            assert len(jsonl(zf, name)) == entry["rows"], name
        assert set(zf.namelist()) == {"manifest.json", *manifest["members"]}

        assert {c["id"] for c in jsonl(zf, "process_instances")} == {answered, last_minute}
        index = jsonl(zf, "case_index")  # filed by time, customer and problem type
        assert [(c["id"], c["business_key"], c["status"], c["customer"]) for c in index] == [
            (answered, "ZX-2026-0001", "completed", "华东机电有限公司"), (last_minute, "ZX-2026-0002", "running", "西北重工")]
        assert index[0]["started_at"] == "2026-11-16T01:00:00+00:00"
        in_db = rows_of(database, [answered, last_minute])
        for table in ("human_tasks", "audit_events", "sla_records", "element_passes", "case_snapshots",
                      "technical_consultations", "customer_service_file_entries"):
            rows = jsonl(zf, table)
            assert in_db[table] > 0, table
            assert len([r for r in rows if r["instance_id"] is not None]) == in_db[table], table
            assert next_year not in {r["instance_id"] for r in rows}, table
        [record] = [r for r in jsonl(zf, "technical_consultations") if r["instance_id"] == answered]
        assert record["consultation_no"] == "ZX-2026-0001" and record["answered_by"] == "ts.qian"
        assert record["answered_at"] == "2026-11-16T01:10:00+00:00"  # ISO 8601 UTC
        assert "断电30秒后按复位键" in zf.read("technical_consultations.jsonl").decode()  # not \u-escaped
        [limit] = [r for r in jsonl(zf, "sla_records") if r["instance_id"] == answered]
        assert limit["status"] == "met" and limit["element_id"] == "Timer_answer"
        # Records not tied to a case come with the period: the users created, the token issued.
        unattached = [e["kind"] for e in jsonl(zf, "audit_events") if e["instance_id"] is None]
        assert "user_created" in unattached
        # The version the cases ran on, with its diagram; reference data without secrets.
        [version] = jsonl(zf, "process_versions")
        bpmn = (PROCESSES / "technical_consultation.bpmn").read_bytes()
        assert zf.read(f"bpmn/technical_consultation-v{version['version']}.bpmn") == bpmn
        users = {u["username"]: u for u in jsonl(zf, "users")}
        assert "ts.qian" in users and all("password_hash" not in u for u in users.values())
        assert {"departments.jsonl", "memberships.jsonl", "calendar_settings.jsonl"} <= set(zf.namelist())
        assert "api_tokens.jsonl" not in zf.namelist()
        everything = b"".join(zf.read(name) for name in zf.namelist())
    for secret in (SECRET_HASH, token.token, hashlib.sha256(token.token.encode()).hexdigest()):
        assert secret.encode() not in everything
    assert summary.rows["process_instances"] == 2 and summary.sha256 == archive.file_sha256(out)
    assert archive_restore.read_manifest(out)["tables"]["human_tasks"]["rows"] == summary.rows["human_tasks"]


def test_export_refuses_an_existing_file_and_a_reversed_period(consultations, clock, database, tmp_path):
    out = tmp_path / "records.zip"
    out.write_bytes(b"an earlier export")
    with pytest.raises(archive_plan.ArchiveError, match="exists already"):
        archive.export_period(database, clock.now(), date(2026, 1, 1), date(2026, 12, 31), out, "cli")
    assert out.read_bytes() == b"an earlier export"
    with pytest.raises(archive_plan.ArchiveError, match="before"):
        archive.export_period(database, clock.now(), date(2026, 12, 31), date(2026, 1, 1), tmp_path / "x.zip", "cli")
    assert not (tmp_path / "x.zip").exists()


@pytest.fixture
def old_and_new_cases(consultations, clock):
    """Finished in 2026 (to be purged), still running since 2026, finished in 2027 (newer)."""
    engine = consultations
    old = consult(engine)
    answer(engine, old)
    running = consult(engine, "西北重工")
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=BEIJING))
    newer = consult(engine, "南方电子")
    answer(engine, newer)
    return old, running, newer


def test_purge_is_refused_within_the_retention_period(consultations, old_and_new_cases, clock, database, tmp_path):
    before = table_totals(database)
    clock.set(datetime(2036, 11, 15, 12, 0, tzinfo=BEIJING))  # not yet 10 years after 2026-11-16
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.purge(database, clock, YEARS, date(2026, 11, 17), tmp_path / "purged.zip", "admin")
    assert "AFTERSALES_RETENTION_YEARS=10" in str(refused.value) and "2026-11-15" in str(refused.value)
    assert table_totals(database) == before and not (tmp_path / "purged.zip").exists()

    clock.set(datetime(2036, 11, 17, 0, 0, tzinfo=BEIJING))  # ten years on: allowed
    result = retention.purge(database, clock, YEARS, date(2026, 11, 17), tmp_path / "purged.zip", "admin",
                             dry_run=True)
    assert result.dry_run and result.cases == 1 and table_totals(database) == before
    assert not (tmp_path / "purged.zip").exists()


def test_purge_deletes_exactly_the_old_finished_case_and_archives_it(consultations, old_and_new_cases, clock,
                                                                    database, tmp_path):
    old, running, newer = old_and_new_cases
    old_rows = rows_of(database, [old])
    kept_rows = rows_of(database, [running, newer])
    before = table_totals(database)
    assert old_rows["audit_events"] and old_rows["human_tasks"] and old_rows["technical_consultations"]

    clock.set(datetime(2040, 1, 1, 9, 0, tzinfo=BEIJING))
    path = tmp_path / "purged-2026.zip"
    result = retention.purge(database, clock, YEARS, date(2027, 1, 1), path, "admin")

    assert result.rows == old_rows and not result.dry_run
    after = table_totals(database)
    expected = {t: n - old_rows.get(t, 0) for t, n in before.items()}
    expected["audit_events"] += 1  # the purge's own event
    assert after == expected
    assert rows_of(database, [old]) == {}
    assert rows_of(database, [running, newer]) == kept_rows
    with database.sessions() as session:
        assert session.get(ProcessInstance, running).status == "running"
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "records_purged")).all()
    assert event.actor == "admin" and event.instance_id is None
    assert event.detail["cut_off"] == "2027-01-01" and event.detail["rows"] == old_rows
    assert event.detail["archive_sha256"] == archive.file_sha256(path) == result.archive_sha256

    manifest = archive_restore.read_manifest(path)
    assert manifest["kind"] == "purge" and manifest["cut_off"] == "2027-01-01"
    assert {name: e["rows"] for name, e in manifest["tables"].items() if e["kind"] == "case" and e["rows"]} == old_rows
    [case] = archive_restore.read_rows(path, "process_instances")
    assert case["id"] == old and case["status"] == "completed"

    # The archive re-imports: the case and every row of it come back.
    assert {t: n for t, n in archive_restore.restore_cases(database, path).items() if n} == old_rows
    assert rows_of(database, [old]) == old_rows
    assert queries.get_instance(database, old).status == "completed"
    with pytest.raises(archive_plan.ArchiveError, match="in the database already"):
        archive_restore.restore_cases(database, path)


def test_purge_changes_nothing_when_the_archive_cannot_be_written(consultations, old_and_new_cases, clock,
                                                                 database, tmp_path):
    before = table_totals(database)
    clock.set(datetime(2040, 1, 1, tzinfo=BEIJING))
    with pytest.raises(OSError):
        retention.purge(database, clock, YEARS, date(2027, 1, 1), tmp_path / "no-such-dir" / "p.zip", "admin")
    assert table_totals(database) == before


def test_purge_changes_nothing_when_deleting_fails_half_way(consultations, old_and_new_cases, clock, database,
                                                            tmp_path, monkeypatch):
    before = table_totals(database)
    real_delete = retention._delete

    def delete_then_fail(connection, plan, selection):
        real_delete(connection, plan, selection)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(retention, "_delete", delete_then_fail)
    clock.set(datetime(2040, 1, 1, tzinfo=BEIJING))
    path = tmp_path / "purged.zip"
    with pytest.raises(RuntimeError):
        retention.purge(database, clock, YEARS, date(2027, 1, 1), path, "admin")
    assert table_totals(database) == before
    assert not path.exists() and not (tmp_path / "purged.zip.partial").exists()


def test_purge_refuses_to_overwrite_an_archive(consultations, old_and_new_cases, clock, database, tmp_path):
    path = tmp_path / "purged.zip"
    path.write_bytes(b"last year's archive")
    before = table_totals(database)
    clock.set(datetime(2040, 1, 1, tzinfo=BEIJING))
    with pytest.raises(retention.RetentionRefused, match="exists already"):
        retention.purge(database, clock, YEARS, date(2027, 1, 1), path, "admin")
    assert path.read_bytes() == b"last year's archive" and table_totals(database) == before


def test_latest_cut_off_is_today_retention_years_ago():
    assert retention.latest_allowed_cut_off(datetime(2036, 11, 16, 15, 59, tzinfo=BEIJING), 10) == date(2026, 11, 16)
    # Beijing's date, not UTC's: 2036-11-16 23:30 UTC is the 17th in Beijing.
    assert retention.latest_allowed_cut_off(datetime(2036, 11, 16, 23, 30, tzinfo=UTC), 10) == date(2026, 11, 17)
    assert retention.latest_allowed_cut_off(datetime(2036, 2, 29, 12, tzinfo=BEIJING), 10) == date(2026, 2, 28)


def test_a_purged_archive_restores_into_an_empty_database_that_then_goes_on(consultations, old_and_new_cases, clock,
                                                                            database, tmp_path):
    """After a disaster the archive is all there is: its cases come back, and new cases get new numbers."""
    old, _running, _newer = old_and_new_cases
    old_rows = rows_of(database, [old])
    clock.set(datetime(2040, 1, 1, 9, 0, tzinfo=BEIJING))
    path = tmp_path / "purged.zip"
    retention.purge(database, clock, YEARS, date(2027, 1, 1), path, "admin")
    with database.engine.begin() as connection:  # everything else lost, the schema and departments left
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("departments", "users", "memberships", "calendar_settings"):
                connection.execute(table.delete())
                if database.is_postgresql and "id" in table.c:  # a new database: numbering from 1
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"))
    archive_restore.restore_cases(database, path)
    assert rows_of(database, [old]) == old_rows
    later = consult(consultations)
    assert later > old and rows_of(database, [later])["human_tasks"] == 1


def feedback_with_a_reviewed_plan(database, clock, case: int, number: str) -> None:
    """A business record of the case with rows that reach it only through foreign keys (plan → feedback)."""
    from handlers.customer_feedback import CustomerFeedback, ImprovementPlan, PlanReview

    with database.sessions.begin() as session:
        feedback = CustomerFeedback(feedback_no=number, instance_id=case, channel="phone", customer="华东机电",
                                    received_at=clock.now())
        session.add(feedback)
        session.flush()
        plan = ImprovementPlan(feedback_id=feedback.id, version=1, short_term_fix="更换密封圈", long_term_change="改进设计",
                               schedule="Q1", owners="rd.zhao", implementation="fix", drafted_by="rd.zhao",
                               drafted_at=clock.now())
        session.add(plan)
        session.flush()
        session.add(PlanReview(plan_id=plan.id, department="quality", role="head", decision="approve",
                               reviewer="qa.wang", reviewed_at=clock.now()))


def test_rows_reached_through_foreign_keys_go_with_their_case(consultations, old_and_new_cases, clock, database,
                                                              tmp_path):
    old, _running, newer = old_and_new_cases
    feedback_with_a_reviewed_plan(database, clock, old, "FK-OLD")
    feedback_with_a_reviewed_plan(database, clock, newer, "FK-NEW")
    clock.set(datetime(2040, 1, 1, tzinfo=BEIJING))
    path = tmp_path / "purged.zip"
    result = retention.purge(database, clock, YEARS, date(2027, 1, 1), path, "admin")
    assert {t: result.rows[t] for t in ("customer_feedback", "improvement_plans", "improvement_plan_reviews")} == \
        {"customer_feedback": 1, "improvement_plans": 1, "improvement_plan_reviews": 1}
    [feedback] = archive_restore.read_rows(path, "customer_feedback")
    [plan] = archive_restore.read_rows(path, "improvement_plans")
    [review] = archive_restore.read_rows(path, "improvement_plan_reviews")
    assert feedback["feedback_no"] == "FK-OLD" and plan["feedback_id"] == feedback["id"]
    assert review["plan_id"] == plan["id"]
    left = rows_of(database, [newer])
    assert (left["customer_feedback"], left["improvement_plans"], left["improvement_plan_reviews"]) == (1, 1, 1)


def test_a_failed_scheduled_start_of_the_period_is_exported_though_it_has_no_case(consultations, clock,
                                                                                  database, tmp_path):
    """A scheduled start that failed before its case existed is an incident without a case (issue 18):
    the auditors' file of the year holds it, dated by when it was opened; next year's is left out."""
    def failed_start(opened: datetime) -> None:
        with database.sessions.begin() as session:
            session.add(Incident(instance_id=None, process_key="consultation_summary", task_uuid="",
                                 element_id="Start_monthly", topic="engine.scheduled_start",
                                 error="组织名单为空", attempts=3, status="open", opened_at=opened,
                                 last_attempt_at=opened))

    failed_start(datetime(2026, 12, 31, 23, 30, tzinfo=BEIJING))
    failed_start(datetime(2027, 1, 1, 0, 30, tzinfo=BEIJING))
    out = tmp_path / "records-2026.zip"
    archive.export_period(database, clock.now(), date(2026, 1, 1), date(2026, 12, 31), out, "auditor.li")
    with zipfile.ZipFile(out) as zf:
        [incident] = jsonl(zf, "incidents")
    assert incident["instance_id"] is None and incident["process_key"] == "consultation_summary"
    assert incident["opened_at"] == "2026-12-31T15:30:00+00:00" and incident["error"] == "组织名单为空"
