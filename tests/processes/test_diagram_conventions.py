"""Conventions every diagram in processes/ keeps, so an auditor can tick it against the seed texts: each
step is drawn in the lane of the department that works it, and every timer says whether the procedure
states its limit or the company sets it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.calendar import BusinessCalendar
from engine.departments import SPEC_DEPARTMENTS
from engine.deploy import check_diagram
from handlers import build_registry
from tests.conftest import PROCESSES

DIAGRAMS = sorted(PROCESSES.glob("*.bpmn"))
DEPARTMENTS = {code: code for code, _zh, _en in SPEC_DEPARTMENTS} | {zh: code for code, zh, _en in SPEC_DEPARTMENTS}
SLA_SOURCES = ("procedure", "company")


def _elements(path: Path) -> dict[str, dict[str, Any]]:
    checked = check_diagram(path.read_bytes(), build_registry(), DEPARTMENTS, BusinessCalendar(), path.name)
    return checked.catalog["elements"]


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_user_task_is_drawn_in_the_lane_of_the_department_that_works_it(path: Path) -> None:
    wrong = []
    for element_id, element in _elements(path).items():
        if element["type"] != "userTask" or element.get("department_variable"):
            continue  # a department chosen at run time is drawn in the lane of its usual owner
        lane_department = DEPARTMENTS.get(element.get("lane") or "")
        if lane_department != element["department"]:
            wrong.append(f"{element_id} ({element['name']}): assigned to {element['department']}, "
                         f"drawn in lane {element.get('lane')}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_timer_says_whether_the_procedure_or_the_company_sets_it(path: Path) -> None:
    missing = []
    for element_id, element in _elements(path).items():
        if "timer" not in element:
            continue
        props = element.get("properties", {})
        if props.get("sla_source") not in SLA_SOURCES:
            missing.append(f"{element_id} ({element['name']}): sla_source={props.get('sla_source')!r}")
        elif props.get("sla_kind") in ("limit", "duty") and not props.get("sla_name"):
            missing.append(f"{element_id} ({element['name']}): a measured limit without sla_name")
    assert not missing, "\n".join(missing)
