"""TensorBoard starts both ways a learner starts it, and serves its page.

From a terminal, as the README says (``.venv/bin/tensorboard --logdir logs``), and inside a
notebook with ``%tensorboard``, in a kernel whose ``PATH`` lacks ``.venv/bin`` (as when Jupyter is
started as ``.venv/bin/jupyter lab`` without activating the environment).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

BIN = Path(sys.executable).parent
BARE_PATH = "/usr/bin:/bin"  # no virtual environment on it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page(port: int, seconds: float = 90) -> str:
    """TensorBoard's front page on ``port``, waiting for it to start."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return response.read().decode("utf-8", "replace")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def stop_tensorboards() -> Iterator[None]:
    """Stop every TensorBoard a test started (the magic leaves its server running)."""
    from tensorboard import manager

    before = {info.pid for info in manager.get_all()}
    yield
    for info in manager.get_all():
        if info.pid not in before:
            os.kill(info.pid, signal.SIGTERM)


@pytest.mark.notebook
def test_the_command_starts_tensorboard_without_an_activated_environment(tmp_path: Path) -> None:
    port = free_port()
    environment = {**os.environ, "PATH": BARE_PATH}
    server = subprocess.Popen(
        [str(BIN / "tensorboard"), "--logdir", str(tmp_path), "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            text = page(port)
        except OSError:
            server.kill()
            pytest.fail(f"TensorBoard did not start:\n{server.communicate()[1].decode()[-2000:]}")
        assert "<title>TensorBoard</title>" in text
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.notebook
def test_the_magic_starts_tensorboard_in_a_kernel_started_without_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_tensorboards: None
) -> None:
    monkeypatch.setenv("PATH", BARE_PATH)
    port = free_port()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import dl101\n\ndl101.check_setup()"),
        nbformat.v4.new_code_cell("%load_ext tensorboard"),
        nbformat.v4.new_code_cell(f"%tensorboard --logdir {tmp_path} --port {port}"),
        # Read the page while the kernel lives: its shutdown stops the server it started.
        nbformat.v4.new_code_cell(
            "import urllib.request\n\n"
            f'page = urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=30).read()\n'
            'print("<title>TensorBoard</title>" in page.decode())'
        ),
    ]
    NotebookClient(notebook, timeout=180, resources={"metadata": {"path": os.getcwd()}}).execute()

    shown = str(notebook.cells[2].outputs)
    assert f"const port = {port};" in shown, shown  # the magic showed TensorBoard's frame
    assert notebook.cells[3].outputs[0]["text"] == "True\n"
