"""Every request example in README.md and in the documentation pages (docs/*.md), against the
real model: it answers 200, and where the document prints the answer, with that answer's shape
(`readme.mismatches`)."""

from __future__ import annotations

import pytest

from tests.e2e.readme import curl_examples, documented_examples, inline_examples, mismatches

CURL, INLINE = documented_examples()


def test_the_readme_and_the_api_page_have_request_examples():
    for document in ("README.md", "docs/api.md"):
        curl = [example for example in CURL if example.document == document]
        assert len(curl) >= 2, f"{document} shows fewer than two curl examples"
        assert all(example.shown is not None for example in curl)
    assert len(curl_examples()) >= 2  # the README's own
    assert len(inline_examples()) >= 1
    assert len(INLINE) >= 3


@pytest.mark.parametrize("example", CURL, ids=str)
def test_each_curl_example_answers_as_the_document_shows(served, example):
    response = served.get(example.request)
    assert response.status_code == 200, f"{example}: {response.status_code} {response.text}"
    problems = mismatches(example.shown, response.json())
    assert not problems, f"{example} answers otherwise than the document shows: {problems}"


@pytest.mark.parametrize("example", INLINE, ids=str)
def test_each_inline_example_answers(served, example):
    response = served.get(example.request)
    assert response.status_code == 200, f"{example}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith("application/json")
