from typing import Annotated, Any

from fastapi import APIRouter, Body, Cookie, Request, Response, status

from tandem.accounts import credentials, devices, person_data, service
from tandem.accounts.models import (
    AccessLogEntry,
    LoginBody,
    LogoutBody,
    PasswordChangeBody,
    PasswordConfirmBody,
    RecoverBody,
    RecoveryCodeRead,
    RegisterBody,
    RegisteredUser,
    SignInRead,
    TokenRead,
    User,
    UserRead,
    UserUpdate,
)
from tandem.api.access import (
    AccessDep,
    ClientAddress,
    CurrentUser,
    CurrentUserUnlocked,
    OneHop,
    SettingsDep,
)
from tandem.api.openapi import errors
from tandem.api.refresh_cookie import REFRESH_COOKIE, clear_refresh_cookie, set_refresh_cookie
from tandem.core import audit
from tandem.core.db import SessionDep
from tandem.core.errors import NotFound
from tandem.core.schemas import parse_id

router = APIRouter(prefix="/api", tags=["accounts"], route_class=OneHop)


def _signed_in(response: Response, tokens: service.Tokens, settings: Any) -> TokenRead:
    set_refresh_cookie(response, tokens.refresh_token, settings)
    return TokenRead(access_token=tokens.access_token, expires_in=tokens.expires_in)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredUser,
    responses=errors(403, 409),
)
async def register(
    data: RegisterBody, request: Request, settings: SettingsDep, address: ClientAddress
) -> RegisteredUser:
    user, recovery_code = await credentials.register(
        request.app.state.engine, settings=settings, data=data, address=address
    )
    return RegisteredUser.model_validate(
        {**UserRead.model_validate(user).model_dump(), "recovery_code": recovery_code}
    )


@router.post("/auth/login", response_model=TokenRead, responses=errors(401))
async def login(
    data: LoginBody,
    request: Request,
    response: Response,
    settings: SettingsDep,
    address: ClientAddress,
) -> TokenRead:
    tokens = await credentials.login(
        request.app.state.engine,
        settings=settings,
        email=data.email,
        password=data.password,
        address=address,
        device=request.headers.get("user-agent"),
    )
    return _signed_in(response, tokens, settings)


@router.post("/auth/refresh", response_model=TokenRead, responses=errors(401))
def refresh(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    refresh_token: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> TokenRead:
    return _signed_in(
        response, service.refresh(session, settings=settings, token=refresh_token), settings
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    claims: AccessDep,
    data: Annotated[LogoutBody | None, Body()] = None,
) -> None:
    service.logout(
        session,
        user=user,
        sign_in_id=claims.sign_in_id,
        endpoint=data.endpoint if data else None,
    )
    clear_refresh_cookie(response)


@router.post("/auth/recover", response_model=RecoveryCodeRead)
async def recover(
    data: RecoverBody, request: Request, settings: SettingsDep, address: ClientAddress
) -> RecoveryCodeRead:
    code = await credentials.recover(
        request.app.state.engine,
        settings=settings,
        email=data.email,
        code=data.recovery_code,
        new_password=data.new_password,
        address=address,
    )
    return RecoveryCodeRead(recovery_code=code)


@router.get("/me", response_model=UserRead)
def read_me(user: CurrentUser) -> User:
    return user


@router.patch("/me", response_model=UserRead)
def update_me(data: UserUpdate, user: CurrentUser, session: SessionDep) -> User:
    return service.update_me(session, user=user, data=data)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403))
async def delete_me(
    request: Request,
    response: Response,
    user: CurrentUserUnlocked,
    claims: AccessDep,
    settings: SettingsDep,
    address: ClientAddress,
    data: Annotated[PasswordConfirmBody | None, Body()] = None,
) -> None:
    """Crypto-shreds everything the person wrote: the password again first (`{password}`);
    an account without one (single sign-on) needs a sign-in from the last 5 minutes (403)."""
    await credentials.delete_account(
        request.app.state.engine,
        settings=settings,
        user=user,
        sign_in_id=claims.sign_in_id,
        password=data.password if data else None,
        address=address,
    )
    clear_refresh_cookie(response)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403))
async def change_password(
    data: PasswordChangeBody,
    request: Request,
    user: CurrentUserUnlocked,
    claims: AccessDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> None:
    await credentials.change_password(
        request.app.state.engine,
        settings=settings,
        user=user,
        current=data.current_password,
        new=data.new_password,
        sign_in_id=claims.sign_in_id,
        address=address,
    )


@router.post("/me/recovery-code", response_model=RecoveryCodeRead, responses=errors(403, 409))
async def renew_recovery_code(
    data: PasswordConfirmBody,
    request: Request,
    user: CurrentUserUnlocked,
    claims: AccessDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> RecoveryCodeRead:
    """A new recovery code (the old one stops working), shown once; the password again first."""
    code = await credentials.renew_recovery_code(
        request.app.state.engine,
        settings=settings,
        user=user,
        sign_in_id=claims.sign_in_id,
        password=data.password,
        address=address,
    )
    return RecoveryCodeRead(recovery_code=code)


@router.get("/me/sessions", response_model=list[SignInRead])
def my_sign_ins(user: CurrentUser, claims: AccessDep, session: SessionDep) -> list[SignInRead]:
    return [
        SignInRead(
            id=s.id,
            device=devices.stored_label(s.device),
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            current=s.id == claims.sign_in_id,
        )
        for s in service.active_sign_ins(session, user)
    ]


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def sign_out_device(session_id: str, user: CurrentUser, session: SessionDep) -> None:
    if not service.sign_out_device(session, user=user, sign_in_id=parse_id(session_id)):
        raise NotFound()


@router.delete("/me/sessions", status_code=status.HTTP_204_NO_CONTENT)
def sign_out_everywhere(response: Response, user: CurrentUser, session: SessionDep) -> None:
    service.end_all_sign_ins(session, user_id=user.id)
    session.commit()
    clear_refresh_cookie(response)


@router.get("/me/export")
def export_me(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    data = {
        "format": "tandem-export/1",
        "user": UserRead.model_validate(user).model_dump(mode="json"),
        **person_data.export(session, user=user, settings=settings),
    }
    audit.record(session, action="account.exported", actor_id=user.id, subject_user_id=user.id)
    session.commit()
    return data


@router.get("/me/access-log", response_model=list[AccessLogEntry])
def access_log(user: CurrentUser, session: SessionDep) -> list[AccessLogEntry]:
    events = audit.events_about(session, user.id)
    names = service.display_names(session, {e.actor_id for e in events if e.actor_id})
    return [
        AccessLogEntry(
            at=e.at,
            action=e.action,
            actor_id=e.actor_id,
            actor_display_name=names.get(e.actor_id) if e.actor_id else None,
            couple_id=e.couple_id,
            what=e.detail if e.action.endswith("read_by_therapist") else None,
        )
        for e in events
    ]
