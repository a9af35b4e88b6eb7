"""Input no database can store, and JSON no parser should recurse into, is refused at the door with a
clear message in the user's language and nothing stored (issue 18, items 5 and 6). On PostgreSQL each of
these requests answered 500 before: NUL in text is refused by the server, a lone surrogate by the driver."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.diagrams.forms import FormDefinition, FormField, InvalidForm, validate_submission
from engine.records import queries
from engine.storage.models import LoginEvent
from tests.webapp.conftest import CSRF, FEEDBACK_FORM
from webapp.request_edge import MAX_JSON_DEPTH, json_nesting_exceeds

REFUSED_ZH = "提交的内容含有无法保存的字符"
REFUSED_EN = "contains a character that cannot be stored"
START = "/api/v1/processes/quality_feedback/instances"


def sign_in_rows(engine) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(LoginEvent))


def test_an_anonymous_sign_in_with_nul_in_the_user_name_is_refused_and_not_logged(app, engine):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True))[1]
    before = sign_in_rows(engine)
    response = client.post("/login", data={"username": "admin\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert REFUSED_ZH in response.get_data(as_text=True)
    assert sign_in_rows(engine) == before


@pytest.mark.parametrize("url", ["/inbox?q=%00", "/inbox?view=department&q=abc%00def", "/audit/instances?q=%00",
                                 "/audit/instances?status=%00running"])
def test_a_nul_in_a_search_is_refused_with_a_page_in_chinese(as_user, url):
    response = as_user("admin").client.get(url)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert REFUSED_ZH in page and "Traceback" not in page


def test_the_refusal_reads_in_english_when_english_is_chosen(as_user):
    auditor = as_user("audit.ma")
    auditor.post("/language", {"language": "en", "next": "/inbox"})
    response = auditor.client.get("/audit/instances?q=%00")
    assert response.status_code == 400 and REFUSED_EN in response.get_data(as_text=True)


def test_a_nul_in_a_web_start_form_files_nothing(engine, as_user):
    sales = as_user("sales.li")
    sales.page("/new/quality_feedback")
    response = sales.post("/new/quality_feedback", dict(FEEDBACK_FORM, problem_description="阀芯\x00卡滞"))
    assert response.status_code == 400 and REFUSED_ZH in response.get_data(as_text=True)
    assert queries.list_instances(engine.db) == []


@pytest.mark.parametrize("raw", ['"\\ud800"', '"a\\u0000b"', '"\\udfff\\ud800"'])
def test_unstorable_text_in_an_api_body_is_422_naming_the_member_and_files_nothing(api, engine, raw):
    body = '{"data": {"customer": ' + raw + ', "product_name": "阀"}, "business_key": null}'
    response = api("sales.li").post(START, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json["errors"] == {"data": ["must not contain NUL characters or unpaired surrogates"]}
    assert REFUSED_ZH in response.json["message"]
    assert queries.list_instances(engine.db) == []


def test_a_nul_in_an_api_query_or_path_is_422(api):
    sales = api("sales.li")
    assert sales.get("/api/v1/tasks?q=%00").status_code == 422
    refused = sales.get("/api/v1/processes/quality%00feedback")
    assert refused.status_code == 422 and refused.json["errors"] == {
        "process_key": ["must not contain NUL characters or unpaired surrogates"]}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_400_with_a_clear_message(api, engine, filed_case, depth):
    body = '{"data": {"customer": ' + "[" * depth + "]" * depth + "}}"
    sales = api("sales.li")
    response = sales.post(START, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["message"] == f"JSON 内容嵌套超过 {MAX_JSON_DEPTH} 层，无法处理；没有保存任何内容。"
    [task] = [t for t in queries.list_tasks(engine.db, instance_id=filed_case) if t.department == "quality"]
    quality = api("qa.wang")
    response = quality.post(f"/api/v1/tasks/{task.id}/complete", data="[" * depth,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert len(queries.list_instances(engine.db)) == 1


def test_the_depth_check_reads_strings_as_text_not_structure():
    nested = json.dumps({"a": [[["x"]]], "text": "[[[[[[[[[[[[" * 20 + '\\"{{{{'})
    assert not json_nesting_exceeds(nested.encode(), 4)  # the object and three arrays
    assert json_nesting_exceeds(nested.encode(), 3)
    deep = ("[" * 70 + "]" * 70).encode("utf-16")
    assert json_nesting_exceeds(deep, MAX_JSON_DEPTH) and not json_nesting_exceeds(deep, 70)


def test_a_fraction_in_a_whole_number_field_is_a_field_error_on_the_web_and_the_api(engine, as_user, api):
    sales = as_user("sales.li")
    sales.page("/new/quality_feedback")
    response = sales.post("/new/quality_feedback", dict(FEEDBACK_FORM, quantity_shipped="1.5"))
    assert response.status_code == 422 and "请输入整数" in response.get_data(as_text=True)
    for value in (1.5, 5.5, float("inf")):
        data = dict(FEEDBACK_FORM, quantity_shipped=value, quantity_nonconforming=1)
        refused = api("sales.li").post(START, json={"data": data})
        assert refused.status_code == 422, value
        assert refused.json["errors"] == {"quantity_shipped": ["Not a valid integer."]}
    assert queries.list_instances(engine.db) == []
    data = dict(FEEDBACK_FORM, quantity_shipped=500.0, quantity_nonconforming=1)
    assert api("sales.li").post(START, json={"data": data}).status_code == 201  # a whole number written 500.0


@pytest.mark.parametrize("blank", ["   ", "\t\n", "\u3000"])
def test_a_required_text_of_spaces_only_is_refused_through_the_api(api, engine, blank):
    refused = api("sales.li").post(START, json={"data": dict(FEEDBACK_FORM, customer=blank)})
    assert refused.status_code == 422
    assert refused.json["errors"] == {"customer": ["must not be empty"]}
    assert queries.list_instances(engine.db) == []


def test_form_validation_itself_refuses_unstorable_text_as_a_field_error():
    """Callers other than the web app (the command line, handlers' tests) get the same rule from the engine."""
    form = FormDefinition([FormField(id="note", label="备注", type="text"), FormField(id="n", label="数", type="long")])
    with pytest.raises(InvalidForm) as refused:
        validate_submission(form, {"note": "a\x00b", "n": 2})
    assert refused.value.errors == {"note": ["must not contain NUL characters or unpaired surrogates"]}


def test_a_string_never_closed_is_read_in_one_pass_not_quadratic_time(api):
    """65 brackets, then a string that never closes, full of escaped quotes: the backtracking pattern took
    5.7 s for 40 KB and hours for the 5 MB a request may carry, in the web process, before any sign-in."""
    body = "[" * 65 + '"' + '\\"' * 200_000
    assert json_nesting_exceeds(body.encode(), 64) and not json_nesting_exceeds(body.encode(), 65)
    response = api(None).post("/api/v1/tasks/1/complete", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
