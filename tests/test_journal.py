"""Check-ins and notes: who reads what (SPEC §3), leaving, bad input, paging, access log,
export and deletion."""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.factories import Actor, World, invite, make_world, publish_plan, register
from tests.journal_helpers import PLURAL, VISIBILITIES, couple_list, ids, leave, write

KINDS = ("note", "checkin")


def write_all(actor: Actor, couple_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(k, v): write(actor, couple_id, k, v) for k in KINDS for v in VISIBILITIES}


class TestVisibilityMatrix:
    def test_each_member_sees_exactly_what_the_spec_allows(self, app: FastAPI) -> None:
        w = make_world(app)
        by_a = write_all(w.partner_a, w.couple_id)
        by_b = write_all(w.partner_b, w.couple_id)
        readers = {
            "private": set(),
            "partner": {"other"},
            "therapist": {"therapist"},
            "care_team": {"other", "therapist"},
        }
        for kind in KINDS:
            for name, actor in (("a", w.partner_a), ("b", w.partner_b), ("t", w.therapist)):
                expected = set()
                for author, entries in (("a", by_a), ("b", by_b)):
                    for visibility in VISIBILITIES:
                        allowed = {author}
                        if "other" in readers[visibility]:
                            allowed.add("b" if author == "a" else "a")
                        if "therapist" in readers[visibility]:
                            allowed.add("t")
                        if name in allowed:
                            expected.add(entries[(kind, visibility)]["id"])
                seen = couple_list(actor, w.couple_id, kind)
                assert ids(seen) == expected, (kind, name)

    def test_other_couples_members_and_strangers_get_404(self, app: FastAPI) -> None:
        w, other = make_world(app), make_world(app)
        write_all(w.partner_a, w.couple_id)
        for actor in (other.partner_a, other.therapist, register(app)):
            for kind in KINDS:
                answer = actor.get(f"/api/couples/{w.couple_id}/{PLURAL[kind]}")
                assert answer.status_code == 404
                answer = actor.post(
                    f"/api/couples/{w.couple_id}/{PLURAL[kind]}",
                    json={"body": "x"} if kind == "note" else {"text": "x"},
                )
                assert answer.status_code == 404

    def test_the_therapist_cannot_write(self, app: FastAPI) -> None:
        w = make_world(app)
        answer = w.therapist.post(f"/api/couples/{w.couple_id}/notes", json={"body": "hello"})
        assert answer.status_code == 403
        assert answer.json()["detail"]

    def test_people_who_join_later_read_nothing_written_for_their_predecessors(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        old = write_all(w.partner_a, w.couple_id)
        leave(w.partner_b, w.couple_id)
        ended = w.therapist.delete(f"/api/couples/{w.couple_id}/members/{w.therapist.id}")
        assert ended.status_code == 204
        newcomer = register(app, invitation_code=invite(w.partner_a, w.couple_id))
        new_therapist = register(
            app, role="therapist", invitation_code=invite(w.partner_a, w.couple_id, "therapist")
        )
        for kind in KINDS:
            assert couple_list(newcomer, w.couple_id, kind) == []
            assert couple_list(new_therapist, w.couple_id, kind) == []
            # The author still has all of them.
            assert ids(couple_list(w.partner_a, w.couple_id, kind)) == {
                old[(kind, v)]["id"] for v in VISIBILITIES
            }
            # What is written now reaches the people who hold the places now.
            fresh = write(w.partner_a, w.couple_id, kind, "care_team")
            assert ids(couple_list(newcomer, w.couple_id, kind)) == {fresh["id"]}
            assert ids(couple_list(new_therapist, w.couple_id, kind)) == {fresh["id"]}
        for former in (w.partner_b, w.therapist):
            for kind in KINDS:
                answer = former.get(f"/api/couples/{w.couple_id}/{PLURAL[kind]}")
                assert answer.status_code == 404

    def test_changing_visibility_recomputes_the_readers(self, app: FastAPI) -> None:
        w = make_world(app)
        for kind in KINDS:
            entry = write(w.partner_a, w.couple_id, kind, "private")
            steps = [
                ("partner", {"b"}),
                ("therapist", {"t"}),
                ("care_team", {"b", "t"}),
                ("private", set()),
            ]
            for visibility, readers in steps:
                answer = w.partner_a.patch(
                    f"/api/{PLURAL[kind]}/{entry['id']}", json={"visibility": visibility}
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["id"] == entry["id"]
                assert answer.json()["visibility"] == visibility
                assert answer.json()["created_at"] == entry["created_at"]
                for name, actor in (("b", w.partner_b), ("t", w.therapist)):
                    seen = entry["id"] in ids(couple_list(actor, w.couple_id, kind))
                    assert seen == (name in readers), (kind, visibility, name)
                mine = ids(couple_list(w.partner_a, w.couple_id, kind))
                assert entry["id"] in mine

    def test_a_check_in_answers_the_documented_shape(self, app: FastAPI) -> None:
        w = make_world(app)
        item = publish_plan(app, w)
        log = w.partner_a.post(
            f"/api/plan-items/{item}/sessions", json={"client_id": str(uuid.uuid4())}
        ).json()["id"]
        answer = w.partner_a.post(
            f"/api/couples/{w.couple_id}/checkins",
            json={
                "ratings": {"closeness": 0, "enjoyment": 10},
                "obstacles": "tired",
                "text": "ok",
                "visibility": "partner",
                "plan_item_id": item,
                "session_id": log,
            },
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["ratings"] == {
            "closeness": 0,
            "enjoyment": 10,
            "comfort": None,
            "anxiety": None,
        }
        assert body["plan_item_id"] == item and body["session_id"] == log
        assert body["author_id"] == w.partner_a.id and body["visibility"] == "partner"
        assert {"id", "obstacles", "text", "created_at"} <= set(body)
        [seen] = couple_list(w.partner_b, w.couple_id, "checkin")
        assert seen == body


class TestLeaving:
    def test_the_leaver_keeps_edits_and_deletes_what_they_wrote(self, app: FastAPI) -> None:
        w = make_world(app)
        by_b = write_all(w.partner_b, w.couple_id)
        by_a = write_all(w.partner_a, w.couple_id)
        leave(w.partner_b, w.couple_id)
        for kind in KINDS:
            mine = w.partner_b.get(f"/api/me/{PLURAL[kind]}").json()
            assert ids(mine) == {by_b[(kind, v)]["id"] for v in VISIBILITIES}
            # Nothing of the other partner's, even what was shared with the leaver.
            assert not ids(mine) & {by_a[(kind, v)]["id"] for v in VISIBILITIES}
        note = by_b[("note", "partner")]
        answer = w.partner_b.patch(f"/api/notes/{note['id']}", json={"body": "still mine"})
        assert answer.status_code == 200 and answer.json()["body"] == "still mine"
        # Sharing anew in a couple one has left is refused; making it private is not.
        private = by_b[("note", "private")]
        answer = w.partner_b.patch(f"/api/notes/{private['id']}", json={"visibility": "partner"})
        assert answer.status_code == 409
        answer = w.partner_b.patch(f"/api/notes/{note['id']}", json={"visibility": "private"})
        assert answer.status_code == 200
        assert note["id"] not in ids(couple_list(w.partner_a, w.couple_id, "note"))
        checkin = by_b[("checkin", "care_team")]
        assert w.partner_b.delete(f"/api/checkins/{checkin['id']}").status_code == 204
        assert checkin["id"] not in ids(couple_list(w.partner_a, w.couple_id, "checkin"))

    def test_the_remaining_people_keep_what_the_leaver_shared_with_them(self, app: FastAPI) -> None:
        w = make_world(app)
        by_b = write_all(w.partner_b, w.couple_id)
        leave(w.partner_b, w.couple_id)
        for kind in KINDS:
            a_sees = ids(couple_list(w.partner_a, w.couple_id, kind))
            t_sees = ids(couple_list(w.therapist, w.couple_id, kind))
            assert a_sees == {by_b[(kind, v)]["id"] for v in ("partner", "care_team")}
            assert t_sees == {by_b[(kind, v)]["id"] for v in ("therapist", "care_team")}

    def test_a_former_member_can_no_longer_change_or_see_other_entries(self, app: FastAPI) -> None:
        w = make_world(app)
        shared = write(w.partner_a, w.couple_id, "note", "care_team")
        assert w.partner_b.patch(f"/api/notes/{shared['id']}", json={}).status_code == 403
        leave(w.partner_b, w.couple_id)
        assert w.partner_b.patch(f"/api/notes/{shared['id']}", json={}).status_code == 404
        assert w.partner_b.delete(f"/api/notes/{shared['id']}").status_code == 404


def _count(engine: Engine, table: str, **where: Any) -> int:
    clause = " AND ".join(f"{k} = :{k}" for k in where) or "1 = 1"
    with engine.connect() as connection:
        return connection.execute(
            text(f"SELECT count(*) FROM {table} WHERE {clause}"),  # noqa: S608 (test names)
            where,
        ).scalar_one()


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"body": "x", "visibility": "everyone"},
            {"body": "x", "author_id": "00000000-0000-0000-0000-000000000000"},
            {"body": ""},
            {"body": "   "},
            {"body": "x" * 20_001},
            {"visibility": "private"},
            {"body": None},
            {"body": 12},
        ],
    )
    def test_a_bad_note_is_422_and_writes_nothing(self, app: FastAPI, body: dict) -> None:
        w = make_world(app)
        answer = w.partner_a.post(f"/api/couples/{w.couple_id}/notes", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]
        assert couple_list(w.partner_a, w.couple_id, "note") == []

    @pytest.mark.parametrize(
        "body",
        [
            {"ratings": {"closeness": 11}},
            {"ratings": {"anxiety": -1}},
            {"ratings": {"comfort": 5.5}},
            {"ratings": {"comfort": "5"}},
            {"ratings": {"comfort": True}},
            {"ratings": {"mood": 5}},
            {"text": ""},
            {"text": "x" * 20_001},
            {"obstacles": "x" * 2_001},
            {},
            {"ratings": {}},
            {"text": "x", "visibility": "public"},
            {"text": "x", "author_id": "00000000-0000-0000-0000-000000000000"},
            {"text": "x", "plan_item_id": "not-a-uuid"},
        ],
    )
    def test_a_bad_check_in_is_422_and_writes_nothing(self, app: FastAPI, body: dict) -> None:
        w = make_world(app)
        answer = w.partner_a.post(f"/api/couples/{w.couple_id}/checkins", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"]
        assert couple_list(w.partner_a, w.couple_id, "checkin") == []

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"text": "   "}, "text", "Write something here, or leave it empty"),
            ({"ratings": {"comfort": 4}, "obstacles": " "}, "obstacles", "Write what got in"),
            ({"body": "  "}, "body", "A note needs some text"),
        ],
    )
    def test_blank_text_is_refused_with_a_sentence_about_its_field(
        self, app: FastAPI, body: dict, field: str, message: str
    ) -> None:
        w = make_world(app)
        kind = "notes" if "body" in body else "checkins"
        answer = w.partner_a.post(f"/api/couples/{w.couple_id}/{kind}", json=body)
        assert answer.status_code == 422
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", field] and error["msg"].startswith(message)

    @pytest.mark.parametrize(
        "body",
        [
            {"ratings": {"closeness": 7}},
            {"ratings": {"closeness": 7}, "obstacles": None, "text": None},
            {"ratings": {"closeness": 7, "anxiety": None}, "visibility": "care_team"},
        ],
    )
    def test_a_check_in_with_only_ratings_is_saved(self, app: FastAPI, body: dict) -> None:
        w = make_world(app)
        answer = w.partner_a.post(f"/api/couples/{w.couple_id}/checkins", json=body)
        assert answer.status_code == 201, answer.text
        saved = answer.json()
        assert saved["ratings"]["closeness"] == 7
        assert saved["obstacles"] is None and saved["text"] is None

    def test_the_longest_text_is_accepted(self, app: FastAPI) -> None:
        w = make_world(app)
        answer = w.partner_a.post(f"/api/couples/{w.couple_id}/notes", json={"body": "é" * 20_000})
        assert answer.status_code == 201
        assert answer.json()["body"] == "é" * 20_000

    @pytest.mark.parametrize(
        ("kind", "body"),
        [
            ("note", {"body": ""}),
            ("note", {"body": None}),
            ("note", {"visibility": None}),
            ("note", {"visibility": "all"}),
            ("note", {"author_id": "00000000-0000-0000-0000-000000000000"}),
            ("checkin", {"text": None, "obstacles": None, "ratings": None}),
            ("checkin", {"ratings": {"closeness": 42}}),
            ("checkin", {"text": "x" * 20_001}),
        ],
    )
    def test_a_bad_change_is_422_and_changes_nothing(
        self, app: FastAPI, kind: str, body: dict
    ) -> None:
        w = make_world(app)
        if kind == "note":
            entry = write(w.partner_a, w.couple_id, "note", "partner")
        else:
            answer = w.partner_a.post(
                f"/api/couples/{w.couple_id}/checkins", json={"text": "before", "obstacles": "o"}
            )
            entry = answer.json()
        answer = w.partner_a.patch(f"/api/{PLURAL[kind]}/{entry['id']}", json=body)
        assert answer.status_code == 422, answer.text
        [after] = couple_list(w.partner_a, w.couple_id, kind)
        entry.pop("marker", None)
        assert after == entry

    def test_other_peoples_entries_cannot_be_changed(self, app: FastAPI, engine: Engine) -> None:
        w, other = make_world(app), make_world(app)
        for kind in KINDS:
            private = write(w.partner_a, w.couple_id, kind, "private")
            shared = write(w.partner_a, w.couple_id, kind, "care_team")
            url = f"/api/{PLURAL[kind]}"
            change = {"body": "mine now"} if kind == "note" else {"text": "mine now"}
            for actor in (other.partner_a, other.therapist, w.partner_b, w.therapist):
                assert actor.patch(f"{url}/{private['id']}", json=change).status_code == 404
                assert actor.delete(f"{url}/{private['id']}").status_code == 404
            for actor in (other.partner_a, other.therapist):
                assert actor.patch(f"{url}/{shared['id']}", json=change).status_code == 404
            for actor in (w.partner_b, w.therapist):
                answer = actor.patch(f"{url}/{shared['id']}", json=change)
                assert answer.status_code == 403 and "author" in answer.json()["detail"]
                assert actor.delete(f"{url}/{shared['id']}").status_code == 403
            assert w.partner_a.patch(f"{url}/not-an-id", json=change).status_code == 404
            assert len(couple_list(w.partner_a, w.couple_id, kind)) == 2
            for entry in (private, shared):
                assert entry["marker"] in str(couple_list(w.partner_a, w.couple_id, kind))


class TestPaging:
    def test_lists_are_newest_first_and_page_with_before(self, app: FastAPI) -> None:
        w = make_world(app)
        written = [write(w.partner_a, w.couple_id, "note", v) for v in VISIBILITIES * 2]
        newest_first = [e["id"] for e in reversed(written)]
        for url in (f"/api/couples/{w.couple_id}/notes", "/api/me/notes"):
            got: list[str] = []
            before = None
            while True:
                query: dict[str, Any] = {"limit": 3}
                if before:
                    query["before"] = before
                page = w.partner_a.get(url, params=query).json()
                if not page:
                    break
                assert len(page) <= 3
                got += [e["id"] for e in page]
                before = page[-1]["created_at"]
            assert got == newest_first
            everything = w.partner_a.get(url).json()
            assert [e["id"] for e in everything] == newest_first

    def test_the_visibility_filter_gives_one_tab(self, app: FastAPI) -> None:
        w = make_world(app)
        entries = write_all(w.partner_a, w.couple_id)
        for v in VISIBILITIES:
            mine = couple_list(w.partner_a, w.couple_id, "note", visibility=v)
            assert ids(mine) == {entries[("note", v)]["id"]}
        assert couple_list(w.therapist, w.couple_id, "note", visibility="private") == []

    @pytest.mark.parametrize(
        "query",
        [{"limit": 0}, {"limit": 201}, {"before": "yesterday"}, {"before": "2026-01-01T10:00:00"}],
    )
    def test_bad_paging_is_422(self, app: FastAPI, query: dict) -> None:
        w = make_world(app)
        for url in (f"/api/couples/{w.couple_id}/checkins", "/api/me/checkins"):
            answer = w.partner_a.get(url, params=query)
            assert answer.status_code == 422
            assert answer.json()["detail"]


class TestAccessLog:
    def test_each_therapist_read_of_a_partners_entries_is_logged_for_that_partner(
        self, app: FastAPI
    ) -> None:
        w = make_world(app)
        write(w.partner_a, w.couple_id, "note", "therapist")
        write(w.partner_b, w.couple_id, "note", "partner")
        couple_list(w.therapist, w.couple_id, "note")
        a_log = w.partner_a.get("/api/me/access-log").json()
        reads = [e for e in a_log if e["action"] == "journal.read_by_therapist"]
        assert len(reads) == 1
        assert reads[0]["actor_id"] == w.therapist.id
        assert reads[0]["couple_id"] == w.couple_id
        assert reads[0]["what"] == "notes"  # which entries, by kind; never their text
        # The therapist was shown nothing of partner B's: nothing to log for B.
        b_log = w.partner_b.get("/api/me/access-log").json()
        assert not [e for e in b_log if e["action"] == "journal.read_by_therapist"]
        couple_list(w.therapist, w.couple_id, "checkin")  # nothing there: no event
        couple_list(w.therapist, w.couple_id, "note")
        a_log = w.partner_a.get("/api/me/access-log").json()
        assert len([e for e in a_log if e["action"] == "journal.read_by_therapist"]) == 2

    def test_partners_reading_each_other_is_not_a_therapist_read(self, app: FastAPI) -> None:
        w = make_world(app)
        write(w.partner_a, w.couple_id, "note", "care_team")
        couple_list(w.partner_b, w.couple_id, "note")
        a_log = w.partner_a.get("/api/me/access-log").json()
        assert not [e for e in a_log if e["action"] == "journal.read_by_therapist"]


class TestExportAndDeletion:
    def test_export_has_everything_i_wrote_and_nothing_else(self, app: FastAPI) -> None:
        w = make_world(app)
        by_a = write_all(w.partner_a, w.couple_id)
        by_b = write_all(w.partner_b, w.couple_id)
        exported = w.partner_a.get("/api/me/export")
        assert exported.status_code == 200
        data = exported.json()
        dumped = exported.text
        for entry in by_a.values():
            assert entry["marker"] in dumped
        for entry in by_b.values():
            assert entry["marker"] not in dumped
        assert len(data["notes"]) == 4 and len(data["checkins"]) == 4
        assert {n["visibility"] for n in data["notes"]} == set(VISIBILITIES)
        therapist_export = w.therapist.get("/api/me/export")
        assert therapist_export.json()["notes"] == []
        for entry in [*by_a.values(), *by_b.values()]:
            assert entry["marker"] not in therapist_export.text

    def test_deleting_the_account_removes_entries_and_data_key(
        self, app: FastAPI, engine: Engine
    ) -> None:
        w: World = make_world(app)
        write_all(w.partner_a, w.couple_id)
        by_b = write_all(w.partner_b, w.couple_id)
        a_id = w.partner_a.id.replace("-", "") if engine.dialect.name == "sqlite" else None
        key = a_id or w.partner_a.id
        assert _count(engine, "user_data_key", user_id=key) == 1
        assert w.partner_a.delete_account().status_code == 204
        for table in ("private_note", "shared_note", "private_checkin", "shared_checkin"):
            assert _count(engine, table, author_id=key) == 0
        assert _count(engine, "user_data_key", user_id=key) == 0
        # The other partner's journal is intact and still theirs to read.
        for kind in KINDS:
            mine = ids(couple_list(w.partner_b, w.couple_id, kind))
            assert mine == {by_b[(kind, v)]["id"] for v in VISIBILITIES}


class TestCheckinReferences:
    def test_an_item_or_session_of_another_couple_is_refused(self, app) -> None:  # noqa: ANN001
        world = make_world(app)
        other = make_world(app)
        foreign_item = publish_plan(app, other)
        own_item = publish_plan(app, world)
        logged = world.partner_a.post(
            f"/api/plan-items/{own_item}/sessions", json={"client_id": str(uuid.uuid4())}
        ).json()
        path = f"/api/couples/{world.couple_id}/checkins"
        base = {"text": "fine", "visibility": "private"}
        refused = [
            {**base, "plan_item_id": foreign_item},
            {**base, "plan_item_id": str(uuid.uuid4())},
            {**base, "session_id": str(uuid.uuid4())},
        ]
        for body in refused:
            assert world.partner_a.post(path, json=body).status_code == 422, body
        assert world.partner_a.get("/api/me/checkins").json() == []
        accepted = {**base, "plan_item_id": own_item, "session_id": logged["id"]}
        answer = world.partner_a.post(path, json=accepted)
        assert answer.status_code == 201
        assert answer.json()["session_id"] == logged["id"]
