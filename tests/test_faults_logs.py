"""Damaged TensorBoard event files: said to be damaged, and what could be read is shown as partial.

A run is trained once (tflearn, 3 epochs); each test damages a copy of its folder the way a
crash, a full disk or a changed byte would, and reads it back.
"""

from __future__ import annotations

import re
import shutil
import struct
import warnings
from pathlib import Path

from dl101 import reports, runs, tensorboard_logs
from dl101.tensorboard_logs import DamagedLogError, DamagedLogWarning

import numpy as np
import pytest
from helpers import train_small_classifier
from tensorboard.compat.proto import event_pb2

EPOCHS = 3
VALIDATION = tensorboard_logs.TFLEARN.validation_accuracy


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> runs.Run:
    run = runs.new_run("small", root=tmp_path_factory.mktemp("trained"), epochs=EPOCHS)
    train_small_classifier(run, EPOCHS)
    return run


@pytest.fixture
def copy(trained: runs.Run, tmp_path: Path) -> runs.Run:
    """A copy of the trained run, to damage."""
    shutil.copytree(trained.folder, tmp_path / "small")
    run = runs.open_run("small", root=tmp_path)
    assert run is not None
    return run


def event_file(run: runs.Run, subfolder: str = "") -> Path:
    """The run's tflearn event file, or the training pass's with ``subfolder="training_pass"``."""
    (found,) = (run.folder / subfolder).glob("events.out.tfevents.*")
    return found


def record_starts(event_file: Path, tag: str | None = None) -> list[int]:
    """Where each record holding a scalar (of ``tag``, if given) starts, in an intact file."""
    content, offset, starts = event_file.read_bytes(), 0, []
    while offset < len(content):
        (length,) = struct.unpack_from("<Q", content, offset)
        event = event_pb2.Event.FromString(content[offset + 12 : offset + 12 + length])
        if any(value.tag == (tag or value.tag) for value in event.summary.value):
            starts.append(offset)
        offset += 12 + length + 4  # length, its checksum, data, the data's checksum
    return starts


def cut(event_file: Path, size: int) -> None:
    event_file.write_bytes(event_file.read_bytes()[:size])


def flip_a_bit(event_file: Path, at: int) -> None:
    content = bytearray(event_file.read_bytes())
    content[at] ^= 0x01
    event_file.write_bytes(bytes(content))


@pytest.mark.parametrize(
    ("damage", "epoch", "into_record", "found"),
    [
        (cut, 2, 5, "it is cut short at byte {at}, inside a record (a crash or a full disk"),
        (cut, 2, 30, "it is cut short at byte {at}, inside a record"),
        (flip_a_bit, 1, 12 + 20, "it has a corrupted record at byte {at} (the record fails"),
        (flip_a_bit, 1, 2, "it has a corrupted record at byte {at}"),  # its length
    ],
    ids=["cut in a header", "cut in data", "changed byte in data", "changed byte in a length"],
)
def test_a_damaged_file_is_read_up_to_the_damage_named_and_shown_partial(
    trained: runs.Run, copy: runs.Run, damage, epoch: int, into_record: int, found: str
) -> None:
    intact = tensorboard_logs.read_scalars(trained)[VALIDATION].values
    damaged = event_file(copy)
    at = record_starts(damaged, VALIDATION)[epoch]
    damage(damaged, at + into_record)

    expected = (
        f"Only part of the run in {copy.folder} could be read: the event file {damaged} is "
        f"damaged: {found.format(at=at)}"
    )
    with pytest.warns(DamagedLogWarning, match=re.escape(expected)) as caught:
        curves = tensorboard_logs.read_scalars(copy)
    message = str(caught[0].message)
    assert "Its curves stop early" in message
    assert "keeps this folder aside, damaged file and all" in message
    # A changed byte is not a record still being written.
    assert ("if the run is still training" in message) == (damage is cut)
    # Only the epochs before the damage, as the intact file has them.
    np.testing.assert_array_equal(curves[VALIDATION].values, intact[:epoch])

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once: the files have not changed since
        table = reports.results_table([copy])
    assert table.rows[0].final_validation_accuracy == pytest.approx(intact[epoch - 1])
    markdown = table.to_markdown()
    assert f"| small (partial: only {epoch} of 3 epochs logged) |" in markdown
    assert f"The event file {damaged} is damaged: {found.format(at=at)}" in markdown


def test_a_file_missing_its_last_records_shows_the_run_partial_not_final(copy: runs.Run) -> None:
    # Cut exactly where the last validation record starts: every record left is whole, so
    # nothing in the file says it is damaged; the run's recorded epochs say it is short.
    cut(event_file(copy), record_starts(event_file(copy), VALIDATION)[-1])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves = tensorboard_logs.read_scalars(copy)
        row = reports.summarize(copy)

    assert not curves.damage and not tensorboard_logs.is_finished(copy)
    assert row.final_validation_accuracy == curves[VALIDATION].values[1]
    training = curves[tensorboard_logs.TFLEARN.train_accuracy]
    assert row.final_train_accuracy == training.values[1]
    markdown = reports.ResultsTable((row,)).to_markdown()
    assert "| small (partial: only 2 of 3 epochs logged) |" in markdown
    assert (
        "**small is partial** (only 2 of 3 epochs logged): its final numbers are those after "
        "epoch 2, maybe not the end of its training: it is still training, was interrupted, or "
        "its log lost its last records. Let it finish, or train it again, for its results."
    ) in markdown


def test_an_intact_run_is_not_partial(trained: runs.Run) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = reports.results_table([trained])

    assert all(tensorboard_logs.damage_in(f) is None for f in trained.folder.rglob("events.*"))
    assert not table.rows[0].partial and "partial" not in table.to_markdown()


def test_files_damaged_before_any_scalar_are_damaged_not_untrained(copy: runs.Run) -> None:
    tflearn, training_pass = event_file(copy), event_file(copy, "training_pass")
    cut(tflearn, 0)
    first_scalar = record_starts(training_pass)[0]
    cut(training_pass, first_scalar + 30)

    with pytest.raises(DamagedLogError) as raised:
        tensorboard_logs.read_scalars(copy)

    message = str(raised.value)
    assert message.startswith(f"No TensorBoard scalars could be read under {copy.folder}: ")
    assert f"the event file {tflearn} is damaged: it is cut short at byte 0" in message
    assert f"the event file {training_pass} is damaged: it is cut short at byte {first_scalar}" in (
        message
    )
    assert "Nothing before the damage holds a scalar, so this run's curves are lost." in message
    assert "Train the run again for its full curves" in message
    assert "not been trained" not in message
    # What counts epochs says it too, rather than "not run yet".
    with pytest.raises(DamagedLogError):
        tensorboard_logs.validated_epochs(copy)


def test_event_files_with_no_scalars_yet_are_a_run_just_started_not_damage(
    copy: runs.Run,
) -> None:
    # What a run's files hold before its first scalars are written: graph, layout, no scalar.
    for subfolder in ("", "training_pass"):
        cut(event_file(copy, subfolder), record_starts(event_file(copy, subfolder))[0])

    with pytest.raises(FileNotFoundError) as raised:
        tensorboard_logs.read_scalars(copy)

    message = str(raised.value)
    assert "this run has not been trained yet" in message
    assert "Its event files hold no scalars yet: a run that has just started training" in message
    assert "damaged" not in message


def test_a_summary_without_validation_because_of_damage_says_so(copy: runs.Run) -> None:
    # tflearn's file corrupted at its first scalar; the training pass's curves are intact.
    damaged = event_file(copy)
    first_scalar = record_starts(damaged)[0]
    flip_a_bit(damaged, first_scalar + 12 + 20)

    with pytest.warns(DamagedLogWarning), pytest.raises(DamagedLogError) as raised:
        reports.summarize(copy)
    assert str(raised.value).startswith(
        f"{copy.folder} has no {VALIDATION} curve: the event file {damaged} is damaged: it has "
        f"a corrupted record at byte {first_scalar}"
    )


def test_a_partner_with_a_damaged_log_is_named_as_damaged_not_as_never_run(
    copy: runs.Run, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut(event_file(copy), record_starts(event_file(copy), VALIDATION)[-1] + 30)
    monkeypatch.setenv(runs.LOG_DIR_VARIABLE, str(copy.folder.parent))
    this = runs.new_run("pair/this", epochs=3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedLogWarning)
        assert reports.with_finished_partner([this], copy.name, "partner.ipynb") == [this]

    assert f"Not compared with {copy.name}: that run has a damaged event file." in (
        capsys.readouterr().out
    )
