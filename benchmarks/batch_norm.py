"""Batch norm for Bayesian networks, thesis 5.3 (Fig. 5.5) and 5.3.1 (Figs. 5.6/5.7).

Part ``regimes`` (Fig. 5.5): SSLAPD trained on the six-label moons (noise 0.1) with the adapted
batch norm (statistics from the weight means, thesis 5.3) or the naive one (statistics from the
sampled weights), each evaluated with the running averages (the test regime) and with the
statistics of the evaluated batch itself (the training regime applied to test data, thesis
Fig. 5.5a: the whole test set, or the whole grid, as one batch).  Reported: test accuracy and
log p(y|x), and the accuracy over a 200 x 200 grid of the input plane around the data against
the Bayes classifier of the moons distribution (exact class densities of ``make_moons``).

Part ``curves`` (Figs. 5.6/5.7): SSLPE and SSLAPD with and without batch norm on the six-label
moons, noise 0.1 and 0.2; test accuracy and test ELBO (mean unlabeled bound (4.9) per row, minus
KL(q(W)||p(W)) / N for SSLAPD) after every epoch.  With and without batch norm use the same
settings (``benchmarks/configs/moons/``, noise-0.1
settings, epochs set by ``--epochs``), so batch norm is the
only difference (the thesis tuned learning rates per variant; we did not).

Run: ``python -m benchmarks.batch_norm [--seeds 3] [--epochs 50] [--n-jobs 2]``.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp

from benchmarks._common import (
    EpochScores,
    evaluate,
    load_config,
    machine_info,
    run_and_record,
    write_results,
)
from skdgm.datasets import make_ssl_moons
from skdgm.nn.layers import batch_statistics

#: the part of the input plane scored against the Bayes classifier (around the moons)
GRID_BOX = (-1.5, 2.5, -1.0, 1.5)
GRID_SIZE = 200


def bayes_moons_log_posterior(points: np.ndarray, noise: float, n_arc: int = 500
                              ) -> np.ndarray:
    """log p(y|x) of the moons distribution itself, shape ``(n, 2)``: each class is its half
    circle (uniform in angle) plus isotropic Gaussian noise; equal class priors."""
    t = np.linspace(0, np.pi, n_arc)
    arcs = [np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)]
    out = []
    for chunk in np.array_split(points, max(1, len(points) // 2000)):
        log_dens = np.stack([logsumexp(-np.sum((chunk[:, None] - arc[None]) ** 2, -1)
                                       / (2 * noise ** 2), axis=1) for arc in arcs], 1)
        out.append(log_dens - logsumexp(log_dens, axis=1, keepdims=True))
    return np.concatenate(out)


def bayes_moons_labels(points: np.ndarray, noise: float, n_arc: int = 500) -> np.ndarray:
    """Bayes-optimal class of ``points`` under ``make_moons(noise=noise)``."""
    return np.argmax(bayes_moons_log_posterior(points, noise, n_arc), axis=1)


@functools.cache
def bayes_test_scores(noise: float, seed: int, n_samples: int) -> tuple[float, float]:
    """Accuracy and mean log p(y|x) of the Bayes classifier (the true class posterior) on the
    test set of a moons run: the best any classifier can score."""
    X_test, _, y_test = make_ssl_moons(n_samples, noise, random_state=100_000 + seed)
    log_post = bayes_moons_log_posterior(X_test, noise)
    return (float(np.mean(np.argmax(log_post, axis=1) == y_test)),
            float(np.mean(log_post[np.arange(len(y_test)), y_test])))


def bayes_test_accuracy(noise: float, seed: int, n_samples: int) -> float:
    """Accuracy of the Bayes classifier on the test set of a moons run (the best possible)."""
    return bayes_test_scores(noise, seed, n_samples)[0]


def grid_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = GRID_BOX
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID_SIZE), np.linspace(y0, y1, GRID_SIZE))
    return np.c_[gx.ravel(), gy.ravel()].astype(np.float32), gx, gy


def proba_batch_statistics(clf, X: np.ndarray) -> np.ndarray:
    """Gibbs predictive probabilities with batch norm normalising by the statistics of X itself
    (one batch), the training regime applied to test data (thesis Fig. 5.5a)."""
    module = clf.module_
    gen = torch.Generator().manual_seed(clf.seed_ + 2)
    with torch.no_grad(), batch_statistics(module):
        p = module.predict_proba(torch.as_tensor(X, dtype=torch.float32), clf.n_gibbs, gen)
    p = p.double().numpy()
    return p / p.sum(1, keepdims=True)


def _scores(proba: np.ndarray, y: np.ndarray) -> dict:
    p = np.clip(proba[np.arange(len(y)), y], 1e-300, None)
    return {"accuracy": float(np.mean(proba.argmax(1) == y)),
            "log_likelihood": float(np.mean(np.log(p)))}


def _moons_params(model: str, epochs: int | None) -> tuple[type, dict]:
    cls, params = load_config("moons", model)  # the noise-0.1 (reference) settings
    if epochs is not None:
        params["max_epochs"] = epochs
        params["kl_warmup"] = min(params.get("kl_warmup", 0), epochs)
    return cls, params


def fit_regimes(bn_statistics: str, seed: int, n_samples: int, epochs: int | None) -> dict:
    """Part 'regimes': one SSLAPD fit, scored under both evaluation regimes."""
    cls, params = _moons_params("SSLAPD", epochs)
    X, y, _ = make_ssl_moons(n_samples, 0.1, random_state=seed)
    X_test, _, y_test = make_ssl_moons(n_samples, 0.1, random_state=100_000 + seed)
    clf = cls(random_state=seed, bn_statistics=bn_statistics, **params).fit(X, y)
    grid, _, _ = grid_points()
    grid_y = bayes_moons_labels(grid.astype(np.float64), 0.1)
    out = {}
    for regime in ("running", "batch"):
        if regime == "running":
            p_test, p_grid = clf.predict_proba(X_test), clf.predict_proba(grid)
        else:
            p_test, p_grid = proba_batch_statistics(clf, X_test), proba_batch_statistics(clf, grid)
        test = _scores(p_test, y_test)
        out[regime] = {"test_accuracy": test["accuracy"],
                       "test_log_likelihood": test["log_likelihood"],
                       "grid_accuracy": float(np.mean(p_grid.argmax(1) == grid_y)),
                       # every second grid point, 3 decimals: enough for the plot, small file
                       "grid_p1": (p_grid[:, 1].reshape(GRID_SIZE, GRID_SIZE)[::2, ::2]
                                   .round(3).tolist() if seed == 0 else None)}
    return out


def fit_curve(model: str, noise: float, batch_norm: bool, seed: int, n_samples: int,
              epochs: int | None) -> dict:
    """Part 'curves': one fit recording test accuracy and ELBO per epoch."""
    cls, params = _moons_params(model, epochs)
    X, y, _ = make_ssl_moons(n_samples, noise, random_state=seed)
    X_test, _, y_test = make_ssl_moons(n_samples, noise, random_state=100_000 + seed)
    clf = cls(random_state=seed, batch_norm=batch_norm, callbacks=[EpochScores(X_test, y_test)],
              **params).fit(X, y)
    hist = clf.history_
    return {**evaluate(clf, X_test, y_test), "test_acc_curve": hist[:, "test_acc"],
            "test_elbo_curve": hist[:, "test_elbo"]}


def _run(kind: str, **job) -> dict:
    return fit_regimes(**job) if kind == "regimes" else fit_curve(**job)


def summarise(rows: list[dict]) -> dict:
    regimes = []
    for stats in ("weight_means", "sampled"):
        sel = [r for r in rows if r["kind"] == "regimes" and r["bn_statistics"] == stats]
        for regime in ("running", "batch"):
            if not sel:
                continue
            vals = {k: np.array([r[regime][k] for r in sel])
                    for k in ("test_accuracy", "test_log_likelihood", "grid_accuracy")}
            regimes.append({"trained_with": stats, "evaluated_with": regime, "runs": len(sel),
                            **{f"{k}_mean": float(v.mean()) for k, v in vals.items()},
                            **{f"{k}_std": float(v.std()) for k, v in vals.items()}})
    curves = []
    keys = sorted({(r["noise"], r["model"], r["batch_norm"]) for r in rows
                   if r["kind"] == "curves"})
    for noise, model, bn in keys:
        sel = [r for r in rows if r["kind"] == "curves" and
               (r["noise"], r["model"], r["batch_norm"]) == (noise, model, bn)]
        acc = np.array([r["test_acc_curve"] for r in sel])
        elbo = np.array([r["test_elbo_curve"] for r in sel])
        bayes = np.array([bayes_test_accuracy(r["noise"], r["seed"], r.get("n_samples", 10_000))
                          for r in sel])
        # convergence: the first epoch within one point of the Bayes classifier's test accuracy
        reach = [next((i + 1 for i, a in enumerate(c) if a >= b - 0.01), None)
                 for c, b in zip(acc, bayes)]
        curves.append({"noise": noise, "model": model, "batch_norm": bn, "runs": len(sel),
                       "final_accuracy_mean": float(100 * acc[:, -1].mean()),
                       "final_accuracy_std": float(100 * acc[:, -1].std()),
                       "final_elbo_mean": float(elbo[:, -1].mean()),
                       "bayes_accuracy_mean": float(100 * bayes.mean()),
                       "epochs_to_bayes_minus_1pt": reach,
                       "accuracy_curve_mean": acc.mean(0).tolist(),
                       "elbo_curve_mean": elbo.mean(0).tolist()})
    return {"regimes": regimes, "curves": curves}


def plot(rows: list[dict], summary: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid, gx, gy = grid_points()
    maps = [r for r in rows if r["kind"] == "regimes" and r["seed"] == 0]
    if maps:
        fig, axes = plt.subplots(2, 2, figsize=(10, 8), squeeze=False)
        X_test, _, y_test = make_ssl_moons(2000, 0.1, random_state=100_000)
        for i, stats in enumerate(("weight_means", "sampled")):
            row = next((r for r in maps if r["bn_statistics"] == stats), None)
            for j, regime in enumerate(("running", "batch")):
                ax = axes[i, j]
                if row is None:
                    ax.axis("off")
                    continue
                p1 = np.array(row[regime]["grid_p1"])
                ax.contourf(gx[::2, ::2], gy[::2, ::2], p1, levels=np.linspace(0, 1, 11),
                            cmap="RdBu_r", alpha=0.8)
                ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, s=2, cmap="coolwarm")
                ax.set_title(f"trained: {stats} BN; test: {regime} statistics\n"
                             f"test acc {100 * row[regime]['test_accuracy']:.1f}%, grid acc "
                             f"{100 * row[regime]['grid_accuracy']:.1f}%", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "bn_regimes.png", dpi=90)
        plt.close(fig)
    curves = summary["curves"]
    if curves:
        noises = sorted({c["noise"] for c in curves})
        fig, axes = plt.subplots(len(noises), 2, figsize=(11, 4 * len(noises)), squeeze=False)
        for i, noise in enumerate(noises):
            for c in (c for c in curves if c["noise"] == noise):
                label = f"{c['model']} {'BN' if c['batch_norm'] else 'no BN'}"
                epochs = np.arange(1, len(c["accuracy_curve_mean"]) + 1)
                axes[i, 0].plot(epochs, 100 * np.array(c["accuracy_curve_mean"]), label=label)
                axes[i, 1].plot(epochs, c["elbo_curve_mean"], label=label)
            axes[i, 0].set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(40, 101),
                           title=f"noise {noise}: test accuracy (mean over seeds)")
            axes[i, 1].set(xlabel="epoch", ylabel="test ELBO per row",
                           title=f"noise {noise}: test ELBO (mean over seeds)")
            axes[i, 0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "bn_curves.png", dpi=90)
        plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["regimes", "curves"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--curve-seeds", type=int, default=2)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--models", nargs="+", default=["SSLPE", "SSLAPD"])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/batch_norm")
    parser.add_argument("--summarise-only", action="store_true",
                        help="recompute the summary and plots from the rows of an earlier run")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.summarise_only:
        rows = json.loads((out / "batch_norm_rows.json").read_text())
        payload = json.loads((out / "batch_norm.json").read_text())
        payload["summary"] = summarise(rows)
        write_results(out, "batch_norm", payload)
        plot(rows, payload["summary"], out)
        return
    common = {"n_samples": args.n_samples, "epochs": args.epochs}
    jobs = []
    if "regimes" in args.parts:
        jobs += [dict(kind="regimes", bn_statistics=stats, seed=s, **common)
                 for s in range(args.seeds) for stats in ("weight_means", "sampled")]
    if "curves" in args.parts:
        jobs += [dict(kind="curves", model=m, noise=nz, batch_norm=bn, seed=s, **common)
                 for nz in args.noise for s in range(args.curve_seeds) for m in args.models
                 for bn in (True, False)]
    def describe(row: dict) -> str:
        if row["kind"] == "regimes":
            desc = (f"regimes SSLAPD {row['bn_statistics']} BN seed {row['seed']}: " + ", ".join(
                f"{reg} acc {row[reg]['test_accuracy']:.4f} grid {row[reg]['grid_accuracy']:.4f}"
                for reg in ("running", "batch")))
        else:
            desc = (f"curves {row['model']} noise {row['noise']} BN {row['batch_norm']} seed "
                    f"{row['seed']}: final acc {row['accuracy']:.4f}")
        return f"{desc} ({row['seconds']:.0f} s)"

    def save(rows: list[dict]) -> None:
        write_results(out, "batch_norm", {"machine": machine_info(), "args": vars(args),
                                          "summary": summarise(rows), "rows": []})
        (out / "batch_norm_rows.json").write_text(json.dumps(rows, default=float))

    rows = run_and_record(_run, jobs, args.n_jobs, describe, save)
    plot(rows, summarise(rows), out)
    for r in summarise(rows)["regimes"]:
        print(f"SSLAPD trained with {r['trained_with']:12s} BN, tested with {r['evaluated_with']}"
              f" statistics: test acc {100 * r['test_accuracy_mean']:.2f}%, grid acc "
              f"{100 * r['grid_accuracy_mean']:.2f}%")


if __name__ == "__main__":
    main()
