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
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr + result.stdout


# What TensorFlow itself decided, in a fresh process that imports dl101 first, as notebooks do.
PROBE = (
    "import dl101; from maintainers.notebook_outputs import onednn_in_use; print(onednn_in_use())"
)


@pytest.mark.skipif(not ON_X86_64, reason="oneDNN is set on x86-64 only")
def test_tensorflow_uses_onednn_after_import_dl101_on_x86_64() -> None:
    assert _run(PROBE).splitlines()[-1] == "True"


def test_a_users_own_onednn_setting_is_kept() -> None:
    assert _run(PROBE, **{ONEDNN_VARIABLE: "0"}).splitlines()[-1] == "False"


@pytest.mark.skipif(not ON_X86_64, reason="TF_ENABLE_ONEDNN_OPTS is for x86-64")
def test_a_new_process_runs_onednn_as_the_environment_it_is_given_says() -> None:
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


def test_with_a_quiet_tensorflow_importing_dl101_does_not_load_it() -> None:
    # 2.20 is quiet by itself: dl101 leaves loading it to the notebook (Jupyter's runner and the
    # seed study import dl101 and never need TensorFlow).
    printed = _run(
        "import sys, dl101\n"
        "from dl101.tensorflow_settings import installed_tensorflow\n"
        "print(installed_tensorflow(), 'tensorflow' in sys.modules)"
    )
    assert printed == "(2, 20) False\n"
