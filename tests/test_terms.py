"""docs/model.md's "Terms" explains, once each, every term of art a newcomer's first read keeps
out (issue 56: plain words first on the dashboard and in the model card's summary, the terms in
the detail)."""

from __future__ import annotations

import re

from tests.paths import ROOT
from tests.plain_words import TERMS, TERMS_OF_ART

MODEL = ROOT / "docs" / "model.md"


def _terms_section() -> str:
    text = MODEL.read_text()
    start = text.index("\n## Terms\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_every_term_of_art_is_explained_once_in_the_model_page():
    section = _terms_section()
    defined = re.findall(r"^- \*\*(.+?)\*\*:", section, re.MULTILINE)
    assert sorted(defined) == sorted(TERMS), defined
    page = MODEL.read_text()
    for term in TERMS:
        assert page.count(f"**{term}**") == 1, term  # defined here, nowhere else


def test_each_term_is_what_the_plain_words_check_finds():
    for term in TERMS:
        assert TERMS_OF_ART.search(term), term
