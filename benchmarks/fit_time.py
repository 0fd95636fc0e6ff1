"""Fit time per epoch of SSLPE and SSLAPD on semi-supervised moons, on a chosen device.

Run: ``python -m benchmarks.fit_time --device cpu`` (or ``cuda``).  Fits each model with its
default (thesis) settings on 10,000 moons rows with six labels and reports seconds per epoch,
the whole fit, Gibbs prediction on 10,000 test rows, and test accuracy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks._common import evaluate, machine_info, write_results
from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.datasets import make_ssl_moons


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y, _ = make_ssl_moons(args.n_samples, 0.1, random_state=0)
    X_test, _, y_test = make_ssl_moons(args.n_samples, 0.1, random_state=1)
    rows = []
    for cls in (SSLPEClassifier, SSLAPDClassifier):
        epochs = max(1, round(cls().max_epochs * args.epochs_scale))
        clf = cls(max_epochs=epochs, device=args.device, random_state=0)
        start = time.perf_counter()
        clf.fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        metrics = evaluate(clf, X_test, y_test)
        predict_s = time.perf_counter() - start
        epoch_s = [row["dur"] for row in clf.history_]
        rows.append({"model": cls.__name__, "device": args.device, "epochs": epochs,
                     "fit_seconds": fit_s, "seconds_per_epoch": fit_s / epochs,
                     "median_epoch_seconds": sorted(epoch_s)[len(epoch_s) // 2],
                     "predict_10k_seconds": predict_s, **metrics})
        print(rows[-1])
    out = Path(args.out or f"benchmarks/results/fit_time_{args.device}")
    path = write_results(out, "fit_time", {"machine": machine_info(), "args": vars(args),
                                           "threads": torch.get_num_threads(), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
