"""Every text of the pages has its Chinese translation, and the compiled catalogue is the one in the source."""
from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
CATALOG = WEBAPP / "translations" / "zh" / "LC_MESSAGES"


def _used_messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEBAPP), method_map, keywords={"_": None, "gettext": None}):
        found.add(message if isinstance(message, str) else message[0])
    # The rules the engine states at deploy (marked N_), which the modeller and the API show translated.
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEBAPP.parent / "engine"), [("**.py", "python")], keywords={"N_": None}):
        found.add(message)
    return found


def test_every_page_text_has_a_chinese_translation():
    with open(CATALOG / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    used = _used_messages()
    assert len(used) > 100
    missing = sorted(used - translated)
    assert not missing, ("untranslated: run `pybabel extract -F webapp/babel.cfg -o /tmp/messages.pot . && "
                         "pybabel update -i /tmp/messages.pot -d webapp/translations`, translate, then "
                         f"`pybabel compile -d webapp/translations`: {missing}")


def test_the_compiled_catalogue_matches_its_source():
    with open(CATALOG / "messages.po", "rb") as handle:
        source = {m.id: m.string for m in read_po(handle) if m.id and m.string}
    with open(CATALOG / "messages.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [msgid for msgid, text in source.items() if compiled.gettext(msgid) != text]
    assert not stale, f"messages.mo is out of date, run `pybabel compile -d webapp/translations`: {stale[:5]}"
