"""Importing dl101 first gives TensorFlow its fastest CPU kernels, and leaves a user's choice alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

from dl101.paths import REPO_ROOT
from dl101.tensorflow_settings import ONEDNN_VARIABLE, X86_64_MACHINES
from maintainers.notebook_outputs import onednn_in_new_process

import pytest

ON_X86_64 = platform.machine().lower() in X86_64_MACHINES


def _run(script: str, **environment: str) -> str:
    """What ``script`` prints to standard error, then to standard output, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_VARIABLE} | environment
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    return result.stderr + result.stdout


@pytest.mark.parametrize(
    ("users_choice", "expected"), [(None, "1" if ON_X86_64 else None), ("0", "0")]
)
def test_import_dl101_turns_onednn_on_unless_the_user_chose_and_leaves_tensorflow_unloaded(
    users_choice: str | None, expected: str | None
) -> None:
    # 2.20 is quiet by itself: dl101 leaves loading it to the notebook (Jupyter's runner and the
    # seed study import dl101 and never need TensorFlow).
    script = (
        "import os, sys, dl101\n"
        "from dl101.tensorflow_settings import installed_tensorflow\n"
        f"print(os.environ.get({ONEDNN_VARIABLE!r}), installed_tensorflow(), 'tensorflow' in sys.modules)"
    )
    given = {ONEDNN_VARIABLE: users_choice} if users_choice else {}

    assert _run(script, **given) == f"{expected} (2, 20) False\n"


@pytest.mark.skipif(not ON_X86_64, reason="TF_ENABLE_ONEDNN_OPTS is for x86-64")
def test_tensorflow_runs_onednn_as_the_environment_it_is_given_says() -> None:
    assert onednn_in_new_process({**os.environ, ONEDNN_VARIABLE: "1"})
    assert not onednn_in_new_process({**os.environ, ONEDNN_VARIABLE: "0"})


def test_closing_standard_error_silences_what_c_code_writes_there_and_only_for_a_while() -> None:
    # TensorFlow 2.19's registration lines come from C++, written straight to descriptor 2.
    printed = _run(
        "import os\n"
        "from dl101.tensorflow_settings import standard_error_closed\n"
        "with standard_error_closed():\n"
        "    os.write(2, b'Unable to register cuDNN factory\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    assert printed == "after\n"
