"""P5 handlers on their own: the next visit date over month ends, the settings a diagram must give, and the
customer service file's order and refusals; the paths through the diagrams are in tests/processes."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from engine.handler_api import HandlerContext
from engine.notifications.outbox import OutboxWriter
from handlers import field_service
from handlers.customer_files import customer_service_file, file_record
from handlers.maintenance_plans import add_months
from tests.conftest import BEIJING

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)


def context(session, data: dict[str, Any], topic: str = "", now: datetime = NOW, instance_id: int = 1,
            **properties: str) -> HandlerContext:
    return HandlerContext(topic=topic, element_id="Task_x", element_name="x", process_key="repair",
                          instance_id=instance_id, business_key=f"RP-2026-{instance_id:04d}", actor="svc.huang",
                          data=data, properties=properties, session=session, now=now,
                          outbox=OutboxWriter(session, now, instance_id, f"{instance_id}:t"),
                          _open_tasks=list, _audit=lambda kind, detail: None)


@pytest.fixture
def session(database):
    with database.sessions.begin() as session:
        yield session


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)), (date(2026, 12, 1), 1, date(2027, 1, 1)),
    (date(2026, 12, 15), 12, date(2027, 12, 15))])
def test_next_visit_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_the_file_lists_one_customers_records_oldest_first(session):
    for n, (customer, kind) in enumerate([("甲公司", "repair"), ("乙公司", "installation"), ("甲公司", "callback")]):
        file_record(context(session, {"customer": customer, "serial_no": "S-1"}, now=NOW + timedelta(hours=n),
                            instance_id=n + 1), kind, "《维修记录》", "摘要")
    session.flush()
    assert [(e.kind, e.instance_id) for e in customer_service_file(session, "甲公司")] == [("repair", 1), ("callback", 3)]


def test_a_record_needs_a_known_kind_and_a_customer(session):
    with pytest.raises(ValueError, match="unknown file kind"):
        file_record(context(session, {"customer": "甲公司"}), "invoice", "《发票》", "x")
    with pytest.raises(ValueError, match="no customer"):
        file_record(context(session, {}), "repair", "《维修记录》", "x")


@pytest.mark.parametrize(("topic", "message"), [
    ("maintenance_plans.plan_next_visit", "maintenance plan"),
    ("customer_files.record_staff_complaint", "callback")])
def test_a_step_without_its_record_is_a_plain_error(session, topic, message):
    with pytest.raises(LookupError, match=message):
        field_service.registry.get(topic)(context(session, {"customer": "甲公司"}, topic, lead_days="7"))
