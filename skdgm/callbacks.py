"""skorch callbacks for the training aids of thesis 5.1 that skorch does not already have."""

from __future__ import annotations

import math

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
