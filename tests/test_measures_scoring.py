"""Scoring of every built-in questionnaire against hand-computed examples, every band edge,
reliable change, and the Goal Attainment Scaling T-score."""

import json
import math

import pytest

from tandem.measures import scoring
from tandem.measures.scoring import INSTRUMENTS_FILE

M = scoring.builtins()


def answers_summing_to(measure: scoring.Measure, total: int) -> dict[str, int]:
    """A valid answer sheet whose scored items add up to `total` (greedy, item by item)."""
    answers, left = {}, total
    for item in measure.scored_items:
        value = max(v for v in item.values if v <= left) if left > 0 else min(item.values)
        answers[item.key] = value
        left -= value
    assert left == 0, f"{measure.key} cannot reach {total}"
    return answers


class TestTheDataFile:
    def test_ships_exactly_the_free_instruments_with_sources(self) -> None:
        data = json.loads(INSTRUMENTS_FILE.read_text())
        keys = [i["key"] for i in data["instruments"]]
        assert keys == ["phq4", "phq9", "gad7", "csi4", "csi16"]
        for instrument in data["instruments"]:
            assert instrument["attribution"] and instrument["source"]["citation"]
            assert instrument["source"]["consulted"], instrument["key"]
        text = INSTRUMENTS_FILE.read_text()
        for absent in ("FSFI", "IIEF", "SHIM", "ORS", "SRS", "NSSS", "FSDS"):
            # Named only in the note that says why they are absent.
            assert text.count(absent) <= 1, absent

    @pytest.mark.parametrize(
        ("key", "items", "low", "high", "recall"),
        [
            ("phq4", 4, 0, 12, 14),
            ("phq9", 9, 0, 27, 14),
            ("gad7", 7, 0, 21, 14),
            ("csi4", 4, 0, 21, None),
            ("csi16", 16, 0, 81, None),
        ],
    )
    def test_ranges_and_recall(self, key: str, items: int, low: int, high: int, recall) -> None:
        measure = M[key]
        assert len(measure.scored_items) == items
        assert (measure.min_total, measure.max_total) == (low, high)
        assert measure.recall_days == recall

    def test_csi_item_scales(self) -> None:
        csi4 = M["csi4"]
        assert [max(i.values) for i in csi4.items] == [6, 5, 5, 5]
        csi16 = M["csi16"]
        assert max(csi16.items[0].values) == 6
        # Word pairs: the positive word scores 5, whichever side it stands on.
        interesting, bad = csi16.items[10], csi16.items[11]
        assert (interesting.options[0].label, interesting.options[0].value) == ("Interesting", 5)
        assert (bad.options[0].label, bad.options[0].value) == ("Bad", 0)


class TestHandComputedExamples:
    def test_phq9_example_with_risk_item(self) -> None:
        # 1+2+0+3+1+0+2+1+1 = 11: moderate; item 9 above 0 is a risk answer.
        answers = dict(zip("123456789", [1, 2, 0, 3, 1, 0, 2, 1, 1], strict=True))
        answers["difficulty"] = 2  # asked, never scored
        result = scoring.score(M["phq9"], answers)
        assert result.total == 11
        assert result.band.label == "Moderate"
        assert result.risk and result.risk_items == ("9",)

    def test_phq9_item_9_at_zero_is_no_risk(self) -> None:
        answers = dict(zip("123456789", [3, 3, 3, 3, 3, 3, 3, 3, 0], strict=True))
        result = scoring.score(M["phq9"], answers)
        assert (result.total, result.band.label, result.risk) == (24, "Severe", False)

    def test_phq4_subscales(self) -> None:
        # Anxiety 2+1 = 3 (positive), depression 1+1 = 2 (negative); total 5: mild.
        result = scoring.score(M["phq4"], {"1": 2, "2": 1, "3": 1, "4": 1})
        assert result.total == 5 and result.band.label == "Mild"
        assert result.subscales["anxiety"]["score"] == 3
        assert result.subscales["anxiety"]["positive"] is True
        assert result.subscales["depression"]["score"] == 2
        assert result.subscales["depression"]["positive"] is False

    def test_gad7_example(self) -> None:
        result = scoring.score(M["gad7"], dict(zip("1234567", [2, 2, 1, 1, 3, 0, 1], strict=True)))
        assert (result.total, result.band.label) == (10, "Moderate")

    def test_csi4_example_has_no_band(self) -> None:
        result = scoring.score(M["csi4"], {"1": 4, "2": 3, "3": 4, "4": 3})
        assert (result.total, result.band) == (14, None)

    def test_csi16_example(self) -> None:
        # 3 + 4 + 4*3 (items 3-6) + 3*4 (items 7-10) + 6 word pairs at 3 = 3+4+12+12+18 = 49.
        answers = {"1": 3, "2": 4}
        answers |= {str(k): 3 for k in range(3, 7)}
        answers |= {str(k): 3 for k in range(7, 11)}
        answers |= {str(k): 3 for k in range(11, 17)}
        answers |= {"7": 3, "8": 3, "9": 3, "10": 3}
        result = scoring.score(M["csi16"], answers)
        assert result.total == 3 + 4 + 4 * 3 + 4 * 3 + 6 * 3
        assert result.band.label == "Notable relationship dissatisfaction"


BAND_EDGES = {
    "phq4": [(0, "None"), (2, "None"), (3, "Mild"), (5, "Mild"), (6, "Moderate"),
             (8, "Moderate"), (9, "Severe"), (12, "Severe")],
    "phq9": [(0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"),
             (14, "Moderate"), (15, "Moderately severe"), (19, "Moderately severe"),
             (20, "Severe"), (27, "Severe")],
    "gad7": [(0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"),
             (14, "Moderate"), (15, "Severe"), (21, "Severe")],
    "csi16": [(0, "Notable relationship dissatisfaction"),
              (51, "Notable relationship dissatisfaction"),
              (52, "Above the distress cut-off"), (81, "Above the distress cut-off")],
}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "total", "label"),
    [(key, total, label) for key, edges in BAND_EDGES.items() for total, label in edges],
)
def test_every_band_edge(key: str, total: int, label: str) -> None:
    measure = M[key]
    answers = answers_summing_to(measure, total)
    assert not scoring.problems(measure, answers)
    result = scoring.score(measure, answers)
    assert result.total == total
    assert result.band.label == label
    assert result.band.plain


@pytest.mark.parametrize("total", [0, 13, 14, 21])
def test_csi4_scores_without_a_band(total: int) -> None:
    result = scoring.score(M["csi4"], answers_summing_to(M["csi4"], total))
    assert (result.total, result.band) == (total, None)


@pytest.mark.parametrize(
    ("anxiety", "depression"), [((1, 1), (2, 0)), ((2, 1), (0, 3)), ((3, 3), (1, 2))]
)
def test_phq4_positive_screens_at_3(anxiety: tuple, depression: tuple) -> None:
    answers = {"1": anxiety[0], "2": anxiety[1], "3": depression[0], "4": depression[1]}
    result = scoring.score(M["phq4"], answers)
    assert result.subscales["anxiety"]["positive"] is (sum(anxiety) >= 3)
    assert result.subscales["depression"]["positive"] is (sum(depression) >= 3)


class TestProblems:
    def test_missing_unknown_and_out_of_range_each_get_a_sentence(self) -> None:
        found = dict(scoring.problems(M["phq4"], {"1": 0, "2": 4, "3": "2", "zz": 1}))
        assert found == {
            "zz": "This questionnaire has no such question.",
            "2": "The answer to question 2 is not one of its choices.",
            "3": "The answer to question 3 is not one of its choices.",
            "4": "Question 4 needs an answer.",
        }

    def test_the_unscored_difficulty_question_may_be_left_out(self) -> None:
        answers = {str(k): 0 for k in range(1, 10)}
        assert scoring.problems(M["phq9"], answers) == []
        assert scoring.problems(M["phq9"], {**answers, "difficulty": 9})
        assert scoring.problems(M["phq9"], {**answers, "1": True})


class TestReliableChange:
    @pytest.mark.parametrize(
        ("first", "latest", "verdict"),
        [(15, 9, "improved"), (15, 10, "no reliable change"), (10, 16, "worsened"),
         (16, 10, "improved")],
    )  # fmt: skip
    def test_phq9_uses_six_points(self, first: int, latest: int, verdict: str) -> None:
        assert scoring.reliable_change(M["phq9"], first, latest) == verdict

    def test_gad7_uses_four_points(self) -> None:
        assert scoring.reliable_change(M["gad7"], 12, 8) == "improved"
        assert scoring.reliable_change(M["gad7"], 12, 9) == "no reliable change"

    @pytest.mark.parametrize("key", ["phq4", "csi4", "csi16"])
    def test_none_where_none_is_published(self, key: str) -> None:
        assert M[key].reliable_change is None
        assert scoring.reliable_change(M[key], 0, 20) is None


class TestGoalAttainmentT:
    def test_all_at_expected_level_is_fifty(self) -> None:
        assert scoring.gas_t_score([0, 0, 0]) == 50

    def test_hand_computed_equal_weights(self) -> None:
        # 50 + 10·3 / √(0.7·3 + 0.3·9) = 50 + 30 / √4.8 = 63.6931
        assert scoring.gas_t_score([1, 1, 1]) == pytest.approx(63.6931, abs=1e-4)

    def test_hand_computed_weights(self) -> None:
        # Σwx = 2·2 + 1·(−1) = 3; Σw² = 5; (Σw)² = 9 → 50 + 30 / √6.2 = 62.0483
        assert scoring.gas_t_score([2, -1], [2, 1]) == pytest.approx(62.0483, abs=1e-4)

    def test_one_goal_much_worse(self) -> None:
        assert scoring.gas_t_score([-2]) == pytest.approx(30.0)

    def test_nothing_rated(self) -> None:
        assert scoring.gas_t_score([]) is None

    def test_matches_the_formula(self) -> None:
        levels, weights = [2, 0, -1, 1], [1.5, 1, 1, 2]
        expected = 50 + 10 * (3 + 0 - 1 + 2) / math.sqrt(0.7 * (2.25 + 1 + 1 + 4) + 0.3 * (5.5**2))
        assert scoring.gas_t_score(levels, weights) == pytest.approx(expected)
