"""The registry of a person's data across every domain: gathered for export, removed when the
account is deleted, dropped for a device signed out.

Accounts sit below every domain that stores what a person wrote, so each of those registers its
part at start-up (tandem/wiring.py, through the domain's own `wiring.register()`): export and
deletion never forget a table, and accounts never import the domains above them. Parts run in
the order they were registered: the couples first (leaving a couple closes what waited on the
person), the sealed texts before the data key that opens them is destroyed (accounts/service.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from tandem.accounts.models import User
from tandem.core.config import Settings

Exporter = Callable[[Session, User, Settings], dict[str, Any]]
Eraser = Callable[[Session, User], None]
DeviceForgetter = Callable[[Session, User, str], None]


@dataclass(frozen=True)
class Part:
    export: Exporter | None = None
    erase: Eraser | None = None
    device_signed_out: DeviceForgetter | None = None


_parts: dict[str, Part] = {}


def register(
    name: str,
    *,
    export: Exporter | None = None,
    erase: Eraser | None = None,
    device_signed_out: DeviceForgetter | None = None,
) -> None:
    """Keyed by name, so registering twice (several apps in one process) adds nothing."""
    _parts[name] = Part(export=export, erase=erase, device_signed_out=device_signed_out)


def export(session: Session, *, user: User, settings: Settings) -> dict[str, Any]:
    """Everything the person wrote, each domain's keys side by side."""
    found: dict[str, Any] = {}
    for part in _parts.values():
        if part.export is not None:
            found.update(part.export(session, user, settings))
    return found


def erase(session: Session, *, user: User) -> None:
    """Delete everything the user authored, in every domain (the caller commits)."""
    for part in _parts.values():
        if part.erase is not None:
            part.erase(session, user)


def device_signed_out(session: Session, *, user: User, endpoint: str) -> None:
    """Signing out on a device drops what only that device had (the caller commits)."""
    for part in _parts.values():
        if part.device_signed_out is not None:
            part.device_signed_out(session, user, endpoint)


def registered() -> list[str]:
    return list(_parts)
