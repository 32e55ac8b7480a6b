"""The in-app guide covers what the issue asks for, calmly and without explicit language."""

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "frontend" / "guide" / "content.js"


def text() -> str:
    return GUIDE.read_text().lower()


def test_it_says_what_therapy_is_and_is_not() -> None:
    t = text()
    assert "talk therapy" in t
    assert "never any physical contact" in t
    assert "change therapist" in t and "remove the therapist" in t


def test_it_carries_the_standing_no_medical_advice_note() -> None:
    assert "tandem gives no medical advice" in text()


def test_it_lists_the_questions_to_ask_before_booking() -> None:
    t = text()
    for topic in (
        "education",
        "licensed",
        "certified",
        "experience do you have with a concern like ours",
        "office",
        "video",
        "hours",
        "how long is a session",
        "how often",
        "how many sessions",
        "reschedule",
        "fees",
        "insurance",
    ):
        assert topic in t, topic


def test_it_says_what_to_bring_and_when_to_see_a_doctor() -> None:
    t = text()
    for topic in ("when it began", "treatments you have tried", "life changes", "with the dose"):
        assert topic in t, topic
    for topic in ("medication", "long-term illness", "surgery", "age", "stress", "anxiety"):
        assert topic in t, topic
    assert "depressed" in t and "pain" in t


def test_homework_says_stop_is_always_fine() -> None:
    assert '\\"stop\\" is always fine' in text()


def test_the_language_stays_non_explicit() -> None:
    words = set(re.findall(r"[a-z]+", text()))
    assert not words & {"penis", "vagina", "orgasm", "intercourse", "genitals", "erection", "naked"}


def test_the_guide_is_precached_so_it_opens_offline(app) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    sw = TestClient(app, base_url="https://testserver").get("/sw.js").text
    version = app.state.frontend_version
    assert f"/assets/{version}/guide/content.js" in sw
    assert f"/assets/{version}/js/views/guide.js" in sw
