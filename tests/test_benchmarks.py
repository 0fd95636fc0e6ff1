"""Every benchmark script runs end-to-end on a tiny configuration, so the suite cannot rot."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")


def test_weighting_tiny(tmp_path):
    from benchmarks import weighting

    weighting.main(["--seeds", "1", "--noise", "0.1", "--n-samples", "200",
                    "--epochs-scale", "0.05", "--n-jobs", "1", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "weighting.json").read_text())
    assert len(res["rows"]) == 4
    assert all(0 <= r["accuracy"] <= 1 for r in res["rows"])


def test_fit_time_tiny(tmp_path):
    from benchmarks import fit_time

    fit_time.main(["--n-samples", "200", "--epochs-scale", "0.05", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "fit_time.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["SSLPEClassifier", "SSLAPDClassifier"]
    assert all(r["seconds_per_epoch"] > 0 for r in rows)


def test_moons_tiny(tmp_path):
    from benchmarks import moons

    moons.main(["--models", "DNN", "SSLPE", "--noise", "0.2", "--seeds", "1",
                "--random-draws", "1", "--random-noise", "0.2", "--n-samples", "200",
                "--epochs-scale", "0.02", "--n-jobs", "1", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "moons.json").read_text())
    assert len(res["rows"]) == 4
    fixed = [s for s in res["summary"] if s["labels"] == "fixed"]
    assert {s["thesis_accuracy"] for s in fixed} == {73.04, 95.9}


def test_active_learning_tiny(tmp_path):
    from benchmarks import active_learning

    active_learning.main(["--repeats", "1", "--n-samples", "150", "--n-test", "200",
                          "--max-labels", "5", "--epochs-scale", "0.03", "--n-jobs", "1",
                          "--query-pool", "300", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "active_learning.json").read_text())
    assert len(res["rows"]) == 5
    assert all(r["curve"][-1][0] <= 5 for r in res["rows"])
    assert json.loads((tmp_path / "bald_query_time.json").read_text())["seconds"] > 0


def test_report_renders_every_section(capsys):
    from benchmarks import report

    report.main()
    text = capsys.readouterr().out
    for heading in ("Main demo", "Fit time", "Weighting", "Moons", "Active learning", "Speed",
                    "MNIST"):
        assert heading in text
