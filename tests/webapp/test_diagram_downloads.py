"""Every route that hands out a diagram file answers it as a download a browser never renders (issue 18):
an XHTML `meta refresh` in a diagram's documentation once sent an auditor's browser to another site."""
from __future__ import annotations

import pytest

from tests.conftest import PROCESSES
from tests.webapp.conftest import FEEDBACK_FORM
from webapp.diagram_files import attachment

REFRESH = ('<bpmn:documentation><html:meta xmlns:html="http://www.w3.org/1999/xhtml" http-equiv="refresh" '
           'content="0;url=https://attacker.example/"/>Sales files the form.</bpmn:documentation>')


def with_refresh_in_documentation() -> bytes:
    """quality_feedback.bpmn whose start event documents itself with a redirecting XHTML element."""
    xml = (PROCESSES / "quality_feedback.bpmn").read_text(encoding="utf-8")
    start = '<bpmn:startEvent id="StartEvent_feedback" name="销售部填写《信息反馈处理单》">'
    head, tail = xml.split(start, 1)
    tail = tail.split("</bpmn:documentation>", 1)[1]  # the event's own documentation, replaced
    return (head + start + REFRESH + tail).encode("utf-8")


@pytest.fixture
def redirecting_case(engine) -> int:
    result = engine.deploy(with_refresh_in_documentation(), "owner.xu", "quality_feedback.bpmn")
    assert result.created and result.version == 2
    return engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")


def assert_download_only(response, filename: str) -> None:
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].split(";")[0] == "sandbox"


def test_the_auditors_case_diagram_is_a_sandboxed_download_with_the_file_unchanged(as_user, redirecting_case):
    response = as_user("audit.ma").client.get(f"/audit/instances/{redirecting_case}/diagram.bpmn")
    assert_download_only(response, f"case-{redirecting_case}.bpmn")
    assert response.data == with_refresh_in_documentation()  # the viewer still gets the file as deployed


def test_the_modellers_downloads_and_starter_diagram_are_sandboxed_downloads(as_user, redirecting_case):
    owner = as_user("owner.xu")
    assert_download_only(owner.client.get("/modeler/quality_feedback/versions/2.bpmn"), "quality_feedback_v2.bpmn")
    starter = owner.client.get("/modeler/new.bpmn?key=spare_parts&name=备件申请")
    assert_download_only(starter, "spare_parts.bpmn")
    assert "备件申请" in starter.get_data(as_text=True)


def test_the_apis_version_file_is_a_sandboxed_download(api, redirecting_case):
    response = api("audit.ma").get("/api/v1/processes/quality_feedback/versions/2/bpmn")
    assert_download_only(response, "quality_feedback_v2.bpmn")
    assert response.data == with_refresh_in_documentation()


def test_a_file_name_beyond_ascii_is_sent_as_rfc_6266_with_an_ascii_fallback():
    assert attachment("质量反馈.bpmn") == ("attachment; filename=\"____.bpmn\"; "
                                          "filename*=UTF-8''%E8%B4%A8%E9%87%8F%E5%8F%8D%E9%A6%88.bpmn")
    assert attachment('a"b.bpmn') == "attachment; filename=\"a_b.bpmn\"; filename*=UTF-8''a%22b.bpmn"
