"""The estimator layer: one scikit-learn base class for every skdgm model.

:class:`BaseDGMClassifier` turns ``fit(X, y)`` with ``y == -1`` for unlabeled rows (the
``sklearn.semi_supervised`` convention) into a skorch training run of a torch module from
:mod:`skdgm.nn`, and prediction into batched, seeded Monte-Carlo passes of that module.  A model
is a small subclass that names its module and its extra parameters.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from skorch.callbacks import GradientNormClipping, LRScheduler, ProgressBar

from skdgm._training import (
    DGMNet,
    EncodedValidation,
    LabeledValidationScoring,
    cpu_flush_denormals,
)
from skdgm.acquisition import predictive_entropy
from skdgm.callbacks import DivergenceCheck, KLWarmup

#: rows x posterior draws per forward pass at prediction time on the CPU: enough rows for
#: efficient matmuls, few enough that a pass's temporaries (2 MB at width 500) stay in cache.
#: ``python -m benchmarks.predict_chunk`` on a 2-core CPU (1 MB L2 per core, BENCHMARKS.md):
#: 1024 was 12-29% faster than 4096 for Gibbs ``predict_proba`` and BALD sampling of SSLPE
#: and SSLAPD, once SSLAPD's weight draws were shared by all chunks (with a draw per chunk,
#: small chunks cost SSLAPD more weight sampling than they saved).  The best value depends on
#: the CPU: on a 2-core Intel Xeon (2 MB L2 per core) the same benchmark found 4096 fastest
#: (1024: 1-8% slower).
#: An earlier change had cut 40960 rows per pass to 4096 (17% less CPU time for a 10-draw BALD
#: pass).
PREDICT_CHUNK = 1024
#: the same on a GPU, where larger passes mean fewer kernel launches: on an H100,
#: ``python -m benchmarks.predict_chunk --device cuda`` found 65536 2.3-4.1x as fast as 4096 and
#: 1.05-1.46x as fast as 16384 (activations of a 65536-row pass at width 500: ~130 MB each).
PREDICT_CHUNK_CUDA = 65536


def unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """Boolean mask of the unlabeled rows (``y == -1``) of a 1-d label array of any dtype."""
    return np.asarray(y == -1, dtype=bool).reshape(len(y))


def restart_seeds(rng: np.random.RandomState, n: int) -> list[int]:
    """The seeds of ``n`` fits, drawn in order from ``rng`` (which advances by ``n`` draws).

    A fit with ``n_init`` restarts trains restart k from the k-th seed; the first is the one a
    single fit draws, so ``n_init=1`` fits are unchanged, and a single fit given a
    ``RandomState`` advanced by k draws repeats restart k."""
    return [int(rng.randint(0, 2**31 - 3)) for _ in range(n)]


def _agreement(labels: np.ndarray) -> np.ndarray:
    """Share of rows on which each pair of fits predicts the same class.

    ``labels`` has shape (n_fits, n_rows); returns a symmetric (n_fits, n_fits) matrix with
    ones on the diagonal."""
    return np.mean(labels[:, None, :] == labels[None, :, :], axis=2)


def _mean_entropy(proba: np.ndarray) -> float:
    """Mean predictive entropy (nats) of class probabilities ``proba`` (n_rows, n_classes):
    the score by which ``n_init`` ranks its fits on the unlabeled rows (``"entropy"``, and the
    ties of ``"consensus"``).  It uses inputs only, no labels: a boundary through a dense
    region leaves many rows uncertain (the cluster assumption behind entropy minimisation,
    Grandvalet & Bengio 2005)."""
    return float(np.mean(predictive_entropy(proba[None])))


def _consensus_choice(agreement: np.ndarray, entropies: np.ndarray) -> int:
    """Index of the medoid fit: the highest mean agreement with the other fits, ties broken
    by the lower unlabeled entropy (the ``init_selection="consensus"`` rule)."""
    n = len(agreement)
    mean_other = (agreement.sum(axis=1) - np.diag(agreement)) / (n - 1)
    return int(np.lexsort((entropies, -mean_other))[0])


class BaseDGMClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict machinery of the skdgm semi-supervised classifiers.

    Subclasses set ``_module_class`` and implement :meth:`_module_params`.  See
    :class:`skdgm.SSLPEClassifier` for the parameters.
    """

    _module_class: type | None = None
    #: parameter-name patterns of Bayesian parameters, exempt from L2 (their KL regularises them)
    _bayesian_param_patterns: tuple[str, ...] = ()

    _parameter_constraints: dict = {
        "hidden_sizes": ["array-like"],
        "n_latent": [Interval(Integral, 1, None, closed="left")],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "activation": [StrOptions({"relu", "softplus", "tanh", "elu"})],
        "batch_norm": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "labeled_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "labeled_weight": [StrOptions({"balanced", "proportional"}),
                           Interval(Real, 0, None, closed="left")],
        "alpha": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "n_gibbs": [Interval(Integral, 1, None, closed="left")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_selection": [StrOptions({"entropy", "consensus"})],
        "train_split": [callable, None],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, hidden_sizes=(128, 128), n_latent=5, likelihood="gaussian",
                 activation="relu", batch_norm=True, max_epochs=15, batch_size=100,
                 labeled_batch_size=None, lr=7e-4, lr_decay=1.0, weight_decay=0.0,
                 kl_warmup=5, labeled_weight="balanced", alpha="auto", n_mc_samples=1,
                 max_grad_norm=None, n_gibbs=10, n_draws=10, n_init=1,
                 init_selection="entropy", train_split=None, callbacks=None, device="cpu",
                 verbose=0, warm_start=False, random_state=None):
        self.hidden_sizes = hidden_sizes
        self.n_latent = n_latent
        self.likelihood = likelihood
        self.activation = activation
        self.batch_norm = batch_norm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.labeled_batch_size = labeled_batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.kl_warmup = kl_warmup
        self.labeled_weight = labeled_weight
        self.alpha = alpha
        self.n_mc_samples = n_mc_samples
        self.max_grad_norm = max_grad_norm
        self.n_gibbs = n_gibbs
        self.n_draws = n_draws
        self.n_init = n_init
        self.init_selection = init_selection
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.random_state = random_state

    # -- hooks for subclasses ------------------------------------------------------------------
    def _module_params(self) -> dict:
        """Keyword arguments of ``_module_class`` besides ``n_features`` and ``n_classes``."""
        return {"n_latent": self.n_latent, "hidden": tuple(self.hidden_sizes),
                "likelihood": self.likelihood, "batch_norm": self.batch_norm,
                "activation": self.activation}

    # -- validation ----------------------------------------------------------------------------
    def _validate_X_y(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Check X and y and return float32 X and int64 y encoded as class indices (-1 kept)."""
        X = validate_data(self, X, reset=True, dtype=np.float32, ensure_min_samples=2)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None (use -1 for unlabeled rows).")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(f"y must be a 1-d array of labels (-1 = unlabeled); got an array of "
                             f"shape {y.shape}.")
        check_consistent_length(X, y)
        if y.dtype.kind in "US":
            raise ValueError("y has dtype string. If you wish to predict on string targets, "
                             "use dtype object, and use -1 as the label for unlabeled samples.")
        unl = unlabeled_mask(y)
        labeled = y[~unl]
        if labeled.size == 0:
            raise ValueError("y contains no labeled rows: every target is -1. At least one "
                             "labeled row per class is needed.")
        target_type = type_of_target(labeled, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {target_type!r}. y must hold class labels "
                             "(integers, or strings in an object array) with -1 for unlabeled "
                             "rows.")
        try:
            classes = np.unique(labeled)
        except TypeError:
            raise TypeError("y mixes label types (e.g. strings and numbers besides -1); use "
                            "one type for all labels.") from None
        if len(classes) < 2:
            raise ValueError(f"y has only one class ({classes[0]!r}) among its labeled rows; "
                             "a classifier needs at least two.")
        self.classes_ = classes
        return X, self._encode_labels(y)

    def _validate_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float32)

    def _check_known_labels(self, labels: np.ndarray) -> None:
        """Raise a clear error if any of ``labels`` (labeled rows) is not in ``classes_``."""
        unseen = np.setdiff1d(labels, self.classes_)
        if unseen.size:
            raise ValueError(f"y contains labels not seen during fit: {unseen.tolist()}; "
                             f"known classes are {self.classes_.tolist()}.")

    def _encode_validation(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """A validation set from outside the training data (e.g. skorch's ``predefined_split``):
        float32 X checked against the training data, y (the caller's labels, -1 = unlabeled)
        as class indices."""
        X = self._validate_X(X)
        y = column_or_1d(np.asarray(y), warn=True)
        check_consistent_length(X, y)
        self._check_known_labels(y[~unlabeled_mask(y)])
        return X, self._encode_labels(y)

    def _encode_labels(self, y: np.ndarray) -> np.ndarray:
        """Labels (all in ``classes_``, -1 = unlabeled) as int64 class indices, -1 kept."""
        labeled = ~unlabeled_mask(y)
        y_enc = np.full(len(y), -1, dtype=np.int64)
        y_enc[labeled] = np.searchsorted(self.classes_, y[labeled])
        return y_enc

    # -- fitting -------------------------------------------------------------------------------
    def _resolved_weights(self, n_labeled: int, n_unlabeled: int) -> tuple[float, float]:
        """(labeled_weight, alpha) as numbers; see :class:`skdgm.nn.base.SemiSupervisedModule`."""
        if self.labeled_weight == "balanced":
            lw = 1.0
        elif self.labeled_weight == "proportional":
            lw = n_labeled / n_unlabeled if n_unlabeled else 1.0
        else:
            lw = float(self.labeled_weight)
        n = n_labeled + n_unlabeled
        # Kingma et al. (2014): alpha = 0.1 N / N_l, relative to the labeled bound's weight
        alpha = 0.1 * n / n_labeled * lw if self.alpha == "auto" else float(self.alpha)
        return lw, alpha

    def _build_net(self, n_features: int, n_labeled: int, n_unlabeled: int) -> DGMNet:
        lw, alpha = self._resolved_weights(n_labeled, n_unlabeled)
        callbacks = [("kl_warmup", KLWarmup(self.kl_warmup)), ("divergence", DivergenceCheck())]
        if self.lr_decay != 1.0:
            callbacks.append(("lr_scheduler", LRScheduler(policy="ExponentialLR",
                                                          gamma=self.lr_decay)))
        if self.max_grad_norm is not None:
            # skorch's clipping of the total gradient norm before each optimizer step
            callbacks.append(("gradient_clipping",
                              GradientNormClipping(gradient_clip_value=self.max_grad_norm)))
        if self.train_split is not None:
            callbacks.append(("valid_scores", LabeledValidationScoring(self.n_gibbs)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks += copy.deepcopy(list(self.callbacks or []))
        param_groups = [(pattern, {"weight_decay": 0.0})
                        for pattern in self._bayesian_param_patterns]
        module_params = {f"module__{k}": v for k, v in self._module_params().items()}
        return DGMNet(
            self._module_class,
            module__n_features=n_features,
            module__n_classes=len(self.classes_),
            **module_params,
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            optimizer__fused=True,  # one kernel per step instead of a Python loop over tensors
            optimizer__param_groups=param_groups,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            labeled_batch_size=self.labeled_batch_size or min(n_labeled, self.batch_size),
            labeled_weight=lw,
            alpha=alpha,
            n_train=n_labeled + n_unlabeled,
            n_mc_samples=self.n_mc_samples,
            data_seed=self.seed_ + 1,
            train_split=(None if self.train_split is None
                         else EncodedValidation(self.train_split, self._encode_validation)),
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
        )

    def _torch_rng(self):
        """A forked global torch RNG, so fitting neither depends on nor disturbs the caller's."""
        device = torch.device(self.device)
        devices = [device.index or 0] if device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices)

    def fit(self, X, y):
        """Fit on labeled and unlabeled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, labeled and unlabeled.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled rows.  Labels may be integers or strings (in an object
            array).

        Returns
        -------
        self
        """
        self._validate_params()
        old_classes = getattr(self, "classes_", None)
        X, y_enc = self._validate_X_y(X, y)
        n_labeled = int(np.sum(y_enc >= 0))
        warm = (self.warm_start and hasattr(self, "net_") and old_classes is not None
                and np.array_equal(old_classes, self.classes_))
        n_unlabeled = len(y_enc) - n_labeled
        if warm:
            # the labels may have changed (e.g. active learning): refresh the objective weights
            lw, alpha = self._resolved_weights(n_labeled, n_unlabeled)
            self.net_.set_params(
                labeled_weight=lw, alpha=alpha, n_train=len(y_enc),
                n_mc_samples=self.n_mc_samples, max_epochs=self.max_epochs,
                labeled_batch_size=self.labeled_batch_size or min(n_labeled, self.batch_size))
            self._train(X, y_enc, warm=True)
            return self
        seeds = restart_seeds(check_random_state(self.random_state), self.n_init)
        consensus = self.init_selection == "consensus" and self.n_init > 2
        entropies, labels, fits, best = [], [], [], None
        for seed in seeds:
            self.seed_ = seed
            self.net_ = self._build_net(X.shape[1], n_labeled, n_unlabeled)
            self._train(X, y_enc, warm=False)
            if self.n_init > 1:
                proba = self._unlabeled_proba(X, y_enc)
                entropies.append(_mean_entropy(proba))
                if consensus:  # every fit stays alive until all are compared
                    labels.append(np.argmax(proba, axis=1))
                    fits.append((seed, self.net_))
                elif best is None or entropies[-1] < min(entropies[:-1]):
                    best = (seed, self.net_)   # only the best fit so far is kept alive
        self.init_entropies_ = np.array(entropies) if entropies else None
        self.init_agreement_ = None
        if consensus:
            self.init_agreement_ = _agreement(np.stack(labels))
            best = fits[_consensus_choice(self.init_agreement_, self.init_entropies_)]
        if best is not None:
            self.seed_, self.net_ = best
            self.n_iter_ = len(self.net_.history)
        return self

    def _train(self, X: np.ndarray, y_enc: np.ndarray, warm: bool) -> None:
        """Train ``net_`` (continue it when ``warm``) in a forked torch RNG seeded by ``seed_``."""
        with self._torch_rng(), cpu_flush_denormals(self.device):
            torch.manual_seed(self.seed_ if not warm else self.seed_ + len(self.net_.history))
            if warm:
                self.net_.partial_fit(X, y_enc)
            else:
                self.net_.fit(X, y_enc)
        self.net_.module_.prediction_steps = self.n_gibbs
        self.n_iter_ = len(self.net_.history)

    def _unlabeled_proba(self, X: np.ndarray, y_enc: np.ndarray) -> np.ndarray:
        """``predict_proba`` on the unlabeled rows (all rows if none), by which ``n_init``
        ranks its fits."""
        return self.predict_proba(X[y_enc == -1] if np.any(y_enc == -1) else X)

    @property
    def history_(self):
        """skorch training history (per epoch: losses, KL weight, timings)."""
        check_is_fitted(self)
        return self.net_.history

    @property
    def module_(self):
        """The trained torch module."""
        check_is_fitted(self)
        return self.net_.module_

    # -- prediction ----------------------------------------------------------------------------
    def _generator(self) -> torch.Generator:
        device = torch.device(self.device)
        return torch.Generator(device=device).manual_seed(self.seed_ + 2)

    def _chunk_rows(self, n_draws: int = 1) -> int:
        """Rows per prediction pass with ``n_draws`` chains each (see ``PREDICT_CHUNK``)."""
        rows = PREDICT_CHUNK_CUDA if torch.device(self.device).type == "cuda" else PREDICT_CHUNK
        return max(1, rows // n_draws)

    def _batched(self, X: np.ndarray, fn, row_dim: int = 0, n_draws: int = 1,
                 shared=None) -> np.ndarray:
        """Apply ``fn(module, x_chunk, generator)`` to row chunks of X without gradients, with
        ``PREDICT_CHUNK // n_draws`` rows per chunk (``PREDICT_CHUNK_CUDA`` on a GPU) when
        ``fn`` runs ``n_draws`` chains.  With ``shared``, ``s = shared(module, generator)`` is
        computed once and every chunk gets ``fn(module, x_chunk, generator, s)`` (e.g. weight
        draws common to all rows)."""
        module = self.net_.module_
        module.eval()
        gen = self._generator()
        outs = []
        chunk = self._chunk_rows(n_draws)
        with torch.no_grad(), cpu_flush_denormals(self.device):
            extra = () if shared is None else (shared(module, gen),)
            for start in range(0, X.shape[0], chunk):
                x = torch.as_tensor(X[start:start + chunk], device=self.device)
                outs.append(fn(module, x, gen, *extra))
        return torch.cat(outs, dim=row_dim).cpu().numpy().astype(np.float64)

    def _prediction_kwargs(self) -> dict:
        """Extra keyword arguments of the module's prediction methods (none here)."""
        return {}

    def predict_proba(self, X) -> np.ndarray:
        """Predictive class probabilities, shape ``(n_samples, n_classes)``, columns in the
        order of ``classes_``.

        SSLPE/SSLAPD use the Gibbs procedure of thesis 4.4 (``n_gibbs`` steps, the chain
        average of p(y|x, z, W)); each baseline documents its own rule.  Seeded by
        ``random_state``: repeated calls agree.
        """
        X = self._validate_X(X)
        # global draws of every step (SSLAPD's weights) are sampled once and shared by the
        # chunks: rows see the same weights wherever they fall, and no chunk redraws them
        kw = self._prediction_kwargs()
        proba = self._batched(X, lambda m, x, g, s: m.predict_proba(x, self.n_gibbs, g, s, **kw),
                              shared=lambda m, g: m.sample_global_steps(self.n_gibbs, g))
        return proba / proba.sum(axis=-1, keepdims=True)  # exact simplex in float64

    def predict_proba_samples(self, X, n_draws: int | None = None) -> np.ndarray:
        """Class probabilities per posterior draw, shape ``(n_draws, n_samples, n_classes)``.

        For SSLAPD each draw fixes one weight sample W ~ q(W), the same for every row (so the
        draws are joint samples over the rows, as BatchBALD needs), and runs a Gibbs chain over
        z; for point-estimate models draws differ through z (and y) only.  Used by the
        acquisition functions of :mod:`skdgm.acquisition`.
        """
        X = self._validate_X(X)
        n_draws = self.n_draws if n_draws is None else int(n_draws)
        if n_draws < 1:
            raise ValueError(f"n_draws must be >= 1, got {n_draws}.")
        kw = self._prediction_kwargs()
        probs = self._batched(
            X, lambda m, x, g, w: m.predict_proba_samples(x, n_draws, self.n_gibbs, g, w, **kw),
            row_dim=1, n_draws=n_draws, shared=lambda m, g: m.sample_global(n_draws, g))
        return probs / probs.sum(axis=-1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row, from ``classes_``."""
        proba = self.predict_proba(X)  # checks fittedness first
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on the labeled rows of (X, y); rows with ``y == -1`` are ignored."""
        y = column_or_1d(np.asarray(y), warn=True)
        check_consistent_length(X, y)
        keep = ~unlabeled_mask(y)
        if not keep.any():
            raise ValueError("y has no labeled rows to score (every target is -1).")
        check_is_fitted(self)
        self._check_known_labels(y[keep])
        X = self._validate_X(X)
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return float(accuracy_score(y[keep], self.predict(X[keep]), sample_weight=sw))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # stochastic variational training and Gibbs prediction
        tags.classifier_tags.multi_class = True
        return tags


class GenerativeMixin(TransformerMixin):
    """``transform`` (latent codes) and ``sample`` (draws of x) for models with a latent z and a
    model of x; mixed in before :class:`BaseDGMClassifier`."""

    def transform(self, X) -> np.ndarray:
        """Latent code of each row, shape (n_samples, n_latent).

        For SSLPE/SSLAPD the Gibbs-averaged z (eq. 4.24); for the baselines see their class.
        """
        X = self._validate_X(X)
        # like predict_proba: one weight draw per Gibbs step (SSLAPD), shared by all chunks
        kw = self._prediction_kwargs()
        return self._batched(X, lambda m, x, g, s: m.transform(x, self.n_gibbs, g, s, **kw),
                             shared=lambda m, g: m.sample_global_steps(self.n_gibbs, g))

    def sample(self, n_samples: int = 1, mean: bool = False) -> np.ndarray:
        """Draw ``n_samples`` inputs from the generative model (e.g. p(z) p(x|z)).

        With ``mean=True`` the decoder means (Gaussian) or probabilities (Bernoulli) are
        returned instead of draws.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        module = self.net_.module_
        module.eval()
        with torch.no_grad(), cpu_flush_denormals(self.device):
            x = module.sample(int(n_samples), self._generator(), mean)
        return x.cpu().numpy().astype(np.float64)
