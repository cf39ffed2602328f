"""Fixtures shared by the tests: an isolated environment and a local web server."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

from dl101 import data, paths

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the real data, log folder or FloydHub mounts; returns FloydHub's fake root."""
    root = tmp_path_factory.mktemp("root")
    monkeypatch.delenv("DL101_DATA_DIR", raising=False)
    monkeypatch.delenv("DL101_PROFILE", raising=False)
    monkeypatch.setenv("DL101_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
    monkeypatch.setattr(paths, "FLOYDHUB_ROOT", root)
    monkeypatch.setattr(data, "REPO_DATA_DIR", tmp_path_factory.mktemp("repo_data"))
    return root


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, and the base URL that serves it."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
