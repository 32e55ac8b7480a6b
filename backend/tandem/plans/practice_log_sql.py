"""The statements a practice log is written with (plans/practice_logs.py), built once at
import: constructing a statement costs more CPU than SQLite takes to run it."""

from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from tandem.accounts.models import SignIn, User
from tandem.core.db import table_of
from tandem.core.prepared import Prepared
from tandem.couples import access_rules as rules
from tandem.couples.models import Membership
from tandem.plans.models import (
    LogStatus,
    PlanItem,
    PlanItemAssignee,
    PracticeLog,
    PracticeLogRead,
    PracticeLogRequest,
    WeeklyPlan,
)
from tandem.reminders import outbox
from tandem.reminders.models import ReminderPreference

LOGS = table_of(PracticeLog)
REQUESTS = table_of(PracticeLogRequest)
# ORM attributes: SQLModel types a column at class level as its value, hence Any.
LOG_COLUMNS: tuple[Any, ...] = (
    PracticeLog.id,
    PracticeLog.plan_item_id,
    PracticeLog.logged_by,
    PracticeLog.done_on,
    PracticeLog.status,
    PracticeLog.confirmed_by,
    PracticeLog.disputed_by,
    PracticeLog.client_id,
    PracticeLog.created_at,
    PracticeLog.withdrawn_reason,
)

# 1. Everything the checks need, in one query: the sign-in (as access.current_user, with the
#    same fragments: couples/access_rules.py; absent when no sign_in_id is given), the item
#    and its plan, the plan's couple's active members (the caller's role, the partners), the
#    item's explicit assignees, and the log an earlier request of this user with this
#    client_id produced (a replay). One row per member and explicit assignee; no row means
#    the user is unknown or deleted. Run on the driver's cursor (core/prepared.py): the
#    busiest write's largest fixed cost was SQLAlchemy's.
CONTEXT = Prepared(
    core_select(
        *rules.SIGN_IN_COLUMNS,
        col(User.timezone),
        col(PlanItem.mode),
        col(PlanItem.archived_at),
        col(WeeklyPlan.couple_id),
        col(WeeklyPlan.status).label("plan_status"),
        col(WeeklyPlan.week_start),
        col(Membership.user_id).label("member_id"),
        col(Membership.role),
        col(Membership.joined_at).label("member_joined_at"),
        col(PlanItemAssignee.user_id).label("assignee_id"),
        *(c.label(f"replay_{c.key}") for c in LOG_COLUMNS),
        # For the replay's dispute reason, opened as the plan read opens it for this reader.
        col(PracticeLog.disputed_at).label("replay_disputed_at"),
        col(PracticeLog.sealed_dispute_reason).label("replay_sealed_dispute_reason"),
    )
    .select_from(User)
    .outerjoin(SignIn, rules.sign_in_of(User.id))
    .outerjoin(PlanItem, col(PlanItem.id) == bindparam("item_id"))
    .outerjoin(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
    .outerjoin(Membership, rules.active_members(WeeklyPlan.couple_id))
    .outerjoin(PlanItemAssignee, col(PlanItemAssignee.plan_item_id) == PlanItem.id)
    .outerjoin(
        PracticeLogRequest,
        and_(
            col(PracticeLogRequest.user_id) == User.id,
            col(PracticeLogRequest.client_id) == bindparam("client_id"),
        ),
    )
    .outerjoin(PracticeLog, col(PracticeLog.id) == PracticeLogRequest.session_log_id)
    .where(col(User.id) == bindparam("user_id"), rules.LIVE_USER)
    .order_by(col(Membership.joined_at))
)
# 2. A replay found after a lost race (the winner has committed by then).
REPLAYED = (
    core_select(*LOG_COLUMNS, col(PracticeLog.disputed_at), col(PracticeLog.sealed_dispute_reason))
    .join(PracticeLogRequest, col(PracticeLogRequest.session_log_id) == PracticeLog.id)
    .where(
        col(PracticeLogRequest.user_id) == bindparam("user_id"),
        col(PracticeLogRequest.client_id) == bindparam("client_id"),
    )
)
# 3. The joint case, one more query: the other partner's quiet hours (for the notice they get,
#    as outbox.enqueue_event reads them; NULLs when they have no reminder preferences) on every
#    row, and their logs of this item and day that wait for this one, oldest first (none: one
#    row with waiting_id NULL). The author of a waiting log is always that partner: leaving
#    closes a partner's waiting logs (plans/answers.py, close_on_leaving).
_ONE = core_select(literal(1).label("one")).subquery("one")
JOINT_CONTEXT = Prepared(
    core_select(
        col(ReminderPreference.quiet_start),
        col(ReminderPreference.quiet_end),
        col(ReminderPreference.timezone),
        col(PracticeLog.id).label("waiting_id"),
    )
    .select_from(_ONE)
    .outerjoin(ReminderPreference, col(ReminderPreference.user_id) == bindparam("other_id"))
    .outerjoin(
        PracticeLog,
        and_(
            col(PracticeLog.plan_item_id) == bindparam("item_id"),
            col(PracticeLog.done_on) == bindparam("done_on"),
            col(PracticeLog.status) == LogStatus.awaiting_partner,
            col(PracticeLog.logged_by) != bindparam("user_id"),
        ),
    )
    .order_by(col(PracticeLog.created_at), col(PracticeLog.id))
)
CONFIRM = Prepared(
    update(PracticeLog)
    .where(
        col(PracticeLog.id) == bindparam("log_id"),
        col(PracticeLog.status) == LogStatus.awaiting_partner,
    )
    .values(
        status=LogStatus.done,
        confirmed_by=bindparam("confirmed_by"),
        updated_at=bindparam("now"),
    )
    .returning(*LOG_COLUMNS)
)


# 4. The claims: a client_id already taken leaves the row as it is and returns no row (the
#    row count of an ignored insert is not reliable across drivers). On the driver's cursor,
#    as CONTEXT: the common write is these inserts and the commit.
def _claim(insert: Any, user_id: BindParameter[Any]) -> Any:
    """The claim of `user_id`'s client_id for the log `id`, returning its log's id."""
    return (
        insert(REQUESTS)
        .values(
            user_id=user_id,
            client_id=bindparam("client_id"),
            session_log_id=bindparam("id"),
            created_at=bindparam("created_at"),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
        .returning(REQUESTS.c.session_log_id)
    )


INSERT_REQUEST = {
    name: Prepared(_claim(dialect.insert, bindparam("user_id")))
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
NEW_LOG: dict[str, BindParameter[Any]] = {c.key: bindparam(c.key) for c in LOG_COLUMNS} | {
    "updated_at": bindparam("created_at")
}
INSERT_LOG = Prepared(
    sqlite.insert(LOGS)
    .values(NEW_LOG)
    .on_conflict_do_nothing(index_elements=["logged_by", "client_id"])
    .returning(LOGS.c.id)
)
# PostgreSQL claims the client_id and writes the log in one statement (one round trip), all
# or nothing by itself: the claim first, the log only from the claim's row. It returns the new
# log's id, or nothing when the client_id was taken, by a log of this user or a confirmation
# (then nothing is written, and a request racing it waits for its commit, then writes
# nothing). So it is safe outside a transaction (core/async_pg.py's common case, in
# autocommit), and the same inside one. The request row names the log, which exists by the
# end of the statement, when PostgreSQL checks the foreign key (a log whose claim was missing
# would fail the statement, not orphan a claim: every log is written with its claim).
CLAIM_CTE = _claim(postgresql.insert, bindparam("logged_by")).cte("claim")
_NEW_LOG_VALUES = [
    *(bindparam(c.key, type_=LOGS.c[c.key].type) for c in LOG_COLUMNS),
    bindparam("created_at", type_=LOGS.c.updated_at.type),
]
_LOG_FROM_CLAIM = (
    postgresql.insert(LOGS)
    .from_select(
        [*(c.key for c in LOG_COLUMNS), "updated_at"],
        core_select(*_NEW_LOG_VALUES).select_from(CLAIM_CTE),
    )
    .on_conflict_do_nothing(index_elements=["logged_by", "client_id"])
    .returning(LOGS.c.id)
)
INSERT_LOG_AND_REQUEST = Prepared(_LOG_FROM_CLAIM, whole=True)
# The same for a joint log that waits, with the one notice that asks the other partner to
# confirm it (outbox.Event.row's values, named notice_*), written only from the new log's row:
# all or nothing by itself too, so the waiting case needs no transaction either. It returns
# the notice's id, or nothing when the client_id was taken (nothing is written then).
_LOGGED_CTE = _LOG_FROM_CLAIM.cte("logged")
INSERT_LOG_REQUEST_AND_NOTICE = Prepared(
    postgresql.insert(outbox.TABLE)
    .from_select(
        list(outbox.EVENT_COLUMNS),
        core_select(
            *(bindparam(f"notice_{c}", type_=outbox.TABLE.c[c].type) for c in outbox.EVENT_COLUMNS)
        ).select_from(_LOGGED_CTE),
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(outbox.TABLE.c.id),
    whole=True,
)


def read_row(row: Any, prefix: str = "") -> PracticeLogRead:
    """A log row (columns as in LOG_COLUMNS, maybe prefixed) as the API answers it."""
    return PracticeLogRead(
        id=getattr(row, prefix + "id"),
        plan_item_id=getattr(row, prefix + "plan_item_id"),
        logged_by=getattr(row, prefix + "logged_by"),
        done_on=getattr(row, prefix + "done_on"),
        status=getattr(row, prefix + "status"),
        confirmed_by=getattr(row, prefix + "confirmed_by"),
        disputed_by=getattr(row, prefix + "disputed_by"),
        client_id=getattr(row, prefix + "client_id"),
        created_at=getattr(row, prefix + "created_at"),
        withdrawn_reason=getattr(row, prefix + "withdrawn_reason"),
    )
