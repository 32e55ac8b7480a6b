"""Practice single sign-on for therapists: OpenID Connect with Authlib's Starlette client.

Off unless `TANDEM_SSO_ISSUER`, `TANDEM_SSO_CLIENT_ID` and `TANDEM_SSO_CLIENT_SECRET` are set;
then `GET /api/auth/sso/login` sends the browser to the provider (authorization code flow with
PKCE S256, a state and a nonce) and `GET /api/auth/sso/callback` checks all three, creates or
finds the therapist by the provider's subject, starts a session exactly like a password login
(the refresh cookie) and sends the browser to the app, which then asks `POST /api/auth/refresh`
for its access token: no token ever rides in a URL.
"""

import hashlib
import hmac
import logging
import uuid
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from tandem.accounts import service
from tandem.accounts.models import Role, User
from tandem.api.access import OneHop
from tandem.api.openapi import errors
from tandem.api.refresh_cookie import set_refresh_cookie
from tandem.core import audit
from tandem.core.config import Settings
from tandem.core.db import write_session
from tandem.core.errors import Conflict, DomainError, Forbidden, NotFound

log = logging.getLogger("tandem")

SSO_PATH = "/api/auth/sso"
STATE_COOKIE = "__Secure-tandem_sso"
# Long enough to type a password at the provider, short enough that a stale attempt dies.
STATE_MAX_AGE = 600
CLIENT_NAME = "practice"
FAILED = "Single sign-on failed; please start again"

router = APIRouter(prefix=SSO_PATH, tags=["accounts"], route_class=OneHop)


class CallbackRefused(DomainError):
    status_code = 400
    default = FAILED


class ProviderUnavailable(DomainError):
    status_code = 502
    default = "The sign-in provider could not be reached"


class ScopedSessions:
    """Starlette's SessionMiddleware for the SSO routes only: the signed cookie holding the
    state, nonce and PKCE verifier never reaches (or is set by) any other route."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        secret = hmac.new(settings.signing_key, b"tandem sso state cookie", hashlib.sha256)
        self.with_sessions = SessionMiddleware(
            app,
            secret_key=secret.hexdigest(),
            session_cookie=STATE_COOKIE,
            max_age=STATE_MAX_AGE,
            path=SSO_PATH,
            # The provider sends the browser back from its own site: Strict would drop it.
            same_site="lax",
            https_only=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SSO_PATH + "/"):
            await self.with_sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Called by create_app: the OIDC client and its state cookie, only when configured."""
    app.state.sso = None
    if not settings.sso_enabled:
        return
    oauth = OAuth()
    issuer = (settings.sso_issuer or "").rstrip("/")
    app.state.sso = oauth.register(
        CLIENT_NAME,
        client_id=settings.sso_client_id,
        client_secret=settings.sso_client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "timeout": 10.0},
        code_challenge_method="S256",
    )
    app.add_middleware(ScopedSessions, settings=settings)


def _client(request: Request) -> StarletteOAuth2App:
    client: StarletteOAuth2App | None = getattr(request.app.state, "sso", None)
    if client is None:
        raise NotFound()
    return client


def _callback_url(settings: Settings) -> str:
    # From the configured public address, never from the request's Host header.
    return f"{settings.base_url.rstrip('/')}{SSO_PATH}/callback"


SSO_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "Redirect to the provider or back to the app"},
    **errors(400, 403, 404, 409, 502),
}


@router.get("/login", status_code=302, response_class=RedirectResponse, responses=SSO_RESPONSES)
async def sso_login(request: Request) -> RedirectResponse:
    client = _client(request)
    settings: Settings = request.app.state.settings
    try:
        if not await _issuer_matches(client, settings):
            raise ProviderUnavailable("The sign-in provider is not the one configured")
        redirect: RedirectResponse = await client.authorize_redirect(
            request, _callback_url(settings)
        )
        return redirect
    except (httpx2.HTTPError, AuthlibBaseError, ValueError, KeyError) as exc:
        log.warning("sso: provider unreachable or misconfigured: %s", type(exc).__name__)
        raise ProviderUnavailable() from exc


async def _issuer_matches(client: StarletteOAuth2App, settings: Settings) -> bool:
    """The discovery document must name exactly the configured issuer (ASVS 10.5.3): another
    server cannot pass itself off as the practice's provider, and ID tokens are then checked
    against that same issuer."""
    metadata = await client.load_server_metadata()
    return str(metadata.get("issuer", "")).rstrip("/") == (settings.sso_issuer or "").rstrip("/")


@router.get("/callback", status_code=302, response_class=RedirectResponse, responses=SSO_RESPONSES)
async def sso_callback(request: Request) -> RedirectResponse:
    client = _client(request)
    settings: Settings = request.app.state.settings
    if "code" not in request.query_params and "error" not in request.query_params:
        raise CallbackRefused()
    try:
        if not await _issuer_matches(client, settings):
            raise CallbackRefused()
        # Checks the state against the signed cookie (then forgets it), sends the PKCE
        # verifier with the code, and validates the ID token's signature, iss, aud, exp, nonce.
        token = await client.authorize_access_token(request)
    except httpx2.HTTPError as exc:
        log.warning("sso: token exchange failed: %s", type(exc).__name__)
        raise ProviderUnavailable() from exc
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
        # Forged or replayed state, a reused code, a wrong nonce or issuer, a bad signature.
        log.info("sso: callback refused: %s", type(exc).__name__)
        raise CallbackRefused() from exc
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        raise CallbackRefused()
    if not email_trusted(claims, settings):
        log.info("sso: callback refused: email not verified by the provider")
        raise Forbidden(UNVERIFIED_EMAIL)
    issuer = str(claims.get("iss") or settings.sso_issuer)
    tokens = await run_in_threadpool(
        _sign_in,
        request.app.state.engine,
        settings,
        subject=f"{issuer}#{claims['sub']}",
        email=str(claims.get("email") or ""),
        name=str(claims.get("name") or claims.get("preferred_username") or ""),
        device=request.headers.get("user-agent"),
    )
    response = RedirectResponse(f"{settings.base_url.rstrip('/')}/#/signed-in", status_code=302)
    set_refresh_cookie(response, tokens.refresh_token, settings)
    return response


UNVERIFIED_EMAIL = (
    "Your sign-in provider has not confirmed your email address, so it cannot be used here."
)


def email_trusted(claims: dict[str, Any], settings: Settings) -> bool:
    """An account is keyed to the provider's subject, but made with its email: an email the
    provider says it has not verified is refused; one it says nothing about only when the
    operator marked the provider as verifying every email (TANDEM_SSO_TRUST_EMAIL)."""
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers send the string "true"
        verified = verified.strip().lower() == "true"
    if verified is None:
        return settings.sso_trust_email
    return verified is True


def _sign_in(
    engine: Engine, settings: Settings, *, subject: str, email: str, name: str, device: str | None
) -> service.Tokens:
    if len(subject) > 255:
        raise CallbackRefused()
    email = email.strip().lower()
    domain = email.rpartition("@")[2]
    allowed = settings.sso_domain_list
    with write_session(engine) as session:
        user = session.exec(
            select(User).where(User.sso_subject == subject, col(User.deleted_at).is_(None))
        ).first()
        if user is None:
            if "@" not in email or len(email) > 254:
                raise CallbackRefused("The provider did not share an email address")
            if allowed and domain not in allowed:
                raise Forbidden("Accounts of this email domain cannot sign in here")
            if session.exec(select(User.id).where(User.email == email)).first():
                # Never merge into a password account on the provider's word alone.
                raise Conflict("An account with this email already exists; sign in with it")
            user = User(
                id=uuid.uuid4(),
                email=email,
                display_name=(name.strip() or email.partition("@")[0])[:80],
                role=Role.therapist,
                timezone="UTC",
                sso_subject=subject,
            )
            session.add(user)
            try:
                session.flush()
            except IntegrityError as exc:
                raise Conflict("An account with this email already exists") from exc
            audit.record(
                session, action="account.created_sso", actor_id=user.id, subject_user_id=user.id
            )
        elif user.role != Role.therapist:
            raise Forbidden("Single sign-on is for therapist accounts")
        elif allowed and user.email.rpartition("@")[2] not in allowed:
            raise Forbidden("Accounts of this email domain cannot sign in here")
        audit.record(session, action="session.sso", actor_id=user.id, subject_user_id=user.id)
        return service.start_sign_in(session, settings=settings, user=user, device=device)
