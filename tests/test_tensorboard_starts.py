"""TensorBoard starts and serves its page both ways a learner starts it: from a terminal as the
README says, and with ``%tensorboard`` in a kernel whose PATH lacks .venv/bin."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

TENSORBOARD = Path(sys.executable).parent / "tensorboard"
BARE_PATH = "/usr/bin:/bin"  # no virtual environment on it


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def page(port: int, seconds: float = 90) -> str:
    """TensorBoard's front page on ``port``, waiting for it to start; "" if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return response.read().decode("utf-8", "replace")
        except OSError:
            time.sleep(0.5)
    return ""


@pytest.mark.notebook
def test_the_command_starts_tensorboard_without_an_activated_environment(tmp_path: Path) -> None:
    port = free_port()
    command = [str(TENSORBOARD), "--logdir", str(tmp_path), "--port", str(port)]
    environment = {**os.environ, "PATH": BARE_PATH}
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE)
    try:
        text = page(port)
    finally:
        server.terminate()
        stderr = server.communicate(timeout=30)[1].decode()
    assert "<title>TensorBoard</title>" in text, f"TensorBoard did not start:\n{stderr[-2000:]}"


@pytest.mark.notebook
def test_the_magic_starts_tensorboard_in_a_kernel_started_without_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorboard import manager

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
    client = NotebookClient(notebook, timeout=180, resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute()
    finally:  # the server the magic started may outlive its kernel
        for info in manager.get_all():
            if info.port == port:
                os.kill(info.pid, signal.SIGTERM)

    shown = str(notebook.cells[2].outputs)
    assert f"const port = {port};" in shown, shown  # the magic showed TensorBoard's frame
    assert notebook.cells[3].outputs[0]["text"] == "True\n"
