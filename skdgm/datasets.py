"""Semi-supervised data sets: labeled subsets with ``-1`` elsewhere, moons and MNIST.

One definition shared by the tests, the demo, the examples and the benchmarks.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons
from sklearn.utils import check_random_state

#: Labeled anchors of Maaloe et al. (2016), followed by Gordon (2017) Tables 5.1/5.2: the two
#: ends and the middle of each moon, in ``make_moons`` coordinates (class 0 is the upper moon).
MOONS_ANCHORS = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0],      # upper moon, class 0
                          [0.0, 0.5], [1.0, -0.5], [2.0, 0.5]])     # lower moon, class 1
MOONS_ANCHOR_CLASSES = np.array([0, 0, 0, 1, 1, 1])


def make_ssl_split(y, n_labeled_per_class: int, random_state=None) -> np.ndarray:
    """Keep ``n_labeled_per_class`` randomly drawn labels per class and set the rest to -1.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Fully labeled targets.
    n_labeled_per_class : int
        Labels kept per class (drawn without replacement by a seeded sampler).
    random_state : int, RandomState instance or None
        Seed of the draw.

    Returns
    -------
    y_semi : ndarray of shape (n_samples,)
        Copy of ``y`` with the unlabeled rows set to -1 (object dtype if ``y`` holds strings).
    """
    y = np.asarray(y)
    rng = check_random_state(random_state)
    y_semi = y.astype(object if y.dtype.kind in "US" else y.dtype, copy=True)
    keep = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) < n_labeled_per_class:
            raise ValueError(f"class {c!r} has {len(rows)} rows, fewer than "
                             f"n_labeled_per_class={n_labeled_per_class}.")
        keep[rng.choice(rows, n_labeled_per_class, replace=False)] = True
    y_semi[~keep] = -1
    return y_semi


def moons_anchor_indices(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows of (X, y) nearest to the six :data:`MOONS_ANCHORS`, each within its anchor's class."""
    idx = []
    for anchor, c in zip(MOONS_ANCHORS, MOONS_ANCHOR_CLASSES):
        rows = np.flatnonzero(y == c)
        idx.append(rows[np.argmin(np.sum((X[rows] - anchor) ** 2, axis=1))])
    return np.array(idx)


def make_ssl_moons(n_samples: int = 10_000, noise: float = 0.1, labels: str = "fixed",
                   n_labeled: int = 6, random_state=None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Semi-supervised two moons (thesis 5.2, Fig. 5.2).

    Parameters
    ----------
    n_samples : int, default=10_000
        Rows, from :func:`sklearn.datasets.make_moons`.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    labels : {"fixed", "random"}, default="fixed"
        "fixed": the six rows nearest to the ends and the middle of each moon (Maaloe et al.
        2016; the protocol of thesis Tables 5.1/5.2; ``n_labeled`` must be 6).  "random":
        ``n_labeled // 2`` rows drawn at random from each moon.
    n_labeled : int, default=6
        Number of labeled rows.
    random_state : int, RandomState instance or None
        Seed of the data and of the random labels.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        Labels 0/1 on the labeled rows, -1 elsewhere.
    y_true : ndarray of shape (n_samples,)
        All labels (for evaluation).
    """
    rng = check_random_state(random_state)
    X, y_true = make_moons(n_samples=n_samples, noise=noise, random_state=rng)
    if labels == "fixed":
        if n_labeled != 6:
            raise ValueError("labels='fixed' uses the six anchor points; set n_labeled=6.")
        y = np.full(n_samples, -1, dtype=np.int64)
        idx = moons_anchor_indices(X, y_true)
        y[idx] = y_true[idx]
    elif labels == "random":
        y = make_ssl_split(y_true, n_labeled // 2, rng).astype(np.int64)
    else:
        raise ValueError(f"labels must be 'fixed' or 'random', got {labels!r}.")
    return X, y, y_true


def _mnist_candidates(path) -> list[Path]:
    if path is not None:
        return [Path(path)]
    found = []
    if os.environ.get("SKDGM_MNIST"):
        found.append(Path(os.environ["SKDGM_MNIST"]))
    found.append(Path.home() / ".skdgm" / "mnist.npz")
    return found


def load_mnist(path=None, download: bool = False) -> tuple[np.ndarray, ...]:
    """MNIST as float32 pixels in [0, 1]: ``X_train (60000, 784), y_train, X_test, y_test``.

    Looks for an ``.npz`` with arrays ``x_train, y_train, x_test, y_test`` (uint8 images,
    the Keras layout) at ``path``, else at ``$SKDGM_MNIST``, else at ``~/.skdgm/mnist.npz``.
    With ``download=True`` and no local file it fetches ``mnist_784`` from OpenML through
    :func:`sklearn.datasets.fetch_openml` (standard 60k/10k split) and caches it as
    ``~/.skdgm/mnist.npz``.
    """
    for candidate in _mnist_candidates(path):
        if candidate.is_file():
            with np.load(candidate) as d:
                arrays = [d[k] for k in ("x_train", "y_train", "x_test", "y_test")]
            return _mnist_arrays(*arrays)
    if path is not None and not download:
        raise FileNotFoundError(f"No MNIST file at {path}. Pass the path of an .npz holding "
                                "x_train, y_train, x_test, y_test, or use download=True.")
    if not download:
        raise FileNotFoundError(
            "MNIST not found. Either pass load_mnist(path='.../mnist.npz') (arrays x_train, "
            "y_train, x_test, y_test), set SKDGM_MNIST to such a file, place it at "
            "~/.skdgm/mnist.npz, or call load_mnist(download=True) to fetch it from OpenML.")
    from sklearn.datasets import fetch_openml

    try:
        Xy = fetch_openml("mnist_784", version=1, as_frame=False, parser="liac-arff")
    except Exception as err:  # network errors differ by platform
        raise OSError(f"Could not download MNIST from OpenML ({err}). Download it elsewhere "
                      "and pass load_mnist(path=...).") from err
    X = Xy.data.reshape(-1, 28, 28).astype(np.uint8)
    y = Xy.target.astype(np.uint8)
    cache = Path.home() / ".skdgm" / "mnist.npz"
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, x_train=X[:60000], y_train=y[:60000], x_test=X[60000:],
                        y_test=y[60000:])
    return _mnist_arrays(X[:60000], y[:60000], X[60000:], y[60000:])


def _mnist_arrays(x_train, y_train, x_test, y_test) -> tuple[np.ndarray, ...]:
    def flat(x):
        return (np.asarray(x, dtype=np.float32).reshape(len(x), -1) / 255.0)

    return flat(x_train), np.asarray(y_train, np.int64), flat(x_test), np.asarray(y_test, np.int64)
