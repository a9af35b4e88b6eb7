"""Conventions every diagram in processes/ keeps, so an auditor can tick it against the seed texts: each
step is drawn in the lane of the department that works it, and every timer says whether the procedure
states its limit or the company sets it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.accounts.departments import SPEC_DEPARTMENTS
from engine.modelling.deploy import check_diagram
from engine.working_time.calendar import BusinessCalendar
from handlers import build_registry
from tests.conftest import PROCESSES

DIAGRAMS = sorted(PROCESSES.glob("*.bpmn"))
DEPARTMENTS = {code: code for code, _zh, _en in SPEC_DEPARTMENTS} | {zh: code for code, zh, _en in SPEC_DEPARTMENTS}
SLA_SOURCES = ("procedure", "company")


def _elements(raw: bytes, filename: str) -> dict[str, dict[str, Any]]:
    checked = check_diagram(raw, build_registry(), DEPARTMENTS, BusinessCalendar(), filename)
    return checked.catalog["elements"]


def lane_mismatches(raw: bytes, filename: str) -> list[str]:
    """The user tasks of a diagram that are drawn in another department's lane than the one that works them."""
    wrong = []
    for element_id, element in _elements(raw, filename).items():
        if element["type"] != "userTask" or element.get("department_variable"):
            continue  # a department chosen at run time is drawn in the lane of its usual owner
        lane_department = DEPARTMENTS.get(element.get("lane") or "")
        if lane_department != element["department"]:
            wrong.append(f"{element_id} ({element['name']}): assigned to {element['department']}, "
                         f"drawn in lane {element.get('lane')}")
    return wrong


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_user_task_is_drawn_in_the_lane_of_the_department_that_works_it(path: Path) -> None:
    wrong = lane_mismatches(path.read_bytes(), path.name)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_timer_says_whether_the_procedure_or_the_company_sets_it(path: Path) -> None:
    missing = []
    for element_id, element in _elements(path.read_bytes(), path.name).items():
        if "timer" not in element:
            continue
        props = element.get("properties", {})
        if props.get("sla_source") not in SLA_SOURCES:
            missing.append(f"{element_id} ({element['name']}): sla_source={props.get('sla_source')!r}")
        elif props.get("sla_kind") in ("limit", "duty") and not props.get("sla_name"):
            missing.append(f"{element_id} ({element['name']}): a measured limit without sla_name")
    assert not missing, "\n".join(missing)


README = PROCESSES / "README.md"
_ELEMENT_ID = re.compile(r"\b(?:Task|Timer|StartEvent|Start|Sub|SubProcess|Gateway|EndEvent|End|Boundary|Script|Error)"
                         r"_[A-Za-z0-9_]*[A-Za-z0-9](?![A-Za-z0-9_]|…)")


def _auditor_tables() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("<!-- seed tables: begin -->"):text.index("<!-- seed tables: end -->")]


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_timer_is_in_the_auditors_table_of_its_procedure(path: Path) -> None:
    """processes/README.md puts each limit beside the seed clause it comes from; a timer missing there
    could not be ticked against the text."""
    tables = set(_ELEMENT_ID.findall(_auditor_tables()))
    timers = [element_id for element_id, element in _elements(path.read_bytes(), path.name).items()
              if "timer" in element]
    assert [t for t in timers if t not in tables] == []


def test_the_auditors_tables_name_only_elements_the_diagrams_have() -> None:
    known = set()
    for path in DIAGRAMS:
        known |= set(_elements(path.read_bytes(), path.name))
    named = set(_ELEMENT_ID.findall(_auditor_tables()))
    assert sorted(named - known) == []
