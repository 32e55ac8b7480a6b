"""The therapist's workspace in Chromium: the overview, a couple's page and the session brief
at desktop, tablet and phone sizes; the brief printed to PDF; the partners' own printouts."""

import io
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.steps import heading, screen_is_clean, sign_in
from tests.e2e.test_accessibility import check
from tests.factories import World, invite, make_world, register
from tests.journal_helpers import marker, write
from tests.measures_support import PHQ9_CALM, answer, assign, custom_measure
from tests.plans_support import INDIVIDUAL, JOINT, item, log, published_week

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}, "is_mobile": False, "has_touch": False}
TABLET = {"viewport": {"width": 768, "height": 1024}, "is_mobile": True, "has_touch": True}
PHONE = {}  # the fixture's default
SIZES = {"desktop": DESKTOP, "tablet": TABLET, "phone": PHONE}


def lived_couple(app: FastAPI, w: World | None = None) -> tuple[World, dict[str, str]]:
    """A couple with a week behind it: sessions confirmed and disputed, a note and a check-in
    shared with the therapist, preparation for the next appointment."""
    w = w or make_world(app)
    plan = published_week(w, items=[item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)])
    joint, solo = plan["items"][0]["id"], plan["items"][1]["id"]
    assert log(w.partner_a, joint).status_code == 201
    assert log(w.partner_b, joint).status_code == 200
    disputed = log(w.partner_a, joint).json()
    assert w.partner_b.post(f"/api/sessions/{disputed['id']}/dispute").status_code == 200
    assert log(w.partner_b, solo).status_code == 201
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    w.therapist.put(f"/api/couples/{w.couple_id}/next-appointment", json={"starts_at": starts})
    shared = {
        "note": write(w.partner_a, w.couple_id, "note", "care_team")["marker"],
        "checkin": write(w.partner_b, w.couple_id, "checkin", "therapist")["marker"],
        "prep": marker("prep"),
    }
    body = {"sections": [{"key": "questions", "text": shared["prep"], "visibility": "therapist"}]}
    assert w.partner_a.put(f"/api/couples/{w.couple_id}/prep", json=body).status_code == 200
    return w, shared


def a_change_of_therapist(app: FastAPI) -> tuple[World, list[str]]:
    """A couple whose first therapist left after Alex answered their own questionnaire (its
    words a canary) and showed the result to Sam alone; Alex then invited another therapist,
    who is `w.therapist` from here on. Returns the canaries."""
    w = make_world(app)
    words = marker("measure")
    made = assign(w, custom_measure(w.therapist, words), w.partner_a)
    given = answer(w.partner_a, made["id"], {"1": 0})
    assert given.status_code == 201, given.text
    shared = w.partner_a.post(f"/api/measure-responses/{given.json()['id']}/share")
    assert shared.status_code == 200, shared.text
    assert w.therapist.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
    code = invite(w.partner_a, w.couple_id, "therapist")
    w.therapist = register(app, role="therapist", invitation_code=code, name="Dr Okafor")
    return w, [words]


def another_therapists_answer(app: FastAPI) -> str:
    """What a partner of another therapist's couple answered (the words a canary)."""
    other = make_world(app)
    words = marker("measure")
    made = assign(other, custom_measure(other.therapist, words))
    assert answer(other.partner_a, made["id"], {"1": 0}).status_code == 201
    return words


def mine_answered(w: World) -> list[str]:
    """Alex answers PHQ-9 for this therapist; returns what the brief must then say."""
    made = assign(w, "phq9", w.partner_a)
    assert answer(w.partner_a, made["id"], PHQ9_CALM).status_code == 201
    return ["Few or no signs of depression", "PHQ-9"]


def keep_private(w: World) -> list[str]:
    """What each partner keeps from the therapist; returns the canaries."""
    canaries = []
    for partner in (w.partner_a, w.partner_b):
        for visibility in ("private", "partner"):
            for kind in ("note", "checkin"):
                canaries.append(write(partner, w.couple_id, kind, visibility)["marker"])
    mark = marker("prep")
    body = {"sections": [{"key": "medications", "text": mark, "visibility": "private"}]}
    assert w.partner_b.put(f"/api/couples/{w.couple_id}/prep", json=body).status_code == 200
    return [*canaries, mark]


def therapist_page(new_context, w: World, size: dict, **kwargs):  # noqa: ANN001, ANN201
    page = new_context(**size, **kwargs).new_page()
    sign_in(page, w.therapist.email)
    return page


class TestOverview:
    @pytest.mark.parametrize("size", ["desktop", "tablet", "phone"])
    def test_the_table_at_every_size(self, app: FastAPI, new_context, size: str) -> None:  # noqa: ANN001
        w, _ = lived_couple(app)
        page = therapist_page(new_context, w, SIZES[size])
        heading(page, "Couples")
        row = page.locator("tbody tr", has=page.get_by_role("link", name="The Couple"))
        expect(row).to_contain_text("Alex & Sam")
        expect(row).to_contain_text("1 dispute")
        expect(row).to_contain_text("Alex prepared")
        expect(row).to_contain_text("Together")
        expect(row).to_contain_text("1/3")
        expect(page.locator("main").get_by_role("status").first).to_have_text(
            "1 couple · 1 needs attention"
        )
        screen_is_clean(page)

    def test_keyboard_only_sort_filter_and_open(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w, _ = lived_couple(app)
        page = therapist_page(new_context, w, DESKTOP)
        heading(page, "Couples")
        page.keyboard.press("Tab")
        for _ in range(30):
            if page.evaluate("document.activeElement && document.activeElement.type === 'search'"):
                break
            page.keyboard.press("Tab")
        page.keyboard.type("nobody")
        expect(page.get_by_text("No couple matches.")).to_be_visible()
        page.keyboard.press("Control+A")
        page.keyboard.type("alex")
        expect(page.get_by_role("link", name="The Couple")).to_be_visible()
        page.keyboard.press("Tab")  # the Show filter
        focused = page.evaluate("document.activeElement.tagName")
        assert focused == "SELECT"
        page.keyboard.press("ArrowDown")  # Needing attention
        expect(page.get_by_role("link", name="The Couple")).to_be_visible()
        sort = page.get_by_role("button", name="Couple", exact=True)
        sort.focus()
        page.keyboard.press("Enter")
        header = page.get_by_role("columnheader", name="Couple")
        expect(header).to_have_attribute("aria-sort", "ascending")
        page.keyboard.press("Enter")
        expect(header).to_have_attribute("aria-sort", "descending")
        link = page.get_by_role("link", name="The Couple")
        link.focus()
        page.keyboard.press("Enter")
        heading(page, "The Couple")

    def test_the_rules_are_saved_on_the_server(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w, _ = lived_couple(app)
        page = therapist_page(new_context, w, DESKTOP)
        heading(page, "Couples")
        page.get_by_text("Attention rules").click()
        page.get_by_label("Flag a couple after this many quiet days").fill("0")
        page.get_by_role("button", name="Save rules").click()
        expect(page.get_by_text("Choose a number of days from 1 to 90.")).to_be_visible()
        page.get_by_label("Flag a couple after this many quiet days").fill("9")
        page.get_by_label("Rating", exact=True).select_option("comfort")
        page.get_by_label("When it is").select_option("at_most")
        page.get_by_label("Value (0–10)").fill("2")
        page.get_by_role("button", name="Save rules").click()
        page.get_by_text("Rules saved.").wait_for()
        saved = w.therapist.get("/api/me/workspace-settings").json()
        assert saved == {
            "inactive_days": 9,
            "rating": {"key": "comfort", "direction": "at_most", "threshold": 2},
        }


class TestCouplePage:
    @pytest.mark.parametrize("size", ["desktop", "tablet", "phone"])
    def test_charts_tables_and_the_timeline(self, app: FastAPI, new_context, size: str) -> None:  # noqa: ANN001
        w, shared = lived_couple(app)
        page = therapist_page(new_context, w, SIZES[size])
        page.goto(f"/#/couple/{w.couple_id}")
        heading(page, "The Couple")
        adherence = page.locator("section", has=page.get_by_role("heading", name="Adherence"))
        expect(adherence.locator("svg.chart").first).to_be_visible()
        expect(adherence.get_by_role("heading", name="By exercise")).to_be_visible()
        table = adherence.locator("table").first
        expect(table.locator("tbody tr")).to_have_count(1)  # the weeks the couple has existed
        ratings = page.locator("section", has=page.get_by_role("heading", name="Check-in ratings"))
        expect(ratings.locator("table caption")).to_have_text("Check-in ratings shared with you")
        timeline = page.locator("section", has=page.get_by_role("heading", name="What happened"))
        expect(timeline).to_contain_text(shared["note"])
        expect(timeline).to_contain_text("Sam said")
        timeline.get_by_label("Notes").uncheck()
        expect(timeline).not_to_contain_text(shared["note"])
        timeline.get_by_label("Who").select_option(label="Sam")
        expect(timeline).to_contain_text(shared["checkin"])
        expect(timeline.get_by_text("Alex logged")).to_have_count(0)
        screen_is_clean(page)


def pdf_text(pdf: bytes) -> tuple[str, int]:
    """The PDF's text, ligatures undone (NFKC: "ﬀ" is "ff"), so that a canary is found
    whatever font set it: an absent canary must mean absent."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    return unicodedata.normalize("NFKC", text), len(reader.pages)


class TestBrief:
    @pytest.mark.parametrize("size", ["desktop", "tablet"])
    def test_the_brief_on_screen(self, app: FastAPI, new_context, size: str) -> None:  # noqa: ANN001
        w, shared = lived_couple(app)
        page = therapist_page(new_context, w, SIZES[size])
        page.goto(f"/#/couple/{w.couple_id}")
        heading(page, "The Couple")
        page.get_by_role("link", name="Session brief").click()
        heading(page, "Session brief")
        for mark in shared.values():
            expect(page.get_by_text(mark).first).to_be_visible()
        expect(page.get_by_role("heading", name="What the partners prepared")).to_be_visible()

    def test_printed_to_pdf_holds_what_was_shared_and_no_canary(
        self,
        app: FastAPI,
        new_context,  # noqa: ANN001
    ) -> None:
        # Before this therapist came, Alex answered their predecessor's questionnaire and
        # showed the result to Sam only; another therapist's couple answered one of theirs.
        w, earlier = a_change_of_therapist(app)
        w, shared = lived_couple(app, w)
        canaries = [*keep_private(w), *earlier, another_therapists_answer(app)]
        results = mine_answered(w)
        page = therapist_page(new_context, w, DESKTOP)
        page.goto(f"/#/couple/{w.couple_id}/brief")
        heading(page, "Session brief")
        expect(page.get_by_text(shared["prep"])).to_be_visible()
        page.emulate_media(media="print")
        for paper in ("A4", "Letter"):
            text, pages = pdf_text(page.pdf(format=paper, print_background=True))
            words = " ".join(text.split())  # as read, whatever the lines
            for mark in shared.values():
                assert mark in text.replace("\n", ""), (paper, mark)
            for said in results:
                assert said in words, (paper, said)
            for canary in canaries:
                assert canary not in text.replace("\n", ""), (paper, canary)
            # Whole words in the tables' headings, not "Partn / er".
            assert "Partner Questionnaire Latest In plain words Change" in words
            assert "The Couple · Session brief ·" in text  # the header, on every page
            assert text.count("The Couple · Session brief") == pages
            assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
            assert pages >= 4  # a page per section
            assert "Print or save as PDF" not in text and "Couples" not in text.split("\n")[0]
        reads = [
            e["action"]
            for e in w.partner_a.get("/api/me/access-log").json()
            if e["action"].endswith("read_by_therapist")
        ]
        assert "prep.read_by_therapist" in reads and "journal.read_by_therapist" in reads
        assert "measures.read_by_therapist" in reads

    def test_a_chosen_date_range(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w, shared = lived_couple(app)
        page = therapist_page(new_context, w, DESKTOP)
        page.goto(f"/#/couple/{w.couple_id}/brief")
        heading(page, "Session brief")
        page.get_by_label("From", exact=True).fill("2026-01-10")
        page.get_by_label("To", exact=True).fill("2026-01-01")
        page.get_by_role("button", name="Show these dates").click()
        expect(page.get_by_text("The first day must be on or before the last day.")).to_be_visible()
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        page.get_by_label("From", exact=True).fill(yesterday)
        page.get_by_label("To", exact=True).fill(yesterday)
        page.get_by_role("button", name="Show these dates").click()
        page.wait_for_url(f"**/brief/{yesterday}/{yesterday}")
        heading(page, "Session brief")
        expect(page.get_by_text(shared["note"])).to_have_count(0)


class TestNothingPrivateOnScreen:
    def test_private_entries_change_nothing_the_therapist_sees(
        self,
        app: FastAPI,
        new_context,  # noqa: ANN001
    ) -> None:
        w, _ = lived_couple(app)
        page = therapist_page(new_context, w, DESKTOP)

        def screens() -> list[str]:
            seen = []
            for path, name, ready in [
                ("/#/couples", "Couples", "tbody tr"),
                (f"/#/couple/{w.couple_id}", "The Couple", ".timeline .event"),
                (f"/#/couple/{w.couple_id}/brief", "Session brief", ".shared-entry"),
            ]:
                page.goto(path)
                heading(page, name)
                page.locator(ready).first.wait_for()
                page.wait_for_load_state("networkidle")
                seen.append(page.locator("main").inner_text())
            return seen

        before = screens()
        canaries = keep_private(w)
        after = screens()
        assert after == before
        assert not any(c in "".join(after) for c in canaries)


class TestPartnerPrintouts:
    def test_a_week_and_a_preparation(self, app: FastAPI, new_context) -> None:  # noqa: ANN001
        w, shared = lived_couple(app)
        mine = write(w.partner_a, w.couple_id, "note", "private")["marker"]
        from_sam = write(w.partner_b, w.couple_id, "note", "partner")["marker"]
        sams_own = [
            write(w.partner_b, w.couple_id, "note", "private")["marker"],
            write(w.partner_b, w.couple_id, "checkin", "private")["marker"],
            write(w.partner_b, w.couple_id, "note", "therapist")["marker"],
            shared["checkin"],  # Sam's, for the therapist only
        ]
        page = new_context().new_page()
        sign_in(page, w.partner_a.email)
        heading(page, "This week")
        page.get_by_role("link", name="Print this week").click()
        heading(page, "My week")
        expect(page.get_by_text(mine)).to_be_visible()
        expect(page.get_by_text(from_sam)).to_be_visible()
        page.emulate_media(media="print")
        text, _ = pdf_text(page.pdf(format="A4"))
        flat = text.replace("\n", "")
        assert mine in flat and from_sam in flat and shared["note"] in flat
        for canary in sams_own:
            assert canary not in flat
        page.emulate_media(media="screen")
        page.goto("/#/prep")
        heading(page, "Prepare for your appointment")
        page.get_by_role("link", name="Print what I saved").click()
        heading(page, "My preparation")
        expect(page.get_by_text(shared["prep"])).to_be_visible()
        check(page, "print-prep")


class TestAccessibility:
    @pytest.mark.parametrize("scheme", ["light", "dark"])
    def test_every_new_screen_passes_axe(self, app: FastAPI, new_context, scheme: str) -> None:  # noqa: ANN001
        w, _ = lived_couple(app)
        for size in ("desktop", "phone"):
            page = therapist_page(new_context, w, SIZES[size], color_scheme=scheme)
            for path, name, title in [
                ("/#/couples", "workspace-overview", "Couples"),
                (f"/#/couple/{w.couple_id}", "workspace-couple", "The Couple"),
                (f"/#/couple/{w.couple_id}/brief", "workspace-brief", "Session brief"),
            ]:
                page.goto(path)
                heading(page, title)
                check(page, f"{name} {size} {scheme}")
        partner = new_context(color_scheme=scheme).new_page()
        sign_in(partner, w.partner_a.email)
        for path, name, title in [
            ("/#/print/week", "print-week", "My week"),
            ("/#/print/prep", "print-prep", "My preparation"),
        ]:
            partner.goto(path)
            heading(partner, title)
            check(partner, f"{name} {scheme}")
