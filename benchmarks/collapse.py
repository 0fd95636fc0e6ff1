"""Collapses on moons: when they form, and whether the bound tells them from good fits.

Some fits of SDGM (and of SSLPE without batch norm) on moons with noise 0.2 end far below the
others (see BENCHMARKS.md, moons).  This script repeats fits of the moons benchmark (the same
data, test set, settings and random stream: ``random_state`` = data seed + offset) and records
after every epoch, with :class:`benchmarks._common.EpochScores` (which leaves the fit's random
stream alone): the test accuracy, and on the training data the mean unlabeled bound (4.9),
the mean labeled bound (4.5) and the objective the fit maximises.  Two questions: in which
epoch does a collapsed fit fall behind, and would restarts ranked by the bound or by the
training objective (as ``n_init`` does for sklearn's mixtures), or by the mean predictive
entropy on the unlabeled training rows (lowest first), pick a good fit?

With ``--candidates N`` it fits, for each data seed and offset, the N restarts a fit with
``n_init=N`` would compare (restart k: one fit from ``random_state`` advanced by k seed draws,
see :func:`skdgm.base.restart_seeds`), so each candidate's test score shows whether the
restart the entropy rule keeps was the best one.  The test sets are the benchmark's: a
diagnosis of what happened on them, not a place to choose a rule.

Run: ``python -m benchmarks.collapse --model SDGM --noise 0.2 --seeds 5 --offsets 0 10``;
``--set '{"batch_norm": false}'`` overrides the config's settings;
``--offsets 0 --candidates 3`` for the restarts of the config's ``n_init=3``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks._common import (
    EpochScores,
    evaluate,
    load_config,
    machine_info,
    run_and_record,
    write_results,
)
from skdgm.base import _agreement, _consensus_choice, _mean_entropy, restart_seeds
from skdgm.datasets import make_ssl_moons

#: epochs whose test accuracy the summary lists (those beyond a fit's length are left out)
MARKS = (1, 5, 10, 25, 50, 100, 200, 500)


def fit_one(model: str, noise: float, seed: int, offset: int, settings: dict,
            n_samples: int, epochs_scale: float, candidate: int | None = None,
            every: int = 1) -> dict:
    """One fit of the moons benchmark with scores after every ``every``-th epoch and the last;
    with ``candidate`` k, restart k of the config's ``n_init`` fits (one fit, ``n_init=1``)."""
    cls, params = load_config("moons", model, noise)
    params.update(settings)
    random_state = np.random.RandomState(seed + offset)
    if candidate is not None:
        restart_seeds(random_state, candidate)   # skip the seeds of the earlier restarts
        params["n_init"] = 1
    params["max_epochs"] = max(1, round(params["max_epochs"] * epochs_scale))
    if "kl_warmup" in params:
        params["kl_warmup"] = round(params["kl_warmup"] * epochs_scale)
    # the data and test set of benchmarks.moons (same seeds)
    X, y, _ = make_ssl_moons(n_samples, noise, random_state=seed)
    X_test, _, y_test = make_ssl_moons(n_samples, noise, random_state=100_000 + seed)
    scores = EpochScores(X_test, y_test, X_train=X, y_train=y, every=every)
    clf = cls(random_state=random_state, callbacks=[scores], **params).fit(X, y)
    h = clf.history_
    proba = clf.predict_proba(X[y == -1])   # on the unlabeled rows, as n_init ranks fits
    row = {**evaluate(clf, X_test, y_test), "random_state": seed + offset,
           "candidate": candidate, "seed_": clf.seed_,
           "unlabeled_entropy": _mean_entropy(proba),
           "curve_epochs": [e for e, _ in h[:, ("epoch", "test_acc")]],
           "test_acc_curve": h[:, "test_acc"],
           "unlabeled_bound_curve": h[:, "train_unlabeled_bound"],
           "labeled_bound_curve": h[:, "train_labeled_bound"],
           "objective_curve": h[:, "train_objective"]}
    if candidate is not None:   # what the consensus rule compares: the classes it predicts
        row["unlabeled_classes"] = pack_classes(np.argmax(proba, axis=1))
    return row


def pack_classes(labels: np.ndarray) -> str:
    """Class indices 0/1 of a two-class problem packed into a hex string (8 rows a byte)."""
    if labels.size and (labels.min() < 0 or labels.max() > 1):
        raise ValueError("pack_classes packs the class indices 0 and 1 of two classes only")
    return np.packbits(labels.astype(np.uint8)).tobytes().hex() + f":{len(labels)}"


def unpack_classes(packed: str) -> np.ndarray:
    """The inverse of :func:`pack_classes`."""
    hexed, n = packed.split(":")
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexed), dtype=np.uint8))[:int(n)]


def summarise(rows: list[dict], threshold: float) -> dict:
    """Final bounds of the fits below ``threshold`` test accuracy against the others, and per
    data seed with both kinds of fit, which fit each criterion would keep."""
    low = [r for r in rows if r["accuracy"] < threshold]
    high = [r for r in rows if r["accuracy"] >= threshold]

    def mean_final(sel, key):
        return float(np.mean([r[key][-1] for r in sel])) if sel else None

    out = {"threshold": threshold, "below": len(low), "above": len(high)}
    for key in ("unlabeled_bound_curve", "labeled_bound_curve", "objective_curve"):
        out[f"{key[:-6]}_below"] = mean_final(low, key)
        out[f"{key[:-6]}_above"] = mean_final(high, key)
    if all("unlabeled_entropy" in r for r in rows):
        for name, sel in (("below", low), ("above", high)):
            out[f"unlabeled_entropy_{name}"] = (
                float(np.mean([r["unlabeled_entropy"] for r in sel])) if sel else None)
    picks = []
    for seed in sorted({r["seed"] for r in rows}):
        sel = [r for r in rows if r["seed"] == seed]
        if not any(r["accuracy"] < threshold for r in sel) or \
                not any(r["accuracy"] >= threshold for r in sel):
            continue
        pick = {"seed": seed, "fits": len(sel)}
        for key in ("unlabeled_bound_curve", "objective_curve"):
            best = max(sel, key=lambda r: r[key][-1])
            pick[f"by_{key[:-6]}"] = best["accuracy"]
        if all("unlabeled_entropy" in r for r in sel):
            pick["by_unlabeled_entropy"] = min(sel, key=lambda r: r["unlabeled_entropy"])[
                "accuracy"]
        pick["best_accuracy"] = max(r["accuracy"] for r in sel)
        picks.append(pick)
    out["restarts"] = picks
    out["candidates"] = candidate_picks(rows)
    return out


def candidate_picks(rows: list[dict]) -> list[dict]:
    """Per data seed and offset of a ``--candidates`` run, each restart's test accuracy in
    order and the restart each ``init_selection`` rule of ``n_init`` keeps (with the same
    functions as the estimator: lowest unlabeled entropy, or the consensus medoid)."""
    out = []
    for key in sorted({(r["seed"], r["random_state"]) for r in rows
                       if r.get("candidate") is not None}):
        sel = sorted((r for r in rows if (r["seed"], r["random_state"]) == key
                      and r.get("candidate") is not None), key=lambda r: r["candidate"])
        entropies = np.array([r["unlabeled_entropy"] for r in sel])
        pick = {"seed": key[0], "random_state": key[1],
                "accuracy": [r["accuracy"] for r in sel],
                "log_likelihood": [r["log_likelihood"] for r in sel],
                "entropy": int(np.argmin(entropies))}
        if len(sel) > 2:
            agreement = _agreement(np.stack([unpack_classes(r["unlabeled_classes"])
                                             for r in sel]))
            pick["consensus"] = _consensus_choice(agreement, entropies)
        out.append(pick)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="SDGM")
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, default=5, help="data seeds 0, 1, ...")
    parser.add_argument("--offsets", type=int, nargs="+", default=[0, 10],
                        help="model seeds: random_state = data seed + each offset")
    parser.add_argument("--set", default="{}", help="JSON settings over the config's")
    parser.add_argument("--candidates", type=int, default=None,
                        help="fit the N restarts of n_init=N one by one (see the docstring)")
    parser.add_argument("--every", type=int, default=1,
                        help="score after every k-th epoch and the last (scoring 10,000 test "
                             "and training rows costs more than a training epoch)")
    parser.add_argument("--threshold", type=float, default=0.9,
                        help="test accuracy below which a fit counts as collapsed")
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/collapse")
    args = parser.parse_args(argv)
    settings = json.loads(args.set)
    jobs = [dict(model=args.model, noise=args.noise, seed=s, offset=o, settings=settings,
                 n_samples=args.n_samples, epochs_scale=args.epochs_scale, candidate=k,
                 every=args.every)
            for o in args.offsets for s in range(args.seeds)
            for k in (range(args.candidates) if args.candidates else [None])]
    run_and_record(
        fit_one, jobs, args.n_jobs,
        lambda r: (f"{r['model']} noise {r['noise']} seed {r['seed']} random_state "
                   f"{r['random_state']}"
                   + (f" restart {r['candidate']}" if r["candidate"] is not None else "")
                   + f": acc {r['accuracy']:.4f}, unlabeled bound "
                   f"{r['unlabeled_bound_curve'][-1]:.4f}, objective "
                   f"{r['objective_curve'][-1]:.4f}, unlabeled entropy "
                   f"{r['unlabeled_entropy']:.4f}"),
        lambda rows: write_results(Path(args.out), "collapse", {
            "machine": machine_info(), "args": vars(args),
            "config": load_config("moons", args.model, args.noise)[1],
            "marks": list(MARKS), "summary": summarise(rows, args.threshold), "rows": rows}))


if __name__ == "__main__":
    main()
