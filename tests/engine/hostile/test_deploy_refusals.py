"""Valid BPMN the engine cannot run (issue 17, items 6 and 10-14) is refused at deploy with a stated rule
naming the element, never a Python error: nothing is stored, and the rule has its Chinese text."""
from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from engine.diagrams.catalog import DiagramError
from engine.errors import StatedRule, Term
from engine.modelling.deploy_rules import MAX_FLOW_ELEMENTS
from tests.engine.deploy_checks import deploying_engine, stored
from tests.engine.hostile.refusal_diagrams import DIAGRAM, chain, retyped, with_condition

CATALOG = Path(__file__).parents[3] / "webapp" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"
LANE = ('<bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_q" name="quality">'
        + "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ("Task_fix",)) + "</bpmn:lane></bpmn:laneSet>")

PROBES = {  # name: (diagram, element the refusal names, words of the rule)
    "business rule task without decisionRef": (retyped("Task_finish", "businessRuleTask"), "Task_finish",
                                               "business rule tasks"),
    "send task": (retyped("Task_finish", "sendTask"), "Task_finish", "send tasks are not supported"),
    "receive task": (retyped("Task_finish", "receiveTask"), "Task_finish", "receive tasks are not supported"),
    "plain task without department": (retyped("Task_fix", "task"), "Task_fix", "no inbox would show it"),
    "manual task without department": (retyped("Task_fix", "manualTask"), "Task_fix", "no inbox would show it"),
    "boundary timer on a missing task": (DIAGRAM.replace(b'attachedToRef="Task_review"', b'attachedToRef="Task_gone"'),
                                         "Timer_review_limit", "attached to 'Task_gone'"),
    "boundary event without definition": (DIAGRAM.replace(
        b'<bpmn:errorEventDefinition id="ErrorDef_1" errorRef="Error_finish" />', b""),
        "Boundary_finish_error", "needs a timer, error or escalation"),
    "error event naming a missing error": (DIAGRAM.replace(b'errorRef="Error_finish"', b'errorRef="Error_gone"'),
                                           "Boundary_finish_error", "'Error_gone'"),
    "gateway default naming a missing flow": (DIAGRAM.replace(
        b'<bpmn:serviceTask id="Task_prepare"', b'<bpmn:serviceTask id="Task_prepare" default="Flow_gone"'),
        "Task_prepare", "default flow 'Flow_gone'"),
    "data association to a missing object": (DIAGRAM.replace(
        b"<bpmn:outgoing>Flow_3</bpmn:outgoing>",
        b'<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:dataOutputAssociation id="Assoc_1"><bpmn:targetRef>Data_gone'
        b"</bpmn:targetRef></bpmn:dataOutputAssociation>"), "Task_review", "'Data_gone'"),
    "message end event": (DIAGRAM.replace(b'<bpmn:incoming>Flow_5</bpmn:incoming>',
                                          b'<bpmn:incoming>Flow_5</bpmn:incoming><bpmn:messageEventDefinition id="M" />'),
                          "End_escalated", "message events are not supported"),
    "JUEL condition": (with_condition("${amount > 100}"), "Flow_3", "write amount > 100 instead of ${amount > 100}"),
    "JUEL condition with &&": (with_condition("${amount > 1 && customer == 'x'}"), "Flow_3",
                               "amount > 1 and customer == 'x'"),
    "FEEL condition": (with_condition('= decision = "approve"'), "Flow_3", 'write decision == "approve"'),
    "condition reading a name nothing defines": (with_condition("missing_var > 1"), "Flow_3", "reads missing_var"),
    "chain of 5,000 tasks": (chain(5000), "long_chain", f"at most {MAX_FLOW_ELEMENTS} elements"),
}


@pytest.fixture
def engine(database, clock):
    return deploying_engine(database, clock)


def chinese(rule: StatedRule) -> str:
    """The rule as the Chinese pages show it (what webapp.modeler.rule_text does with Flask-Babel)."""
    with open(CATALOG, "rb") as handle:
        translations = gettext.GNUTranslations(handle)

    def text(value):
        if isinstance(value, StatedRule):
            return chinese(value)
        return translations.gettext(value) if isinstance(value, Term) else value
    translated = translations.gettext(rule.template)
    return translated % {k: text(v) for k, v in rule.params.items()} if rule.params else translated


@pytest.mark.parametrize("name", PROBES)
def test_what_cannot_run_is_refused_naming_the_element(engine, name):
    raw, element_id, words = PROBES[name]
    with pytest.raises(DiagramError) as refused:
        engine.deploy(raw, "owner")
    err = refused.value
    assert err.element_id == element_id
    assert words in err.problem
    for internal in ("0x", "Error(", "Traceback", "<Element", "KeyError", "TypeError"):
        assert internal not in err.problem
    zh = chinese(err)
    assert zh != err.problem and any("\u4e00" <= c <= "\u9fff" for c in zh), zh
    assert stored(engine) == (0, 0)


def test_a_plain_task_in_a_department_lane_deploys_with_that_department(engine):
    """A task with no form is somebody's work too: the lane it is drawn in names whose."""
    raw = retyped("Task_fix", "manualTask").replace(b'<bpmn:process id="simple_review" name="\xe7\xae\x80\xe5\x8d\x95'
                                                    b'\xe8\xaf\x84\xe5\xae\xa1" isExecutable="true">',
                                                    b'<bpmn:process id="simple_review" name="s" isExecutable="true">'
                                                    + LANE.encode())
    engine.deploy(raw, "owner")
    assert stored(engine)[0] == 1


def test_a_condition_on_a_form_field_or_a_handler_output_still_deploys(engine):
    """The names check is conservative: form fields, script results and handlers' texts count as defined."""
    engine.deploy(with_condition("amount > 1 and decision == 'approve'"), "owner")
    assert stored(engine)[0] == 1
