"""Shared helpers of the benchmark scripts: machine info, parallel jobs, result files."""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.metrics import log_loss
from skorch.callbacks import Callback


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
    return scores(clf.classes_, clf.predict_proba(X), y)


def scores(classes: np.ndarray, proba: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and mean log p(y|x) (nats per row) of class probabilities ``proba`` (columns
    in the order of ``classes``) against labels ``y``."""
    return {"accuracy": float(np.mean(classes[np.argmax(proba, axis=1)] == y)),
            "log_likelihood": float(-log_loss(y, proba, labels=classes))}


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


def run_and_record(fn, jobs: list[dict], n_jobs: int, describe, save,
                   rows: list[dict] | None = None) -> list[dict]:
    """Run ``jobs`` with :func:`run_jobs`; append each result to ``rows`` (earlier results,
    e.g. of a resumed run) as it finishes, print ``[i/n] describe(row)`` and call
    ``save(rows)``, so that a long run shows progress and keeps its partial results."""
    rows = [] if rows is None else rows
    total = len(rows) + len(jobs)
    for row in run_jobs(fn, jobs, n_jobs):
        rows.append(row)
        print(f"[{len(rows)}/{total}] {describe(row)}", flush=True)
        save(rows)
    return rows


def write_results(out: Path, name: str, payload: dict) -> Path:
    """Write ``payload`` as ``out/name.json`` and its ``rows`` as ``out/name.csv`` (nested
    values as JSON text)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    rows = payload.get("rows", [])
    if rows:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(out / f"{name}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            for r in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                                 for k, v in r.items()})
    return path


class EpochProgress(Callback):
    """Print the job label, epoch, seconds and training loss, about 20 times per fit:
    progress for long runs that write to a log file, where a progress bar would be noise."""

    def __init__(self, label: str):
        self.label = label

    def on_epoch_end(self, net, **kwargs):
        h = net.history[-1]
        if h["epoch"] % max(1, net.max_epochs // 20) and h["epoch"] != net.max_epochs:
            return  # about 20 lines per fit
        loss = h.get("train_loss", float("nan"))
        print(f"  {self.label}: epoch {h['epoch']}/{net.max_epochs} {h['dur']:.1f} s "
              f"loss {loss:.4g}", flush=True)


class EpochScores(Callback):
    """Record after every epoch the test accuracy (``test_acc``, Gibbs prediction with
    ``n_gibbs`` steps) and the test ELBO per row (``test_elbo``: unlabeled bound minus the
    weight KL per training row); given the training data (``X_train``, ``y_train`` with -1 for
    unlabeled rows), also the mean unlabeled bound (4.9) of its unlabeled rows
    (``train_unlabeled_bound``), the mean labeled bound (4.5) of its labeled rows
    (``train_labeled_bound``) and the objective the fit maximises, with its weights, alpha and
    the weight KL (``train_objective``).

    Also records ``test_log_lik``, the mean test log p(y|x) in nats per row.  ``y`` holds
    class indices (the columns of the module's probabilities).  With ``every=k`` it scores
    only every k-th epoch and the last (a long fit on a large test set).

    It draws its noise from forked random streams, so the fit is exactly the one it would be
    without the callback.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_gibbs: int = 10,
                 X_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                 every: int = 1):
        self.X, self.y, self.n_gibbs = X, y, n_gibbs
        self.X_train, self.y_train = X_train, y_train
        self.every = every

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every and epoch != net.max_epochs:
            return
        module = net.module_
        dev = net.device
        x = torch.as_tensor(self.X, dtype=torch.float32, device=dev)
        devices = [torch.device(dev).index or 0] if torch.device(dev).type == "cuda" else []
        module.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(0)
            gen = torch.Generator(device=dev).manual_seed(0)
            p = module.predict_proba(x, self.n_gibbs, gen).cpu().numpy()
            none = torch.zeros(0, dtype=torch.long, device=dev)
            bound = module.bounds(x[:0], none, x)
            elbo = bound["unlabeled"].mean() - module.global_kl() / net.n_train
            if self.X_train is not None:
                xt = torch.as_tensor(self.X_train, dtype=torch.float32, device=dev)
                labeled = torch.as_tensor(self.y_train >= 0, device=dev)
                terms = module.objective(
                    xt[labeled], torch.as_tensor(self.y_train, device=dev)[labeled],
                    xt[~labeled], labeled_weight=net.labeled_weight, alpha=net.alpha,
                    n_train=net.n_train)
        module.train()
        p = p.astype(np.float64)
        test = scores(np.arange(p.shape[1]), p / p.sum(1, keepdims=True), self.y)
        net.history.record("test_acc", test["accuracy"])
        net.history.record("test_log_lik", test["log_likelihood"])
        net.history.record("test_elbo", float(elbo))
        if self.X_train is not None:
            net.history.record("train_unlabeled_bound", float(terms["unlabeled_bound"]))
            net.history.record("train_labeled_bound", float(terms["labeled_bound"]))
            net.history.record("train_objective", float(-terms["loss"]))


CONFIGS = Path(__file__).parent / "configs"


def read_configs(benchmark: str) -> dict[str, dict]:
    """Every model's config file of ``benchmarks/configs/<benchmark>/``, by model name."""
    return {p.stem: json.loads(p.read_text())
            for p in sorted((CONFIGS / benchmark).glob("*.json"))}


def load_config(benchmark: str, model: str, noise: float | None = None,
                labels_per_class: int | None = None) -> tuple[type, dict]:
    """Estimator class and parameters of ``model`` from ``configs/<benchmark>/<model>.json``;
    ``noise`` applies that file's ``by_noise`` entry (settings chosen per noise level),
    ``labels_per_class`` its ``by_labels`` entry (per number of labels, MNIST), and the file's
    ``callbacks`` (names in :mod:`skdgm.callbacks`) become the ``callbacks`` parameter."""
    import skdgm

    path = CONFIGS / benchmark / f"{model}.json"
    if not path.is_file():
        raise ValueError(f"no config for model {model!r}: {path} does not exist")
    spec = json.loads(path.read_text())
    params = effective_params(spec, noise, labels_per_class)
    if spec.get("callbacks"):  # names of skdgm.callbacks classes, made with no arguments
        params["callbacks"] = [getattr(skdgm.callbacks, name)() for name in spec["callbacks"]]
    return getattr(skdgm, spec["class"]), params


def effective_params(spec: dict, noise: float | None = None,
                     labels_per_class: int | None = None) -> dict:
    """The parameters a config file ``spec`` sets at ``noise`` and ``labels_per_class``: its
    ``params`` updated by its ``by_noise`` entry for that noise level and its ``by_labels``
    entry for that number of labels per class (none where the argument is None)."""
    params = dict(spec["params"])
    if noise is not None:
        params.update(spec.get("by_noise", {}).get(f"{noise:g}", {}))
    if labels_per_class is not None:
        params.update(spec.get("by_labels", {}).get(str(labels_per_class), {}))
    return params
