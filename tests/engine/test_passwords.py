"""The password policy: every rule a password breaks is named, an acceptable one passes."""
from __future__ import annotations

import pytest

from engine.accounts.passwords import MAX_LENGTH, WeakPassword, broken_rules, check_password


def codes(password: str, username: str | None = "qa.wang", min_length: int = 10) -> list[str]:
    return [rule.code for rule in broken_rules(password, username, min_length)]


@pytest.mark.parametrize("password", ["Hydraulic-valve7", "阀芯卡滞-B2611-07", "correct horse battery 9",
                                      "ZHEJIANG#2026x"])
def test_acceptable_passwords_pass(password):
    assert codes(password) == []
    check_password(password, "qa.wang")  # does not raise


def test_too_short_counts_characters_against_the_configured_minimum():
    assert codes("Ab1-xyz") == ["too_short"]
    assert codes("Ab1-xyzwvu") == []  # exactly 10
    assert codes("Ab1-xyzwvu", min_length=12) == ["too_short"]
    assert "too_long" in codes("Ab1-" * (MAX_LENGTH // 4 + 1))


def test_three_of_four_character_classes_are_needed():
    assert codes("alllowercase") == ["too_few_classes"]
    assert codes("lowercase123") == ["too_few_classes"]
    assert codes("lowercase-123") == []
    assert codes("UPPER-lower!") == []
    assert codes("UPPERlower99") == []


def test_the_user_name_must_not_be_part_of_the_password():
    assert codes("My-qa.wang-2026") == ["contains_username"]
    assert codes("My-QA.WANG-2026") == ["contains_username"]  # whatever the case
    assert codes("My-qa.wang-2026", username="sales.li") == []


def test_common_passwords_are_refused_even_dressed_up():
    assert "common" in codes("123456")
    assert codes("Password123!") == ["common"]
    assert codes("P@ssw0rd2026") == ["common"]
    assert codes("Admin@123456") == ["common"]
    assert codes("qwertyuiop") == ["too_few_classes", "common"]


def test_every_broken_rule_is_listed_at_once():
    with pytest.raises(WeakPassword) as refused:
        check_password("wang", "wang")
    assert [rule.code for rule in refused.value.broken] == ["too_short", "too_few_classes", "contains_username"]
    assert "at least 10 characters" in str(refused.value) and "user name" in str(refused.value)
