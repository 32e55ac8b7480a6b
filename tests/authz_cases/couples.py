from tests.authz import Case

CASES = [
    Case(
        "POST",
        "/api/couples",
        fresh="actor",
        # A partner already in a couple cannot found another; the stranger and therapists can.
        expect={
            "stranger": 201,
            "other_partner": 409,
            "other_therapist": 201,
            "former": 201,
            "partner": 409,
            "partner_b": 409,
            "therapist": 201,
        },
        body=lambda w: {"label": "New couple", "timezone": "Europe/Paris"},
    ),
    Case("GET", "/api/couples", expect={"everyone": 200}),
    Case(
        "GET",
        "/api/couples/{couple_id}",
        expect={"partner": 200, "partner_b": 200, "therapist": 200},
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "POST",
        "/api/couples/{couple_id}/invitations",
        # The couple is full: it has two partners and a therapist.
        expect={"partner": 409, "partner_b": 409, "therapist": 409},
        params=lambda w: {"couple_id": w.couple_id},
        body=lambda w: {"role": "partner"},
    ),
    Case(
        "GET",
        "/api/couples/{couple_id}/invitations",
        expect={"partner": 200, "partner_b": 200, "therapist": 200},
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "DELETE",
        "/api/invitations/{invitation_id}",
        fresh="actor",
        # An open invitation made by this couple's therapist before the partners joined:
        # the therapist may revoke it, partners may not (not theirs), outsiders see nothing.
        expect={"partner": 403, "partner_b": 403, "therapist": 204},
        params=lambda w: {"invitation_id": w.context["therapist_invitation"]},
    ),
    Case(
        "POST",
        "/api/invitations/accept",
        expect={"everyone": 404},
        body=lambda w: {"code": "AAAA-BBBB-CCCC-DDDD-EEEE"},
    ),
    Case(
        "POST",
        "/api/couples/{couple_id}/leave",
        fresh="actor",
        expect={"partner": 204, "partner_b": 204, "therapist": 204},
        params=lambda w: {"couple_id": w.couple_id},
    ),
    Case(
        "DELETE",
        "/api/couples/{couple_id}/members/{user_id}",
        fresh="actor",
        # The member removed is the therapist: either partner may, and the therapist may end
        # their own care.
        expect={"partner": 204, "partner_b": 204, "therapist": 204},
        params=lambda w: {"couple_id": w.couple_id, "user_id": w.world.therapist.id},
    ),
]
