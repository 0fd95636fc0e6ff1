"""Epoch times on MNIST with and without flushing subnormal floats on the CPU.

Training on MNIST drives some gradients, and Adam's averages of their squares, below the
smallest normal float32, and x86 CPUs compute on such subnormal numbers many times slower.
The estimators therefore treat them as zero while they train and predict on the CPU
(``skdgm._training.cpu_flush_denormals``).  This script fits the same SSLPE model (same seed,
same data) twice, once as the package does and once with that context replaced by a no-op
(the code before the change), and records every epoch's seconds and the test accuracy.

Run: ``python -m benchmarks.denormals --data ../shared/data/mnist.npz`` (defaults: 10,000
training rows, 20 labels per class, lr 3e-3, 8 epochs, pixels binarised per batch, nets
500-500, latent 100, one torch thread; the fits run one after the other).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from benchmarks._common import evaluate, machine_info, write_results
from benchmarks.mnist import PIXEL_STD_THRESHOLD
from skdgm import SSLPEClassifier, StochasticBinarization
from skdgm._training import flushing_denormals
from skdgm.datasets import load_mnist, make_ssl_split

#: the flush mode seen at the start of every epoch of the current fit (the estimators train
#: on copies of their callbacks, so the record lives here)
_MODES: list[bool] = []


class _RecordMode(Callback):
    def on_epoch_begin(self, net, **kwargs):
        _MODES.append(flushing_denormals())


def fit_once(flush: bool, X, y, X_test, y_test, lr: float, epochs: int) -> dict:
    _MODES.clear()
    clf = SSLPEClassifier(hidden_sizes=(500, 500), n_latent=100, likelihood="bernoulli",
                          batch_norm=False, lr=lr, kl_warmup=0, max_epochs=epochs,
                          random_state=0, callbacks=[StochasticBinarization(), _RecordMode()])
    pipe = make_pipeline(VarianceThreshold(PIXEL_STD_THRESHOLD ** 2), clf)
    # the "before": the package's context manager replaced by one that changes nothing
    patch = (contextlib.nullcontext() if flush else
             mock.patch("skdgm.base.cpu_flush_denormals",
                        lambda device: contextlib.nullcontext()))
    with patch:
        start = time.perf_counter()
        pipe.fit(X, y)
        fit_s = time.perf_counter() - start
        metrics = evaluate(pipe, X_test, y_test)
    return {"flush_denormals": flush, "flushed_while_training": all(_MODES) and bool(_MODES),
            "fit_seconds": fit_s,
            "epoch_seconds": [row["dur"] for row in clf.history_], **metrics}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST .npz (default: load_mnist's search path)")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--labels", type=int, default=20, help="labels per class")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/denormals")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y_full, X_test, y_test = load_mnist(args.data)
    X, y_full = X[:args.n_train], y_full[:args.n_train]
    X_test, y_test = X_test[:args.n_test], y_test[:args.n_test]
    y = make_ssl_split(y_full, args.labels, random_state=0)
    rows = []
    for flush in (False, True):
        rows.append(fit_once(flush, X, y, X_test, y_test, args.lr, args.epochs))
        r = rows[-1]
        print(f"flush_denormals={flush}: epochs "
              + " ".join(f"{s:.1f}" for s in r["epoch_seconds"])
              + f" s; fit {r['fit_seconds']:.0f} s; accuracy {r['accuracy']:.4f}", flush=True)
    before, after = (np.array(r["epoch_seconds"]) for r in rows)
    path = write_results(Path(args.out), "denormals", {
        "machine": machine_info(), "args": vars(args), "threads": torch.get_num_threads(),
        "last_epoch_ratio": float(before[-1] / after[-1]),
        "fit_ratio": rows[0]["fit_seconds"] / rows[1]["fit_seconds"], "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
