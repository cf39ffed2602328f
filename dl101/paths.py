"""Where the repository and a FloydHub job's folders are, from any working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FLOYDHUB_ROOT = Path("/")  # tests move it, to play a FloydHub machine in a temporary folder


def floydhub_data_dirs() -> list[Path]:
    """Where a FloydHub job mounts ``--data ...:data``: /data on older jobs, /floyd/input/data on newer."""
    return [FLOYDHUB_ROOT / "data", FLOYDHUB_ROOT / "floyd" / "input" / "data"]


def floydhub_output_dir() -> Path | None:
    """FloydHub's /output, which it keeps after the job and shows in TensorBoard, if we are there."""
    return FLOYDHUB_ROOT / "output" if (FLOYDHUB_ROOT / "output").is_dir() else None
