"""How to weight labeled against unlabeled data: the measurement behind the default.

Compares ``labeled_weight="balanced"`` (each part averaged over its own batch, the thesis's
reference code) with ``"proportional"`` (Kingma et al.'s full-data sum) for SSLPE and SSLAPD on
semi-supervised moons with the six fixed labels, scored on a separate *validation* set (never
the test set).  Run: ``python -m benchmarks.weighting [--seeds 3] [--n-jobs 4]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks._common import evaluate, machine_info, run_jobs, write_results
from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.datasets import make_ssl_moons

MODELS = {"SSLPE": SSLPEClassifier, "SSLAPD": SSLAPDClassifier}


def fit_one(model: str, labeled_weight: str, noise: float, seed: int, n_samples: int,
            epochs_scale: float) -> dict:
    X, y, _ = make_ssl_moons(n_samples, noise, labels="fixed", random_state=seed)
    X_val, _, y_val = make_ssl_moons(n_samples, noise, random_state=10_000 + seed)
    cls = MODELS[model]
    epochs = max(1, round(cls().max_epochs * epochs_scale))
    clf = cls(labeled_weight=labeled_weight, max_epochs=epochs, random_state=seed).fit(X, y)
    return evaluate(clf, X_val, y_val)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/weighting")
    args = parser.parse_args(argv)
    jobs = [dict(model=m, labeled_weight=w, noise=nz, seed=s, n_samples=args.n_samples,
                 epochs_scale=args.epochs_scale)
            for m in MODELS for w in ("balanced", "proportional") for nz in args.noise
            for s in range(args.seeds)]
    rows = list(run_jobs(fit_one, jobs, args.n_jobs))
    summary = {}
    for m in MODELS:
        for w in ("balanced", "proportional"):
            for nz in args.noise:
                sel = [r for r in rows if (r["model"], r["labeled_weight"], r["noise"])
                       == (m, w, nz)]
                acc = np.array([r["accuracy"] for r in sel])
                ll = np.array([r["log_likelihood"] for r in sel])
                summary[f"{m} {w} noise={nz}"] = {
                    "val_accuracy_mean": acc.mean(), "val_accuracy_std": acc.std(),
                    "val_accuracy_min": acc.min(), "val_log_lik_mean": ll.mean()}
                print(f"{m:7s} {w:13s} noise {nz}: val acc {acc.mean():.4f} "
                      f"(std {acc.std():.4f}, min {acc.min():.4f}), log-lik {ll.mean():.4f}")
    path = write_results(Path(args.out), "weighting",
                         {"machine": machine_info(), "args": vars(args), "summary": summary,
                          "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
