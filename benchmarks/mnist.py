"""Semi-supervised MNIST, thesis Tables 5.3/5.4: DNN, M2, SSLPE, SSLAPD.

The standard 60,000/10,000 split; from the training set ``k`` labels per class are drawn by a
seeded sampler (split ``s`` uses seed ``s``), the other rows are unlabeled (-1).  Pixels are
grey levels in [0, 1] under a Bernoulli likelihood, binarised afresh in every training batch
(:class:`skdgm.StochasticBinarization`, as the reference code did) for the generative models
whose config names that callback; pixels whose training-set standard
deviation is below 0.1 are dropped by a :class:`~sklearn.feature_selection.VarianceThreshold`
in front of the classifier in one :class:`~sklearn.pipeline.Pipeline` (784 -> 444 inputs).
Nets 500-500, latent 100; hyper-parameters: ``benchmarks/configs/mnist/<model>.json`` (its
``by_labels`` entry, where it has one, for that number of labels per class).
Reports test accuracy and the mean test log p(y|x) in nats per row.

Profiles
--------
``--quick`` (2-core CPU: 19 min on an Intel Xeon, 32 min on an AMD EPYC, about 90 min on
an AMD EPYC shared with other runs): labels per class 20 and 100, one split, 8 epochs for
M2, SSLPE and SSLAPD (the config's epochs for the DNN, which only sees the labeled rows).
``--full`` (GPU; the thesis protocol): labels per class 10, 20, 60, 100, 300, five splits,
the config's epochs (SSLPE 150, SSLAPD 100, M2 100, DNN 500): 8,750 epochs of the
generative models, about 2.5 hours on one H100 with ``--n-jobs 8`` (eight fits in parallel
took 7-9 s an epoch each in ``benchmarks/results/mnist_cuda_current*``), more than one
15-minute lease.

Choosing hyper-parameters: ``--validation N`` holds out N training rows (the same rows in
every run, drawn by a fixed seed) and scores on them instead of the test set; ``--set JSON``
overrides the configs' estimator settings per model, e.g. ``--validation 10000 --set
'{"SSLPE": {"lr": 0.001}}'``; ``--first-split S`` runs splits S, S + 1, ... (another label
draw).  The report lists such runs apart from the test results.

Learning curves: ``--curve-every K`` also scores the test (or ``--validation``) rows every K
epochs and after the last, without touching the fit's random streams (one long fit then shows
how the gap moves with epochs; ``mnist_curve.png`` plots it); ``--threads T`` gives each fit T
torch threads (default 1; two suit one long fit on a 2-core machine); ``--replot DIR`` redraws
a finished run's plot.

Run: ``python -m benchmarks.mnist --quick`` (or ``--full --device cuda``); the data comes from
:func:`skdgm.datasets.load_mnist` (``--data PATH``, ``$SKDGM_MNIST``, ``~/.skdgm/mnist.npz`` or
``--download``).  Results are written after every finished fit.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import make_pipeline

from benchmarks._common import (
    EpochProgress,
    EpochScores,
    evaluate,
    load_config,
    machine_info,
    read_configs,
    run_and_record,
    scores,
    write_results,
)
from skdgm.datasets import load_mnist, make_ssl_split

#: pixels with a training-set standard deviation below this are dropped (reference code)
PIXEL_STD_THRESHOLD = 0.1
#: seed of the sampler that holds out ``--validation`` training rows
VALIDATION_SEED = 2017
#: Gibbs steps of the longer predictive rule in :func:`predictor_check`
GIBBS_LONG = 100
#: Table 5.3, test accuracy % (std), by labels per class
THESIS_ACCURACY = {
    20: {"DNN": (79.6, 0.26), "M2": (92.4, 0.71), "SSLPE": (92.0, 0.47), "SSLAPD": (92.3, 0.73)},
    60: {"DNN": (87.2, 0.21), "M2": (95.7, 0.25), "SSLPE": (95.6, 0.34), "SSLAPD": (95.0, 0.17)},
    100: {"DNN": (89.9, 0.23), "M2": (96.4, 0.32), "SSLPE": (96.4, 0.23), "SSLAPD": (95.9, 0.18)},
    300: {"DNN": (94.1, 0.12), "M2": (97.5, 0.18), "SSLPE": (97.3, 0.20), "SSLAPD": (97.0, 0.17)},
}
#: Table 5.4 as printed ("log-likelihood", no unit given).  The numbers fall with accuracy as a
#: mean test -log p(y|x) does, and match it in size when read as 10^-3 nats per row (DNN at 79.6%
#: accuracy: 990 -> 0.99 nats); that reading is ours, not the thesis's.
THESIS_TABLE_5_4 = {
    20: {"DNN": 990, "M2": 415, "SSLPE": 524, "SSLAPD": 305},
    60: {"DNN": 708, "M2": 219, "SSLPE": 332, "SSLAPD": 190},
    100: {"DNN": 539, "M2": 164, "SSLPE": 198, "SSLAPD": 152},
    300: {"DNN": 357, "M2": 112, "SSLPE": 126, "SSLAPD": 110},
}


def thesis_log_likelihood(labels_per_class: int, model: str) -> float | None:
    """Table 5.4's entry for ``model`` read as a mean test log p(y|x) in nats per row (-entry
    / 1000, our reading; see ``THESIS_TABLE_5_4``), or None where the table has none."""
    entry = THESIS_TABLE_5_4.get(labels_per_class, {}).get(model)
    return None if entry is None else -entry / 1000


PROFILES = {
    "quick": {"labels": [20, 100], "splits": 1, "epochs": 8, "models": ["DNN", "M2", "SSLPE",
                                                                         "SSLAPD"]},
    "full": {"labels": [10, 20, 60, 100, 300], "splits": 5, "epochs": None,
             "models": ["DNN", "M2", "SSLPE", "SSLAPD"]},
}


DEFAULT_OUT = "benchmarks/results/mnist"


def command_line(args: dict) -> str:
    """The ``python -m benchmarks.mnist`` command of a run, from its recorded arguments
    (options equal to the profile's or the parser's defaults are left out)."""
    prof = PROFILES[args["profile"]]
    parts = ["python -m benchmarks.mnist", f"--{args['profile']}"]
    for key in ("models", "labels", "splits", "epochs"):
        if args.get(key) is not None and args[key] != prof[key]:
            val = args[key]
            parts.append(f"--{key} " + (" ".join(map(str, val)) if isinstance(val, list)
                                        else str(val)))
    defaults = {"first_split": 0, "device": "cpu", "n_jobs": 2, "threads": 1, "data": None,
                "download": False, "n_train": None, "n_test": None, "validation": 0,
                "curve_every": 0, "set": "{}", "out": DEFAULT_OUT, "replot": None}
    for key, default in defaults.items():
        val = args.get(key, default)
        if val != default:
            flag = "--" + key.replace("_", "-")
            parts.append(flag if val is True else f"{flag} {shlex.quote(str(val))}")
    return " ".join(parts)


def validation_split(X: np.ndarray, y: np.ndarray, n_validation: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val): ``n_validation`` training rows drawn by a fixed seeded
    sampler (``VALIDATION_SEED``, the same rows in every run) held out, fully labeled, for
    choosing hyper-parameters; the test set is never used for that."""
    if not 0 < n_validation < len(y):
        raise ValueError(f"--validation must be between 1 and {len(y) - 1} rows, got "
                         f"{n_validation}.")
    held = np.zeros(len(y), dtype=bool)
    held[np.random.default_rng(VALIDATION_SEED).choice(len(y), n_validation,
                                                       replace=False)] = True
    return X[~held], y[~held], X[held], y[held]


def fit_one(model: str, labels_per_class: int, split: int, epochs: int | None, data: str | None,
            download: bool, device: str, n_train: int | None, n_test: int | None,
            validation: int = 0, settings: dict | None = None, curve_every: int = 0,
            threads: int = 1) -> dict:
    torch.set_num_threads(threads)
    cls, params = load_config("mnist", model, labels_per_class=labels_per_class)
    params.update(settings or {})
    if epochs is not None and model != "DNN":
        params["max_epochs"] = epochs
    X, y_full, X_test, y_test = load_mnist(data, download=download)
    if validation:  # score on held-out training rows instead of the test set
        X, y_full, X_test, y_test = validation_split(X, y_full, validation)
    X, y_full = X[:n_train], y_full[:n_train]
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    y = make_ssl_split(y_full, labels_per_class, random_state=split)
    label = f"{model} {labels_per_class}/class split {split}"
    callbacks = [EpochProgress(label)] + params.pop("callbacks", [])
    curve = None
    if curve_every and model != "DNN":
        # the pipeline's pixel selection is unsupervised and deterministic: the same columns
        pixels = VarianceThreshold(PIXEL_STD_THRESHOLD ** 2).fit(X)
        # y_test as class indices: MNIST's labels 0-9 are the fit's classes_
        curve = EpochScores(pixels.transform(X_test), y_test, every=curve_every)
        callbacks.append(curve)
    clf = cls(random_state=split, device=device, callbacks=callbacks, **params)
    if curve is not None:
        curve.n_gibbs = clf.n_gibbs  # the fit's own prediction budget
    pipe = make_pipeline(VarianceThreshold(PIXEL_STD_THRESHOLD ** 2), clf).fit(X, y)
    extra = predictor_check(pipe, X_test, y_test) if model in ("SSLPE", "SSLAPD") else {}
    if curve is not None:
        extra["curve"] = [{"epoch": h["epoch"], "accuracy": h["test_acc"],
                           "log_likelihood": h["test_log_lik"], "elbo": h["test_elbo"]}
                          for h in clf.history_ if "test_acc" in h]
    return {**evaluate(pipe, X_test, y_test), "epochs": params["max_epochs"],
            "n_features": int(pipe[0].get_support().sum()), **extra}


def predictor_check(pipe, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Test accuracy and log p(y|x) of the same SSLPE/SSLAPD fit under other predictive rules
    than its Gibbs sampler with ``n_gibbs`` steps (thesis 4.4): the recognition net q(y|x)
    alone, and the Gibbs sampler with ``GIBBS_LONG`` steps (the reference code's SSLPE ran
    100).  Tells whether a gap lies in the classifier p(y|x, z) or in the predictive rule."""
    clf = pipe[-1]
    q = clf.recognition_proba(pipe[:-1].transform(X_test))
    out = {f"{key}_qy": val for key, val in scores(clf.classes_, q, y_test).items()}
    steps = clf.n_gibbs
    try:
        clf.n_gibbs = GIBBS_LONG
        out.update({f"{key}_gibbs{GIBBS_LONG}": val
                    for key, val in evaluate(pipe, X_test, y_test).items()})
    finally:
        clf.n_gibbs = steps
    return out


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for k, model in sorted({(r["labels_per_class"], r["model"]) for r in rows}):
        sel = [r for r in rows if (r["labels_per_class"], r["model"]) == (k, model)]
        acc = 100 * np.array([r["accuracy"] for r in sel])
        ll = np.array([r["log_likelihood"] for r in sel])
        thesis = THESIS_ACCURACY.get(k, {}).get(model)
        out.append({"labels_per_class": k, "model": model, "runs": len(sel),
                    "epochs": sel[0]["epochs"],
                    "accuracy_mean": acc.mean(), "accuracy_std": acc.std(),
                    "log_lik_mean": ll.mean(), "log_lik_std": ll.std(),
                    "thesis_accuracy": None if thesis is None else thesis[0],
                    "thesis_accuracy_std": None if thesis is None else thesis[1],
                    "thesis_table_5_4": THESIS_TABLE_5_4.get(k, {}).get(model)})
    return out


def plot_curves(rows: list[dict], path: Path) -> None:
    """Test accuracy and log p(y|x) by epoch of every fit with a ``curve`` (``--curve-every``),
    with the thesis's accuracy (Table 5.3) and log p(y|x) (Table 5.4, read as -log p / 1000);
    for ``--validation`` fits the validation scores, without the thesis's test numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    validation = any(r.get("validation") for r in rows)
    for r in (r for r in rows if r.get("curve")):
        k, model = r["labels_per_class"], r["model"]
        name = f"{model} {k}/class split {r['split']}"
        epochs = [c["epoch"] for c in r["curve"]]
        line, = axes[0].plot(epochs, [100 * c["accuracy"] for c in r["curve"]], marker="o",
                             ms=3, label=name)
        axes[1].plot(epochs, [c["log_likelihood"] for c in r["curve"]], marker="o", ms=3,
                     color=line.get_color(), label=name)
        if validation:
            continue
        if (acc := THESIS_ACCURACY.get(k, {}).get(model)) is not None:
            axes[0].axhline(acc[0], ls="--", lw=0.8, color=line.get_color(),
                            label=f"thesis {model} {k}/class")
        if (ll := thesis_log_likelihood(k, model)) is not None:
            axes[1].axhline(ll, ls="--", lw=0.8, color=line.get_color(),
                            label=f"thesis {model} {k}/class (read as -log p / 1000)")
    rows_name = "validation" if validation else "test"
    for ax, ylabel in zip(axes, (f"{rows_name} accuracy (%)",
                                 f"{rows_name} log p(y|x) (nats per row)")):
        ax.set_xlabel("epochs trained")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options, with the profile's values where an option is not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--quick", dest="profile", action="store_const", const="quick")
    profile.add_argument("--full", dest="profile", action="store_const", const="full")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--labels", type=int, nargs="+", help="labels per class")
    parser.add_argument("--splits", type=int)
    parser.add_argument("--first-split", type=int, default=0, metavar="S",
                        help="run splits S .. S + splits - 1 (to add splits to a run, or "
                             "share them between machines)")
    parser.add_argument("--epochs", type=int, help="epochs of M2/SSLPE/SSLAPD (DNN: config)")
    parser.add_argument("--data", help="MNIST .npz (default: load_mnist's search path)")
    parser.add_argument("--download", action="store_true", help="fetch MNIST from OpenML")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-train", type=int, help="first rows of the training set only")
    parser.add_argument("--n-test", type=int,
                        help="first rows of the test (or --validation) set only")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per fit (default 1: several small fits in "
                             "parallel run fastest single-threaded)")
    parser.add_argument("--curve-every", type=int, default=0, metavar="K",
                        help="also score the test (or --validation) rows every K epochs and "
                             "after the last (a learning curve; M2/SSLPE/SSLAPD); scores "
                             "only, they choose nothing")
    parser.add_argument("--validation", type=int, default=0, metavar="N",
                        help="hold out N training rows (fixed seed) and score on them, not "
                             "on the test set: for choosing hyper-parameters")
    parser.add_argument("--set", default="{}", metavar="JSON",
                        help='estimator settings over the configs\', per model, e.g. '
                             '\'{"SSLPE": {"lr": 0.001}}\'')
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--replot", metavar="DIR",
                        help="only redraw DIR/mnist_curve.png from DIR/mnist.json (no fits)")
    parser.set_defaults(profile="quick")
    args = parser.parse_args(argv)
    try:
        settings = json.loads(args.set)
    except json.JSONDecodeError as err:
        parser.error(f"--set is not valid JSON: {err}")
    if not (isinstance(settings, dict) and all(isinstance(v, dict) for v in settings.values())):
        parser.error("--set takes a JSON object of settings per model, e.g. "
                     '\'{"SSLPE": {"lr": 0.001}}\'')
    if any("callbacks" in v for v in settings.values()):
        parser.error("--set cannot change callbacks (they come from the config files)")
    if args.first_split < 0:
        parser.error("--first-split must be 0 or more")
    if args.threads < 1 or args.curve_every < 0:
        parser.error("--threads must be 1 or more, --curve-every 0 or more")
    prof = PROFILES[args.profile]
    for key in ("models", "labels", "splits", "epochs"):
        if getattr(args, key) is None:
            setattr(args, key, prof[key])
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.replot:
        out = Path(args.replot)
        plot_curves(json.loads((out / "mnist.json").read_text())["rows"], out / "mnist_curve.png")
        return
    load_mnist(args.data, download=args.download)  # fail early, with the loader's message
    order = {"M2": 0, "SSLAPD": 0, "SSLPE": 0, "DNN": 1}
    jobs = sorted((dict(model=m, labels_per_class=k, split=s) for k in args.labels
                   for s in range(args.first_split, args.first_split + args.splits)
                   for m in args.models),
                  key=lambda j: (order.get(j["model"], 2), -j["labels_per_class"]))
    settings = json.loads(args.set)
    jobs = [{**job, "epochs": args.epochs, "data": args.data, "download": args.download,
             "device": args.device, "n_train": args.n_train, "n_test": args.n_test,
             "validation": args.validation, "settings": settings.get(job["model"], {}),
             "curve_every": args.curve_every, "threads": args.threads}
            for job in jobs]
    configs = read_configs("mnist")  # as the fits start, not as a long run ends
    start = time.perf_counter()
    rows = run_and_record(
        fit_one, jobs, args.n_jobs,
        lambda r: (f"{r['model']:6s} {r['labels_per_class']}/class split {r['split']}: acc "
                   f"{r['accuracy']:.4f} log-lik {r['log_likelihood']:.4f} "
                   f"({r['seconds']:.0f} s)"),
        lambda rows: write_results(Path(args.out), "mnist", {
            "machine": machine_info(), "args": vars(args), "command": command_line(vars(args)),
            "config": configs,
            "summary": summarise(rows), "rows": rows,
            "wall_seconds": time.perf_counter() - start}))
    if any(r.get("curve") for r in rows):
        plot_curves(rows, Path(args.out) / "mnist_curve.png")
    for s in summarise(rows):
        print(f"{s['labels_per_class']:4d}/class {s['model']:6s}: acc {s['accuracy_mean']:.2f} "
              f"({s['accuracy_std']:.2f}) log-lik {s['log_lik_mean']:.4f}  thesis "
              f"{s['thesis_accuracy']}")


if __name__ == "__main__":
    main()
