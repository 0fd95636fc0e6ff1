"""The examples run end to end (at a size that takes seconds) and write what they promise."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_active_learning_example_runs_and_writes_its_results(tmp_path):
    pytest.importorskip("matplotlib")
    example = load_example("active_learning_moons")
    threads = torch.get_num_threads()
    try:
        runs = example.main(["--repeats", "1", "--initial-labels", "4", "--max-labels", "6",
                             "--epochs-scale", "0.1", "--hidden", "16", "--n-samples", "300",
                             "--n-test", "200", "--n-draws", "3", "--grid", "12",
                             "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)  # the example sets its own
    # SSLPE: entropy and random; SSLAPD: entropy, BALD and random
    assert sorted((r["model"], r["strategy"]) for r in runs) == sorted(
        [("SSLPE", "entropy"), ("SSLPE", "random"), ("SSLAPD", "entropy"),
         ("SSLAPD", "bald"), ("SSLAPD", "random")])
    for r in runs:
        assert r["n_labels"] == [4, 5, 6]
        assert all(0.0 <= a <= 1.0 for a in r["accuracy"])
        # two new rows, never one of the initial labels
        assert len(set(r["queried"])) == 2 and not set(r["queried"]) & set(r["initial"])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["queried"] for r in saved["runs"]] == [r["queried"] for r in runs]
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 1 + 3 * len(runs)
    for fig in ("fig_accuracy.png", "fig_queries.png", "fig_acquisition.png"):
        assert (tmp_path / fig).stat().st_size > 0
    # every run starts from the same initial labels (the protocol's fixed seed)
    assert len({tuple(r["initial"]) for r in runs}) == 1
