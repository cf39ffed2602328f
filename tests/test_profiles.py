"""Choosing how much a notebook trains."""

from __future__ import annotations

import os

from dl101 import notebook, profiles

import pytest


@pytest.mark.parametrize(
    ("gpu", "environment", "parameter", "chosen"),
    [
        (False, "", None, "cpu"),
        (True, "", None, "full"),
        (False, "Smoke", None, "smoke"),
        (False, "smoke", "full", "full"),
    ],
)
def test_the_profile_is_the_parameter_else_the_environment_else_full_on_a_gpu_else_cpu(
    monkeypatch: pytest.MonkeyPatch, gpu: bool, environment: str, parameter: str, chosen: str
) -> None:
    monkeypatch.setattr(profiles, "gpu_available", lambda: gpu)
    monkeypatch.setenv("DL101_PROFILE", environment)

    assert profiles.choose_profile(parameter).name == chosen


def test_unknown_profile_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"Unknown run profile 'fast'.*full, cpu, smoke, auto"):
        profiles.choose_profile("fast")


def test_a_notebook_says_its_profile_and_how_to_change_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])  # check_setup may put .venv/bin first
    notebook.prepare_notebook("smoke", "mnist")

    profile, how_to_change = capsys.readouterr().out.splitlines()[-2:]
    assert profile == f"Run profile: smoke ({profiles.PROFILES['smoke'].mnist_summary})."
    assert "DL101_PROFILE" in how_to_change and "parameters cell" in how_to_change
