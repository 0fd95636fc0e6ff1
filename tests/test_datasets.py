import numpy as np
import pytest

from skdgm.datasets import (
    MOONS_ANCHORS,
    load_mnist,
    make_ssl_moons,
    make_ssl_split,
    moons_anchor_indices,
)


def test_fixed_moons_labels_are_the_six_anchors():
    X, y, y_true = make_ssl_moons(2000, noise=0.1, random_state=0)
    labeled = np.flatnonzero(y >= 0)
    assert len(labeled) == 6
    np.testing.assert_array_equal(y[labeled], y_true[labeled])
    assert sorted(y[labeled].tolist()) == [0, 0, 0, 1, 1, 1]
    # each labeled row is close to its anchor (the nearest row of the right class)
    d = np.linalg.norm(X[moons_anchor_indices(X, y_true)] - MOONS_ANCHORS, axis=1)
    assert d.max() < 0.2


def test_random_moons_labels_are_stratified_and_seeded():
    _, y1, _ = make_ssl_moons(500, labels="random", n_labeled=6, random_state=3)
    _, y2, _ = make_ssl_moons(500, labels="random", n_labeled=6, random_state=3)
    _, y3, _ = make_ssl_moons(500, labels="random", n_labeled=6, random_state=4)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, y3)
    assert np.bincount(y1[y1 >= 0]).tolist() == [3, 3]


def test_make_ssl_split_keeps_per_class_counts_and_does_not_mutate():
    y = np.repeat(np.array(["a", "b", "c"]), 10)
    y_copy = y.copy()
    y_semi = make_ssl_split(y, 2, random_state=0)
    assert y_semi.dtype == object
    np.testing.assert_array_equal(y, y_copy)
    kept = y_semi[y_semi != -1]
    assert sorted(kept.tolist()) == ["a", "a", "b", "b", "c", "c"]
    with pytest.raises(ValueError, match="fewer than"):
        make_ssl_split(y, 11)


def test_bad_moons_arguments():
    with pytest.raises(ValueError, match="fixed"):
        make_ssl_moons(100, labels="fixed", n_labeled=4)
    with pytest.raises(ValueError, match="'fixed' or 'random'"):
        make_ssl_moons(100, labels="some")


def test_load_mnist_local_file_and_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mini.npz"
    np.savez(path, x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_train=np.arange(5), x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
             y_test=np.arange(2))
    X, y, Xt, yt = load_mnist(path)
    assert X.shape == (5, 784) and Xt.shape == (2, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(tmp_path / "missing.npz")
