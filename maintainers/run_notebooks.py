"""Execute the notebooks headless, in reading order, and print a short summary.

``make run`` calls this. Each notebook runs in a fresh kernel, exactly as Kernel > Restart &
Run All would, and its executed copy (with outputs and plots, and what produced them in its
metadata) is written to ``executed/``: under a temporary name until it is complete, so an
interrupted run or a full disk never replaces a good copy, and as ``<name>.FAILED.ipynb`` when
the notebook fails. A failing notebook, even one whose kernel dies or whose copy cannot be
written, does not stop the others; the summary and the exit status say which failed and why.

    python -m maintainers.run_notebooks                 # all notebooks
    python -m maintainers.run_notebooks start_here      # just one
    python -m maintainers.run_notebooks --in-place      # write each notebook back with its outputs
    python -m maintainers.run_notebooks ~/mine/start_here.ipynb    # a notebook kept elsewhere

A NAME is one of the repository's notebooks; an argument with a folder in it is a notebook's
path. --in-place writes a notebook back only onto the file it was read from, and the executed
copy of a notebook from elsewhere has a name of its own (start_here-1a2b3c4d.ipynb), so it
never replaces the copy of the repository's notebook of the same name.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import hashlib
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dl101.disk_space import free_space
from dl101.notebook import shown_path, tensorboard_command
from dl101.paths import REPO_ROOT
from dl101.profiles import PROFILE_VARIABLE, choose_profile, requested_name
from dl101.runs import LOG_DIR_VARIABLE, check_log_dir, log_dir

NOTEBOOKS = (
    "start_here",
    "experiment_0_few_layers",
    "experiment_0_three_layer_sets",
    "experiment_1_dropout",
    "experiment_2_l2",
    "experiment_3_batch_size",
    "experiment_4_learning_rate",
    "keras_mnist",
)
EXECUTED_DIR = REPO_ROOT / "executed"
# What a write that fails for lack of room raises: a full disk, or a user's quota used up.
SPACE_ERRORS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


@dataclass(frozen=True)
class Outcome:
    """How one notebook's run ended; ``executed`` is the copy with its outputs (kept on failure).

    When the copy itself could not be written, ``executed`` is where it would have gone.
    """

    notebook: str
    succeeded: bool
    seconds: float
    detail: str
    executed: Path


def copy_name(source: Path) -> str:
    """The name, without ``.ipynb``, of the executed copy of the notebook ``source``.

    A repository notebook's copy has its own name (``executed/start_here.ipynb``). A notebook
    from anywhere else, say ``~/mine/start_here.ipynb``, gets its name and a hash of its full
    path (``executed/start_here-1a2b3c4d.ipynb``), so its copy never replaces the copy of the
    repository's notebook of the same name, nor that of another folder's. This is chosen over
    refusing such a notebook because running one's own notebook, or a copy edited elsewhere, is
    a use that works; only the file name was at fault. The same path always gives the same
    name, so running that notebook again replaces its own last copy and no other.
    """
    path = source.resolve()
    if path.parent == REPO_ROOT.resolve():
        return source.stem
    return f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def _space_error(error: BaseException | None) -> OSError | None:
    """The "no space" error ``error`` is or was raised from or while handling, if there is one."""
    for _ in range(10):  # a chain is short; a cycle must not hang the run
        if error is None:
            return None
        if isinstance(error, OSError) and error.errno in SPACE_ERRORS:
            return error
        error = error.__cause__ or error.__context__
    return None


def _cause(error: BaseException, folder: Path) -> str:
    """What stopped a write into ``folder``, as the system names it.

    ``no space left on device in /home/me/dl101/executed (0.0 MB free)`` for a full disk.
    """
    if not isinstance(error, OSError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error.filename, (str, os.PathLike)):
        folder = Path(error.filename).parent
    cause = f"{(error.strerror or str(error)).lower()} in {folder}"
    if error.errno in SPACE_ERRORS:
        cause += f" ({free_space(folder)})"
    return cause


def _names(error: BaseException, path: Path) -> bool:
    """Whether ``error`` is an OSError about the file ``path``."""
    filename = getattr(error, "filename", None)
    return isinstance(filename, (str, os.PathLike)) and Path(filename) == path


def _advice(error: BaseException) -> str:
    return " Free some space and run it again." if _space_error(error) else ""


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and wait until it is on disk, so a full disk fails here."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_whole(notebook: Any, path: Path) -> None:
    """Write ``notebook`` to ``path`` under a temporary name first, so no reader sees half of it.

    ``path`` is replaced only by a complete file, with the permissions it had (a read-only
    notebook is refused); what a failed write left is removed, and the error is raised.
    """
    import nbformat

    path = path.resolve()  # a link keeps pointing at the notebook, which gets the outputs
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    if mode is not None and not mode & 0o222:
        raise PermissionError(errno.EACCES, "the notebook is read-only", str(path))
    partial = path.with_name(f".{path.stem}.writing.ipynb")
    text = nbformat.writes(notebook)  # as nbformat.write writes it
    try:
        _write_text(partial, text if text.endswith("\n") else text + "\n")
        if mode is not None:
            os.chmod(partial, mode)  # the notebook keeps who may read and write it
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _stamp(path: Path, profile: str, seconds: float) -> None:
    from maintainers import notebook_outputs

    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook_outputs.stamp(notebook, profile, seconds)
    write_whole(notebook, path)


def execute(
    source: Path,
    output_dir: Path,
    parameters: dict[str, object] | None = None,
    *,
    name: str | None = None,
    profile: str | None = None,
) -> Outcome:
    """Run one notebook in a fresh kernel; never raises for an error inside the notebook.

    The executed copy (``<name>.ipynb``, ``name`` being the notebook's own unless given) is
    written under a temporary name and renamed when the run ends: to ``<name>.ipynb`` when it
    succeeded, to ``<name>.FAILED.ipynb`` when it did not, so the last good copy survives a
    failure or an interruption. With ``profile`` the copy is stamped (:func:`stamp_executed`)
    before it replaces the last one; a run whose copy could not be stamped is kept, unstamped,
    as ``<name>.FAILED.ipynb``. A copy that could not be written (a full disk) is removed, not
    kept, and replaces nothing; the outcome names the cause, the folder and the space left.
    """
    import papermill

    name = name or source.stem
    partial = output_dir / f".{name}.partial.ipynb"
    output = output_dir / f"{name}.ipynb"
    failed = output_dir / f"{name}.FAILED.ipynb"
    started = time.monotonic()
    try:
        try:
            papermill.execute_notebook(
                source, partial, parameters=parameters or {}, cwd=REPO_ROOT, progress_bar=True
            )
        except papermill.PapermillExecutionError as error:
            detail = f"cell {error.exec_count} raised {error.ename}: {error.evalue}"
        except Exception as error:
            unwritten: BaseException | None = _space_error(error)
            if unwritten is None and _names(error, partial):
                unwritten = error  # the copy could not be written, for another reason
            if unwritten is not None:  # a half-written copy: the finally clause removes it
                kept = (
                    f"the last copy, {output}, is unchanged"
                    if output.exists()
                    else "no copy was kept"
                )
                return Outcome(
                    source.stem,
                    False,
                    time.monotonic() - started,
                    f"its executed copy could not be written: {_cause(unwritten, output_dir)}; "
                    f"{kept}.{_advice(unwritten)}",
                    output,
                )
            # The kernel died, or could not start.
            detail = (
                f"the kernel stopped ({type(error).__name__}: {error}); it may have run out of "
                "memory: close other programs, or run this notebook alone"
            )
        else:
            seconds = time.monotonic() - started
            if profile is not None:
                try:
                    _stamp(partial, profile, seconds)
                except Exception as error:
                    os.replace(partial, failed)
                    return Outcome(
                        source.stem,
                        False,
                        seconds,
                        "ran without error, but its executed copy could not be stamped: "
                        f"{_cause(error, output_dir)}; it is kept, unstamped, as {failed}, and "
                        f"{output} is unchanged.{_advice(error)}",
                        failed,
                    )
            os.replace(partial, output)
            failed.unlink(missing_ok=True)
            return Outcome(source.stem, True, seconds, f"executed copy: {output}", output)
        if partial.exists():
            os.replace(partial, failed)
        return Outcome(source.stem, False, time.monotonic() - started, detail, failed)
    finally:
        partial.unlink(missing_ok=True)  # what a failed write or an interruption left


def stamp_executed(outcome: Outcome, profile: str) -> None:
    """Record in the executed copy's metadata what produced it, as a committed notebook has.

    Papermill copies the source notebook's metadata, so until then the copy carries the stamp
    of the run the notebook was committed with. :func:`execute` does this itself when given a
    profile; a failed write leaves the copy as it was.
    """
    _stamp(outcome.executed, profile, outcome.seconds)


def write_back(
    outcome: Outcome, source: Path | None = None, read_as: bytes | None = None
) -> Outcome:
    """Replace the notebook with its stamped executed copy, cleaned (see notebook_outputs).

    ``source`` is the file the notebook was read from (by default the repository's notebook of
    that name), and the only file written. ``read_as`` is what ``source`` held when it was
    executed: if it changed since (an edit saved while it ran), it is not written over. A
    write-back that fails or is refused leaves ``source`` as it was, and the outcome says why.
    """
    from maintainers import notebook_outputs

    import nbformat

    if source is None:
        source = REPO_ROOT / f"{outcome.notebook}.ipynb"
    if read_as is not None and source.read_bytes() != read_as:
        return dataclasses.replace(
            outcome,
            succeeded=False,
            detail=f"ran without error, but {shown_path(source)} changed on disk while it ran, "
            f"so it was not written over: your edit is kept. The executed copy is "
            f"{outcome.executed}; run it again to write back its outputs.",
        )
    try:
        notebook = nbformat.read(outcome.executed, as_version=4)
        notebook_outputs.clean(notebook, log_dir())
        write_whole(notebook, source)
    except Exception as error:
        return dataclasses.replace(
            outcome,
            succeeded=False,
            detail=f"ran without error, but could not be written back: "
            f"{_cause(error, source.parent)}; {source} is unchanged, and the executed copy is "
            f"{outcome.executed}.{_advice(error)}",
        )
    return Outcome(
        outcome.notebook,
        True,
        outcome.seconds,
        f"written back with its outputs: {shown_path(source)}",
        source,
    )


def notebook_path(argument: str) -> Path:
    """The notebook a command-line argument names.

    A bare NAME (``.ipynb`` optional) is the repository's notebook; an argument with a folder
    in it, even ``./``, is a path from the current folder.
    """
    if not argument.endswith(".ipynb"):
        argument += ".ipynb"
    if _is_bare_name(argument):
        return REPO_ROOT / argument
    return Path(argument).expanduser().absolute()


def _is_bare_name(argument: str) -> bool:
    # Not Path(argument).parts: pathlib drops a leading "./", which names the current folder.
    return "/" not in argument and os.sep not in argument and not argument.startswith("~")


def _checked_sources(arguments: list[str], parser: argparse.ArgumentParser) -> list[Path]:
    """The notebooks ``arguments`` name; ``parser.error`` for one that is missing or ambiguous."""
    sources = {argument: notebook_path(argument) for argument in arguments}
    unknown = [a.removesuffix(".ipynb") for a, source in sources.items() if not source.is_file()]
    if unknown:
        parser.error(
            f"no such notebook: {', '.join(unknown)}. Choose from: {', '.join(NOTEBOOKS)}, or "
            "give the path of a notebook elsewhere (./my_notebook.ipynb)"
        )
    for argument, source in sources.items():
        here = Path.cwd() / source.name
        if _is_bare_name(argument) and here.is_file() and not here.samefile(source):
            parser.error(
                f"{argument} could be the repository's {source} or {here}: give the path of the "
                f"one to run (./{source.name} for the one in this folder)"
            )
    return [sources[argument] for argument in arguments]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run_notebooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "notebooks",
        nargs="*",
        metavar="NAME",
        help=f"default: all of {', '.join(NOTEBOOKS)}; or a notebook's path",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=EXECUTED_DIR, help="where executed copies go"
    )
    parser.add_argument(
        "--profile", help=f"run profile for every notebook (default: ${PROFILE_VARIABLE} or auto)"
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="write each notebook that ran without error back over the file it was read from, "
        "with its outputs (cleaned of this machine's paths) and what produced them in its metadata",
    )
    args = parser.parse_args(argv)

    # Everything that can refuse is checked before anything is created.
    sources = _checked_sources(args.notebooks, parser) or [
        REPO_ROOT / f"{name}.ipynb" for name in NOTEBOOKS if (REPO_ROOT / f"{name}.ipynb").is_file()
    ]
    try:
        requested_name(args.profile)  # --profile, else $DL101_PROFILE
    except ValueError as error:
        parser.error(str(error))
    if args.profile:
        # Every kernel inherits it, including notebooks without a parameters cell.
        os.environ[PROFILE_VARIABLE] = args.profile
    if os.environ.get(LOG_DIR_VARIABLE):
        # Kernels start in the repository, not in this folder: a relative path must name the
        # same folder for them as for this runner.
        os.environ[LOG_DIR_VARIABLE] = str(log_dir())
    try:
        check_log_dir()
        args.output_dir.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError) as error:
        parser.error(str(error))
    if not os.access(args.output_dir, os.W_OK):
        parser.error(
            f"--output-dir {args.output_dir} is not writable: choose a folder you can write to."
        )

    profile = choose_profile(args.profile).name
    print(f"Running {len(sources)} notebook(s); TensorBoard logs go to {shown_path(log_dir())}")
    outcomes = []
    for source in sources:
        name = copy_name(source)
        label = source.stem if name == source.stem else shown_path(source)
        print(f"\n=== {shown_path(source)}")
        read_as = source.read_bytes()
        outcome = execute(source, args.output_dir, name=name, profile=profile)
        if outcome.succeeded and args.in_place:
            outcome = write_back(outcome, source, read_as)
        outcomes.append((label, outcome))

    print("\nSummary")
    for label, outcome in outcomes:
        status = "ok    " if outcome.succeeded else "FAILED"
        print(f"  {status} {label:32} {outcome.seconds / 60:5.1f} min  {outcome.detail}")
    print(f"See every run in TensorBoard: {tensorboard_command()}")
    return 0 if all(outcome.succeeded for _, outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
