"""Labels needed to reach 99% test accuracy on moons by active learning (thesis 5.4.2).

Protocol: two moons, noise 0.1; four random initial labels (two per moon, seed fixed per
repetition and shared by every model and acquisition function); one query at a time, refitting
from scratch, until 99% test accuracy or ``--max-labels`` labels.  The unlabeled pool stays in
every fit (:class:`skdgm.active.SemiSupervisedActiveLearner`).  SSLPE with predictive entropy
and random selection; SSLAPD with predictive entropy, BALD and random selection.  Also times one
BALD query (Monte-Carlo draws + scores) over a pool of 10,000 rows.

Run: ``python -m benchmarks.active_learning [--repeats 5] [--n-jobs 2] [--combinations
SSLAPD+entropy ...]``; ``--repeats 0`` only times the BALD query.  Results are written after
every finished run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._common import machine_info, run_and_record, write_results
from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.active import (
    SemiSupervisedActiveLearner,
    bald_sampling,
    entropy_sampling,
    random_sampling,
)
from skdgm.datasets import make_ssl_moons

#: REFERENCE_SETTINGS.md, "Active learning on moons": labeled batch = all labeled points,
#: unlabeled batch 100, batch norm on.
MODELS = {
    "SSLPE": (SSLPEClassifier, {"lr": 5e-4, "max_epochs": 25, "kl_warmup": 5}),
    "SSLAPD": (SSLAPDClassifier, {"lr": 1e-3, "max_epochs": 50, "kl_warmup": 15,
                                  "init_log_var": -6.5}),
}
STRATEGIES = {"entropy": entropy_sampling, "bald": bald_sampling, "random": random_sampling}
COMBINATIONS = [("SSLPE", "entropy"), ("SSLPE", "random"), ("SSLAPD", "entropy"),
                ("SSLAPD", "bald"), ("SSLAPD", "random")]
THESIS = {"entropy": "about 10 (Fig. 5.11)", "bald": "about 15 (Fig. 5.11)",
          "random": "often not within 30"}


def one_run(model: str, strategy: str, repeat: int, n_samples: int, n_test: int,
            max_labels: int, target: float, epochs_scale: float) -> dict:
    X, y_init, y_true = make_ssl_moons(n_samples, 0.1, labels="random", n_labeled=4,
                                       random_state=repeat)
    X_test, _, y_test = make_ssl_moons(n_test, 0.1, random_state=50_000 + repeat)
    cls, params = MODELS[model]
    params = {**params, "max_epochs": max(1, round(params["max_epochs"] * epochs_scale)),
              "kl_warmup": round(params["kl_warmup"] * epochs_scale)}
    learner = SemiSupervisedActiveLearner(cls(random_state=repeat, **params),
                                          STRATEGIES[strategy], X, y_init)
    rng = np.random.RandomState(20_000 + repeat)
    curve = [(learner.n_labeled_, learner.score(X_test, y_test))]
    while curve[-1][1] < target and learner.n_labeled_ < max_labels:
        idx, _ = learner.query(1, random_state=rng)
        learner.teach(idx, y_true[idx])
        curve.append((learner.n_labeled_, learner.score(X_test, y_test)))
    reached = curve[-1][1] >= target
    return {"labels_needed": curve[-1][0] if reached else None, "reached": reached,
            "final_accuracy": curve[-1][1], "curve": curve}


def time_bald_query(n_pool: int, repeats: int = 3) -> dict:
    """Seconds of one BALD query (10 draws x 10 Gibbs steps + scores) over ``n_pool`` rows."""
    X, y, _ = make_ssl_moons(n_pool, 0.1, random_state=0)
    clf = SSLAPDClassifier(max_epochs=1, random_state=0).fit(X, y)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        bald_sampling(clf, X, n_instances=1)
        times.append(time.perf_counter() - start)
    return {"n_pool": n_pool, "seconds": min(times[1:]), "threads": torch.get_num_threads()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=2000, help="pool (training) rows")
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--max-labels", type=int, default=30)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--query-pool", type=int, default=10_000,
                        help="time one BALD query over this many rows first (0 skips)")
    parser.add_argument("--combinations", nargs="+", default=None,
                        choices=[f"{m}+{s}" for m, s in COMBINATIONS],
                        help="model+acquisition pairs to run (default: all five)")
    parser.add_argument("--out", default="benchmarks/results/active_learning")
    args = parser.parse_args(argv)
    combinations = ([tuple(c.split("+")) for c in args.combinations] if args.combinations
                    else COMBINATIONS)
    command = " ".join(["python -m benchmarks.active_learning",
                        *(argv if argv is not None else sys.argv[1:])])
    torch.set_num_threads(1)
    out = Path(args.out)
    if args.query_pool:
        query_time = time_bald_query(args.query_pool)
        print(f"one BALD query over {args.query_pool:,} rows: {query_time['seconds']:.3f} s")
        write_results(out, "bald_query_time", {"machine": machine_info(), **query_time})
    if not args.repeats:
        return
    jobs = [dict(model=m, strategy=s, repeat=r, n_samples=args.n_samples, n_test=args.n_test,
                 max_labels=args.max_labels, target=args.target, epochs_scale=args.epochs_scale)
            for r in range(args.repeats) for m, s in combinations]
    # random selection needs the most refits: start those first so the pool drains evenly
    jobs.sort(key=lambda j: j["strategy"] != "random")
    rows = run_and_record(
        one_run, jobs, args.n_jobs,
        lambda r: (f"{r['model']} + {r['strategy']} repeat {r['repeat']}: "
                   f"{r['labels_needed']} labels"),
        lambda rows: write_results(out, "active_learning", {
            "machine": machine_info(), "command": command, "args": vars(args), "rows": rows}))
    summary = {}
    for m, s in combinations:
        sel = [r for r in rows if (r["model"], r["strategy"]) == (m, s)]
        # a run that never reached the target counts as max_labels (a lower bound)
        needed = np.array([r["labels_needed"] or args.max_labels for r in sel], dtype=float)
        summary[f"{m} + {s}"] = {
            "mean_labels_to_target": needed.mean(), "std": needed.std(),
            "runs_reaching_target": int(sum(r["reached"] for r in sel)), "runs": len(sel),
            "thesis": THESIS[s]}
        print(f"{m:7s} {s:8s}: {needed.mean():5.1f} labels (std {needed.std():.1f}), "
              f"{summary[f'{m} + {s}']['runs_reaching_target']}/{len(sel)} reached "
              f"{args.target:.0%}")
    path = write_results(out, "active_learning", {"machine": machine_info(), "command": command,
                                                  "args": vars(args), "summary": summary,
                                                  "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
