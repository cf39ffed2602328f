"""Committed outputs: cleaned of this machine, stamped with what made them, checked against the code."""

from __future__ import annotations

import os
from pathlib import Path

from dl101.paths import REPO_ROOT
from maintainers import notebook_outputs

import nbformat


def executed_notebook(log_dir: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(run.folder)")
    cell.metadata["papermill"] = {"duration": 1.0}
    cell.metadata["execution"] = {"iopub.status.busy": "2026-11-23T05:19:12Z"}
    printed = f"Log directory: {log_dir}{os.sep}\n"
    shown = {"text/plain": f"{REPO_ROOT}/executed", "text/markdown": "| a |"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=printed),
        nbformat.v4.new_output("display_data", data=shown),
    ]
    notebook.cells = [cell]
    notebook.metadata["papermill"] = {"input_path": str(REPO_ROOT / "x.ipynb")}
    return notebook


def test_clean_leaves_no_absolute_path_and_no_timings(tmp_path: Path) -> None:
    notebook = executed_notebook(logs := tmp_path / "my logs")
    notebook_outputs.clean(notebook, logs)
    (cell,) = notebook.cells
    assert cell.outputs[0].text == "Log directory: logs/\n"
    assert cell.outputs[1].data["text/plain"] == "executed"
    assert "papermill" not in notebook.metadata and cell.metadata == {}


def test_stamp_records_what_produced_the_outputs_with_a_hash_of_the_code_alone() -> None:
    notebook = executed_notebook(REPO_ROOT / "logs")
    notebook_outputs.stamp(notebook, "cpu", 61.4)
    stamp = notebook.metadata["dl101"]
    assert (stamp["profile"], stamp["wall_time_seconds"]) == ("cpu", 61)
    assert {"python", "tensorflow", "tflearn", "keras", "numpy"} <= set(stamp["versions"])
    assert stamp["machine"]["cores"] == os.cpu_count() and stamp["machine"]["processor"]
    assert stamp["machine"]["onednn"] == notebook_outputs.onednn_in_use()
    assert stamp["code_sha256"] == notebook_outputs.code_hash(notebook)

    notebook.cells[0].outputs = []
    notebook.cells.append(nbformat.v4.new_markdown_cell("More words."))
    assert notebook_outputs.code_hash(notebook) == stamp["code_sha256"]
    notebook.cells[0].source = "print(run.folder, 2)"
    assert notebook_outputs.code_hash(notebook) != stamp["code_sha256"]


def test_the_machine_is_named_with_its_onednn_setting_where_the_stamp_has_it() -> None:
    machine = {"processor": "AMD EPYC", "cores": 2}
    stamps = [{"machine": machine | onednn} for onednn in ({}, {"onednn": False}, {"onednn": True})]

    assert [notebook_outputs.machine_text(stamp) for stamp in stamps] == [
        "AMD EPYC, 2 cores",  # a stamp from before oneDNN was recorded
        "AMD EPYC, 2 cores, oneDNN off",
        "AMD EPYC, 2 cores, oneDNN on",
    ]
