"""Would averaging the predictions of restarts close a moons model's log p(y|x) gap?

``n_init`` keeps one of its fits (the least uncertain on the unlabeled rows).  An ensemble
would instead average the fits' predictive probabilities, which smooths whatever part of a
fit's miscalibration differs between restarts (``benchmarks/bayes_gap.py`` found the
under-confident half of SSLAPD's expected KL to come from scatter of its log-odds).  For each
data seed this fits ``--restarts`` single fits (``n_init=1``, ``random_state`` = seed + 1000 r)
of the model's config and scores on the moons search's validation draw, with the Bayes
classifier's decomposition of :func:`benchmarks.bayes_gap.gap_decomposition`:

* each fit, with its mean predictive entropy on the unlabeled training rows;
* the fit the entropy rule of ``n_init`` keeps (no labels used), and the fit the consensus
  rule (``init_selection="consensus"``) keeps: the one whose predicted classes on the
  unlabeled rows agree most with the other fits';
* the average of all the fits' probabilities;
* the average of the fits that did not collapse (validation accuracy >= ``COLLAPSED``): an
  oracle, using validation labels no estimator has, that measures what averaging alone does.

A diagnostic of the validation draws (never the test sets); no setting is chosen from it.

``--labels random`` draws the six labels at random (three per moon, seeded by the data seed)
instead of the fixed anchors: do the restarts of a random draw disagree, so that the rule
that keeps one matters, or do they share one boundary?

Run: ``python -m benchmarks.restart_average --model SSLAPD --noise 0.2 --seeds 10 11 12 13
--restarts 3``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks._common import load_config, machine_info, run_and_record, write_results
from benchmarks.bayes_gap import gap_decomposition, validation_setup
from skdgm.base import _agreement, _consensus_choice, _mean_entropy

#: validation accuracy below which a fit counts as collapsed (the collapse benchmark's 90%)
COLLAPSED = 0.9
#: the scores kept per fit or combination (the bins of the decomposition are left out)
KEYS = ("accuracy", "log_likelihood", "bayes_log_likelihood", "expected_kl",
        "kl_overconfident", "kl_underconfident", "kl_wrong_side")


def _scores(proba: np.ndarray, log_post: np.ndarray, y: np.ndarray) -> dict:
    full = gap_decomposition(proba, log_post, y)
    return {k: full[k] for k in KEYS}


def fit_seed(model: str, noise: float, seed: int, restarts: int, n_samples: int,
             epochs_scale: float, labels: str = "fixed") -> dict:
    """All restarts of one data seed (its six labels fixed or drawn at random), and the
    combinations of their predictions."""
    cls, params, X, y, X_val, y_val, log_post = validation_setup(
        model, noise, seed, {"n_init": 1}, n_samples, epochs_scale, labels)
    unlabeled = X[y == -1]
    fits, probas, classes = [], [], []
    for r in range(restarts):
        clf = cls(random_state=seed + 1000 * r, **params).fit(X, y)
        proba = clf.predict_proba(X_val)
        unlabeled_proba = clf.predict_proba(unlabeled)
        fits.append({"random_state": seed + 1000 * r,
                     "unlabeled_entropy": _mean_entropy(unlabeled_proba),
                     **_scores(proba, log_post, y_val)})
        probas.append(proba)
        classes.append(unlabeled_proba.argmax(axis=1))
    kept = [p for p, f in zip(probas, fits) if f["accuracy"] >= COLLAPSED]
    entropies = np.array([f["unlabeled_entropy"] for f in fits])
    return {"model": model, "seed": seed, "fits": fits,
            "entropy_pick": int(np.argmin(entropies)),
            "consensus_pick": (_consensus_choice(_agreement(np.stack(classes)), entropies)
                               if restarts > 1 else 0),
            "average": _scores(np.mean(probas, axis=0), log_post, y_val),
            "average_uncollapsed": (_scores(np.mean(kept, axis=0), log_post, y_val)
                                    if kept else None)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="SSLAPD")
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11],
                        help="data seeds; 10-19 are the moons search's")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--labels", choices=["fixed", "random"], default="fixed",
                        help="the six anchor labels, or six drawn at random per data seed")
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/restart_average")
    args = parser.parse_args(argv)
    out = Path(args.out)
    jobs = [dict(model=args.model, noise=args.noise, seed=s, restarts=args.restarts,
                 n_samples=args.n_samples, epochs_scale=args.epochs_scale, labels=args.labels)
            for s in args.seeds]

    def save(rows):
        write_results(out, "restart_average", {
            "machine": machine_info(), "args": vars(args),
            "config": load_config("moons", args.model, args.noise)[1],
            "collapsed_below": COLLAPSED, "rows": sorted(rows, key=lambda r: r["seed"])})

    run_and_record(
        fit_seed, jobs, args.n_jobs,
        lambda r: (f"{r['model']} seed {r['seed']}: fits' expected KL "
                   + ", ".join(f"{f['expected_kl']:.4f}" for f in r["fits"])
                   + f"; entropy pick {r['fits'][r['entropy_pick']]['expected_kl']:.4f}; average "
                   f"{r['average']['expected_kl']:.4f}"),
        save)


if __name__ == "__main__":
    main()
