"""`/api/push/*` and `/api/me/reminders`."""

from typing import Annotated

from fastapi import APIRouter, Header, status

from tandem.api.access import CurrentUser, OneHop, SettingsDep
from tandem.api.openapi import errors
from tandem.core.db import SessionDep
from tandem.reminders import service
from tandem.reminders.models import (
    RemindersBody,
    RemindersOut,
    SubscriptionBody,
    SubscriptionOut,
    SubscriptionStatusBody,
    SubscriptionStatusOut,
    TestNotificationOut,
    UnsubscribeBody,
    VapidKeyOut,
)

router = APIRouter(prefix="/api", tags=["reminders"], route_class=OneHop)


@router.get("/push/vapid-public-key")
def get_vapid_public_key(settings: SettingsDep) -> VapidKeyOut:
    return VapidKeyOut(public_key=service.vapid_public_key(settings))


@router.post("/push/subscriptions", status_code=status.HTTP_201_CREATED)
def subscribe(
    data: SubscriptionBody,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    user_agent: Annotated[str | None, Header()] = None,
) -> SubscriptionOut:
    subscription = service.subscribe(
        session, user=user, data=data, settings=settings, user_agent=user_agent
    )
    return SubscriptionOut.model_validate(subscription)


@router.post("/push/subscriptions/status", responses=errors(404))
def subscription_status(
    data: SubscriptionStatusBody, user: CurrentUser, session: SessionDep
) -> SubscriptionStatusOut:
    """This device's registration and how its last notification went (the caller's own only)."""
    return service.subscription_status(session, user=user, endpoint=data.endpoint)


@router.delete("/push/subscriptions", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(data: UnsubscribeBody, user: CurrentUser, session: SessionDep) -> None:
    service.unsubscribe(session, user=user, endpoint=data.endpoint)


@router.post("/push/test", status_code=status.HTTP_202_ACCEPTED)
def send_test(user: CurrentUser, session: SessionDep) -> TestNotificationOut:
    return TestNotificationOut(id=service.send_test(session, user=user))


@router.get("/me/reminders")
def get_reminders(user: CurrentUser, session: SessionDep) -> RemindersOut:
    return service.get_preferences(session, user=user)


@router.put("/me/reminders")
def put_reminders(data: RemindersBody, user: CurrentUser, session: SessionDep) -> RemindersOut:
    return service.set_preferences(session, user=user, data=data)
