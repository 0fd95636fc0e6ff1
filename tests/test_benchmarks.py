"""Every benchmark script runs end-to-end on a tiny configuration, so the suite cannot rot."""

from __future__ import annotations

import json
import math
import shlex

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert all(0 <= r["train_accuracy"] <= 1 and r["train_log_likelihood"] <= 0
               for r in res["rows"])
    assert all(s["train_accuracy_mean"] == 100 * r["train_accuracy"] for s in res["summary"]
               for r in res["rows"] if (r["model"], r["labels"]) == (s["model"], s["labels"]))


def test_moons_model_seed_offset_changes_the_model_seed_only(tmp_path, monkeypatch):
    """--model-seed-offset K fits with random_state = seed + K on the seed's data, and the
    report's headline tables leave such a run out (it is a check, not the protocol)."""
    from benchmarks import moons, report

    seen = []
    real_evaluate = moons.evaluate

    def spy(clf, X, y):
        seen.append((clf.random_state, X.shape[0], float(X[0, 0])))
        return real_evaluate(clf, X, y)

    monkeypatch.setattr(moons, "evaluate", spy)
    common = ["--models", "DNN", "--noise", "0.2", "--seeds", "2", "--random-draws", "0",
              "--n-samples", "100", "--epochs-scale", "0.01", "--n-jobs", "1"]
    moons.main([*common, "--out", str(tmp_path / "moons_a")])
    moons.main([*common, "--model-seed-offset", "10", "--out", str(tmp_path / "moons_b")])
    # per fit: the test rows and the unlabeled training rows (the six labeled ones left out)
    first, second = sorted(seen[:4]), sorted(seen[4:])
    assert [s for s, *_ in first] == [0, 0, 1, 1] and [s for s, *_ in second] == [10, 10, 11, 11]
    assert {n for _, n, _ in first} == {94, 100}
    assert [x[1:] for x in first] == [x[1:] for x in second]   # the same data
    res = json.loads((tmp_path / "moons_b" / "moons.json").read_text())
    assert res["args"]["model_seed_offset"] == 10
    newest = report._newest_moons_runs(sorted(tmp_path.glob("moons*/moons.json")), "fixed")
    assert newest[(0.2, "DNN")][1] == "moons_a"


def test_moons_set_overrides_the_config_and_stays_out_of_the_headline(tmp_path, monkeypatch):
    """--set '{...}' fits with those parameters over the config's; the run is a variant, so
    the headline tables keep the protocol's run."""
    from benchmarks import moons, report

    seen = []
    real_evaluate = moons.evaluate
    monkeypatch.setattr(moons, "evaluate",
                        lambda clf, X, y: seen.append(clf.get_params()) or real_evaluate(clf, X, y))
    common = ["--models", "SSLPE", "--noise", "0.2", "--seeds", "1", "--random-draws", "0",
              "--n-samples", "100", "--epochs-scale", "0.02", "--n-jobs", "1"]
    moons.main([*common, "--out", str(tmp_path / "moons_a")])
    moons.main([*common, "--set", '{"n_init": 2, "lr": 0.005}', "--out",
                str(tmp_path / "moons_b")])
    _, config = moons.load_config("moons", "SSLPE", 0.2)
    assert seen[0]["lr"] == config["lr"] and seen[0]["n_init"] == config.get("n_init", 1)
    assert seen[-1]["lr"] == 0.005 and seen[-1]["n_init"] == 2
    newest = report._newest_moons_runs(sorted(tmp_path.glob("moons*/moons.json")), "fixed")
    assert newest[(0.2, "SSLPE")][1] == "moons_a"


def test_active_learning_tiny(tmp_path):
    from benchmarks import active_learning

    active_learning.main(["--repeats", "1", "--n-samples", "150", "--n-test", "200",
                          "--max-labels", "5", "--epochs-scale", "0.03", "--n-jobs", "1",
                          "--query-pool", "300", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "active_learning.json").read_text())
    assert len(res["rows"]) == 5
    assert all(r["curve"][-1][0] <= 5 for r in res["rows"])
    assert json.loads((tmp_path / "bald_query_time.json").read_text())["seconds"] > 0
    assert res["command"].startswith("python -m benchmarks.active_learning --repeats 1")
    assert set(res["summary"]) == {f"{m} + {s}" for m, s in active_learning.COMBINATIONS}


def test_active_learning_runs_only_the_chosen_combinations(tmp_path):
    from benchmarks import active_learning

    argv = ["--repeats", "2", "--n-samples", "150", "--n-test", "200", "--max-labels", "5",
            "--epochs-scale", "0.03", "--n-jobs", "1", "--query-pool", "0",
            "--combinations", "SSLAPD+bald", "--out", str(tmp_path)]
    active_learning.main(argv)
    res = json.loads((tmp_path / "active_learning.json").read_text())
    assert {(r["model"], r["strategy"]) for r in res["rows"]} == {("SSLAPD", "bald")}
    assert len(res["rows"]) == 2 and list(res["summary"]) == ["SSLAPD + bald"]
    assert res["command"] == "python -m benchmarks.active_learning " + " ".join(argv)


def test_mnist_tiny(tmp_path):
    """The MNIST script on a tiny stand-in file with MNIST's layout (no download, no data)."""
    import numpy as np

    from benchmarks import mnist

    rng = np.random.default_rng(0)
    data = tmp_path / "mnist.npz"
    np.savez(data, x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
             y_train=np.arange(120) % 10, x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_test=np.arange(30) % 10)
    mnist.main(["--quick", "--data", str(data), "--models", "DNN", "SSLAPD", "--labels", "2",
                "--epochs", "1", "--n-jobs", "1", "--out", str(tmp_path / "out")])
    res = json.loads((tmp_path / "out" / "mnist.json").read_text())
    assert {r["model"] for r in res["rows"]} == {"DNN", "SSLAPD"}
    assert all(0 <= r["accuracy"] <= 1 and r["log_likelihood"] < 0 for r in res["rows"])
    sslapd = next(r for r in res["rows"] if r["model"] == "SSLAPD")
    assert sslapd["epochs"] == 1
    # the generative models' rows also score q(y|x) alone and the longer Gibbs chain
    assert {"accuracy_qy", "log_likelihood_qy", f"accuracy_gibbs{mnist.GIBBS_LONG}"} <= set(sslapd)
    assert "accuracy_qy" not in next(r for r in res["rows"] if r["model"] == "DNN")
    # the recorded command reproduces the run's options
    assert res["command"] == (f"python -m benchmarks.mnist --quick --models DNN SSLAPD "
                              f"--labels 2 --epochs 1 --n-jobs 1 --data {data} "
                              f"--out {tmp_path / 'out'}")
    assert vars(mnist.parse_args(res["command"].split()[3:])) == res["args"]


def test_mnist_predictor_check_against_direct_computations():
    """q(y|x) scored by hand from the module, the long chain against a refit (same seed) that
    predicts with that many steps; the estimator's own ``n_gibbs`` is left as it was."""
    import numpy as np
    import torch
    from sklearn.base import clone
    from sklearn.datasets import make_moons
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from benchmarks import mnist
    from skdgm import SSLPEClassifier

    X, y = make_moons(200, noise=0.1, random_state=0)
    y_ssl = np.where(np.arange(200) < 20, y, -1)
    pipe = make_pipeline(StandardScaler(), SSLPEClassifier(max_epochs=3, n_gibbs=3,
                                                           random_state=0))
    pipe.fit(X, y_ssl)
    out = mnist.predictor_check(pipe, X, y)
    assert pipe[-1].n_gibbs == 3
    module = pipe[-1].module_.eval()
    with torch.no_grad():
        q = torch.softmax(module.encoder_y(torch.as_tensor(pipe[0].transform(X),
                                                           dtype=torch.float32)), -1).numpy()
    assert out["accuracy_qy"] == np.mean(q.argmax(1) == y)
    assert out["log_likelihood_qy"] == pytest.approx(np.mean(np.log(q[np.arange(200), y])),
                                                     rel=1e-5)
    long = clone(pipe).set_params(sslpeclassifier__n_gibbs=mnist.GIBBS_LONG).fit(X, y_ssl)
    assert out[f"accuracy_gibbs{mnist.GIBBS_LONG}"] == long.score(X, y)


def _tiny_mnist(path):
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
             y_train=np.arange(120) % 10, x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_test=np.arange(30) % 10)
    return path


def test_mnist_validation_split_holds_out_fixed_rows():
    import numpy as np

    from benchmarks import mnist

    X, y = np.arange(200.0)[:, None], np.arange(200) % 10
    Xa, ya, Xv, yv = mnist.validation_split(X, y, 30)
    assert len(yv) == 30 and len(ya) == 170
    assert set(Xa[:, 0]).isdisjoint(Xv[:, 0]) and set(Xa[:, 0]) | set(Xv[:, 0]) == set(X[:, 0])
    np.testing.assert_array_equal(Xv, mnist.validation_split(X, y, 30)[2])  # same rows again
    np.testing.assert_array_equal(yv, Xv[:, 0].astype(int) % 10)             # labels follow
    for bad in (0, 200):
        with pytest.raises(ValueError, match="--validation"):
            mnist.validation_split(X, y, bad)


def test_mnist_validation_runs_score_held_out_rows_and_stay_out_of_the_test_tables(
        tmp_path, monkeypatch):
    """``--validation`` with ``--set``: the fit sees the setting, scores the held-out rows,
    the command round-trips, and the report lists the run apart from the test results."""
    from benchmarks import mnist, report

    data = _tiny_mnist(tmp_path / "mnist.npz")
    seen = []
    original = mnist.fit_one

    def spy(**job):
        seen.append(job)
        return original(**job)

    monkeypatch.setattr(mnist, "fit_one", spy)
    asked = []
    real_load_config = mnist.load_config

    def load_config_spy(*args, **kwargs):
        asked.append(kwargs.get("labels_per_class"))
        return real_load_config(*args, **kwargs)

    monkeypatch.setattr(mnist, "load_config", load_config_spy)
    argv = ["--quick", "--models", "SSLPE", "--labels", "2", "--epochs", "1", "--n-jobs", "1",
            "--data", str(data), "--validation", "40", "--set", '{"SSLPE": {"lr": 0.002}}',
            "--first-split", "1", "--out", str(tmp_path / "results" / "mnist_val")]
    mnist.main(argv)
    res = json.loads((tmp_path / "results" / "mnist_val" / "mnist.json").read_text())
    (row,) = res["rows"]
    assert row["settings"] == {"lr": 0.002} and row["validation"] == 40
    assert seen[0]["settings"] == {"lr": 0.002}
    assert row["split"] == seen[0]["split"] == 1  # --first-split: split 1 (seed 1) alone
    assert asked == [2]  # the config's settings for that number of labels (by_labels)
    assert vars(mnist.parse_args(shlex.split(res["command"])[3:])) == res["args"]
    # a test run beside it
    mnist.main(["--quick", "--models", "DNN", "--labels", "2", "--n-jobs", "1", "--data",
                str(data), "--out", str(tmp_path / "results" / "mnist_test")])
    # and a test run with a setting of its own, which its header names
    mnist.main(["--quick", "--models", "SSLPE", "--labels", "2", "--epochs", "1", "--n-jobs",
                "1", "--data", str(data), "--set", '{"SSLPE": {"lr": 0.002}}', "--out",
                str(tmp_path / "results" / "mnist_test_lr")])
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")
    text = report.mnist()
    tests, validation = text.split("### MNIST validation runs")
    assert "results/mnist_val/" not in tests and "`mnist_val`" not in tests
    assert "`results/mnist_test/mnist.json`" in tests
    (lr_run,) = [line for line in tests.split("\n") if "mnist_test_lr/mnist.json" in line]
    assert "other settings than the reference code's: SSLPE (2/class) lr 0.002)" in lr_run
    (dnn_run,) = [line for line in tests.split("\n") if "mnist_test/mnist.json" in line]
    assert "other settings" not in dnn_run
    assert '`{"lr": 0.002}`' in validation and "| 40 |" in validation
    assert "| `mnist_val` | 2 | 1 | SSLPE |" in validation


@pytest.mark.parametrize("benchmark", ["mnist", "moons"])
def test_runs_record_the_configs_their_fits_started_with(benchmark, tmp_path, monkeypatch):
    """The configs a run records are read before its first fit starts, so an edit made to a
    config file while a long run trains is not recorded as what it ran."""
    import importlib

    module = importlib.import_module(f"benchmarks.{benchmark}")
    if benchmark == "mnist":
        argv = ["--quick", "--models", "DNN", "--labels", "2", "--n-jobs", "1", "--data",
                str(_tiny_mnist(tmp_path / "mnist.npz"))]
    else:
        argv = ["--models", "DNN", "--noise", "0.2", "--seeds", "1", "--random-draws", "0",
                "--n-samples", "200", "--epochs-scale", "0.02", "--n-jobs", "1"]
    started = []
    original_fit, original_read = module.fit_one, module.read_configs

    def fit_spy(**job):
        started.append(job["model"])
        return original_fit(**job)

    monkeypatch.setattr(module, "fit_one", fit_spy)
    monkeypatch.setattr(module, "read_configs", lambda name: {
        **original_read(name), "read_after_fits_started": bool(started)})
    module.main([*argv, "--out", str(tmp_path / "out")])
    res = json.loads((tmp_path / "out" / f"{benchmark}.json").read_text())
    assert started == ["DNN"] and res["config"]["read_after_fits_started"] is False
    assert res["config"]["DNN"]["class"] == "DNNClassifier"


@pytest.mark.parametrize("bad", [["--set", '{"lr": 0.001}'],
                                 ["--set", '{"SSLPE": {"callbacks": []}}'],
                                 ["--set", '{"SSLPE": {lr: 1}}'], ["--first-split", "-1"]])
def test_mnist_rejects_malformed_settings(bad):
    from benchmarks import mnist

    with pytest.raises(SystemExit):
        mnist.parse_args(bad)


def test_mnist_reports_missing_data(tmp_path):
    from benchmarks import mnist

    with pytest.raises(FileNotFoundError, match="download=True"):
        mnist.main(["--data", str(tmp_path / "absent.npz"), "--out", str(tmp_path)])


def test_batch_norm_tiny(tmp_path):
    from benchmarks import batch_norm

    batch_norm.main(["--seeds", "1", "--curve-seeds", "1", "--noise", "0.1", "--models",
                     "SSLAPD", "--epochs", "2", "--n-samples", "200", "--n-jobs", "1",
                     "--out", str(tmp_path)])
    res = json.loads((tmp_path / "batch_norm.json").read_text())["summary"]
    assert [(r["trained_with"], r["evaluated_with"]) for r in res["regimes"]] == [
        ("weight_means", "running"), ("weight_means", "batch"), ("sampled", "running"),
        ("sampled", "batch")]
    assert all(0 <= r["grid_accuracy_mean"] <= 1 for r in res["regimes"])
    assert [len(c["accuracy_curve_mean"]) for c in res["curves"]] == [2, 2]
    assert (tmp_path / "bn_regimes.png").is_file() and (tmp_path / "bn_curves.png").is_file()


def test_bayes_moons_labels_match_the_generating_moon():
    """Far from the overlap the Bayes class is the moon a point was drawn from."""
    import numpy as np
    from sklearn.datasets import make_moons

    from benchmarks.batch_norm import bayes_moons_labels

    X, y = make_moons(2000, noise=0.05, random_state=0)
    assert np.mean(bayes_moons_labels(X, 0.05) == y) > 0.999


def test_bayes_moons_log_posterior_is_calibrated():
    """The true class posterior is calibrated: among points where it says p(y=1|x) is about p,
    a fraction of about p is in class 1 (an independent check of the density computation)."""
    import numpy as np
    from sklearn.datasets import make_moons

    from benchmarks.batch_norm import bayes_moons_log_posterior

    X, y = make_moons(60_000, noise=0.2, random_state=0)
    post = np.exp(bayes_moons_log_posterior(X, 0.2, n_arc=300))
    np.testing.assert_allclose(post.sum(1), 1.0, rtol=1e-12)
    p1 = post[:, 1]
    for lo, hi in ((0.1, 0.37), (0.37, 0.63), (0.63, 0.9)):
        sel = (p1 >= lo) & (p1 < hi)
        assert sel.sum() > 800
        assert abs(y[sel].mean() - p1[sel].mean()) < 0.04


def test_report_renders_every_section(capsys):
    from benchmarks import report

    report.main()
    text = capsys.readouterr().out
    for heading in ("At a glance", "Main demo", "Fit time", "Weighting", "Moons", "Batch norm",
                    "MNIST", "Active learning", "Speed"):
        assert heading in text


def test_moons_search_ranks_a_diverging_setting_last(monkeypatch):
    """A fit that diverges is recorded (NaN scores) and its setting ranks last, whatever the
    other seeds scored."""
    from benchmarks import moons_search
    from skdgm.callbacks import TrainingDivergedError

    class Diverging:
        def __init__(self, **params):
            self.lr = params["lr"]

        def fit(self, X, y):
            if self.lr > 1e-2:
                raise TrainingDivergedError("loss became nan")
            return self

    monkeypatch.setattr(moons_search, "load_config", lambda b, m: (Diverging, {"lr": 1e-3,
                                                                     "max_epochs": 1}))
    monkeypatch.setattr(moons_search, "evaluate",
                        lambda est, X, y: {"accuracy": 0.5, "log_likelihood": -0.7})
    rows = [{"model": "M2", "noise": 0.2, "point": {"lr": lr}, "seed": seed,
             **moons_search.fit_one("M2", 0.2, {"lr": lr}, seed, 50, 1.0)}
            for lr in (1e-3, 0.1) for seed in (10, 11)]
    assert [r.get("diverged") is not None for r in rows] == [False, False, True, True]
    rows[2].update(accuracy=0.99, log_likelihood=-0.01)  # one seed fine, one diverged
    ranking = moons_search.summarise(rows)[0]["ranking"]
    assert [r["point"]["lr"] for r in ranking] == [1e-3, 0.1]
    assert [r["diverged"] for r in ranking] == [0, 1]


def test_moons_search_rank_by_log_lik_only_where_asked():
    """The log-likelihood rule reorders only the (model, noise) it names; accuracy decides
    elsewhere, each rule breaking its ties by the other score."""
    from benchmarks import moons_search

    def row(model, noise, lr, acc, ll):
        return {"model": model, "noise": noise, "point": {"lr": lr}, "seed": 10,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(m, 0.2, 1e-3, 0.97, -0.10) for m in ("SSLAPD", "M2")]
    rows += [row(m, 0.2, 3e-3, 0.96, -0.09) for m in ("SSLAPD", "M2")]
    rows += [row("SSLAPD", 0.2, 1e-2, 0.95, -0.09)]  # same log-lik as 3e-3, lower accuracy
    by_acc = {s["model"]: s for s in moons_search.summarise(rows)}
    assert by_acc["SSLAPD"]["best"] == {"lr": 1e-3} and by_acc["M2"]["best"] == {"lr": 1e-3}
    rule = {moons_search.rank_key("SSLAPD", 0.2): "log_lik"}
    mixed = {s["model"]: s for s in moons_search.summarise(rows, rule)}
    assert [r["point"]["lr"] for r in mixed["SSLAPD"]["ranking"]] == [3e-3, 1e-2, 1e-3]
    assert mixed["SSLAPD"]["rank_by"] == "log_lik"
    assert mixed["M2"]["best"] == {"lr": 1e-3} and mixed["M2"]["rank_by"] == "accuracy"
    # a setting left behind by an earlier, shorter stage (fewer seeds) ranks after the latest
    # stage's settings, however well its few seeds scored
    more = rows + [{**r, "seed": 11} for r in rows if r["point"]["lr"] != 3e-3]
    more.append(row("SSLAPD", 0.2, 1e-4, 0.99, -0.01))  # one seed only
    staged = {s["model"]: s for s in moons_search.summarise(more, rule)}
    assert [r["point"]["lr"] for r in staged["SSLAPD"]["ranking"]] == [1e-2, 1e-3, 1e-4, 3e-3]
    assert [r["runs"] for r in staged["SSLAPD"]["ranking"]] == [2, 2, 1, 1]


def test_moons_search_log_lik_near_best_accuracy():
    """Settings within the tolerance of the best mean accuracy rank by log p(y|x); settings
    below it, however good their log p(y|x), follow by accuracy, and settings of an earlier,
    shorter stage after both."""
    from benchmarks import moons_search

    tol = moons_search.ACCURACY_TOLERANCE

    def rows_of(n_gibbs, acc, ll, seeds=(10, 11)):
        return [{"model": "SDGM", "noise": 0.2, "point": {"n_gibbs": n_gibbs}, "seed": s,
                 "accuracy": acc, "log_likelihood": ll} for s in seeds]

    rows = (rows_of(10, 0.960, -0.35) + rows_of(1000, 0.960 - tol / 2, -0.22)
            + rows_of(1, 0.960 - 3 * tol, -0.20) + rows_of(100, 0.958, -0.25)
            + rows_of(5, 0.99, -0.01, seeds=(10,)))
    rule = {moons_search.rank_key("SDGM", 0.2): "log_lik_near_best"}
    summary = moons_search.summarise(rows, rule)[0]
    assert summary["rank_by"] == "log_lik_near_best"
    # 1000 (0.05 points below the best, higher log p) first; 1 and 100 lie outside the
    # tolerance and follow by accuracy; the one-seed setting last
    assert [r["point"]["n_gibbs"] for r in summary["ranking"]] == [1000, 10, 100, 1, 5]
    assert summary["best"] == {"n_gibbs": 1000}
    # by accuracy alone the best accuracy keeps it
    assert moons_search.summarise(rows)[0]["best"] == {"n_gibbs": 10}
    # a setting just past the tolerance does not take it, whatever its log p
    past = rows_of(10, 0.960, -0.35) + rows_of(1000, 0.960 - 1.01 * tol, -0.01)
    assert moons_search.summarise(past, rule)[0]["best"] == {"n_gibbs": 10}


def test_moons_search_tiny_updates_configs(tmp_path, monkeypatch):
    import shutil

    from benchmarks import _common, moons_search

    configs = tmp_path / "configs"
    shutil.copytree(_common.CONFIGS / "moons", configs / "moons")
    monkeypatch.setattr(moons_search, "CONFIGS", configs)
    monkeypatch.setattr(_common, "CONFIGS", configs)
    monkeypatch.setitem(moons_search.GRID, "SSLPE", {"max_epochs": [1, 2], "lr": [1e-3]})
    moons_search.main(["--models", "SSLPE", "--seeds", "1", "--n-samples", "200", "--n-jobs",
                       "1", "--update-configs", "--out", str(tmp_path / "out")])
    res = json.loads((tmp_path / "out" / "moons_search.json").read_text())
    best = res["summary"][0]
    assert len(best["ranking"]) == 2 and best["best"] == best["ranking"][0]["point"]
    spec = json.loads((configs / "moons" / "SSLPE.json").read_text())
    assert spec["by_noise"]["0.2"] == best["best"]
    _, params = _common.load_config("moons", "SSLPE", 0.2)
    assert params["max_epochs"] == best["best"]["max_epochs"]
    # --resume keeps finished fits, also when the grid gains a key at its default value
    monkeypatch.setitem(moons_search.GRID, "SSLPE", {"max_epochs": [1, 2], "lr": [1e-3],
                                                     "batch_norm": [True]})
    moons_search.main(["--models", "SSLPE", "--seeds", "1", "--n-samples", "200", "--n-jobs",
                       "1", "--resume", "--rank-by", "log_lik", "--out", str(tmp_path / "out")])
    again = json.loads((tmp_path / "out" / "moons_search.json").read_text())
    assert again["rank_by"] == {"SSLPE 0.2": "log_lik"}
    assert again["summary"][0]["rank_by"] == "log_lik"
    assert [r["seconds"] for r in again["rows"]] == [r["seconds"] for r in res["rows"]]
    assert all(r["point"]["batch_norm"] is True for r in again["rows"])
    # a second stage: a sub-grid with more seeds reuses the first stage's fit of its setting
    # (weight_decay 0 typed as an int is the default 0.0)
    sub = {"SSLPE": {"max_epochs": [2], "lr": [1e-3], "weight_decay": [0, 1e-4]}}
    moons_search.main(["--models", "SSLPE", "--seeds", "2", "--n-samples", "200", "--n-jobs",
                       "1", "--resume", "--grid", json.dumps(sub), "--out", str(tmp_path / "out")])
    stage2 = json.loads((tmp_path / "out" / "moons_search.json").read_text())
    assert stage2["grid"] == sub
    assert stage2["rank_by"] == {"SSLPE 0.2": "log_lik"}  # kept without --rank-by
    assert len(stage2["rows"]) == 2 + 3    # 1 + 1 fits kept, 3 new
    assert {r["seconds"] for r in again["rows"]} <= {r["seconds"] for r in stage2["rows"]}
    ranked = {json.dumps(r["point"], sort_keys=True): r["runs"]
              for r in stage2["summary"][0]["ranking"]}
    assert sorted(ranked.values()) == [1, 2, 2]  # max_epochs 1 (first stage), wd 0 and 1e-4
    # every command that added fits is recorded, oldest first
    assert [c.split(" --models")[0] for c in stage2["invocations"]] == [
        "python -m benchmarks.moons_search"] * 3
    assert "--update-configs" in stage2["invocations"][0]
    assert stage2["invocations"][2].endswith(shlex.quote(json.dumps(sub)) + " --out "
                                             + shlex.quote(str(tmp_path / "out")))


def test_batch_bald_speed_tiny(tmp_path):
    """The BatchBALD timing script end to end, with a 'before' file to compare against."""
    from benchmarks import batch_bald_speed

    args = ["--pools", "40", "--draws", "3", "--classes", "3", "--n-instances", "4",
            "--devices", "cpu", "--out", str(tmp_path)]
    batch_bald_speed.main(args + ["--name", "batch_bald_speed_before"])
    batch_bald_speed.main(args)
    (row,) = json.loads((tmp_path / "batch_bald_speed.json").read_text())["rows"]
    assert row["device"] == "cpu" and row["seconds"] > 0 and len(row["indices"]) == 4
    # same code, same data and seed: the comparison with the 'before' run finds them equal
    assert row["same_indices_as_before"] and row["max_abs_score_diff_vs_before"] == 0.0
    assert row["speedup"] > 0


def test_same_settings_counts_defaults_and_the_noise_level():
    from benchmarks.report import _same_settings

    old = {"class": "SDGMClassifier", "params": {"lr": 0.003},
           "by_noise": {"0.2": {"lr": 0.001}}}
    explicit_default = {"class": "SDGMClassifier", "params": {"lr": 0.003},
                        "by_noise": {"0.2": {"lr": 0.001, "weight_decay": 0.0}}}
    other_lr = {"class": "SDGMClassifier", "params": {"lr": 0.003},
                "by_noise": {"0.2": {"lr": 0.002}}}
    assert _same_settings(old, explicit_default, 0.2)     # weight_decay 0 is the default
    assert not _same_settings(old, other_lr, 0.2)
    assert _same_settings(old, other_lr, 0.1)             # by_noise 0.2 does not apply at 0.1
    assert not _same_settings(old, {**old, "class": "M2Classifier"}, 0.2)
    assert not _same_settings(None, old, 0.2)


def test_epoch_scores_leave_the_fit_alone():
    """The per-epoch scores draw from forked random streams: a fit with them predicts exactly
    as the same fit without them."""
    import numpy as np

    from benchmarks._common import EpochScores
    from skdgm import SSLAPDClassifier
    from skdgm.datasets import make_ssl_moons

    X, y, y_true = make_ssl_moons(120, 0.2, random_state=0)
    params = dict(hidden_sizes=(16,), n_latent=2, max_epochs=3, random_state=0)
    plain = SSLAPDClassifier(**params).fit(X, y)
    scores = EpochScores(X, y_true, X_train=X, y_train=y)
    scored = SSLAPDClassifier(callbacks=[scores], **params).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), scored.predict_proba(X))
    h = scored.history_
    assert len(h[:, "test_acc"]) == 3 and len(h[:, "train_objective"]) == 3
    assert all(np.isfinite(h[:, "train_unlabeled_bound"]))


def test_epoch_scores_every_k_epochs_and_log_lik_by_hand():
    """``every=2`` over 5 epochs scores epochs 2, 4 and the last; the last epoch's accuracy and
    log p(y|x) match the module's Gibbs probabilities (same generator seed) scored by hand."""
    import numpy as np
    import torch

    from benchmarks._common import EpochScores
    from skdgm import SSLPEClassifier
    from skdgm.datasets import make_ssl_moons

    X, y, y_true = make_ssl_moons(120, 0.2, random_state=0)
    scores = EpochScores(X, y_true, n_gibbs=3, every=2)
    clf = SSLPEClassifier(hidden_sizes=(16,), n_latent=2, max_epochs=5, random_state=0,
                          callbacks=[scores]).fit(X, y)
    scored = [h["epoch"] for h in clf.history_ if "test_acc" in h]
    assert scored == [2, 4, 5]
    module = clf.module_.eval()
    with torch.no_grad():
        p = module.predict_proba(torch.as_tensor(X, dtype=torch.float32), 3,
                                 torch.Generator().manual_seed(0)).numpy().astype(np.float64)
    p /= p.sum(1, keepdims=True)
    last = clf.history_[-1]
    assert last["test_acc"] == np.mean(p.argmax(1) == y_true)
    assert last["test_log_lik"] == pytest.approx(np.mean(np.log(p[np.arange(120), y_true])),
                                                 rel=1e-6)


def test_mnist_curve_and_threads_leave_the_fit_alone(tmp_path):
    """``--curve-every`` adds a test-score curve (every k epochs and the last) without changing
    the fit; ``--threads`` is recorded and reproduced by the command line."""
    from benchmarks import mnist

    data = _tiny_mnist(tmp_path / "mnist.npz")
    common = ["--quick", "--data", str(data), "--models", "SSLAPD", "--labels", "2", "--epochs",
              "3", "--n-jobs", "1", "--threads", "2"]
    mnist.main(common + ["--out", str(tmp_path / "plain")])
    mnist.main(common + ["--curve-every", "2", "--out", str(tmp_path / "curve")])
    plain, curve = (json.loads((tmp_path / d / "mnist.json").read_text())["rows"][0]
                    for d in ("plain", "curve"))
    assert "curve" not in plain
    assert [c["epoch"] for c in curve["curve"]] == [2, 3]
    assert all(0 <= c["accuracy"] <= 1 and c["log_likelihood"] < 0 for c in curve["curve"])
    for key in ("accuracy", "log_likelihood", "accuracy_qy"):
        assert curve[key] == plain[key]
    assert (tmp_path / "curve" / "mnist_curve.png").stat().st_size > 0
    (tmp_path / "curve" / "mnist_curve.png").unlink()
    mnist.main(["--replot", str(tmp_path / "curve")])   # redrawn from the results file alone
    assert (tmp_path / "curve" / "mnist_curve.png").stat().st_size > 0
    assert not (tmp_path / "plain" / "mnist_curve.png").exists()
    res = json.loads((tmp_path / "curve" / "mnist.json").read_text())
    assert "--threads 2 " in res["command"] and "--curve-every 2 " in res["command"]
    assert vars(mnist.parse_args(res["command"].split()[3:])) == res["args"]
    from benchmarks import report

    text = report._mnist_curves([tmp_path / "curve" / "mnist.json", tmp_path / "plain" /
                                 "mnist.json"])
    assert text.count("Learning curve of") == 1 and "| 2 | " in text and "| 3 | " in text
    assert "From epoch 3 to 3" in text  # the last quarter of 3 epochs starts at the last


def test_mnist_validation_curves_side_by_side(tmp_path):
    """Two validation runs with curves (the same model, labels, split and epochs, different
    settings) come out as one table with a column pair per run, each cell its run's point."""
    from benchmarks import mnist, report

    data = _tiny_mnist(tmp_path / "mnist.npz")
    common = ["--quick", "--data", str(data), "--models", "SSLPE", "--labels", "2", "--epochs",
              "2", "--n-jobs", "1", "--validation", "40", "--curve-every", "1"]
    mnist.main(common + ["--out", str(tmp_path / "a")])
    mnist.main(common + ["--set", '{"SSLPE": {"lr_decay": 0.5}}', "--out", str(tmp_path / "b")])
    files = [tmp_path / d / "mnist.json" for d in ("a", "b")]
    assert (tmp_path / "a" / "mnist_curve.png").stat().st_size > 0  # validation axes, no thesis
    text = report._mnist_validation(files)
    assert text.count("Validation curves, SSLPE, 2 labels per class, split 0 (") == 1
    assert '`b` (2 epochs): `{"lr_decay": 0.5}`' in text and "`a` (2 epochs): `{}`" in text
    assert "| epoch | `a` accuracy | log p(y\\|x) | `b` accuracy | log p(y\\|x) |" in text
    curves = [json.loads(f.read_text())["rows"][0]["curve"] for f in files]
    for epoch in (1, 2):
        a, b = (next(c for c in curve if c["epoch"] == epoch) for curve in curves)
        assert (f"| {epoch} | {100 * a['accuracy']:.2f} | {a['log_likelihood']:.3f} | "
                f"{100 * b['accuracy']:.2f} | {b['log_likelihood']:.3f} |") in text


def test_collapse_tiny(tmp_path):
    from benchmarks import collapse, report

    collapse.main(["--model", "SDGM", "--seeds", "2", "--offsets", "0", "1", "--n-samples",
                   "150", "--epochs-scale", "0.03", "--n-jobs", "1", "--threshold", "0.8",
                   "--out", str(tmp_path)])
    res = json.loads((tmp_path / "collapse.json").read_text())
    assert len(res["rows"]) == 4
    assert sorted(r["random_state"] for r in res["rows"]) == [0, 1, 1, 2]
    assert all(len(r["test_acc_curve"]) == len(r["objective_curve"]) == 3
               for r in res["rows"])
    assert all(0 <= r["unlabeled_entropy"] <= math.log(2) + 1e-9 for r in res["rows"])
    s = res["summary"]
    assert s["below"] + s["above"] == 4
    text = report.collapse(sorted(tmp_path.glob("collapse.json")))
    assert "random_state" in text and "unlabeled entropy |" in text


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 1), max_size=40))
def test_pack_classes_round_trips(labels):
    from benchmarks.collapse import pack_classes, unpack_classes

    labels = np.array(labels, dtype=np.int64)
    np.testing.assert_array_equal(unpack_classes(pack_classes(labels)), labels)


def test_pack_classes_refuses_more_than_two_classes():
    from benchmarks.collapse import pack_classes

    with pytest.raises(ValueError, match="two classes"):
        pack_classes(np.array([0, 2, 1]))


def test_collapse_candidates_fit_the_restarts_of_n_init(tmp_path):
    """``--candidates 3`` fits the three restarts of ``n_init=3`` one by one: the restart with
    the lowest unlabeled entropy is the fit ``n_init=3`` keeps (same seed, same accuracy)."""
    from benchmarks import collapse, report
    from benchmarks._common import load_config
    from skdgm.datasets import make_ssl_moons

    argv = ["--model", "SSLPE", "--seeds", "1", "--offsets", "2", "--n-samples", "150",
            "--epochs-scale", "0.2", "--n-jobs", "1", "--threshold", "0.8", "--candidates",
            "3", "--every", "5", "--out", str(tmp_path)]
    collapse.main(argv)
    rows = json.loads((tmp_path / "collapse.json").read_text())["rows"]
    assert sorted(r["candidate"] for r in rows) == [0, 1, 2]
    assert {r["random_state"] for r in rows} == {2}
    assert len({r["seed_"] for r in rows}) == 3
    cls, params = load_config("moons", "SSLPE", 0.2)
    params.update(n_init=3, max_epochs=max(1, round(params["max_epochs"] * 0.2)))
    if "kl_warmup" in params:
        params["kl_warmup"] = round(params["kl_warmup"] * 0.2)
    # scored after every 5th epoch and the last
    last = params["max_epochs"]
    assert all(r["curve_epochs"] == sorted({*range(5, last + 1, 5), last}) for r in rows)
    assert all(len(r["test_acc_curve"]) == len(r["curve_epochs"]) for r in rows)
    X, y, _ = make_ssl_moons(150, 0.2, random_state=0)
    X_test, _, y_test = make_ssl_moons(150, 0.2, random_state=100_000)
    multi = cls(random_state=2, **params).fit(X, y)
    kept = min(rows, key=lambda r: r["unlabeled_entropy"])
    assert kept["seed_"] == multi.seed_
    assert kept["accuracy"] == pytest.approx(multi.score(X_test, y_test), abs=1e-12)
    # the summary's picks are the restarts each init_selection rule keeps
    (pick,) = json.loads((tmp_path / "collapse.json").read_text())["summary"]["candidates"]
    by_candidate = sorted(rows, key=lambda r: r["candidate"])
    assert pick["accuracy"] == [r["accuracy"] for r in by_candidate]
    assert by_candidate[pick["entropy"]]["seed_"] == multi.seed_
    consensus = cls(random_state=2, **{**params, "init_selection": "consensus"}).fit(X, y)
    assert by_candidate[pick["consensus"]]["seed_"] == consensus.seed_
    text = report.collapse(sorted(tmp_path.glob("collapse.json")))
    assert "--candidates 3 --every 5" in text and "| restart | epoch 5 | epoch 10 |" in text
    acc = ", ".join(f"{100 * a:.2f}" for a in pick["accuracy"])
    assert (f"data seed 0: {acc}%, the entropy rule restart {pick['entropy']}, the "
            f"consensus rule restart {pick['consensus']}.") in text
    assert (f"restart kept by the entropy rule {100 * kept['accuracy']:.2f}%, by the consensus "
            f"rule {100 * pick['accuracy'][pick['consensus']]:.2f}%; of the best restart of "
            f"each seed (chosen with the test labels) {100 * max(pick['accuracy']):.2f}%.") \
        in text


def test_mnist_configs_binarise_the_generative_models_as_the_reference_code_did():
    """The MNIST configs name ``StochasticBinarization`` for M2/SSLPE/SSLAPD (the reference
    code's pixels), and ``load_config`` turns the name into a fresh callback per call."""
    from benchmarks._common import load_config
    from skdgm import StochasticBinarization

    for model in ("M2", "SSLPE", "SSLAPD"):
        _, params = load_config("mnist", model)
        assert [type(c) for c in params["callbacks"]] == [StochasticBinarization]
        assert load_config("mnist", model)[1]["callbacks"][0] is not params["callbacks"][0]
    assert "callbacks" not in load_config("mnist", "DNN")[1]
    assert "callbacks" not in load_config("moons", "SSLPE", noise=0.2)[1]


def test_mnist_config_applies_settings_chosen_per_number_of_labels():
    """``by_labels`` (chosen on validation runs) applies at its number of labels per class
    only; SSLPE's entry for 20 labels per class (batch norm and a decay, chosen at 24 epochs)
    went back to the reference settings after the 64-epoch validation pair (rule 13)."""
    from benchmarks._common import effective_params, load_config

    spec = {"params": {"batch_norm": False, "lr": 5e-4},
            "by_labels": {"20": {"batch_norm": True, "lr_decay": 0.96}}}
    assert effective_params(spec, labels_per_class=20) == {"batch_norm": True, "lr": 5e-4,
                                                           "lr_decay": 0.96}
    assert effective_params(spec, labels_per_class=100) == spec["params"]
    assert effective_params(spec) == spec["params"]
    for k in (20, 100, None):
        params = load_config("mnist", "SSLPE", labels_per_class=k)[1]
        assert params["batch_norm"] is False and "lr_decay" not in params
    assert load_config("mnist", "SSLAPD", labels_per_class=20)[1]["batch_norm"] is False
    # SSLAPD's learning rate, chosen for every label count, stands in params; the reference
    # value it replaced is a record for the report, not an estimator parameter
    for k in (20, 100, None):
        params = load_config("mnist", "SSLAPD", labels_per_class=k)[1]
        assert params["lr"] == 0.001 and "reference_params" not in params


def test_denormals_tiny(tmp_path):
    """The subnormal-flush A/B on a tiny stand-in MNIST file: both fits recorded, the same
    seed and data, and the package's flush restored for the second fit."""
    from benchmarks import denormals

    data = _tiny_mnist(tmp_path / "mnist.npz")
    denormals.main(["--data", str(data), "--n-train", "120", "--n-test", "30", "--labels", "2",
                    "--epochs", "2", "--out", str(tmp_path / "out")])
    res = json.loads((tmp_path / "out" / "denormals.json").read_text())
    assert [r["flush_denormals"] for r in res["rows"]] == [False, True]
    # the "before" fit really trained unflushed, the "after" fit flushed
    assert [r["flushed_while_training"] for r in res["rows"]] == [False, True]
    assert all(len(r["epoch_seconds"]) == 2 and 0 <= r["accuracy"] <= 1 for r in res["rows"])
    assert res["fit_ratio"] > 0 and res["last_epoch_ratio"] > 0


def test_mnist_report_keys_fits_by_variant_and_pairs_batch_norm_runs():
    """A run whose ``--set`` turns batch norm on counts as the 'binarised, batch norm'
    variant (config plus settings), sits beside the plain binarised run of the same cell, and
    the tally compares the two; any other setting names itself in the variant."""
    from benchmarks import report

    def run(date, settings, acc, ll, callbacks=("StochasticBinarization",), bn=False):
        return {"machine": {"date": date},
                "args": {"set": json.dumps({"SSLPE": settings}), "splits": 1},
                "config": {"SSLPE": {"params": {"batch_norm": bn}, "callbacks": list(callbacks)}},
                "summary": [{"labels_per_class": 20, "model": "SSLPE", "epochs": 24,
                             "accuracy_mean": acc, "log_lik_mean": ll,
                             "thesis_accuracy": 92.0}]}

    plain = run("2026-11-27 10:00", {}, 87.5, -0.8)
    normed = run("2026-11-27 11:00", {"batch_norm": True}, 90.0, -0.5)
    configured = run("2026-11-27 12:00", {}, 91.0, -0.4, bn=True)  # the config says BN
    grey = run("2026-11-27 09:00", {}, 86.0, -0.9, callbacks=())
    assert report._variant(plain, "SSLPE") == "binarised"
    assert report._variant(normed, "SSLPE") == report._variant(configured, "SSLPE") \
        == "binarised, batch norm"
    assert report._variant(grey, "SSLPE") == "grey"
    assert report._variant(run("x", {"lr": 0.002}, 0, 0), "SSLPE") == "binarised, lr 0.002"
    by_labels = run("x", {}, 0, 0)
    by_labels["config"]["SSLPE"]["by_labels"] = {"20": {"batch_norm": True}}
    assert report._variant(by_labels, "SSLPE", 20) == "binarised, batch norm"
    assert report._variant(by_labels, "SSLPE", 100) == "binarised"
    # a config whose params replaced a reference value names it; --set back to it does not
    chosen = run("x", {}, 0, 0)
    chosen["config"]["SSLPE"]["params"]["lr"] = 0.001
    chosen["config"]["SSLPE"]["reference_params"] = {"lr": 0.0005}
    assert report._variant(chosen, "SSLPE") == "binarised, lr 0.001"
    assert report._over_reference(chosen, "SSLPE", 20) == {"lr": 0.001}
    back = json.loads(json.dumps(chosen))
    back["args"]["set"] = json.dumps({"SSLPE": {"lr": 0.0005}})
    assert report._variant(back, "SSLPE") == "binarised"
    assert report._over_reference(back, "SSLPE", 20) == {}
    # a --set back to the estimator's default (no lr decay) is no change either
    no_decay = json.loads(json.dumps(by_labels))
    no_decay["config"]["SSLPE"]["by_labels"]["20"]["lr_decay"] = 0.96
    assert report._variant(no_decay, "SSLPE", 20) == "binarised, batch norm, lr_decay 0.96"
    no_decay["args"]["set"] = json.dumps({"SSLPE": {"lr_decay": 1.0}})
    assert report._variant(no_decay, "SSLPE", 20) == "binarised, batch norm"
    text = report._mnist_binarisation([chosen, plain])
    assert "| 20 | SSLPE | 0 | 24 | 87.50 | 0.00 |" in text.split("Learning rate 1e-3")[1]
    cells = report._mnist_cells([configured, normed, plain, grey])
    assert cells[(20, "SSLPE", 24, "binarised, batch norm", "0")]["accuracy_mean"] == 91.0
    other_draw = run("2026-11-27 13:00", {}, 80.0, -1.0)
    other_draw["args"]["first_split"] = 1  # split 1: a cell of its own, paired with its kind
    assert (20, "SSLPE", 24, "binarised", "1") in report._mnist_cells([other_draw, plain])
    assert "| 20 | SSLPE | 1 |" not in report._mnist_binarisation([other_draw, normed, plain])
    text = report._mnist_binarisation([normed, plain, grey])
    bn_part = text.split("Batch norm")[1]
    assert "| 20 | SSLPE | 0 | 24 | 87.50 | 90.00 | -0.800 | -0.500 | 92.0 |" in bn_part
    assert "log p(y|x) higher in 1 of 1 cells, accuracy higher in 1 of 1 (mean change +2.50" \
        in bn_part
    assert "| 20 | SSLPE | 0 | 24 | 86.00 | 87.50 |" in text.split("Batch norm")[0]


def test_at_a_glance_counts_moons_targets_per_kind_of_rows(tmp_path, monkeypatch):
    """A model meets its moons target on a kind of rows only when its accuracy and (where
    the thesis prints one) its log p(y|x) are both at or above the thesis's."""
    from benchmarks import report

    def summary(model, acc, ll, train_acc, train_ll):
        return {"noise": 0.2, "model": model, "labels": "fixed", "accuracy_mean": acc,
                "accuracy_std": 0.1, "log_lik_mean": ll, "train_accuracy_mean": train_acc,
                "train_accuracy_std": 0.1, "train_log_lik_mean": train_ll,
                "thesis_accuracy": {"SSLAPD": 96.8, "M2": 94.8}[model],
                "thesis_log_lik": {"SSLAPD": -0.084, "M2": -0.258}[model]}

    (tmp_path / "moons_x").mkdir()
    (tmp_path / "moons_x" / "moons.json").write_text(json.dumps({
        "machine": {"date": "2026-11-27 10:00 UTC"}, "args": {}, "config": {},
        "summary": [summary("SSLAPD", 96.9, -0.080, 96.9, -0.090),   # log p short on train
                    summary("M2", 94.8, -0.258, 94.7, -0.200)]}))     # accuracy short on train
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = "\n".join(report._glance_moons())
    assert "| 0.2 | SSLAPD | 96.8 / -0.084 | 96.90 / -0.080 | 96.90 / -0.090 | yes | **no** |" \
        in text
    assert "| 0.2 | M2 | 94.8 / -0.258 | 94.80 / -0.258 | 94.70 / -0.200 | yes | **no** |" in text
    assert "2 of 2 on the test rows, 0 of 2 on the training rows" in text


def test_at_a_glance_mnist_takes_current_settings_only(tmp_path, monkeypatch):
    """The MNIST glance keeps fits on the config files' settings of today: the newest plain
    --quick run, and the run with the most epochs; a --set run, another lr in the stored
    config and validation runs are left out."""
    from benchmarks import report
    from benchmarks._common import read_configs
    from benchmarks.mnist import PROFILES

    current = read_configs("mnist")["SSLPE"]
    other = {**current, "params": {**current["params"], "lr": 0.123}}

    def write(name, date, epochs, acc, config=current, **args):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mnist.json").write_text(json.dumps({
            "machine": {"date": date},
            "args": {"profile": "quick", "labels": PROFILES["quick"]["labels"], "epochs": epochs,
                     "device": "cpu", "set": "{}", **args},
            "config": {"SSLPE": config},
            "rows": [{"labels_per_class": 100, "model": "SSLPE", "split": 0, "epochs": epochs,
                      "accuracy": acc / 100}],
            "summary": [{"labels_per_class": 100, "model": "SSLPE", "epochs": epochs,
                         "accuracy_mean": acc, "thesis_accuracy": 96.4}]}))

    write("mnist_quick_old", "2026-11-25", 8, 90.0)
    write("mnist_quick_new", "2026-11-26", 8, 91.0)
    write("mnist_long", "2026-11-26", 24, 94.0)
    write("mnist_longer_other_lr", "2026-11-27", 32, 95.5, config=other)
    write("mnist_longer_set", "2026-11-27", 48, 95.8, set='{"SSLPE": {"lr": 0.002}}')
    write("mnist_val", "2026-11-27", 64, 97.0, validation=10000)
    write("mnist_cuda", "2026-11-27", 8, 93.0, device="cuda")   # not the CPU quick profile
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    args = json.loads((tmp_path / "mnist_quick_new" / "mnist.json").read_text())["args"]
    assert report._is_quick_profile(args)
    assert not report._is_quick_profile({**args, "epochs": 24})
    assert not report._is_quick_profile({**args, "first_split": 1})
    assert not report._is_quick_profile({**args, "splits": 3})
    text = "\n".join(report._glance_mnist())
    assert "| 100 | SSLPE | 96.4 | 91.00 (-5.40) | 94.00 (-2.40) | 24, `mnist_long` |" in text


def test_at_a_glance_mnist_label_draws_pool_splits_across_runs(tmp_path, monkeypatch):
    """The label-draws column pools the newest fit of each split over runs on today's settings
    at the epochs with the most draws; the one-draw 'most epochs' column takes single fits,
    those of a multi-split run too (never its mean), and among equal epochs prefers split 0."""
    from benchmarks import report
    from benchmarks._common import read_configs

    config = read_configs("mnist")["SSLAPD"]

    def write(name, date, splits, epochs, accs, set_="{}"):
        rows = [{"labels_per_class": 20, "model": "SSLAPD", "split": s, "epochs": epochs,
                 "accuracy": a / 100} for s, a in zip(splits, accs)]
        (tmp_path / name).mkdir()
        (tmp_path / name / "mnist.json").write_text(json.dumps({
            "machine": {"date": date},
            "args": {"profile": "quick", "labels": [20], "epochs": epochs, "device": "cuda",
                     "first_split": splits[0], "splits": len(splits), "set": set_},
            "config": {"SSLAPD": config}, "rows": rows,
            "summary": [{"labels_per_class": 20, "model": "SSLAPD", "epochs": epochs,
                         "runs": len(rows), "accuracy_mean": float(np.mean(accs)),
                         "thesis_accuracy": 92.3, "thesis_accuracy_std": 0.73}]}))

    write("mnist_a", "2026-11-27 01:00", [0], 32, [80.0])
    write("mnist_b", "2026-11-27 02:00", [0, 1, 2], 32, [90.0, 91.0, 92.0])  # split 0 is newer
    write("mnist_c", "2026-11-27 03:00", [3], 32, [93.0])
    write("mnist_d", "2026-11-27 04:00", [0, 1], 48, [97.0, 99.0])   # fewer draws at 48
    write("mnist_e", "2026-11-27 05:00", [4], 32, [50.0], set_='{"SSLAPD": {"lr": 1}}')
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = "\n".join(report._glance_mnist())
    acc = np.array([90.0, 91.0, 92.0, 93.0])
    expected = (f"| {acc.mean():.2f} ({acc.std():.2f}) ({acc.mean() - 92.3:+.2f}) | "
                "4 (splits 0, 1, 2, 3), 32, `mnist_b`, `mnist_c` |")
    line = next(ln for ln in text.splitlines() if ln.startswith("| 20 | SSLAPD |"))
    # most epochs: the 48-epoch fits of mnist_d, split 0 (not split 1, nor their mean)
    assert line.startswith("| 20 | SSLAPD | 92.3 (0.73) | – | 97.00 (+4.70) | 48, `mnist_d` |")
    # without mnist_d: of the 32-epoch fits, split 0, the newest (mnist_b's, not mnist_a's)
    (tmp_path / "mnist_d" / "mnist.json").unlink()
    line = next(ln for ln in "\n".join(report._glance_mnist()).splitlines()
                if ln.startswith("| 20 | SSLAPD |"))
    assert line.startswith("| 20 | SSLAPD | 92.3 (0.73) | – | 90.00 (-2.30) | 32, `mnist_b` |")
    assert line.endswith(expected)


def test_seed_record_pairs_each_variant_fit_with_its_base_on_the_same_seed():
    from benchmarks import report

    base, decay = {"lr": 1e-3}, {"lr_decay": 0.98}

    def row(point, seed, acc, ll, model="SSLAPD"):
        return {"model": model, "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(base, 10, 0.95, -0.10), row(base, 11, 0.96, -0.09),
            row(base, 12, 0.97, -0.08),                        # no variant on seed 12
            row({**base, **decay}, 10, 0.96, -0.12),           # higher acc, lower log p
            row({**base, **decay}, 11, 0.95, -0.08),           # lower acc, higher log p
            row({**base, **decay}, 13, 0.99, -0.01),           # no base on seed 13
            row({"lr": 2e-3, **decay}, 10, 0.99, -0.01),       # its base was never fitted
            row({**base, **decay}, 10, 0.99, -0.01, model="SDGM")]
    text = report._seed_record(rows, "SSLAPD", 0.2, decay)
    assert text == ("higher validation accuracy on 1 of 2 seeds and higher log p(y\\|x) on "
                    "1 of 2 than the same setting without it")
    assert report._seed_record(rows, "SSLAPD", 0.2, {"lr": 1}).startswith("no seed fitted")
    # a replaced value: lr 2e-3 + decay paired with lr 1e-3 + decay on the same seed
    text = report._seed_record(rows, "SSLAPD", 0.2, {"lr": 2e-3}, {"lr": 1e-3})
    assert text == ("higher validation accuracy on 1 of 1 seeds and higher log p(y\\|x) on "
                    "1 of 1 than the same setting with `lr` 0.001")
    # a value repeated in both selects the pairs and is not named: decay at lr 2e-3 only
    text = report._seed_record(rows, "SSLAPD", 0.2, {**decay, "lr": 2e-3}, {"lr": 2e-3})
    assert text.startswith("no seed fitted")
    text = report._seed_record(rows, "SSLAPD", 0.2, {**decay, **base}, base)
    assert text.endswith("on 1 of 2 than the same setting without it")


def test_sdgm_layer_stages_count_collapses_against_the_chosen_setting():
    """Each SDGM layer stage pairs its fits with the chosen 5-d setting's on each seed,
    counts the seeds below 90% for both, and says whether the config took the widths;
    nothing until a fit of the stage exists."""
    from benchmarks import report

    base = {"batch_norm": False, "lr": 0.001, "n_init": 1}
    wide = {**base, "n_latent": 100, "n_auxiliary": 100}

    def row(point, seed, acc, ll):
        return {"model": "SDGM", "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(base, 10, 0.96, -0.20), row(base, 11, 0.85, -0.60), row(base, 12, 0.84, -0.7)]
    summary = [{"model": "SDGM", "noise": 0.2, "ranking": [{"point": base}]}]
    assert report._sdgm_width_stage({"rows": rows, "summary": summary}) == ""
    rows += [row(wide, 10, 0.95, -0.25), row(wide, 11, 0.96, -0.15), row(wide, 12, 0.80, -0.9)]
    text = report._sdgm_width_stage({"rows": rows, "summary": summary})
    assert "it scored higher validation accuracy on 1 of 3 seeds and higher log p(y\\|x) on " \
        "1 of 3 than the same setting without it, and fell below 90% validation accuracy on " \
        "1 of 3 seeds against 2 of 3; by the search's rule the chosen setting stayed the one " \
        "without it, so the config is unchanged." in text
    summary = [{"model": "SDGM", "noise": 0.2, "ranking": [{"point": wide}]}]
    text = report._sdgm_width_stage({"rows": rows, "summary": summary})
    assert text.endswith("by the search's rule that is the chosen setting now.")
    # the 2-d stage follows with its own sentence, paired against the same 5-d fits
    assert "the other way" not in text
    small = {**base, "n_latent": 2, "n_auxiliary": 2}
    rows += [row(small, 10, 0.97, -0.18), row(small, 11, 0.95, -0.30)]
    summary = [{"model": "SDGM", "noise": 0.2, "ranking": [{"point": small}]}]
    text = report._sdgm_width_stage({"rows": rows, "summary": summary})
    first, second = text.split("Then (2026-12-03) the other way")
    assert "seeds against 2 of 3; by the search's rule it was not chosen (the chosen setting " \
        "now is another stage's)." in first
    assert "it scored higher validation accuracy on 2 of 2 seeds and higher log p(y\\|x) on " \
        "2 of 2 than the same setting without it, and fell below 90% validation accuracy on " \
        "0 of 2 seeds against 1 of 2; by the search's rule that is the chosen setting now." \
        in second
    # the hidden-width stage: a list-valued change, paired against the same 5-d fits
    assert "256-256" not in text
    hidden = {**base, "hidden_sizes": [256, 256]}
    rows += [row(hidden, 10, 0.93, -0.21), row(hidden, 11, 0.89, -0.5),
             row(hidden, 12, 0.91, -0.4)]
    text = report._sdgm_width_stage({"rows": rows, "summary": summary})
    third = text.split("Then (2026-12-06, the Intel Xeon)")[1]
    assert "it scored higher validation accuracy on 2 of 3 seeds and higher log p(y\\|x) on " \
        "2 of 3 than the same setting without it, and fell below 90% validation accuracy on " \
        "1 of 3 seeds against 2 of 3; by the search's rule it was not chosen (the chosen " \
        "setting now is another stage's)." in third
    assert "64-64" not in text
    narrow = {**base, "hidden_sizes": [64, 64]}
    rows += [row(narrow, 10, 0.97, -0.19)]
    text = report._sdgm_width_stage({"rows": rows, "summary": summary})
    fourth = text.split("the other way: hidden layers 64-64")[1]
    assert "it scored higher validation accuracy on 1 of 1 seeds and higher log p(y\\|x) on " \
        "1 of 1 than the same setting without it, and fell below 90% validation accuracy on " \
        "0 of 1 seeds against 0 of 1;" in fourth  # the chosen setting's fits on that seed


def test_sdgm_restart_stage_pairs_against_one_fit_at_both_widths():
    """The 256-256 restarts stage pairs each seed with the chosen 128-128 single fit (for
    the collapse count too) and with 256-256's single fit, and is silent until it ran."""
    from benchmarks import report

    base = {"batch_norm": False, "lr": 0.001, "n_init": 1}
    wide = {**base, "hidden_sizes": [256, 256]}
    restarts = {**wide, "n_init": 3, "init_selection": "entropy"}
    old_restarts = {**base, "n_init": 3, "init_selection": "entropy"}

    def row(point, seed, acc, ll):
        return {"model": "SDGM", "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(base, 10, 0.96, -0.20), row(base, 11, 0.85, -0.60), row(base, 12, 0.84, -0.7),
            row(wide, 10, 0.97, -0.15), row(wide, 11, 0.95, -0.2), row(wide, 12, 0.91, -0.3),
            row(old_restarts, 10, 0.99, -0.1)]
    d = {"rows": rows, "summary": [{"model": "SDGM", "noise": 0.2,
                                    "ranking": [{"point": base}]}]}
    assert report._sdgm_restart_stage(d) == ""
    d["rows"] += [row(restarts, 10, 0.965, -0.18), row(restarts, 11, 0.94, -0.25),
                  row(restarts, 12, 0.95, -0.2)]
    text = report._sdgm_restart_stage(d)
    assert "(so far seeds 10, 11, 12, fitted in parts that stop short of ten" in text
    assert "it scored higher validation accuracy on 3 of 3 seeds and higher log p(y\\|x) on " \
        "3 of 3 than the chosen setting (128-128, one fit), and fell below 90% validation " \
        "accuracy on 0 of 3 seeds against 2 of 3; against 256-256 with one fit it scored " \
        "higher validation accuracy on 1 of 3 seeds and higher log p(y\\|x) on 1 of 3 than " \
        "the same setting with `n_init` 1; the rule waits for the other seeds, so the " \
        "config is unchanged." in text
    assert text in report._sdgm_width_stage(d)
    # the earlier 256-256 stage still counts only its own one-fit setting, not the restarts
    earlier = report._sdgm_width_stage(d).split("Then (2026-12-06, the Intel Xeon)")[1]
    assert "higher validation accuracy on 3 of 3 seeds and higher log p(y\\|x) on 3 of 3 " \
        "than the same setting without it, and fell below 90% validation accuracy on 0 of 3 " \
        "seeds against 2 of 3;" in earlier
    # all ten seeds in: the search's rule speaks
    for seed in range(13, 20):
        d["rows"].append(row(restarts, seed, 0.95, -0.2))
    text = report._sdgm_restart_stage(d)
    assert "so far" not in text and "waits" not in text
    assert "then `--seeds 10` with it)" in text
    assert text.endswith("than the same setting with `n_init` 1; by the search's rule the "
                         "chosen setting kept `n_init` 1, so the config is unchanged.")
    d["summary"][0]["ranking"][0]["point"] = restarts
    assert report._sdgm_restart_stage(d).endswith(
        "by the search's rule that is the chosen setting now.")
    # the one-fit 256-256 stage is not the chosen setting, though the chosen one carries 256-256
    earlier = report._sdgm_width_stage(d).split("Then (2026-12-06, the Intel Xeon)")[1]
    assert "than the same setting without it, and fell below 90% validation accuracy on 0 of " \
        "3 seeds against 2 of 3; by the search's rule it was not chosen (the chosen setting " \
        "now is another stage's, which carries it)." in earlier
    assert "by the search's rule that is the chosen setting now" not in earlier.split(
        "three restarts")[0]


def test_sdgm_consensus_stage_pairs_against_the_entropy_rule():
    """The consensus stage pairs each seed with the entropy rule's 256-256 restarts, waits
    for ten seeds, and once it holds the config the entropy stage says it held it before."""
    from benchmarks import report

    base = {"batch_norm": False, "lr": 0.001, "n_init": 1}
    restarts = {**base, "hidden_sizes": [256, 256], "n_init": 3, "init_selection": "entropy"}
    consensus = {**restarts, "init_selection": "consensus"}

    def row(point, seed, acc, ll):
        return {"model": "SDGM", "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(base, s, 0.95, -0.2) for s in range(10, 20)]
    rows += [row(restarts, s, 0.96 if s != 11 else 0.85, -0.3) for s in range(10, 20)]
    ranking = [{"point": restarts}, {"point": base}]
    d = {"rows": rows, "summary": [{"model": "SDGM", "noise": 0.2, "ranking": ranking}]}
    assert report._sdgm_consensus_stage(d) == ""
    d["rows"] += [row(consensus, 10, 0.97, -0.25), row(consensus, 11, 0.95, -0.35)]
    text = report._sdgm_consensus_stage(d)
    assert "(so far seeds 10, 11, what the session had time for)" in text
    assert text.endswith(
        "it scored higher validation accuracy on 2 of 2 seeds and higher log p(y\\|x) on 1 "
        "of 2 than the chosen setting then (256-256, three restarts, the entropy rule), and "
        "fell below 90% validation accuracy on 0 of 2 seeds against 1 of 2; the rule waits "
        "for the other seeds, so the config is unchanged.")
    assert text in report._sdgm_width_stage(d)
    d["rows"] += [row(consensus, s, 0.955, -0.3) for s in range(12, 20)]
    text = report._sdgm_consensus_stage(d)
    assert "so far" not in text
    assert text.endswith("by the search's rule the chosen setting kept `init_selection` "
                         "entropy, so the config is unchanged.")
    assert report._sdgm_restart_stage(d).endswith("that is the chosen setting now.")
    d["summary"][0]["ranking"] = [{"point": consensus}, *ranking]
    assert report._sdgm_consensus_stage(d).endswith(
        "by the search's rule that is the chosen setting now.")
    assert report._sdgm_restart_stage(d).endswith(
        "by the search's rule it took the config, until the next stage's setting (below) "
        "took it over.")


def test_sdgm_n_gibbs_stage_ranks_near_the_best_accuracy_by_log_lik():
    """The prediction-budget stage pairs each seed with the chosen setting's own fit (whose
    points ``--resume`` gave the default ``n_gibbs`` 10, dropped again for the report), names
    the setting that ranking by log p alone would have chosen, waits for ten seeds, and the
    consensus stage before it says when it handed the config on."""
    from benchmarks import report

    consensus = {"batch_norm": False, "hidden_sizes": [256, 256], "n_init": 3,
                 "init_selection": "consensus"}
    entropy = {**consensus, "init_selection": "entropy"}
    narrow = {"batch_norm": False, "n_init": 1}
    budget = {**consensus, "n_gibbs": 1000}

    def row(point, seed, acc, ll):
        return {"model": "SDGM", "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    def entry(point, acc, ll, runs=10):
        return {"point": point, "runs": runs, "diverged": 0, "val_accuracy_mean": acc,
                "val_log_lik_mean": ll}

    rows = [row(entropy, s, 0.955, -0.40) for s in range(10, 20)]
    rows += [row(narrow, s, 0.954, -0.20) for s in range(10, 20)]
    rows += [row({**consensus, "n_gibbs": 10}, s, 0.96, -0.35) for s in range(10, 20)]
    ranking = [entry({**consensus, "n_gibbs": 10}, 0.96, -0.35), entry(entropy, 0.955, -0.40),
               entry(narrow, 0.954, -0.20)]
    raw = {"rows": rows, "summary": [{"model": "SDGM", "noise": 0.2,
                                      "best": ranking[0]["point"], "ranking": ranking}]}
    d = report._without_default_n_gibbs(raw)
    assert all("n_gibbs" not in r["point"] for r in d["rows"])
    assert d["summary"][0]["best"] == consensus and "n_gibbs" in raw["rows"][-1]["point"]
    assert report._sdgm_n_gibbs_stage(d) == ""
    consensus_done = report._sdgm_consensus_stage(d)
    d["rows"] += [row(budget, 10, 0.961, -0.22), row(budget, 11, 0.959, -0.25)]
    d["summary"][0]["ranking"].append(entry(budget, 0.96, -0.235, runs=2))
    text = report._sdgm_n_gibbs_stage(d)
    assert "(so far seeds 10, 11, what the session had time for): it scored higher " \
        "validation accuracy on 1 of 2 seeds and higher log p(y\\|x) on 2 of 2 than the " \
        "chosen setting (10 samples); the rule waits for the other seeds, so the config " \
        "is unchanged." in text
    assert "within 0.1 points of the best mean validation accuracy" in text
    assert "`--rank-by log_lik_near_best`" in text and text in report._sdgm_width_stage(d)
    # the consensus stage's own pairs are unchanged by the budget's fits
    assert report._sdgm_consensus_stage(d) == consensus_done
    d["rows"] += [row(budget, s, 0.96, -0.22) for s in range(12, 20)]
    d["summary"][0]["ranking"] = [entry(budget, 0.9598, -0.22), *ranking]
    d["summary"][0]["ranking"][1]["point"] = consensus
    text = report._sdgm_n_gibbs_stage(d)
    assert "so far" not in text
    assert "ranking by log p(y\\|x) alone would have chosen an earlier setting of lower " \
        "accuracy, `{'batch_norm': False, 'n_init': 1}` (95.40%, log p(y\\|x) -0.200)" in text
    assert text.endswith("mean validation accuracy 95.98% against 96.00% and log p(y\\|x) "
                         "-0.220 against -0.350; by the search's rule that is the chosen "
                         "setting now.")
    assert report._sdgm_consensus_stage(d).endswith(
        "by the search's rule it took the config, until the next stage's setting (below), "
        "which carries it, took it over.")
    d["summary"][0]["ranking"][0]["val_accuracy_mean"] = 0.961
    assert report._sdgm_n_gibbs_stage(d).endswith(
        "-0.220 against -0.350 (the best mean accuracy too, so the accuracy rule would have "
        "chosen it); by the search's rule that is the chosen setting now.")
    d["summary"][0]["ranking"] = ranking[:1] + [entry(budget, 0.9598, -0.22)]
    d["summary"][0]["ranking"][0]["point"] = consensus
    assert report._sdgm_n_gibbs_stage(d).endswith(
        "by the search's rule the chosen setting stayed the one without it, so the config "
        "is unchanged.")


def test_moons_seed_checks_say_whether_they_used_the_current_settings(tmp_path):
    """A seed check (``--model-seed-offset``) made on a config that has changed since says
    so, as the headline rows do."""
    import copy

    from benchmarks import report
    from benchmarks._common import read_configs

    current = read_configs("moons")["SDGM"]
    older = copy.deepcopy(current)
    older["by_noise"]["0.2"]["n_init"] = 7
    files = []
    for name, cfg in (("now", current), ("before", older)):
        summary = {"labels": "fixed", "noise": 0.2, "model": "SDGM", "accuracy_mean": 96.0,
                   "accuracy_std": 0.3, "accuracy_min": 95.5, "accuracy_max": 96.5,
                   "log_lik_mean": -0.3}
        d = {"args": {"model_seed_offset": 10, "seeds": 5}, "summary": [summary],
             "config": {"SDGM": cfg}, "machine": {"date": "2026-12-06 16:00 UTC"}}
        (tmp_path / name).mkdir()
        (tmp_path / name / "moons.json").write_text(json.dumps(d))
        files.append(tmp_path / name / "moons.json")
    text = report._moons_headline(files)
    assert "(`now`, current settings)" in text and "(`before`, earlier settings)" in text


def test_moons_tables_flag_rows_whose_setting_a_test_look_prompted(tmp_path):
    """A fixed-label headline row whose run used a setting that a search stage tried after a
    look at the (fixed-label) test sets carries a note under its table; a run on another
    setting of the same model does not, nor does a random-label run (other data and test
    sets, never looked at)."""
    import copy

    from benchmarks import report
    from benchmarks._common import read_configs

    current = read_configs("moons")["SDGM"]
    older = copy.deepcopy(current)
    older["by_noise"]["0.2"]["init_selection"] = "entropy"

    def files_for(cfg):
        out = []
        for labels in ("fixed", "random"):
            summary = {"labels": labels, "noise": 0.2, "model": "SDGM", "accuracy_mean": 96.0,
                       "accuracy_std": 0.3, "accuracy_min": 95.5, "accuracy_max": 96.5,
                       "log_lik_mean": -0.3, "runs": 5, "thesis_accuracy": 95.1,
                       "thesis_log_lik": -0.371}
            d = {"args": {"seeds": 5}, "summary": [summary], "config": {"SDGM": cfg},
                 "machine": {"date": "2026-12-06 16:00 UTC"}}
            folder = tmp_path / f"{labels}_{cfg['by_noise']['0.2']['init_selection']}"
            folder.mkdir()
            (folder / "moons.json").write_text(json.dumps(d))
            out.append(folder / "moons.json")
        return out

    flagged = files_for(current)
    note = "Not a clean held-out estimate: SDGM at noise 0.2 (`{}`) used a setting"
    assert note.format("fixed_consensus") in report._moons_headline(flagged)
    assert "held-out" not in report._moons_random_headline(flagged)
    plain = files_for(older)
    assert "held-out" not in report._moons_headline(plain)
    assert "held-out" not in report._moons_random_headline(plain)


def test_chosen_words_follow_the_search_summary():
    from benchmarks import report

    summary = [{"model": "M2", "noise": 0.2,
                "ranking": [{"point": {"lr": 1e-3, "lr_decay": 0.99}}, {"point": {"lr": 1e-3}}]},
               {"model": "M2", "noise": 0.1, "ranking": [{"point": {"lr": 1e-3}}]}]
    decay = {"lr_decay": 0.99}
    assert report._chosen_words(summary, "M2", 0.2, decay).endswith("chosen setting now")
    assert report._chosen_words(summary, "M2", 0.1, decay).endswith("unchanged")
    assert report._chosen_words(summary, "SDGM", 0.2, decay).endswith("unchanged")
    # a replaced value is named as the one the chosen setting kept
    words = report._chosen_words(summary, "M2", 0.1, {"lr": 3e-3})
    assert "kept `lr` 0.001" in words and words.endswith("unchanged")
    assert "without it" in report._chosen_words(summary, "M2", 0.1, {"n_init": 5})


def test_bayes_gap_decomposition_against_direct_computations():
    """The parts of the expected KL add up to it, the KL is the label-averaged log p gap
    (checked by Monte Carlo over labels drawn from the truth), and a model equal to the
    truth has no gap."""
    from benchmarks.bayes_gap import BANDS, gap_decomposition

    rng = np.random.default_rng(0)
    n = 20_000
    p1_true = rng.beta(0.3, 0.3, n)
    truth = np.c_[1 - p1_true, p1_true]
    log_post = np.log(np.clip(truth, 1e-300, None))
    model = np.clip(truth + rng.normal(0, 0.05, (n, 1)) * [1, -1], 1e-6, 1)
    model /= model.sum(1, keepdims=True)
    y = (rng.random(n) < p1_true).astype(int)
    d = gap_decomposition(model, log_post, y)
    kl_rows = np.sum(truth * (log_post - np.log(model)), axis=1)
    assert d["expected_kl"] == pytest.approx(kl_rows.mean())
    assert d["kl_overconfident"] + d["kl_underconfident"] == pytest.approx(d["expected_kl"])
    assert sum(d[f"kl_{b}"] for b in BANDS) == pytest.approx(d["expected_kl"])
    assert sum(d[f"share_{b}"] for b in BANDS) == pytest.approx(1.0)
    # E_y[log p*(y|x) - log p(y|x)] = KL(p* || p): the drawn labels' gap is its estimate
    per_row = log_post[np.arange(n), y] - np.log(model[np.arange(n), y])
    assert d["gap"] == pytest.approx(per_row.mean())
    assert d["gap"] == pytest.approx(d["expected_kl"], abs=4 * per_row.std() / math.sqrt(n))
    same = gap_decomposition(truth, log_post, y)
    assert same["expected_kl"] == pytest.approx(0, abs=1e-12)
    assert same["gap"] == pytest.approx(0, abs=1e-12)
    assert same["share_wrong_side"] == 0
    for key in ("reliability", "log_odds"):  # every row falls in one bin
        assert sum(b[2] for b in d[key] if b is not None) == n
    # the log-odds bins' parts of the expected KL add up to it, and to its under-confident part
    assert sum(b[3] for b in d["log_odds"] if b) == pytest.approx(d["expected_kl"])
    assert sum(b[4] for b in d["log_odds"] if b) == pytest.approx(d["kl_underconfident"])
    # the truth against itself: each bin's model log-odds is the mean of its rows' true
    # log-odds clipped at +-LOGIT_CLIP (bins found row by row, the end bins open-ended)
    from benchmarks.bayes_gap import LOGIT_CLIP, LOGIT_EDGES

    true_logit = log_post[:, 1] - log_post[:, 0]
    members = [[] for _ in range(len(LOGIT_EDGES) - 1)]
    for i_row, t in enumerate(true_logit):
        inner = [i for i in range(1, len(LOGIT_EDGES) - 2)
                 if LOGIT_EDGES[i] <= t < LOGIT_EDGES[i + 1]]
        members[inner[0] if inner else (0 if t < 0 else len(members) - 1)].append(i_row)
    for idx, got, noisy in zip(members, same["log_odds"], d["log_odds"]):
        assert (got is None) == (not idx)
        rows = true_logit[idx]
        if idx:  # the noisy model's bin: its rows' KL, summed and divided by all rows
            assert noisy[3] == pytest.approx(kl_rows[idx].sum() / n)
            assert got[0] == pytest.approx(np.mean(rows))
            assert got[1] == pytest.approx(np.mean(np.clip(rows, -LOGIT_CLIP, LOGIT_CLIP)))
            assert got[2] == len(rows)
            assert got[3] == pytest.approx(0, abs=1e-12) and got[4] == pytest.approx(0, abs=1e-12)
            assert got[5] == pytest.approx(np.std(np.clip(rows, -LOGIT_CLIP, LOGIT_CLIP)))


def test_bayes_gap_tiny(tmp_path, monkeypatch):
    from benchmarks import bayes_gap, report

    bayes_gap.main(["--model", "SSLAPD", "--seeds", "10", "--variants", "{}",
                    '{"prior_std": 0.5}', "--n-gibbs", "3", "--n-samples", "150",
                    "--epochs-scale", "0.03", "--n-jobs", "1", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "bayes_gap.json").read_text())
    assert [r["variant"] for r in res["rows"]] == ["{}", '{"prior_std": 0.5}']
    assert all(set(r["by_n_gibbs"]) == {"3"} for r in res["rows"])
    assert all(r["expected_kl"] >= 0 for r in res["rows"])
    assert (tmp_path / "bayes_gap.png").is_file()
    text = report.bayes_gap(sorted(tmp_path.glob("bayes_gap.json")))
    assert "--epochs-scale 0.03" in text and "3 Gibbs steps" in text
    assert "the expected KL by the truth's |log-odds| (bins 2 wide): below 2 " in text
    # the report's |log-odds| groups take every bin once, by its edge nearer 0
    from benchmarks.bayes_gap import LOGIT_EDGES

    groups = report._log_odds_group_bins()
    assert sorted(sum(groups.values(), [])) == list(range(len(LOGIT_EDGES) - 1))
    assert [LOGIT_EDGES[b] for b in groups["below 2"]] == [-2, 0]
    # the command it prints parses back into the run's arguments
    cmd = text.split("Command `")[1].split("`")[0]
    assert shlex.split(cmd)[3:5] == ["--model", "SSLAPD"]
    # each variant against the config, seed by seed (one seed here)
    config_row, variant_row = res["rows"]
    d_lp = variant_row["log_likelihood"] - config_row["log_likelihood"]
    assert (f'`{{"prior_std": 0.5}}` against the config, seed by seed: log p(y|x) {d_lp:+.4f} '
            f"nats (higher on {int(d_lp > 0)} of 1 seeds)") in text
    # a model without a chain (M2 predicts with q(y|x)) records none and is shown without one
    bayes_gap.main(["--model", "M2", "--seeds", "10", "--n-gibbs", "3", "--n-samples", "150",
                    "--epochs-scale", "0.01", "--n-jobs", "1", "--out", str(tmp_path / "m2")])
    m2 = json.loads((tmp_path / "m2" / "bayes_gap.json").read_text())
    assert m2["rows"][0]["fitted_n_gibbs"] is None and m2["rows"][0]["by_n_gibbs"] == {}
    m2_text = report.bayes_gap([tmp_path / "m2" / "bayes_gap.json"])
    assert "Per fit:" in m2_text and "Gibbs steps" not in m2_text
    # a pilot's rule sentence is filled from its own run: M2's weight at that run's draw size
    (tmp_path / "bayes_gap_m2_alpha").mkdir()
    (tmp_path / "bayes_gap_m2_alpha" / "bayes_gap.json").write_text(json.dumps(m2))
    pilot_text = report.bayes_gap([tmp_path / "bayes_gap_m2_alpha" / "bayes_gap.json"])
    assert f"rule; {0.1 * 150 / 6:.0f} with six labels among 150 rows)" in pilot_text
    assert "$" not in pilot_text
    # SSLAPD's fits record their classifier's weight posterior per Bayesian layer (the
    # config's 128-128 p(y|x, z) on x and z, 2 + 5 inputs, and 2 classes); M2 has none
    assert [layer[:2] for layer in config_row["weight_log_var"]] == [[7, 128], [128, 128],
                                                                     [128, 2]]
    assert m2["rows"][0]["weight_log_var"] is None
    assert "the classifier's weight log-variances after training (start -5.5, the prior's " \
           "-3.22; means over 1 fits), per layer: 7x128: median" in text
    assert "weight log-variances" not in m2_text
    # the at-a-glance sentence names each run's config fit, and says when the config moved on
    results = tmp_path / "results"
    (results / "bayes_gap_x").mkdir(parents=True)
    (results / "bayes_gap_x" / "bayes_gap.json").write_text(json.dumps(res))
    monkeypatch.setattr(report, "RESULTS", results)
    line = report._bayes_gap_line()
    assert "SSLAPD at noise 0.2" in line and "since changed" not in line
    res["config"] = {**res["config"], "prior_std": 123.0}
    (results / "bayes_gap_x" / "bayes_gap.json").write_text(json.dumps(res))
    assert "since changed" in report._bayes_gap_line()
    # one sentence per model and noise, from the newest run that fits the config as it is
    newer = {**res, "machine": {**res["machine"], "date": "2999-01-01 00:00 UTC"},
             "summary": [{**s, "expected_kl": 0.5} for s in res["summary"]]}
    (results / "bayes_gap_y").mkdir()
    (results / "bayes_gap_y" / "bayes_gap.json").write_text(json.dumps(newer))
    pilot = {**newer, "machine": {**res["machine"], "date": "3000-01-01 00:00 UTC"},
             "args": {**res["args"], "variants": ['{"prior_std": 0.5}']},
             "summary": [s for s in newer["summary"] if s["variant"] != "{}"]}
    (results / "bayes_gap_z").mkdir()
    (results / "bayes_gap_z" / "bayes_gap.json").write_text(json.dumps(pilot))
    line = report._bayes_gap_line()
    assert line.count("SSLAPD at noise 0.2") == 1 and "0.500 nats per row" in line
    # a pilot on other settings whose variant, laid over them, gives the config as it is now
    # (the config took the pilot's setting): that variant's fit speaks for the config, even
    # over a newer config fit on settings since changed
    from benchmarks._common import load_config

    now = load_config("moons", "SSLAPD", 0.2)[1]
    took = {**pilot, "config": {**now, "prior_std": 123.0},
            "args": {**res["args"], "variants": ["{}", json.dumps({"prior_std":
                                                                    now["prior_std"]})]},
            "summary": [{**res["summary"][0], "expected_kl": 0.25},
                        {**res["summary"][0], "variant": json.dumps({"prior_std":
                                                                      now["prior_std"]}),
                         "expected_kl": 0.125, "kl_overconfident": 0.1}]}
    (results / "bayes_gap_z" / "bayes_gap.json").write_text(json.dumps(took))
    stale = {**newer, "machine": {**res["machine"], "date": "3001-01-01 00:00 UTC"},
             "config": {**now, "prior_std": 7.0}}
    (results / "bayes_gap_y" / "bayes_gap.json").write_text(json.dumps(stale))
    line = report._bayes_gap_line()
    assert line.count("SSLAPD at noise 0.2") == 1
    assert (f"SSLAPD at noise 0.2 0.125 nats per row (80% of it over-confident), from the "
            f"`{{\"prior_std\": {now['prior_std']}}}` variant of `bayes_gap_z`, the settings "
            f"its config file has since taken") in line
    # with no fit on today's settings, the newest config fit stands, marked as stale
    (results / "bayes_gap_x" / "bayes_gap.json").unlink()
    (results / "bayes_gap_z" / "bayes_gap.json").unlink()
    line = report._bayes_gap_line()
    assert "0.500 nats per row" in line and "since changed" in line


def test_restart_average_tiny(tmp_path, monkeypatch):
    from benchmarks import report, restart_average

    restart_average.main(["--model", "SSLAPD", "--seeds", "10", "--restarts", "2",
                          "--n-samples", "150", "--epochs-scale", "0.03", "--n-jobs", "1",
                          "--out", str(tmp_path)])
    res = json.loads((tmp_path / "restart_average.json").read_text())
    (row,) = res["rows"]
    assert [f["random_state"] for f in row["fits"]] == [10, 1010]
    # the entropy rule's pick is the fit with the lowest unlabeled entropy
    entropies = [f["unlabeled_entropy"] for f in row["fits"]]
    assert row["entropy_pick"] == int(np.argmin(entropies))
    # with two fits each agrees with the other alike, so consensus breaks the tie by entropy
    assert row["consensus_pick"] == row["entropy_pick"]
    # the oracle averages the fits at or above the collapse threshold: with every fit kept it
    # is the average of all, with none kept there is none
    tiny = dict(model="SSLAPD", noise=0.2, seed=10, restarts=2, n_samples=150,
                epochs_scale=0.03)
    monkeypatch.setattr(restart_average, "COLLAPSED", 0.0)
    every = restart_average.fit_seed(**tiny)
    assert every["average_uncollapsed"] == every["average"]
    monkeypatch.setattr(restart_average, "COLLAPSED", 1.01)
    assert restart_average.fit_seed(**tiny)["average_uncollapsed"] is None
    # the KL is convex: the average's expected KL is at most the mean of the fits'
    assert row["average"]["expected_kl"] <= np.mean(
        [f["expected_kl"] for f in row["fits"]]) + 1e-12
    text = report.restart_average([tmp_path / "restart_average.json"])
    assert "--restarts 2 --n-samples 150 --epochs-scale 0.03" in text
    assert "Collapsed fits (validation accuracy below 90%)" in text
    assert "| average of all | average of the uncollapsed fits (oracle) |" in text
    assert "| consensus pick |" in text and "The consensus rule kept another fit than the " \
        "entropy rule on 0 of 1 seeds" in text
    assert "--labels" not in text
    # six random labels per data seed: the fits train on them (three per moon), and the
    # command names them
    from skdgm.datasets import make_ssl_moons

    random_labels = restart_average.validation_setup("SSLAPD", 0.2, 10, {}, 150, 0.03,
                                                     "random")[3]
    assert np.array_equal(random_labels,
                          make_ssl_moons(150, 0.2, labels="random", random_state=10)[1])
    assert not np.array_equal(random_labels, make_ssl_moons(150, 0.2, random_state=10)[1])
    restart_average.main(["--model", "SSLAPD", "--seeds", "10", "--restarts", "2",
                          "--labels", "random", "--n-samples", "150", "--epochs-scale",
                          "0.03", "--n-jobs", "1", "--out", str(tmp_path / "random")])
    text = report.restart_average([tmp_path / "random" / "restart_average.json"])
    assert "--restarts 2 --labels random --n-samples 150" in text
    # (the threshold is still monkeypatched to 101% here)
    assert "% validation accuracy (with random labels the usual score" in text
    assert "Collapsed fits" not in text
    assert "| average of all | average of the fits at or above 101% (oracle) |" in text
    assert "Within a seed the restarts' validation accuracies differed by " in text


def test_restart_spread_against_hand_counts():
    """The spread of restarts within a seed, the seeds where all collapsed, and how often
    each rule kept a fit within a point of its seed's best."""
    from benchmarks import report

    def fits(*accs):
        return [{"accuracy": a} for a in accs]

    rows = [{"fits": fits(0.95, 0.80, 0.945), "entropy_pick": 2, "consensus_pick": 1},
            {"fits": fits(0.40, 0.42, 0.36), "entropy_pick": 0, "consensus_pick": 2},
            {"fits": fits(0.97, 0.96, 0.90), "entropy_pick": 1, "consensus_pick": 0}]
    # spans 15, 6, 7 points: median 7; seed 2 all below 90%; entropy picks 0.5, 2, 1 points
    # below the best (2 of 3 within one point), consensus picks 15, 6, 0 (1 of 3)
    assert report._restart_spread(rows, 0.9, consensus=True) == (
        "Within a seed the restarts' validation accuracies differed by 6.00-15.00 points "
        "(median 7.00); on 1 of 3 seeds every restart scored below 90%. The entropy rule "
        "kept a fit within one point of its seed's most accurate restart on 2 of 3 seeds, "
        "the consensus rule on 1.")
    assert report._restart_spread(rows, 0.9, consensus=False).endswith("on 2 of 3 seeds.")


def test_consensus_against_entropy_and_the_pilot_rule():
    """The consensus picks against the entropy picks, seed by seed, and a pilot's verdict
    by its thresholds (0.005 nats gained, at most 0.3 points lost)."""
    from benchmarks import report

    def fit(acc, lp, kl):
        return {"accuracy": acc, "log_likelihood": lp, "expected_kl": kl}

    rows = [{"fits": [fit(0.95, -0.27, 0.20), fit(0.951, -0.26, 0.18)], "entropy_pick": 0,
             "consensus_pick": 1},
            {"fits": [fit(0.95, -0.25, 0.15), fit(0.94, -0.30, 0.22)], "entropy_pick": 0,
             "consensus_pick": 0}]
    # gain (0.01 + 0) / 2 = 0.005 nats, accuracy +0.05 points: met
    text = report._consensus_against_entropy(rows, "restart_average_m2")
    assert text.startswith("The consensus rule kept another fit than the entropy rule on 1 "
                           "of 2 seeds; its picks' mean expected KL 0.1650 against 0.1750, "
                           "log p(y|x) +0.0050 nats and accuracy +0.05 points")
    assert text.endswith("The pilot's rule is met, so the stage follows.")
    rows[0]["fits"][1]["log_likelihood"] = -0.262              # gain 0.004: not met
    assert report._consensus_against_entropy(rows, "restart_average_m2").endswith(
        "The pilot's rule is not met, so no stage follows.")
    rows[0]["fits"][1].update(log_likelihood=-0.2, accuracy=0.942)   # 0.4 points lost
    assert "not met" in report._consensus_against_entropy(rows, "restart_average_m2")
    assert "pilot" not in report._consensus_against_entropy(rows, "restart_average_other")


def test_bayes_gap_pilot_verdict_takes_the_best_variant_within_the_accuracy_bound():
    """A bayes_gap pilot's verdict: of the variants losing at most 0.3 points of accuracy
    against the first, the highest mean log p(y|x) goes on if it gained 0.005 nats."""
    from benchmarks import report

    def row(variant, seed, acc, lp):
        return {"variant": variant, "seed": seed, "accuracy": acc, "log_likelihood": lp,
                "expected_kl": -lp}

    ref, a, b = '{"n_init": 1}', '{"n_init": 1, "alpha": 50}', '{"n_init": 1, "alpha": 5}'
    rows = [row(ref, 10, 0.950, -0.270), row(ref, 11, 0.950, -0.260),
            row(a, 10, 0.949, -0.266), row(a, 11, 0.949, -0.256),     # +0.004, -0.1 points
            row(b, 10, 0.940, -0.200), row(b, 11, 0.946, -0.200)]     # +0.065, -0.7 points
    text = report._bayes_gap_pilot_verdict(rows, [ref, a, b])
    # b gains most but loses 0.7 points, so a is the one judged, and it gains too little
    assert text == ('Of the variants within the pilot\'s accuracy bound (1 of 2), '
                    '`{"n_init": 1, "alpha": 50}` had the highest log p(y|x), +0.0040 nats '
                    'against `{"n_init": 1}`: the pilot\'s rule is not met, so no stage '
                    'follows.')
    rows[2]["log_likelihood"] = -0.262                                # now +0.006
    assert report._bayes_gap_pilot_verdict(rows, [ref, a, b]).endswith(
        "+0.0060 nats against `{\"n_init\": 1}`: the pilot's rule is met, so the stage follows.")
    rows[4]["accuracy"] = rows[5]["accuracy"] = 0.948                 # b within the bound now
    assert "`{\"n_init\": 1, \"alpha\": 5}` had the highest" in \
        report._bayes_gap_pilot_verdict(rows, [ref, a, b])
    for r in rows[2:]:
        r["accuracy"] = 0.90
    assert "No variant stayed within" in report._bayes_gap_pilot_verdict(rows, [ref, a, b])
    # the run's rule sentence is printed only for the pilot's run
    assert "bayes_gap_m2_alpha" in report._BAYES_GAP_PILOTS


def test_moons_auto_alpha_follows_the_estimator_rule():
    """The report's M2 weight on moons is 0.1 N / N_l for six labels, computed by the
    estimator's own rule, at any draw size (not a number typed into the text)."""
    from benchmarks import report

    for n in (1_200, 10_000, 30_000):
        assert report._moons_auto_alpha(n) == f"{0.1 * n / 6:.0f}"


def test_m2_alpha_stage_sentence(tmp_path, monkeypatch):
    """The M2 alpha stage's sentence: absent until the search has such fits; then the pilot's
    numbers from its own file, the seed-by-seed record and the search's verdict."""
    from benchmarks import report

    chosen = {"batch_norm": True, "lr": 0.001, "n_init": 5}
    staged = {**chosen, "alpha": 15}
    rows = [{"model": "M2", "noise": 0.2, "point": chosen, "seed": s, "accuracy": 0.95,
             "log_likelihood": -0.27} for s in (10, 11)]
    d = {"rows": rows, "args": {"n_samples": 1_200},
         "summary": [{"model": "M2", "noise": 0.2, "ranking": [{"point": chosen}]}]}
    assert report._m2_alpha_stage(d) == ""
    d["rows"] += [{"model": "M2", "noise": 0.2, "point": staged, "seed": 10, "accuracy": 0.96,
                   "log_likelihood": -0.26},
                  {"model": "M2", "noise": 0.2, "point": staged, "seed": 11, "accuracy": 0.94,
                   "log_likelihood": -0.25}]
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = report._m2_alpha_stage(d)
    assert text.startswith("  Then (2026-12-07, the AMD EPYC) M2's chosen setting with a smaller")
    assert "(`alpha` 15 against the reference rule's" in text
    assert f"0.1 N / N_l, {0.1 * 1_200 / 6:.0f} here)" in text      # the search's draw size
    assert "bayes_gap_m2_alpha_restarts" not in text
    assert ("higher validation accuracy on 1 of 2 seeds and higher log p(y\\|x) on 2 of 2 than "
            "the same setting without it; by the search's rule the chosen setting stayed the "
            "one without it, so the config is unchanged.") in text
    ref, var = "{}", '{"alpha": 15}'
    pilot_rows = [{"variant": v, "seed": s, "accuracy": acc, "log_likelihood": lp,
                   "expected_kl": 0.2} for v, acc, lp in ((ref, 0.95, -0.27), (var, 0.95, -0.26))
                  for s in (10, 11, 12, 13)]
    (tmp_path / "bayes_gap_m2_alpha_restarts").mkdir()
    (tmp_path / "bayes_gap_m2_alpha_restarts" / "bayes_gap.json").write_text(json.dumps({
        "args": {"variants": [ref, var], "seeds": [10, 11, 12, 13]}, "rows": pilot_rows,
        "summary": [{"variant": ref, "accuracy": 0.95, "log_likelihood": -0.27},
                    {"variant": var, "accuracy": 0.95, "log_likelihood": -0.26}]}))
    d["summary"][0]["ranking"][0]["point"] = staged
    text = report._m2_alpha_stage(d)
    assert ("five restarts on seeds 10-13: mean validation log p(y\\|x) -0.2600 with "
            "`alpha` 15 against -0.2700 with the reference weight, higher on 4 of 4 seeds, "
            "accuracy 95.00% against 95.00%)") in text
    assert text.endswith("by the search's rule that is the chosen setting now.")


def test_weight_variances_against_direct_computation():
    import torch

    from benchmarks.bayes_gap import weight_variances
    from skdgm.nn.layers import BayesianLinear

    layer = BayesianLinear(5, 2, init_log_var=-4.0)
    with torch.no_grad():
        layer.weight_log_var.copy_(torch.arange(10, dtype=torch.float32).reshape(2, 5) - 8)
        layer.weight_mu.fill_(0.5)  # std exp(log_var / 2) > 0.5 where log_var > 2 log 0.5
    (row,) = weight_variances(torch.nn.Sequential(layer, torch.nn.ReLU()))
    log_var = np.arange(10.0) - 8
    assert row[:2] == [5, 2]
    np.testing.assert_allclose(row[2:5], np.quantile(log_var, [0.1, 0.5, 0.9]))
    assert row[5] == pytest.approx(np.mean(log_var > 2 * np.log(0.5)))
    assert weight_variances(torch.nn.Linear(3, 2)) is None


def test_sslpe_long_fit_rules_are_computed_from_the_results(tmp_path, monkeypatch):
    """The rule sentences on SSLPE's 64-epoch validation fits (rules 9/10), the reference
    settings at 96 epochs (rule 12) and on split 1 (rule 13) take their figures and verdicts
    from the results files: a run that leads is called a candidate (rule 13: the config
    changes), one that does not leaves the config."""
    from benchmarks import report

    def run(name: str, accs: list[float], logps: list[float], acc: float, logp: float):
        curve = [{"epoch": 4 * (i + 1), "accuracy": a, "log_likelihood": lp}
                 for i, (a, lp) in enumerate(zip(accs, logps))]
        (tmp_path / name).mkdir()
        (tmp_path / name / "mnist.json").write_text(json.dumps({"rows": [{
            "epochs": curve[-1]["epoch"], "accuracy": acc, "log_likelihood": logp,
            "curve": curve}]}))

    flat = [0.80, 0.90, 0.91, 0.90] + [0.905] * 12          # 16 points, epochs 4..64
    run("mnist_val20_sslpe_config_64", flat, [-0.6, -0.5, -0.55] + [-0.56] * 13, 0.906, -0.56)
    run("mnist_val20_sslpe_nodecay_64", flat, [-0.6, -0.52, -0.6] + [-0.62] * 13, 0.903, -0.62)
    run("mnist_val20_sslpe_wd1e4_64", flat, [-0.6, -0.48, -0.5] + [-0.51] * 13, 0.900, -0.51)
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = report._sslpe_decay_and_l2_64()
    assert "The config led (90.60 / -0.560 against 90.30 / -0.620), so no change." in text
    assert "peaked in accuracy by epoch 12 (91.00% and 91.00%)" in text
    assert "from -0.500 at epoch 8 to -0.560 with the decay" in text
    assert "90.00 / -0.510 against 90.60 / -0.560, no lead and no change." in text
    assert "From epoch 8 on its log p(y|x) stayed between -0.480 and -0.510" in text
    assert report._sslpe_reference_long() == ""                # not run yet: no sentence
    rising = [0.80 + 0.008 * i for i in range(24)]             # 24 points, epochs 4..96
    run("mnist_val20_sslpe_reference_96", rising, [-0.8 + 0.02 * i for i in range(24)],
        0.99, -0.33)
    text = report._sslpe_reference_long()
    assert "At epoch 64: 92.00 / -0.500 against 90.50 / -0.560, ahead in both" in text
    assert "scored 99.00 / -0.330" in text and "its highest accuracy 98.40% at epoch 96" in text
    assert "equal those of the shorter" not in text           # no shorter run yet
    run("mnist_val20_sslpe_reference_48", rising[:12], [-0.8 + 0.02 * i for i in range(11)]
        + [0.0], 0.9, -0.3)                                    # its last point differs
    assert "up to epoch 48 equal those of the shorter run `mnist_val20_sslpe_reference_48` " \
        "(the same seeds) in 11 of 12." in report._sslpe_reference_long()
    assert report._sslpe_reference_split1() == ""              # rule 13 not run yet
    run("mnist_val20_sslpe_config_64_split1", flat, [-0.5] * 16, 0.905, -0.50)
    run("mnist_val20_sslpe_reference_64_split1", flat, [-0.5] * 16, 0.910, -0.51)
    assert "91.00 / -0.510 against the config's 90.50 / -0.500" in \
        report._sslpe_reference_split1()
    assert "no lead in both, so the config stays." in report._sslpe_reference_split1()
    run("mnist_val20_sslpe_reference_64_split1_", flat, [-0.5] * 16, 0.910, -0.49)
    (tmp_path / "mnist_val20_sslpe_reference_64_split1_" / "mnist.json").replace(
        tmp_path / "mnist_val20_sslpe_reference_64_split1" / "mnist.json")  # now ahead in both
    assert "91.00 / -0.490 against the config's 90.50 / -0.500" in \
        report._sslpe_reference_split1()
    assert "a lead on both splits, so the SSLPE config at 20 labels per class returns to " \
        "the reference settings" in report._sslpe_reference_split1()


def test_sslpe_reference_test_runs_sentence_is_computed_from_the_results(tmp_path, monkeypatch):
    """The sentence on SSLPE's test fits on the reference settings compares split 0's curve
    point at the split-1 run's length, and split 1's row, with the previous settings' rows of
    the same splits, and calls the lead by both measures; nothing until all three runs exist."""
    from benchmarks import report

    def run(name: str, rows: list[dict]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mnist.json").write_text(json.dumps({"rows": rows}))

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    run("mnist_epyc_sslpe20_lrdecay_48", [
        {"split": 1, "epochs": 48, "accuracy": 0.90, "log_likelihood": -0.6},
        {"split": 0, "epochs": 48, "accuracy": 0.88, "log_likelihood": -0.7}])
    curve = [{"epoch": 4 * (i + 1), "accuracy": 0.80 + 0.005 * i,
              "log_likelihood": -0.9 + 0.01 * i} for i in range(24)]   # epochs 4..96
    run("mnist_epyc_sslpe20_reference_96", [
        {"split": 0, "epochs": 96, "accuracy": 0.915, "log_likelihood": -0.65, "curve": curve}])
    assert report._sslpe_reference_test() == ""                # split 1 not run yet
    run("mnist_epyc_sslpe20_reference_48_split1", [
        {"split": 1, "epochs": 48, "accuracy": 0.91, "log_likelihood": -0.55, "curve": []}])
    text = report._sslpe_reference_test()
    # epoch 48 is the 12th point: 0.855 / -0.79, behind split 0's old row in accuracy
    assert "split 0 85.50 / -0.790 (the curve point" in text
    assert "against 88.00 / -0.700, split 1 91.00 / -0.550" in text
    assert "against 90.00 / -0.600: ahead in both measures on split 1 only." in text
    assert "Split 0 after 96 epochs: 91.50 / -0.650 (its learning curve above)." in text
    assert "reference code's" not in text.split("(its learning curve above).")[1]
    longer = [dict(c) for c in curve] + [{"epoch": 100, "accuracy": 0.93,
                                          "log_likelihood": -0.6}]
    longer[0]["accuracy"] = 0.79                              # one point off the 96-epoch run
    run("mnist_epyc_sslpe20_reference_150", [
        {"split": 0, "epochs": 150, "accuracy": 0.925, "log_likelihood": -0.60,
         "curve": longer}])
    text = report._sslpe_reference_test()
    assert "to the reference code's 150 epochs (`mnist_epyc_sslpe20_reference_150`" in text
    # thesis Table 5.3 SSLPE 20/class 92.0, Table 5.4 524 read as -0.524 nats
    assert "92.50 / -0.600, higher than at 96 epochs, against the thesis's 92.0 / -0.524 " \
        "(+0.50 points, -0.076 nats)." in text
    assert "up to epoch 96 equal those of the shorter run " \
        "`mnist_epyc_sslpe20_reference_96` (the same seeds) in 23 of 24." in text
    assert "Split 1 run the same way" not in text               # split 1 at 150 not run yet
    split1 = [{"epoch": 4 * (i + 1), "accuracy": 0.85, "log_likelihood": -0.7}
              for i in range(12)]                                   # epochs 4..48
    run("mnist_epyc_sslpe20_reference_48_split1_", [
        {"split": 1, "epochs": 48, "accuracy": 0.91, "log_likelihood": -0.55,
         "curve": split1}])
    (tmp_path / "mnist_epyc_sslpe20_reference_48_split1_" / "mnist.json").replace(
        tmp_path / "mnist_epyc_sslpe20_reference_48_split1" / "mnist.json")
    run("mnist_epyc_sslpe20_reference_150_split1", [
        {"split": 1, "epochs": 150, "accuracy": 0.905, "log_likelihood": -0.50,
         "curve": split1 + [{"epoch": 52, "accuracy": 0.9, "log_likelihood": -0.6}]}])
    text = report._sslpe_reference_test()
    # split 1: 90.50 / -0.500 against 91.00 / -0.550 at 48: log p up, accuracy down; the
    # mean of 92.50 and 90.50 is 91.50, of -0.60 and -0.50 is -0.550
    assert "Split 1 run the same way to 150 epochs " \
        "(`mnist_epyc_sslpe20_reference_150_split1`): 90.50 / -0.500, only its log p(y|x) " \
        "higher than at 48 epochs.  Its curve points up to epoch 48 equal those of the " \
        "shorter run `mnist_epyc_sslpe20_reference_48_split1` (the same seeds) in 12 of 12." \
        in text
    # std over the draws as in the run tables (numpy's, ddof 0): |92.5 - 91.5| = 1.00
    assert text.endswith("  The two label draws at 150 epochs (splits 0, 1) average "
                         "91.50 (1.00) / -0.550 against the thesis's 92.0 (0.47) / -0.524 "
                         "over five draws (-0.50 points, -0.026 nats).\n")
    # each further draw adds its sentence and moves the mean: three draws 92.5, 90.5, 88.0 ->
    # mean 90.33, std sqrt(10.1667 / 3) = 1.84, log p (-0.6 - 0.5 - 0.7) / 3 = -0.600; four
    # (with 91.0) -> 90.50, std sqrt((4 + 0 + 6.25 + 0.25) / 4) = 1.62, log p -0.600; five
    # (with 93.0) -> 91.00, std sqrt((2.25 + 0.25 + 9 + 0 + 4) / 5) = 1.76, log p -2.8 / 5
    # = -0.560, -0.036 nats from the thesis's -0.524
    split2 = ("  Split 2 run the same way to 150 epochs "
              "(`mnist_epyc_sslpe20_reference_150_split2`): 88.00 / -0.700.")
    split3 = ("  Split 3 run the same way to 150 epochs "
              "(`mnist_epyc_sslpe20_reference_150_split3`): 91.00 / -0.600.")
    split4 = ("  Split 4 run the same way to 150 epochs "
              "(`mnist_epyc_sslpe20_reference_150_split4`): 93.00 / -0.400.")
    for k, acc, ll, sentences, mean in [
            (2, 0.88, -0.70, split2, "three label draws at 150 epochs (splits 0, 1, 2) "
                                     "average 90.33 (1.84) / -0.600 against the thesis's 92.0 "
                                     "(0.47) / -0.524 over five draws (-1.67 points, -0.076"),
            (3, 0.91, -0.60, split2 + split3, "four label draws at 150 epochs (splits 0, 1, 2, "
                                              "3) average 90.50 (1.62) / -0.600 against the "
                                              "thesis's 92.0 (0.47) / -0.524 over five draws "
                                              "(-1.50 points, -0.076"),
            (4, 0.93, -0.40, split2 + split3 + split4,
             "five label draws at 150 epochs (splits 0, 1, 2, 3, 4) average 91.00 (1.76) / "
             "-0.560 against the thesis's 92.0 (0.47) / -0.524 over five draws (-1.00 points, "
             "-0.036")]:
        run(f"mnist_epyc_sslpe20_reference_150_split{k}", [
            {"split": k, "epochs": 150, "accuracy": acc, "log_likelihood": ll, "curve": []}])
        assert report._sslpe_reference_test().endswith(
            f"{sentences}  The {mean} nats).\n")


def test_sslapd_100_epoch_draws_paragraph_is_computed_from_the_results(tmp_path, monkeypatch):
    """The paragraph on SSLAPD's 100-epoch fits over label draws: nothing until split 0 and a
    second draw exist; each draw's score with its CPU; split 1 against its 64-epoch fit, its
    curve compared point by point only where both ran on the same CPU; the mean beside the
    thesis's Table 5.3/5.4 entry."""
    from benchmarks import report

    def run(name: str, cpu: str, row: dict, date: str = "2026-12-01 10:00 UTC"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mnist.json").write_text(
            json.dumps({"machine": {"cpu": cpu, "date": date}, "rows": [row]}))

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    curve64 = [{"epoch": 4 * (i + 1), "accuracy": 0.85 + 0.001 * i, "log_likelihood": -0.5}
               for i in range(16)]                                      # epochs 4..64
    run("mnist_epyc_sslapd20_64_split1", "AMD EPYC",
        {"split": 1, "epochs": 64, "accuracy": 0.91, "log_likelihood": -0.33,
         "curve": curve64})
    assert report._sslapd_100_draws() == ""                              # no 100-epoch fit
    run("mnist_epyc_sslapd20_100", "AMD EPYC",
        {"split": 0, "epochs": 100, "accuracy": 0.93, "log_likelihood": -0.30, "curve": []})
    assert report._sslapd_100_draws() == ""                              # one draw only
    run("mnist_xeon_sslapd20_100_split1", "Intel Xeon",
        {"split": 1, "epochs": 100, "accuracy": 0.92, "log_likelihood": -0.35,
         "curve": curve64})
    text = report._sslapd_100_draws()
    assert text.startswith("**SSLAPD at 20 labels per class for 100 epochs**")
    assert "  Split 0 (`mnist_epyc_sslapd20_100`, AMD EPYC): 93.00 / -0.300.  Split 1 " \
        "(`mnist_xeon_sslapd20_100_split1`, Intel Xeon): 92.00 / -0.350, only its accuracy " \
        "higher than at 64 epochs (`mnist_epyc_sslapd20_64_split1`, AMD EPYC).  The two " \
        "fits ran on different CPUs" in text
    assert "equal those of" not in text
    # mean (93 + 92) / 2 = 92.50, std 0.50 (numpy's); log p -0.325; thesis SSLAPD at 20
    # labels per class 92.3 (0.73), Table 5.4 305 read as -0.305 nats
    assert text.endswith("  The two label draws at 100 epochs (splits 0, 1) average 92.50 "
                         "(0.50) / -0.325 against the thesis's 92.3 (0.73) / -0.305 over five "
                         "draws (+0.20 points, -0.020 nats).\n")
    # split 1 again, newer, on the CPU of the 64-epoch fit: it replaces the Xeon fit (one fit
    # per draw) and its curve is compared, 15 of 16 points equal
    changed = [dict(c) for c in curve64]
    changed[3]["log_likelihood"] = -0.49
    run("mnist_epyc_sslapd20_100_split1", "AMD EPYC",
        {"split": 1, "epochs": 100, "accuracy": 0.90, "log_likelihood": -0.32,
         "curve": changed}, date="2026-12-02 10:00 UTC")
    text = report._sslapd_100_draws()
    assert "92.00" not in text and text.count("  Split 1 (") == 1
    assert "90.00 / -0.320, only its log p(y|x) higher than at 64 epochs " \
        "(`mnist_epyc_sslapd20_64_split1`, AMD EPYC).  Its curve points up to epoch 64 " \
        "equal those of the shorter run `mnist_epyc_sslapd20_64_split1` (the same seeds) in " \
        "15 of 16." in text
    # a third draw with no shorter fit: its score alone, then the mean over three
    run("mnist_xeon_sslapd20_100_split2", "Intel Xeon",
        {"split": 2, "epochs": 100, "accuracy": 0.89, "log_likelihood": -0.40, "curve": []})
    text = report._sslapd_100_draws()
    # mean (93 + 90 + 89) / 3 = 90.67, std sqrt((5.44 + 0.44 + 2.78) / 3) = 1.70, log p
    # -1.02 / 3 = -0.340
    assert "  Split 2 (`mnist_xeon_sslapd20_100_split2`, Intel Xeon): 89.00 / -0.400.  " \
        "The three label draws at 100 epochs (splits 0, 1, 2) average 90.67 (1.70) / " \
        "-0.340 against the thesis's 92.3 (0.73) / -0.305 over five draws (-1.63 points, " \
        "-0.035 nats).\n" in text


def test_against_names_the_direction_of_both_measures():
    """The phrase comparing a longer fit with a shorter one: higher or lower in both
    measures, which one measure rose, or neither (ties count as not higher)."""
    from benchmarks.report import _against

    earlier = {"epochs": 48, "accuracy": 0.90, "log_likelihood": -0.5}
    assert _against({"accuracy": 0.91, "log_likelihood": -0.4}, earlier) == \
        "higher than at 48 epochs"
    assert _against({"accuracy": 0.89, "log_likelihood": -0.6}, earlier) == \
        "lower than at 48 epochs"
    assert _against({"accuracy": 0.91, "log_likelihood": -0.6}, earlier) == \
        "only its accuracy higher than at 48 epochs"
    assert _against({"accuracy": 0.89, "log_likelihood": -0.4}, earlier) == \
        "only its log p(y|x) higher than at 48 epochs"
    assert _against({"accuracy": 0.90, "log_likelihood": -0.5}, earlier) == \
        "higher in neither measure than at 48 epochs"                  # a tie in both
    assert _against({"accuracy": 0.90, "log_likelihood": -0.4}, earlier) == \
        "only its log p(y|x) higher than at 48 epochs"


def test_thesis_log_likelihood_reads_table_5_4_as_nats():
    """Table 5.4 printed 524 for SSLPE at 20 labels per class: read as -0.524 nats per row;
    a cell the table lacks (10 labels per class) has no reading."""
    from benchmarks.mnist import THESIS_TABLE_5_4, thesis_log_likelihood

    assert thesis_log_likelihood(20, "SSLPE") == pytest.approx(-0.524)
    assert thesis_log_likelihood(300, "M2") == pytest.approx(-0.112)
    assert thesis_log_likelihood(10, "SSLPE") is None
    assert thesis_log_likelihood(20, "SDGM") is None
    assert all(thesis_log_likelihood(k, m) < 0 for k in THESIS_TABLE_5_4
               for m in THESIS_TABLE_5_4[k])


def test_speed_change_tried_and_dropped_pairs_interleaved_runs(tmp_path, monkeypatch):
    """The table of the change tried and dropped pairs ``<before>_runK`` with ``<after>_runK``
    and computes each ratio from the two files; the 'before' runs (the code as it is) count
    among the current code's runs, the dropped variant's do not, and neither gets a full
    section."""
    from benchmarks import report

    src = report.RESULTS / "speed_cpu_run4" / "speed.json"
    monkeypatch.setattr(report, "RESULTS", tmp_path)

    def put(name, date, sslapd_s, sslpe_s):
        d = json.loads(src.read_text())
        d["meta"]["date"] = date
        d["prediction"]["SSLAPD"]["predict_proba"]["seconds"] = sslapd_s
        d["prediction"]["SSLPE"]["predict_proba"]["seconds"] = sslpe_s
        (tmp_path / name).mkdir()
        (tmp_path / name / "speed.json").write_text(json.dumps(d))

    put("speed_cpu_xeon", "2026-11-26 16:13 UTC", 1.0, 0.7)
    before, after = report.SPEED_CHANGE["before"], report.SPEED_CHANGE["after"]
    put(before, "2026-12-06 10:00 UTC", 1.0, 0.50)
    put(before + "_run2", "2026-12-06 10:04 UTC", 1.2, 0.80)
    assert report._speed_change_table() == ""
    put(after, "2026-12-06 10:02 UTC", 0.8, 0.40)
    put(after + "_run2", "2026-12-06 10:06 UTC", 0.9, 0.90)
    assert [p.parent.name for p in report._current_cpu_speed_runs()] == \
        ["speed_cpu_xeon", before, before + "_run2"]
    table = report._speed_change_table()
    assert "| run1 | 1.00 (" in table and "| 0.80 | 0.50 (" in table and "| 2.00 | 2.00 |" in table
    assert "| run2 | 1.20 (" in table and "| 0.75 | 0.80 (" in table and "| 1.50 | 1.00 |" in table
    assert "Medians over the 2 pairs: with ÷ without, SSLAPD 0.78 and SSLPE 0.96; " \
        "SSLAPD ÷ SSLPE 1.75 without and 1.50 with." in table
    text = report.speed()
    assert text.endswith(table) and text.count("Matmul reference:") == 1
    assert f"`{before}_run2`" in text and f"`{after}`" not in text.replace(table, "")
    assert "3 runs of `python -m benchmarks.speed --quick --threads 2` on the current code, " \
        "on the Intel Xeon development machine;" in "\n".join(report._glance_speed())
    # speed_cpu_run4's copies miss the share targets, so no run met every target at once;
    # lift one run's every share above the target and it is named
    assert "Runs that met every target at once: 0 of 3." in report._glance_speed()
    d = json.loads((tmp_path / before / "speed.json").read_text())
    for k in ("SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn", "SSLAPD_bn"):
        d["summary"][k]["fraction_of_matmul"] = 0.61
    for m in ("SSLPE", "SSLAPD"):
        d["prediction"][m]["predict_proba"]["fraction_of_matmul"] = 0.61
    report._bald_pool(d)["fraction_of_matmul"] = 0.61
    (tmp_path / before / "speed.json").write_text(json.dumps(d))
    assert f"Runs that met every target at once: 1 of 3 (`{before}`)." in \
        report._glance_speed()


def test_sslpe_consensus_stage_sentence():
    """The SSLPE consensus stage's sentence: absent before any fit, names the seeds while
    they are short of ten, then gives the paired record and the search's verdict."""
    from benchmarks import report

    base = {"batch_norm": False, "lr": 0.002, "max_epochs": 50, "n_init": 3, "weight_decay": 0}
    cons = {**base, "init_selection": "consensus"}

    def row(point, seed, acc, ll):
        return {"model": "SSLPE", "noise": 0.2, "point": point, "seed": seed,
                "accuracy": acc, "log_likelihood": ll}

    rows = [row(base, s, 0.95, -0.2) for s in range(10, 20)]
    summary = [{"model": "SSLPE", "noise": 0.2, "ranking": [{"point": base}]}]
    assert report._sslpe_consensus_stage({"rows": rows, "summary": summary}) == ""
    rows += [row(cons, 10, 0.96, -0.1), row(cons, 11, 0.94, -0.1)]
    text = report._sslpe_consensus_stage({"rows": rows, "summary": summary})
    assert "(so far seeds 10, 11, what the session had time for)" in text
    assert "higher validation accuracy on 1 of 2 seeds and higher log p(y\\|x) on 2 of 2" in text
    assert "the rule waits for the other seeds" in text
    rows += [row(cons, s, 0.96, -0.3) for s in range(12, 20)]
    summary = [{"model": "SSLPE", "noise": 0.2, "ranking": [
        {"point": cons, "val_accuracy_mean": 0.9598, "val_accuracy_min": 0.94},
        {"point": base, "val_accuracy_mean": 0.95, "val_accuracy_min": 0.95}]}]
    text = report._sslpe_consensus_stage({"rows": rows, "summary": summary})
    assert "so far" not in text and "on 9 of 10 seeds" in text
    assert ", mean validation accuracy 95.98% against 95.00% (worst seed 94.00% against " \
        "95.00%); " in text
    assert "by the search's rule that is the chosen setting now" in text
