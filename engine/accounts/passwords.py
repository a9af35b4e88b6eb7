"""The password policy: what a new password must be, checked wherever people set one (command line, the
change-password page), with every rule it breaks named at once so nobody guesses rule by rule.

Rules (MLPS 2.0 "identity authentication" basics): a minimum length, at least three of four character
classes, not containing the user name, not one of the passwords every attacker tries first.

The rules, the stored hash and every check of a typed password see the password `normalised`: NFKC (a
full-width Ａ is A) without format characters (Unicode category Cf: zero-width spaces, joiners, direction
marks), which nobody sees and which would otherwise count towards the length."""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

from engine.errors import EngineError

DEFAULT_MIN_LENGTH = 10
# Longer passwords are refused before hashing, so a megabyte "password" cannot tie up a worker.
MAX_LENGTH = 128
CLASSES_REQUIRED = 3

# Passwords (lower-cased) that lists of leaked passwords, in China and elsewhere, start with. A password is
# refused when it is one of them, also once digits and symbols at its ends are taken away ("Password123!").
COMMON_PASSWORDS = frozenset({
    "123456", "12345678", "123456789", "1234567890", "111111", "000000", "666666", "888888", "88888888",
    "123123", "654321", "password", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwertyuiop", "qwe123",
    "1qaz2wsx", "1q2w3e4r", "1qaz@wsx", "zxcvbnm", "asdfghjkl", "abc123", "abc123456", "a123456",
    "aa123456", "admin", "admin123", "admin@123", "administrator", "root", "iloveyou", "woaini",
    "woaini1314", "5201314", "letmein", "welcome", "changeme", "test", "test123", "demo", "demo-2026",
    "guest", "huawei", "huawei@123", "sysadmin", "aftersales", "shouhou", "change-me", "change_me",
})


@dataclass(frozen=True)
class BrokenRule:
    """One rule a password breaks: `code` for pages to say it in the reader's language, `message` in English."""

    code: str  # too_short, too_long, too_few_classes, contains_username, common
    message: str


class WeakPassword(EngineError):
    """A password the policy refuses; `.broken` lists every rule it breaks."""

    def __init__(self, broken: list[BrokenRule]) -> None:
        super().__init__("the password is refused: " + "; ".join(rule.message for rule in broken))
        self.broken = broken


def normalised(password: str) -> str:
    """The password as the policy counts it and as its hash is made and checked: NFKC, no format characters."""
    visible = "".join(c for c in password if unicodedata.category(c) != "Cf")
    return "".join(c for c in unicodedata.normalize("NFKC", visible) if unicodedata.category(c) != "Cf")


def character_classes(password: str) -> int:
    """How many of upper case, lower case, digits and symbols (anything else) the password uses."""
    return sum((any(c.isupper() for c in password),
                any(c.islower() for c in password),
                any(c.isdigit() for c in password),
                any(not (c.isalpha() or c.isdigit()) for c in password)))


def _is_common(password: str) -> bool:
    lowered = password.lower()
    trimmed = lowered.strip(string.digits + string.punctuation + " ")
    return lowered in COMMON_PASSWORDS or (trimmed != "" and trimmed in COMMON_PASSWORDS)


def broken_rules(password: str, username: str | None = None,
                 min_length: int = DEFAULT_MIN_LENGTH) -> list[BrokenRule]:
    """Every rule `password` (normalised first) breaks for `username` (empty: it is acceptable)."""
    password = normalised(password)
    broken = []
    if len(password) < min_length:
        broken.append(BrokenRule("too_short", f"it must be at least {min_length} characters long"))
    if len(password) > MAX_LENGTH:
        broken.append(BrokenRule("too_long", f"it must be at most {MAX_LENGTH} characters long"))
    if character_classes(password) < CLASSES_REQUIRED:
        broken.append(BrokenRule("too_few_classes", "it must use at least 3 of: upper-case letters, "
                                                    "lower-case letters, digits, symbols"))
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        broken.append(BrokenRule("contains_username", "it must not contain the user name"))
    if _is_common(password):
        broken.append(BrokenRule("common", "it is one of the most common passwords"))
    return broken


def check_password(password: str, username: str | None = None, min_length: int = DEFAULT_MIN_LENGTH) -> None:
    """Raise WeakPassword listing every rule broken; return quietly for an acceptable password."""
    broken = broken_rules(password, username, min_length)
    if broken:
        raise WeakPassword(broken)
