"""Password hashing, access tokens and the random secrets handed to people."""

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from tandem.core.config import Settings
from tandem.core.errors import Unauthorized

ACCESS_TOKEN_TYPE = "at+jwt"
# The only algorithm accepted: tokens are made and checked by this server alone.
ALLOWED_ALGORITHMS = ["HS256"]
MAX_TOKEN_LENGTH = 2048


@lru_cache(maxsize=2)
def password_hasher(cost: str) -> PasswordHash:
    if cost == "low":
        # Test suites only (Settings refuses it on https): fast, still argon2id.
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash.recommended()


def hash_password(password: str, settings: Settings) -> str:
    return password_hasher(settings.hash_cost).hash(password)


def verify_password(password: str, password_hash: str | None, settings: Settings) -> bool:
    hasher = password_hasher(settings.hash_cost)
    if password_hash is None:
        # Unknown account: spend the same time as a real check, so timing tells nothing.
        hasher.verify(password, _dummy_hash(settings.hash_cost))
        return False
    return hasher.verify(password, password_hash)


@lru_cache(maxsize=2)
def _dummy_hash(cost: str) -> str:
    return password_hasher(cost).hash(secrets.token_urlsafe(16))


def digest(value: str) -> str:
    """Hash of a high-entropy secret (refresh token, invitation code): a fast hash suffices."""
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_digest(value: str, settings: Settings) -> str:
    """Hash of a low-entropy value (email, address) used as a lookup key, keyed so a leaked
    table cannot be reversed by guessing."""
    return hmac.new(settings.signing_key, value.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code(groups: int = 5) -> str:
    """A code people can type: Crockford-like base32, 4-character groups (5 groups = 100 bits)."""
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
    chars = "".join(secrets.choice(alphabet) for _ in range(groups * 4))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def normalize_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1").replace("U", "V")
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    sign_in_id: uuid.UUID  # the sign-in (signed-in device) it was issued for: claim "sid"


def _key(settings: Settings) -> OctKey:
    return OctKey.import_key(settings.signing_key)


def issue_access_token(
    *, user_id: uuid.UUID, sign_in_id: uuid.UUID, settings: Settings
) -> tuple[str, int]:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": settings.base_url,
        "aud": settings.base_url + "/api",
        "sub": str(user_id),
        "sid": str(sign_in_id),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    header = {"alg": "HS256", "typ": ACCESS_TOKEN_TYPE}
    token = jwt.encode(header, claims, _key(settings), algorithms=ALLOWED_ALGORITHMS)
    return token, int(lifetime.total_seconds())


# Tokens already verified, with their claims and `exp`: the signature and the claims of a token
# do not change, so each is verified once until it expires (~40 µs of joserfc per request
# otherwise). Only the token's own claims are kept: every request still checks its sign-in and
# memberships in the database (api/access.py), so no authorization decision is cached. Keyed by
# the signing key and issuer too: several apps (the tests) or a rotated key share the process.
_VERIFIED: dict[tuple[str, bytes, str], tuple[AccessClaims, int]] = {}
_VERIFIED_MAX = 4096


def read_access_token(token: str, settings: Settings) -> AccessClaims:
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("Invalid token")
    key = (token, settings.signing_key, settings.base_url)
    found = _VERIFIED.get(key)
    # As joserfc's exp check: a token is expired from its `exp` second on.
    if found is not None and found[1] > int(time.time()):
        return found[0]
    claims, expires = _verify(token, settings)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # rare (4,096 live tokens in one process); simpler than an LRU
    _VERIFIED[key] = (claims, expires)
    return claims


def _verify(token: str, settings: Settings) -> tuple[AccessClaims, int]:
    try:
        decoded = jwt.decode(token, _key(settings), algorithms=ALLOWED_ALGORITHMS)
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE or set(decoded.header) - {"alg", "typ"}:
            raise Unauthorized("Invalid token")
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.base_url},
            aud={"essential": True, "value": settings.base_url + "/api"},
            exp={"essential": True},
            sub={"essential": True},
            sid={"essential": True},
        ).validate(decoded.claims)
        claims = AccessClaims(uuid.UUID(decoded.claims["sub"]), uuid.UUID(decoded.claims["sid"]))
        return claims, int(decoded.claims["exp"])
    except (JoseError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise Unauthorized("Invalid token") from exc


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
