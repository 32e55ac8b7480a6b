"""Progress and adherence: against a plain model of the rules, and in a bounded number of
queries."""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import Session

from tandem.reminders import hooks as reminders_view
from tests.factories import make_world
from tests.plans_support import (
    INDIVIDUAL,
    JOINT,
    item,
    log,
    publish,
    published_week,
    put_plan,
    this_monday,
    today,
)


class TestHasUnfinishedWork:
    def test_it_follows_each_partners_own_items(self, app, engine):
        world = make_world(app)
        plan = published_week(
            world,
            items=[item(INDIVIDUAL, "individual", 1), item(JOINT, "joint", 1)],
        )
        solo, joint = (i["id"] for i in plan["items"])

        def unfinished(actor, day=None) -> bool:
            with Session(engine) as session:
                return reminders_view.has_unfinished_work(
                    session, user_id=uuid.UUID(actor.id), today=day or today()
                )

        assert unfinished(world.partner_a) and unfinished(world.partner_b)
        assert not unfinished(world.therapist)
        assert not unfinished(world.partner_a, today() + timedelta(weeks=1))
        assert log(world.partner_a, solo).status_code == 201
        waiting = log(world.partner_a, joint).json()
        assert unfinished(world.partner_a)  # the joint session is not confirmed yet
        world.partner_b.post(f"/api/sessions/{waiting['id']}/confirm")
        assert not unfinished(world.partner_a)
        assert unfinished(world.partner_b)  # their own solo item is still to do
        assert log(world.partner_b, solo).status_code == 201
        assert not unfinished(world.partner_b)


class TestAdherence:
    def test_it_costs_the_same_queries_for_one_week_and_twelve(self, app, engine):
        world = make_world(app)
        for weeks_ago in range(4):
            week = this_monday() - timedelta(weeks=weeks_ago)
            plan = published_week(world, week)
            log(world.partner_a, plan["items"][1]["id"], done_on=str(week))
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            answers = {}
            for weeks in (1, 12):
                statements.clear()
                answer = world.therapist.get(
                    f"/api/couples/{world.couple_id}/adherence", params={"weeks": weeks}
                )
                assert answer.status_code == 200
                answers[weeks] = (len(statements), answer.json())
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert answers[1][0] == answers[12][0]
        assert len(answers[12][1]["weeks"]) == 12
        assert [w["done"] for w in answers[12][1]["weeks"][:5]] == [1, 1, 1, 1, 0]

    def test_weeks_out_of_range_are_422(self, app):
        world = make_world(app)
        for weeks in (0, 105, "many"):
            answer = world.partner_a.get(
                f"/api/couples/{world.couple_id}/adherence", params={"weeks": weeks}
            )
            assert answer.status_code == 422


# --- the model ----------------------------------------------------------------------------


@dataclass
class Log:
    id: str
    item: int
    author: str
    day: date
    status: str
    answered_by: str | None = None


@dataclass
class Model:
    """The rules of SPEC §2, written plainly."""

    items: list[dict]  # {"mode", "times", "assignees": [names], "week": 0 | 1, "id"}
    logs: list[Log] = field(default_factory=list)
    client_ids: dict[tuple[str, str], tuple[int, Log]] = field(default_factory=dict)

    def log(self, author: str, index: int, day: date, client_id: str) -> int:
        spec = self.items[index]
        if author not in spec["assignees"]:
            return 403
        if spec["mode"] == "joint":
            for entry in self.logs:
                if (entry.item, entry.day, entry.status) == (index, day, "awaiting_partner") and (
                    entry.author != author
                ):
                    entry.status, entry.answered_by = "done", author
                    self.client_ids[(author, client_id)] = (index, entry)
                    return 200
        entry = Log(
            "", index, author, day, "awaiting_partner" if spec["mode"] == "joint" else "done"
        )
        self.logs.append(entry)
        self.client_ids[(author, client_id)] = (index, entry)
        return 201

    def answer(self, actor: str, entry: Log, verdict: str) -> int:
        if actor == entry.author:
            return 403
        if self.items[entry.item]["mode"] != "joint":
            return 409
        if entry.status == "awaiting_partner":
            entry.status, entry.answered_by = verdict, actor
            return 200
        return 200 if (entry.status, entry.answered_by) == (verdict, actor) else 409

    def withdraw(self, actor: str, entry: Log) -> int:
        if actor != entry.author:
            return 403
        if entry.status == "withdrawn":
            return 204
        if self.items[entry.item]["mode"] == "joint":
            allowed = entry.status in ("awaiting_partner", "disputed")
        else:
            allowed = self.items[entry.item]["week"] == 0
        if not allowed:
            return 409
        entry.status = "withdrawn"
        return 204

    def progress(self, index: int) -> tuple[dict, dict[str, tuple[int, int]]]:
        spec = self.items[index]
        mine = [e for e in self.logs if e.item == index]
        done_logs = [e for e in mine if e.status == "done"]
        awaiting = sum(e.status == "awaiting_partner" for e in mine)
        times = spec["times"]
        if spec["mode"] == "joint":
            done = min(len(done_logs), times)
            people = {p: (done, times) for p in spec["assignees"]}
            return {"done": done, "target": times, "awaiting_partner": awaiting}, people
        people = {
            p: (min(sum(e.author == p for e in done_logs), times), times) for p in spec["assignees"]
        }
        done = sum(d for d, _ in people.values())
        return {"done": done, "target": times * len(people), "awaiting_partner": awaiting}, people


items_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "mode": st.sampled_from(["joint", "individual"]),
            "times": st.integers(1, 3),
            "who": st.sampled_from(["both", "a", "b"]),
            "week": st.sampled_from([0, 1]),  # this week, last week
        }
    ),
    min_size=1,
    max_size=4,
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["log", "log", "log", "replay", "confirm", "dispute", "withdraw"]),
        st.sampled_from(["a", "b"]),
        st.integers(0, 50),  # which item, log or earlier client id
        st.integers(0, 6),  # which day of the week
    ),
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=items_strategy, ops=operations)
def test_progress_and_adherence_follow_the_model(app, specs, ops):
    world = make_world(app)
    actors = {"a": world.partner_a, "b": world.partner_b}
    ids = {"a": world.partner_a.id, "b": world.partner_b.id}
    weeks = [this_monday(), this_monday() - timedelta(weeks=1)]
    for week_index, week in enumerate(weeks):
        mine = [s for s in specs if s["week"] == week_index]
        if not mine:
            continue
        body = []
        for s in mine:
            exercise = JOINT if s["mode"] == "joint" else INDIVIDUAL
            extra = {}
            if s["mode"] == "individual" and s["who"] != "both":
                extra["assignee_ids"] = [ids[s["who"]]]
            body.append(item(exercise, s["mode"], s["times"], **extra))
        plan = put_plan(world, week, body)
        publish(world, week)
        for s, created in zip(mine, plan["items"], strict=True):
            s["id"] = created["id"]
    for s in specs:
        s["assignees"] = ["a", "b"] if s["mode"] == "joint" or s["who"] == "both" else [s["who"]]
    model = Model(specs)

    for kind, who, pick, day_offset in ops:
        actor = actors[who]
        if kind == "log":
            index = pick % len(specs)
            week = weeks[specs[index]["week"]]
            day = week + timedelta(days=day_offset)
            if day > today():
                day = today()
            client_id = str(uuid.uuid4())
            answer = log(actor, specs[index]["id"], client_id, done_on=str(day))
            expected = model.log(who, index, day, client_id)
            assert answer.status_code == expected, answer.text
            if expected in (200, 201):
                entry = model.client_ids[(who, client_id)][1]
                entry.id = entry.id or answer.json()["id"]
                assert answer.json()["id"] == entry.id
                assert answer.json()["status"] == entry.status
        elif kind == "replay":
            mine = [(c, v) for (w, c), v in model.client_ids.items() if w == who]
            if not mine:
                continue
            client_id, (index, entry) = mine[pick % len(mine)]
            answer = log(actor, specs[index]["id"], client_id)
            assert answer.status_code == 200, answer.text
            assert (answer.json()["id"], answer.json()["status"]) == (entry.id, entry.status)
        else:
            if not model.logs:
                continue
            entry = model.logs[pick % len(model.logs)]
            if kind == "withdraw":
                answer = actor.delete(f"/api/sessions/{entry.id}")
                assert answer.status_code == model.withdraw(who, entry), answer.text
            else:
                verdict = "done" if kind == "confirm" else "disputed"
                answer = actor.post(f"/api/sessions/{entry.id}/{kind}")
                assert answer.status_code == model.answer(who, entry, verdict), answer.text

    adherence = world.therapist.get(
        f"/api/couples/{world.couple_id}/adherence", params={"weeks": 2}
    ).json()["weeks"]
    for week_index, week in enumerate(weeks):
        indexes = [i for i, s in enumerate(specs) if s["week"] == week_index]
        reported = adherence[week_index]
        assert reported["week_start"] == str(week)
        if not indexes:
            assert (reported["done"], reported["target"], reported["items"]) == (0, 0, [])
            continue
        plan = world.partner_b.get(f"/api/couples/{world.couple_id}/plans/{week}").json()
        people: dict[str, list[int]] = {}
        total = [0, 0]
        for position, index in enumerate(indexes):
            expected, per_person = model.progress(index)
            answered = dict(plan["items"][position]["progress"])
            by_partner = {
                p["user_id"]: (p["done"], p["target"]) for p in answered.pop("by_partner")
            }
            assert answered == expected
            # Each partner's own count, as the week shows it ("You: 2 of 7 · Sam: 3 of 7").
            assert by_partner == {ids[name]: counts for name, counts in per_person.items()}
            assert reported["items"][position]["done"] == expected["done"]
            assert reported["items"][position]["target"] == expected["target"]
            total[0] += expected["done"]
            total[1] += expected["target"]
            for name, (done, target) in per_person.items():
                sums = people.setdefault(ids[name], [0, 0])
                sums[0] += done
                sums[1] += target
        assert [reported["done"], reported["target"]] == total
        assert {p["user_id"]: [p["done"], p["target"]] for p in reported["by_partner"]} == people
