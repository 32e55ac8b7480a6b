"""Couples, memberships and invitations: who belongs to which couple, and how they got there."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core import audit, throttle
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, NotFound
from tandem.core.security import digest, new_code, normalize_code
from tandem.couples import access_rules, hooks
from tandem.couples.models import (
    Couple,
    CoupleCreate,
    CoupleRead,
    FormerMemberRead,
    Invitation,
    InvitationCreated,
    MemberRead,
    Membership,
    WeekProgress,
)
from tandem.reminders import outbox
from tandem.reminders.models import NotificationKind

INVITATION_LIFETIME = timedelta(days=7)
MAX_PARTNERS = 2
# What a partner who leaves is no longer told: every kind but a daily reminder (its send check
# asks whether a plan is theirs then) and a test. A partner is in one couple at a time, so each
# such row waiting for them is about the couple they leave.
_THEIR_OWN = (NotificationKind.reminder, NotificationKind.test)
ABOUT_THE_COUPLE = tuple(kind.value for kind in NotificationKind if kind not in _THEIR_OWN)


# --- reading ------------------------------------------------------------------------------


def active_membership(
    session: Session, *, user_id: uuid.UUID, couple_id: uuid.UUID
) -> Membership | None:
    return session.exec(
        select(Membership).where(
            Membership.user_id == user_id, access_rules.active_members(couple_id)
        )
    ).first()


def require_membership(session: Session, *, user: User, couple_id: uuid.UUID) -> Membership:
    """For routes that reach a couple through another object's id: not a member is not found."""
    membership = active_membership(session, user_id=user.id, couple_id=couple_id)
    if membership is None:
        raise NotFound()
    return membership


def get_couple(session: Session, couple_id: uuid.UUID) -> Couple:
    couple = session.get(Couple, couple_id)
    if couple is None:
        raise NotFound()
    return couple


def active_members(session: Session, couple_id: uuid.UUID) -> list[tuple[Membership, User]]:
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.couple_id == couple_id, col(Membership.left_at).is_(None))
        .order_by(col(Membership.joined_at))
    )
    return list(rows.all())


def partner_ids(session: Session, couple_id: uuid.UUID) -> list[uuid.UUID]:
    return [m.user_id for m, _ in active_members(session, couple_id) if m.role == Role.partner]


def therapist_id(session: Session, couple_id: uuid.UUID) -> uuid.UUID | None:
    for membership, _ in active_members(session, couple_id):
        if membership.role == Role.therapist:
            return membership.user_id
    return None


def couple_read(
    session: Session, couple: Couple, *, viewer_id: uuid.UUID | None = None
) -> CoupleRead:
    return couples_read(session, [couple], viewer_id=viewer_id)[0]


def couples_read(
    session: Session, couples: list[Couple], *, viewer_id: uuid.UUID | None = None
) -> list[CoupleRead]:
    """Couples as their members see them, in a fixed number of queries whatever their number
    (a therapist's list of 200 couples must not cost a thousand)."""
    rows: dict[uuid.UUID, list[tuple[Membership, User]]] = {c.id: [] for c in couples}
    if couples:
        for membership, user in session.exec(
            select(Membership, User)
            .join(User, col(User.id) == Membership.user_id)
            .where(col(Membership.couple_id).in_(list(rows)))
            .order_by(col(Membership.joined_at))
        ).all():
            rows[membership.couple_id].append((membership, user))
    active = {c: [(m, u) for m, u in found if m.left_at is None] for c, found in rows.items()}
    partners = {
        couple_id: [m.user_id for m, _ in members if m.role == Role.partner]
        for couple_id, members in active.items()
    }
    weeks = hooks.week_progress(session, couples, partners)
    answers = []
    for couple in couples:
        week = weeks.get(couple.id)
        this_week = None if week is None else WeekProgress(done=week[0], target=week[1])
        answers.append(
            CoupleRead(
                id=couple.id,
                label=couple.label,
                timezone=couple.timezone,
                members=[
                    MemberRead(user_id=m.user_id, display_name=u.display_name, role=m.role)
                    for m, u in active[couple.id]
                ],
                this_week=this_week,
                former_members=_former_members(rows[couple.id], viewer_id),
            )
        )
    return answers


def _former_members(
    rows: list[tuple[Membership, User]], viewer_id: uuid.UUID | None
) -> list[FormerMemberRead]:
    """Members who left while the viewer was there, newest first (not someone who is back)."""
    viewer = next((m for m, _ in rows if m.user_id == viewer_id and m.left_at is None), None)
    if viewer is None:
        return []
    present = {m.user_id for m, _ in rows if m.left_at is None}
    gone = [
        FormerMemberRead(
            user_id=m.user_id, display_name=u.display_name, role=m.role, left_at=m.left_at
        )
        for m, u in rows
        if m.left_at is not None and m.left_at >= viewer.joined_at and m.user_id not in present
    ]
    return sorted(gone, key=lambda f: f.left_at, reverse=True)


def my_couples(session: Session, user: User) -> list[Couple]:
    return list(
        session.exec(
            select(Couple)
            .join(Membership, col(Membership.couple_id) == Couple.id)
            .where(Membership.user_id == user.id, col(Membership.left_at).is_(None))
            .order_by(col(Couple.created_at).desc())
        )
    )


# --- creating and joining -----------------------------------------------------------------


def create_couple(session: Session, *, user: User, data: CoupleCreate) -> Couple:
    couple = Couple(label=data.label, timezone=data.timezone)
    session.add(couple)
    session.flush()
    _join(session, couple=couple, user=user, role=user.role)
    session.commit()
    return couple


def _join(session: Session, *, couple: Couple, user: User, role: Role) -> Membership:
    """Add a member, checking the couple's shape; the caller commits."""
    if role != user.role:
        raise Forbidden(f"This place is for a {role} account")
    members = active_members(session, couple.id)
    if any(m.user_id == user.id for m, _ in members):
        raise Conflict("You are already a member of this couple")
    if role == Role.partner:
        if sum(m.role == Role.partner for m, _ in members) >= MAX_PARTNERS:
            raise Conflict("This couple already has two partners")
        if session.exec(
            select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.role == Role.partner,
                col(Membership.left_at).is_(None),
            )
        ).first():
            raise Conflict("You already belong to a couple; leave it first")
    elif any(m.role == Role.therapist for m, _ in members):
        raise Conflict("This couple already has a therapist")
    membership = Membership(couple_id=couple.id, user_id=user.id, role=role)
    session.add(membership)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request joined at the same moment; the partial unique indexes caught it.
        raise Conflict("This couple's membership changed; try again") from exc
    audit.record(
        session,
        action="membership.joined",
        actor_id=user.id,
        couple_id=couple.id,
        subject_user_id=user.id,
        detail=str(role),
    )
    return membership


def _lock_couple(session: Session, couple_id: uuid.UUID) -> Couple:
    # Serialises membership changes of one couple on PostgreSQL (SQLite writers already are).
    couple = session.exec(select(Couple).where(Couple.id == couple_id).with_for_update()).first()
    if couple is None:
        raise NotFound()
    return couple


def create_invitation(
    session: Session, *, settings: Settings, membership: Membership, user: User, role: Role
) -> InvitationCreated:
    if membership.role == Role.therapist and role != Role.partner:
        raise Forbidden("A therapist invites partners")
    members = active_members(session, membership.couple_id)
    if role == Role.partner and sum(m.role == Role.partner for m, _ in members) >= MAX_PARTNERS:
        raise Conflict("This couple already has two partners")
    if role == Role.therapist and any(m.role == Role.therapist for m, _ in members):
        raise Conflict("This couple already has a therapist")
    code = new_code()
    invitation = Invitation(
        couple_id=membership.couple_id,
        role=role,
        code_hash=digest(code),
        created_by=user.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    session.add(invitation)
    audit.record(
        session,
        action="invitation.created",
        actor_id=user.id,
        couple_id=membership.couple_id,
        detail=str(role),
    )
    session.commit()
    return InvitationCreated(
        id=invitation.id,
        role=invitation.role,
        expires_at=invitation.expires_at,
        created_by=invitation.created_by,
        code=code,
        # The code rides in the fragment, which browsers never send to any server.
        link=f"{settings.base_url}/#/join/{code}",
    )


def open_invitations(session: Session, couple_id: uuid.UUID) -> list[Invitation]:
    return list(
        session.exec(
            select(Invitation)
            .where(
                Invitation.couple_id == couple_id,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
            )
            .order_by(col(Invitation.created_at).desc())
        )
    )


def revoke_invitation(session: Session, *, user: User, invitation_id: uuid.UUID) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound()
    membership = require_membership(session, user=user, couple_id=invitation.couple_id)
    if membership.role == Role.partner and invitation.created_by != user.id:
        raise Forbidden("Partners revoke only the invitations they made")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.add(invitation)
        audit.record(
            session, action="invitation.revoked", actor_id=user.id, couple_id=invitation.couple_id
        )
    session.commit()


def find_usable_invitation(session: Session, code: str) -> Invitation | None:
    invitation = session.exec(
        select(Invitation).where(Invitation.code_hash == digest(normalize_code(code)))
    ).first()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        return None
    return invitation


def invitation_throttle_keys(
    settings: Settings, *, user: User | None, address: str | None
) -> list[throttle.Key]:
    return throttle.keys(
        settings, "invite", account=str(user.id) if user else None, address=address
    )


def accept_invitation(
    session: Session,
    *,
    settings: Settings,
    user: User,
    code: str,
    address: str | None,
    commit: bool = True,
) -> Membership:
    keys = invitation_throttle_keys(settings, user=user, address=address)
    # Counted before the code is looked at (atomic: see throttle.py); a right code gives it back.
    throttle.attempt(session, keys)
    invitation = find_usable_invitation(session, code)
    if invitation is None:
        session.commit()
        raise NotFound("This invitation code is not valid, was already used or has expired")
    couple = _lock_couple(session, invitation.couple_id)
    membership = _join(session, couple=couple, user=user, role=invitation.role)
    # Conditional update: of two people racing with one code, exactly one gets it.
    claimed = session.exec(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.accepted_at).is_(None))
        .values(accepted_at=utcnow(), accepted_by=user.id)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise NotFound("This invitation code is not valid, was already used or has expired")
    throttle.succeeded(session, keys)
    if commit:
        session.commit()
    return membership


# --- leaving ------------------------------------------------------------------------------


def end_membership(session: Session, *, membership: Membership, actor: User, action: str) -> None:
    membership.left_at = utcnow()
    session.add(membership)
    # The leaver's open invitations go with them.
    session.execute(
        update(Invitation)
        .where(
            col(Invitation.couple_id) == membership.couple_id,
            col(Invitation.created_by) == membership.user_id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    audit.record(
        session,
        action=action,
        actor_id=actor.id,
        couple_id=membership.couple_id,
        subject_user_id=membership.user_id,
        detail=str(membership.role),
    )
    if membership.role == Role.partner:
        # What waited on them is closed, what was still to be sent to them about the couple
        # is not sent, and those left behind are told (same transaction).
        session.flush()
        outbox.cancel_pending_to(session, user_id=membership.user_id, kinds=ABOUT_THE_COUPLE)
        staying = active_members(session, membership.couple_id)
        hooks.partner_left(
            session,
            hooks.PartnerLeft(
                couple_id=membership.couple_id,
                membership_id=membership.id,
                user_id=membership.user_id,
                partner_ids=[m.user_id for m, _ in staying if m.role == Role.partner],
                therapist_id=next(
                    (m.user_id for m, _ in staying if m.role == Role.therapist), None
                ),
            ),
        )


def leave(session: Session, *, membership: Membership, user: User) -> None:
    _lock_couple(session, membership.couple_id)
    end_membership(session, membership=membership, actor=user, action="membership.left")
    session.commit()


def remove_member(
    session: Session, *, membership: Membership, user: User, member_id: uuid.UUID
) -> None:
    _lock_couple(session, membership.couple_id)
    target = active_membership(session, user_id=member_id, couple_id=membership.couple_id)
    if target is None:
        raise NotFound()
    if target.role == Role.partner and target.user_id != user.id:
        raise Forbidden("Nobody can remove a partner; a partner can only leave")
    if membership.role == Role.therapist and target.user_id != user.id:
        raise Forbidden("A therapist can only end their own care")
    action = "membership.left" if target.user_id == user.id else "membership.removed"
    end_membership(session, membership=target, actor=user, action=action)
    session.commit()


# --- a person's data (registered with accounts/person_data.py) ----------------------------


def export_memberships(session: Session, *, user: User) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Membership, Couple)
        .join(Couple, col(Couple.id) == Membership.couple_id)
        .where(Membership.user_id == user.id)
        .order_by(col(Membership.joined_at))
    ).all()
    return [
        {
            "couple_id": str(couple.id),
            "couple_label": couple.label,
            "role": membership.role,
            "joined_at": membership.joined_at.isoformat(),
            "left_at": membership.left_at.isoformat() if membership.left_at else None,
        }
        for membership, couple in rows
    ]


def leave_every_couple(session: Session, *, user: User) -> None:
    """The account is being deleted: it leaves each couple as a partner who leaves would (the
    caller commits)."""
    for membership in session.exec(
        select(Membership).where(Membership.user_id == user.id, col(Membership.left_at).is_(None))
    ):
        end_membership(
            session, membership=membership, actor=user, action="membership.account_deleted"
        )
