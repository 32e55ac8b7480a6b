"""Questionnaire definitions and their scoring: pure functions, no database.

A definition is the same shape for a built-in instrument (`instruments.json`) and for a
therapist's custom measure: items with answer options and values, sum scoring, optional
subscales and bands, risk items, a recall period. Goal Attainment Scaling's T-score lives
here too: it is scoring, not storage.
"""

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

INSTRUMENTS_FILE = Path(__file__).with_name("instruments.json")
# Kiresuk & Sherman (1968): the assumed correlation between goal scales.
GAS_RHO = 0.3


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    options: tuple[Option, ...]
    required: bool = True
    scored: bool = True
    # An answer at or above this value is a risk answer (PHQ-9 item 9: anything above 0).
    risk_at: int | None = None

    @property
    def values(self) -> set[int]:
        return {o.value for o in self.options}


@dataclass(frozen=True)
class Subscale:
    key: str
    label: str
    items: tuple[str, ...]
    positive_at: int | None = None


@dataclass(frozen=True)
class Band:
    min: int
    max: int
    label: str
    plain: str


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    instructions: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...] = ()
    subscales: tuple[Subscale, ...] = ()
    recall_days: int | None = None
    higher_is: str = "worse"
    reliable_change: int | None = None
    attribution: str = ""
    custom: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def min_total(self) -> int:
        return sum(min(i.values) for i in self.scored_items)

    @property
    def max_total(self) -> int:
        return sum(max(i.values) for i in self.scored_items)


@dataclass(frozen=True)
class Score:
    total: int
    subscales: dict[str, dict[str, Any]]
    band: Band | None
    risk: bool
    risk_items: tuple[str, ...]


def parse(definition: dict[str, Any], *, custom: bool = False) -> Measure:
    """A Measure from its JSON form (the data file, or a custom measure's stored definition)."""
    scoring = definition.get("scoring", {})
    items = tuple(
        Item(
            key=str(item["key"]),
            text=item["text"],
            options=tuple(Option(int(o["value"]), o["label"]) for o in item["options"]),
            required=item.get("required", True),
            scored=item.get("scored", True),
            risk_at=item.get("risk_at"),
        )
        for item in definition["items"]
    )
    return Measure(
        key=definition["key"],
        title=definition["title"],
        instructions=definition.get("instructions", ""),
        items=items,
        bands=tuple(Band(**band) for band in scoring.get("bands", [])),
        subscales=tuple(
            Subscale(s["key"], s["label"], tuple(s["items"]), s.get("positive_at"))
            for s in scoring.get("subscales", [])
        ),
        recall_days=definition.get("recall_days"),
        higher_is=definition.get("higher_is", "worse"),
        reliable_change=scoring.get("reliable_change"),
        attribution=definition.get("attribution", ""),
        custom=custom,
        raw=definition,
    )


@cache
def builtins() -> dict[str, Measure]:
    data = json.loads(INSTRUMENTS_FILE.read_text(encoding="utf-8"))
    return {d["key"]: parse(d) for d in data["instruments"]}


def problems(measure: Measure, answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(question key, plain sentence) for every answer missing, unknown or out of range;
    empty when all is well."""
    found = []
    known = {item.key for item in measure.items}
    for key in answers:
        if key not in known:
            found.append((key, "This questionnaire has no such question."))
    for number, item in enumerate(measure.items, start=1):
        if answers.get(item.key) is None:
            if item.required:
                found.append((item.key, f"Question {number} needs an answer."))
            continue
        value = answers[item.key]
        if isinstance(value, bool) or not isinstance(value, int) or value not in item.values:
            found.append((item.key, f"The answer to question {number} is not one of its choices."))
    return found


def band_for(measure: Measure, total: int) -> Band | None:
    for band in measure.bands:
        if band.min <= total <= band.max:
            return band
    return None


def score(measure: Measure, answers: dict[str, int]) -> Score:
    """Sum scoring over the scored items; call `problems` first (this assumes valid answers)."""
    total = sum(answers.get(item.key) or 0 for item in measure.scored_items)
    subscales = {}
    for sub in measure.subscales:
        value = sum(answers.get(key) or 0 for key in sub.items)
        positive = None if sub.positive_at is None else value >= sub.positive_at
        subscales[sub.key] = {"label": sub.label, "score": value, "positive": positive}
    risk_items = tuple(
        item.key
        for item in measure.items
        if item.risk_at is not None
        and answers.get(item.key) is not None
        and answers[item.key] >= item.risk_at
    )
    return Score(total, subscales, band_for(measure, total), bool(risk_items), risk_items)


def reliable_change(measure: Measure, first: int, latest: int) -> str | None:
    """ "improved", "worsened" or "no reliable change" between two totals, by the instrument's
    published reliable-change value; None where it defines none."""
    if measure.reliable_change is None:
        return None
    delta = latest - first
    if abs(delta) < measure.reliable_change:
        return "no reliable change"
    better = delta < 0 if measure.higher_is == "worse" else delta > 0
    return "improved" if better else "worsened"


def gas_t_score(
    levels: list[int], weights: list[float] | None = None, *, rho: float = GAS_RHO
) -> float | None:
    """Kiresuk & Sherman's Goal Attainment Scaling T-score:

        T = 50 + 10 Σ wᵢxᵢ / √((1 − ρ) Σ wᵢ² + ρ (Σ wᵢ)²)

    with xᵢ the level reached (−2…+2), wᵢ the weights (1 by default) and ρ = 0.3. All goals at
    their expected level (0) give 50; None when there is nothing to score."""
    if not levels:
        return None
    weights = weights or [1.0] * len(levels)
    if len(weights) != len(levels):
        raise ValueError("one weight per goal")
    numerator = 10 * sum(w * x for w, x in zip(weights, levels, strict=True))
    denominator = math.sqrt((1 - rho) * sum(w * w for w in weights) + rho * sum(weights) ** 2)
    return 50 + numerator / denominator
