"""Sign-in attempts and the lockout, read from the sign-in log: what holds whichever web process asks."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.accounts import sign_in
from engine.accounts.directory import Directory
from engine.accounts.sign_in import Client, LoginQuery, SignInPolicy, SignIns
from engine.working_time.calendar import BUSINESS_TZ

OFFICE = Client("10.1.2.3", "Mozilla/5.0 (Windows NT 10.0) Chrome/130")
ELSEWHERE = Client("10.9.9.9", "curl/8.5")


def right(stored: str | None) -> bool:
    return stored == "hash-of-right"


def wrong(stored: str | None) -> bool:
    return False


@pytest.fixture
def sign_ins(database, clock) -> SignIns:
    directory = Directory(database, clock)
    directory.add_user("qa.wang", "王强", "hash-of-right", {"quality": "member"})
    return SignIns(database, clock, SignInPolicy(max_failures=3, lockout_minutes=15, ip_factor=3))


def outcomes(sign_ins: SignIns, **filters) -> list[str]:
    return [row.outcome for row in sign_ins.log(LoginQuery(**filters)).rows]


def test_the_right_password_signs_in_and_each_attempt_is_logged(sign_ins):
    assert sign_ins.attempt("qa.wang", wrong, OFFICE).outcome == sign_in.WRONG_PASSWORD
    assert sign_ins.attempt("nobody", right, OFFICE).outcome == sign_in.UNKNOWN_USER
    result = sign_ins.attempt("  qa.wang ", right, OFFICE)
    assert result.signed_in and result.user.username == "qa.wang"
    [newest, *_] = sign_ins.log(LoginQuery()).rows
    assert (newest.username, newest.outcome, newest.ip, newest.user_agent) == (
        "qa.wang", "signed_in", "10.1.2.3", "Mozilla/5.0 (Windows NT 10.0) Chrome/130")
    assert outcomes(sign_ins) == ["signed_in", "unknown_user", "wrong_password"]


def test_after_too_many_failures_the_name_is_locked_until_the_window_has_passed(sign_ins, clock):
    start = clock.now()
    for _ in range(3):
        assert sign_ins.attempt("qa.wang", wrong, OFFICE).outcome == sign_in.WRONG_PASSWORD
        clock.advance(timedelta(minutes=1))
    locked = sign_ins.attempt("qa.wang", right, OFFICE)  # the right password does not help now
    assert locked.outcome == sign_in.LOCKED_OUT and locked.user is None
    assert locked.locked_until == start + timedelta(minutes=15)  # when the first failure leaves the window
    assert sign_ins.attempt("qa.wang", right, ELSEWHERE).outcome == sign_in.LOCKED_OUT  # from anywhere
    clock.set(start + timedelta(minutes=15) - timedelta(seconds=1))
    assert sign_ins.attempt("qa.wang", right, OFFICE).outcome == sign_in.LOCKED_OUT
    clock.set(start + timedelta(minutes=15))
    assert sign_ins.attempt("qa.wang", right, OFFICE).signed_in
    assert outcomes(sign_ins, outcome="locked_out") == ["locked_out"] * 3


def test_a_success_resets_the_count_but_keeps_the_failures_in_the_log(sign_ins):
    for _ in range(2):
        sign_ins.attempt("qa.wang", wrong, OFFICE)
    assert sign_ins.attempt("qa.wang", right, OFFICE).signed_in
    for _ in range(2):
        assert sign_ins.attempt("qa.wang", wrong, OFFICE).outcome == sign_in.WRONG_PASSWORD
    assert sign_ins.attempt("qa.wang", right, OFFICE).signed_in  # 2 failures since the success: not locked
    assert outcomes(sign_ins, outcome="wrong_password") == ["wrong_password"] * 4
    for _ in range(3):
        sign_ins.attempt("qa.wang", wrong, OFFICE)
    assert sign_ins.locked_until("qa.wang") is not None


def test_an_address_failing_across_many_names_is_refused(sign_ins):
    for number in range(9):  # 3 per name × 3
        name = f"user{number}"
        assert sign_ins.attempt(name, wrong, ELSEWHERE).outcome == sign_in.UNKNOWN_USER
    assert sign_ins.attempt("qa.wang", right, ELSEWHERE).outcome == sign_in.LOCKED_OUT
    assert sign_ins.attempt("qa.wang", right, OFFICE).signed_in  # the user is fine from their own desk


def test_unknown_names_lock_too_so_a_lockout_tells_nothing_about_who_exists(sign_ins):
    for _ in range(3):
        sign_ins.attempt("ghost", right, OFFICE)
    assert sign_ins.attempt("ghost", right, OFFICE).outcome == sign_in.LOCKED_OUT


def test_inactive_users_do_not_sign_in(sign_ins, database):
    from engine.storage.models import User
    with database.sessions.begin() as session:
        session.get(User, "qa.wang").active = False
    assert sign_ins.attempt("qa.wang", right, OFFICE).outcome == sign_in.INACTIVE_USER


def test_long_names_and_browsers_are_cut_to_the_column_sizes(sign_ins):
    sign_ins.attempt("x" * 500, wrong, Client("::1", "A" * 2000))
    [row] = sign_ins.log(LoginQuery()).rows
    assert len(row.username) == sign_in.USERNAME_MAX and len(row.user_agent) == sign_in.USER_AGENT_MAX


def test_the_log_filters_by_name_outcome_and_beijing_day_newest_first(sign_ins, clock):
    sign_ins.attempt("qa.wang", right, OFFICE)
    clock.advance(timedelta(days=1))
    sign_ins.attempt("qa.wang", wrong, OFFICE)
    sign_ins.record(sign_in.SIGNED_OUT, "qa.wang", OFFICE)
    sign_ins.attempt("sales.li", wrong, OFFICE)
    today = clock.now().astimezone(BUSINESS_TZ).date()
    assert outcomes(sign_ins, username="qa") == ["signed_out", "wrong_password", "signed_in"]
    assert outcomes(sign_ins, username="qa", day_from=today) == ["signed_out", "wrong_password"]
    assert outcomes(sign_ins, day_to=today - timedelta(days=1)) == ["signed_in"]
    assert [row.username for row in sign_ins.log(LoginQuery(outcome="unknown_user")).rows] == ["sales.li"]
    assert outcomes(sign_ins, username="%") == []  # a wildcard is a character, not a pattern
    page = sign_ins.log(LoginQuery(per_page=3, page=2))
    assert (page.total, page.pages, len(page.rows)) == (4, 2, 1)
    with pytest.raises(sign_in.LoginLogError):
        sign_ins.log(LoginQuery(outcome="hacked"))


def test_a_password_change_is_in_the_sign_in_log(sign_ins, database, clock):
    Directory(database, clock).set_password_hash("qa.wang", "new-hash", actor="admin", ip="10.0.0.1")
    [row] = sign_ins.log(LoginQuery()).rows
    assert (row.username, row.outcome, row.ip) == ("qa.wang", "password_changed", "10.0.0.1")


def test_the_sign_in_log_goes_into_a_period_export_and_a_purge_keeps_it():
    from engine.records.archive_plan import table_plan

    assert table_plan().part("login_events").kind == "dated"  # exported by `at`, never deleted by a purge
