"""Choosing how much a notebook trains."""

from __future__ import annotations

from dl101 import profiles

import pytest


@pytest.mark.parametrize(
    ("gpu", "environment", "parameter", "chosen"),
    [
        (False, None, None, "cpu"),
        (True, None, None, "full"),
        (False, "Smoke", None, "smoke"),
        (False, "smoke", "full", "full"),
    ],
)
def test_the_profile_is_the_parameter_else_the_environment_else_full_on_a_gpu_else_cpu(
    monkeypatch: pytest.MonkeyPatch,
    gpu: bool,
    environment: str | None,
    parameter: str | None,
    chosen: str,
) -> None:
    monkeypatch.setattr(profiles, "gpu_available", lambda: gpu)
    if environment:
        monkeypatch.setenv("DL101_PROFILE", environment)

    assert profiles.choose_profile(parameter).name == chosen


def test_unknown_profile_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"Unknown run profile 'fast'.*full, cpu, smoke, auto"):
        profiles.choose_profile("fast")


def test_description_says_how_to_change_it() -> None:
    text = profiles.announcement(profiles.PROFILES["cpu"])

    assert text.startswith("Run profile: cpu (")
    assert "DL101_PROFILE" in text and "parameters cell" in text
