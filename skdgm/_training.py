"""The skorch side of training: semi-supervised minibatches and the training step.

:class:`SemiSupervisedLoader` draws, for every unlabeled batch, a labeled batch beside it, so
every optimisation step sees labeled data even with 6 labels among 10,000 rows.  The data are
held as tensors on the training device and indexed directly (no per-row collation).

:class:`DGMNet` is a :class:`skorch.NeuralNet` whose training and validation steps evaluate
the module's semi-supervised objective (:meth:`skdgm.nn.base.SemiSupervisedModule.objective`).
Everything else (epochs, callbacks, LR schedules, history, checkpointing) is skorch's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from torch.utils.data import Subset

#: the smallest normal float32; below it (and above 0) a float32 is subnormal
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def flushing_denormals() -> bool:
    """Whether this thread treats subnormal floats as zero on the CPU (``torch.set_flush_
    denormal``, which has no getter): a subnormal float32 then reads as 0 after arithmetic."""
    return bool((torch.tensor([_FLOAT32_TINY / 4]) * 1.0).item() == 0.0)


@contextlib.contextmanager
def cpu_flush_denormals(device) -> Iterator[None]:
    """On the CPU, treat subnormal floats as zero while the block runs, then restore the
    thread's previous mode; elsewhere do nothing.

    Training drives some gradients, and Adam's averages of their squares, below the smallest
    normal float32 (e.g. those of pixels that are almost always 0 under a Bernoulli
    likelihood), and x86 CPUs run arithmetic on subnormal numbers many times slower: without
    this, MNIST epochs kept growing as training went on (``benchmarks/denormals.py``).  Values
    below 1.2e-38 are far under anything the objective can resolve, so flushing them changes
    no result that matters.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def unwrap_subset(dataset) -> tuple[object, np.ndarray | None]:
    """The dataset under a (possibly nested) Subset and the row indices into it (None: all)."""
    indices = None
    while isinstance(dataset, Subset):  # a Subset of a Subset (a split of a split) composes
        outer = np.asarray(dataset.indices)
        indices = outer if indices is None else outer[indices]
        dataset = dataset.dataset
    return dataset, indices


def subset_labels(dataset) -> np.ndarray | None:
    """The labels of the rows of a skorch dataset or a (possibly nested) Subset of one, as an
    array (None: the dataset has no labels); X is not copied."""
    base, indices = unwrap_subset(dataset)
    y = getattr(base, "y", None)
    if y is None:
        return None
    y = np.asarray(y)
    return y if indices is None else y[indices]


def dataset_tensors(dataset, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """X (float, on ``device``) and y (int64 on the CPU, -1 = unlabeled; or None) of a skorch
    dataset or a (possibly nested) Subset of one."""
    base, indices = unwrap_subset(dataset)
    X = torch.as_tensor(base.X, dtype=torch.float32)  # e.g. a float64 predefined_split
    if indices is not None:
        X = X[indices]
    y = subset_labels(dataset)
    return X.to(device), None if y is None else torch.as_tensor(y, dtype=torch.int64)


class SemiSupervisedLoader:
    """Epoch iterator yielding ``(X_batch, y_batch)`` with the labeled rows first.

    One epoch is one pass over the unlabeled rows in batches of ``batch_size`` (a pass over the
    labeled rows if there are none); beside each, ``labeled_batch_size`` labeled rows are taken
    from a reshuffled cycle over all labeled rows.  ``y_batch`` stays on the CPU.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                 labeled_batch_size: int, generator: torch.Generator) -> None:
        self.X, self.y = X, y
        labeled = y >= 0
        self.idx_l = torch.nonzero(labeled)[:, 0]
        self.idx_u = torch.nonzero(~labeled)[:, 0]
        if len(self.idx_l) == 0:
            raise ValueError("The training split has no labeled rows. With train_split, use a "
                             "stratified split, e.g. skorch.dataset.ValidSplit(5, "
                             "stratified=True), so labeled rows reach both parts.")
        self.batch_size = batch_size
        self.labeled_batch_size = min(labeled_batch_size, len(self.idx_l))
        self.generator = generator

    def __len__(self) -> int:
        if len(self.idx_u):
            return math.ceil(len(self.idx_u) / self.batch_size)
        return math.ceil(len(self.idx_l) / self.labeled_batch_size)

    def __iter__(self):
        n_batches, n_l, lbs = len(self), len(self.idx_l), self.labeled_batch_size
        n_cycles = math.ceil(n_batches * lbs / n_l)
        # one random permutation of the labeled rows per cycle, all drawn at once
        order = torch.argsort(torch.rand(n_cycles, n_l, generator=self.generator), dim=1)
        lab = self.idx_l[order.reshape(-1)]
        unl = self.idx_u[torch.randperm(len(self.idx_u), generator=self.generator)]
        device = self.X.device
        for b in range(n_batches):
            rows = torch.cat([lab[b * lbs:(b + 1) * lbs],
                              unl[b * self.batch_size:(b + 1) * self.batch_size]])
            yield self.X[rows.to(device, non_blocking=True)], self.y[rows]


class SequentialLoader:
    """Plain in-order batches of a tensor dataset (validation and prediction)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.X), self.batch_size):
            sl = slice(start, start + self.batch_size)
            yield self.X[sl], (None if self.y is None else self.y[sl])


class DGMNet(NeuralNet):
    """skorch net training a :class:`~skdgm.nn.base.SemiSupervisedModule`.

    Parameters beyond :class:`skorch.NeuralNet`'s are the objective's weights (resolved by the
    estimator): ``labeled_weight``, ``alpha``, ``n_train``, the number of latent samples per
    row ``n_mc_samples``, and ``labeled_batch_size``.  The KL
    warm-up weight is read from ``kl_weight_`` (set by :class:`skdgm.callbacks.KLWarmup`).
    """

    def __init__(self, module, *args, labeled_batch_size: int = 100,
                 labeled_weight: float = 1.0, alpha: float = 0.0, n_train: int = 1,
                 n_mc_samples: int = 1, data_seed: int = 0, **kwargs) -> None:
        super().__init__(module, *args, criterion=None, **kwargs)
        self.labeled_batch_size = labeled_batch_size
        self.labeled_weight = labeled_weight
        self.alpha = alpha
        self.n_train = n_train
        self.n_mc_samples = n_mc_samples
        self.data_seed = data_seed

    def initialize_criterion(self):
        # the objective lives in the module; no separate criterion
        self.criterion_ = None
        return self

    def initialize(self):
        super().initialize()
        self.kl_weight_ = 1.0
        self.data_generator_ = torch.Generator().manual_seed(int(self.data_seed))
        return self

    def get_iterator(self, dataset, training: bool = False):
        X, y = dataset_tensors(dataset, self.device)
        if training:
            return SemiSupervisedLoader(X, y, self.batch_size, self.labeled_batch_size,
                                        self.data_generator_)
        return SequentialLoader(X, y, self.batch_size)

    def _objective(self, batch) -> dict:
        X, y = batch
        labeled = y >= 0                      # y is on the CPU: no device sync
        n_l = int(labeled.sum())
        if bool(labeled[:n_l].all()):         # labeled rows first (training batches)
            x_l, x_u, y_l = X[:n_l], X[n_l:], y[:n_l]
        else:
            idx_l = torch.nonzero(labeled)[:, 0]
            idx_u = torch.nonzero(~labeled)[:, 0]
            x_l, x_u, y_l = X[idx_l.to(X.device)], X[idx_u.to(X.device)], y[idx_l]
        return self.module_.objective(
            x_l, y_l.to(X.device, non_blocking=True), x_u, kl_weight=self.kl_weight_,
            labeled_weight=self.labeled_weight, alpha=self.alpha, n_train=self.n_train,
            n_mc_samples=self.n_mc_samples)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        step = self._objective(batch)
        step["loss"].backward()
        step["y_pred"] = None
        return step

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            step = self._objective(batch)
        step["y_pred"] = None
        return step


class EncodedValidation:
    """A skorch ``train_split`` whose validation set, when it does not come from the training
    data, is checked and has its labels encoded like the training labels.

    ``ValidSplit`` splits the training data, whose labels the estimator has already encoded as
    class indices (-1 kept); a validation set from elsewhere (``skorch.helper.predefined_split``)
    holds the caller's labels.  ``encode(X, y)`` (the estimator's) returns its float32 X and its
    labels as class indices, and raises a clear error for a wrong feature count, non-finite
    values or a label unseen in fit, so no validation score compares indices with raw labels.
    A validation set without labels (``Dataset(X_valid, None)``) counts as all unlabeled.
    """

    def __init__(self, split, encode) -> None:
        self.split, self.encode = split, encode

    def __call__(self, dataset, y=None, **kwargs):
        train, valid = self.split(dataset, y, **kwargs)
        base, indices = unwrap_subset(valid) if valid is not None else (None, None)
        if valid is None or base is unwrap_subset(dataset)[0] or not hasattr(base, "X"):
            return train, valid
        X_v = base.X if indices is None else base.X[indices]
        y_v = subset_labels(valid)
        y_v = np.full(len(X_v), -1) if y_v is None else y_v
        return train, Dataset(*self.encode(X_v, y_v))


class LabeledValidationScoring(Callback):
    """Record ``valid_acc`` and ``valid_log_lik`` (mean log p(y|x) of the true class, in nats)
    on the labeled rows of the validation set after every epoch.

    Both come from one Gibbs prediction (thesis 4.4, ``n_gibbs`` steps) on the labeled rows only,
    each with a ``_best`` flag (higher is better) that skorch's ``EarlyStopping`` and
    ``Checkpoint`` can monitor.  The prediction draws its noise from a forked random stream with
    a fixed seed, so it leaves the training run unchanged and epochs are compared on the same
    noise.  With no labeled validation rows both are NaN.
    """

    names = ("valid_acc", "valid_log_lik")

    def __init__(self, n_gibbs: int = 10) -> None:
        self.n_gibbs = n_gibbs

    def initialize(self) -> LabeledValidationScoring:
        self.best_ = dict.fromkeys(self.names, -math.inf)
        return self

    def on_epoch_end(self, net: NeuralNet, dataset_valid=None, **kwargs) -> None:
        if dataset_valid is None:
            return
        y = subset_labels(dataset_valid)
        y = None if y is None else y.astype(np.int64, copy=False)
        labeled = np.flatnonzero(y >= 0) if y is not None else np.zeros(0, int)
        scores = dict.fromkeys(self.names, math.nan)
        if labeled.size:
            device = torch.device(net.device)
            module, steps = net.module_, net.module_.prediction_steps
            module.prediction_steps = self.n_gibbs
            try:
                with torch.random.fork_rng(devices=[device.index or 0]
                                           if device.type == "cuda" else []):
                    torch.manual_seed(0)
                    proba = net.predict_proba(Subset(dataset_valid, labeled))
            finally:
                module.prediction_steps = steps
            y_l = y[labeled]
            p_true = proba[np.arange(len(y_l)), y_l].astype(np.float64)
            scores["valid_acc"] = float(np.mean(proba.argmax(1) == y_l))
            scores["valid_log_lik"] = float(np.mean(np.log(np.maximum(p_true, 1e-300))))
        for name, value in scores.items():
            is_best = bool(value > self.best_[name])  # False for NaN
            if is_best:
                self.best_[name] = value
            net.history.record(name, value)
            net.history.record(f"{name}_best", is_best)
