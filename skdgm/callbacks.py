"""skorch callbacks for the training aids of thesis 5.1 that skorch does not already have."""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.callbacks import Callback


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


class KLWarmup(Callback):
    """Linear KL warm-up (thesis 5.1.1, eq. 5.1).

    The weight beta of KL(q(z|x,y) || p(z)) rises linearly from 0 in the first epoch to 1 after
    ``n_epochs`` epochs; ``n_epochs=0`` disables warm-up.  The current beta is stored on the net
    as ``kl_weight_`` and recorded in the history as ``kl_weight``.
    """

    def __init__(self, n_epochs: int = 0) -> None:
        self.n_epochs = n_epochs

    def on_epoch_begin(self, net, **kwargs) -> None:
        epoch = len(net.history) - 1  # skorch has already appended this epoch's row
        beta = 1.0 if self.n_epochs <= 0 else min(1.0, epoch / self.n_epochs)
        net.kl_weight_ = beta
        net.history.record("kl_weight", beta)


class DivergenceCheck(Callback):
    """Stop with a clear message as soon as a training loss is NaN or infinite.

    skorch already reads every batch loss into the history, so this costs no extra
    device-to-host copy.
    """

    def on_batch_end(self, net, training: bool = False, **kwargs) -> None:
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        if not math.isfinite(loss):
            epoch = len(net.history)
            raise TrainingDivergedError(
                f"Training diverged: the loss became {loss} in epoch {epoch}. Try a lower "
                "learning rate (lr), a longer KL warm-up (kl_warmup), batch_norm=True, or "
                "standardising X (e.g. with sklearn.preprocessing.StandardScaler)."
            )


class StochasticBinarization(Callback):
    """Stochastic binarisation of the inputs: every training batch's x is replaced by a fresh
    draw x' ~ Bernoulli(x), as the thesis's and Maaloe et al.'s MNIST code did under a
    Bernoulli likelihood, so that each epoch sees other binary images of the same grey levels.

    Pass it in ``callbacks`` (``SSLPEClassifier(likelihood="bernoulli",
    callbacks=[StochasticBinarization()])``).  Inputs must lie in [0, 1].  Only training
    batches are binarised; validation and prediction use x as given (the mean of the draws).
    The draws come from torch's generator on the batch's device, which the estimator seeds from
    ``random_state``.  The batch is overwritten in place: the estimator's training batches are
    copies of the rows (indexed gathers), so the caller's array is never touched.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        if X is None:
            return
        values = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
        if values.size and (values.min() < 0 or values.max() > 1):
            raise ValueError("StochasticBinarization needs inputs in [0, 1] (they are the "
                             "probabilities of the binary draws); got values in "
                             f"[{values.min():g}, {values.max():g}]. Scale them first, e.g. "
                             "with sklearn.preprocessing.MinMaxScaler.")

    def on_batch_begin(self, net, batch=None, training: bool = False, **kwargs) -> None:
        if training:
            X = batch[0]
            X.copy_(torch.bernoulli(X))
