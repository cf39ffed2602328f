"""The article's claims, each checked against the runs a notebook just made.

A notebook ends by calling one of these on its results table; the verdict is written from the
numbers in that table, so it can never contradict the run. Each verdict keeps the claim, what
was measured and whether the claim held apart, so a report can put them in a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dl101.reports import ResultsTable, RunResult, best_validation_accuracy_within, minutes
from dl101.runs import Run
from dl101.tensorboard_logs import metrics_of, read_scalars

import numpy as np


@dataclass(frozen=True)
class Verdict:
    """A claim, what the runs measured, and whether the claim held; Jupyter shows it as text."""

    claim: str
    measured: str
    held: bool | None  # None: the runs needed to test the claim are not all there

    def __repr__(self) -> str:
        return self._repr_markdown_()

    def _repr_markdown_(self) -> str:
        outcome = {True: "it **held**", False: "it **did not hold**", None: "not tested yet"}
        return (
            f"**The claim:** {self.claim}\n\n**Measured:** {self.measured}\n\n"
            f"**Verdict:** {outcome[self.held]}."
        )


def _points(difference: float) -> str:
    return f"{100 * difference:+.1f} points"


def _versus(variant: RunResult, baseline: RunResult) -> str:
    """One sentence comparing two runs, every number taken from their results."""
    return (
        f"**{variant.name}** ended at {variant.final_validation_accuracy:.1%} validation accuracy "
        f"against {baseline.final_validation_accuracy:.1%} for **{baseline.name}** "
        f"({_points(variant.final_validation_accuracy - baseline.final_validation_accuracy)}; "
        f"best {variant.best_validation_accuracy:.1%} against "
        f"{baseline.best_validation_accuracy:.1%}). Training minus validation accuracy was "
        f"{_points(variant.gap)} against {_points(baseline.gap)}, and training took "
        f"{minutes(variant.wall_time_seconds)} against {minutes(baseline.wall_time_seconds)}."
    )


def depth(table: ResultsTable) -> Verdict:
    """Experiment 0: three sets of layers against one (untested until both have run)."""
    claim = (
        "three sets of convolution and pooling are about 15 points more accurate than one, "
        "which underfits."
    )
    if len(table.rows) < 2:
        (only,) = table.rows
        return Verdict(
            claim,
            f"only **{only.name}** has run: {only.final_validation_accuracy:.1%} validation "
            f"accuracy (best {only.best_validation_accuracy:.1%}), training accuracy "
            f"{only.final_train_accuracy:.1%}.",
            held=None,
        )
    few, three = table["few_layers"], table["three_layer_sets"]
    gain = three.final_validation_accuracy - few.final_validation_accuracy
    return Verdict(
        claim,
        measured=_versus(three, few)
        + f" Training accuracy: {three.final_train_accuracy:.1%} against "
        f"{few.final_train_accuracy:.1%}.",
        held=0.10 <= gain <= 0.20,
    )


def dropout(table: ResultsTable) -> Verdict:
    """Experiment 1: dropout narrows the train/validation gap without costing accuracy."""
    without, with_ = table["without_dropout"], table["with_dropout"]
    return Verdict(
        claim="dropout reduces overfitting (a smaller gap between training and validation "
        "accuracy) without costing validation accuracy.",
        measured=_versus(with_, without),
        held=with_.gap < without.gap
        and with_.final_validation_accuracy >= without.final_validation_accuracy,
    )


def l2(table: ResultsTable) -> Verdict:
    """Experiment 2: L2 regularisation narrows the gap and improves validation accuracy."""
    without, with_ = table["without_l2"], table["with_l2"]
    return Verdict(
        claim="L2 regularisation narrows the gap between training and validation accuracy, "
        "and with it validation accuracy improves.",
        measured=_versus(with_, without),
        held=with_.gap < without.gap
        and with_.final_validation_accuracy > without.final_validation_accuracy,
    )


def batch_size(table: ResultsTable, small: Run, large: Run) -> Verdict:
    """Experiment 3: by the clock, the small batch learns more than the large one."""
    deadline = min(row.wall_time_seconds for row in table.rows)
    small_best = best_validation_accuracy_within(small, deadline)
    large_best = best_validation_accuracy_within(large, deadline)
    return Verdict(
        claim=f"compared by wall-clock time, batches of {small.batch_size} learn more than "
        f"batches of {large.batch_size}.",
        measured=_versus(table[small.label], table[large.label])
        + f" Within the first {minutes(deadline)} (when the faster run ended), the best "
        f"validation accuracy was {small_best:.1%} with batch {small.batch_size} and "
        f"{large_best:.1%} with batch {large.batch_size}.",
        held=small_best > large_best,
    )


# A network that never learned guesses one class out of ten.
CHANCE = 0.1


def learning_rate(table: ResultsTable, runs: Sequence[Run]) -> Verdict:
    """Experiment 4: for Adam, 0.001 beats a ten times smaller and a ten times larger rate."""
    by_rate = {run.learning_rate: table[run.label] for run in runs}
    best_rate = max(by_rate, key=lambda rate: by_rate[rate].final_validation_accuracy)
    stuck = [rate for rate, row in by_rate.items() if row.best_validation_accuracy <= CHANCE + 0.02]
    measured = "; ".join(
        f"learning rate {rate}: {row.final_validation_accuracy:.1%} (best "
        f"{row.best_validation_accuracy:.1%})"
        for rate, row in by_rate.items()
    )
    if stuck:
        measured += ". Never better than guessing (10%): " + ", ".join(str(rate) for rate in stuck)
    return Verdict(
        claim="with Adam, 0.001 works best; 0.0001 learns too slowly and 0.01 is too large "
        "to converge.",
        measured=measured + f". Best: {best_rate}.",
        held=best_rate == 0.001 and 0.01 in stuck,
    )


def start_here_lessons(answers_right: Mapping[str, bool]) -> str:
    """What the OR notebook's exercises showed, as a list written from their results."""
    lessons = {
        "or": ("One neuron learned OR in 2,000 epochs.", "One neuron did not learn OR."),
        "no_bias": (
            "Even without a bias the neuron got OR right.",
            "Without a bias the neuron cannot answer 0 for `0 or 0`: its output there is always "
            "sigmoid(0) = 0.5.",
        ),
        "xor_one_neuron": (
            "One neuron got XOR right, which should be impossible: look for a mistake.",
            "One neuron could not learn XOR: no straight line separates its answers.",
        ),
        "xor_hidden_layer": (
            "A hidden layer of four neurons learned XOR.",
            "The hidden layer did not learn XOR: try more epochs.",
        ),
        "faster": (
            "A learning rate of 10 got OR right in 200 epochs, ten times fewer.",
            "A learning rate of 10 was not enough to get OR right in 200 epochs.",
        ),
    }
    return "\n".join(
        f"- {success if answers_right[name] else failure}"
        for name, (success, failure) in lessons.items()
        if name in answers_right
    )


def exploded(run: Run) -> bool:
    """Whether training ended worse than guessing (a loss above ln 10) or at infinity."""
    curves = read_scalars(run)
    final_loss = curves[metrics_of(curves).train_loss].values[-1]
    return not np.isfinite(final_loss) or final_loss > np.log(10)


def learning_rate_recipe(runs: Sequence[Run]) -> str:
    """The slides' recipe applied to a sweep: the largest rate that did not explode, halved."""
    stable = sorted(run.learning_rate for run in runs if not exploded(run))
    unstable = [run.learning_rate for run in runs if exploded(run)]
    if not stable:
        return "Every learning rate exploded: check that the inputs were scaled to [0, 1]."
    return (
        f"Exploded: {', '.join(map(str, unstable)) or 'none'}. The largest rate that did not "
        f"explode was **{stable[-1]}**, so the recipe says to use **{stable[-1] / 2}**."
    )


# The test accuracy the slides set the MNIST convnet as a goal.
MNIST_TARGET = 0.99


def keras_mnist_summary(table: ResultsTable) -> str:
    """What the Keras notebook's models reached, from its results table."""
    first, softmax, convnet = table["first_model"], table["softmax"], table["convnet"]
    best = max(table.rows, key=lambda row: row.final_validation_accuracy)
    target = "at least" if convnet.final_validation_accuracy >= MNIST_TARGET else "short of"
    change = softmax.final_validation_accuracy - first.final_validation_accuracy
    return (
        f"The slides' first model reached {first.final_validation_accuracy:.2%} on the test set; "
        f"the small convnet reached {convnet.final_validation_accuracy:.2%} ({target} the {MNIST_TARGET:.0%} "
        f"target, after {convnet.settings.get('epochs')} epochs in the "
        f"`{convnet.settings.get('profile')}` profile). The best model was **{best.name}**. "
        f"Softmax instead of sigmoid changed the test accuracy by {100 * change:+.2f} points."
    )


def mnist_target(table: ResultsTable) -> Verdict:
    """The Keras notebook as a claim: improving one change at a time, a convnet reaches 99%."""
    return Verdict(
        claim=f"one improvement at a time, a small convnet reaches {MNIST_TARGET:.0%} test "
        "accuracy on MNIST.",
        measured=keras_mnist_summary(table),
        held=table["convnet"].final_validation_accuracy >= MNIST_TARGET,
    )
