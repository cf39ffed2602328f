"""Execute notebooks headless, each in a fresh kernel; a copy goes to executed/ only once complete,
so a failure or a full disk never replaces a good one. --in-place writes each that ran back. A NAME
is one of the repository's notebooks; a path names one elsewhere (its copy: NAME-1a2b3c4d.ipynb).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from dl101.disk_space import free_space
from dl101.notebook import shown_path, tensorboard_command
from dl101.paths import REPO_ROOT
from dl101.profiles import PROFILE_VARIABLE, choose_profile, requested_name
from dl101.runs import LOG_DIR_VARIABLE, check_log_dir, log_dir
from maintainers import notebook_outputs

import nbformat

NOTEBOOKS = ("start_here", "experiment_0_few_layers", "experiment_0_three_layer_sets",
             "experiment_1_dropout", "experiment_2_l2", "experiment_3_batch_size",
             "experiment_4_learning_rate", "keras_mnist")  # fmt: skip
EXECUTED_DIR = REPO_ROOT / "executed"
# What a write that fails for lack of room raises: a full disk, or a user's quota used up.
SPACE_ERRORS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run ended; ``executed`` is its copy, or where it would have gone."""

    notebook: str
    succeeded: bool
    seconds: float
    detail: str
    executed: Path


def copy_name(source: Path) -> str:
    """The executed copy's name; outside the repository, with a hash of its path so that it
    replaces only its own last copy, never that of another folder's notebook of that name."""
    path = source.resolve()
    if path.parent == REPO_ROOT.resolve():
        return source.stem
    return f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def _why(error: BaseException, folder: Path) -> tuple[str, str]:
    """What stopped a write into ``folder`` (``no space left on device in ... (0.0 MB free)``)."""
    chained: BaseException | None = error
    for _ in range(10):  # what it was raised from or while handling; a cycle must not hang us
        if isinstance(chained, OSError) and chained.errno in SPACE_ERRORS:
            error = chained
            break
        chained = chained and (chained.__cause__ or chained.__context__)
    if not isinstance(error, OSError):
        return f"{type(error).__name__}: {error}", ""
    if isinstance(error.filename, (str, os.PathLike)):
        folder = Path(error.filename).parent
    cause = f"{(error.strerror or str(error)).lower()} in {folder}"
    if error.errno in SPACE_ERRORS:
        return f"{cause} ({free_space(folder)})", " Free some space and run it again."
    return cause, ""


def _write_text(path: Path, text: str) -> None:
    """Write and wait until it is on disk, so that a full disk fails here."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_whole(notebook: Any, path: Path) -> None:
    """Replace ``path`` (or its link's file) only by a whole file, with its permissions."""
    path = path.resolve()
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    if mode is not None and not mode & 0o222:
        raise PermissionError(errno.EACCES, "the notebook is read-only", str(path))
    partial = path.with_name(f".{path.stem}.writing.ipynb")
    try:
        _write_text(partial, nbformat.writes(notebook) + "\n")  # as nbformat.write writes it
        if mode is not None:
            os.chmod(partial, mode)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def stamp_executed(outcome: Outcome, profile: str) -> None:
    """Record in the copy what produced it, over the stamp papermill copied from the source."""
    notebook = nbformat.read(outcome.executed, as_version=4)
    notebook_outputs.stamp(notebook, profile, outcome.seconds)
    write_whole(notebook, outcome.executed)


def execute(
    source: Path,
    output_dir: Path,
    parameters: dict[str, object] | None = None,
    *,
    name: str | None = None,
    profile: str | None = None,
) -> Outcome:
    """Run one notebook in a fresh kernel; its copy becomes ``<name>.ipynb`` only once complete and
    (given ``profile``) stamped, a failed run's ``<name>.FAILED.ipynb``. Raises for no notebook error."""
    import papermill

    name = name or source.stem
    partial = output_dir / f".{name}.partial.ipynb"
    copy, failed = output_dir / f"{name}.ipynb", output_dir / f"{name}.FAILED.ipynb"
    started, seconds = time.monotonic(), 0.0
    try:
        try:
            papermill.execute_notebook(
                source, partial, parameters=parameters or {}, cwd=REPO_ROOT, progress_bar=True
            )
            seconds = time.monotonic() - started
            if profile is not None:
                stamp_executed(Outcome(source.stem, True, seconds, "", partial), profile)
        except papermill.PapermillExecutionError as error:
            detail = f"cell {error.exec_count} raised {error.ename}: {error.evalue}"
        except Exception as error:
            cause, advice = _why(error, output_dir)
            if seconds:  # it ran, but its copy could not be stamped
                os.replace(partial, failed)
                detail = f"ran without error, but its executed copy could not be stamped: {cause}; it is kept, unstamped, as {failed}, and {copy} is unchanged.{advice}"
                return Outcome(source.stem, False, seconds, detail, failed)
            if advice or str(getattr(error, "filename", None)) == str(partial):  # removed below
                kept = f"the last copy, {copy}, is unchanged"
                kept = kept if copy.exists() else "no copy was kept"
                detail = f"its executed copy could not be written: {cause}; {kept}.{advice}"
                return Outcome(source.stem, False, time.monotonic() - started, detail, copy)
            detail = f"the kernel stopped ({type(error).__name__}: {error}); it may have run out of memory: close other programs, or run this notebook alone"
        else:
            os.replace(partial, copy)
            failed.unlink(missing_ok=True)
            return Outcome(source.stem, True, seconds, f"executed copy: {copy}", copy)
        if partial.exists():
            os.replace(partial, failed)
        return Outcome(source.stem, False, time.monotonic() - started, detail, failed)
    finally:
        partial.unlink(missing_ok=True)  # what a failed write or an interruption left


def write_back(outcome: Outcome, source: Path, read_as: bytes | None = None) -> Outcome:
    """Replace ``source``, and no other file, with its executed copy cleaned of this machine's
    paths, unless it changed since it was read as ``read_as``: an edit saved while it ran."""
    if read_as is not None and source.read_bytes() != read_as:
        detail = f"ran without error, but {shown_path(source)} changed on disk while it ran, so it was not written over: your edit is kept. The executed copy is {outcome.executed}; run it again to write back its outputs."
        return dataclasses.replace(outcome, succeeded=False, detail=detail)
    try:
        notebook = nbformat.read(outcome.executed, as_version=4)
        notebook_outputs.clean(notebook, log_dir())
        write_whole(notebook, source)
    except Exception as error:
        cause, advice = _why(error, source.parent)
        detail = f"ran without error, but could not be written back: {cause}; {source} is unchanged, and the executed copy is {outcome.executed}.{advice}"
        return dataclasses.replace(outcome, succeeded=False, detail=detail)
    detail = f"written back with its outputs: {shown_path(source)}"
    return Outcome(outcome.notebook, True, outcome.seconds, detail, source)


def notebook_path(argument: str) -> Path:
    """A bare NAME (``.ipynb`` optional) is the repository's notebook, unless ambiguous; with a
    folder in it, even ``./``, a path from the current folder."""
    name = argument if argument.endswith(".ipynb") else argument + ".ipynb"
    # Not Path(name).parts: pathlib drops a leading "./", which names the current folder.
    if "/" in name or os.sep in name or name.startswith("~"):
        return Path(name).expanduser().absolute()
    ours, here = REPO_ROOT / name, Path.cwd() / name
    if ours.is_file() and here.is_file() and not here.samefile(ours):
        raise ValueError(
            f"{argument} could be the repository's {ours} or {here}: give the path of the one to run (./{name} for the one in this folder)"
        )
    return ours


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser("run_notebooks", description=__doc__, formatter_class=raw)
    parser.add_argument("notebooks", nargs="*", metavar="NAME", help="default: all")
    parser.add_argument("--output-dir", type=Path, default=EXECUTED_DIR)
    parser.add_argument("--profile", help=f"default: ${PROFILE_VARIABLE}, else auto")
    parser.add_argument("--in-place", action="store_true", help="write each notebook that ran back")
    args = parser.parse_args(argv)
    try:  # everything that can refuse, before anything is created
        sources = {argument: notebook_path(argument) for argument in args.notebooks}
        missing = [a.removesuffix(".ipynb") for a, path in sources.items() if not path.is_file()]
        if missing:
            raise ValueError(
                f"no such notebook: {', '.join(missing)}. Choose from: {', '.join(NOTEBOOKS)}, or "
                "give the path of a notebook elsewhere (./my_notebook.ipynb)"
            )
        requested_name(args.profile)  # --profile, else $DL101_PROFILE
        if os.environ.get(LOG_DIR_VARIABLE):  # kernels start in the repository, not this folder
            os.environ[LOG_DIR_VARIABLE] = str(log_dir())
        check_log_dir()
        args.output_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(args.output_dir, os.W_OK):
            raise PermissionError(
                f"--output-dir {args.output_dir} is not writable: choose a folder you can write to."
            )
    except (ValueError, OSError, RuntimeError) as error:
        parser.error(str(error))
    if args.profile:  # every kernel inherits it, even a notebook's without a parameters cell
        os.environ[PROFILE_VARIABLE] = args.profile

    profile = choose_profile(args.profile).name
    defaults = [REPO_ROOT / f"{name}.ipynb" for name in NOTEBOOKS]
    to_run = list(sources.values()) or [path for path in defaults if path.is_file()]
    print(f"Running {len(to_run)} notebook(s); TensorBoard logs go to {shown_path(log_dir())}")
    outcomes = []
    for source in to_run:
        print(f"\n=== {shown_path(source)}")
        read_as, name = source.read_bytes(), copy_name(source)
        outcome = execute(source, args.output_dir, name=name, profile=profile)
        if outcome.succeeded and args.in_place:
            outcome = write_back(outcome, source, read_as)
        outcomes.append((source.stem if name == source.stem else shown_path(source), outcome))
    print("\nSummary")
    for label, outcome in outcomes:
        status = "ok    " if outcome.succeeded else "FAILED"
        print(f"  {status} {label:32} {outcome.seconds / 60:5.1f} min  {outcome.detail}")
    print(f"See every run in TensorBoard: {tensorboard_command()}")
    return 0 if all(outcome.succeeded for _, outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
