"""Check-ins and notes. `CASES` is one case per route (the matrix allows no more);
`VISIBILITY_CASES`, run by tests/test_journal_authz.py with the same machinery, repeats every
route for each of the four visibilities.

Entries are written lazily by this couple's partner (`partner`) into the matrix world's
`context`, one per kind and visibility.
"""

from tests.authz import Case, MatrixWorld

KINDS = {"checkin": "checkins", "note": "notes"}
VISIBILITIES = ("private", "partner", "therapist", "care_team")


def entry_body(kind: str, visibility: str, marker: str = "authz") -> dict:
    if kind == "note":
        return {"body": f"note {marker}", "visibility": visibility}
    return {"text": f"check-in {marker}", "ratings": {"closeness": 7}, "visibility": visibility}


def entry(world: MatrixWorld, kind: str, visibility: str) -> str:
    key = f"{kind}:{visibility}"
    if key not in world.context:
        answer = world.world.partner_a.post(
            f"/api/couples/{world.couple_id}/{KINDS[kind]}", json=entry_body(kind, visibility)
        )
        assert answer.status_code == 201, answer.text
        world.context[key] = answer.json()["id"]
    return world.context[key]


# What the couple's other members may do with `partner`'s entry of each visibility: its
# readers are told it is not theirs to change (403); everyone else learns nothing (404).
def _by_id_expect(visibility: str, success: int) -> dict[str, int]:
    reads = {
        "private": (),
        "partner": ("partner_b",),
        "therapist": ("therapist",),
        "care_team": ("partner_b", "therapist"),
    }[visibility]
    expect = {"partner": success, "partner_b": 404, "therapist": 404}
    expect.update({reader: 403 for reader in reads})
    return expect


def _cases(kind: str, visibility: str) -> list[Case]:
    plural = KINDS[kind]
    id_name = f"{kind}_id"
    edit = {"body": "edited"} if kind == "note" else {"text": "edited"}
    return [
        Case(
            "POST",
            f"/api/couples/{{couple_id}}/{plural}",
            # Only partners write; the therapist may read some, never write.
            expect={"partner": 201, "partner_b": 201, "therapist": 403},
            params=lambda w: {"couple_id": w.couple_id},
            body=lambda w, k=kind, v=visibility: entry_body(k, v),
        ),
        Case(
            "GET",
            f"/api/couples/{{couple_id}}/{plural}",
            expect={"partner": 200, "partner_b": 200, "therapist": 200},
            params=lambda w: {"couple_id": w.couple_id},
            query=lambda w, k=kind, v=visibility: {"visibility": v, "_": entry(w, k, v)},
        ),
        Case(
            "PATCH",
            f"/api/{plural}/{{{id_name}}}",
            expect=_by_id_expect(visibility, 200),
            params=lambda w, k=kind, v=visibility, n=id_name: {n: entry(w, k, v)},
            body=lambda w, e=edit: e,
        ),
        Case(
            "DELETE",
            f"/api/{plural}/{{{id_name}}}",
            fresh="actor",
            expect=_by_id_expect(visibility, 204),
            params=lambda w, k=kind, v=visibility, n=id_name: {n: entry(w, k, v)},
        ),
        Case(
            "GET",
            f"/api/me/{plural}",
            # Author-only and membership-free: every signed-in person has a (maybe empty) list.
            expect={"everyone": 200},
            query=lambda w, k=kind, v=visibility: {"visibility": v, "_": entry(w, k, v)},
        ),
    ]


# The shared matrix sees each route once, with the most widely shared visibility.
CASES = [case for kind in KINDS for case in _cases(kind, "care_team")]

VISIBILITY_CASES = [
    (visibility, case)
    for kind in KINDS
    for visibility in VISIBILITIES
    for case in _cases(kind, visibility)
]
