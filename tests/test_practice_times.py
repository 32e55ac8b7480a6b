"""Agreed practice times: proposing, answering, moving and cancelling, and the reminder rows
written with each change (issue #17, SPEC §4)."""

import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col

from tandem.core.db import write_session
from tandem.practice_times import reminders
from tandem.practice_times.models import PracticeSlot
from tandem.reminders.models import Notification
from tandem.reminders.outbox import Claimed
from tests.factories import World, create_couple, invite, make_world, register
from tests.plans_support import this_monday
from tests.practice_support import (
    ZONE,
    agreed,
    at,
    next_week,
    propose,
    published,
    rows,
    settings_for,
)


def items(plan: dict) -> tuple[str, str]:
    return plan["items"][0]["id"], plan["items"][1]["id"]


class TestProposing:
    def test_a_joint_time_waits_for_the_other_partner_who_is_told(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        starts = at(week + timedelta(days=2), time(20, 0))
        slot = propose(w.partner_a, joint, starts)
        assert slot["status"] == "proposed"
        assert slot["proposed_by"] == w.partner_a.id
        assert datetime.fromisoformat(slot["starts_at"]) == starts
        assert rows(engine, w.partner_a.id) == [] and rows(engine, w.partner_b.id) == []
        [told] = rows(engine, w.partner_b.id, kind="slot_proposed")
        assert told.payload == {"slot_id": slot["id"], "version": "1", "url": "/#/week"}
        assert rows(engine, w.partner_a.id, kind="slot_proposed") == []

        listed = w.therapist.get(f"/api/couples/{w.couple_id}/slots", params={"week_start": week})
        assert listed.status_code == 200
        assert [s["id"] for s in listed.json()] == [slot["id"]]
        # The current week holds none of next week's times.
        assert w.partner_b.get(f"/api/couples/{w.couple_id}/slots").json() == []

    def test_accepting_gives_each_partner_a_reminder_half_an_hour_before(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        starts = at(week + timedelta(days=3), time(19, 15))
        slot = propose(w.partner_a, joint, starts)
        assert w.partner_a.post(f"/api/slots/{slot['id']}/accept").status_code == 403
        assert w.therapist.post(f"/api/slots/{slot['id']}/accept").status_code == 403
        answer = w.partner_b.post(f"/api/slots/{slot['id']}/accept")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "accepted"
        assert answer.json()["answered_by"] == w.partner_b.id
        for actor in (w.partner_a, w.partner_b):
            [row] = rows(engine, actor.id)
            assert row.due_at == starts - timedelta(minutes=30)
            assert row.expires_at == starts
            assert row.payload["slot_id"] == slot["id"]
        # The same answer again (a retry) is the same answer; the other answer is too late.
        assert w.partner_b.post(f"/api/slots/{slot['id']}/accept").status_code == 200
        assert w.partner_b.post(f"/api/slots/{slot['id']}/decline").status_code == 409
        assert len(rows(engine, w.partner_b.id)) == 1

    def test_declining_leaves_no_reminder_and_the_decliner_may_suggest_another(
        self, app, engine
    ) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        slot = propose(w.partner_a, joint, at(week, time(20, 0)))
        declined = w.partner_b.post(f"/api/slots/{slot['id']}/decline")
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        counter = propose(w.partner_b, joint, at(week + timedelta(days=1), time(20, 0)))
        assert counter["status"] == "proposed"
        assert rows(engine, w.partner_a.id) == [] and rows(engine, w.partner_b.id) == []
        [told] = rows(engine, w.partner_a.id, kind="slot_proposed")
        assert told.payload["slot_id"] == counter["id"]

    def test_an_individual_time_is_the_persons_own_and_accepted_at_once(self, app, engine) -> None:
        w = make_world(app)
        week = this_monday() + timedelta(weeks=1)
        plan = published(w, week, individual_for=[w.partner_a.id])
        _, individual = items(plan)
        starts = at(week + timedelta(days=4), time(7, 30))
        # Only the assignee sets times for it; the therapist never does.
        refused = w.partner_b.post(
            f"/api/plan-items/{individual}/slots", json={"starts_at": starts.isoformat()}
        )
        assert refused.status_code == 403
        therapist = w.therapist.post(
            f"/api/plan-items/{individual}/slots", json={"starts_at": starts.isoformat()}
        )
        assert therapist.status_code == 403
        slot = propose(w.partner_a, individual, starts)
        assert slot["status"] == "accepted"
        [row] = rows(engine, w.partner_a.id)
        assert row.due_at == starts - timedelta(minutes=30)
        assert rows(engine, w.partner_b.id) == []
        assert rows(engine, w.partner_b.id, kind="slot_proposed") == []
        # Nobody answers a time that needs no answer; only its owner moves it.
        assert w.partner_b.post(f"/api/slots/{slot['id']}/accept").status_code == 409
        moved = w.partner_b.patch(
            f"/api/slots/{slot['id']}", json={"starts_at": starts.isoformat()}
        )
        assert moved.status_code == 403

    def test_bad_times_are_refused_in_plain_words(self, app) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        url = f"/api/plan-items/{joint}/slots"
        past = w.partner_a.post(url, json={"starts_at": "2020-01-06T20:00:00+01:00"})
        assert past.status_code == 422
        assert "already passed" in past.json()["detail"]
        outside = w.partner_a.post(
            url, json={"starts_at": at(week + timedelta(days=7), time(10, 0)).isoformat()}
        )
        assert outside.status_code == 422
        assert "within this plan's week" in outside.json()["detail"]
        naive = w.partner_a.post(url, json={"starts_at": f"{week}T20:00:00"})
        assert naive.status_code == 422
        extra = w.partner_a.post(
            url, json={"starts_at": at(week, time(20, 0)).isoformat(), "note": "x"}
        )
        assert extra.status_code == 422
        starts = at(week, time(21, 0)).isoformat()
        assert w.partner_a.post(url, json={"starts_at": starts}).status_code == 201
        twice = w.partner_a.post(url, json={"starts_at": starts})
        assert twice.status_code == 409
        assert (
            w.partner_a.post("/api/plan-items/nope/slots", json={"starts_at": starts}).status_code
            == 404
        )
        bad_week = w.partner_a.get(
            f"/api/couples/{w.couple_id}/slots", params={"week_start": "2026-12-01"}
        )
        assert bad_week.status_code == 422

    def test_a_draft_plans_items_have_no_times(self, app) -> None:
        w = make_world(app)
        week = this_monday() + timedelta(weeks=2)
        draft = w.therapist.put(
            f"/api/couples/{w.couple_id}/plans/{week}",
            json={
                "items": [
                    {"exercise_id": next_week_exercise(w), "mode": "joint", "times_per_week": 2}
                ]
            },
        ).json()
        answer = w.partner_a.post(
            f"/api/plan-items/{draft['items'][0]['id']}/slots",
            json={"starts_at": at(week, time(20, 0)).isoformat()},
        )
        assert answer.status_code == 404


def next_week_exercise(w: World) -> str:
    return w.therapist.get("/api/exercises").json()[0]["id"]


class TestMovingAndCancelling:
    def test_moving_an_agreed_time_replaces_its_reminders_and_asks_again(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        first = at(week + timedelta(days=1), time(20, 0))
        slot = agreed(w.partner_a, w.partner_b, joint, first)
        later = at(week + timedelta(days=2), time(21, 0))
        moved = w.partner_b.patch(f"/api/slots/{slot['id']}", json={"starts_at": later.isoformat()})
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "proposed"
        assert moved.json()["proposed_by"] == w.partner_b.id
        assert rows(engine, w.partner_a.id) == [] and rows(engine, w.partner_b.id) == []
        accepted = w.partner_a.post(f"/api/slots/{slot['id']}/accept")
        assert accepted.status_code == 200
        for actor in (w.partner_a, w.partner_b):
            [row] = rows(engine, actor.id)
            assert row.due_at == later - timedelta(minutes=30)

    def test_a_reminder_already_sent_stays_and_the_moved_time_gets_its_own(
        self, app, engine
    ) -> None:
        w = make_world(app)
        week = this_monday() + timedelta(weeks=1)
        _, individual = items(published(w, week))
        starts = at(week + timedelta(days=1), time(8, 0))
        slot = propose(w.partner_a, individual, starts)
        [old] = rows(engine, w.partner_a.id)
        with write_session(engine) as session:
            session.execute(
                update(Notification).where(col(Notification.id) == old.id).values(state="sent")
            )
            session.commit()
        for hours in (2, 0):  # away and back to the same time: a new reminder each time
            answer = w.partner_a.patch(
                f"/api/slots/{slot['id']}",
                json={"starts_at": (starts + timedelta(hours=hours)).isoformat()},
            )
            assert answer.status_code == 200 and answer.json()["status"] == "accepted"
        found = rows(engine, w.partner_a.id)
        assert [(r.state, r.due_at) for r in found] == [
            ("sent", starts - timedelta(minutes=30)),
            ("pending", starts - timedelta(minutes=30)),
        ]

    def test_a_row_claimed_before_a_move_is_not_sent_for_the_old_time(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        starts = at(week + timedelta(days=1), time(20, 0))
        slot = agreed(w.partner_a, w.partner_b, joint, starts)
        [old] = rows(engine, w.partner_a.id)
        # A worker claimed it a moment before the move: it is not pending, so it stays.
        with write_session(engine) as session:
            session.execute(
                update(Notification).where(col(Notification.id) == old.id).values(state="sending")
            )
            session.commit()
        w.partner_a.patch(
            f"/api/slots/{slot['id']}",
            json={"starts_at": (starts + timedelta(hours=1)).isoformat()},
        )
        w.partner_b.post(f"/api/slots/{slot['id']}/accept")
        claimed = Claimed(old.id, old.user_id, old.kind, old.payload, 1, old.expires_at)
        with Session(engine) as session:
            assert reminders.slot_reminder_wanted(session, claimed, starts) == "moved"
        [new] = rows(engine, w.partner_a.id, state="pending")
        assert new.due_at == starts + timedelta(minutes=30)

    def test_cancelling_drops_pending_reminders_and_is_idempotent(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        slot = agreed(w.partner_a, w.partner_b, joint, at(week, time(20, 0)))
        assert w.therapist.delete(f"/api/slots/{slot['id']}").status_code == 403
        assert w.partner_b.delete(f"/api/slots/{slot['id']}").status_code == 204
        assert w.partner_a.delete(f"/api/slots/{slot['id']}").status_code == 204
        assert rows(engine, w.partner_a.id) == [] and rows(engine, w.partner_b.id) == []
        [listed] = w.partner_a.get(
            f"/api/couples/{w.couple_id}/slots", params={"week_start": str(week)}
        ).json()
        assert listed["status"] == "cancelled"
        assert w.partner_b.post(f"/api/slots/{slot['id']}/accept").status_code == 409
        moved = w.partner_a.patch(
            f"/api/slots/{slot['id']}", json={"starts_at": at(week, time(21, 0)).isoformat()}
        )
        assert moved.status_code == 409

    def test_racing_changes_leave_exactly_the_rows_of_the_final_state(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        base = at(week + timedelta(days=2), time(18, 0))
        slot = agreed(w.partner_a, w.partner_b, joint, base)
        url = f"/api/slots/{slot['id']}"
        calls = []
        for n in range(6):
            actor = (w.partner_a, w.partner_b)[n % 2]
            calls.append(
                (actor, "PATCH", url, {"starts_at": (base + timedelta(minutes=10 * n)).isoformat()})
            )
            calls.append(((w.partner_b, w.partner_a)[n % 2], "POST", f"{url}/accept", None))
        barrier = threading.Barrier(len(calls))
        statuses = []

        def run(actor, method, path, body) -> None:  # noqa: ANN001
            barrier.wait()
            kwargs = {"json": body} if body is not None else {}
            statuses.append(actor.request(method, path, **kwargs).status_code)

        threads = [threading.Thread(target=run, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(statuses) <= {200, 403, 409}, statuses
        final = w.partner_a.get(
            f"/api/couples/{w.couple_id}/slots", params={"week_start": str(week)}
        ).json()[0]
        for actor in (w.partner_a, w.partner_b):
            pending = rows(engine, actor.id, state="pending")
            if final["status"] == "accepted":
                assert len(pending) == 1
                starts = datetime.fromisoformat(final["starts_at"])
                assert pending[0].due_at == starts - timedelta(minutes=30)
            else:
                assert pending == []


class TestPersonalSettings:
    def test_lead_time_quiet_hours_and_off_follow_each_persons_settings(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        starts = at(week + timedelta(days=2), time(20, 0))
        agreed(w.partner_a, w.partner_b, joint, starts)
        # A later change of settings re-plans the reminder already written.
        settings_for(w.partner_a, slot_lead_minutes=90)
        [a] = rows(engine, w.partner_a.id)
        assert a.due_at == starts - timedelta(minutes=90)
        assert w.partner_a.get("/api/me/reminders").json()["slot_lead_minutes"] == 90
        # Quiet hours move it to their end, when that is still before the time...
        settings_for(w.partner_b, quiet_hours={"start": "19:00", "end": "19:45"})
        [b] = rows(engine, w.partner_b.id)
        assert b.due_at == at(week + timedelta(days=2), time(19, 45))
        # ...and drop it when the quiet hours last until the time itself.
        settings_for(w.partner_b, quiet_hours={"start": "19:00", "end": "20:30"})
        assert rows(engine, w.partner_b.id, state="pending") == []
        settings_for(w.partner_a, slot_lead_minutes=None)
        assert rows(engine, w.partner_a.id, state="pending") == []
        assert settings_for_refused(w, slot_lead_minutes=2)

    def test_a_pause_covers_agreed_times_too(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, _ = items(plan)
        agreed(w.partner_a, w.partner_b, joint, at(week + timedelta(days=1), time(20, 0)))
        settings_for(w.partner_a, paused_until=str(week + timedelta(days=3)))
        assert rows(engine, w.partner_a.id, state="pending") == []
        assert len(rows(engine, w.partner_b.id, state="pending")) == 1


def settings_for_refused(w: World, **changes: object) -> bool:
    answer = w.partner_a.put(
        "/api/me/reminders",
        json={
            "enabled": False,
            "times": [],
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "timezone": ZONE,
            **changes,
        },
    )
    return answer.status_code == 422


def next_spring_forward(zone: str, after: date) -> date:
    """The next local day on which `zone`'s clocks go forward (a wall-clock hour is missing)."""
    tz = ZoneInfo(zone)
    day = after
    for _ in range(400):
        before = datetime.combine(day, time(0, 0), tzinfo=tz).utcoffset()
        following = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz).utcoffset()
        if before is not None and following is not None and following > before:
            return day
        day += timedelta(days=1)
    raise AssertionError("no DST change within a year")


class TestTimeZonesAndDaylightSaving:
    def test_reminders_across_a_dst_change_in_two_time_zones(self, app, engine) -> None:
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist, timezone=ZONE)
        berlin = register(app, invitation_code=invite(therapist, couple_id), timezone=ZONE)
        new_york = register(
            app, invitation_code=invite(therapist, couple_id), timezone="America/New_York"
        )
        w = World(couple_id, therapist, berlin, new_york)
        change = next_spring_forward(ZONE, this_monday() + timedelta(weeks=1))
        week = change - timedelta(days=change.weekday())
        joint, _ = items(published(w, week))
        # The time is given as a Berlin wall-clock time on the day the clocks change; each
        # partner is reminded a real half hour (Berlin) or hour (New York) before it.
        starts = at(change, time(20, 0))
        settings_for(new_york, timezone="America/New_York", slot_lead_minutes=60)
        agreed(berlin, new_york, joint, starts)
        [b] = rows(engine, berlin.id)
        [n] = rows(engine, new_york.id)
        assert b.due_at == starts - timedelta(minutes=30)
        assert n.due_at == starts - timedelta(hours=1)
        assert starts.astimezone(ZoneInfo(ZONE)).time() == time(20, 0)
        # Quiet hours ending at a wall-clock time the DST gap skips end as a daily reminder at
        # that time would fire: 02:30 does not exist that night and is read as 03:30 (CEST).
        early = at(change, time(4, 0))
        settings_for(berlin, quiet_hours={"start": "01:00", "end": "02:30"}, slot_lead_minutes=90)
        agreed(new_york, berlin, joint, early)
        quiet_end = datetime.combine(change, time(3, 30), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
        due = sorted(r.due_at for r in rows(engine, berlin.id, state="pending"))
        assert due == [quiet_end, starts - timedelta(minutes=90)]
        assert early - quiet_end == timedelta(minutes=30)
        # The week of a DST change is 167 or 169 hours long, and a time late on its Sunday
        # is still in it.
        sunday_night = at(week + timedelta(days=6), time(23, 30))
        propose(berlin, joint, sunday_night)


class TestWhatTheWorkerAsks:
    def test_a_logged_session_or_a_departed_partner_means_no_reminder(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, individual = items(plan)
        starts = at(week + timedelta(days=1), time(20, 0))
        slot = agreed(w.partner_a, w.partner_b, joint, starts)
        [row] = rows(engine, w.partner_a.id)
        claimed = Claimed(row.id, row.user_id, row.kind, row.payload, 1, row.expires_at)
        with Session(engine) as session:
            assert reminders.slot_reminder_wanted(session, claimed, starts) is None
            stored = session.get(PracticeSlot, uuid.UUID(slot["id"]))
            assert reminders.logged_for(session, slot=stored, user_id=row.user_id) is False
        assert w.partner_b.post(f"/api/couples/{w.couple_id}/leave").status_code == 204
        with Session(engine) as session:
            assert reminders.slot_reminder_wanted(session, claimed, starts) == "no longer theirs"


class TestLeavingTheirTraces:
    def test_account_deletion_removes_own_times_and_calls_off_joint_ones(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, individual = items(plan)
        shared = agreed(w.partner_a, w.partner_b, joint, at(week, time(20, 0)))
        own = propose(w.partner_a, individual, at(week, time(7, 0)))
        exported = w.partner_a.get("/api/me/export").json()
        assert {s["id"] for s in exported["practice_times"]} == {shared["id"], own["id"]}
        gone = w.partner_a.request("DELETE", "/api/me", json={"password": w.partner_a.password})
        assert gone.status_code == 204, gone.text
        left = w.partner_b.get(
            f"/api/couples/{w.couple_id}/slots", params={"week_start": str(week)}
        ).json()
        assert [(s["id"], s["status"]) for s in left] == [(shared["id"], "cancelled")]
        assert rows(engine, w.partner_b.id, state="pending") == []

    def test_an_item_taken_out_of_the_plan_is_not_reminded_of(self, app, engine) -> None:
        w = make_world(app)
        week, plan = next_week(w)
        joint, individual = items(plan)
        agreed(w.partner_a, w.partner_b, joint, at(week, time(20, 0)))
        [row] = rows(engine, w.partner_a.id)
        kept = [
            {
                "id": individual,
                "exercise_id": plan["items"][1]["exercise_id"],
                "mode": "individual",
                "times_per_week": 2,
            }
        ]
        amended = w.therapist.put(f"/api/couples/{w.couple_id}/plans/{week}", json={"items": kept})
        assert amended.status_code == 200, amended.text
        claimed = Claimed(row.id, row.user_id, row.kind, row.payload, 1, row.expires_at)
        with Session(engine) as session:
            assert (
                reminders.slot_reminder_wanted(session, claimed, row.due_at)
                == "no longer in the plan"
            )
        assert (
            w.partner_a.get(
                f"/api/couples/{w.couple_id}/slots", params={"week_start": str(week)}
            ).json()
            == []
        )
