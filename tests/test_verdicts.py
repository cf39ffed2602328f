"""The rule that judges a claim over seeds, and the claims it judges, on numbers made up here."""

from __future__ import annotations

from dataclasses import replace

from dl101 import claims
from dl101.reports import ResultsTable
from dl101.verdicts import Outcome, RunNumbers, Spread, judge

import numpy as np
import pytest


def numbers(final: float, train: float | None = None, epochs: int = 3) -> RunNumbers:
    """A run whose validation accuracy climbs to ``final``; training ends at ``train``."""
    validation = np.linspace(final - 0.1, final, epochs)
    training = np.linspace(final - 0.1, final if train is None else train, epochs)
    return RunNumbers(validation, training, np.arange(1, epochs + 1) * 10.0)


@pytest.mark.parametrize(
    ("margins", "outcome"),
    [
        ([0.02, 0.01, 0.03, 0.015, 0.02], Outcome.HELD),
        ([0.02, -0.01, 0.03, 0.015, -0.005], Outcome.TOO_CLOSE),
        ([-0.02, 0.01, -0.03, 0.015, -0.005], Outcome.DID_NOT_HOLD),
        ([-0.02, -0.01, -0.03], Outcome.DID_NOT_HOLD),
    ],
)
def test_the_rule_has_three_outcomes(margins: list[float], outcome: Outcome) -> None:
    assert judge(margins, lambda margin: margin > 0) is outcome


def test_with_fewer_than_three_seeds_there_is_no_outcome_yet() -> None:
    assert judge([0.02, 0.03], lambda margin: margin > 0) is Outcome.TOO_FEW_SEEDS


def test_the_rule_refuses_to_judge_nothing() -> None:
    with pytest.raises(ValueError, match="no seed with every run recorded"):
        judge([], lambda margin: margin > 0)


def test_a_spread_is_written_in_points_with_its_range() -> None:
    spread = Spread((0.01, 0.02, 0.03))
    assert spread.points() == "+2.0 ± 1.0 (+1.0 to +3.0)"
    assert Spread((0.6, 0.62)).percent() == "61.0% ± 1.4 (60.0% to 62.0%)"


def test_best_accuracy_by_the_clock_counts_only_epochs_ended_in_time() -> None:
    run = RunNumbers(np.array([0.3, 0.5, 0.4]), np.array([0.3, 0.5, 0.6]), np.array([10.0, 20, 30]))
    assert run.best_validation_accuracy_within(25) == 0.5
    assert np.isnan(run.best_validation_accuracy_within(5))


def dropout_records(margins: list[float]) -> dict[str, dict[int, RunNumbers]]:
    """Seeds where dropout shrinks the gap by 10 points and moves accuracy by each margin."""
    without = {seed: numbers(0.6, train=0.8) for seed in range(len(margins))}
    with_ = {seed: numbers(0.6 + m, train=0.7 + m) for seed, m in enumerate(margins)}
    return {"base": without, "base_dropout": with_}


@pytest.mark.parametrize(
    ("accuracy_margins", "outcome", "held_in"),
    [
        ([0.01, 0.02, 0.0, 0.01, 0.03], Outcome.HELD, "5 of 5"),
        ([0.01, -0.02, 0.02, 0.01, 0.03], Outcome.TOO_CLOSE, "4 of 5"),
        ([-0.01, -0.02, 0.02, -0.01, -0.03], Outcome.DID_NOT_HOLD, "1 of 5"),
    ],
)
def test_a_claim_is_as_strong_as_its_weakest_part_over_the_seeds(
    accuracy_margins: list[float], outcome: Outcome, held_in: str
) -> None:
    records = dropout_records(accuracy_margins)
    this_run = {"without": numbers(0.6, train=0.8), "with": numbers(0.607, train=0.7)}

    parts = claims.judge_claim(claims.DROPOUT, this_run, records)
    gap, accuracy = parts

    assert gap.outcome is Outcome.HELD and gap.held_in_seeds == 5
    assert accuracy.outcome is outcome
    assert accuracy.this_run == pytest.approx(0.007)
    assert f"| {held_in} | {outcome.value} |" in accuracy.row()
    assert "+0.7 points (held)" in accuracy.row()


def test_a_verdict_shows_this_run_beside_the_study_and_states_the_rule() -> None:
    records = dropout_records([0.01, -0.02, 0.02, 0.01, 0.03])
    verdict = claims._verdict(
        claims.DROPOUT,
        "measured text",
        {"without": numbers(0.6, train=0.8), "with": numbers(0.607, train=0.7)},
        records,
    )
    text = verdict._repr_markdown_()

    assert verdict.held is True and verdict.outcome is Outcome.TOO_CLOSE
    assert "over the study's 5 seeds" in text
    assert "held on average but not in every seed" in text  # the rule, in words
    assert text.endswith(
        "**Verdict:** in this run it held; over the study's 5 seeds: **too close to call**."
    )


def test_without_study_records_a_verdict_says_so() -> None:
    verdict = claims._verdict(
        claims.DROPOUT,
        "measured",
        {"without": numbers(0.6, train=0.8), "with": numbers(0.55, train=0.7)},
        {},
    )
    assert verdict.held is False and verdict.outcome is None
    assert verdict._repr_markdown_().endswith(
        "**Verdict:** in this run it did not hold; the seed study has no record of it yet."
    )


def test_the_study_compares_only_seeds_where_every_run_of_a_claim_is_recorded() -> None:
    records = dropout_records([0.01, 0.02, 0.03])
    del records["base_dropout"][1]

    margins = claims.study_margins(claims.DROPOUT, records)

    assert margins["validation accuracy no lower (with minus without)"] == pytest.approx(
        [0.01, 0.03]
    )


def test_the_depth_claim_keeps_its_halves_apart() -> None:
    # Three sets 5 points ahead (more accurate, but not by 10-20); one set learns its training
    # images (75%) better than three sets recognise new ones (65%): it does not underfit.
    records = {
        "few_layers": {seed: numbers(0.60, train=0.75) for seed in range(5)},
        "three_layer_sets": {seed: numbers(0.65, train=0.70) for seed in range(5)},
    }
    more_accurate, by_about_15, underfits = claims.judge_claim(claims.DEPTH, None, records)

    assert more_accurate.outcome is Outcome.HELD
    assert by_about_15.outcome is Outcome.DID_NOT_HOLD
    assert underfits.outcome is Outcome.DID_NOT_HOLD
    assert underfits.study is not None and underfits.study.mean == pytest.approx(0.65 - 0.75)


def test_the_fast_learning_rate_note_counts_the_seeds_that_never_left_chance() -> None:
    records = {
        "lr_0.01": {0: numbers(0.1), 1: numbers(0.1), 2: numbers(0.45)},
    }
    note = claims._fast_rate_note(records)
    assert note == (
        "Learning rate 0.01 never left chance in 2 of 3 seeds of the study; "
        "the others ended at seed 2: 45.0%."
    )


def test_a_claim_only_the_study_trains_says_the_notebook_does_not_train_it() -> None:
    # The slides' rule for the learning rate: batch 2,000 at a smaller rate ahead in every seed,
    # at a larger rate behind in every seed.
    records = {
        "batch_2000": {seed: numbers(0.50) for seed in range(3)},
        "batch_2000_lr_down": {seed: numbers(0.52) for seed in range(3)},
        "batch_2000_lr_up": {seed: numbers(0.45) for seed in range(3)},
    }
    verdict = claims.learning_rate_scaling(records)
    text = verdict._repr_markdown_()

    assert [part.outcome for part in verdict.parts] == [Outcome.HELD, Outcome.DID_NOT_HOLD]
    assert text.count("| not trained here |") == 2
    assert text.endswith(
        "**Verdict:** this notebook does not train these runs; over the study's 3 seeds: "
        "**did not hold**."
    )


def test_the_learning_rate_recipe_names_a_halved_rate_the_sweep_did_not_train(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    sweep = [SimpleNamespace(learning_rate=rate) for rate in (0.1, 1.0, 10.0, 0.01, 100.0)]
    monkeypatch.setattr(claims, "exploded", lambda run: run.learning_rate >= 10)

    text = claims.learning_rate_recipe(sweep)  # type: ignore[arg-type]
    assert text == (
        "Exploded: 10.0, 100.0. The largest rate that did not explode was **1.0**, so the recipe "
        "says to use **0.5**. This sweep did not train 0.5: add it to the list of rates and see."
    )

    sweep.append(SimpleNamespace(learning_rate=0.5))
    assert claims.learning_rate_recipe(sweep).endswith("use **0.5**.")  # type: ignore[arg-type]


def test_the_depth_verdict_names_the_network_not_run_yet_whichever_notebook_ran_first() -> None:
    three = RunNumbers(
        np.array([0.66, 0.65]), np.array([0.7, 0.8]), np.array([50.0, 100.0]), "three_layer_sets"
    )
    verdict = claims.depth(ResultsTable((three,)), records={})

    assert verdict.held is None
    assert verdict.measured == (
        "**few_layers** has not run yet in this profile; **three_layer_sets** ended at 65.0% "
        "validation accuracy (best 66.0%), training accuracy 80.0%."
    )


def test_a_run_that_has_not_finished_is_not_judged() -> None:
    """9 of 15 epochs logged: its "final" numbers are not its end, so this run has no verdict."""
    finished = numbers(0.6, train=0.8, epochs=15)
    finished = replace(finished, name="without_dropout", settings={"epochs": 15})
    partial = replace(numbers(0.7, epochs=9), name="with_dropout", settings={"epochs": 15})

    verdict = claims.dropout(ResultsTable((finished, partial)), records={})

    assert verdict.held is None
    assert "not tested in this run yet" in verdict._verdict_text()
    assert verdict.measured.endswith(
        "**with_dropout** is partial (only 9 of 15 epochs logged): this run is judged when it "
        "has finished."
    )
