"""The baselines of Gordon (2017), section 5.2, as scikit-learn classifiers: DNN, M2, ADGM, SDGM.

Each is a small :class:`~skdgm.base.BaseDGMClassifier` subclass naming its torch module from
:mod:`skdgm.nn.baselines`; fitting, prediction, seeding and validation are the base class's.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from skdgm.base import BaseDGMClassifier, GenerativeMixin
from skdgm.nn.baselines import DNN, M2, AuxiliaryDGM

_SHARED = BaseDGMClassifier._parameter_constraints


class DNNClassifier(BaseDGMClassifier):
    """Supervised MLP classifier trained on the labeled rows only (the thesis's DNN baseline).

    p(y|x) = Cat(softmax(NN(x))), trained by maximum likelihood (mean cross-entropy) on the rows
    whose label is not -1; unlabeled rows are dropped before training, so a fit is the same
    with or without them.  Predictions are the softmax of the network; every draw of
    :meth:`predict_proba_samples` is the same (one draw by default), so its BALD score is 0.
    It has no ``transform``, ``fit_transform`` or ``sample`` (no latent variables, no model
    of x).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(128, 128)
        Hidden widths.
    activation : {"relu", "softplus", "tanh", "elu"}, default="relu"
        Hidden activation.
    batch_norm : bool, default=False
        Batch norm on the hidden layers.  Off by default: with a handful of labels there is
        one small batch per epoch, and the running statistics used at prediction time stay
        far from the training batch statistics (on the 6-label moons batch norm ruins the
        predictions).
    max_epochs : int, default=200
        Passes over the labeled rows (REFERENCE_SETTINGS.md, moons).
    batch_size : int, default=100
        Labeled rows per step (all of them when fewer: the reference used batches of 6 on
        the 6-label moons).
    lr : float, default=1e-2
        Adam learning rate.
    lr_decay : float, default=1.0
        Exponential learning-rate decay per epoch.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    max_grad_norm : float, default=None
        Clip the total gradient norm before each step, as :class:`skdgm.SSLPEClassifier`.
    train_split, callbacks, device, verbose, warm_start, random_state
        As :class:`skdgm.SSLPEClassifier`.

    Attributes
    ----------
    classes_, n_features_in_, net_, seed_, n_iter_
        As :class:`skdgm.SSLPEClassifier`.
    init_entropies_, init_agreement_ : None
        Always None: no restarts (``n_init`` ranks them on the unlabeled rows, which the DNN
        drops).

    Examples
    --------
    >>> from skdgm.baselines import DNNClassifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = DNNClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _module_class = DNN
    # fixed settings read by the base class (not parameters: they have no effect on a DNN)
    n_latent = None
    likelihood = None
    labeled_batch_size = None
    kl_warmup = 0
    labeled_weight = 1.0
    alpha = 0.0
    n_mc_samples = 1
    n_gibbs = 1
    n_draws = 1
    n_init = 1  # the unlabeled rows, which rank restarts, are dropped
    init_selection = "entropy"
    _parameter_constraints = {
        name: _SHARED[name]
        for name in ("hidden_sizes", "activation", "batch_norm", "max_epochs", "batch_size",
                     "lr", "lr_decay", "weight_decay", "max_grad_norm", "train_split",
                     "callbacks", "device",
                     "verbose", "warm_start", "random_state")
    }

    def __init__(self, *, hidden_sizes=(128, 128), activation="relu", batch_norm=False,
                 max_epochs=200, batch_size=100, lr=1e-2, lr_decay=1.0, weight_decay=0.0,
                 max_grad_norm=None, train_split=None, callbacks=None, device="cpu", verbose=0,
                 warm_start=False, random_state=None):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.batch_norm = batch_norm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.random_state = random_state

    def _module_params(self) -> dict:
        return {"hidden": tuple(self.hidden_sizes), "batch_norm": self.batch_norm,
                "activation": self.activation}

    def _validate_X_y(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Validate as the base class does, then keep only the labeled rows."""
        X, y_enc = super()._validate_X_y(X, y)
        keep = y_enc >= 0
        return X[keep], y_enc[keep]


class M2Classifier(GenerativeMixin, BaseDGMClassifier):
    """The M2 semi-supervised deep generative model of Kingma et al. (2014), thesis 3.1.

    p(z) = N(0, I); p(y) = Cat(1/K); p(x|y, z) Gaussian or Bernoulli (eqs. 3.1-3.2);
    q(z|x, y) = N(mu, diag(sigma^2)); q(y|x) = Cat.  Trained on the labeled bound (3.3), the
    unlabeled bound with every class enumerated (3.4) and alpha * log q(y|x) on labeled rows
    (3.5).  Predicts with q(y|x), which is deterministic: :meth:`predict_proba_samples` gives
    one draw by default, and further draws are identical copies (BALD is 0).  ``transform``
    returns sum_y q(y|x) E[z|x, y]; ``sample`` draws y uniformly, z ~ p(z) and x ~ p(x|y, z).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(128, 128)
        Hidden widths of q(y|x), q(z|x, y) and p(x|y, z).
    n_latent : int, default=5
        Width of z.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Observation model p(x|y, z); "bernoulli" expects X in [0, 1].
    activation : {"relu", "softplus", "tanh", "elu"}, default="relu"
        Hidden activation.
    batch_norm : bool, default=True
        Batch norm on every hidden layer.
    max_epochs : int, default=100
        Passes over the unlabeled rows.  The thesis trained 500 epochs on moons (10,000 rows);
        100 is a cheaper default that already separates the moons.
    lr : float, default=3e-3
        Adam learning rate (the thesis's moons setting).
    kl_warmup : int, default=50
        Epochs of linear KL warm-up (the thesis's moons setting); 0 disables it.
    batch_size, labeled_batch_size, lr_decay, weight_decay, labeled_weight, alpha, n_mc_samples,
    max_grad_norm
        As :class:`skdgm.SSLPEClassifier` (same defaults).
    n_init, init_selection, train_split, callbacks, device, verbose, warm_start, random_state
        As :class:`skdgm.SSLPEClassifier`.

    Attributes
    ----------
    classes_, n_features_in_, net_, seed_, n_iter_, init_entropies_, init_agreement_
        As :class:`skdgm.SSLPEClassifier`.

    References
    ----------
    D. P. Kingma, D. J. Rezende, S. Mohamed, M. Welling (2014). Semi-supervised learning with
    deep generative models. NIPS.

    Examples
    --------
    >>> from skdgm.baselines import M2Classifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = M2Classifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _module_class = M2
    # q(y|x) is deterministic: one prediction pass, one distinct draw
    n_gibbs = 1
    n_draws = 1
    _parameter_constraints = {k: v for k, v in _SHARED.items() if k not in ("n_gibbs", "n_draws")}

    def __init__(self, *, hidden_sizes=(128, 128), n_latent=5, likelihood="gaussian",
                 activation="relu", batch_norm=True, max_epochs=100, batch_size=100,
                 labeled_batch_size=None, lr=3e-3, lr_decay=1.0, weight_decay=0.0,
                 kl_warmup=50, labeled_weight="balanced", alpha="auto", n_mc_samples=1,
                 max_grad_norm=None, n_init=1, init_selection="entropy",
                 train_split=None, callbacks=None, device="cpu", verbose=0, warm_start=False,
                 random_state=None):
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
        self.n_init = n_init
        self.init_selection = init_selection
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.random_state = random_state


class _AuxiliaryClassifier(GenerativeMixin, BaseDGMClassifier):
    """Shared parameters of :class:`ADGMClassifier` and :class:`SDGMClassifier`."""

    _module_class = AuxiliaryDGM
    _skip: bool = True
    _parameter_constraints = {**_SHARED,
                              "n_auxiliary": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, *, hidden_sizes=(128, 128), n_latent=5, n_auxiliary=5,
                 likelihood="gaussian", activation="relu", batch_norm=True, max_epochs=100,
                 batch_size=100, labeled_batch_size=None, lr=1e-3, lr_decay=1.0,
                 weight_decay=0.0, kl_warmup=10, labeled_weight="balanced", alpha="auto",
                 n_mc_samples=1, max_grad_norm=None, n_gibbs=10, n_draws=10, n_init=1,
                 init_selection="entropy", train_split=None, callbacks=None,
                 device="cpu", verbose=0, warm_start=False, random_state=None):
        super().__init__(
            hidden_sizes=hidden_sizes, n_latent=n_latent, likelihood=likelihood,
            activation=activation, batch_norm=batch_norm, max_epochs=max_epochs,
            batch_size=batch_size, labeled_batch_size=labeled_batch_size, lr=lr,
            lr_decay=lr_decay, weight_decay=weight_decay, kl_warmup=kl_warmup,
            labeled_weight=labeled_weight, alpha=alpha, n_mc_samples=n_mc_samples,
            max_grad_norm=max_grad_norm, n_gibbs=n_gibbs, n_draws=n_draws, n_init=n_init,
            init_selection=init_selection, train_split=train_split, callbacks=callbacks,
            device=device, verbose=verbose, warm_start=warm_start, random_state=random_state)
        self.n_auxiliary = n_auxiliary

    def _module_params(self) -> dict:
        return {**super()._module_params(), "n_auxiliary": self.n_auxiliary,
                "skip": self._skip}


class ADGMClassifier(_AuxiliaryClassifier):
    """Auxiliary deep generative model (ADGM, Maaloe et al. 2016), thesis 3.1.1.

    Generative model p(z) p(y) p(x|y, z) p(a|x, y, z): the auxiliary a leaves p(x, y)
    unchanged and only enriches the recognition model q(a|x) q(y|a, x) q(z|a, y, x) (eq. 3.6).
    Trained on the labeled (3.7) and unlabeled (3.8) bounds with one sample of a and z, every
    class enumerated, plus alpha * log q(y|a, x) on labeled rows.  Predicts with q(y|a, x)
    averaged over ``n_gibbs`` samples a ~ q(a|x); ``transform`` gives the mean of q(z|a, y, x)
    averaged over y ~ q(y|a, x) and a; ``sample`` draws y uniformly, z and x ~ p(x|y, z).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(128, 128)
        Hidden widths of all five networks.
    n_latent : int, default=5
        Width of z.
    n_auxiliary : int, default=5
        Width of the auxiliary variable a.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Observation model of x; "bernoulli" expects X in [0, 1].
    activation : {"relu", "softplus", "tanh", "elu"}, default="relu"
        Hidden activation.
    batch_norm : bool, default=True
        Batch norm on every hidden layer.
    max_epochs : int, default=100
        Passes over the unlabeled rows.
    lr : float, default=1e-3
        Adam learning rate.
    kl_warmup : int, default=10
        Epochs over which beta, the weight of the z-KL and of log p(a|.) - log q(a|x), rises
        linearly from 0 to 1; 0 disables warm-up.  ``lr`` and ``kl_warmup`` were chosen on
        the 6-label moons (10,000 rows, 5 seeds) among lr in {1e-3, 3e-3} and warm-up in
        {10, 50}; the reference MNIST settings are in REFERENCE_SETTINGS.md.
    n_mc_samples : int, default=1
        Samples of (a, z) per row in each training step, the bounds averaged over them
        (Maaloe et al.'s code used 5); each step then costs about ``n_mc_samples`` times more.
    max_grad_norm : float, default=None
        Clip the total gradient norm before each optimizer step to this value (skorch's
        ``GradientNormClipping``; Maaloe et al.'s code capped it at 5); None does not clip.
    n_gibbs : int, default=10
        Samples a ~ q(a|x) over which q(y|a, x) is averaged in prediction (the name is shared
        with the Gibbs-predicting models; no Gibbs chain is run here).
    n_draws : int, default=10
        Default number of draws of :meth:`predict_proba_samples`; each draw averages q(y|a, x)
        over its own ``n_gibbs`` samples of a.
    batch_size, labeled_batch_size, lr_decay, weight_decay, labeled_weight, alpha
        As :class:`skdgm.SSLPEClassifier` (same defaults).
    n_init, init_selection, train_split, callbacks, device, verbose, warm_start, random_state
        As :class:`skdgm.SSLPEClassifier`.

    Attributes
    ----------
    classes_, n_features_in_, net_, seed_, n_iter_, init_entropies_, init_agreement_
        As :class:`skdgm.SSLPEClassifier`.

    References
    ----------
    L. Maaloe, C. K. Sonderby, S. K. Sonderby, O. Winther (2016). Auxiliary deep generative
    models. ICML.

    Examples
    --------
    >>> from skdgm.baselines import ADGMClassifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = ADGMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba_samples(X[:3], n_draws=4).shape
    (4, 3, 2)
    """

    _skip = False


class SDGMClassifier(_AuxiliaryClassifier):
    """Skip deep generative model (SDGM, Maaloe et al. 2016), thesis 3.1.1.

    Generative model p(z) p(y) p(a|y, z) p(x|a, y, z): a becomes a second stochastic layer with
    skip connections from z and y to x; recognition model q(a|x) q(y|a, x) q(z|a, y, x)
    (eq. 3.6).  Trained on the labeled (3.7) and unlabeled (3.8) bounds with one sample of a
    and z, every class enumerated, plus alpha * log q(y|a, x) on labeled rows.  Predicts with
    q(y|a, x) averaged over ``n_gibbs`` samples a ~ q(a|x); ``transform`` gives the mean of
    q(z|a, y, x) averaged over y ~ q(y|a, x) and a; ``sample`` draws y uniformly, z,
    a ~ p(a|y, z) and x ~ p(x|a, y, z).

    Parameters
    ----------
    **parameters
        As :class:`ADGMClassifier` (same names and defaults).

    Attributes
    ----------
    classes_, n_features_in_, net_, seed_, n_iter_, init_entropies_, init_agreement_
        As :class:`skdgm.SSLPEClassifier`.

    References
    ----------
    L. Maaloe, C. K. Sonderby, S. K. Sonderby, O. Winther (2016). Auxiliary deep generative
    models. ICML.

    Examples
    --------
    >>> from skdgm.baselines import SDGMClassifier
    >>> from skdgm.datasets import make_ssl_moons
    >>> X, y, _ = make_ssl_moons(n_samples=500, random_state=0)
    >>> clf = SDGMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba_samples(X[:3], n_draws=4).shape
    (4, 3, 2)
    """

    _skip = True
