"""Subnormal floats are flushed to zero while an estimator trains and predicts on the CPU, and
the caller's floating-point mode is restored afterwards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm._training import cpu_flush_denormals, flushing_denormals
from skdgm.datasets import make_ssl_moons

SUBNORMAL = float(np.finfo(np.float32).tiny) / 4


@pytest.fixture(autouse=True)
def _restore_mode():
    before = flushing_denormals()
    yield
    torch.set_flush_denormal(before)


def test_probe_reads_the_mode_set_by_torch():
    torch.set_flush_denormal(False)
    assert not flushing_denormals()
    x = torch.tensor([SUBNORMAL])
    assert (x * 1.0).item() == pytest.approx(SUBNORMAL)    # subnormals computed as such
    torch.set_flush_denormal(True)
    assert flushing_denormals()
    assert (torch.tensor([SUBNORMAL]) * 1.0).item() == 0.0


@pytest.mark.parametrize("before", [False, True])
def test_context_flushes_on_the_cpu_and_restores_the_mode(before):
    torch.set_flush_denormal(before)
    with cpu_flush_denormals("cpu"):
        assert flushing_denormals()
    assert flushing_denormals() == before


def test_context_restores_the_mode_after_an_error():
    torch.set_flush_denormal(False)
    with pytest.raises(RuntimeError, match="inside"), cpu_flush_denormals("cpu"):
        raise RuntimeError("inside")
    assert not flushing_denormals()


def test_context_leaves_the_mode_alone_for_other_devices():
    torch.set_flush_denormal(False)
    with cpu_flush_denormals("cuda"):  # no GPU needed: the device is only inspected
        assert not flushing_denormals()


#: modes seen by :class:`_ModeSeen` (the estimators train on deep copies of their callbacks)
MODES_SEEN: list[bool] = []


class _ModeSeen(Callback):
    def on_batch_begin(self, net, **kwargs):
        MODES_SEEN.append(flushing_denormals())


@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier])
def test_estimators_train_and_predict_with_subnormals_flushed(cls, monkeypatch):
    torch.set_flush_denormal(False)
    X, y, _ = make_ssl_moons(300, 0.1, random_state=0)
    MODES_SEEN.clear()
    clf = cls(max_epochs=2, random_state=0, callbacks=[_ModeSeen()]).fit(X, y)
    assert MODES_SEEN and all(MODES_SEEN)     # every training batch ran flushed
    assert not flushing_denormals()           # and the caller's mode is back
    modes = []
    module = clf.module_
    original = module.predict_proba

    def spy(*args, **kwargs):
        modes.append(flushing_denormals())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "predict_proba", spy)
    clf.predict_proba(X[:50])
    assert modes == [True] and not flushing_denormals()
    # sample() runs its decoder pass flushed too
    original_sample = module.sample

    def sample_spy(*args, **kwargs):
        modes.append(flushing_denormals())
        return original_sample(*args, **kwargs)

    monkeypatch.setattr(module, "sample", sample_spy)
    clf.sample(5)
    assert modes == [True, True] and not flushing_denormals()
