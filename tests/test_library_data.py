"""Validate the built-in exercise library data file.

Standard library and pytest only: this test must not import the ``tandem`` package.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

LIBRARY_PATH = Path(__file__).parents[1] / "backend/tandem/exercises/library.json"

EXPECTED_KEYS = {
    "key",
    "title",
    "category",
    "stage",
    "rationale",
    "instructions",
    "boundaries",
    "default_minutes",
    "default_mode",
    "default_times_per_week",
}
CATEGORIES = {
    "sensate_focus",
    "communication",
    "mindfulness",
    "education",
    "intimacy_date",
    "body_awareness",
    "pelvic_floor",
    "other",
}
MODES = {"joint", "individual"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TEXT_FIELDS = ("key", "title", "rationale", "instructions")


def _load():
    with LIBRARY_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


LIBRARY = _load() if LIBRARY_PATH.is_file() else None


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _is_int(value) -> bool:
    # bool is a subclass of int; true/false in JSON must not pass as a number.
    return type(value) is int


def _ids():
    if not isinstance(LIBRARY, list):
        return []
    return [e.get("key", str(i)) if isinstance(e, dict) else str(i) for i, e in enumerate(LIBRARY)]


def test_file_exists_and_parses():
    assert LIBRARY_PATH.is_file(), f"missing {LIBRARY_PATH}"
    data = _load()  # raises on invalid JSON
    assert isinstance(data, list)
    assert len(data) >= 20


@pytest.mark.parametrize("entry", LIBRARY if isinstance(LIBRARY, list) else [], ids=_ids())
def test_entry_shape(entry):
    assert isinstance(entry, dict)
    assert set(entry) == EXPECTED_KEYS

    for field in TEXT_FIELDS:
        value = entry[field]
        assert isinstance(value, str), field
        assert value.strip(), f"{field} is empty"
        assert value == value.strip(), f"{field} has leading/trailing whitespace"
        assert "\r" not in value, f"{field} contains a carriage return"

    assert SLUG_RE.fullmatch(entry["key"]), entry["key"]
    assert entry["category"] in CATEGORIES

    if entry["category"] == "sensate_focus":
        assert _is_int(entry["stage"]) and entry["stage"] in (1, 2, 3)
    else:
        assert entry["stage"] is None

    assert len(entry["rationale"]) <= 600

    boundaries = entry["boundaries"]
    assert boundaries is None or isinstance(boundaries, str)
    if isinstance(boundaries, str):
        assert boundaries.strip() and boundaries == boundaries.strip()
    if entry["category"] == "sensate_focus":
        assert isinstance(boundaries, str) and boundaries.strip()

    paragraphs = _paragraphs(entry["instructions"])
    minimum = 3 if entry["category"] == "sensate_focus" else 2
    assert len(paragraphs) >= minimum, f"{entry['key']}: {len(paragraphs)} paragraphs"
    for p in paragraphs:
        assert p == p.strip(), f"{entry['key']}: paragraph with stray whitespace"

    assert _is_int(entry["default_minutes"]) and 5 <= entry["default_minutes"] <= 120
    assert entry["default_mode"] in MODES
    assert _is_int(entry["default_times_per_week"]) and 1 <= entry["default_times_per_week"] <= 14


def test_keys_and_titles_unique():
    keys = Counter(e["key"] for e in LIBRARY)
    titles = Counter(e["title"] for e in LIBRARY)
    assert not [k for k, n in keys.items() if n > 1], "duplicate keys"
    assert not [t for t, n in titles.items() if n > 1], "duplicate titles"


def test_categories_and_stages_covered():
    categories = {e["category"] for e in LIBRARY}
    assert categories <= CATEGORIES
    assert len(categories) >= 6
    stages = {e["stage"] for e in LIBRARY if e["category"] == "sensate_focus"}
    assert stages == {1, 2, 3}


def test_sensate_focus_states_the_ground_rules():
    for entry in LIBRARY:
        if entry["category"] != "sensate_focus":
            continue
        text = (entry["instructions"] + " " + entry["boundaries"]).lower()
        assert "intercourse" in text, entry["key"]
        assert "stop" in text, entry["key"]
        assert "therapist" in text, entry["key"]


def test_main_exercises_have_at_least_three_paragraphs():
    by_key = {e["key"]: e for e in LIBRARY}
    main_keys = [k for k in by_key if k.startswith("sensate-focus")] + [
        "speaker-listener",
        "body-scan",
    ]
    for key in main_keys:
        assert key in by_key, key
        assert len(_paragraphs(by_key[key]["instructions"])) >= 3, key
