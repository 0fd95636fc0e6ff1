"""Wall-clock time of one BatchBALD query on random Dirichlet MC probabilities.

Times :func:`skdgm.acquisition.batch_bald` on ``probs`` of shape (draws, pool, classes)
drawn from a flat Dirichlet with seed 0, ``n_instances=10``, ``random_state=0`` (the default
``n_configurations=10000``: exact enumeration for the first picks, Monte-Carlo afterwards).
Each run's selected indices and scores are stored, and when ``<out>/batch_bald_speed_before.json``
(a run of the older code) exists they are compared with it.  Run:
``python -m benchmarks.batch_bald_speed [--pools 2000 10000] [--devices cpu cuda]
[--name batch_bald_speed]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._common import machine_info, write_results
from skdgm.acquisition import batch_bald


def _probs(n_draws: int, pool: int, n_classes: int) -> np.ndarray:
    return np.random.default_rng(0).dirichlet(np.ones(n_classes), size=(n_draws, pool))


def time_query(probs: np.ndarray, n_instances: int, device: str | None, repeats: int) -> dict:
    kwargs = {} if device is None else {"device": device}
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        idx, scores = batch_bald(probs, n_instances, random_state=0, **kwargs)
        seconds.append(time.perf_counter() - start)
    return {"seconds": min(seconds), "seconds_all": seconds, "indices": idx.tolist(),
            "scores": scores.tolist()}


def _compare(row: dict, before: dict | None) -> None:
    if before is None:
        return
    ref = next((r for r in before["rows"] if (r["n_draws"], r["pool"], r["n_classes"])
                == (row["n_draws"], row["pool"], row["n_classes"])), None)
    if ref is None:
        return
    row["seconds_before"] = ref["seconds"]
    row["speedup"] = ref["seconds"] / row["seconds"]
    row["same_indices_as_before"] = row["indices"] == ref["indices"]
    row["max_abs_score_diff_vs_before"] = float(
        np.max(np.abs(np.subtract(row["scores"], ref["scores"]))))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--n-instances", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    parser.add_argument("--devices", nargs="+", default=None,
                        help="devices to time (default: cpu, and cuda when available)")
    parser.add_argument("--name", default="batch_bald_speed")
    parser.add_argument("--out", default="benchmarks/results/batch_bald_speed")
    args = parser.parse_args(argv)
    out = Path(args.out)

    has_device = "device" in inspect.signature(batch_bald).parameters
    if not has_device:
        devices = [None]  # the older NumPy code has no device argument
    elif args.devices is not None:
        devices = args.devices
    else:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    before_path = out / "batch_bald_speed_before.json"
    before = (json.loads(before_path.read_text())
              if before_path.exists() and args.name != "batch_bald_speed_before" else None)

    load_start = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min: is the CPU shared?
    rows = []
    for device in devices:
        if device is not None and device != "cpu":  # start the device before timing it
            batch_bald(_probs(args.draws, 200, args.classes), 3, device=device)
        for pool in args.pools:
            probs = _probs(args.draws, pool, args.classes)
            row = {"device": device or "numpy", "n_draws": args.draws, "pool": pool,
                   "n_classes": args.classes, "n_instances": args.n_instances,
                   **time_query(probs, args.n_instances, device, args.repeats)}
            _compare(row, before)
            rows.append(row)
            extra = ""
            if "speedup" in row:
                extra = (f", before {row['seconds_before']:.2f} s ({row['speedup']:.1f}x), "
                         f"same indices {row['same_indices_as_before']}, max score diff "
                         f"{row['max_abs_score_diff_vs_before']:.2e}")
            print(f"{row['device']:6s} probs ({args.draws}, {pool}, {args.classes}): "
                  f"{row['seconds']:.2f} s{extra}", flush=True)
    info = {**machine_info(), "torch_threads": torch.get_num_threads(),
            "load_average_at_start": load_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    path = write_results(out, args.name, {"machine": info, "argv": vars(args), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
