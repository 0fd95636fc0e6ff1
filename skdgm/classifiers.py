"""SSLPE and SSLAPD: the models of Gordon (2017), chapter 4, as scikit-learn classifiers."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from skdgm.base import BaseDGMClassifier, GenerativeMixin
from skdgm.nn.ssl_dgm import SSLDGM


class GibbsChainMixin:
    """What SSLPE and SSLAPD share beyond the base class: the ``gibbs_y`` rule of their Gibbs
    chain and ``recognition_proba``, the net q(y|x) the chain starts from."""

    _parameter_constraints = {**BaseDGMClassifier._parameter_constraints,
                              "gibbs_y": [StrOptions({"sample", "argmax"})]}

    def _prediction_kwargs(self) -> dict:
        return {"argmax_y": self.gibbs_y == "argmax"}

    def recognition_proba(self, X) -> np.ndarray:
        """Class probabilities of the recognition net q(y|x) alone, shape ``(n_samples,
        n_classes)``, columns in the order of ``classes_``.

        Not the model's prediction, which is :meth:`predict_proba` (the Gibbs procedure of
        thesis 4.4): q(y|x) is the distribution the Gibbs chain starts from and the classifier
        that alpha * log q(y|x) (eq. 4.10) trains on the labeled rows.  Set beside
        ``predict_proba`` it tells whether an error lies in p(y|x, z) or in q(y|x).
        Deterministic (no sampling).
        """
        X = self._validate_X(X)
        proba = self._batched(X, lambda m, x, g: m.recognition_proba(x))
        return proba / proba.sum(axis=-1, keepdims=True)  # exact simplex in float64


class SSLPEClassifier(GibbsChainMixin, GenerativeMixin, BaseDGMClassifier):
    """Semi-supervised deep generative classifier with point-estimate weights (SSLPE).

    p(z) = N(0, I); p(x|z) Gaussian or Bernoulli; p(y|x, z) = Cat(NN_y([x, z]));
    q(z|x, y) = N(mu, diag(sigma^2)); q(y|x) = Cat (thesis 4.1-4.14).  Trained on the labeled
    bound (4.5), the unlabeled bound with all classes enumerated (4.9, 4.11-4.13) and
    alpha * log q(y|x) on labeled rows (4.10); predicts with the Gibbs procedure of 4.4.

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(128, 128)
        Hidden widths of all four networks (thesis: 128, 128 on moons; 500, 500 on MNIST).
    n_latent : int, default=5
        Width of the latent z.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Observation model p(x|z); "bernoulli" expects X in [0, 1].
    activation : {"relu", "softplus", "tanh", "elu"}, default="relu"
        Hidden activation.
    batch_norm : bool, default=True
        Batch norm on every hidden layer of the four networks (thesis 5.1.4).
    max_epochs : int, default=15
        Passes over the unlabeled rows.
    batch_size : int, default=100
        Unlabeled rows per step.
    labeled_batch_size : int, default=None
        Labeled rows drawn beside each unlabeled batch; None uses
        ``min(n_labeled, batch_size)``.
    lr : float, default=7e-4
        Adam learning rate.
    lr_decay : float, default=1.0
        Exponential learning-rate decay per epoch (eq. 5.2 with omega = 1 epoch); 1 keeps
        it constant.
    weight_decay : float, default=0.0
        L2 penalty on the deterministic networks' parameters (thesis 5.1.2).
    kl_warmup : int, default=5
        Epochs over which the weight of KL(q(z|x,y) || p(z)) rises linearly from 0 to 1
        (thesis 5.1.1); 0 disables warm-up.
    labeled_weight : {"balanced", "proportional"} or float, default="balanced"
        Weight of the mean labeled bound relative to the mean unlabeled bound.  "balanced"
        (1.0) averages each part over its own batch, as the thesis's code did; "proportional"
        (N_l / N_u) is the full-data sum of Kingma et al. (2014), where a labeled row counts as
        much as an unlabeled one.  See the user guide for the measurement behind the default.
    alpha : "auto" or float, default="auto"
        Weight of the mean log q(y|x) on labeled rows (eq. 4.10); "auto" is
        ``0.1 * N / N_l * labeled_weight`` (Kingma et al.'s rule).
    n_mc_samples : int, default=1
        Samples of z per row in each training step, the bounds averaged over them (a
        lower-variance gradient; the thesis's code used 1, Maaloe et al.'s SDGM code 5).  A
        step costs about ``n_mc_samples`` times more.  SSLAPD's weight draw is shared by them.
    max_grad_norm : float, default=None
        Clip the total norm of the gradient to this value before each optimizer step
        (skorch's ``GradientNormClipping``; Maaloe et al.'s code capped it at 5); None does
        not clip.
    n_gibbs : int, default=10
        Gibbs steps T for prediction (thesis 4.4).
    gibbs_y : {"sample", "argmax"}, default="sample"
        How the Gibbs chain sets y: "sample" draws y0 ~ q(y|x) and each y ~ p(y|x, z, W) (the
        thesis's text, 4.4); "argmax" takes the most probable class instead, as the thesis's
        code did (its published tables came from it).  Used by ``predict_proba``,
        ``predict_proba_samples``, ``transform`` and ``n_init``'s choice; see BENCHMARKS.md
        for what it changes on the moons.
    n_draws : int, default=10
        Default number of posterior draws of :meth:`predict_proba_samples`.
    n_init : int, default=1
        Fits from different seeds (drawn from ``random_state``; the first is the seed a single
        fit uses); the one whose predictions on the unlabeled training rows have the lowest
        mean entropy is kept (the cluster assumption: a decision boundary through a dense
        region leaves many rows uncertain).  Uses no labels; costs ``n_init`` fits.  On the
        moons with noise 0.2 it told collapsed fits from good ones where the bound did not
        (BENCHMARKS.md).  Ignored by a ``warm_start`` refit.
    init_selection : {"entropy", "consensus"}, default="entropy"
        How ``n_init`` picks its fit.  "entropy": the lowest mean predictive entropy on the
        unlabeled training rows, as above.  "consensus": the medoid, i.e. the fit whose
        predicted classes on those rows agree most with the other fits' (ties: lower
        entropy); good fits agree with one another, while collapsed ones each cut the data
        their own way.  It needs ``n_init`` >= 3 (with 2, "entropy" decides) and keeps all
        ``n_init`` networks in memory until they are compared.
    train_split : callable, default=None
        skorch train/validation splitter (e.g. ``skorch.dataset.ValidSplit(5,
        stratified=True)``, or ``skorch.helper.predefined_split`` of a dataset labeled like
        ``y``, or unlabeled); the history then records per epoch the validation objective
        (``valid_loss``) and, on the labeled validation rows, ``valid_acc`` and
        ``valid_log_lik`` (mean log p(y|x)) with ``_best`` flags for ``EarlyStopping``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (e.g. ``skorch.callbacks.Checkpoint``).
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    verbose : int, default=0
        0 is silent; 1 shows a progress bar and a per-epoch table.
    warm_start : bool, default=False
        If True, ``fit`` continues training the fitted networks (same classes) for
        ``max_epochs`` more epochs (its value at that call) instead of starting afresh.  The
        objective's weights follow the new labels; as in scikit-learn's ``MLPClassifier``,
        the optimizer (its state and learning rate, decayed by ``lr_decay``) carries over, and
        so do ``batch_size``, ``train_split`` and ``callbacks``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, minibatches and prediction; an int makes results reproducible
        on CPU (on CUDA up to the summation order of GPU kernels; see the user guide).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (without -1).
    n_features_in_ : int
        Number of features seen in fit.
    net_ : skdgm._training.DGMNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    seed_ : int
        Seed drawn from ``random_state`` at fit time (with ``n_init`` > 1: the kept fit's).
    n_iter_ : int
        Epochs trained.
    init_entropies_ : ndarray of shape (n_init,) or None
        Mean predictive entropy on the unlabeled rows of each of the ``n_init`` fits (None
        when ``n_init`` is 1).
    init_agreement_ : ndarray of shape (n_init, n_init) or None
        Share of unlabeled rows on which two fits predict the same class (only with
        ``init_selection="consensus"`` and ``n_init`` >= 3; None otherwise).

    References
    ----------
    J. Gordon (2017). Bayesian Deep Generative Models for Semi-Supervised and Active Learning.

    Examples
    --------
    >>> from skdgm import SSLPEClassifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = SSLPEClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _module_class = SSLDGM

    def __init__(self, *, hidden_sizes=(128, 128), n_latent=5, likelihood="gaussian",
                 activation="relu", batch_norm=True, max_epochs=15, batch_size=100,
                 labeled_batch_size=None, lr=7e-4, lr_decay=1.0, weight_decay=0.0,
                 kl_warmup=5, labeled_weight="balanced", alpha="auto", n_mc_samples=1,
                 max_grad_norm=None, n_gibbs=10, gibbs_y="sample", n_draws=10, n_init=1,
                 init_selection="entropy", train_split=None, callbacks=None, device="cpu",
                 verbose=0, warm_start=False, random_state=None):
        super().__init__(
            hidden_sizes=hidden_sizes, n_latent=n_latent, likelihood=likelihood,
            activation=activation, batch_norm=batch_norm, max_epochs=max_epochs,
            batch_size=batch_size, labeled_batch_size=labeled_batch_size, lr=lr,
            lr_decay=lr_decay, weight_decay=weight_decay, kl_warmup=kl_warmup,
            labeled_weight=labeled_weight, alpha=alpha, n_mc_samples=n_mc_samples,
            max_grad_norm=max_grad_norm, n_gibbs=n_gibbs, n_draws=n_draws, n_init=n_init,
            init_selection=init_selection, train_split=train_split, callbacks=callbacks,
            device=device, verbose=verbose, warm_start=warm_start, random_state=random_state)
        self.gibbs_y = gibbs_y


class SSLAPDClassifier(GibbsChainMixin, GenerativeMixin, BaseDGMClassifier):
    """Semi-supervised deep generative classifier with a posterior over W_y (SSLAPD).

    As :class:`SSLPEClassifier`, but the classifier p(y|x, z, W) has a factorised Gaussian
    posterior q(W) with a N(0, I) prior, trained by Bayes-by-backprop (thesis 4.16-4.22); the
    KL(q(W) || p(W)) is counted once per pass over the data.  Its batch norm normalises with
    statistics of the weight-mean pre-activations (thesis 5.3).

    Parameters
    ----------
    init_log_var : float, default=-10.0
        Initial log-variance of every classifier weight (thesis 5.1.3: tiny variances).
    prior_std : float, default=1.0
        Standard deviation of the Gaussian weight prior.
    bn_statistics : {"weight_means", "sampled"}, default="weight_means"
        Batch-norm statistics of the Bayesian classifier: from the weight means (thesis 5.3)
        or, for comparison, from the sampled weights (naive batch norm).
    **other parameters
        As :class:`SSLPEClassifier`; the defaults differ in ``max_epochs=50``, ``lr=3e-3`` and
        ``kl_warmup=15`` (the thesis's moons settings).

    Attributes
    ----------
    classes_, n_features_in_, net_, seed_, n_iter_, init_entropies_, init_agreement_
        As :class:`SSLPEClassifier`.

    Examples
    --------
    >>> from skdgm import SSLAPDClassifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = SSLAPDClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba_samples(X[:3], n_draws=4).shape
    (4, 3, 2)
    """

    _module_class = SSLDGM
    _bayesian_param_patterns = ("classifier.*",)
    _parameter_constraints = {
        **GibbsChainMixin._parameter_constraints,
        "init_log_var": [Interval(Real, None, None, closed="neither")],
        "prior_std": [Interval(Real, 0, None, closed="neither")],
        "bn_statistics": [StrOptions({"weight_means", "sampled"})],
    }

    def __init__(self, *, hidden_sizes=(128, 128), n_latent=5, likelihood="gaussian",
                 activation="relu", batch_norm=True, max_epochs=50, batch_size=100,
                 labeled_batch_size=None, lr=3e-3, lr_decay=1.0, weight_decay=0.0,
                 kl_warmup=15, labeled_weight="balanced", alpha="auto", n_mc_samples=1,
                 max_grad_norm=None, n_gibbs=10, gibbs_y="sample", n_draws=10, n_init=1,
                 init_selection="entropy", init_log_var=-10.0, prior_std=1.0,
                 bn_statistics="weight_means", train_split=None, callbacks=None, device="cpu",
                 verbose=0, warm_start=False, random_state=None):
        super().__init__(
            hidden_sizes=hidden_sizes, n_latent=n_latent, likelihood=likelihood,
            activation=activation, batch_norm=batch_norm, max_epochs=max_epochs,
            batch_size=batch_size, labeled_batch_size=labeled_batch_size, lr=lr,
            lr_decay=lr_decay, weight_decay=weight_decay, kl_warmup=kl_warmup,
            labeled_weight=labeled_weight, alpha=alpha, n_mc_samples=n_mc_samples,
            max_grad_norm=max_grad_norm, n_gibbs=n_gibbs, n_draws=n_draws, n_init=n_init,
            init_selection=init_selection, train_split=train_split, callbacks=callbacks,
            device=device, verbose=verbose, warm_start=warm_start, random_state=random_state)
        self.gibbs_y = gibbs_y
        self.init_log_var = init_log_var
        self.prior_std = prior_std
        self.bn_statistics = bn_statistics

    def _module_params(self) -> dict:
        return {**super()._module_params(), "bayesian": True,
                "init_log_var": self.init_log_var, "prior_std": self.prior_std,
                "bn_statistics": self.bn_statistics}
