"""Active learning with modAL: query strategies and a semi-supervised active learner.

The query strategies follow modAL's signature ``strategy(classifier, X_pool, n_instances=1,
**kwargs) -> (indices, scores)`` and score the pool with the Monte-Carlo acquisition functions
of :mod:`skdgm.acquisition` (Gordon 2017, sections 2.2.1 and 3.2.1).  Each query draws the
class-probability samples once, through the estimator's ``predict_proba_samples``.  They plug
into :class:`modAL.models.ActiveLearner` as they are.

:class:`SemiSupervisedActiveLearner` is a :class:`modAL.models.ActiveLearner` that keeps the
whole pool in the fit: it holds every row of ``X`` with ``y == -1`` on the unlabeled ones, fits
the semi-supervised estimator on all of them, queries among the unlabeled rows only and fills in
labels in place (thesis 5.4.2).

modAL (``pip install --no-deps modAL-python``) is needed for the learner only; the strategies
work without it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import _num_samples, check_consistent_length

from skdgm.acquisition import (
    bald,
    batch_bald,
    predictive_entropy,
    random_scores,
    select_top_k,
    variation_ratios,
)

try:
    from modAL.models import ActiveLearner as _ActiveLearner
    from modAL.models.base import BaseLearner as _BaseLearner
except ImportError as _err:  # pragma: no cover - exercised only without modAL
    _MODAL_IMPORT_ERROR: ImportError | None = _err

    class _ActiveLearner:  # placeholder so that the module imports without modAL
        pass

    _BaseLearner = None
else:
    _MODAL_IMPORT_ERROR = None

__all__ = [
    "SemiSupervisedActiveLearner",
    "bald_sampling",
    "batch_bald_sampling",
    "entropy_sampling",
    "random_sampling",
    "variation_ratio_sampling",
]


# ----------------------------------------------------------------------------- strategies


def _estimator_of(classifier):
    """The estimator inside a modAL learner, or ``classifier`` itself."""
    if _BaseLearner is not None and isinstance(classifier, _BaseLearner):
        return classifier.estimator
    return classifier


def _mc_probs(classifier, X_pool, n_draws: int | None, need_draws: bool) -> np.ndarray:
    """Monte-Carlo class probabilities ``(n_draws, n_pool, n_classes)``, computed once.

    Estimators without ``predict_proba_samples`` give one draw from ``predict_proba`` unless
    the score needs several (``need_draws``), where that raises a TypeError.
    """
    est = _estimator_of(classifier)
    if hasattr(est, "predict_proba_samples"):
        return np.asarray(est.predict_proba_samples(X_pool, n_draws=n_draws))
    if need_draws:
        raise TypeError(
            f"{type(est).__name__} has no predict_proba_samples method: BALD needs Monte-Carlo "
            "posterior draws (use an skdgm classifier, e.g. SSLAPDClassifier).")
    if n_draws not in (None, 1):
        raise TypeError(f"{type(est).__name__} has no predict_proba_samples method; it gives "
                        f"one deterministic draw, not n_draws={n_draws}.")
    return np.asarray(est.predict_proba(X_pool))[None]


def _score_and_select(scores: np.ndarray, n_instances: int) -> tuple[np.ndarray, np.ndarray]:
    idx = select_top_k(scores, n_instances)
    return idx, scores[idx]


def entropy_sampling(classifier, X_pool: ArrayLike, n_instances: int = 1, *,
                     n_draws: int | None = None, random_state=None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Query the pool points of highest predictive entropy (thesis eqs. 2.3 / 3.11).

    Parameters
    ----------
    classifier : modAL learner or estimator
        A modAL learner (its ``estimator`` is used) or the estimator itself.  Needs
        ``predict_proba_samples`` (skdgm classifiers) or, failing that, ``predict_proba``.
    X_pool : array-like of shape (n_pool, n_features)
        Candidate points.
    n_instances : int, default=1
        Number of points to query (the top-``n_instances`` scores).
    n_draws : int, default=None
        Monte-Carlo draws; None uses the estimator's ``n_draws``.
    random_state : None
        Accepted for a uniform strategy signature; unused (the selection is deterministic).

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Positions in ``X_pool``, highest score first.
    scores : ndarray of shape (n_instances,)
        Predictive entropy (nats) of the selected points.
    """
    probs = _mc_probs(classifier, X_pool, n_draws, need_draws=False)
    return _score_and_select(predictive_entropy(probs), n_instances)


def variation_ratio_sampling(classifier, X_pool: ArrayLike, n_instances: int = 1, *,
                             n_draws: int | None = None, random_state=None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Query the pool points of highest variation ratio ``1 - max_y p(y|x)`` (eqs. 2.2 / 3.10).

    Parameters and returns as :func:`entropy_sampling`; ``scores`` are variation ratios.
    """
    probs = _mc_probs(classifier, X_pool, n_draws, need_draws=False)
    return _score_and_select(variation_ratios(probs), n_instances)


def bald_sampling(classifier, X_pool: ArrayLike, n_instances: int = 1, *,
                  n_draws: int | None = None, random_state=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Query the pool points of highest BALD mutual information (eqs. 2.4 / 3.12-3.13).

    The top-``n_instances`` points by their individual BALD scores; for batches that avoid
    redundant points use :func:`batch_bald_sampling`.  BALD measures disagreement between
    posterior weight draws, so it is meaningful for :class:`skdgm.SSLAPDClassifier`; with
    :class:`skdgm.SSLPEClassifier` the draws differ only through z.

    Parameters
    ----------
    classifier : modAL learner or estimator
        A modAL learner or estimator with ``predict_proba_samples``.
    X_pool : array-like of shape (n_pool, n_features)
        Candidate points.
    n_instances : int, default=1
        Number of points to query.
    n_draws : int, default=None
        Monte-Carlo draws; None uses the estimator's ``n_draws``.
    random_state : None
        Accepted for a uniform strategy signature; unused.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Positions in ``X_pool``, highest score first.
    scores : ndarray of shape (n_instances,)
        BALD scores (nats) of the selected points.

    Raises
    ------
    TypeError
        If the estimator has no ``predict_proba_samples``.
    """
    probs = _mc_probs(classifier, X_pool, n_draws, need_draws=True)
    return _score_and_select(bald(probs), n_instances)


def batch_bald_sampling(classifier, X_pool: ArrayLike, n_instances: int = 1, *,
                        n_draws: int | None = None, n_configurations: int = 10000,
                        random_state=None, device=None) -> tuple[np.ndarray, np.ndarray]:
    """Query a batch by greedy BatchBALD (Kirsch, van Amersfoort & Gal, 2019).

    See :func:`skdgm.acquisition.batch_bald`.  With ``n_instances=1`` it equals
    :func:`bald_sampling`.  The joint entropies are computed on the estimator's ``device``
    (a GPU-fitted model's query runs on the GPU) unless ``device`` is given.

    Parameters
    ----------
    classifier : modAL learner or estimator
        A modAL learner or estimator with ``predict_proba_samples``.
    X_pool : array-like of shape (n_pool, n_features)
        Candidate points.
    n_instances : int, default=1
        Batch size.
    n_draws : int, default=None
        Monte-Carlo draws; None uses the estimator's ``n_draws``.
    n_configurations : int, default=10000
        Label configurations enumerated exactly, or sampled beyond that.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the configuration sampling (unused while enumeration is exact).
    device : str, torch.device or None, default=None
        Torch device of the computation; None uses the estimator's ``device`` attribute
        when it is a str or torch.device, else the CPU.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Positions in ``X_pool`` in the order chosen; never repeated.
    scores : ndarray of shape (n_instances,)
        ``scores[k]`` is the joint mutual information of the first ``k + 1`` points.
    """
    probs = _mc_probs(classifier, X_pool, n_draws, need_draws=True)
    if device is None:
        device = getattr(_estimator_of(classifier), "device", None)
        if not isinstance(device, (str, torch.device)):
            device = None
    return batch_bald(probs, n_instances, n_configurations=n_configurations,
                      random_state=random_state, device=device)


def random_sampling(classifier, X_pool: ArrayLike, n_instances: int = 1, *,
                    n_draws: int | None = None, random_state=None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Query ``n_instances`` distinct pool points uniformly at random (the baseline).

    Parameters
    ----------
    classifier : modAL learner or estimator
        Unused (need not be fitted).
    X_pool : array-like of shape (n_pool, n_features)
        Candidate points.
    n_instances : int, default=1
        Number of points to query.
    n_draws : None
        Accepted for a uniform strategy signature; unused.
    random_state : int, RandomState, Generator or None, default=None
        Seed; pass a ``RandomState`` or ``Generator`` for a seeded sequence of queries that
        differ from one another.

    Returns
    -------
    indices : ndarray of shape (n_instances,)
        Distinct positions in ``X_pool``.
    scores : ndarray of shape (n_instances,)
        The uniform random scores that ranked them.
    """
    return _score_and_select(random_scores(_num_samples(X_pool), random_state), n_instances)


# ----------------------------------------------------------------------------- the learner


def _check_n_instances(n_instances) -> int:
    if isinstance(n_instances, bool) or not isinstance(n_instances, numbers.Integral):
        raise TypeError(
            f"n_instances must be an integer, got {type(n_instances).__name__}. The pool of a "
            "SemiSupervisedActiveLearner is its own unlabeled rows: call query(n_instances).")
    if n_instances < 1:
        raise ValueError(f"n_instances must be >= 1, got {n_instances}.")
    return int(n_instances)


class SemiSupervisedActiveLearner(_ActiveLearner):
    """A modAL active learner whose unlabeled pool stays in the semi-supervised fit.

    It holds all rows of ``X_training`` with ``y_training == -1`` on the unlabeled ones (its
    own copies; the caller's arrays are never changed) and fits the estimator on all of them.
    :meth:`query` ranks the unlabeled rows only and returns indices into ``X_training``;
    :meth:`teach` fills in the labels of those rows and refits: from scratch by default, or
    continuing the fitted networks with ``warm_start=True``.  A labeled row is never queried
    again, and labeling a row twice is an error.

    A subclass of :class:`modAL.models.ActiveLearner`; it avoids modAL's calls of
    ``check_X_y(..., force_all_finite=...)``, which fail on scikit-learn >= 1.8.

    Parameters
    ----------
    estimator : estimator
        Semi-supervised classifier taking ``y == -1`` for unlabeled rows, e.g.
        :class:`skdgm.SSLAPDClassifier`.
    query_strategy : callable, default=entropy_sampling
        modAL query strategy ``(learner, X_pool, n_instances, **kwargs)``, e.g. one of this
        module's ``*_sampling`` functions.
    X_training : array-like of shape (n_samples, n_features), default=None
        All rows, labeled and unlabeled.  If given, the estimator is fitted at construction;
        otherwise call :meth:`fit` first.
    y_training : array-like of shape (n_samples,), default=None
        Labels, ``-1`` for unlabeled rows.
    warm_start : bool, default=False
        If True, :meth:`teach` continues training the fitted estimator (through its
        ``warm_start`` parameter) instead of refitting from scratch.
    on_transformed : bool, default=False
        Passed to modAL (apply the strategy on pipeline-transformed data).
    force_all_finite : bool, default=True
        Reject NaN and infinite values in ``X_training`` (modAL's name for sklearn's
        ``ensure_all_finite``).
    **fit_kwargs
        Keyword arguments of ``estimator.fit`` used by every fit.

    Attributes
    ----------
    X_training : ndarray of shape (n_samples, n_features)
        The learner's copy of all rows.
    y_training : ndarray of shape (n_samples,)
        The learner's copy of the labels, updated in place by :meth:`teach`.
    labeled_mask_ : ndarray of shape (n_samples,), dtype bool
        True on labeled rows.
    labeled_indices_, unlabeled_indices_ : ndarray of int
        Indices of the labeled / unlabeled rows.
    n_labeled_, n_unlabeled_ : int
        Their numbers.
    taught_indices_ : ndarray of int
        Rows labeled by :meth:`teach`, in the order taught.

    Examples
    --------
    >>> from skdgm import SSLAPDClassifier
    >>> from skdgm.active import SemiSupervisedActiveLearner, entropy_sampling
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, y_true = make_ssl_moons(300, labels="random", n_labeled=4, random_state=0)
    >>> learner = SemiSupervisedActiveLearner(
    ...     SSLAPDClassifier(hidden_sizes=(16,), max_epochs=2, random_state=0),
    ...     entropy_sampling, X, y)
    >>> idx, _ = learner.query(n_instances=2)
    >>> learner.teach(idx, y_true[idx])
    >>> learner.n_labeled_
    6
    """

    def __init__(self, estimator, query_strategy: Callable = entropy_sampling,
                 X_training: ArrayLike | None = None, y_training: ArrayLike | None = None, *,
                 warm_start: bool = False, on_transformed: bool = False,
                 force_all_finite: bool = True, **fit_kwargs) -> None:
        if _MODAL_IMPORT_ERROR is not None:
            raise ImportError(
                "SemiSupervisedActiveLearner needs modAL: `pip install --no-deps modAL-python` "
                "(its metadata pins an old skorch; see the skdgm README).") from _MODAL_IMPORT_ERROR
        super().__init__(estimator, query_strategy, on_transformed=on_transformed,
                         force_all_finite=force_all_finite)
        self.warm_start = warm_start
        self.fit_kwargs = fit_kwargs
        self.X_training = None
        self.y_training = None
        self.taught_indices_ = np.empty(0, dtype=np.int64)
        if X_training is not None or y_training is not None:
            self.fit(X_training, y_training)

    # -- data ------------------------------------------------------------------------------
    def _validate_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Copies of X (2-d, numeric) and y (1-d), checked with sklearn >= 1.6 keywords."""
        if X is None or y is None:
            raise ValueError("X_training and y_training must both be given (y = -1 on "
                             "unlabeled rows).")
        X = check_array(X, dtype="numeric", ensure_all_finite=self.force_all_finite,
                        ensure_min_samples=1, copy=True)
        y = np.array(column_or_1d(y, warn=True), copy=True)
        check_consistent_length(X, y)
        return X, y

    def _check_data(self) -> None:
        if self.X_training is None:
            raise NotFittedError(f"This {type(self).__name__} has no data yet; call "
                                 "fit(X, y) or pass X_training and y_training.")

    @property
    def labeled_mask_(self) -> np.ndarray:
        """Boolean mask of the labeled rows (``y_training != -1``)."""
        self._check_data()
        return np.asarray(self.y_training != -1, dtype=bool).reshape(-1)

    @property
    def labeled_indices_(self) -> np.ndarray:
        """Indices of the labeled rows of ``X_training``."""
        return np.flatnonzero(self.labeled_mask_)

    @property
    def unlabeled_indices_(self) -> np.ndarray:
        """Indices of the unlabeled rows of ``X_training`` (the query pool)."""
        return np.flatnonzero(~self.labeled_mask_)

    @property
    def n_labeled_(self) -> int:
        """Number of labeled rows."""
        return int(self.labeled_mask_.sum())

    @property
    def n_unlabeled_(self) -> int:
        """Number of unlabeled rows."""
        return int((~self.labeled_mask_).sum())

    def _estimator_params(self) -> dict:
        est = self.estimator
        return est.get_params(deep=False) if hasattr(est, "get_params") else {}

    def _check_warm_start(self) -> None:
        if self.warm_start and "warm_start" not in self._estimator_params():
            raise ValueError(f"warm_start=True needs an estimator with a warm_start parameter; "
                             f"{type(self.estimator).__name__} has none.")

    @contextmanager
    def _estimator_warm_start(self, warm: bool):
        """Set the estimator's ``warm_start`` to ``warm`` for one fit, then restore it."""
        params = self._estimator_params()
        if "warm_start" not in params:
            yield
            return
        old = params["warm_start"]
        self.estimator.set_params(warm_start=warm)
        try:
            yield
        finally:
            self.estimator.set_params(warm_start=old)

    def _refit(self, warm: bool, **fit_kwargs) -> SemiSupervisedActiveLearner:
        self._check_data()
        with self._estimator_warm_start(warm):
            self.estimator.fit(self.X_training, self.y_training,
                               **{**self.fit_kwargs, **fit_kwargs})
        return self

    # -- modAL overrides (modAL's versions call check_X_y(force_all_finite=...)) -------------
    def _add_training_data(self, X: ArrayLike, y: ArrayLike) -> None:
        """Append rows ``X`` with labels ``y`` (``-1`` allowed) without refitting."""
        X, y = self._validate_data(X, y)
        if self.X_training is None:
            self.X_training, self.y_training = X, y
            return
        if X.shape[1:] != self.X_training.shape[1:]:
            raise ValueError(f"X has {X.shape[1]} features; the learner's data has "
                             f"{self.X_training.shape[1]}.")
        self.X_training = np.concatenate([self.X_training, X])
        self.y_training = np.concatenate([self.y_training, y])

    def _fit_to_known(self, bootstrap: bool = False, **fit_kwargs) -> SemiSupervisedActiveLearner:
        """Fit the estimator from scratch on all rows (bootstrapping is not supported)."""
        if bootstrap:
            raise ValueError("bootstrap=True is not supported by SemiSupervisedActiveLearner.")
        return self._refit(False, **fit_kwargs)

    def fit(self, X: ArrayLike, y: ArrayLike, **fit_kwargs) -> SemiSupervisedActiveLearner:
        """Replace the data with copies of ``(X, y)`` and fit the estimator from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All rows, labeled and unlabeled.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabeled rows.
        **fit_kwargs
            Extra keyword arguments of ``estimator.fit`` for this fit.

        Returns
        -------
        self
        """
        self._check_warm_start()
        self.X_training, self.y_training = self._validate_data(X, y)
        self.taught_indices_ = np.empty(0, dtype=np.int64)
        return self._refit(False, **fit_kwargs)

    # -- the active-learning loop ------------------------------------------------------------
    def query(self, n_instances: int = 1, *, return_metrics: bool = False, **query_kwargs):
        """Choose unlabeled rows to label with the query strategy.

        Parameters
        ----------
        n_instances : int, default=1
            Number of rows to query, at most ``n_unlabeled_``.
        return_metrics : bool, default=False
            Also return the strategy's scores of the chosen rows.
        **query_kwargs
            Passed to the strategy (e.g. ``n_draws``, ``random_state``).

        Returns
        -------
        indices : ndarray of shape (n_instances,)
            Indices into ``X_training`` of the chosen rows (never already labeled).
        X_query : ndarray of shape (n_instances, n_features)
            The chosen rows.
        scores : ndarray of shape (n_instances,)
            Only if ``return_metrics``: the strategy's scores of the chosen rows.
        """
        self._check_data()
        n_instances = _check_n_instances(n_instances)
        pool = self.unlabeled_indices_
        if n_instances > len(pool):
            raise ValueError(f"n_instances={n_instances} exceeds the {len(pool)} unlabeled "
                             "rows left.")
        result = super().query(self.X_training[pool], n_instances=n_instances,
                               return_metrics=return_metrics, **query_kwargs)
        pos = np.atleast_1d(np.asarray(result[0]))
        if pos.dtype.kind not in "iu" or pos.ndim != 1:
            raise TypeError(f"the query strategy must return integer pool positions; got "
                            f"{result[0]!r}.")
        if (pos.size == 0 or len(np.unique(pos)) != len(pos) or pos.min() < 0
                or pos.max() >= len(pool)):
            raise ValueError(f"the query strategy returned invalid or repeated pool positions "
                             f"{pos.tolist()} for a pool of {len(pool)} rows.")
        indices = pool[pos]
        out = (indices, self.X_training[indices])
        return out + (result[2],) if return_metrics else out

    def teach(self, indices: ArrayLike, y: ArrayLike, **fit_kwargs) -> None:
        """Label the rows ``indices`` of ``X_training`` with ``y`` and refit.

        Refits from scratch, or continues training if ``warm_start=True``.

        Parameters
        ----------
        indices : int or array-like of int
            Rows of ``X_training`` (as returned by :meth:`query`); each must be unlabeled and
            appear once.
        y : label or array-like of shape (n_indices,)
            Their labels (not -1).
        **fit_kwargs
            Extra keyword arguments of ``estimator.fit`` for this fit.
        """
        self._check_data()
        self._check_warm_start()
        idx = np.atleast_1d(np.asarray(indices))
        labels = np.atleast_1d(np.asarray(y))
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"indices must be a 1-d array of integer row indices into "
                             f"X_training; got {indices!r}.")
        idx = idx.astype(np.int64)
        if labels.ndim != 1 or len(labels) != len(idx):
            raise ValueError(f"y must hold one label per index: {len(idx)} indices, "
                             f"labels of shape {labels.shape}.")
        n = len(self.y_training)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"indices out of range for {n} rows: {idx.tolist()}.")
        idx = idx % n if idx.size else idx
        if len(np.unique(idx)) != len(idx):
            raise ValueError(f"indices contain repeated rows: {idx.tolist()}.")
        already = idx[self.labeled_mask_[idx]]
        if already.size:
            raise ValueError(f"rows {already.tolist()} are already labeled.")
        if np.any(np.asarray(labels == -1, dtype=bool)):
            raise ValueError("y contains -1, the marker of unlabeled rows; give real labels.")
        if self.y_training.dtype.kind in "biuf":
            try:
                cast = labels.astype(self.y_training.dtype)
                ok = bool(np.all(cast == labels))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"labels {labels.tolist()} do not fit y_training's dtype "
                                 f"{self.y_training.dtype}.")
            labels = cast
        self.y_training[idx] = labels
        self.taught_indices_ = np.concatenate([self.taught_indices_, idx])
        self._refit(self.warm_start, **fit_kwargs)

    # -- delegation ----------------------------------------------------------------------------
    def predict(self, X: ArrayLike, **predict_kwargs) -> np.ndarray:
        """Predicted classes of ``X`` (the estimator's ``predict``)."""
        return self.estimator.predict(X, **predict_kwargs)

    def predict_proba(self, X: ArrayLike, **predict_proba_kwargs) -> np.ndarray:
        """Class probabilities of ``X`` (the estimator's ``predict_proba``)."""
        return self.estimator.predict_proba(X, **predict_proba_kwargs)

    def score(self, X: ArrayLike, y: ArrayLike, **score_kwargs) -> float:
        """The estimator's score (accuracy for skdgm classifiers) on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test inputs.
        y : array-like of shape (n_samples,)
            True labels; skdgm classifiers ignore rows with ``y == -1``.
        **score_kwargs
            Passed to ``estimator.score``.

        Returns
        -------
        score : float
        """
        return self.estimator.score(X, y, **score_kwargs)
