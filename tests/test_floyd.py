"""floyd.yml describes the tutorial's FloydHub job, and the notebooks find FloydHub's folders."""

from __future__ import annotations

from pathlib import Path

from dl101 import data, runs
from dl101.paths import REPO_ROOT

import pytest
import yaml
from helpers import write_cifar10

FLOYD_YML = REPO_ROOT / "floyd.yml"
# The keys floyd-cli 0.11.17 documents and reads, and the values it accepts.
TOP_LEVEL_KEYS = {"env", "machine", "input", "data", "description", "command", "task"}
TASK_KEYS = {"env", "machine", "input", "data", "description", "command", "mode"}
MACHINES = {"cpu", "gpu", "cpu2", "gpu2"}
MODES = {"job", "jupyter", "serve"}


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(FLOYD_YML.read_text())


def test_only_keys_floyd_cli_knows(config: dict) -> None:
    assert set(config) <= TOP_LEVEL_KEYS
    assert config["machine"] in MACHINES
    for task in config["task"].values():
        assert set(task) <= TASK_KEYS
        assert task.get("machine", config["machine"]) in MACHINES
        assert task.get("mode", "job") in MODES


def test_the_articles_job(config: dict) -> None:
    assert config["machine"] == "gpu"
    assert config["env"].startswith("tensorflow-")
    assert config["input"] == [{"source": "emilwallner/datasets/cifar-10/1", "destination": "data"}]
    assert config["task"]["notebooks"] == {"mode": "jupyter", "machine": "gpu"}


def test_run_all_task_runs_real_notebooks(config: dict) -> None:
    command = config["task"]["run_all"]["command"].split()

    assert command[:3] == ["python", "-m", "maintainers.run_notebooks"]
    assert (REPO_ROOT / "maintainers" / "run_notebooks.py").is_file()


def test_floydhub_installs_the_pinned_requirements() -> None:
    lines = (REPO_ROOT / "floyd_requirements.txt").read_text().splitlines()

    assert "-r requirements.txt" in lines
    assert "tensorflow[and-cuda]==2.20.0" in lines
    assert "tensorflow==2.20.0" in (REPO_ROOT / "requirements.txt").read_text().splitlines()


def test_floyd_cli_reads_the_machine_of_each_task(config: dict) -> None:
    run = pytest.importorskip("floyd.cli.run", reason="floyd-cli is not installed here")
    yaml_text = FLOYD_YML.read_text()

    for task in (None, "notebooks", "run_all"):
        instance = run.resolve_final_instance_type(None, yaml_text, task, {"instance_type": "c1"})
        assert instance == "g1", task


def test_data_and_logs_resolve_to_the_floydhub_mounts(
    config: dict, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DL101_LOG_DIR")
    destination = config["input"][0]["destination"]
    mount = isolated / "floyd" / "input" / destination
    write_cifar10(mount / data.CIFAR10_FOLDER)
    (isolated / "output").mkdir()

    assert data.find_cifar10() == mount / data.CIFAR10_FOLDER
    assert runs.log_dir() == isolated / "output"
    assert runs.new_run("start_here/or").folder == isolated / "output" / "start_here" / "or"


def test_older_jobs_mount_data_at_the_root(config: dict, isolated: Path) -> None:
    write_cifar10(isolated / config["input"][0]["destination"] / data.CIFAR10_FOLDER)

    assert data.find_cifar10() == isolated / "data" / data.CIFAR10_FOLDER
