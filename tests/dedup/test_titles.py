from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zentropy.dedup.titles import normalize_title


@pytest.mark.parametrize(("title", "key", "seniority"), [
    ("Senior Dev", "engineer", "senior"),
    ("Sr. React Engineer", "react engineer", "senior"),
    ("Sr React Developer", "react engineer", "senior"),
    ("Jr. Data Analyst", "data analyst", "junior"),
    ("Software Eng", "software engineer", None),
    ("SWE III", "software engineer", "level 3"),
    ("Software Engineer II", "software engineer", "level 2"),
    ("Engineering Mgr", "engineering manager", None),
    ("Lead C++ Developer", "cpp engineer", "lead"),
    (".NET Developer (Contract)", "dotnet engineer", None),
    ("C# Programmer", "csharp engineer", None),
    ("Contract Manager", "contract manager", None),  # a title word, not noise, at the start
    ("Softwareentwickler (m/w/d)", "softwareentwickler", None),
    ("Data Scientist (f/m/x) - Remote", "data scientist", None),
    ("Front-End Developer | Berlin", "frontend engineer berlin", None),  # see the next test for locations
    ("Full Stack Dev, Senior", "fullstack engineer", "senior"),
    ("Entry Level Sales Rep", "sales representative", "junior"),
    ("Staff Software Engineer, Infrastructure", "software engineer infrastructure", "staff"),
    ("VP of Sales", "vice president of sales", None),
    ("Senior", "senior", None),
    ("", "", None),
    (None, "", None),
])
def test_titles_are_normalized(title, key, seniority):
    normalized = normalize_title(title)
    assert (normalized.key, normalized.seniority) == (key, seniority)


def test_the_posting_location_is_dropped_from_trailing_segments_only():
    assert normalize_title("Store Manager - Seattle", frozenset({"seattle"})).key == "store manager"
    assert normalize_title("Seattle Store Manager", frozenset({"seattle"})).key == "seattle store manager"


def test_hard_case_titles_share_their_seniority_and_core_word():
    a, b = normalize_title("Senior Dev"), normalize_title("Sr. React Engineer")
    assert a.seniority == b.seniority == "senior"
    assert set(a.key.split()) <= set(b.key.split())


WORDS = st.sampled_from(["Senior", "Sr.", "Jr", "Lead", "Software", "Engineer", "Dev", "Mgr", "Data", "Sales",
                         "Rep", "II", "III", "SWE", "Remote", "(m/w/d)", "-", "|", ",", "Staff", "Nurse", "QA",
                         "Full", "Stack", "Front-End", "C++", "Office", "Contract", "(Contract)", "ML", "Ops"])
TITLES = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)


@given(TITLES)
def test_normalizing_twice_changes_nothing(title):
    once = normalize_title(title)
    again = normalize_title(once.key)
    assert again.key == once.key


@given(TITLES)
def test_case_does_not_matter(title):
    assert normalize_title(title.upper()) == normalize_title(title.lower()) == normalize_title(title)


@given(TITLES, st.sampled_from([" (m/w/d)", " - Remote", " (Hybrid)", " (Full Time)", " (Contract)", " | Remote"]))
def test_markers_after_the_title_do_not_matter(title, marker):
    if title.strip() and not title.rstrip().endswith(("-", "|", ",")):
        assert normalize_title(title + marker) == normalize_title(title)
