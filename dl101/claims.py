"""The claims the experiments test, each judged on the learner's run and over the seed study.

A notebook ends by calling one of these on its results table. The verdict shows the claim (and
whose it is: the article's, the slides' or this tutorial's), what this run measured, and the
same margins over the seeds of the study (:mod:`maintainers.seed_study`), judged by one rule
(:mod:`dl101.verdicts`). Every number is computed from the runs' logs or the study's records:
a verdict can never contradict them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dl101.reports import ResultsTable, minutes
from dl101.runs import Run
from dl101.tensorboard_logs import metrics_of, read_scalars
from dl101.verdicts import (
    RULE,
    Outcome,
    Records,
    RunNumbers,
    Spread,
    judge,
    load_numbers,
    weakest,
)

import numpy as np

# A network that never learned guesses one class out of ten.
CHANCE = 0.1
# "Never left chance": its best validation accuracy stayed within 2 points of guessing.
NEVER_LEFT_CHANCE = CHANCE + 0.02
# How the tutorial reads the article's "~15% more accurate": percentage points of validation
# accuracy, from 10 to 20.
DEPTH_GAIN = (0.10, 0.20)
# How the tutorial reads "underfits" (not learning enough): the one-set network's training
# accuracy, measured as validation is, stays below the three-set network's validation accuracy,
# so it does not even learn its own training images as well as the deeper network recognises
# images it never saw.


def _gain(better: str, than: str) -> Callable[[Mapping[str, Any]], float]:
    """A margin: final validation accuracy of the run in role ``better`` minus that of ``than``."""
    return lambda r: r[better].final_validation_accuracy - r[than].final_validation_accuracy


def _positive(margin: float) -> bool:
    return margin > 0


def _not_negative(margin: float) -> bool:
    return margin >= 0


@dataclass(frozen=True)
class Part:
    """One testable half of a claim: a margin computed from the runs, and when it holds.

    ``margin`` gets each role's run numbers (final and best validation accuracy, training
    accuracy, gap) and returns a difference in accuracy; shown in points unless ``as_accuracy``.
    """

    text: str
    margin: Callable[[Mapping[str, Any]], float]
    holds: Callable[[float], bool] = _positive
    as_accuracy: bool = False
    decimals: int = 1  # of a point: MNIST's steps differ by hundredths, CIFAR-10's by tenths
    words: tuple[str, str] = ("held", "did not hold")  # this run's outcome, in the part's terms


@dataclass(frozen=True)
class Claim:
    """A claim, whose it is, and its parts; ``roles`` name each run in the notebook and the study."""

    source: str
    text: str
    roles: Mapping[str, tuple[str, str]]  # role -> (run label in the notebook, seed-study run)
    parts: tuple[Part, ...]
    title: str = ""  # "Experiment 1: dropout", as the published pages head it
    notebook: str = ""  # the notebook whose verdict tests it
    in_brief: str = ""  # the claim in a few words, for the README's Results

    @property
    def labels(self) -> list[str]:
        """The runs the claim compares, as the notebook names them."""
        return [label for label, _ in self.roles.values()]

    @property
    def study_only(self) -> bool:
        """True when no notebook trains the claim's runs (no run labels): only the study has them."""
        return not any(label for label, _ in self.roles.values())


@dataclass(frozen=True)
class PartResult:
    part: Part
    this_run: float | None  # None: the notebook has not run every run the part needs
    study: Spread | None  # None: the study has no seed with every run recorded
    outcome: Outcome | None

    @property
    def held_in_this_run(self) -> bool | None:
        return None if self.this_run is None else self.part.holds(self.this_run)

    @property
    def held_in_seeds(self) -> int:
        return sum(self.part.holds(margin) for margin in self.study.values) if self.study else 0

    def _shown(self, margin: float) -> str:
        if self.part.as_accuracy:
            return f"{margin:.1%}"
        return f"{100 * margin:+.{self.part.decimals}f} points"

    def row(self, study_only: bool = False) -> str:
        if study_only:
            this_run = "not trained here"
        elif self.this_run is None:
            this_run = "not run yet"
        else:
            held = self.part.words[0] if self.held_in_this_run else self.part.words[1]
            this_run = f"{self._shown(self.this_run)} ({held})"
        if self.study is None or self.outcome is None:
            return f"| {self.part.text} | {this_run} | no seeds recorded yet | | |"
        if self.part.as_accuracy:
            spread = self.study.percent()
        else:
            spread = self.study.points(self.part.decimals)
        return (
            f"| {self.part.text} | {this_run} | {spread} "
            f"| {self.held_in_seeds} of {len(self.study.values)} | {self.outcome.value} |"
        )


def claim_outcome(parts: Sequence[PartResult]) -> Outcome | None:
    """A claim is as strong as its weakest part over the study's seeds (None: no study recorded)."""
    outcomes = [part.outcome for part in parts]
    if not outcomes or None in outcomes:
        return None
    return weakest([outcome for outcome in outcomes if outcome is not None])


@dataclass(frozen=True)
class Verdict:
    """A claim, what this run and the seed study measured, and the outcome; Jupyter shows it."""

    claim: str
    measured: str
    held: bool | None  # in this run, every part; None: the runs it needs are not all there
    parts: tuple[PartResult, ...] = ()
    study_note: str = ""
    study_only: bool = False  # the notebook trains none of the claim's runs

    @property
    def outcome(self) -> Outcome | None:
        """The weakest part's outcome over the study's seeds (None: no study recorded)."""
        return claim_outcome(self.parts)

    def __repr__(self) -> str:
        return self._repr_markdown_()

    def _table(self) -> str:
        seeds = max((len(p.study.values) for p in self.parts if p.study), default=0)
        lines = [
            f"| part of the claim | this run | over the study's {_seeds(seeds)}: mean ± sd "
            "(range) | held in | over the seeds |",
            "|---|---|---|---|---|",
            *(part.row(self.study_only) for part in self.parts),
        ]
        return "\n".join(lines)

    def _verdict_text(self) -> str:
        if self.study_only:
            this_run = "this notebook does not train these runs"
        elif self.held is None:
            this_run = "not tested in this run yet"
        else:
            this_run = "in this run it held" if self.held else "in this run it did not hold"
        outcome = self.outcome
        if outcome is None:
            return f"{this_run}; the seed study has no record of it yet"
        seeds = max(len(part.study.values) for part in self.parts if part.study)
        return f"{this_run}; over the study's {_seeds(seeds)}: **{outcome.value}**"

    def _repr_markdown_(self) -> str:
        text = f"**The claim:** {self.claim}\n\n**Measured:** {self.measured}"
        if self.parts:
            text += "\n\n" + self._table()
        if self.study_note:
            text += "\n\n" + self.study_note
        if self.parts:
            text += f"\n\n{RULE}"
        return text + f"\n\n**Verdict:** {self._verdict_text()}."


def _seeds(count: int) -> str:
    return f"{count} seed" if count == 1 else f"{count} seeds"


def _points(difference: float) -> str:
    return f"{100 * difference:+.1f} points"


def _versus(variant: Any, baseline: Any, variant_name: str, baseline_name: str) -> str:
    """One sentence comparing two runs of this notebook, every number taken from their results."""
    return (
        f"**{variant_name}** ended at {variant.final_validation_accuracy:.1%} validation accuracy "
        f"against {baseline.final_validation_accuracy:.1%} for **{baseline_name}** "
        f"({_points(variant.final_validation_accuracy - baseline.final_validation_accuracy)}; "
        f"best {variant.best_validation_accuracy:.1%} against "
        f"{baseline.best_validation_accuracy:.1%}). Training minus validation accuracy (both "
        f"measured on unaugmented images, dropout off) was {_points(variant.gap)} against "
        f"{_points(baseline.gap)}, and training took {minutes(variant.wall_time_seconds)} "
        f"against {minutes(baseline.wall_time_seconds)}."
    )


def study_margins(claim: Claim, records: Records | None = None) -> dict[str, list[float]]:
    """Each part's margin in every seed for which the study recorded all of the claim's runs."""
    records = load_numbers() if records is None else records
    names = [study_name for _, study_name in claim.roles.values()]
    seeds = sorted(set.intersection(*(set(records.get(name, {})) for name in names)))
    margins: dict[str, list[float]] = {part.text: [] for part in claim.parts}
    for seed in seeds:
        numbers = {role: records[name][seed] for role, (_, name) in claim.roles.items()}
        for part in claim.parts:
            margins[part.text].append(part.margin(numbers))
    return margins


def judge_claim(
    claim: Claim,
    this_run: Mapping[str, Any] | None,
    records: Records | None = None,
) -> tuple[PartResult, ...]:
    """Each part of ``claim`` on this run's numbers (by role) and over the study's seeds."""
    margins = study_margins(claim, records)
    results = []
    for part in claim.parts:
        values = margins[part.text]
        results.append(
            PartResult(
                part,
                this_run=None if this_run is None else part.margin(this_run),
                study=Spread(tuple(values)) if values else None,
                outcome=judge(values, part.holds) if values else None,
            )
        )
    return tuple(results)


def _verdict(
    claim: Claim,
    measured: str,
    this_run: Mapping[str, Any] | None,
    records: Records | None,
    study_note: str = "",
) -> Verdict:
    parts = judge_claim(claim, this_run, records)
    held = None if this_run is None else all(part.held_in_this_run for part in parts)
    return Verdict(
        claim=f"{claim.source} {claim.text}",
        measured=measured,
        held=held,
        parts=parts,
        study_note=study_note,
        study_only=claim.study_only,
    )


def _rows(table: ResultsTable, claim: Claim) -> dict[str, RunNumbers] | None:
    """Each role's run in ``table``; ``None`` while one has not run, or has not run to its end."""
    ran = {row.name for row in table.rows}
    if not all(label in ran for label in claim.labels):
        return None
    rows = {role: table[label] for role, (label, _) in claim.roles.items()}
    return None if any(row.partial for row in rows.values()) else rows


def _partial_runs(table: ResultsTable, claim: Claim) -> str:
    """The sentence that says why this run is not judged: which of its runs are partial."""
    partial = [row for row in table.rows if row.name in claim.labels and row.partial]
    return "".join(
        f" **{row.name}** is partial ({row.shortfall}): this run is judged when it has finished."
        for row in partial
    )


DEPTH = Claim(
    source="The article says",
    text='the network with three sets of layers is "~15% more accurate" than the one with one '
    'set, and that the one with few layers "is underfitting - it\'s not learning enough". Read '
    "here as: validation accuracy 10 to 20 points higher, and the one-set network's training "
    "accuracy below the three-set network's validation accuracy (it does not even learn its own "
    "training images as well as the deeper network recognises new ones).",
    roles={"few": ("few_layers", "few_layers"), "three": ("three_layer_sets", "three_layer_sets")},
    parts=(
        Part(
            "three sets are more accurate (validation, three minus one)",
            _gain("three", "few"),
        ),
        Part(
            "by 10 to 20 points",
            _gain("three", "few"),
            holds=lambda gain: DEPTH_GAIN[0] <= gain <= DEPTH_GAIN[1],
        ),
        Part(
            "one set underfits (three's validation minus one's training accuracy)",
            lambda r: r["three"].final_validation_accuracy - r["few"].final_train_accuracy,
        ),
    ),
    title="Experiment 0: depth",
    notebook="experiment_0_three_layer_sets",
    in_brief="three sets of layers beat one by 10-20 points; one set underfits (the article)",
)


def depth(table: ResultsTable, records: Records | None = None) -> Verdict:
    """Experiment 0: three sets of layers against one (this run untested until both have run)."""
    rows = _rows(table, DEPTH)
    ran = [row for row in table.rows if row.name in DEPTH.labels]
    missing = [label for label in DEPTH.labels if label not in {row.name for row in ran}]
    if missing:
        measured = " and ".join(f"**{label}**" for label in missing) + (
            " has not run yet in this profile"
        )
        for row in ran:
            measured += (
                f"; **{row.name}** ended at {row.final_validation_accuracy:.1%} validation accuracy"
                f" (best {row.best_validation_accuracy:.1%}), training accuracy "
                f"{row.final_train_accuracy:.1%}"
            )
        measured += "."
    else:
        measured = _versus(
            table["three_layer_sets"], table["few_layers"], "three_layer_sets", "few_layers"
        ) + _partial_runs(table, DEPTH)
    return _verdict(DEPTH, measured, rows, records)


def _regularisation_claim(
    source: str,
    text: str,
    without: tuple[str, str],
    with_: tuple[str, str],
    same_accuracy_holds: Callable[[float], bool],
    accuracy_text: str,
    **published: str,
) -> Claim:
    return Claim(
        source=source,
        text=text,
        roles={"without": without, "with": with_},
        **published,
        parts=(
            Part(
                "smaller gap (gap without minus gap with)",
                lambda r: r["without"].gap - r["with"].gap,
            ),
            Part(
                accuracy_text,
                _gain("with", "without"),
                holds=same_accuracy_holds,
            ),
        ),
    )


DROPOUT = _regularisation_claim(
    "The article presents",
    "dropout as a regularisation: it reduces overfitting. Tested here as: a smaller gap between "
    "training and validation accuracy, and no lower validation accuracy (this tutorial's test).",
    without=("without_dropout", "base"),
    with_=("with_dropout", "base_dropout"),
    same_accuracy_holds=_not_negative,
    accuracy_text="validation accuracy no lower (with minus without)",
    title="Experiment 1: dropout",
    notebook="experiment_1_dropout",
    in_brief="a smaller gap between training and validation, at no cost in accuracy (the article)",
)

L2 = _regularisation_claim(
    "The article says",
    'the network with L2 regularisation "outperforms the one without"; L2, like dropout, is '
    "meant to reduce overfitting. Tested here as: a smaller gap between training and validation "
    "accuracy, and a higher validation accuracy.",
    without=("without_l2", "base"),
    with_=("with_l2", "base_l2"),
    same_accuracy_holds=_positive,
    accuracy_text="validation accuracy higher (with minus without)",
    title="Experiment 2: L2",
    notebook="experiment_2_l2",
    in_brief="a smaller gap, and higher validation accuracy (the article)",
)


def dropout(table: ResultsTable, records: Records | None = None) -> Verdict:
    """Experiment 1: dropout narrows the train/validation gap without costing accuracy."""
    rows = _rows(table, DROPOUT)
    measured = _versus(
        table["with_dropout"], table["without_dropout"], "with_dropout", "without_dropout"
    ) + _partial_runs(table, DROPOUT)
    return _verdict(DROPOUT, measured, rows, records)


def l2(table: ResultsTable, records: Records | None = None) -> Verdict:
    """Experiment 2: L2 regularisation narrows the gap and improves validation accuracy."""
    rows = _rows(table, L2)
    measured = _versus(
        table["with_l2"], table["without_l2"], "with_l2", "without_l2"
    ) + _partial_runs(table, L2)
    return _verdict(L2, measured, rows, records)


def _by_the_clock(r: Mapping[str, RunNumbers]) -> float:
    deadline = min(r["small"].wall_time_seconds, r["large"].wall_time_seconds)
    return r["small"].best_validation_accuracy_within(deadline) - r[
        "large"
    ].best_validation_accuracy_within(deadline)


BATCH_SIZE = Claim(
    source="The slides advise",
    text="choosing a batch size by plotting validation accuracy over time, not epochs. This "
    "tutorial's claim, tested that way: batches of 50 learn more than batches of 2,000, by the "
    "clock (the best validation accuracy reached before the faster run ended) and after the "
    "same number of epochs. (The article says only that a large batch takes fewer, more "
    "accurate steps but needs more memory and time per step.)",
    roles={"small": ("batch_50", "batch_50"), "large": ("batch_2000", "batch_2000")},
    parts=(
        Part("batch 50 ahead by the clock (50 minus 2,000)", _by_the_clock),
        Part(
            "batch 50 ahead after the same epochs",
            _gain("small", "large"),
        ),
    ),
    title="Experiment 3: batch size",
    notebook="experiment_3_batch_size",
    in_brief="batches of 50 ahead of 2,000, by the clock and by the epoch (this tutorial)",
)


def batch_size(
    table: ResultsTable,
    small: Run,
    large: Run,
    records: Records | None = None,
) -> Verdict:
    """Experiment 3: by the clock and by the epoch, the small batch learns more than the large."""
    numbers = {"small": table[small.label], "large": table[large.label]}
    deadline = min(row.wall_time_seconds for row in numbers.values())
    measured = _versus(numbers["small"], numbers["large"], small.label, large.label) + (
        f" Within the first {minutes(deadline)} (when the faster run ended), the best "
        f"validation accuracy was {numbers['small'].best_validation_accuracy_within(deadline):.1%}"
        f" with batch {small.batch_size} and "
        f"{numbers['large'].best_validation_accuracy_within(deadline):.1%} with batch "
        f"{large.batch_size}."
    )
    rows = _rows(table, BATCH_SIZE)
    return _verdict(BATCH_SIZE, measured + _partial_runs(table, BATCH_SIZE), rows, records)


LEARNING_RATE_SCALING = Claim(
    source="The slides' rule of thumb:",
    text='"batch_size * X => learning_rate / X (or sqrt(X))". Batch 2,000 is 40 times batch 50, '
    "so the study trains batch 2,000 with the learning rate 0.001 divided by sqrt(40) (the "
    "slides' gentler choice) and, as today's practice for Adam suggests, multiplied by it.",
    roles={
        "unchanged": ("", "batch_2000"),
        "down": ("", "batch_2000_lr_down"),
        "up": ("", "batch_2000_lr_up"),
    },
    parts=(
        Part(
            "smaller rate (0.000158) helps batch 2,000 (minus rate 0.001)",
            _gain("down", "unchanged"),
        ),
        Part(
            "larger rate (0.00632) helps batch 2,000 (minus rate 0.001)",
            _gain("up", "unchanged"),
        ),
    ),
    title="Experiment 3: batch size and learning rate",
    notebook="experiment_3_batch_size",
)


def learning_rate_scaling(records: Records | None = None) -> Verdict:
    """The slides' batch-size rule against today's, measured by the seed study only."""
    return _verdict(
        LEARNING_RATE_SCALING,
        "these runs are the seed study's (the notebook does not train them).",
        None,
        records,
    )


LEARNING_RATE = Claim(
    source="The article says",
    text="the learning rate is one of the most important settings: too high or too low and "
    "the network may not converge, as with its large rate (0.01). Tested here as: with Adam, "
    "0.001 ends ahead of 0.0001 and of 0.01, and 0.01 never leaves chance (its best validation "
    "accuracy within 2 points of the 10% of guessing).",
    roles={
        "slow": ("lr_0.0001", "lr_0.0001"),
        "medium": ("lr_0.001", "base_dropout"),
        "fast": ("lr_0.01", "lr_0.01"),
    },
    parts=(
        Part(
            "0.001 ahead of 0.0001",
            _gain("medium", "slow"),
        ),
        Part(
            "0.001 ahead of 0.01",
            _gain("medium", "fast"),
        ),
        Part(
            "0.01 never leaves chance (its best accuracy)",
            lambda r: r["fast"].best_validation_accuracy,
            holds=lambda best: best <= NEVER_LEFT_CHANCE,
            as_accuracy=True,
        ),
    ),
    title="Experiment 4: learning rate",
    notebook="experiment_4_learning_rate",
    in_brief="for Adam, 0.001 beats 0.0001 (too slow) and 0.01 (never learns) (the article)",
)


def _fast_rate_note(records: Records | None) -> str:
    records = load_numbers() if records is None else records
    seeds = records.get("lr_0.01", {})
    if not seeds:
        return ""
    stuck = sorted(
        seed for seed, run in seeds.items() if run.best_validation_accuracy <= NEVER_LEFT_CHANCE
    )
    learned = {seed: run for seed, run in seeds.items() if seed not in stuck}
    text = (
        f"Learning rate 0.01 never left chance in {len(stuck)} of {len(seeds)} seeds of the study"
    )
    if learned:
        reached = ", ".join(
            f"seed {seed}: {run.final_validation_accuracy:.1%}"
            for seed, run in sorted(learned.items())
        )
        text += f"; the others ended at {reached}"
    return text + "."


def learning_rate(
    table: ResultsTable,
    runs: Sequence[Run],
    records: Records | None = None,
) -> Verdict:
    """Experiment 4: for Adam, 0.001 beats a ten times smaller and a ten times larger rate."""
    by_rate = {run.learning_rate: table[run.label] for run in runs}
    measured = "; ".join(
        f"learning rate {rate}: {row.final_validation_accuracy:.1%} (best "
        f"{row.best_validation_accuracy:.1%})"
        for rate, row in by_rate.items()
    )
    rows = _rows(table, LEARNING_RATE)
    measured += "." + _partial_runs(table, LEARNING_RATE)
    return _verdict(LEARNING_RATE, measured, rows, records, _fast_rate_note(records))


# The claims the experiments test, in the order the published pages show them.
EXPERIMENT_CLAIMS = (DEPTH, DROPOUT, L2, BATCH_SIZE, LEARNING_RATE_SCALING, LEARNING_RATE)


def start_here_lessons(
    answers_right: Mapping[str, bool], integers_then_0_1: bool | None = None
) -> str:
    """What the OR notebook's exercises showed, as a list written from their results.

    ``integers_then_0_1``: whether the neuron trained on whole numbers up to 7 then answered
    the four 0/1 questions right.
    """
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
            "A hidden layer of four neurons, starting from Xavier's weights, learned XOR.",
            "The hidden layer did not learn XOR: try more epochs, or another seed.",
        ),
        "integers": (
            "With whole numbers up to 7 as inputs, the neuron learned its four examples.",
            "With whole numbers up to 7 as inputs, the neuron did not learn its four examples.",
        ),
        "faster": (
            "A learning rate of 10 got OR right in 200 epochs, ten times fewer.",
            "A learning rate of 10 was not enough to get OR right in 200 epochs.",
        ),
    }
    lines = [
        f"- {success if answers_right[name] else failure}"
        for name, (success, failure) in lessons.items()
        if name in answers_right
    ]
    if integers_then_0_1 is not None:
        lines.append(
            "- Asked the original 0/1 questions, that neuron got them all right too."
            if integers_then_0_1
            else "- Asked the original 0/1 questions, that neuron got some wrong: a network "
            "answers well only for inputs like the ones it trained on."
        )
    return "\n".join(lines)


def xor_seed_lessons(learned: Mapping[tuple[int, str], int], seeds: int) -> str:
    """What start_here's XOR networks over many seeds showed, written from their counts.

    ``learned`` maps (hidden neurons, starting weights) to the number of seeds that learned XOR.
    """
    default, xavier, two = (
        learned[(4, "truncated_normal")],
        learned[(4, "xavier")],
        learned[(2, "xavier")],
    )
    text = (
        f"With four hidden neurons, tflearn's default starting weights learned XOR in {default} of "
        f"{seeds} seeds and Xavier's in {xavier} of {seeds}"
    )
    if xavier == seeds and default == 0:
        text += ": every seed agrees, so here the starting weights decide, not chance."
    elif xavier > default:
        text += ": Xavier's did better, but not in every seed."
    else:
        text += ": Xavier's did not do better here."
    text += f" With two hidden neurons and Xavier's weights, {two} of {seeds}"
    if 0 < two < seeds:
        text += (
            ": the same network learns from some seeds and not from others, so a single run of "
            "it could have shown you either answer."
        )
    else:
        text += "." if two == seeds else ": it never learned."
    return text


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
    chosen = stable[-1] / 2
    text = (
        f"Exploded: {', '.join(map(str, unstable)) or 'none'}. The largest rate that did not "
        f"explode was **{stable[-1]}**, so the recipe says to use **{chosen}**."
    )
    if chosen not in [run.learning_rate for run in runs]:
        text += f" This sweep did not train {chosen}: add it to the list of rates and see."
    return text


# This tutorial's goal for the MNIST convnet (the slides set no number).
MNIST_TARGET = 0.99


def keras_mnist_summary(table: ResultsTable) -> str:
    """What the Keras notebook's models reached, from its results table."""
    first, softmax, convnet = table["first_model"], table["softmax"], table["convnet"]
    best = max(table.rows, key=lambda row: row.final_validation_accuracy)
    target = "at least" if convnet.final_validation_accuracy >= MNIST_TARGET else "short of"
    change = softmax.final_validation_accuracy - first.final_validation_accuracy
    return (
        f"The slides' first model (sigmoid outputs, SGD at learning rate "
        f"{first.settings.get('learning_rate')}) reached {first.final_validation_accuracy:.2%} on "
        "the test set; "
        f"the small convnet reached {convnet.final_validation_accuracy:.2%} ({target} this "
        f"tutorial's goal of {MNIST_TARGET:.0%}, after {convnet.settings.get('epochs')} epochs in "
        f"the `{convnet.settings.get('profile')}` profile). The best model was **{best.name}**. "
        f"Softmax instead of sigmoid changed the test accuracy by {100 * change:+.2f} points."
    )


def mnist_target(table: ResultsTable) -> Verdict:
    """The Keras notebook's goal, this tutorial's own: a small convnet reaches 99% on MNIST."""
    return Verdict(
        claim=f"This tutorial's goal: the slides' exercise, taken further, ends with a small "
        f"convnet that reaches {MNIST_TARGET:.0%} test accuracy on MNIST.",
        measured=keras_mnist_summary(table),
        held=table["convnet"].final_validation_accuracy >= MNIST_TARGET,
    )


# keras_mnist's steps: (model, the model it changes, what it changes). Test accuracy is the
# validation accuracy there.
MNIST_STEPS = (
    ("softmax", "first_model", "softmax instead of sigmoid"),
    ("hidden_layers", "softmax", "three hidden layers (256, 128, 64)"),
    ("he_initialisation", "hidden_layers", "He initialisation"),
    ("l2", "he_initialisation", "L2 on the weights (1e-4)"),
    ("dropout", "he_initialisation", "dropout (0.2) instead of L2"),
    ("augmentation", "dropout", "augmentation (shifted, turned digits)"),
    ("convnet", "dropout", "a convnet, with Adam at 0.001 and batches of 128"),
)


def _step_claim(model: str, base: str, change: str) -> Claim:
    return Claim(
        source="This tutorial's step:",
        text=change,
        roles={"base": (base, f"mnist_{base}"), "step": (model, f"mnist_{model}")},
        parts=(
            Part(
                f"{model}: {change} (minus {base})",
                _gain("step", "base"),
                decimals=2,
                words=("helped", "did not help"),
            ),
        ),
    )


MNIST_STEP_CLAIMS = tuple(_step_claim(*step) for step in MNIST_STEPS)
# keras_mnist's models of section 4, in the order it trains them: the slides' first, then a step each.
MNIST_MODELS = ("first_model", *(model for model, _, _ in MNIST_STEPS))


@dataclass(frozen=True)
class StepsTable:
    """keras_mnist's steps: this run's change in test accuracy beside the seed study's."""

    rows: tuple[PartResult, ...]

    def __repr__(self) -> str:
        return self._repr_markdown_()

    def _repr_markdown_(self) -> str:
        seeds = max((len(row.study.values) for row in self.rows if row.study), default=0)
        helped = [row.part.text.split(":")[0] for row in self.rows if row.outcome is Outcome.HELD]
        lines = [
            f"| step (test accuracy, minus the model it changes) | this run | over the study's "
            f"{_seeds(seeds)}: mean ± sd (range) | helped in | over the seeds |",
            "|---|---|---|---|---|",
            *(row.row() for row in self.rows),
            "",
            RULE.replace("A claim", "A step"),
            "",
        ]
        if not seeds:
            lines.append("The seed study has no record of these models yet (`make seeds`).")
        else:
            lines.append(
                "Helped in every seed: "
                + (", ".join(f"**{name}**" for name in helped) if helped else "none")
                + "."
            )
        return "\n".join(lines)


def mnist_steps(table: ResultsTable, records: Records | None = None) -> StepsTable:
    """Did each of keras_mnist's changes raise test accuracy, in this run and over the seeds?"""
    labels = {row.name for row in table.rows}
    rows: list[PartResult] = []
    for claim in MNIST_STEP_CLAIMS:
        this_run = _rows(table, claim) if labels else None
        rows.extend(judge_claim(claim, this_run, records))
    return StepsTable(tuple(rows))
