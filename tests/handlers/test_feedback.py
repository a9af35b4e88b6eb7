"""The category rule of seed 000 5.1.1.1 / 5.1.1.2 with the values a diagram gives it."""
from __future__ import annotations

import pytest

from handlers.feedback import GENERAL, IMPORTANT, CategoryRule, derive_category

RULE = CategoryRule(0.2, frozenset({"key", "important"}), frozenset({"complaint", "batch_return", "claim"}))


@pytest.mark.parametrize("nonconforming, recurring, characteristic, consequence, expected", [
    (200, False, "key", "claim", IMPORTANT),  # exactly 20 % counts as a batch
    (199, False, "key", "claim", GENERAL),
    (10, True, "assembly", "complaint", IMPORTANT),  # a recurring problem that led to a complaint
    (500, False, "appearance", "batch_return", GENERAL),  # a batch, but not of a key/important characteristic
    (500, True, "key", "rectification_reply", GENERAL),  # the consequence is that of general information
])
def test_rule(nonconforming, recurring, characteristic, consequence, expected):
    category, basis = derive_category(1000, nonconforming, recurring, characteristic, consequence, RULE)
    assert category == expected
    assert basis.startswith("重要信息（5.1.1.1）" if expected == IMPORTANT else "一般信息（5.1.1.2）")


def test_the_values_come_from_the_diagram():
    strict = CategoryRule(0.5, frozenset({"key"}), frozenset({"claim"}))
    assert derive_category(1000, 300, False, "key", "claim", strict)[0] == GENERAL
    assert derive_category(1000, 300, False, "key", "claim", RULE)[0] == IMPORTANT
