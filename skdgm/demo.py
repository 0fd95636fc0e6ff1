"""The main demo: semi-supervised two moons with six labels (thesis 5.2, Tables 5.1/5.2).

Run ``python -m skdgm.demo``.  Fits a supervised-only DNN, SSLPE and SSLAPD on 10,000 training
rows of which six are labeled (the two ends and the middle of each moon), prints test accuracy
and test log-likelihood on 10,000 fresh rows, and saves a decision-boundary plot with
predictive uncertainty (thesis Fig. 5.3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import log_loss

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.baselines import DNNClassifier
from skdgm.datasets import make_ssl_moons


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def evaluate(clf, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Test accuracy and mean test log-likelihood log p(y|x) (nats per row)."""
    proba = clf.predict_proba(X_test)
    pred = clf.classes_[np.argmax(proba, axis=1)]
    return {"accuracy": float(np.mean(pred == y_test)),
            "log_likelihood": float(-log_loss(y_test, proba, labels=clf.classes_))}


def plot_decision_boundaries(models: dict, X: np.ndarray, y: np.ndarray, path: Path) -> None:
    """Fig. 5.3 style: p(y=1|x) over the plane, with the unlabeled and the labeled rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xx, yy = np.meshgrid(np.linspace(-2.0, 3.0, 200), np.linspace(-1.5, 2.0, 200))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.6), sharey=True)
    for ax, (name, clf) in zip(np.atleast_1d(axes), models.items()):
        p1 = clf.predict_proba(grid)[:, 1].reshape(xx.shape)
        cs = ax.contourf(xx, yy, p1, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        ax.scatter(*X[y == -1][::10].T, s=2, c="0.5", alpha=0.4, label="unlabeled")
        ax.scatter(*X[y >= 0].T, c=np.where(y[y >= 0] == 1, "darkred", "navy"), s=60,
                   edgecolors="white", linewidths=1.5, label="labeled")
        ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1)
        ax.set_title(name)
        ax.set_xlabel("$x_1$")
    np.atleast_1d(axes)[0].set_ylabel("$x_2$")
    fig.colorbar(cs, ax=axes, label="p(y=1 | x)", shrink=0.9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def run(noise: float = 0.1, n_samples: int = 10_000, seed: int = 0, out: str | Path = ".",
        verbose: int = 1, epochs_scale: float = 1.0, plot: bool = True) -> dict:
    """Fit the three models and return their test metrics and fit times."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, y, _ = make_ssl_moons(n_samples, noise, labels="fixed", random_state=seed)
    X_test, _, y_test = make_ssl_moons(n_samples, noise, random_state=seed + 1000)

    def epochs(n: int) -> int:
        return max(1, round(n * epochs_scale))

    models = {
        "DNN (6 labels only)": DNNClassifier(max_epochs=epochs(200), random_state=seed),
        "SSLPE": SSLPEClassifier(max_epochs=epochs(15), verbose=verbose, random_state=seed),
        "SSLAPD": SSLAPDClassifier(max_epochs=epochs(50), verbose=verbose, random_state=seed),
    }
    results = {}
    for name, clf in models.items():
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        results[name] = {**evaluate(clf, X_test, y_test), "fit_seconds": seconds,
                         "epochs": clf.n_iter_, "seconds_per_epoch": seconds / clf.n_iter_}
    print(f"\nSemi-supervised moons: noise {noise}, {n_samples} training rows (6 labeled), "
          f"{n_samples} test rows, seed {seed}")
    print(f"{'model':<22}{'test acc':>10}{'test log p(y|x)':>18}{'fit s':>9}{'s/epoch':>9}")
    for name, r in results.items():
        print(f"{name:<22}{r['accuracy']:>10.4f}{r['log_likelihood']:>18.4f}"
              f"{r['fit_seconds']:>9.1f}{r['seconds_per_epoch']:>9.3f}")
    info = {"noise": noise, "n_samples": n_samples, "seed": seed, "epochs_scale": epochs_scale,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": f"{_cpu_model()} ({os.cpu_count()} cores), {platform.platform()}",
            "date": time.strftime("%Y-%m-%d"), "results": results}
    (out / "demo_results.json").write_text(json.dumps(info, indent=2))
    if plot:
        plot_decision_boundaries(models, X, y, out / "demo_moons.png")
        print(f"plot: {out / 'demo_moons.png'}")
    return info


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="skdgm_demo_output")
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply every model's epochs (e.g. 0.1 for a smoke run)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (small nets run fastest on one)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    run(args.noise, args.n_samples, args.seed, args.out, verbose=0 if args.quiet else 1,
        epochs_scale=args.epochs_scale, plot=not args.no_plot)


if __name__ == "__main__":
    main()
