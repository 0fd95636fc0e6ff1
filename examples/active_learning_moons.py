"""
Active learning on the two moons
================================

The protocol of Gordon (2017), section 5.4.2: two moons with noise 0.1, four randomly chosen
initial labels (a fixed seed, the same for every model and acquisition function), then one
query at a time up to 30 labels, retraining from scratch after each query.  SSLPE is run with
predictive entropy and random selection, SSLAPD with predictive entropy, BALD and random
selection; each combination is repeated with several model seeds.  The unlabeled pool stays in
every fit (:class:`skdgm.active.SemiSupervisedActiveLearner`).

Writes to ``--out``:

* ``results.json`` / ``results.csv``: test accuracy against the number of labels, per run;
* ``fig_accuracy.png``: mean accuracy against labels (thesis Fig. 5.11);
* ``fig_acquisition.png``: the acquisition functions over the input plane for SSLAPD trained
  on the six fixed labels (Fig. 5.8);
* ``fig_queries.png``: the sequence of queried points of one SSLAPD + entropy run (Fig. 5.12).

Run ``python examples/active_learning_moons.py --quick`` for a small check (about a minute on
two CPU cores).  The full protocol (the defaults) refits 81 SSLAPD models of 50 epochs and 54
SSLPE models of 25 epochs per repeat: expect one to two hours on a CPU for three repeats of
the default 2,000-point pool (``--n-samples 10000`` is the thesis's size), or use
``--device cuda``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from sklearn.datasets import make_moons

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.acquisition import bald, predictive_entropy, variation_ratios
from skdgm.active import (
    SemiSupervisedActiveLearner,
    bald_sampling,
    entropy_sampling,
    random_sampling,
)
from skdgm.datasets import make_ssl_moons

#: Thesis settings (REFERENCE_SETTINGS, "Active learning on moons"): labeled batch = all
#: labeled points (labeled_batch_size=None gives min(n_labeled, batch_size)), unlabeled
#: batch 100, hidden 128-128, z = 5, batch norm on.
MODELS = {
    "SSLPE": (SSLPEClassifier, {"lr": 5e-4, "max_epochs": 25, "kl_warmup": 5}),
    "SSLAPD": (SSLAPDClassifier, {"lr": 1e-3, "max_epochs": 50, "kl_warmup": 15,
                                  "init_log_var": -6.5}),
}
#: BALD only for SSLAPD: it has no interpretation for point-estimate weights (thesis 5.4.2).
STRATEGIES = {"SSLPE": ["entropy", "random"], "SSLAPD": ["entropy", "bald", "random"]}
QUERY = {"entropy": entropy_sampling, "bald": bald_sampling, "random": random_sampling}
COLORS = {"entropy": "tab:blue", "bald": "tab:orange", "random": "tab:gray"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--repeats", type=int, default=3, help="model seeds per combination")
    p.add_argument("--max-labels", type=int, default=30, help="stop at this many labels")
    p.add_argument("--initial-labels", type=int, default=4, help="random initial labels")
    p.add_argument("--epochs-scale", type=float, default=1.0,
                   help="multiply the thesis epochs and KL warm-up by this")
    p.add_argument("--hidden", type=int, nargs="+", default=[128, 128], help="hidden sizes")
    p.add_argument("--n-samples", type=int, default=2000,
                   help="pool size (labeled + unlabeled); the thesis used 10000")
    p.add_argument("--n-test", type=int, default=2000, help="test-set size")
    p.add_argument("--n-draws", type=int, default=10, help="Monte-Carlo draws per query")
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--seed", type=int, default=0, help="seed of the data and initial labels")
    p.add_argument("--grid", type=int, default=80, help="grid points per axis in the plots")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (small nets run fastest on one)")
    p.add_argument("--quick", action="store_true",
                   help="small check: 1000 points, hidden 32, 0.4x epochs, 7 labels, 1 repeat")
    p.add_argument("--out", type=Path, default=Path("active_learning_moons_out"),
                   help="output directory")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.max_labels, args.epochs_scale = 1, 7, 0.4
        args.hidden, args.n_samples, args.n_test, args.n_draws, args.grid = [32], 1000, 500, 5, 40
    if args.max_labels <= args.initial_labels:
        p.error("--max-labels must exceed --initial-labels")
    return args


def make_estimator(name: str, args: argparse.Namespace, seed: int):
    cls, params = MODELS[name]
    params = dict(params)
    params["max_epochs"] = max(1, round(params["max_epochs"] * args.epochs_scale))
    params["kl_warmup"] = round(params["kl_warmup"] * args.epochs_scale)
    return cls(hidden_sizes=tuple(args.hidden), n_latent=5, batch_size=100,
               labeled_batch_size=None, n_draws=args.n_draws, device=args.device,
               random_state=seed, **params)


def grid_points(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def run_one(name, strategy, repeat, data, args, snapshots=None) -> dict:
    """One active-learning run; returns accuracy per label count and the queried rows."""
    X, y_init, y_true, X_test, y_test = data
    learner = SemiSupervisedActiveLearner(make_estimator(name, args, seed=repeat),
                                          QUERY[strategy], X, y_init)
    rng = np.random.RandomState(10_000 + repeat)  # the random baseline's own stream
    n_labels, accuracy = [learner.n_labeled_], [learner.score(X_test, y_test)]

    def snapshot():
        if snapshots is not None:
            snapshots.append({"n_labels": learner.n_labeled_,
                              "labeled": learner.labeled_indices_.copy(),
                              "proba": learner.predict_proba(snapshots.grid)[:, 1]})

    snapshot()
    while learner.n_labeled_ < args.max_labels:
        idx, _ = learner.query(1, n_draws=args.n_draws, random_state=rng)
        learner.teach(idx, y_true[idx])
        n_labels.append(learner.n_labeled_)
        accuracy.append(learner.score(X_test, y_test))
        snapshot()
    return {"model": name, "strategy": strategy, "repeat": repeat, "n_labels": n_labels,
            "accuracy": accuracy, "initial": np.flatnonzero(y_init != -1).tolist(),
            "queried": learner.taught_indices_.tolist()}


class Snapshots(list):
    """Grid predictions of one run after each query (for Fig. 5.12)."""

    def __init__(self, grid: np.ndarray) -> None:
        super().__init__()
        self.grid = grid


def plot_accuracy(runs: list[dict], models: list[str], path: Path) -> None:
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.8), squeeze=False,
                             sharey=True)
    for ax, name in zip(axes[0], models):
        for strategy in STRATEGIES[name]:
            sel = [r for r in runs if r["model"] == name and r["strategy"] == strategy]
            if not sel:
                continue
            n = np.asarray(sel[0]["n_labels"])
            acc = np.asarray([r["accuracy"] for r in sel])
            mean, std = acc.mean(axis=0), acc.std(axis=0)
            ax.plot(n, mean, marker="o", ms=3, color=COLORS[strategy],
                    label=f"{strategy} ({len(sel)} runs)")
            ax.fill_between(n, mean - std, mean + std, color=COLORS[strategy], alpha=0.2)
        ax.set(title=name, xlabel="number of labeled points")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    axes[0, 0].set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_acquisition(args: argparse.Namespace, path: Path) -> None:
    """SSLAPD on the six fixed labels; entropy, variation ratios and BALD over the plane."""
    X, y, _ = make_ssl_moons(args.n_samples, noise=0.1, labels="fixed", random_state=args.seed)
    clf = make_estimator("SSLAPD", args, seed=0).fit(X, y)
    xx, yy, grid = grid_points(X, args.grid)
    probs = clf.predict_proba_samples(grid, n_draws=args.n_draws)
    scores = {"predictive entropy": predictive_entropy(probs),
              "variation ratios": variation_ratios(probs), "BALD": bald(probs)}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    lab = y != -1
    for ax, (title, s) in zip(axes, scores.items()):
        cs = ax.contourf(xx, yy, s.reshape(xx.shape), levels=20, cmap="viridis")
        fig.colorbar(cs, ax=ax)
        ax.scatter(X[~lab, 0], X[~lab, 1], s=2, c="w", alpha=0.3)
        ax.scatter(X[lab, 0], X[lab, 1], c=y[lab], cmap="coolwarm", s=60, edgecolors="k")
        ax.set_title(title)
    fig.suptitle("Acquisition functions of SSLAPD trained on six labels (cf. thesis Fig. 5.8)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_queries(run: dict, snaps: Snapshots, X: np.ndarray, y_true: np.ndarray,
                 xx: np.ndarray, yy: np.ndarray, path: Path) -> None:
    """Decision function after successive queries, queried points numbered (Fig. 5.12)."""
    keep = np.unique(np.linspace(0, len(snaps) - 1, min(len(snaps), 8)).round().astype(int))
    fig, axes = plt.subplots(2, (len(keep) + 1) // 2, figsize=(4 * ((len(keep) + 1) // 2), 7),
                             squeeze=False)
    order = {i: k + 1 for k, i in enumerate(run["queried"])}
    for ax, s in zip(axes.ravel(), [snaps[k] for k in keep]):
        ax.contourf(xx, yy, s["proba"].reshape(xx.shape), levels=np.linspace(0, 1, 11),
                    cmap="coolwarm", alpha=0.5)
        ax.contour(xx, yy, s["proba"].reshape(xx.shape), levels=[0.5], colors="k")
        ax.scatter(X[:, 0], X[:, 1], s=1, c="k", alpha=0.15)
        lab = s["labeled"]
        ax.scatter(X[lab, 0], X[lab, 1], c=y_true[lab], cmap="coolwarm", vmin=0, vmax=1, s=50,
                   edgecolors="k")
        for i in lab:
            if i in order:
                ax.annotate(str(order[i]), X[i], xytext=(5, 5), textcoords="offset points",
                            fontsize=8, weight="bold", zorder=5,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "w", "alpha": 0.8})
        ax.set_title(f"{s['n_labels']} labels")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(keep):]:
        ax.axis("off")
    fig.suptitle(f"{run['model']} + predictive entropy: queried points in order "
                 f"(cf. thesis Fig. 5.12)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save(runs: list[dict], args: argparse.Namespace) -> None:
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    (args.out / "results.json").write_text(json.dumps({"config": config, "runs": runs},
                                                      indent=1))
    with open(args.out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "strategy", "repeat", "n_labels", "accuracy"])
        for r in runs:
            for n, a in zip(r["n_labels"], r["accuracy"]):
                w.writerow([r["model"], r["strategy"], r["repeat"], n, f"{a:.4f}"])


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    matplotlib.use("Agg")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    X, y_init, y_true = make_ssl_moons(args.n_samples, noise=0.1, labels="random",
                                       n_labeled=args.initial_labels, random_state=args.seed)
    X_test, y_test = make_moons(args.n_test, noise=0.1, random_state=args.seed + 1)
    data = (X, y_init, y_true, X_test, y_test)
    xx, yy, grid = grid_points(X, args.grid)

    runs, fig12 = [], None
    for repeat in range(args.repeats):
        for name in args.models:
            for strategy in STRATEGIES[name]:
                track = repeat == 0 and strategy == "entropy" and (
                    name == "SSLAPD" or "SSLAPD" not in args.models)
                snaps = Snapshots(grid) if track else None
                t = time.perf_counter()
                run = run_one(name, strategy, repeat, data, args, snaps)
                runs.append(run)
                if track:
                    fig12 = (run, snaps)
                save(runs, args)
                print(f"[{time.perf_counter() - t0:6.0f}s] repeat {repeat} {name:6s} "
                      f"{strategy:7s} acc {run['accuracy'][0]:.3f} -> {run['accuracy'][-1]:.3f} "
                      f"({time.perf_counter() - t:.0f}s)", flush=True)

    plot_accuracy(runs, args.models, args.out / "fig_accuracy.png")
    if fig12 is not None:
        plot_queries(*fig12, X, y_true, xx, yy, args.out / "fig_queries.png")
    if "SSLAPD" in args.models:
        plot_acquisition(args, args.out / "fig_acquisition.png")
    print(f"done in {time.perf_counter() - t0:.0f}s; results and figures in {args.out}/")
    return runs


if __name__ == "__main__":
    main()
