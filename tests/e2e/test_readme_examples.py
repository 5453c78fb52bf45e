"""Every request example in README.md, against the real model: it answers 200, and where the
README prints the answer, with that answer's shape (`readme.mismatches`)."""

from __future__ import annotations

import pytest

from tests.e2e.readme import curl_examples, inline_examples, mismatches

CURL = curl_examples()
INLINE = inline_examples()


def test_the_readme_has_request_examples():
    assert len(CURL) >= 3
    assert all(example.shown is not None for example in CURL)
    assert len(INLINE) >= 3


@pytest.mark.parametrize("example", CURL, ids=str)
def test_each_curl_example_answers_as_the_readme_shows(served, example):
    response = served.get(example.request)
    assert response.status_code == 200, f"{example}: {response.status_code} {response.text}"
    problems = mismatches(example.shown, response.json())
    assert not problems, f"{example} answers otherwise than the README shows: {problems}"


@pytest.mark.parametrize("example", INLINE, ids=str)
def test_each_inline_example_answers(served, example):
    response = served.get(example.request)
    assert response.status_code == 200, f"{example}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith("application/json")
