"""Faults of run_notebooks: a notebook from elsewhere, a full disk, a profile given the wrong way.

Each test asserts the message and the files left. The notebooks are tiny ones written here; the
repository's notebooks never run.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from dl101 import notebook, profiles
from maintainers import notebook_outputs, run_notebooks

import nbformat
import pytest
from helpers import write_notebook
from papermill.iorw import LocalHandler

UNKNOWN_FAST = (
    "run_notebooks: error: Unknown run profile 'fast'. Choose one of: full, cpu, smoke, auto."
)
FREE = 12_300_000  # what the full disk has left, as shutil.disk_usage reports it here
GOOD = "the good copy of an earlier run"


def printed(path: Path) -> str:
    """Everything the notebook at ``path`` printed, as its outputs hold it."""
    cells = nbformat.read(path, as_version=4).cells
    return "".join(output.get("text", "") for cell in cells for output in cell.get("outputs", []))


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture(autouse=True)
def no_onednn_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamping a copy does not start a process that loads TensorFlow to ask about oneDNN."""
    monkeypatch.setattr(notebook_outputs, "kernels_use_onednn", lambda: False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of its own for run_notebooks, the current folder, without ``executed/``.

    ``DL101_PROFILE`` is set through monkeypatch, so that ``main`` setting it is undone.
    """
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setattr(run_notebooks, "REPO_ROOT", root)
    monkeypatch.setattr(notebook, "REPO_ROOT", root)  # paths shown relative to it
    monkeypatch.setattr(run_notebooks, "EXECUTED_DIR", root / "executed")
    monkeypatch.chdir(root)  # where make runs it
    monkeypatch.setenv("DL101_PROFILE", "smoke")
    return root


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[Path, str], bool]], None]:
    """Make chosen writes fail as on a full disk, after writing half of what they had to write.

    ``full_disk(when)`` fails every write, papermill's or run_notebooks', of a ``text`` to a
    ``path`` for which ``when(path, text)`` is true.
    """
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: SimpleNamespace(free=FREE))

    def half_then_full(path: Path, text: str) -> None:
        path.write_text(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    def fail_when(when: Callable[[Path, str], bool]) -> None:
        papermill_write = LocalHandler.write
        our_write = run_notebooks._write_text

        def papermill(self: LocalHandler, buf: str, path: str) -> None:
            if when(Path(path), buf):
                half_then_full(Path(path), buf)
            papermill_write(self, buf, path)

        def ours(path: Path, text: str) -> None:
            if when(path, text):
                half_then_full(path, text)
            our_write(path, text)

        monkeypatch.setattr(LocalHandler, "write", papermill)
        monkeypatch.setattr(run_notebooks, "_write_text", ours)

    return fail_when


def full_message(folder: Path) -> str:
    return f"no space left on device in {folder} (12.3 MB free)"


# 8. A profile given the wrong way.


@pytest.mark.parametrize("given", [3, True, 0.5, ["cpu"]])
def test_a_profile_name_that_is_not_a_string_says_what_it_got(given: object) -> None:
    with pytest.raises(TypeError) as raised:
        profiles.choose_profile(given)

    assert str(raised.value) == (
        "profile_name must be a run profile's name, as a string (full, cpu, smoke, auto), or "
        f"None to choose automatically; it is the {type(given).__name__} {given!r}."
    )


def test_a_notebook_given_profile_name_3_by_papermill_says_so() -> None:
    with pytest.raises(TypeError, match=r"^profile_name must be .* it is the int 3\.$"):
        notebook.prepare_notebook(3)


@pytest.mark.parametrize(
    ("arguments", "environment"), [(["--profile", "fast"], "smoke"), ([], "fast")]
)
def test_an_unknown_profile_is_one_line_and_starts_no_kernel(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    arguments: list[str],
    environment: str,
) -> None:
    """Given on the command line, or as DL101_PROFILE=fast make run."""
    write_notebook(repo / "start_here.ipynb", "print('ran')")
    monkeypatch.setenv("DL101_PROFILE", environment)
    monkeypatch.setattr(run_notebooks, "execute", lambda *a, **k: pytest.fail("a kernel started"))

    with pytest.raises(SystemExit) as exited:
        run_notebooks.main(arguments)

    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == UNKNOWN_FAST
    assert names(repo) == ["start_here.ipynb"], "no executed/ folder"


# 1. A notebook from outside the repository.


def test_in_place_writes_a_notebook_from_elsewhere_back_onto_itself_alone(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ours = write_notebook(repo / "start_here.ipynb", "print('the repository' + \"'s\")")
    committed = ours.read_bytes()
    (repo / "executed").mkdir()
    (repo / "executed" / "start_here.ipynb").write_text(GOOD)
    theirs = write_notebook(tmp_path / "elsewhere" / "start_here.ipynb", "print('else' + 'where')")

    assert run_notebooks.main(["--in-place", str(theirs)]) == 0

    assert ours.read_bytes() == committed
    assert printed(theirs) == "elsewhere\n"
    assert nbformat.read(theirs, as_version=4).metadata["dl101"]["profile"] == "smoke"
    copy = run_notebooks.copy_name(theirs)
    assert names(repo / "executed") == [f"{copy}.ipynb", "start_here.ipynb"]
    assert (repo / "executed" / "start_here.ipynb").read_text() == GOOD
    assert printed(repo / "executed" / f"{copy}.ipynb") == "elsewhere\n"
    assert names(tmp_path / "elsewhere") == ["start_here.ipynb"]
    assert f"written back with its outputs: {theirs}" in capsys.readouterr().out


def test_the_copy_of_a_notebook_from_elsewhere_never_replaces_the_repositorys(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ours = write_notebook(repo / "start_here.ipynb", "print('the repository' + \"'s\")")
    theirs = write_notebook(tmp_path / "elsewhere" / "start_here.ipynb", "print('else' + 'where')")
    other = write_notebook(tmp_path / "other" / "start_here.ipynb", "print('ot' + 'her')")

    assert run_notebooks.main(["start_here", str(theirs), str(other)]) == 0

    digest = hashlib.sha256(str(theirs.resolve()).encode()).hexdigest()[:8]
    assert run_notebooks.copy_name(theirs) == f"start_here-{digest}"
    assert run_notebooks.copy_name(ours) == "start_here"
    executed = repo / "executed"
    copies = {name: printed(executed / name) for name in names(executed)}
    assert copies == {
        "start_here.ipynb": "the repository's\n",
        f"{run_notebooks.copy_name(theirs)}.ipynb": "elsewhere\n",
        f"{run_notebooks.copy_name(other)}.ipynb": "other\n",
    }
    assert f"executed copy: {executed / run_notebooks.copy_name(theirs)}.ipynb" in (
        capsys.readouterr().out
    )


def test_a_bare_name_that_is_also_a_notebook_in_this_folder_is_refused(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    ours = write_notebook(repo / "start_here.ipynb", "print(1)")
    theirs = write_notebook(tmp_path / "elsewhere" / "start_here.ipynb", "print(2)")
    monkeypatch.chdir(theirs.parent)
    monkeypatch.setattr(run_notebooks, "execute", lambda *a, **k: pytest.fail("a kernel started"))

    with pytest.raises(SystemExit) as exited:
        run_notebooks.main(["--in-place", "start_here.ipynb"])

    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"run_notebooks: error: start_here.ipynb could be the repository's {ours} or {theirs}: "
        "give the path of the one to run (./start_here.ipynb for the one in this folder)"
    )
    assert names(repo) == ["start_here.ipynb"]


# 4. A full disk.


@pytest.mark.notebook
def test_a_full_disk_while_the_copy_is_written_keeps_the_last_good_copy_and_no_part(
    tmp_path: Path, full_disk: Callable
) -> None:
    output_dir = tmp_path / "executed"
    output_dir.mkdir()
    (output_dir / "x.ipynb").write_text(GOOD)
    source = write_notebook(tmp_path / "x.ipynb", "print('first')", "print('done' * 2)")
    full_disk(lambda path, text: "donedone" in text)  # once the second cell has run

    outcome = run_notebooks.execute(source, output_dir, profile="smoke")

    assert not outcome.succeeded
    assert outcome.detail == (
        f"its executed copy could not be written: {full_message(output_dir)}; the last copy, "
        f"{output_dir / 'x.ipynb'}, is unchanged. Free some space and run it again."
    )
    assert names(output_dir) == ["x.ipynb"]
    assert (output_dir / "x.ipynb").read_text() == GOOD


@pytest.mark.notebook
def test_a_full_disk_while_stamping_keeps_the_last_good_copy_and_the_run(
    tmp_path: Path, full_disk: Callable
) -> None:
    output_dir = tmp_path / "executed"
    output_dir.mkdir()
    (output_dir / "x.ipynb").write_text(GOOD)
    source = write_notebook(tmp_path / "x.ipynb", "print('done' * 2)")
    full_disk(lambda path, text: '"dl101"' in text)  # the stamped copy

    outcome = run_notebooks.execute(source, output_dir, profile="smoke")

    failed = output_dir / "x.FAILED.ipynb"
    assert not outcome.succeeded and outcome.executed == failed
    assert outcome.detail == (
        "ran without error, but its executed copy could not be stamped: "
        f"{full_message(output_dir)}; it is kept, unstamped, as {failed}, and "
        f"{output_dir / 'x.ipynb'} is unchanged. Free some space and run it again."
    )
    assert names(output_dir) == ["x.FAILED.ipynb", "x.ipynb"]
    assert (output_dir / "x.ipynb").read_text() == GOOD
    assert printed(failed) == "donedone\n", "the whole run, not a part"
    assert "dl101" not in nbformat.read(failed, as_version=4).metadata


def test_a_stamp_that_cannot_be_written_leaves_the_copy_as_it_was(
    tmp_path: Path, full_disk: Callable
) -> None:
    copy = write_notebook(tmp_path / "x.ipynb", "print(1)")
    before = copy.read_bytes()
    full_disk(lambda path, text: True)
    outcome = run_notebooks.Outcome("x", True, 1.0, "", copy)

    with pytest.raises(OSError, match="No space left on device"):
        run_notebooks.stamp_executed(outcome, "smoke")

    assert copy.read_bytes() == before
    assert names(tmp_path) == ["x.ipynb"]


@pytest.mark.notebook
def test_a_full_disk_fails_one_notebook_of_a_batch_and_the_others_still_run(
    repo: Path, full_disk: Callable, capsys: pytest.CaptureFixture
) -> None:
    sources = {
        name: write_notebook(repo / f"{name}.ipynb", f"print('{name}' * 2)")
        for name in ("one", "two", "three")
    }
    committed = {name: source.read_bytes() for name, source in sources.items()}
    executed = repo / "executed"
    executed.mkdir()
    (executed / "two.ipynb").write_text(GOOD)
    full_disk(
        lambda path, text: (
            (path.parent == repo and path.name.startswith(".one."))  # write-back
            or (path.name == ".two.partial.ipynb" and "twotwo" in text)
        )  # executed copy
    )

    assert run_notebooks.main(["--in-place", "one", "two", "three"]) == 1

    summary = capsys.readouterr().out.split("\nSummary\n")[1].splitlines()
    assert summary[0].startswith("  FAILED one ") and summary[0].endswith(
        f"ran without error, but could not be written back: {full_message(repo)}; "
        f"{repo / 'one.ipynb'} is unchanged, and the executed copy is {executed / 'one.ipynb'}. "
        "Free some space and run it again."
    )
    assert summary[1].startswith("  FAILED two ") and summary[1].endswith(
        f"its executed copy could not be written: {full_message(executed)}; the last copy, "
        f"{executed / 'two.ipynb'}, is unchanged. Free some space and run it again."
    )
    assert summary[2].startswith("  ok     three ") and summary[2].endswith(
        "written back with its outputs: three.ipynb"
    )
    assert names(repo) == ["executed", "one.ipynb", "three.ipynb", "two.ipynb"]
    assert [sources[n].read_bytes() == committed[n] for n in ("one", "two", "three")] == [
        True,
        True,
        False,
    ]
    assert printed(sources["three"]) == "threethree\n"
    assert names(executed) == ["one.ipynb", "three.ipynb", "two.ipynb"]
    assert printed(executed / "one.ipynb") == "oneone\n"
    assert nbformat.read(executed / "one.ipynb", as_version=4).metadata["dl101"]["profile"] == (
        "smoke"
    )
    assert (executed / "two.ipynb").read_text() == GOOD


def test_a_path_starting_with_dot_slash_is_the_file_in_this_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert run_notebooks.notebook_path("./start_here.ipynb") == tmp_path / "start_here.ipynb"
    assert run_notebooks.notebook_path("start_here") == run_notebooks.REPO_ROOT / "start_here.ipynb"


def executed_copy(tmp_path: Path) -> run_notebooks.Outcome:
    executed = write_notebook(tmp_path / "executed" / "mine.ipynb", "print('ran')")
    return run_notebooks.Outcome("mine", True, 1.0, "executed", executed)


def test_writing_back_through_a_link_keeps_the_link_and_the_files_permissions(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "notebooks" / "mine.ipynb", "print('before')")
    notebook.chmod(0o600)
    link = tmp_path / "mine.ipynb"
    link.symlink_to(notebook)

    outcome = run_notebooks.write_back(executed_copy(tmp_path), link)

    assert outcome.succeeded, outcome.detail
    assert link.is_symlink() and "print('ran')" in notebook.read_text()
    assert oct(notebook.stat().st_mode & 0o777) == "0o600"


def test_a_read_only_notebook_is_not_written_back(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "mine.ipynb", "print('before')")
    notebook.chmod(0o444)

    outcome = run_notebooks.write_back(executed_copy(tmp_path), notebook)

    assert not outcome.succeeded
    assert "could not be written back: the notebook is read-only" in outcome.detail
    assert "print('before')" in notebook.read_text()


# 9. What changes while a notebook runs, and where its logs go.


def test_an_edit_saved_while_the_notebook_ran_is_not_written_over(
    repo: Path, capsys: pytest.CaptureFixture
) -> None:
    """The notebook saves an edit to its own file while it runs, as a learner's Jupyter would."""
    source = repo / "start_here.ipynb"
    write_notebook(source, f"open({str(source)!r}, 'a').write('\\n')")
    edited = source.read_bytes() + b"\n"

    assert run_notebooks.main(["--in-place", "start_here"]) == 1

    assert source.read_bytes() == edited
    summary = capsys.readouterr().out
    assert "start_here.ipynb changed on disk while it ran, so it was not written over" in summary
    assert (repo / "executed" / "start_here.ipynb").is_file(), "the executed copy is kept"


def test_a_relative_log_folder_is_the_same_folder_for_the_runner_and_the_kernels(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Kernels start in the repository; the runner was started in another folder."""
    started_in = tmp_path / "started_in"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    monkeypatch.setenv("DL101_LOG_DIR", "my-logs")
    source = write_notebook(
        repo / "start_here.ipynb",
        "import os; print(os.path.abspath(os.environ['DL101_LOG_DIR']))",
    )

    assert run_notebooks.main([str(source)]) == 0

    assert f"TensorBoard logs go to {started_in / 'my-logs'}" in capsys.readouterr().out
    copy = repo / "executed" / f"{run_notebooks.copy_name(source)}.ipynb"
    assert printed(copy) == f"{started_in / 'my-logs'}\n"
