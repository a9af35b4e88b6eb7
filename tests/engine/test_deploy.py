"""Deploy: every bad file is rejected with the element named, and nothing is stored."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.diagrams.catalog import DiagramError
from engine.handler_api import HandlerRegistry
from engine.records import queries
from engine.storage.models import AuditEvent, ProcessVersion

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.fixture
def registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    return registry


@pytest.fixture
def engine(make_engine, registry):
    return make_engine(registry)


def versions(engine) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessVersion))


def rejected(engine, raw: bytes) -> DiagramError:
    with pytest.raises(DiagramError) as err:
        engine.deploy(raw, "owner")
    assert versions(engine) == 0
    with engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    return err.value


def test_broken_xml(engine):
    err = rejected(engine, DIAGRAM[:-40])
    assert "not well-formed XML" in str(err)


def test_xxe_payload_is_refused(engine, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    payload = DIAGRAM.replace(
        b'<bpmn:definitions', f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<bpmn:definitions'.encode(), 1
    ).replace('name="简单评审"'.encode(), b'name="&xxe;"')
    err = rejected(engine, payload)
    assert "DOCTYPE" in str(err) and "TOP-SECRET" not in str(err)


def test_billion_laughs_is_refused(engine):
    bomb = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    err = rejected(engine, DIAGRAM.replace(b"<bpmn:definitions", bomb + b"\n<bpmn:definitions", 1))
    assert "DOCTYPE" in str(err)


def test_unknown_topic_names_the_task(engine):
    err = rejected(engine, DIAGRAM.replace(b'camunda:topic="test.finish"', b'camunda:topic="erp.book"'))
    assert err.element_id == "Task_finish" and "erp.book" in str(err)


def test_service_task_without_topic(engine):
    err = rejected(engine, DIAGRAM.replace(b' camunda:type="external" camunda:topic="test.finish"', b""))
    assert err.element_id == "Task_finish" and "topic" in str(err)


@pytest.mark.parametrize("value", [b"P7", b"working_days(", b"three days", b"__import__('os')", b"PT2h",
                                   b"working_dayz(3)", b"f'PT{hours}H' if wrking(1) else 'PT1H'"])
def test_bad_timer_names_the_timer(engine, value):
    err = rejected(engine, DIAGRAM.replace(b"<bpmn:timeDuration>PT2H", b"<bpmn:timeDuration>" + value))
    assert err.element_id == "Timer_review_limit" and "timer" in str(err)


@pytest.mark.parametrize("value", [b'f"PT{agreed_response_hours}H"', b"visit_at",
                                   b"working_days(days_allowed)"])
def test_a_timer_may_read_case_variables_checked_when_a_case_reaches_it(engine, value):
    engine.deploy(DIAGRAM.replace(b"<bpmn:timeDuration>PT2H", b"<bpmn:timeDuration>" + value), "owner")
    assert versions(engine) == 1


def test_unknown_form_field_type(engine):
    err = rejected(engine, DIAGRAM.replace(b'id="comment" label="\xe6\x84\x8f\xe8\xa7\x81" type="text"',
                                           b'id="comment" label="x" type="colour"'))
    assert err.element_id == "Task_review" and "colour" in str(err)


def test_unknown_department(engine):
    err = rejected(engine, DIAGRAM.replace(b'camunda:candidateGroups="quality"', b'camunda:candidateGroups="marketing"', 1))
    assert err.element_id == "Task_review" and "marketing" in str(err)


def test_diagram_without_layout(engine):
    start = DIAGRAM.index(b"<bpmndi:BPMNDiagram")
    end = DIAGRAM.index(b"</bpmndi:BPMNDiagram>") + len(b"</bpmndi:BPMNDiagram>")
    err = rejected(engine, DIAGRAM[:start] + DIAGRAM[end:])
    assert "layout" in str(err)


def test_string_with_encoding_declaration_and_lying_encoding(engine):
    with pytest.raises(DiagramError, match="bytes"):
        engine.deploy(DIAGRAM.decode(), "owner")
    err = rejected(engine, DIAGRAM.replace("简单评审".encode(), "简单评审".encode("gbk")))
    assert "encoding" in str(err) or "XML" in str(err)


def test_gateway_branch_without_condition(engine):
    # Schema-valid but not runnable: a second unconditioned flow out of a task.
    raw = DIAGRAM.replace(b'<bpmn:sequenceFlow id="Flow_6"',
                          b'<bpmn:sequenceFlow id="Flow_x" sourceRef="Task_review" targetRef="Task_fix" />'
                          b'<bpmn:sequenceFlow id="Flow_6"')
    err = rejected(engine, raw)
    assert err.element_id == "Task_review"


def test_redeploy_unchanged_is_a_noop_and_changed_is_next_version(engine):
    first = engine.deploy(DIAGRAM, "owner")
    again = engine.deploy(DIAGRAM, "owner")
    assert (first.version, first.created, again.version, again.created) == (1, True, 1, False)
    second = engine.deploy(DIAGRAM.replace(b"PT2H", b"PT4H"), "owner")
    assert (second.version, second.created) == (2, True)
    assert len(queries.audit_trail(engine.db, kind="deployed")) == 2


def test_running_instances_keep_their_version(engine, clock, staff):
    from datetime import timedelta
    engine.deploy(DIAGRAM, "owner")
    old = engine.start_instance("simple_review", {"customer": "甲"}, "sales")
    engine.deploy(DIAGRAM.replace(b"PT2H", b"PT4H"), "owner")
    new = engine.start_instance("simple_review", {"customer": "乙"}, "sales")
    assert queries.get_instance(engine.db, old).version == 1
    assert queries.get_instance(engine.db, new).version == 2
    [old_task] = queries.list_tasks(engine.db, instance_id=old)
    [new_task] = queries.list_tasks(engine.db, instance_id=new)
    assert old_task.due_at == clock.now() + timedelta(hours=2)
    assert new_task.due_at == clock.now() + timedelta(hours=4)
    engine.complete_task(old_task.id, "qa.wang", {"decision": "approve"})
    assert queries.get_instance(engine.db, old).status == "completed"


@pytest.mark.parametrize("share", [b"0.0", b"1.5", b"80%"])
def test_warning_share_of_a_limit_must_be_a_fraction(engine, share):
    raw = DIAGRAM.replace(b'<camunda:property name="sla_kind" value="limit" />',
                          b'<camunda:property name="sla_kind" value="limit" /><camunda:property name="sla_warn_share" '
                          b'value="' + share + b'" />')
    err = rejected(engine, raw)
    assert err.element_id == "Timer_review_limit" and "sla_warn_share" in err.problem


def test_unknown_starter_department_is_refused(engine):
    raw = DIAGRAM.replace(b'<bpmn:process id="simple_review"',
                          b'<bpmn:process camunda:candidateStarterGroups="marketing" id="simple_review"')
    err = rejected(engine, raw)
    assert err.element_id == "simple_review" and "marketing" in err.problem
