"""The claims the experiments test, each judged on the learner's run and over the seed study."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dl101 import verdicts
from dl101.reports import ResultsTable
from dl101.runs import Run
from dl101.tensorboard_logs import metrics_of, read_scalars
from dl101.verdicts import MNIST_RECORD_PREFIX, Outcome, Records, RunNumbers

import numpy as np

CHANCE = 0.1  # a network that never learned guesses one class out of ten
NEVER_LEFT_CHANCE_POINTS = 2  # "never left chance": best accuracy within 2 points of guessing
DEPTH_GAIN = (0.10, 0.20)  # how the tutorial reads the article's "~15% more accurate"
DEPTH_GAIN_TEXT = f"{100 * DEPTH_GAIN[0]:.0f} to {100 * DEPTH_GAIN[1]:.0f} points"


def _gain(better: str, than: str) -> Callable[[Mapping[str, RunNumbers]], float]:
    return lambda r: r[better].final_validation_accuracy - r[than].final_validation_accuracy


def _gap_shrinks(r: Mapping[str, RunNumbers]) -> float:
    return r["without"].gap - r["with"].gap


@dataclass(frozen=True)
class Part:
    """One testable part of a claim: a margin from the runs' numbers, and when it holds."""

    text: str
    margin: Callable[[Mapping[str, RunNumbers]], float]  # from each role's run
    holds: Callable[[float], bool] = lambda margin: margin > 0
    as_accuracy: bool = False  # shown as an accuracy, not in points
    decimals: int = 1  # of a point: MNIST's steps differ by hundredths, CIFAR-10's by tenths
    # For a range or a threshold, "the opposite" or "no clear effect" would mislead.
    reads: Mapping[Outcome, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """A claim in its source's words, and its parts."""

    title: str  # "Experiment 1: dropout", as the published pages head it
    notebook: str  # the notebook that shows its verdict
    text: str  # whose claim, in their words, and how the tutorial tests it
    roles: Mapping[str, str]  # role -> the seed study's record of that run
    parts: tuple[Part, ...]
    in_brief: str = ""  # a few words, for the README's Results
    group: str = ""  # the notebook's log group, when it is not the notebook's name

    @property
    def labels(self) -> dict[str, str]:
        """Each role's run as the notebook names it; empty if the study alone trains them."""
        experiment = self.group or self.notebook
        labels = {role: verdicts.label_in(experiment, run) for role, run in self.roles.items()}
        return labels if all(labels.values()) else {}


@dataclass(frozen=True)
class PartResult:
    part: Part
    this_run: float | None  # None: this notebook has not trained (or finished) every run
    seeds: tuple[float, ...]  # the margin in each seed the study recorded every run of
    full: float | None = None  # the same margin in the `full` run (None: not published)

    @property
    def outcome(self) -> Outcome | None:
        return verdicts.judge(self.seeds, self.part.holds) if self.seeds else None

    def in_one_run(self, margin: float | None) -> str:
        """A margin of one run, and whether the part held there: ``+2.3 points (held)``."""
        if margin is None:
            return "not run yet"
        points = f"{100 * margin:+.{self.part.decimals}f} points"
        shown = f"{margin:.1%}" if self.part.as_accuracy else points
        return f"{shown} ({'held' if self.part.holds(margin) else 'did not hold'})"

    @property
    def verdict(self) -> str:
        return self.part.reads.get(self.outcome, self.outcome.value) if self.outcome else ""

    @property
    def held_in(self) -> str:
        return f"{sum(map(self.part.holds, self.seeds))} of {len(self.seeds)}"

    @property
    def spread(self) -> str:
        return verdicts.spread(self.seeds, self.part.decimals, percent=self.part.as_accuracy)

    def over_seeds(self, without_seeds: str) -> str:
        """Table cells: the margins' spread, in how many seeds the part held, and its verdict."""
        if self.outcome is None:
            return f"{without_seeds} | |"
        return f"{self.spread} | {self.held_in} | **{self.verdict}**"


def study_margins(claim: Claim, records: Records | None = None) -> dict[str, list[float]]:
    """Each part's margin in every seed for which the study recorded all of the claim's runs."""
    records = verdicts.load_numbers() if records is None else records
    seeds = sorted(set.intersection(*(set(records.get(name, {})) for name in claim.roles.values())))
    numbers = [{role: records[name][seed] for role, name in claim.roles.items()} for seed in seeds]
    return {part.text: [part.margin(each_seed) for each_seed in numbers] for part in claim.parts}


def judge_claim(
    claim: Claim,
    this_run: Mapping[str, RunNumbers] | None,
    records: Records | None = None,
    full: Mapping[str, RunNumbers] | None = None,
) -> tuple[PartResult, ...]:
    """Each part of ``claim`` in this run, over the study's seeds and in the ``full`` run."""
    margins = study_margins(claim, records)
    return tuple(
        PartResult(
            part,
            this_run=None if this_run is None else part.margin(this_run),
            seeds=tuple(margins[part.text]),
            full=None if full is None else part.margin(full),
        )
        for part in claim.parts
    )


def _by_role(claim: Claim, runs: Mapping[str, RunNumbers]) -> dict[str, RunNumbers] | None:
    """Each role's run among ``runs`` (by label); None while one is missing or partial."""
    labels = claim.labels
    if not labels or any(label not in runs or runs[label].partial for label in labels.values()):
        return None
    return {role: runs[label] for role, label in labels.items()}


def _table(first_column: str, held: str, parts: Sequence[PartResult], trained: bool) -> list[str]:
    """A verdict table's lines: each part in this run (and the `full` run), and over the seeds."""
    seeds = max(len(part.seeds) for part in parts)
    full = any(part.full is not None for part in parts)
    lines = [
        f"| {first_column} | this run{' | `full` run, 1 seed' * full} | over the study's {seeds} "
        f"seeds: mean ± sd (range) | {held} | verdict over the seeds |",
        "|---|---|---|---|---|" + "---|" * full,
    ]
    for part in parts:
        cells = part.in_one_run(part.this_run) if trained else "not trained here"
        cells += f" | {part.in_one_run(part.full)}" * full
        lines.append(f"| {part.part.text} | {cells} | {part.over_seeds('no seeds recorded yet')} |")
    return lines


def _no_seeds(parts: Sequence[PartResult], what: str) -> list[str]:
    if any(part.seeds for part in parts):
        return []
    return ["", f"The seed study has no record of these {what} yet (`make seeds`)."]


FULL_CAVEAT = (
    "The `full` run is the article's scale (50 epochs on all 50,000 images), trained once, with "
    "seed 0: one sample, like this run. Its training accuracy is tflearn's running average, as "
    "the notebooks measured it then, not measured as this run's is, so its gaps compare only "
    "roughly ([its page](results/full/README.md#{notebook}))."
)


@dataclass(frozen=True)
class Verdict:
    """A claim, and each part of it in this run and over the study's seeds; Jupyter shows it."""

    claim: Claim
    parts: tuple[PartResult, ...]
    note: str = ""  # which of this run's runs are partial, and so not judged

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.claim.title}.** {self.claim.text}", ""]
        lines += _table("part of the claim", "held in", self.parts, bool(self.claim.labels))
        if any(part.full is not None for part in self.parts):
            lines += ["", FULL_CAVEAT.format(notebook=self.claim.notebook)]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines + _no_seeds(self.parts, "runs"))

    __repr__ = _repr_markdown_


def verdict(
    claim: Claim,
    table: ResultsTable | None = None,
    records: Records | None = None,
    full: Mapping[str, RunNumbers] | None = None,
) -> Verdict:
    """``claim`` judged on a notebook's results ``table``, over the study and in its ``full`` run."""
    this_run = {} if table is None else {row.name: row for row in table.rows}
    note = " ".join(
        f"**{name}** is partial ({row.shortfall}): this run is judged when it has finished."
        for name, row in this_run.items()
        if name in claim.labels.values() and row.partial
    )
    full = verdicts.full_run_numbers(claim.notebook) if full is None else full
    parts = judge_claim(claim, _by_role(claim, this_run), records, _by_role(claim, full))
    return Verdict(claim, parts, note)


DEPTH = Claim(
    title="Experiment 0: depth",
    notebook="experiment_0_three_layer_sets",
    text='The article says the network with three sets of layers is "~15% more accurate" than '
    'the one with one set, which "is underfitting - it\'s not learning enough". This tutorial '
    f"reads ~15% as {DEPTH_GAIN_TEXT}, and underfitting as: the one-set network learns its own "
    "training images less well than the three-set network recognises images it never saw.",
    group="experiment_0",
    roles={"few": "few_layers", "three": "three_layer_sets"},
    parts=(
        Part("three sets more accurate (validation, three minus one)", _gain("three", "few")),
        Part(
            f"by {DEPTH_GAIN_TEXT} (this tutorial's reading of ~15%)",
            _gain("three", "few"),
            holds=lambda gain: DEPTH_GAIN[0] <= gain <= DEPTH_GAIN[1],
            reads={Outcome.OPPOSITE: f"outside {DEPTH_GAIN_TEXT} in every seed"},
        ),
        Part(
            "one set underfits (three's validation minus one's training accuracy; this "
            "tutorial's reading)",
            lambda r: r["three"].final_validation_accuracy - r["few"].final_train_accuracy,
        ),
    ),
    in_brief="three sets of layers are ~15% more accurate than one, which underfits (the article)",
)

DROPOUT = Claim(
    title="Experiment 1: dropout",
    notebook="experiment_1_dropout",
    text="The article presents dropout as a way to prevent overfitting, which this tutorial "
    "measures as a smaller gap between training and validation accuracy; that it costs no "
    "validation accuracy is this tutorial's test too.",
    roles={"without": "base", "with": "base_dropout"},
    parts=(
        Part("smaller gap (gap without minus gap with)", _gap_shrinks),
        Part(
            "validation accuracy no lower (with minus without; this tutorial's test)",
            _gain("with", "without"),
            holds=lambda margin: margin >= 0,
        ),
    ),
    in_brief="dropout prevents overfitting (the article), at no cost in accuracy (this tutorial)",
)

L2 = Claim(
    title="Experiment 2: L2",
    notebook="experiment_2_l2",
    text='The article says the network with L2 regularisation "outperforms the one without", '
    "which this tutorial reads as a higher validation accuracy, and presents L2, like dropout, as "
    "a way to prevent overfitting, which it measures as a smaller gap.",
    roles={"without": "base", "with": "base_l2"},
    parts=(
        Part("smaller gap (gap without minus gap with)", _gap_shrinks),
        Part("higher validation accuracy (with minus without)", _gain("with", "without")),
    ),
    in_brief="L2 prevents overfitting and outperforms the network without it (the article)",
)

BATCH_SIZE = Claim(
    title="Experiment 3: batch size",
    notebook="experiment_3_batch_size",
    text="The article says only that a large batch takes fewer, more accurate steps but needs "
    "more memory and time per step. This tutorial's claim: after the same number of epochs, "
    "batches of 50 are ahead of batches of 2,000.",
    roles={"small": "batch_50", "large": "batch_2000"},
    parts=(Part("batch 50 ahead after the same epochs (50 minus 2,000)", _gain("small", "large")),),
    in_brief="batches of 50 ahead of 2,000 after the same epochs (this tutorial)",
)

# Experiment 3's learning rate, and what the two rival rules below make of it for batch 2,000.
BATCH_SIZE_LEARNING_RATE = 0.001
SCALED_LEARNING_RATES = {
    "down": round(BATCH_SIZE_LEARNING_RATE / 40**0.5, 6),
    "up": round(BATCH_SIZE_LEARNING_RATE * 40**0.5, 6),
}

LEARNING_RATE_SCALING = Claim(
    title="Experiment 3: batch size and learning rate",
    notebook="experiment_3_batch_size",
    text='Two rival rules for a 40 times larger batch. The slides: "batch_size * X => '
    'learning_rate / X (or sqrt(X))", so the study trains batch 2,000 with '
    f"{BATCH_SIZE_LEARNING_RATE} divided by sqrt(40). Today's practice for Adam: a larger batch "
    f"takes a larger rate, {BATCH_SIZE_LEARNING_RATE} times sqrt(40). Each rule is its own row: "
    "no joint verdict.",
    roles={"unchanged": "batch_2000", "down": "batch_2000_lr_down", "up": "batch_2000_lr_up"},
    parts=tuple(
        Part(
            f"{rule}: rate {SCALED_LEARNING_RATES[way]:.3g} helps batch 2,000 (minus rate "
            f"{BATCH_SIZE_LEARNING_RATE})",
            _gain(way, "unchanged"),
        )
        for rule, way in (("the slides", "down"), ("today's practice", "up"))
    ),
)

LEARNING_RATE = Claim(
    title="Experiment 4: learning rate",
    notebook="experiment_4_learning_rate",
    text='The article says that with a learning rate too high or too low a network "might not '
    'converge, just like the large learning rate" (0.01) in its run. Tested here: Adam at 0.001 '
    "ends ahead of 0.0001 and of 0.01; and, this tutorial's stricter reading, 0.01 never leaves "
    f"chance (its best validation accuracy within {NEVER_LEFT_CHANCE_POINTS} points of the "
    f"{CHANCE:.0%} of guessing).",
    roles={"slow": "lr_0.0001", "medium": "base_dropout", "fast": "lr_0.01"},
    parts=(
        Part("0.001 ahead of 0.0001", _gain("medium", "slow")),
        Part("0.001 ahead of 0.01", _gain("medium", "fast")),
        Part(
            "0.01 never leaves chance (its best accuracy; this tutorial's reading)",
            lambda r: r["fast"].best_validation_accuracy,
            holds=lambda best: best <= CHANCE + NEVER_LEFT_CHANCE_POINTS / 100,
            as_accuracy=True,
            reads={
                Outcome.NO_CLEAR_EFFECT: "depends on the seed",
                Outcome.OPPOSITE: "left chance in every seed",
            },
        ),
    ),
    in_brief="too high or too low a learning rate might not converge (the article)",
)

# The claims the experiments test, in the order the published pages show them.
EXPERIMENT_CLAIMS = (DEPTH, DROPOUT, L2, BATCH_SIZE, LEARNING_RATE_SCALING, LEARNING_RATE)


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


# keras_mnist's steps, in test accuracy: (model, the model it changes, what it changes).
MNIST_STEPS = (
    ("hidden_layers", "softmax", "three hidden layers"),
    ("augmentation", "hidden_layers", "shifted and turned training digits"),
    ("convnet", "hidden_layers", "a small convnet"),
)
# Its exercises, which the seed study measured with an earlier, three-epoch notebook.
MNIST_EXERCISE_STEPS = (
    ("he_initialisation", "hidden_layers", "He initialisation"),
    ("l2", "he_initialisation", "L2 on the weights (1e-4)"),
    ("dropout", "he_initialisation", "dropout (0.2) instead of L2"),
)


def _step_claim(model: str, base: str, change: str) -> Claim:
    return Claim(
        title=f"keras_mnist: {model}",
        notebook="keras_mnist",
        text=f"This tutorial's step: {change}.",
        roles={"base": MNIST_RECORD_PREFIX + base, "step": MNIST_RECORD_PREFIX + model},
        parts=(Part(f"{model}: {change} (minus {base})", _gain("step", "base"), decimals=2),),
    )


MNIST_STEP_CLAIMS = tuple(_step_claim(*step) for step in MNIST_STEPS)
MNIST_EXERCISE_CLAIMS = tuple(_step_claim(*step) for step in MNIST_EXERCISE_STEPS)
# The models keras_mnist's steps compare; the seed study needs each recorded for a seed to count.
MNIST_MODELS = ("first_model", "softmax", *(model for model, _, _ in MNIST_STEPS))


@dataclass(frozen=True)
class StepsTable:
    """keras_mnist's steps: this run's change in test accuracy beside the seed study's."""

    rows: tuple[PartResult, ...]

    def _repr_markdown_(self) -> str:
        head = "step (test accuracy, minus the model it changes)"
        lines = _table(head, "helped in", self.rows, trained=True)
        return "\n".join(lines + _no_seeds(self.rows, "models"))

    __repr__ = _repr_markdown_


def mnist_steps(table: ResultsTable, records: Records | None = None) -> StepsTable:
    """Did each of keras_mnist's changes raise test accuracy, in this run and over the seeds?"""
    this_run = {row.name: row for row in table.rows}
    steps = [judge_claim(claim, _by_role(claim, this_run), records) for claim in MNIST_STEP_CLAIMS]
    return StepsTable(tuple(part for parts in steps for part in parts))
