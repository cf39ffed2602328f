"""Choosing how much a notebook trains."""

from __future__ import annotations

from dl101 import profiles

import pytest


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "gpu_available", lambda: False)


def test_auto_is_cpu_without_a_gpu(no_gpu: None) -> None:
    assert profiles.choose_profile().name == "cpu"


def test_auto_is_the_articles_settings_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)

    chosen = profiles.choose_profile()

    assert (chosen.name, chosen.epochs, chosen.train_size) == ("full", 50, None)


def test_environment_overrides_auto(no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DL101_PROFILE", "Smoke")

    assert profiles.choose_profile().name == "smoke"


def test_notebook_parameter_overrides_environment(
    no_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DL101_PROFILE", "smoke")

    assert profiles.choose_profile("full").name == "full"


def test_unknown_profile_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"Unknown run profile 'fast'.*full, cpu, smoke, auto"):
        profiles.choose_profile("fast")


def test_description_says_how_to_change_it() -> None:
    text = profiles.announcement(profiles.PROFILES["cpu"])

    assert text.startswith("Run profile: cpu (")
    assert "DL101_PROFILE" in text and "parameters cell" in text
