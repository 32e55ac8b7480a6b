"""Which questionnaires exist for whom: the built-in ones, and each therapist's custom ones
(seen by that therapist and by the partners of their couples)."""

import uuid
from typing import Any

from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.couples.models import Membership
from tandem.measures import scoring
from tandem.measures.models import (
    CustomMeasure,
    CustomMeasureBody,
    ItemRead,
    MeasureRead,
    OptionRead,
)
from tandem.measures.scoring import Measure

CUSTOM_PREFIX = "custom-"


def read(measure: Measure) -> MeasureRead:
    raw_scoring = measure.raw.get("scoring", {})
    return MeasureRead(
        key=measure.key,
        title=measure.title,
        instructions=measure.instructions,
        items=[
            ItemRead(
                key=item.key,
                text=item.text,
                options=[OptionRead(value=o.value, label=o.label) for o in item.options],
                required=item.required,
                risk=item.risk_at is not None,
            )
            for item in measure.items
        ],
        scoring={
            "method": "sum",
            "min": measure.min_total,
            "max": measure.max_total,
            "subscales": raw_scoring.get("subscales", []),
            "bands": [band.__dict__ for band in measure.bands],
            "reliable_change": measure.reliable_change,
            **{
                k: v
                for k, v in raw_scoring.items()
                if k in ("cut_off", "cut_off_note", "reliable_change_source") or k.endswith("_note")
            },
        },
        recall_days=measure.recall_days,
        higher_is=measure.higher_is,
        attribution=measure.attribution,
        custom=measure.custom,
    )


def find(session: Session, key: str) -> Measure | None:
    """Any measure by key, for scoring and showing answers already given."""
    builtin = scoring.builtins().get(key)
    if builtin is not None:
        return builtin
    if not key.startswith(CUSTOM_PREFIX):
        return None
    row = session.exec(select(CustomMeasure).where(CustomMeasure.key == key)).first()
    return None if row is None else scoring.parse(row.definition, custom=True)


def _visible_owner_ids(session: Session, user: User) -> set[uuid.UUID]:
    """The therapists whose custom measures this person may see: themselves, or the
    therapists of the couples they are an active partner in."""
    if user.role == Role.therapist:
        return {user.id}
    couple_ids = select(Membership.couple_id).where(
        Membership.user_id == user.id, col(Membership.left_at).is_(None)
    )
    return set(
        session.exec(
            select(Membership.user_id).where(
                col(Membership.couple_id).in_(couple_ids),
                Membership.role == Role.therapist,
                col(Membership.left_at).is_(None),
            )
        ).all()
    )


def visible(session: Session, *, user: User) -> list[MeasureRead]:
    measures = [read(m) for m in scoring.builtins().values()]
    owners = _visible_owner_ids(session, user)
    if owners:
        rows = session.exec(
            select(CustomMeasure)
            .where(col(CustomMeasure.owner_id).in_(owners))
            .order_by(col(CustomMeasure.created_at))
        ).all()
        measures += [read(scoring.parse(row.definition, custom=True)) for row in rows]
    return measures


def usable_by(session: Session, *, key: str, therapist_id: uuid.UUID) -> Measure | None:
    """A measure this therapist may assign: a built-in one or one of their own."""
    builtin = scoring.builtins().get(key)
    if builtin is not None:
        return builtin
    row = session.exec(
        select(CustomMeasure).where(
            CustomMeasure.key == key, CustomMeasure.owner_id == therapist_id
        )
    ).first()
    return None if row is None else scoring.parse(row.definition, custom=True)


def create_custom(session: Session, *, user: User, data: CustomMeasureBody) -> MeasureRead:
    key = f"{CUSTOM_PREFIX}{uuid.uuid4().hex}"
    definition: dict[str, Any] = {
        "key": key,
        "title": data.title,
        "instructions": data.instructions,
        "recall_days": data.recall_days,
        "higher_is": data.higher_is,
        "attribution": data.attribution,
        "items": [
            {
                "key": str(number),
                "text": item.text,
                "options": [o.model_dump() for o in item.options],
                **({"risk_at": item.risk_at} if item.risk_at is not None else {}),
            }
            for number, item in enumerate(data.items, start=1)
        ],
        "scoring": {
            "method": "sum",
            "subscales": [],
            "bands": [
                {
                    "min": b.min,
                    "max": b.max,
                    "label": b.label,
                    "plain": b.plain or b.label,
                }
                for b in data.bands
            ],
            "reliable_change": None,
        },
    }
    session.add(CustomMeasure(key=key, owner_id=user.id, title=data.title, definition=definition))
    session.commit()
    return read(scoring.parse(definition, custom=True))


def export_custom(session: Session, *, user: User) -> list[dict[str, Any]]:
    rows = session.exec(select(CustomMeasure).where(CustomMeasure.owner_id == user.id)).all()
    return [row.definition for row in rows]
