"""The rule that judges a claim over seeds, and the claims it judges, on numbers made up here."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from dl101 import claims, verdicts
from dl101.reports import ResultsTable
from dl101.verdicts import Outcome, RunNumbers, full_run_numbers, judge, spread

import numpy as np
import pytest


def numbers(final: float, train: float | None = None, epochs: int = 3) -> RunNumbers:
    """A run whose validation accuracy climbs to ``final``; training ends at ``train``."""
    validation = np.linspace(final - 0.1, final, epochs)
    training = np.linspace(final - 0.1, final if train is None else train, epochs)
    return RunNumbers(validation, training, np.arange(1, epochs + 1) * 10.0)


def dropout_table(with_dropout: RunNumbers) -> ResultsTable:
    """This run of experiment 1: without dropout 60% (training 80%), and ``with_dropout``."""
    without = replace(numbers(0.6, train=0.8), name="without_dropout")
    return ResultsTable((without, replace(with_dropout, name="with_dropout")))


@pytest.mark.parametrize(
    ("margins", "outcome"),
    [
        ([0.02, 0.01, 0.03, 0.015, 0.02], Outcome.HELD),
        ([0.02, -0.01, 0.03, 0.015, -0.005], Outcome.NO_CLEAR_EFFECT),
        ([-0.02, 0.01, -0.03, 0.015, -0.005], Outcome.NO_CLEAR_EFFECT),
        ([-0.02, -0.01, -0.03], Outcome.OPPOSITE),
        ([0.02, 0.03], Outcome.TOO_FEW_SEEDS),
    ],
)
def test_the_rule_counts_signs_over_at_least_three_seeds(
    margins: list[float], outcome: Outcome
) -> None:
    assert judge(margins, lambda margin: margin > 0) is outcome


def test_a_spread_is_written_in_points_with_its_range() -> None:
    assert spread((0.01, 0.02, 0.03)) == "+2.0 ± 1.0 (+1.0 to +3.0)"
    assert spread((0.6, 0.62), percent=True) == "61.0% ± 1.4 (60.0% to 62.0%)"


def test_a_damaged_study_record_is_named_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verdicts.RECORDS_VARIABLE, str(tmp_path))
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "seed_0.json").write_text('{"run": "ba')
    with pytest.raises(ValueError, match="seed_0.json cannot be read .*run `make seeds` again"):
        verdicts.load_records()


def dropout_records(margins: list[float]) -> dict[str, dict[int, RunNumbers]]:
    """Seeds where dropout shrinks the gap by 10 points and moves accuracy by each margin."""
    without = {seed: numbers(0.6, train=0.8) for seed in range(len(margins))}
    with_ = {seed: numbers(0.6 + m, train=0.7 + m) for seed, m in enumerate(margins)}
    return {"base": without, "base_dropout": with_}


@pytest.mark.parametrize(
    ("accuracy_margins", "outcome", "held_in"),
    [
        ([0.01, 0.02, 0.0, 0.01, 0.03], Outcome.HELD, "5 of 5"),
        ([0.01, -0.02, 0.02, 0.01, 0.03], Outcome.NO_CLEAR_EFFECT, "4 of 5"),
        ([-0.01, -0.02, -0.02, -0.01, -0.03], Outcome.OPPOSITE, "0 of 5"),
    ],
)
def test_each_part_of_a_claim_has_its_verdict_over_the_seeds_beside_this_run(
    accuracy_margins: list[float], outcome: Outcome, held_in: str
) -> None:
    table = dropout_table(numbers(0.607, train=0.7))
    verdict = claims.verdict(claims.DROPOUT, table, dropout_records(accuracy_margins), full={})

    gap, accuracy = verdict.parts
    assert gap.outcome is Outcome.HELD and gap.held_in == "5 of 5"
    assert accuracy.outcome is outcome
    text = verdict._repr_markdown_()
    assert text.startswith("**Experiment 1: dropout.** The article presents dropout")
    assert "| over the study's 5 seeds: mean ± sd (range) |" in text
    assert (
        "| validation accuracy no lower (with minus without; this tutorial's test) "
        f"| +0.7 points (held) | {spread(accuracy_margins)} | {held_in} | **{outcome.value}** |"
    ) in text


def test_without_study_records_a_verdict_says_so() -> None:
    table = dropout_table(numbers(0.55, train=0.7))
    text = claims.verdict(claims.DROPOUT, table, {}, full={})._repr_markdown_()
    assert "-5.0 points (did not hold) | no seeds recorded yet |" in text
    assert text.endswith("The seed study has no record of these runs yet (`make seeds`).")


def test_the_study_compares_only_seeds_where_every_run_of_a_claim_is_recorded() -> None:
    records = dropout_records([0.01, 0.02, 0.03])
    del records["base_dropout"][1]

    margins = claims.study_margins(claims.DROPOUT, records)

    assert margins[claims.DROPOUT.parts[1].text] == pytest.approx([0.01, 0.03])


def test_the_depth_claim_keeps_its_parts_apart() -> None:
    # Three sets 5 points ahead (more accurate, but not by 10-20); one set learns its training
    # images (75%) better than three sets recognise new ones (65%): it does not underfit.
    records = {
        "few_layers": {seed: numbers(0.60, train=0.75) for seed in range(5)},
        "three_layer_sets": {seed: numbers(0.65, train=0.70) for seed in range(5)},
    }
    more_accurate, by_about_15, underfits = claims.judge_claim(claims.DEPTH, None, records)

    assert more_accurate.outcome is Outcome.HELD
    assert by_about_15.outcome is Outcome.OPPOSITE
    assert underfits.outcome is Outcome.OPPOSITE
    assert statistics.fmean(underfits.seeds) == pytest.approx(0.65 - 0.75)


def test_rival_rules_get_a_row_each_and_a_study_only_claim_says_it_is_not_trained_here() -> None:
    # The slides' smaller rate ahead in every seed, today's larger rate behind in every seed.
    records = {
        "batch_2000": {seed: numbers(0.50) for seed in range(3)},
        "batch_2000_lr_down": {seed: numbers(0.52) for seed in range(3)},
        "batch_2000_lr_up": {seed: numbers(0.45) for seed in range(3)},
    }
    verdict = claims.verdict(claims.LEARNING_RATE_SCALING, None, records)

    assert [part.outcome for part in verdict.parts] == [Outcome.HELD, Outcome.OPPOSITE]
    assert verdict._repr_markdown_().count("| not trained here |") == 2


def test_the_learning_rate_recipe_names_a_halved_rate_the_sweep_did_not_train(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sweep = [SimpleNamespace(learning_rate=rate) for rate in (0.1, 1.0, 10.0, 0.01, 100.0)]
    monkeypatch.setattr(claims, "exploded", lambda run: run.learning_rate >= 10)

    assert claims.learning_rate_recipe(sweep) == (  # type: ignore[arg-type]
        "Exploded: 10.0, 100.0. The largest rate that did not explode was **1.0**, so the recipe "
        "says to use **0.5**. This sweep did not train 0.5: add it to the list of rates and see."
    )
    sweep.append(SimpleNamespace(learning_rate=0.5))
    assert claims.learning_rate_recipe(sweep).endswith("use **0.5**.")  # type: ignore[arg-type]


def test_a_claim_is_not_judged_on_this_run_until_every_run_has_finished() -> None:
    """9 of 15 epochs logged: its "final" numbers are not its end, so this run has no verdict."""
    table = dropout_table(replace(numbers(0.7, epochs=9), settings={"epochs": 15}))

    verdict = claims.verdict(claims.DROPOUT, table, {}, full={})
    assert [part.this_run for part in verdict.parts] == [None, None]
    assert verdict.note == (
        "**with_dropout** is partial (only 9 of 15 epochs logged): this run is judged when it "
        "has finished."
    )
    alone = claims.verdict(claims.DROPOUT, ResultsTable(table.rows[:1]), {}, full={})
    assert "| not run yet |" in alone._repr_markdown_()


def test_the_full_run_is_shown_beside_this_run_with_its_caveats(tmp_path: Path) -> None:
    """The published `full` run of the notebook: each part's margin there, one seed."""
    numbers = {
        "without_dropout": {"final_validation_accuracy": 0.70, "best_validation_accuracy": 0.72},
        "with_dropout": {"final_validation_accuracy": 0.75, "best_validation_accuracy": 0.76},
    }
    for label, training in (("without_dropout", 0.9), ("with_dropout", 0.8)):
        numbers[label] |= {"final_training_accuracy": training, "wall_time_seconds": 600}
    entry = {"notebook": "experiment_1_dropout", "status": "published", "numbers": numbers}
    (tmp_path / "summary.json").write_text(json.dumps([entry]))

    full = full_run_numbers("experiment_1_dropout", tmp_path / "summary.json")
    assert full["with_dropout"].best_validation_accuracy == 0.76
    assert full["with_dropout"].final_validation_accuracy == 0.75
    text = claims.verdict(claims.DROPOUT, None, {}, full=full)._repr_markdown_()
    assert "| part of the claim | this run | `full` run, 1 seed |" in text
    # gap without 0.9 - 0.70 = 0.20, with 0.8 - 0.75 = 0.05: 15 points smaller.
    assert (
        "| smaller gap (gap without minus gap with) | not run yet | +15.0 points (held) |" in text
    )
    assert "trained once, with seed 0" in text and "running average" in text
