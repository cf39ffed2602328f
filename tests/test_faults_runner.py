"""Faults of run_notebooks, on tiny notebooks written here: each test asserts the message and the
files left."""

from __future__ import annotations

import errno
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from dl101 import notebook
from maintainers import notebook_outputs, run_notebooks

import nbformat
import pytest
from helpers import outputs, write_notebook
from papermill.iorw import LocalHandler

FREE = 12_300_000  # what the full disk has left, as shutil.disk_usage reports it here
GOOD = "the good copy of an earlier run"


def printed(path: Path) -> str:
    return "".join(output.get("text", "") for output in outputs(nbformat.read(path, as_version=4)))


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def full_message(folder: Path) -> str:
    return f"no space left on device in {folder} (12.3 MB free)"


@pytest.fixture(autouse=True)
def no_onednn_probe(monkeypatch: pytest.MonkeyPatch) -> None:  # no TensorFlow process to stamp
    monkeypatch.setattr(notebook_outputs, "kernels_use_onednn", lambda: False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of its own, the current folder; DL101_PROFILE set so that ``main``'s is undone."""
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
    """``full_disk(when)``: a write (papermill's or ours) with ``when(path, text)`` writes half, then fails."""
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: SimpleNamespace(free=FREE))

    def fail_when(when: Callable[[Path, str], bool]) -> None:
        papermill_write, our_write = LocalHandler.write, run_notebooks._write_text

        def half_then_full(path: Path, text: str) -> None:
            if when(path, text):
                path.write_text(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

        def papermill(self: LocalHandler, buf: str, path: str) -> None:
            half_then_full(Path(path), buf)
            papermill_write(self, buf, path)

        def ours(path: Path, text: str) -> None:
            half_then_full(path, text)
            our_write(path, text)

        monkeypatch.setattr(LocalHandler, "write", papermill)
        monkeypatch.setattr(run_notebooks, "_write_text", ours)

    return fail_when


@pytest.mark.parametrize("given", [3, True, 0.5, ["cpu"]])
def test_a_profile_name_that_is_not_a_string_says_what_it_got(given: object) -> None:
    with pytest.raises(TypeError) as raised:  # as papermill's -p profile_name 3 gives the int 3
        notebook.prepare_notebook(given)
    assert str(raised.value) == (
        "profile_name must be a run profile's name, as a string (full, cpu, smoke, auto), or "
        f"None to choose automatically; it is the {type(given).__name__} {given!r}."
    )


def refused(
    arguments: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The one line run_notebooks.main says when it refuses ``arguments`` before any kernel starts."""
    monkeypatch.setattr(run_notebooks, "execute", lambda *a, **k: pytest.fail("a kernel started"))
    with pytest.raises(SystemExit) as exited:
        run_notebooks.main(arguments)
    assert exited.value.code == 2
    return capsys.readouterr().err.splitlines()[-1].removeprefix("run_notebooks: error: ")


@pytest.mark.parametrize(
    ("arguments", "variable"), [(["--profile", "fast"], "smoke"), ([], "fast")]
)
def test_an_unknown_profile_is_one_line_and_starts_no_kernel(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
    arguments: list[str], variable: str,
) -> None:  # fmt: skip
    write_notebook(repo / "start_here.ipynb", "print('ran')")
    monkeypatch.setenv("DL101_PROFILE", variable)  # as DL101_PROFILE=fast make run

    message = refused(arguments, capsys, monkeypatch)

    assert message == "Unknown run profile 'fast'. Choose one of: full, cpu, smoke, auto."
    assert names(repo) == ["start_here.ipynb"], "no executed/ folder"


def test_notebooks_from_elsewhere_get_copies_of_their_own_and_are_written_back_onto_themselves(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ours = write_notebook(repo / "start_here.ipynb", "print('the repository' + \"'s\")")
    committed = ours.read_bytes()
    (executed := repo / "executed").mkdir()
    (executed / "start_here.ipynb").write_text(GOOD)
    theirs = write_notebook(tmp_path / "elsewhere" / "start_here.ipynb", "print('else' + 'where')")
    other = write_notebook(tmp_path / "other" / "start_here.ipynb", "print('ot' + 'her')")

    assert run_notebooks.main(["--in-place", str(theirs), str(other)]) == 0

    digest = hashlib.sha256(str(theirs.resolve()).encode()).hexdigest()[:8]
    assert run_notebooks.copy_name(theirs) == f"start_here-{digest}"
    other_copy = f"{run_notebooks.copy_name(other)}.ipynb"
    assert names(executed) == sorted(["start_here.ipynb", f"start_here-{digest}.ipynb", other_copy])
    assert (executed / "start_here.ipynb").read_text() == GOOD
    assert printed(executed / f"start_here-{digest}.ipynb") == printed(theirs) == "elsewhere\n"
    assert printed(other) == "other\n" and ours.read_bytes() == committed
    assert nbformat.read(theirs, as_version=4).metadata["dl101"]["profile"] == "smoke"
    assert names(tmp_path / "elsewhere") == ["start_here.ipynb"]
    assert f"written back with its outputs: {theirs}" in capsys.readouterr().out


def test_a_bare_name_that_is_also_a_notebook_in_this_folder_is_refused(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    ours = write_notebook(repo / "start_here.ipynb", "print(1)")
    theirs = write_notebook(tmp_path / "elsewhere" / "start_here.ipynb", "print(2)")
    monkeypatch.chdir(theirs.parent)

    assert refused(["--in-place", "start_here.ipynb"], capsys, monkeypatch) == (
        f"start_here.ipynb could be the repository's {ours} or {theirs}: "
        "give the path of the one to run (./start_here.ipynb for the one in this folder)"
    )
    assert names(repo) == ["start_here.ipynb"]
    assert run_notebooks.notebook_path("./start_here.ipynb") == theirs, "as the message says"


@pytest.mark.notebook
def test_a_full_disk_fails_a_notebook_keeping_its_last_good_copy_and_the_others_still_run(
    repo: Path, full_disk: Callable, capsys: pytest.CaptureFixture
) -> None:
    names_ = ("one", "two", "three")
    sources = {
        name: write_notebook(repo / f"{name}.ipynb", f"print('{name}' * 2)") for name in names_
    }
    committed = {name: source.read_bytes() for name, source in sources.items()}
    executed = repo / "executed"
    executed.mkdir()
    (executed / "two.ipynb").write_text(GOOD)
    full_disk(
        lambda path, text: (
            (".one." in path.name and '"dl101"' in text)  # one's copy, stamped
            or (path.name == ".two.partial.ipynb" and "twotwo" in text)  # two's copy, run
        )
    )

    assert run_notebooks.main(["--in-place", *names_]) == 1

    summary = capsys.readouterr().out.split("\nSummary\n")[1].splitlines()
    failed = executed / "one.FAILED.ipynb"
    assert summary[0].startswith("  FAILED one ") and summary[0].endswith(
        f"ran without error, but its executed copy could not be stamped: {full_message(executed)}; "
        f"it is kept, unstamped, as {failed}, and {executed / 'one.ipynb'} is unchanged. "
        "Free some space and run it again."
    )
    assert summary[1].startswith("  FAILED two ") and summary[1].endswith(
        f"its executed copy could not be written: {full_message(executed)}; the last copy, "
        f"{executed / 'two.ipynb'}, is unchanged. Free some space and run it again."
    )
    assert summary[2].startswith("  ok     three ")
    assert names(executed) == ["one.FAILED.ipynb", "three.ipynb", "two.ipynb"]
    assert (executed / "two.ipynb").read_text() == GOOD
    assert printed(failed) == "oneone\n", "the whole run, not a part"
    assert "dl101" not in nbformat.read(failed, as_version=4).metadata
    unchanged = [name for name, source in sources.items() if source.read_bytes() == committed[name]]
    assert unchanged == ["one", "two"] and printed(sources["three"]) == "threethree\n"


def test_writing_back_keeps_a_link_and_its_permissions_never_a_read_only_file_nor_a_part(
    tmp_path: Path, full_disk: Callable
) -> None:
    notebook = write_notebook(tmp_path / "notebooks" / "mine.ipynb", "print('before')")
    link = tmp_path / "mine.ipynb"
    link.symlink_to(notebook)
    executed = write_notebook(tmp_path / "executed" / "mine.ipynb", "print('ran')")
    outcome = run_notebooks.Outcome("mine", True, 1.0, "executed", executed)

    notebook.chmod(0o444)
    refused = run_notebooks.write_back(outcome, link)
    assert "could not be written back: the notebook is read-only" in refused.detail
    assert not refused.succeeded and "print('before')" in notebook.read_text()

    notebook.chmod(0o600)
    written = run_notebooks.write_back(outcome, link)
    assert written.succeeded, written.detail
    assert link.is_symlink() and "print('ran')" in notebook.read_text()
    assert oct(notebook.stat().st_mode & 0o777) == "0o600"

    written_back = notebook.read_bytes()
    full_disk(lambda path, text: True)
    failed = run_notebooks.write_back(outcome, link)
    assert "could not be written back: no space left on device" in failed.detail
    assert notebook.read_bytes() == written_back and names(notebook.parent) == ["mine.ipynb"]


def test_an_edit_saved_while_the_notebook_ran_is_not_written_over(
    repo: Path, capsys: pytest.CaptureFixture
) -> None:
    # The notebook saves an edit to its own file while it runs, as a learner's Jupyter would.
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
    # Kernels start in the repository; the runner was started in another folder.
    started_in = tmp_path / "started_in"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    monkeypatch.setenv("DL101_LOG_DIR", "my-logs")
    printing = "import os; print(os.path.abspath(os.environ['DL101_LOG_DIR']))"
    source = write_notebook(repo / "start_here.ipynb", printing)

    assert run_notebooks.main([str(source)]) == 0

    out = capsys.readouterr().out
    assert f"TensorBoard logs go to {started_in / 'my-logs'}" in out
    copy = repo / "executed" / "start_here.ipynb"
    assert printed(copy) == f"{started_in / 'my-logs'}\n" and f"executed copy: {copy}" in out
