"""Shared helpers of the benchmark scripts: machine info, parallel jobs, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.metrics import log_loss


def machine_info() -> dict:
    """Platform, CPU model, core count, torch version and date of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def evaluate(clf, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and mean log p(y|x) (nats per row) of a fitted classifier on labeled data."""
    proba = clf.predict_proba(X)
    pred = clf.classes_[np.argmax(proba, axis=1)]
    return {"accuracy": float(np.mean(pred == y)),
            "log_likelihood": float(-log_loss(y, proba, labels=clf.classes_))}


def _single_threaded(fn, kwargs):
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = fn(**kwargs)
    return {**kwargs, **out, "seconds": time.perf_counter() - start}


def run_jobs(fn, jobs: list[dict], n_jobs: int, verbose: int = 0):
    """Yield ``{**job, **fn(**job), "seconds": ...}`` for every job as it finishes, running
    them in parallel processes with one torch thread each (small networks run fastest
    single-threaded); callers can save partial results after every job."""
    yield from Parallel(n_jobs=n_jobs, verbose=verbose, return_as="generator_unordered")(
        delayed(_single_threaded)(fn, job) for job in jobs)


def write_results(out: Path, name: str, payload: dict) -> Path:
    """Write ``payload`` as ``out/name.json`` and its ``rows`` as ``out/name.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    rows = payload.get("rows", [])
    if rows:
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join(str(r.get(k, "")) for k in keys) for r in rows]
        (out / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return path
