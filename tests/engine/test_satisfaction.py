"""Satisfaction questions are declared in the diagrams (`report_satisfaction` on a form field): how answers
score, which shipped diagrams declare them, and a bad declaration refused at deploy."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.diagrams.catalog import DiagramError
from engine.diagrams.satisfaction import SatisfactionFieldError, question_of, questions_in
from engine.notifications.outbox import FileTransport
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import ProcessVersion
from handlers import build_registry
from tests.conftest import PROCESSES

SCORED = {"id": "satisfaction", "type": "enum", "label": "满意度", "label_en": "Satisfaction",
          "options": [["very_satisfied", "非常满意"], ["satisfied", "满意"], ["dissatisfied", "不满意"]],
          "properties": {"report_satisfaction": "very_satisfied=5, satisfied=4, dissatisfied=1"}}


def test_answers_score_on_a_five_point_scale():
    enum = question_of("Task_callback", SCORED)
    assert (enum.score("very_satisfied"), enum.score("satisfied"), enum.score("dissatisfied")) == (5, 4, 1)
    assert enum.score("unknown") is None and enum.score(None) is None
    ten = question_of("Task_survey", {"id": "rating", "type": "long", "label": "评分",
                                       "properties": {"report_satisfaction": "10"}})
    assert (ten.score(8), ten.score("10"), ten.score(""), ten.score("x")) == (4, 5, None, None)
    assert question_of("Task", {"id": "note", "type": "string", "label": "备注"}) is None


@pytest.mark.parametrize(("field", "message"), [
    ({**SCORED, "properties": {"report_satisfaction": "excellent=5"}}, "names no option"),
    ({**SCORED, "properties": {"report_satisfaction": "satisfied=high"}}, "needs a number"),
    ({**SCORED, "properties": {"report_satisfaction": ""}}, "scores no option"),
    ({"id": "rating", "type": "long", "label": "评分", "properties": {"report_satisfaction": "0"}}, "above 0"),
    ({"id": "note", "type": "text", "label": "意见", "properties": {"report_satisfaction": "5"}}, "not a 'text'"),
])
def test_bad_declarations_are_explained(field, message):
    with pytest.raises(SatisfactionFieldError, match=message):
        question_of("Task_callback", field)


@pytest.fixture
def engine(database, clock, outbox_file) -> WorkflowEngine:
    return WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))


def test_the_callback_diagrams_declare_their_satisfaction_questions(engine):
    engine.deploy_directory(PROCESSES, "test")
    with engine.db.sessions() as session:
        catalogs = dict(session.execute(select(ProcessVersion.process_key, ProcessVersion.catalog)).all())
    declared = {key: sorted((q.element_id, q.field_id) for q in questions_in(catalog))
                for key, catalog in catalogs.items() if questions_in(catalog)}
    assert declared == {
        "electronics_service": [("Task_callback", "attitude"), ("Task_callback", "professionalism"),
                                ("Task_callback", "resolution"), ("Task_callback", "response_speed"),
                                ("Task_sign_off", "online_rating")],
        "feedback_improvement": [("Task_callback", "satisfaction")],
        "installation": [("Task_callback", "satisfaction")],
        "repair": [("Task_callback", "satisfaction")],
        "service_response": [("Task_feedback", "satisfaction"), ("Task_imp_feedback", "satisfaction")],
    }


def test_a_bad_declaration_is_refused_at_deploy_naming_the_task(engine):
    raw = (PROCESSES / "repair.bpmn").read_bytes().replace(b"very_satisfied=5", b"delighted=5")
    with pytest.raises(DiagramError) as refused:
        engine.deploy(raw, "owner.xu")
    assert refused.value.element_id == "Task_callback" and "delighted" in refused.value.problem
    with engine.db.sessions() as session:
        assert session.scalars(select(ProcessVersion)).all() == []
