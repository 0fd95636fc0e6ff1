"""Where a moons model's log p(y|x) falls short of the Bayes classifier, and what moves it.

On moons the true class posterior p*(y|x) is known (:func:`benchmarks.batch_norm.
bayes_moons_log_posterior`), so the log-likelihood gap of a fitted model p(y|x) can be taken
apart instead of only measured.  Over rows x with labels y ~ p*(y|x),
E[log p*(y|x) - log p(y|x)] = E_x KL(p*(.|x) || p(.|x)): the *expected KL* is the gap without
the noise of the drawn labels.  Per row it is split by

* whether the model is more confident than the truth (max_y p > max_y p*: *over-confident*)
  or less (*under-confident*), and
* how certain the truth is there: *near the boundary* (max p* < 0.9), *in between*
  (0.9-0.99) and *inside a moon* (>= 0.99),

and the rows where the model's and the Bayes classifier's decisions differ (*wrong side*)
carry the part of the gap that the boundary's position, not its sharpness, costs.  Reliability
curves (the model's mean p(class 1|x) in 20 bins of p*(class 1|x), and its mean log-odds in
bins of the true log-odds, where under-confidence inside the moons shows, with each bin's
part of the expected KL and the spread of the model's log-odds) give the shape of the
miscalibration.

Each variant (JSON settings over the model's config at that noise level, ``{}`` = the config
itself) is fitted on the data seeds of the moons search (``make_ssl_moons`` with
``random_state`` = seed, the model's ``random_state`` = seed) and scored on that search's
validation draw (:func:`benchmarks.moons_search.validation_set`), never on the test sets;
every fit of a model with a chain (``n_gibbs``; not DNN or M2, which predict with q(y|x)) is
also scored with the longer or shorter chains of ``--n-gibbs``.  A diagnostic: no config is
chosen from it.

Run: ``python -m benchmarks.bayes_gap --model SSLAPD --noise 0.2 --seeds 10 11 12 13
--variants '{}' '{"prior_std": 0.1}' --n-gibbs 10 1000``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks._common import load_config, machine_info, run_and_record, write_results
from benchmarks.batch_norm import bayes_moons_log_posterior
from benchmarks.moons_search import validation_set
from skdgm.datasets import make_ssl_moons

#: bounds of the truth's confidence max_y p*(y|x) that split the rows into bands
BANDS = {"boundary": (0.0, 0.9), "between": (0.9, 0.99), "inside": (0.99, 1.0 + 1e-12)}
#: bins of p*(class 1|x) of the reliability curve
N_BINS = 20
#: edges of the bins of the true log-odds log p*(1|x) / p*(0|x) of the log-odds curve (the
#: first and last bins open-ended), and the clip of the model's log-odds (+-20: probabilities
#: within 2e-9 of 0 or 1)
LOGIT_EDGES = np.linspace(-16, 16, 17)
LOGIT_CLIP = 20.0


def gap_decomposition(proba: np.ndarray, log_post: np.ndarray, y: np.ndarray) -> dict:
    """Log-likelihood gap of class probabilities ``proba`` (n, 2) to the true posterior
    ``exp(log_post)`` on rows with labels ``y``, taken apart as the module docstring says.

    The ``kl_*`` entries are sums over a group of rows divided by *all* rows, so the groups
    add up to ``expected_kl``."""
    n = len(y)
    p = np.clip(proba, 1e-300, None)
    log_p = np.log(p)
    truth = np.exp(log_post)
    kl_rows = np.sum(truth * (log_post - log_p), axis=1)
    conf, conf_true = p.max(axis=1), truth.max(axis=1)
    over = conf > conf_true
    wrong = np.argmax(p, axis=1) != np.argmax(truth, axis=1)
    out = {
        "accuracy": float(np.mean(np.argmax(p, axis=1) == y)),
        "log_likelihood": float(np.mean(log_p[np.arange(n), y])),
        "bayes_accuracy": float(np.mean(np.argmax(truth, axis=1) == y)),
        "bayes_log_likelihood": float(np.mean(log_post[np.arange(n), y])),
        "expected_kl": float(np.mean(kl_rows)),
        "share_overconfident": float(np.mean(over)),
        "kl_overconfident": float(np.sum(kl_rows[over]) / n),
        "kl_underconfident": float(np.sum(kl_rows[~over]) / n),
        "share_wrong_side": float(np.mean(wrong)),
        "kl_wrong_side": float(np.sum(kl_rows[wrong]) / n),
        "entropy": float(np.mean(-np.sum(p * log_p, axis=1))),
        "bayes_entropy": float(np.mean(-np.sum(truth * log_post, axis=1))),
    }
    out["gap"] = out["bayes_log_likelihood"] - out["log_likelihood"]
    for band, (lo, hi) in BANDS.items():
        sel = (conf_true >= lo) & (conf_true < hi)
        out[f"share_{band}"] = float(np.mean(sel))
        out[f"kl_{band}"] = float(np.sum(kl_rows[sel]) / n)
        out[f"kl_{band}_overconfident"] = float(np.sum(kl_rows[sel & over]) / n)
    edges = np.linspace(0, 1, N_BINS + 1)
    which = np.clip(np.digitize(truth[:, 1], edges) - 1, 0, N_BINS - 1)
    out["reliability"] = [
        [float(np.mean(truth[which == b, 1])), float(np.mean(p[which == b, 1])),
         int(np.sum(which == b))] if np.any(which == b) else None for b in range(N_BINS)]
    # the same on the log-odds scale, where under-confidence inside the moons shows
    # (p = 0.99 against p* = 0.9999 is 4.6 against 9.2)
    true_logit = log_post[:, 1] - log_post[:, 0]
    logit = np.clip(log_p[:, 1] - log_p[:, 0], -LOGIT_CLIP, LOGIT_CLIP)
    which = np.clip(np.digitize(true_logit, LOGIT_EDGES) - 1, 0, len(LOGIT_EDGES) - 2)
    # per bin: the truth's and the model's mean log-odds, the rows, the bin's part of the
    # expected KL (and of its under-confident part), and the spread of the model's log-odds
    # (at the same truth, scatter costs KL even where the means agree: the KL is convex)
    out["log_odds"] = [
        [float(np.mean(true_logit[which == b])), float(np.mean(logit[which == b])),
         int(np.sum(which == b)), float(np.sum(kl_rows[which == b]) / n),
         float(np.sum(kl_rows[(which == b) & ~over]) / n), float(np.std(logit[which == b]))]
        if np.any(which == b) else None for b in range(len(LOGIT_EDGES) - 1)]
    return out


def weight_variances(module) -> list[list[float]] | None:
    """Per Bayesian layer (:class:`skdgm.nn.layers.BayesianLinear`, in order) of a fitted
    module: inputs, outputs, the 10%, 50% and 90% quantiles of its weights' posterior
    log-variances, and the share of weights whose posterior std exceeds the magnitude of their
    mean (weights the posterior has left at noise).  Thesis 5.1.3 observes the variances grow
    from their tiny start during training.  ``None`` for modules without such layers."""
    import torch

    from skdgm.nn.layers import BayesianLinear

    out = []
    for layer in module.modules():
        if isinstance(layer, BayesianLinear):
            log_var = layer.weight_log_var.detach().double().ravel()
            mu = layer.weight_mu.detach().double().ravel()
            q = torch.quantile(log_var, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
            out.append([layer.weight_mu.shape[1], layer.weight_mu.shape[0], *map(float, q),
                        float(torch.mean((torch.exp(0.5 * log_var) > mu.abs()).double()))])
    return out or None


def validation_setup(model: str, noise: float, seed: int, settings: dict, n_samples: int,
                     epochs_scale: float, labels: str = "fixed") -> tuple:
    """What a diagnostic fit on the moons search's data seed ``seed`` needs: the estimator
    class and its parameters (the config at ``noise`` with ``settings`` over it, the epochs,
    and a warm-up no longer than them, scaled by ``epochs_scale``), the training rows ``X, y``
    (``labels``: the six fixed anchors, or six drawn at random, three per moon, as
    :func:`skdgm.datasets.make_ssl_moons` does) and the validation draw ``X_val, y_val`` with
    its true log posterior ``log_post``."""
    cls, params = load_config("moons", model, noise)
    params.update(settings)
    params["max_epochs"] = max(1, round(params["max_epochs"] * epochs_scale))
    if "kl_warmup" in params:
        params["kl_warmup"] = min(params["kl_warmup"], params["max_epochs"])
    X, y, _ = make_ssl_moons(n_samples, noise, labels=labels, random_state=seed)
    X_val, y_val = validation_set(n_samples, noise, seed)
    return cls, params, X, y, X_val, y_val, bayes_moons_log_posterior(X_val, noise)


def fit_one(model: str, noise: float, seed: int, variant: str, n_gibbs: list[int],
            n_samples: int, epochs_scale: float) -> dict:
    cls, params, X, y, X_val, y_val, log_post = validation_setup(
        model, noise, seed, json.loads(variant), n_samples, epochs_scale)
    clf = cls(random_state=seed, **params).fit(X, y)
    # DNN and M2 predict with q(y|x) alone: no chain (their ``n_gibbs`` is a fixed 1)
    fitted_steps = clf.get_params().get("n_gibbs")
    out = {"fitted_n_gibbs": fitted_steps, "by_n_gibbs": {},
           "weight_log_var": weight_variances(clf.module_)}
    if fitted_steps is None:  # a model without a chain: its one prediction rule
        out.update(gap_decomposition(clf.predict_proba(X_val), log_post, y_val))
        return out
    for steps in dict.fromkeys([fitted_steps, *n_gibbs]):  # the fit's own chain first
        clf.n_gibbs = steps
        scores = gap_decomposition(clf.predict_proba(X_val), log_post, y_val)
        if steps == fitted_steps:
            out.update(scores)
        else:
            out["by_n_gibbs"][str(steps)] = {
                k: v for k, v in scores.items() if k not in ("reliability", "log_odds")}
    return out


def summarise(rows: list[dict], variants: list[str]) -> list[dict]:
    """Per variant: means over its seeds of the decomposition (the fit's own chain), and of
    the expected KL and log p(y|x) with each other chain length."""
    keys = [k for k in rows[0] if k.startswith(("kl_", "share_")) or k in (
        "accuracy", "log_likelihood", "bayes_log_likelihood", "gap", "expected_kl",
        "entropy", "bayes_entropy")] if rows else []
    out = []
    for variant in variants:
        sel = [r for r in rows if r["variant"] == variant]
        if not sel:
            continue
        s = {"variant": variant, "seeds": sorted(r["seed"] for r in sel),
             **{k: float(np.mean([r[k] for r in sel])) for k in keys}, "by_n_gibbs": {}}
        for steps in sel[0]["by_n_gibbs"]:
            s["by_n_gibbs"][steps] = {
                k: float(np.mean([r["by_n_gibbs"][steps][k] for r in sel]))
                for k in ("expected_kl", "log_likelihood", "accuracy")}
        out.append(s)
    return out


def plot(rows: list[dict], variants: list[str], path: Path) -> None:
    """Reliability curves, per variant (means over its seeds, bins with rows in every seed):
    the model's mean p(class 1|x) against the truth's, and the same on the log-odds scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    panels = (("reliability", "p*(class 1 | x)", "p(class 1 | x)", (0, 1)),
              ("log_odds", "log p*(1|x) / p*(0|x)", "log p(1|x) / p(0|x)",
               (-LOGIT_CLIP, LOGIT_CLIP)))
    for ax, (key, xlabel, ylabel, lims) in zip(axes, panels):
        ax.plot(lims, lims, color="grey", lw=0.8, label="the Bayes classifier")
        for variant in variants:
            sel = [r[key] for r in rows if r["variant"] == variant and key in r]
            if not sel:
                continue
            pts = [(np.mean([c[b][0] for c in sel]), np.mean([c[b][1] for c in sel]))
                   for b in range(len(sel[0])) if all(c[b] is not None for c in sel)]
            ax.plot(*zip(*pts), marker="o", ms=3,
                    label=variant if variant != "{}" else "config")
        ax.set_xlabel(f"truth: {xlabel}, bin mean")
        ax.set_ylabel(f"model: {ylabel}, bin mean")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="SSLAPD")
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11],
                        help="data (and model) seeds; 10-19 are the moons search's")
    parser.add_argument("--variants", nargs="+", default=["{}"],
                        help="JSON settings over the config's, one fit per seed each")
    parser.add_argument("--n-gibbs", type=int, nargs="*", default=[],
                        help="other Gibbs chain lengths to score every fit with")
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/bayes_gap")
    args = parser.parse_args(argv)
    for v in args.variants:
        json.loads(v)  # fail before any fit on a malformed variant
    out = Path(args.out)
    jobs = [dict(model=args.model, noise=args.noise, seed=s, variant=v, n_gibbs=args.n_gibbs,
                 n_samples=args.n_samples, epochs_scale=args.epochs_scale)
            for v in args.variants for s in args.seeds]

    def save(rows):
        write_results(out, "bayes_gap", {
            "machine": machine_info(), "args": vars(args),
            "config": load_config("moons", args.model, args.noise)[1],
            "bands": BANDS, "summary": summarise(rows, args.variants), "rows": rows})
        plot(rows, args.variants, out / "bayes_gap.png")

    run_and_record(
        fit_one, jobs, args.n_jobs,
        lambda r: (f"{r['model']} seed {r['seed']} {r['variant']}: acc {r['accuracy']:.4f}, "
                   f"log p {r['log_likelihood']:.4f} (Bayes {r['bayes_log_likelihood']:.4f}), "
                   f"expected KL {r['expected_kl']:.4f}, over-confident part "
                   f"{r['kl_overconfident']:.4f}"),
        save)


if __name__ == "__main__":
    main()
