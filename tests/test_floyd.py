"""floyd.yml describes the tutorial's FloydHub job, and the notebooks find FloydHub's folders."""

from __future__ import annotations

from pathlib import Path

from dl101 import data, runs
from dl101.paths import REPO_ROOT

import pytest
import yaml
from helpers import write_cifar10

CONFIG = yaml.safe_load((REPO_ROOT / "floyd.yml").read_text())
# The keys floyd-cli 0.11.17 documents and reads.
TOP_LEVEL_KEYS = {"env", "machine", "input", "data", "description", "command", "task"}
TASK_KEYS = {"env", "machine", "input", "data", "description", "command", "mode"}


def test_the_articles_job_in_keys_floyd_cli_reads() -> None:
    assert set(CONFIG) <= TOP_LEVEL_KEYS
    assert CONFIG["env"].startswith("tensorflow-")
    assert CONFIG["input"] == [{"source": "emilwallner/datasets/cifar-10/1", "destination": "data"}]
    for name, task in CONFIG["task"].items():
        assert set(task) <= TASK_KEYS, name
        assert task.get("machine", CONFIG["machine"]) == "gpu", name
    assert CONFIG["task"]["notebooks"]["mode"] == "jupyter"
    assert CONFIG["task"]["run_all"]["command"].startswith("python -m maintainers.run_notebooks ")


def test_floydhub_installs_the_pinned_requirements() -> None:
    lines = (REPO_ROOT / "floyd_requirements.txt").read_text().splitlines()
    pins = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    (tensorflow,) = [line for line in pins if line.startswith("tensorflow==")]
    assert "-r requirements.txt" in lines
    assert tensorflow.replace("tensorflow", "tensorflow[and-cuda]") in lines  # the same version


@pytest.mark.parametrize("mount", ["floyd/input", "."])  # where newer and older jobs mount data
def test_data_and_logs_resolve_to_the_floydhub_mounts(
    mount: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DL101_LOG_DIR")
    folder = isolated / mount / CONFIG["input"][0]["destination"] / data.CIFAR10_FOLDER
    write_cifar10(folder)
    (isolated / "output").mkdir()

    assert data.find_cifar10() == folder
    assert runs.log_dir() == isolated / "output"
    assert runs.new_run("start_here/or").folder == isolated / "output" / "start_here" / "or"
