"""Forged, altered and stale access tokens: every one is a 401 (with `WWW-Authenticate`), never
a 500 and never a way in. Tokens are built by hand so each attack is exactly what it says."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import RSAKey

from tandem.core.security import ACCESS_TOKEN_TYPE, MAX_TOKEN_LENGTH, read_access_token
from tests.factories import Actor, new_client, register

# Routes that need a signed-in user: a reader, a writer and a couple route.
PROTECTED = [("GET", "/api/me"), ("GET", "/api/me/sessions"), ("GET", "/api/couples")]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(app: FastAPI, actor: Actor, **changes: Any) -> dict[str, Any]:
    """The claims of the actor's real token, with changes (None removes a claim)."""
    real = read_access_token(actor.token, app.state.settings)
    base_url = app.state.settings.base_url
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": base_url,
        "aud": base_url + "/api",
        "sub": str(real.user_id),
        "sid": str(real.sign_in_id),
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex[:16],
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


HEADER = {"alg": "HS256", "typ": ACCESS_TOKEN_TYPE}


@pytest.fixture(scope="module")
def victim(app: FastAPI) -> Actor:
    return register(app)


def _assert_refused(app: FastAPI, token: str) -> None:
    client = new_client(app)
    for method, path in PROTECTED:
        answer = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (path, answer.status_code, answer.text)
        assert answer.headers.get("www-authenticate") == "Bearer"
        assert answer.json() in ({"detail": "Invalid token"}, {"detail": "Signed out"})


class TestTheBaseline:
    def test_a_hand_built_token_with_the_real_key_is_accepted(
        self, app: FastAPI, victim: Actor
    ) -> None:
        # Proves the forgeries below fail for the reason they name, not for a typo.
        token = _hs256(HEADER, _claims(app, victim), app.state.settings.signing_key)
        answer = new_client(app).get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200


class TestAlgorithmAttacks:
    @pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
    def test_alg_none_is_refused(self, app: FastAPI, victim: Actor, alg: str) -> None:
        unsigned = (
            f"{_segment({'alg': alg, 'typ': ACCESS_TOKEN_TYPE})}.{_segment(_claims(app, victim))}"
        )
        _assert_refused(app, unsigned + ".")
        _assert_refused(app, unsigned)

    def test_rs256_with_a_generated_key_is_refused(self, app: FastAPI, victim: Actor) -> None:
        key = RSAKey.generate_key(2048)
        token = jwt.encode(
            {"alg": "RS256", "typ": ACCESS_TOKEN_TYPE},
            _claims(app, victim),
            key,
            algorithms=["RS256"],
        )
        _assert_refused(app, token)

    def test_hs256_signed_with_a_public_key_is_refused(self, app: FastAPI, victim: Actor) -> None:
        public_pem = RSAKey.generate_key(2048).as_pem(private=False)
        _assert_refused(app, _hs256(HEADER, _claims(app, victim), public_pem))

    @pytest.mark.parametrize("alg", ["HS384", "HS512", "ES256", "PS256", "EdDSA"])
    def test_other_algorithms_are_refused(self, app: FastAPI, victim: Actor, alg: str) -> None:
        # Signed with the right secret as HS256 but labelled otherwise.
        header = {"alg": alg, "typ": ACCESS_TOKEN_TYPE}
        _assert_refused(app, _hs256(header, _claims(app, victim), app.state.settings.signing_key))


class TestSignatures:
    def test_a_wrong_secret_is_refused(self, app: FastAPI, victim: Actor) -> None:
        _assert_refused(app, _hs256(HEADER, _claims(app, victim), b"x" * 32))

    def test_an_altered_payload_is_refused(self, app: FastAPI, victim: Actor) -> None:
        other = register(app)
        header, _payload, signature = victim.token.split(".")
        forged_claims = _claims(app, other)
        _assert_refused(app, f"{header}.{_segment(forged_claims)}.{signature}")

    def test_a_flipped_signature_is_refused(self, app: FastAPI, victim: Actor) -> None:
        head, payload, signature = victim.token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        _assert_refused(app, f"{head}.{payload}.{flipped}")
        _assert_refused(app, f"{head}.{payload}.")


class TestClaims:
    @pytest.mark.parametrize(
        "name",
        [
            "expired",
            "no-exp",
            "audience-of-the-issuer",
            "foreign-audience",
            "no-aud",
            "foreign-issuer",
            "no-iss",
            "no-sub",
            "no-sid",
            "sub-not-a-uuid",
            "sid-path",
            "sub-a-number",
            "not-yet-valid-nbf",
            "issued-in-the-future",
            "exp-not-a-number",
        ],
    )
    def test_bad_claims_are_refused(self, app: FastAPI, victim: Actor, name: str) -> None:
        now = int(time.time())
        changes = {
            "expired": {"exp": now - 60},
            "no-exp": {"exp": None},
            "audience-of-the-issuer": {"aud": "http://localhost:8000"},
            "foreign-audience": {"aud": "https://elsewhere.example/api"},
            "no-aud": {"aud": None},
            "foreign-issuer": {"iss": "https://elsewhere.example"},
            "no-iss": {"iss": None},
            "no-sub": {"sub": None},
            "no-sid": {"sid": None},
            "sub-not-a-uuid": {"sub": "not-a-uuid"},
            "sid-path": {"sid": "../../etc/passwd"},
            "sub-a-number": {"sub": 12345},
            "not-yet-valid-nbf": {"nbf": now + 3600},
            "issued-in-the-future": {"iat": now + 3600},
            "exp-not-a-number": {"exp": "tomorrow"},
        }[name]
        token = _hs256(HEADER, _claims(app, victim, **changes), app.state.settings.signing_key)
        _assert_refused(app, token)

    @pytest.mark.parametrize("typ", ["JWT", "jwt", "at+JWT-x", None])
    def test_a_wrong_or_missing_typ_is_refused(
        self, app: FastAPI, victim: Actor, typ: str | None
    ) -> None:
        header: dict[str, Any] = {"alg": "HS256"}
        if typ is not None:
            header["typ"] = typ
        _assert_refused(app, _hs256(header, _claims(app, victim), app.state.settings.signing_key))


class TestHeaderInjection:
    @pytest.mark.parametrize(
        "extra",
        [
            {"kid": "../../../../dev/null"},
            {"kid": "' OR '1'='1"},
            {"jku": "https://attacker.example/jwks.json"},
            {"x5u": "https://attacker.example/cert.pem"},
            {"jwk": {"kty": "oct", "k": _b64(b"attacker-chosen-key-of-32-bytes!")}},
            {"x5c": ["MIIB"]},
            {"crit": ["exp"]},
            {"cty": "JWT"},
            {"b64": False, "crit": ["b64"]},
        ],
        ids=lambda e: ",".join(e),
    )
    def test_extra_header_parameters_are_refused(
        self, app: FastAPI, victim: Actor, extra: dict[str, Any]
    ) -> None:
        # Signed with the real key, so only the header parameter can be why it fails.
        header = {**HEADER, **extra}
        _assert_refused(app, _hs256(header, _claims(app, victim), app.state.settings.signing_key))

    def test_a_token_signed_with_its_own_embedded_jwk_is_refused(
        self, app: FastAPI, victim: Actor
    ) -> None:
        key = b"attacker-chosen-key-of-32-bytes!"
        header = {**HEADER, "jwk": {"kty": "oct", "k": _b64(key)}}
        _assert_refused(app, _hs256(header, _claims(app, victim), key))


class TestShapes:
    @pytest.mark.parametrize(
        "token",
        [
            "",
            "a",
            "a.b",
            "a.b.c",
            "a.b.c.d.e",
            "....",
            "é.é.é",
            "eyJhbGciOiJIUzI1NiJ9.%%%.abc",
            "x" * (MAX_TOKEN_LENGTH + 1),
        ],
        ids=lambda t: t[:12] or "empty",
    )
    def test_malformed_tokens_are_refused(self, app: FastAPI, token: str) -> None:
        # As raw bytes: a client may send anything, not only ASCII.
        header = f"Bearer {token}".encode()
        answer = new_client(app).get("/api/me", headers={"Authorization": header})
        assert answer.status_code == 401, answer.text

    def test_an_oversized_but_validly_signed_token_is_refused(
        self, app: FastAPI, victim: Actor
    ) -> None:
        claims = _claims(app, victim, padding="p" * MAX_TOKEN_LENGTH)
        _assert_refused(app, _hs256(HEADER, claims, app.state.settings.signing_key))

    @pytest.mark.parametrize("scheme", ["Basic", "Token", "bearer\t", ""])
    def test_other_schemes_are_refused(self, app: FastAPI, victim: Actor, scheme: str) -> None:
        answer = new_client(app).get(
            "/api/me", headers={"Authorization": f"{scheme} {victim.token}".strip()}
        )
        assert answer.status_code == 401


class TestSessions:
    def test_a_token_of_a_signed_out_session_is_refused(self, app: FastAPI) -> None:
        actor = register(app)
        token = actor.token
        assert actor.post("/api/auth/logout").status_code == 204
        _assert_refused(app, token)

    def test_a_token_whose_sub_and_sid_belong_to_different_people_is_refused(
        self, app: FastAPI, victim: Actor
    ) -> None:
        other = register(app)
        other_sid = str(read_access_token(other.token, app.state.settings).sign_in_id)
        # Validly signed (as if the key had leaked into a test): the pairing is still checked.
        token = _hs256(HEADER, _claims(app, victim, sid=other_sid), app.state.settings.signing_key)
        _assert_refused(app, token)

    def test_a_token_for_an_unknown_session_is_refused(self, app: FastAPI, victim: Actor) -> None:
        token = _hs256(
            HEADER, _claims(app, victim, sid=str(uuid.uuid4())), app.state.settings.signing_key
        )
        _assert_refused(app, token)

    def test_a_token_of_a_deleted_account_is_refused(self, app: FastAPI) -> None:
        actor = register(app)
        token = actor.token
        assert actor.delete_account().status_code == 204
        _assert_refused(app, token)
