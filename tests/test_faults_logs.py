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
def intact_validation(trained: runs.Run) -> np.ndarray:
    values = tensorboard_logs.read_scalars(trained)[VALIDATION].values
    assert len(values) == EPOCHS
    return values


@pytest.fixture
def copy(trained: runs.Run, tmp_path: Path) -> runs.Run:
    """A copy of the trained run, to damage."""
    shutil.copytree(trained.folder, tmp_path / "small")
    run = runs.open_run("small", root=tmp_path)
    assert run is not None and run.epochs == EPOCHS
    return run


def tflearn_file(run: runs.Run) -> Path:
    (found,) = run.folder.glob("events.out.tfevents.*")
    return found


def training_pass_file(run: runs.Run) -> Path:
    (found,) = (run.folder / "training_pass").glob("events.out.tfevents.*")
    return found


def records(event_file: Path) -> list[tuple[int, event_pb2.Event]]:
    """Every record of an intact event file: where it starts, and the event it holds."""
    content = event_file.read_bytes()
    found, offset = [], 0
    while offset < len(content):
        (length,) = struct.unpack_from("<Q", content, offset)
        data = content[offset + 12 : offset + 12 + length]
        found.append((offset, event_pb2.Event.FromString(data)))
        offset += 12 + length + 4
    return found


def first_scalars(event_file: Path) -> int:
    """Where the first record holding a scalar starts: TrainingPass's file starts with a layout."""
    return next(
        offset
        for offset, event in records(event_file)
        if any(value.HasField("simple_value") for value in event.summary.value)
    )


def validation_records(event_file: Path) -> list[int]:
    """Where each record holding the validation accuracy starts, one per epoch."""
    return [
        offset
        for offset, event in records(event_file)
        if any(value.tag == VALIDATION for value in event.summary.value)
    ]


def cut(event_file: Path, size: int) -> None:
    event_file.write_bytes(event_file.read_bytes()[:size])


@pytest.mark.parametrize("into_record", [5, 30], ids=["inside its header", "inside its data"])
def test_a_file_cut_inside_a_record_is_read_up_to_there_named_and_flagged(
    copy: runs.Run, intact_validation: np.ndarray, into_record: int
) -> None:
    damaged = tflearn_file(copy)
    last_epoch = validation_records(damaged)[-1]
    cut(damaged, last_epoch + into_record)

    expected = (
        f"Only part of the run in {copy.folder} could be read: the event file {damaged} is "
        f"damaged: it is cut short at byte {last_epoch}, inside a record"
    )
    with pytest.warns(DamagedLogWarning, match=re.escape(expected)) as caught:
        curves = tensorboard_logs.read_scalars(copy)

    message = str(caught[0].message)
    assert "Its curves stop early" in message
    assert "If the run is still training, read it again once it has finished" in message
    assert "keeps this folder aside, damaged file and all" in message
    assert curves.damaged
    assert [(found.file, found.offset, found.cut_short) for found in curves.damage] == [
        (damaged, last_epoch, True)
    ]
    # Only the complete epochs: the first two validations, as the intact file has them.
    np.testing.assert_array_equal(curves[VALIDATION].values, intact_validation[:2])
    # Read once, warned once: the files have not changed since. The table shows the run partial.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = reports.results_table([copy])
    row = table["small"]
    assert row.partial and len(row.validation_accuracy) == 2
    assert row.final_validation_accuracy == pytest.approx(intact_validation[1])
    markdown = table.to_markdown()
    assert "| small (partial: only 2 of 3 epochs logged) |" in markdown
    assert f"The event file {damaged} is damaged: it is cut short at byte {last_epoch}" in markdown


def test_a_changed_byte_is_a_corrupted_record_named_by_file_and_byte(
    copy: runs.Run, intact_validation: np.ndarray
) -> None:
    damaged = tflearn_file(copy)
    second_epoch = validation_records(damaged)[1]
    content = bytearray(damaged.read_bytes())
    content[second_epoch + 12 + 20] ^= 0x01  # one bit of the record's data
    damaged.write_bytes(bytes(content))

    expected = (
        f"the event file {damaged} is damaged: it has a corrupted record at byte {second_epoch} "
        "(the record fails its checksum: a byte of it changed)"
    )
    with pytest.warns(DamagedLogWarning, match=re.escape(expected)) as caught:
        curves = tensorboard_logs.read_scalars(copy)

    # Not still training: a changed byte is not a record being written.
    assert "still training" not in str(caught[0].message)
    assert "Train the run again for its full curves" in str(caught[0].message)
    assert curves.damaged and not curves.damage[0].cut_short
    # TensorBoard's reader stops at the corrupted record: the curves end with epoch 1.
    np.testing.assert_array_equal(curves[VALIDATION].values, intact_validation[:1])
    assert "| small (partial: only 1 of 3 epochs logged) |" in (
        reports.results_table([copy]).to_markdown()
    )


def test_a_changed_byte_in_a_records_length_is_caught_too(copy: runs.Run) -> None:
    damaged = tflearn_file(copy)
    second_epoch = validation_records(damaged)[1]
    content = bytearray(damaged.read_bytes())
    content[second_epoch + 2] ^= 0x01  # the length: the record would seem to run past the end
    damaged.write_bytes(bytes(content))

    expected = (
        f"the event file {damaged} is damaged: it has a corrupted record at byte {second_epoch}"
    )
    with pytest.warns(DamagedLogWarning, match=re.escape(expected)):
        tensorboard_logs.read_scalars(copy)


def test_a_file_missing_its_last_records_shows_the_run_partial_not_final(
    copy: runs.Run, intact_validation: np.ndarray
) -> None:
    # Cut exactly where the last validation record starts: every record left is whole, so
    # nothing in the file says it is damaged; the run's recorded epochs say it is short.
    damaged = tflearn_file(copy)
    cut(damaged, validation_records(damaged)[-1])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves = tensorboard_logs.read_scalars(copy)
        table = reports.results_table([copy])

    assert not curves.damaged
    assert len(curves[VALIDATION].values) == 2
    assert not tensorboard_logs.is_finished(copy)
    row = table["small"]
    assert row.partial and len(row.validation_accuracy) == 2
    # The numbers are those after epoch 2, the last one logged, and the table says so.
    assert row.final_validation_accuracy == pytest.approx(intact_validation[1])
    training = tensorboard_logs.read_scalars(copy)[tensorboard_logs.TFLEARN.train_accuracy]
    assert row.final_train_accuracy == pytest.approx(training.values[1])
    markdown = table.to_markdown()
    assert "| small (partial: only 2 of 3 epochs logged) |" in markdown
    assert (
        "**small is partial** (only 2 of 3 epochs logged): its final numbers are those after "
        "epoch 2, not the end of its training: it is still training, was interrupted, or its "
        "log lost its last records. Let it finish, or train it again, for its results."
    ) in markdown


def test_an_intact_run_is_not_partial(trained: runs.Run) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves = tensorboard_logs.read_scalars(trained)
        table = reports.results_table([trained])

    assert not curves.damaged and curves.damage == ()
    assert all(tensorboard_logs.damage_in(f) is None for f in trained.folder.rglob("events.*"))
    assert not table["small"].partial
    assert "partial" not in table.to_markdown()


def test_files_cut_to_zero_bytes_are_damaged_not_untrained(copy: runs.Run) -> None:
    for event_file in (tflearn_file(copy), training_pass_file(copy)):
        cut(event_file, 0)

    with pytest.raises(DamagedLogError) as raised:
        tensorboard_logs.read_scalars(copy)

    message = str(raised.value)
    assert message.startswith(f"No TensorBoard scalars could be read under {copy.folder}: ")
    for event_file in (tflearn_file(copy), training_pass_file(copy)):
        assert f"the event file {event_file} is damaged: it is empty (0 bytes)" in message
    assert "Nothing before the damage holds a scalar, so this run's curves are lost." in message
    assert "Train the run again for its full curves" in message
    assert "damaged file and all, as '<name>.previous-<time>'" in message
    assert "not been trained" not in message
    # What counts epochs says it too, rather than "not run yet".
    with pytest.raises(DamagedLogError):
        tensorboard_logs.validated_epochs(copy)


def test_files_cut_inside_their_first_records_are_damaged(copy: runs.Run) -> None:
    cut(tflearn_file(copy), 40)  # inside the record every event file starts with
    first_scalar = first_scalars(training_pass_file(copy))
    cut(training_pass_file(copy), first_scalar + 30)

    with pytest.raises(DamagedLogError) as raised:
        tensorboard_logs.read_scalars(copy)

    message = str(raised.value)
    assert f"the event file {tflearn_file(copy)} is damaged: it is cut short at byte 0" in message
    assert (
        f"the event file {training_pass_file(copy)} is damaged: it is cut short at byte "
        f"{first_scalar}, inside a record"
    ) in message
    assert "If the run is still training, read it again once it has finished." in message


def test_event_files_with_no_scalars_yet_are_a_run_just_started_not_damage(
    copy: runs.Run,
) -> None:
    # What a run's files hold before its first scalars are written: graph, layout, no scalar.
    for event_file in (tflearn_file(copy), training_pass_file(copy)):
        cut(event_file, first_scalars(event_file))

    with pytest.raises(FileNotFoundError) as raised:
        tensorboard_logs.read_scalars(copy)

    message = str(raised.value)
    assert "this run has not been trained yet" in message
    assert "Its event files hold no scalars yet: a run that has just started training" in message
    assert "damaged" not in message


def test_a_summary_without_validation_because_of_damage_says_so(copy: runs.Run) -> None:
    damaged = tflearn_file(copy)
    graph = records(damaged)[1][0]
    content = bytearray(damaged.read_bytes())
    content[graph + 100] ^= 0x01  # the graph, before any scalar of tflearn's
    damaged.write_bytes(bytes(content))

    # The training pass's curves are intact, so something could be read: a warning.
    with pytest.warns(DamagedLogWarning):
        curves = tensorboard_logs.read_scalars(copy)
    assert VALIDATION not in curves

    with pytest.raises(DamagedLogError) as raised:
        reports.summarize(copy)
    assert str(raised.value).startswith(
        f"{copy.folder} has no {VALIDATION} curve: the event file {damaged} is damaged: it has "
        f"a corrupted record at byte {graph}"
    )


def test_a_partner_with_a_damaged_log_is_named_as_damaged_not_as_never_run(
    copy: runs.Run, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tflearn_file(copy)
    cut(damaged, validation_records(damaged)[-1] + 30)
    monkeypatch.setenv(runs.LOG_DIR_VARIABLE, str(copy.folder.parent))
    this = runs.new_run("pair/this", epochs=3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedLogWarning)
        compared = reports.with_finished_partner([this], copy.name, "partner.ipynb")

    assert compared == [this]
    assert (
        f"Not compared with {copy.name}: that run has a damaged event file: its curves stop early."
        in capsys.readouterr().out
    )
