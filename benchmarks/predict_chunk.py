"""Prediction time against the number of rows per forward pass (``PREDICT_CHUNK``).

Prediction runs in row chunks of ``skdgm.base.PREDICT_CHUNK // n_draws`` rows (every chunk
carries ``n_draws`` chains).  This script times Gibbs ``predict_proba`` (T = 10) and the
Monte-Carlo sampling behind a BALD query (``predict_proba_samples``, 10 draws) of SSLPE and
SSLAPD on MNIST-size networks (the speed benchmark's profile: 784-500-500, latent 100, 10
classes) for several chunk sizes.  The sizes are interleaved within every repeat, so that a
machine whose speed drifts over minutes (a shared CPU) affects them alike; the median over the
repeats is the figure, the best is kept too.  Run::

    python -m benchmarks.predict_chunk [--chunks 4096 2048 1024 512] [--rows 8192]
        [--repeats 6] [--threads 2] [--device cpu|cuda] [--out DIR]

With ``--device cuda`` the GPU's value, ``PREDICT_CHUNK_CUDA``, is the one varied.  Results:
``predict_chunk.json`` / ``.csv`` under ``--out`` (default
``benchmarks/results/predict_chunk_<device>``).  About five minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

import skdgm.base
from benchmarks._common import machine_info, write_results
from benchmarks.speed import PROFILES, add_threads_argument, make_estimator, synthetic_data
from skdgm import SSLAPDClassifier, SSLPEClassifier

CALLS = ("predict_proba", "BALD sampling")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.predict_chunk",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[4096, 2048, 1024, 512],
                        help="values of PREDICT_CHUNK to time (default 4096 2048 1024 512)")
    parser.add_argument("--rows", type=int, default=8192,
                        help="rows predicted by predict_proba (default 8192); the BALD "
                             "sampling gets a quarter of them")
    parser.add_argument("--repeats", type=int, default=6, help="repeats (default 6)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick",
                        help="network sizes of the speed benchmark (default quick)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the models run (default cpu); on cuda the timed constant "
                             "is PREDICT_CHUNK_CUDA")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/predict_chunk_<device>)")
    add_threads_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Time the predictions at every chunk size and write ``predict_chunk.json``."""
    args = parse_args(argv)
    prof = PROFILES[args.profile]
    out = args.out or Path(__file__).resolve().parent / "results" / f"predict_chunk_{args.device}"
    constant = "PREDICT_CHUNK_CUDA" if args.device == "cuda" else "PREDICT_CHUNK"
    previous_threads, previous_chunk = torch.get_num_threads(), getattr(skdgm.base, constant)
    torch.set_num_threads(max(1, args.threads))
    X = np.random.default_rng(1).random((args.rows, prof.n_features), dtype=np.float32)
    n_pool = max(1, args.rows // 4)
    try:
        estimators = {}
        for name, cls in (("SSLPE", SSLPEClassifier), ("SSLAPD", SSLAPDClassifier)):
            est = make_estimator(cls, prof, args.device, False, prof.batch_l, prof.batch_u)
            estimators[name] = est.fit(*synthetic_data(prof, prof.batch_l, 2 * prof.batch_u,
                                                       prof.n_classes))
        calls = {"predict_proba": lambda e: e.predict_proba(X),
                 "BALD sampling": lambda e: e.predict_proba_samples(X[:n_pool], prof.n_draws)}
        times: dict[tuple, list[float]] = {}
        start_all = time.perf_counter()
        for rep in range(args.repeats):
            for chunk in args.chunks:
                setattr(skdgm.base, constant, chunk)
                for name, est in estimators.items():
                    for call, fn in calls.items():
                        if rep == 0:
                            fn(est)                       # warm-up at this size
                        start = time.perf_counter()
                        fn(est)
                        times.setdefault((name, call, chunk), []).append(
                            time.perf_counter() - start)
            print(f"[{time.perf_counter() - start_all:7.1f}s] repeat {rep + 1}/{args.repeats}",
                  flush=True)
    finally:
        setattr(skdgm.base, constant, previous_chunk)
        threads = torch.get_num_threads()
        torch.set_num_threads(previous_threads)
    reference = args.chunks[0]
    rows = []
    for (name, call, chunk), ts in times.items():
        median = statistics.median(ts)
        ref = statistics.median(times[(name, call, reference)])
        rows.append({"model": name, "call": call, "chunk": chunk,
                     "rows": args.rows if call == "predict_proba" else n_pool,
                     "n_draws": 1 if call == "predict_proba" else prof.n_draws,
                     "n_gibbs": prof.n_gibbs, "median_s": median, "best_s": min(ts),
                     "all_s": ts, f"median_vs_chunk_{reference}": median / ref})
    command = ("python -m benchmarks.predict_chunk --chunks "
               + " ".join(map(str, args.chunks))
               + f" --rows {args.rows} --repeats {args.repeats} --threads {threads}")
    if args.profile != "quick":
        command += f" --profile {args.profile}"
    if args.device != "cpu":
        command += f" --device {args.device}"
    payload = {"command": command, "machine": {**machine_info(), "torch_threads": threads},
               "device": args.device, "constant": constant,
               "default_chunk": previous_chunk, "reference_chunk": reference, "rows": rows}
    path = write_results(out, "predict_chunk", payload)
    print(f"done: {path}")
    return payload


def render_markdown(results: dict) -> str:
    """A table of median seconds per chunk size (used by :mod:`benchmarks.report`)."""
    chunks = list(dict.fromkeys(r["chunk"] for r in results["rows"]))
    ref = results["reference_chunk"]
    lines = ["| model | call | rows | " + " | ".join(f"{c} rows/pass" for c in chunks) + " |",
             "|---|---|---|" + "---|" * len(chunks)]
    for model in dict.fromkeys(r["model"] for r in results["rows"]):
        for call in CALLS:
            cells = {r["chunk"]: r for r in results["rows"]
                     if r["model"] == model and r["call"] == call}
            if not cells:
                continue
            first = next(iter(cells.values()))
            lines.append(
                f"| {model} | {call} | {first['rows']:,} x {first['n_draws']} | "
                + " | ".join(f"{cells[c]['median_s']:.2f} s"
                             + ("" if c == ref else
                                f" ({cells[c][f'median_vs_chunk_{ref}'] - 1:+.0%})")
                             for c in chunks) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
