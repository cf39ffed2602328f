"""The benchmark runs as the README gives it, from a fresh clone, and measures a real speed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dl101.paths import REPO_ROOT

import pytest
from helpers import REAL_DATA_DIR

pytestmark = pytest.mark.skipif(
    REAL_DATA_DIR is None, reason="set DL101_DATA_DIR to the real CIFAR-10"
)


def test_the_benchmark_measures_the_projects_pipeline_from_any_folder(tmp_path: Path) -> None:
    # One measurement as the benchmark makes it for each pipeline: a process of its own.
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "cifar_throughput.py")]
    command += ["--measure", "project", "--images", "192", "--epochs", "1"]
    environment = dict(os.environ, DL101_DATA_DIR=str(REAL_DATA_DIR))
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr[-2000:]
    images_per_second = float(result.stdout.strip().splitlines()[-1])
    assert 0 < images_per_second < 1_000_000
