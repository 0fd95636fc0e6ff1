"""Speed benchmark of skdgm on MNIST-size networks, with synthetic data.

Run as::

    python -m benchmarks.speed [--quick|--full] [--out DIR] [--threads N] [--device cpu|cuda]

It measures, in one run on one machine:

1. the dense fp32 matmul rate (GFLOP/s) of the machine, as the reference for everything else;
2. seconds per training step (and per 60k-row epoch, 600 steps of 100 labeled + 100 unlabeled
   rows) of SSLPE and SSLAPD (thesis MNIST setting: 784 inputs, hidden 500,500, z = 100,
   10 classes, Bernoulli x, ReLU, no batch norm; and a batch-norm variant) through the
   estimators' real skorch training loop, and of the baselines when :mod:`skdgm.baselines`
   imports;
3. the same step as a minimal plain-PyTorch loop (hand-written networks, Adam), and the ratio
   skdgm / plain;
4. the FLOPs of one step, analytically and with :class:`torch.utils.flop_counter.FlopCounterMode`,
   and the achieved GFLOP/s as a fraction of the matmul rate;
5. Gibbs ``predict_proba`` on 10,000 rows (T = 10), the Monte-Carlo sampling and scoring of one
   BALD query over a pool, and one BatchBALD query;
6. how training and prediction costs scale with rows, classes K, Gibbs steps T and draws.

Results go to ``speed.json``, ``speed.csv`` and ``speed.png`` under ``--out`` (default
``benchmarks/results/speed_<device>``).  ``--quick`` (the default) takes a few minutes on a
2-core CPU; ``--full`` repeats more and adds the 60,000-row pool.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import skorch
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import skdgm
import skdgm.base
from benchmarks._common import machine_info as common_machine_info
from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.acquisition import bald, batch_bald

T = TypeVar("T")

#: steps in one 60k-row epoch at 100 unlabeled rows per step
STEPS_PER_EPOCH = 600
#: targets of the overhead ratio and of the achieved fraction of the matmul rate
TARGET_RATIO = 1.15
TARGET_FRACTION = 0.60
LR = 5e-4                 # thesis MNIST setting
SSLAPD_INIT_LOG_VAR = -12.0


# -- profiles -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """Sizes and repeat counts of one benchmark run.

    Parameters
    ----------
    name : str
        Profile name (``quick``, ``full`` or ``tiny``).
    n_features, n_classes, n_latent : int
        Input width D, classes K and latent width Z of the networks.
    hidden : tuple of int
        Hidden widths of every network.
    batch_l, batch_u : int
        Labeled and unlabeled rows per training step.
    matmul_size : int
        Side of the square matmul benchmark.
    matmul_repeats : int
        Repeats of each matmul measurement (best is kept).
    matmul_seconds : float
        Minimum duration of one timed matmul loop.
    warmup_steps, timed_steps : int
        Training steps discarded as warm-up, and timed after it.
    train_repeats : int
        Alternating skdgm / plain repeats (the best median is kept).
    predict_rows : int
        Rows of the ``predict_proba`` benchmark.
    n_gibbs, n_draws : int
        Gibbs steps T and Monte-Carlo draws of prediction and BALD.
    predict_repeats : int
        Repeats of the prediction timings (best is kept).
    pool_rows : tuple of int
        Pool sizes of the BALD / BatchBALD queries.
    acquisition_models : tuple of str
        Models whose BALD / BatchBALD queries are timed.
    batchbald_instances : int
        Batch size of the BatchBALD query.
    batchbald_model : str
        The model whose MC samples feed the BatchBALD query (its cost depends on the shape of
        the samples only, so one model suffices).
    batchbald_max_pool : int or None
        Largest pool a BatchBALD query is timed on (None: every pool); its greedy selection
        is by far the slowest part of the run, so a short session may leave out the
        60,000-row pool (``--batchbald-max-pool``).
    scale_models : tuple of str
        Models of the scaling grid.
    scale_batch, scale_classes, scale_gibbs, scale_draws, scale_rows : tuple of int
        Grid values: training rows per step (labeled = unlabeled), classes, Gibbs steps,
        draws, prediction rows.
    scale_predict_rows : int
        Rows of the prediction timings in the classes / Gibbs / draws grids.
    scale_steps : int
        Timed training steps per grid point (after ``warmup_steps``).
    """

    name: str
    n_features: int = 784
    n_classes: int = 10
    n_latent: int = 100
    hidden: tuple[int, ...] = (500, 500)
    batch_l: int = 100
    batch_u: int = 100
    matmul_size: int = 2048
    matmul_repeats: int = 5
    matmul_seconds: float = 0.2
    warmup_steps: int = 5
    timed_steps: int = 40
    train_repeats: int = 3
    predict_rows: int = 10_000
    n_gibbs: int = 10
    n_draws: int = 10
    predict_repeats: int = 3
    pool_rows: tuple[int, ...] = (10_000, 60_000)
    batchbald_instances: int = 10
    batchbald_model: str = "SSLAPD"
    batchbald_max_pool: int | None = None
    acquisition_models: tuple[str, ...] = ("SSLPE", "SSLAPD")
    scale_models: tuple[str, ...] = ("SSLPE", "SSLAPD")
    scale_batch: tuple[int, ...] = (25, 50, 100, 200, 400)
    scale_classes: tuple[int, ...] = (2, 5, 10, 20)
    scale_gibbs: tuple[int, ...] = (1, 2, 5, 10, 20)
    scale_draws: tuple[int, ...] = (1, 2, 5, 10, 20)
    scale_rows: tuple[int, ...] = (1_000, 3_000, 10_000, 30_000)
    scale_predict_rows: int = 5_000
    scale_steps: int = 15


PROFILES: dict[str, Profile] = {
    "full": Profile("full"),
    "quick": Profile(
        # best of 3 repeats for the steps and predictions, as for the matmul rate they are
        # compared with: the shared 2-core machine's speed drifts by a third within minutes
        "quick", matmul_repeats=3, warmup_steps=3, timed_steps=12, train_repeats=3,
        predict_repeats=3, pool_rows=(10_000,), acquisition_models=("SSLAPD",),
        scale_models=("SSLPE",),
        scale_batch=(25, 100, 400), scale_classes=(2, 10, 20), scale_gibbs=(1, 5, 20),
        scale_draws=(1, 5, 20), scale_rows=(500, 2_000, 8_000), scale_predict_rows=1_000,
        scale_steps=5),
    "tiny": Profile(
        "tiny", n_features=20, n_classes=3, n_latent=4, hidden=(16, 16), batch_l=8, batch_u=8,
        matmul_size=64, matmul_repeats=1, matmul_seconds=0.005, warmup_steps=1, timed_steps=3,
        train_repeats=1, predict_rows=64, n_gibbs=2, n_draws=3, predict_repeats=1, pool_rows=(64,),
        batchbald_instances=3, scale_models=("SSLPE",), scale_batch=(4, 8), scale_classes=(2, 3),
        scale_gibbs=(1, 2), scale_draws=(1, 2), scale_rows=(16, 32), scale_predict_rows=16,
        scale_steps=2),
}


# -- small utilities ----------------------------------------------------------------------------
class Bench:
    """Run-wide state: device, clock and the flat list of CSV records."""

    def __init__(self, device: torch.device, matmul_gflops: float = float("nan"),
                 probe_size: int = 2048, probe_seconds: float = 0.2) -> None:
        self.device = device
        self.matmul_gflops = matmul_gflops
        self.layer_gflops = float("nan")
        self.probe_size, self.probe_seconds = probe_size, probe_seconds
        self.t0 = time.perf_counter()
        self.records: list[dict] = []

    def sync(self) -> None:
        """Wait for queued device work, so that the clock reads finished work."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def now(self) -> float:
        """Synchronised :func:`time.perf_counter`."""
        self.sync()
        return time.perf_counter()

    def log(self, msg: str) -> None:
        """Print a progress line with the elapsed time."""
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", flush=True)

    def rate(self, flops: float | None, seconds: float, adjacent: dict | None = None) -> dict:
        """GFLOP/s of ``flops`` in ``seconds``, and its fractions of the square-matmul rate, of
        the median rate at the networks' layer shapes and (given ``adjacent`` from
        :meth:`bracketed`) of the matmul rate measured right before and after the timing."""
        out = {"gflops_per_s": None, "fraction_of_matmul": None,
               "fraction_of_layer_shapes": None}
        if adjacent is not None:
            out.update(adjacent_matmul=adjacent, fraction_of_adjacent_matmul=None)
        if not flops or not seconds:
            return out
        g = flops / seconds / 1e9
        out.update(gflops_per_s=g, fraction_of_matmul=g / self.matmul_gflops,
                   fraction_of_layer_shapes=g / self.layer_gflops)
        if adjacent is not None:
            out["fraction_of_adjacent_matmul"] = g / adjacent["gflops_per_s"]
        return out

    def probe(self) -> float:
        """A short square-matmul rate measurement (GFLOP/s), the machine's speed right now."""
        return matmul_gflops(self, self.probe_size, self.probe_size, self.probe_size, 2,
                             self.probe_seconds)["gflops_per_s"]

    def bracketed(self, fn: Callable[[], T]) -> tuple[T, dict]:
        """``fn()`` between two :meth:`probe` s; returns its result and the adjacent matmul
        rate (the better of the two probes, both kept).  A shared machine's matmul rate drifts
        within minutes, so a share of the rate measured next to the timing compares like with
        like; the run-wide reference is kept beside it."""
        before = self.probe()
        out = fn()
        after = self.probe()
        return out, {"gflops_per_s": max(before, after), "before": before, "after": after}

    def record(self, section: str, model: str, variant: str, quantity: str, seconds: float,
               flops: float | None = None, adjacent: dict | None = None) -> None:
        """Add one row to the CSV table."""
        rate = self.rate(flops, seconds, adjacent)
        rate.pop("adjacent_matmul", None)
        self.records.append({"section": section, "model": model, "variant": variant,
                             "quantity": quantity, "seconds": seconds, "flops": flops,
                             "adjacent_matmul_gflops_per_s":
                                 None if adjacent is None else adjacent["gflops_per_s"],
                             **rate})

    def best_of(self, fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
        """Best and all wall times of ``repeats`` calls of ``fn``."""
        times = []
        for _ in range(max(1, repeats)):
            start = self.now()
            fn()
            times.append(self.now() - start)
        return min(times), times


def count_flops(fn: Callable[[], object]) -> int:
    """Matmul FLOPs of one call of ``fn`` as counted by :class:`FlopCounterMode`."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def machine_info(device: torch.device) -> dict:
    """Platform, CPU, library versions, threads and load of this run (extends
    :func:`benchmarks._common.machine_info`)."""
    info = common_machine_info()
    info.update({
        "cpu_model": info["cpu"],
        "n_cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "skorch": skorch.__version__, "skdgm": skdgm.__version__, "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else info["cpu"],
        "load_average_start": list(os.getloadavg()),
    })
    return info


# -- 1. matmul rate -----------------------------------------------------------------------------
def matmul_gflops(bench: Bench, m: int, k: int, n: int, repeats: int,
                  min_seconds: float = 0.2) -> dict:
    """Best fp32 GFLOP/s of ``(m, k) @ (k, n)`` over ``repeats`` timed loops."""
    a = torch.randn(m, k, device=bench.device)
    b = torch.randn(k, n, device=bench.device)
    out = torch.empty(m, n, device=bench.device)
    start = bench.now()
    for _ in range(2):
        torch.mm(a, b, out=out)
    per_call = max((bench.now() - start) / 2, 1e-7)
    n_iter = max(1, math.ceil(min_seconds / per_call))
    rates = []
    for _ in range(max(1, repeats)):
        start = bench.now()
        for _ in range(n_iter):
            torch.mm(a, b, out=out)
        rates.append(2.0 * m * k * n * n_iter / (bench.now() - start) / 1e9)
    return {"m": m, "k": k, "n": n, "gflops_per_s": max(rates), "all_gflops_per_s": rates}


def measure_matmul(bench: Bench, prof: Profile) -> dict:
    """Square and MNIST-layer-shape matmul rates; sets ``bench.matmul_gflops``."""
    d, k, z, h = prof.n_features, prof.n_classes, prof.n_latent, prof.hidden[0]
    rows = prof.batch_l + k * prof.batch_u
    s = prof.matmul_size
    square = matmul_gflops(bench, s, s, s, prof.matmul_repeats, prof.matmul_seconds)
    shapes = [(rows, d + k, h), (rows, h, h), (rows, h, d), (rows, d + z, h), (h, rows, d + k),
              (rows, z, h)]
    layer = [matmul_gflops(bench, *shape, prof.matmul_repeats, prof.matmul_seconds)
             for shape in shapes]
    bench.matmul_gflops = square["gflops_per_s"]
    layer_rates = [r["gflops_per_s"] for r in layer]
    bench.layer_gflops = statistics.median(layer_rates)
    return {"threads": torch.get_num_threads(), "square": square, "layer_shapes": layer,
            "layer_shapes_median_gflops_per_s": statistics.median(layer_rates),
            "reference_gflops_per_s": bench.matmul_gflops,
            "reference": f"best {s}x{s} fp32 torch.mm"}


# -- FLOPs by hand ------------------------------------------------------------------------------
def _linear_flops(rows: int, widths: Sequence[int], input_grad: bool = True,
                  layers: int | None = None) -> tuple[int, int]:
    """(forward, backward) matmul FLOPs of an MLP with ``widths`` on ``rows`` rows.

    The backward pass takes one matmul for the weight gradient of every layer and one for the
    input gradient of every layer whose input needs it (not the first, if ``input_grad`` is
    False).  ``layers`` limits the count to the first layers.
    """
    pairs = list(zip(widths, widths[1:]))[:layers]
    fwd = sum(2 * rows * a * b for a, b in pairs)
    bwd = fwd + sum(2 * rows * a * b for i, (a, b) in enumerate(pairs) if i or input_grad)
    return fwd, bwd


def ssl_train_flops(prof: Profile, n_l: int, n_u: int, n_classes: int, bayesian: bool,
                    batch_norm: bool) -> dict:
    """Matmul FLOPs of one SSLPE / SSLAPD training step (forward and backward).

    Labeled rows and K copies of every unlabeled row go through q(z|x,y), p(x|z) and
    p(y|x,z); the n_l + n_u rows through q(y|x).  With batch norm, SSLAPD's classifier also
    computes the weight-mean pre-activations of its hidden layers.
    """
    d, k, z, h = prof.n_features, n_classes, prof.n_latent, list(prof.hidden)
    rows = n_l + k * n_u
    parts = {
        "encoder_z": _linear_flops(rows, [d + k, *h, 2 * z], input_grad=False),
        "decoder_x": _linear_flops(rows, [z, *h, d]),
        "classifier": _linear_flops(rows, [d + z, *h, k]),
        "encoder_y": _linear_flops(n_l + n_u, [d, *h, k], input_grad=False),
    }
    if bayesian and batch_norm:
        parts["classifier_weight_means"] = _linear_flops(rows, [d + z, *h, k], layers=len(h))
    forward = sum(f for f, _ in parts.values())
    return {"forward": forward, "exact": forward + sum(b for _, b in parts.values()),
            "nominal_3x_forward": 3 * forward,
            "parts_forward_backward": {name: f + b for name, (f, b) in parts.items()}}


def ssl_gibbs_flops(prof: Profile, n_rows: int, n_steps: int, n_chains: int = 1,
                    n_classes: int | None = None, bayesian: bool = False,
                    resample: bool = True) -> int:
    """Forward matmul FLOPs of Gibbs prediction as skdgm computes it: q(y|x) once; the x-part
    of the first layer of q(z|x,y) once; that of p(y|x,z) once (SSLPE), once per chain
    (SSLAPD with one weight draw per chain) or once per step and chain (SSLAPD with weights
    resampled every step, ``resample``); the rest of both networks per step and chain."""
    d, k, z, h = prof.n_features, n_classes or prof.n_classes, prof.n_latent, list(prof.hidden)
    init = _linear_flops(n_rows, [d, *h, k])[0]
    x_part = 2 * n_rows * d * h[0]
    per_step = (_linear_flops(n_rows, [*h, 2 * z])[0]
                + 2 * n_rows * z * h[0] + _linear_flops(n_rows, [*h, k])[0])
    n_classifier_x = (n_chains * n_steps if resample else n_chains) if bayesian else 1
    return init + x_part + n_classifier_x * x_part + n_steps * n_chains * per_step


# -- 2. training through skdgm ------------------------------------------------------------------
class StepTimer(Callback):
    """skorch callback recording the clock at the end of every training batch.

    Parameters
    ----------
    device : str
        Torch device; CUDA work is synchronised before the clock is read.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def _now(self) -> float:
        if torch.device(self.device).type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs) -> None:
        self.ticks_ = [self._now()]

    def on_batch_end(self, net, batch=None, training=None, **kwargs) -> None:
        if training:
            self.ticks_.append(self._now())


def step_stats(ticks: Sequence[float], warmup: int) -> dict:
    """Per-step seconds from clock ticks, the first ``warmup`` steps discarded."""
    steps = np.diff(np.asarray(ticks))[warmup:]
    med = float(np.median(steps))
    return {"step_s": med, "step_mean_s": float(np.mean(steps)), "step_min_s": float(steps.min()),
            "epoch_s": med * STEPS_PER_EPOCH, "n_timed_steps": int(steps.size),
            "warmup_steps": warmup}


def synthetic_data(prof: Profile, n_labeled: int, n_unlabeled: int, n_classes: int,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform [0, 1] pixels, labels cycling through the classes, -1 for unlabeled rows."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_labeled + n_unlabeled, prof.n_features), dtype=np.float32)
    y = np.full(n_labeled + n_unlabeled, -1, dtype=np.int64)
    y[:n_labeled] = np.arange(n_labeled) % n_classes
    return X, y


def make_estimator(cls: type, prof: Profile, device: str, batch_norm: bool, batch_l: int,
                   batch_u: int, callbacks: list | None = None):
    """An estimator of ``cls`` in the thesis's MNIST setting, one epoch, no KL warm-up.

    Only the parameters that ``cls`` takes are passed, so baselines with fewer parameters work.
    """
    wanted = {"hidden_sizes": prof.hidden, "n_latent": prof.n_latent,
              "n_auxiliary": prof.n_latent, "likelihood": "bernoulli", "activation": "relu",
              "batch_norm": batch_norm, "max_epochs": 1, "batch_size": batch_u,
              "labeled_batch_size": batch_l, "lr": LR, "kl_warmup": 0,
              "n_gibbs": prof.n_gibbs, "n_draws": prof.n_draws,
              "init_log_var": SSLAPD_INIT_LOG_VAR, "device": device, "random_state": 0,
              "callbacks": callbacks, "verbose": 0}
    accepted = cls().get_params()
    return cls(**{key: val for key, val in wanted.items() if key in accepted})


def train_skdgm(bench: Bench, cls: type, prof: Profile, batch_norm: bool, *,
                n_classes: int | None = None, batch_l: int | None = None,
                batch_u: int | None = None, n_steps: int | None = None,
                supervised: bool = False, count: bool = True) -> tuple[object, dict]:
    """Fit ``cls`` for one epoch of ``warmup + n_steps`` steps and time its steps.

    Returns the fitted estimator and the step statistics, with the FLOPs of one step counted
    by :class:`FlopCounterMode` through the net's own ``train_step_single``.
    """
    k = n_classes or prof.n_classes
    b_l, b_u = batch_l or prof.batch_l, batch_u or prof.batch_u
    steps = prof.warmup_steps + (n_steps or prof.timed_steps)
    if supervised:   # trained on labeled rows only: one step = b_l labeled rows
        X, y = synthetic_data(prof, b_l * steps, 0, k)
        est = make_estimator(cls, prof, str(bench.device), batch_norm, b_l, b_l,
                             [("step_timer", StepTimer(str(bench.device)))])
        if "batch_size" in est.get_params():
            est.set_params(batch_size=b_l)
    else:
        X, y = synthetic_data(prof, b_l, b_u * steps, k)
        est = make_estimator(cls, prof, str(bench.device), batch_norm, b_l, b_u,
                             [("step_timer", StepTimer(str(bench.device)))])
    est.fit(X, y)
    timer = dict(est.net_.callbacks_)["step_timer"]
    stats = step_stats(timer.ticks_, prof.warmup_steps)
    if count:
        net = est.net_
        batch = next(iter(net.get_iterator(net.get_dataset(X, y), training=True)))
        stats["flops_counted"] = count_flops(lambda: net.train_step_single(batch))
        net.optimizer_.zero_grad()
    return est, stats


# -- 3. the plain-PyTorch reference -------------------------------------------------------------
def _plain_mlp(n_in: int, n_out: int, hidden: Sequence[int], batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), *([nn.BatchNorm1d(h)] if batch_norm else []), nn.ReLU()]
        n_in = h
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


class PlainSSL(nn.Module):
    """SSLPE / SSLAPD written directly in PyTorch: the overhead reference.

    Hand-written ``nn.Sequential`` networks of the same sizes, the same class enumeration
    (labeled rows plus K class-major copies of the unlabeled rows in one pass) and the same
    objective, without skorch or skdgm code.  The Bayesian classifier draws one weight set per
    step; its batch norm normalises with the weight-mean pre-activations.
    """

    def __init__(self, d: int, k: int, z: int, hidden: Sequence[int], bayesian: bool,
                 batch_norm: bool) -> None:
        super().__init__()
        self.k, self.bayesian, self.batch_norm = k, bayesian, batch_norm
        self.enc_y = _plain_mlp(d, k, hidden, batch_norm)
        self.enc_z = _plain_mlp(d + k, 2 * z, hidden, batch_norm)
        self.dec_x = _plain_mlp(z, d, hidden, batch_norm)
        if not bayesian:
            self.cls = _plain_mlp(d + z, k, hidden, batch_norm)
            return
        widths = [d + z, *hidden, k]
        pairs = list(zip(widths, widths[1:]))
        self.w_mu = nn.ParameterList(nn.Parameter(torch.randn(o, i) / math.sqrt(i))
                                     for i, o in pairs)
        self.b_mu = nn.ParameterList(nn.Parameter(torch.zeros(o)) for _, o in pairs)
        self.w_lv = nn.ParameterList(nn.Parameter(torch.full((o, i), SSLAPD_INIT_LOG_VAR))
                                     for i, o in pairs)
        self.b_lv = nn.ParameterList(nn.Parameter(torch.full((o,), SSLAPD_INIT_LOG_VAR))
                                     for _, o in pairs)
        self.gamma = nn.ParameterList(nn.Parameter(torch.ones(h)) for h in hidden)
        self.beta = nn.ParameterList(nn.Parameter(torch.zeros(h)) for h in hidden)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """Logits of p(y|x, z) for ``h = [x, z]``."""
        if not self.bayesian:
            return self.cls(h)
        n = len(self.w_mu)
        for i in range(n):
            w = self.w_mu[i] + torch.exp(0.5 * self.w_lv[i]) * torch.randn_like(self.w_mu[i])
            b = self.b_mu[i] + torch.exp(0.5 * self.b_lv[i]) * torch.randn_like(self.b_mu[i])
            a = F.linear(h, w, b)
            if i == n - 1:
                return a
            if self.batch_norm:
                a_mean = F.linear(h, self.w_mu[i], self.b_mu[i])
                mean, var = a_mean.mean(0), a_mean.var(0, unbiased=False)
                a = (a - mean) * torch.rsqrt(var + 1e-3) * self.gamma[i] + self.beta[i]
            h = F.relu(a)
        raise AssertionError("unreachable")

    def weight_kl(self) -> torch.Tensor:
        """KL(q(W) || N(0, I)) of the Bayesian classifier."""
        total = 0.0
        for mu, lv in zip([*self.w_mu, *self.b_mu], [*self.w_lv, *self.b_lv]):
            total = total + 0.5 * torch.sum(lv.exp() + mu.pow(2) - 1.0 - lv)
        return total

    def loss(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor, alpha: float,
             n_train: int) -> torch.Tensor:
        """Negative objective: mean U(x_u) + mean L(x_l, y_l) + alpha mean log q(y_l|x_l)
        - KL(q(W)||p(W)) / n_train."""
        k, n_l, n_u = self.k, x_l.shape[0], x_u.shape[0]
        x = torch.cat([x_l, x_u.repeat(k, 1)])
        y = torch.cat([F.one_hot(y_l, k).to(x.dtype),
                       torch.eye(k, device=x.device).repeat_interleave(n_u, dim=0)])
        mu, log_var = self.enc_z(torch.cat([x, y], dim=1)).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        log_px = -F.binary_cross_entropy_with_logits(self.dec_x(z), x, reduction="none").sum(1)
        log_py = (F.log_softmax(self.classify(torch.cat([x, z], dim=1)), dim=1) * y).sum(1)
        kl_z = 0.5 * (log_var.exp() + mu.pow(2) - 1.0 - log_var).sum(1)
        bound = log_px + log_py - kl_z
        log_q = F.log_softmax(self.enc_y(torch.cat([x_l, x_u])), dim=1)
        q_u = log_q[n_l:].exp()
        u = (q_u * bound[n_l:].reshape(k, n_u).T).sum(1) - (q_u * log_q[n_l:]).sum(1)
        j = u.mean() + bound[:n_l].mean() + alpha * log_q[:n_l].gather(1, y_l[:, None]).mean()
        if self.bayesian:
            j = j - self.weight_kl() / n_train
        return -j


def train_plain(bench: Bench, prof: Profile, bayesian: bool, batch_norm: bool) -> dict:
    """Time ``warmup + timed`` steps of :class:`PlainSSL` with Adam."""
    torch.manual_seed(0)
    dev, k = bench.device, prof.n_classes
    steps = prof.warmup_steps + prof.timed_steps
    X, y = synthetic_data(prof, prof.batch_l, prof.batch_u * steps, k)
    x_l = torch.as_tensor(X[:prof.batch_l], device=dev)
    y_l = torch.as_tensor(y[:prof.batch_l], device=dev)
    x_pool = torch.as_tensor(X[prof.batch_l:], device=dev)
    model = PlainSSL(prof.n_features, k, prof.n_latent, prof.hidden, bayesian, batch_norm).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    alpha, n_train = 0.1 * len(X) / prof.batch_l, len(X)
    order = torch.randperm(len(x_pool), device=dev)

    def step(i: int) -> torch.Tensor:
        x_u = x_pool[order[i * prof.batch_u:(i + 1) * prof.batch_u]]
        perm = torch.randperm(prof.batch_l, device=dev)
        loss = model.loss(x_l[perm], y_l[perm], x_u, alpha, n_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    ticks = [bench.now()]
    for i in range(steps):
        step(i)
        ticks.append(bench.now())
    stats = step_stats(ticks, prof.warmup_steps)
    stats["flops_counted"] = count_flops(lambda: model.loss(x_l, y_l, x_pool[:prof.batch_u],
                                                            alpha, n_train).backward())
    stats["optimizer"] = "torch.optim.Adam (default implementation)"
    return stats


def measure_training(bench: Bench, prof: Profile, baselines: dict[str, type]
                     ) -> tuple[dict, dict]:
    """Items 2-4: skdgm and plain step times, FLOPs and rates; returns (results, estimators)."""
    out: dict = {}
    fitted: dict = {}
    for name, cls, bayesian in (("SSLPE", SSLPEClassifier, False),
                                ("SSLAPD", SSLAPDClassifier, True)):
        out[name] = {}
        for variant, bn in (("no_bn", False), ("bn", True)):
            runs_s, runs_p = [], []
            for rep in range(prof.train_repeats):
                bench.log(f"train {name} {variant}: skdgm (repeat {rep + 1})")
                (est, s), s["adjacent_matmul"] = bench.bracketed(
                    lambda c=cls, b=bn, r=rep: train_skdgm(bench, c, prof, b, count=r == 0))
                runs_s.append(s)
                bench.log(f"  skdgm {s['step_s'] * 1e3:.1f} ms/step; plain PyTorch ...")
                runs_p.append(train_plain(bench, prof, bayesian, bn))
                bench.log(f"  plain {runs_p[-1]['step_s'] * 1e3:.1f} ms/step")
            if variant == "no_bn":
                fitted[name] = est
            sk = min(runs_s, key=lambda r: r["step_s"])
            pl = min(runs_p, key=lambda r: r["step_s"])
            sk["flops_counted"] = runs_s[0]["flops_counted"]
            sk["repeat_step_s"] = [r["step_s"] for r in runs_s]
            pl["repeat_step_s"] = [r["step_s"] for r in runs_p]
            flops = ssl_train_flops(prof, prof.batch_l, prof.batch_u, prof.n_classes, bayesian,
                                    bn)
            flops["counted"] = sk["flops_counted"]
            flops["counted_plain"] = pl["flops_counted"]
            res = {"skdgm": sk, "plain": pl, "ratio_skdgm_over_plain": sk["step_s"] / pl["step_s"],
                   "flops_per_step": flops,
                   "skdgm_rate": bench.rate(flops["counted"], sk["step_s"],
                                            sk["adjacent_matmul"]),
                   "plain_rate": bench.rate(flops["counted_plain"], pl["step_s"])}
            out[name][variant] = res
            bench.record("train", name, variant, "skdgm_step", sk["step_s"], flops["counted"],
                         sk["adjacent_matmul"])
            bench.record("train", name, variant, "plain_step", pl["step_s"],
                         flops["counted_plain"])
            bench.log(f"  ratio {res['ratio_skdgm_over_plain']:.3f}, "
                      f"{res['skdgm_rate']['gflops_per_s']:.1f} GFLOP/s "
                      f"({res['skdgm_rate']['fraction_of_matmul']:.0%} of matmul)")
    for name, cls in baselines.items():
        out[name] = {}
        for variant, bn in (("no_bn", False), ("bn", True)):
            bench.log(f"train baseline {name} {variant}")
            try:
                est, s = train_skdgm(bench, cls, prof, bn, supervised=name == "DNN")
            except Exception as exc:  # a baseline still being written must not stop the run
                out[name][variant] = {"error": f"{type(exc).__name__}: {exc}"}
                bench.log(f"  failed: {exc}")
                continue
            if variant == "no_bn":
                fitted[name] = est
            out[name][variant] = {"skdgm": s, "flops_per_step": {"counted": s["flops_counted"]},
                                  "skdgm_rate": bench.rate(s["flops_counted"], s["step_s"])}
            if name == "DNN":
                out[name][variant]["note"] = (f"supervised: a step is {prof.batch_l} labeled "
                                              "rows, no unlabeled rows")
            bench.record("train", name, variant, "skdgm_step", s["step_s"], s["flops_counted"])
            bench.log(f"  {s['step_s'] * 1e3:.1f} ms/step")
    return out, fitted


# -- 5. prediction and acquisition --------------------------------------------------------------
def measure_prediction(bench: Bench, prof: Profile, fitted: dict) -> dict:
    """Gibbs ``predict_proba``, one BALD query and one BatchBALD query per model."""
    rng = np.random.default_rng(1)
    X = rng.random((max(prof.predict_rows, *prof.pool_rows), prof.n_features),
                   dtype=np.float32)
    n_count = min(prof.predict_rows, 1000)
    out: dict = {}
    for name, est in fitted.items():
        res: dict = {}
        x_pred = X[:prof.predict_rows]
        est.predict_proba(X[:min(512, prof.predict_rows)])       # warm-up
        bench.log(f"predict_proba {name}: {prof.predict_rows} rows")
        (best, times), adjacent = bench.bracketed(
            lambda e=est, x=x_pred: bench.best_of(lambda: e.predict_proba(x),
                                                  prof.predict_repeats))
        counted = count_flops(lambda e=est: e.predict_proba(X[:n_count]))
        counted *= prof.predict_rows / n_count
        res["predict_proba"] = {"rows": prof.predict_rows, "n_gibbs": est.n_gibbs,
                                "seconds": best, "all_seconds": times,
                                "rows_per_s": prof.predict_rows / best,
                                "flops_counted": counted, **bench.rate(counted, best, adjacent)}
        if name in ("SSLPE", "SSLAPD"):
            res["predict_proba"]["flops_analytic"] = ssl_gibbs_flops(
                prof, prof.predict_rows, est.n_gibbs, bayesian=name == "SSLAPD")
        bench.record("predict", name, f"rows={prof.predict_rows}", "predict_proba", best, counted,
                     adjacent)
        bench.log(f"  {best:.2f} s ({res['predict_proba']['gflops_per_s'] or 0:.1f} GFLOP/s)")
        if name in prof.acquisition_models:
            for pool in prof.pool_rows:
                with_bb = name == prof.batchbald_model and (
                    prof.batchbald_max_pool is None or pool <= prof.batchbald_max_pool)
                res[f"pool_{pool}"] = acquisition_query(bench, prof, name, est, X[:pool],
                                                        with_bb)
        out[name] = res
    return out


def acquisition_query(bench: Bench, prof: Profile, name: str, est, x_pool: np.ndarray,
                      with_batch_bald: bool = True) -> dict:
    """Time the MC sampling and scoring of one BALD query and (optionally) one BatchBALD
    query."""
    pool = len(x_pool)
    bench.log(f"BALD {name}: predict_proba_samples({pool} rows, n_draws={prof.n_draws})")

    def sample() -> tuple[np.ndarray, float]:
        start = bench.now()
        samples = est.predict_proba_samples(x_pool, n_draws=prof.n_draws)
        return samples, bench.now() - start

    (probs, t_samples), adjacent = bench.bracketed(sample)
    start = time.perf_counter()
    bald(probs)
    t_bald = time.perf_counter() - start
    flops = ssl_gibbs_flops(prof, pool, est.n_gibbs, prof.n_draws, bayesian=name == "SSLAPD",
                            resample=False)
    bench.log(f"  sampling {t_samples:.2f} s, bald {t_bald:.3f} s")
    bench.record("acquisition", name, f"pool={pool}", "predict_proba_samples", t_samples, flops,
                 adjacent)
    bench.record("acquisition", name, f"pool={pool}", "bald_score", t_bald)
    res = {"pool_rows": pool, "n_draws": prof.n_draws, "n_gibbs": est.n_gibbs,
           "predict_proba_samples_s": t_samples, "bald_score_s": t_bald,
           "bald_query_s": t_samples + t_bald, "flops_analytic": flops,
           **bench.rate(flops, t_samples, adjacent)}
    if with_batch_bald:
        bench.log(f"  batch_bald(n_instances={prof.batchbald_instances}) over {pool} rows ...")
        start = time.perf_counter()
        batch_bald(probs, n_instances=prof.batchbald_instances, random_state=0,
                   device=bench.device)
        t_bb = time.perf_counter() - start
        bench.log(f"  batch_bald {t_bb:.2f} s")
        bench.record("acquisition", name, f"pool={pool}", "batch_bald", t_bb)
        res.update(batch_bald_instances=prof.batchbald_instances, batch_bald_s=t_bb)
    return res


# -- 6. scaling ---------------------------------------------------------------------------------
def measure_scaling(bench: Bench, prof: Profile) -> dict:
    """Training-step and prediction seconds over small grids of rows, K, T and draws."""
    rng = np.random.default_rng(2)
    X = rng.random((max(*prof.scale_rows, prof.scale_predict_rows), prof.n_features),
                   dtype=np.float32)
    x_small = X[:prof.scale_predict_rows]
    classes = {"SSLPE": SSLPEClassifier, "SSLAPD": SSLAPDClassifier}
    reps = prof.predict_repeats
    out: dict = {}
    for name in prof.scale_models:
        cls, res = classes[name], {}
        bayes = name == "SSLAPD"
        bench.log(f"scaling {name}: training rows per step {prof.scale_batch}")
        res["train_vs_batch"] = []
        for b in prof.scale_batch:
            _, s = train_skdgm(bench, cls, prof, False, batch_l=b, batch_u=b,
                               n_steps=prof.scale_steps)
            res["train_vs_batch"].append({"batch_l": b, "batch_u": b, "step_s": s["step_s"],
                                          "flops": s["flops_counted"],
                                          **bench.rate(s["flops_counted"], s["step_s"])})
            bench.record("scaling", name, f"batch={b}+{b}", "train_step", s["step_s"],
                         s["flops_counted"])
        bench.log(f"scaling {name}: classes {prof.scale_classes}")
        res["train_vs_classes"], res["predict_vs_classes"] = [], []
        base, base_k = None, prof.n_classes
        for k in prof.scale_classes:
            est, s = train_skdgm(bench, cls, prof, False, n_classes=k, n_steps=prof.scale_steps)
            res["train_vs_classes"].append({"n_classes": k, "step_s": s["step_s"],
                                            "flops": s["flops_counted"],
                                            **bench.rate(s["flops_counted"], s["step_s"])})
            bench.record("scaling", name, f"K={k}", "train_step", s["step_s"], s["flops_counted"])
            est.predict_proba(x_small[:64])
            t, _ = bench.best_of(lambda e=est: e.predict_proba(x_small), reps)
            fl = ssl_gibbs_flops(prof, len(x_small), est.n_gibbs, n_classes=k, bayesian=bayes)
            res["predict_vs_classes"].append({"n_classes": k, "seconds": t, "flops": fl,
                                              **bench.rate(fl, t)})
            bench.record("scaling", name, f"K={k}", "predict_proba", t, fl)
            if k == prof.n_classes or base is None:
                base, base_k = est, k
        bench.log(f"scaling {name}: Gibbs steps {prof.scale_gibbs}, draws {prof.scale_draws}, "
                  f"rows {prof.scale_rows}")
        res["predict_vs_gibbs"] = []
        for t_steps in prof.scale_gibbs:
            base.set_params(n_gibbs=t_steps)
            t, _ = bench.best_of(lambda e=base: e.predict_proba(x_small), reps)
            fl = ssl_gibbs_flops(prof, len(x_small), t_steps, n_classes=base_k, bayesian=bayes)
            res["predict_vs_gibbs"].append({"n_gibbs": t_steps, "seconds": t, "flops": fl,
                                            **bench.rate(fl, t)})
            bench.record("scaling", name, f"T={t_steps}", "predict_proba", t, fl)
        base.set_params(n_gibbs=prof.n_gibbs)
        res["samples_vs_draws"] = []
        for d in prof.scale_draws:
            t, _ = bench.best_of(lambda e=base, d=d: e.predict_proba_samples(x_small, d), reps)
            fl = ssl_gibbs_flops(prof, len(x_small), prof.n_gibbs, d, n_classes=base_k,
                                 bayesian=bayes, resample=False)
            res["samples_vs_draws"].append({"n_draws": d, "seconds": t, "flops": fl,
                                            **bench.rate(fl, t)})
            bench.record("scaling", name, f"draws={d}", "predict_proba_samples", t, fl)
        res["predict_vs_rows"] = []
        for n in prof.scale_rows:
            t, _ = bench.best_of(lambda e=base, n=n: e.predict_proba(X[:n]), reps)
            fl = ssl_gibbs_flops(prof, n, prof.n_gibbs, n_classes=base_k, bayesian=bayes)
            res["predict_vs_rows"].append({"rows": n, "seconds": t, "flops": fl,
                                           **bench.rate(fl, t)})
            bench.record("scaling", name, f"rows={n}", "predict_proba", t, fl)
        out[name] = res
    return out


# -- output -------------------------------------------------------------------------------------
SCALING_PANELS = (
    ("train_vs_batch", "batch_u", "step_s", "training step vs rows (labeled = unlabeled)"),
    ("train_vs_classes", "n_classes", "step_s", "training step vs classes K"),
    ("predict_vs_rows", "rows", "seconds", "predict_proba vs rows"),
    ("predict_vs_classes", "n_classes", "seconds", "predict_proba vs classes K"),
    ("predict_vs_gibbs", "n_gibbs", "seconds", "predict_proba vs Gibbs steps T"),
    ("samples_vs_draws", "n_draws", "seconds", "predict_proba_samples vs draws"),
)


def plot_scaling(scaling: dict, path: Path, title: str) -> None:
    """One log-log figure, one panel per grid, a dashed line of slope 1 for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (key, xkey, ykey, label) in zip(axes.ravel(), SCALING_PANELS):
        for model, res in scaling.items():
            xs = [p[xkey] for p in res.get(key, [])]
            ys = [p[ykey] for p in res.get(key, [])]
            if not xs:
                continue
            ax.loglog(xs, ys, "o-", label=model)
            ax.loglog(xs, [ys[0] * x / xs[0] for x in xs], "k--", lw=0.8, alpha=0.5)
        ticks = sorted({p[xkey] for res in scaling.values() for p in res.get(key, [])})
        if ticks:
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(xkey)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    fig.suptitle(f"{title} (dashed: linear growth)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_csv(records: list[dict], path: Path) -> None:
    """Write the flat timing table."""
    fields = ["section", "model", "variant", "quantity", "seconds", "flops", "gflops_per_s",
              "fraction_of_matmul", "fraction_of_layer_shapes", "adjacent_matmul_gflops_per_s",
              "fraction_of_adjacent_matmul"]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)


def summarise(training: dict) -> dict:
    """Targets: skdgm / plain ratio <= 1.15 and >= 60% of the matmul rate (thesis MNIST
    setting, no batch norm)."""
    out = {"target_ratio_max": TARGET_RATIO, "target_fraction_min": TARGET_FRACTION}
    for name in ("SSLPE", "SSLAPD"):
        for variant, res in training.get(name, {}).items():
            ratio = res["ratio_skdgm_over_plain"]
            frac = res["skdgm_rate"]["fraction_of_matmul"]
            out[f"{name}_{variant}"] = {
                "ratio": ratio, "ratio_ok": ratio <= TARGET_RATIO,
                "fraction_of_matmul": frac, "fraction_ok": frac >= TARGET_FRACTION,
                "fraction_of_layer_shapes": res["skdgm_rate"]["fraction_of_layer_shapes"],
                "fraction_of_adjacent_matmul":
                    res["skdgm_rate"].get("fraction_of_adjacent_matmul"),
                "epoch_s": res["skdgm"]["epoch_s"]}
    return out


def _refresh_rates(obj, bench: Bench) -> None:
    """Recompute every ``fraction_of_matmul`` against the final matmul reference."""
    if isinstance(obj, dict):
        if obj.get("gflops_per_s") is not None and "fraction_of_matmul" in obj:
            obj["fraction_of_matmul"] = obj["gflops_per_s"] / bench.matmul_gflops
        for key, val in obj.items():
            if key != "matmul":
                _refresh_rates(val, bench)
    elif isinstance(obj, list):
        for val in obj:
            _refresh_rates(val, bench)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


# -- entry point --------------------------------------------------------------------------------
def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` (torch threads), by default every core this process may use."""
    n_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--threads", type=int, default=n_cpus,
                        help=f"torch threads (default: all {n_cpus} cores)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed",
                                     description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="profile", action="store_const", const="quick",
                      help="fewer repeats, smaller scaling grid (default; a few minutes on "
                           "2 CPU cores)")
    mode.add_argument("--full", dest="profile", action="store_const", const="full",
                      help="more repeats, full scaling grid, 60,000-row pool")
    mode.add_argument("--tiny", dest="profile", action="store_const", const="tiny",
                      help=argparse.SUPPRESS)
    parser.set_defaults(profile="quick")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/speed_<device>)")
    add_threads_argument(parser)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the baseline estimators")
    parser.add_argument("--batchbald-max-pool", type=int, default=None,
                        help="time BatchBALD only on pools up to this many rows (the slowest "
                             "part of the run; default: every pool)")
    return parser.parse_args(argv)


def load_baselines() -> tuple[dict[str, type], str | None]:
    """The baseline estimators of :mod:`skdgm.baselines` that exist, and a note if any is
    missing."""
    try:
        from skdgm import baselines as mod
    except Exception as exc:  # any import failure means: run without baselines
        return {}, f"skdgm.baselines did not import ({type(exc).__name__}: {exc}); skipped"
    names = ("DNN", "M2", "ADGM", "SDGM")
    found = {n: getattr(mod, f"{n}Classifier") for n in names if hasattr(mod, f"{n}Classifier")}
    missing = [n for n in names if n not in found]
    return found, (f"baselines not found in skdgm.baselines: {missing}" if missing else None)


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and write ``speed.json``, ``speed.csv`` and ``speed.png``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    dict
        The results written to ``speed.json``.
    """
    args = parse_args(argv)
    prof = PROFILES[args.profile]
    if args.batchbald_max_pool is not None:
        prof = replace(prof, batchbald_max_pool=args.batchbald_max_pool)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda given but torch.cuda.is_available() is False")
    out_dir = args.out or Path(__file__).resolve().parent / "results" / f"speed_{args.device}"
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, args.threads))
    try:
        return _run(args, prof, torch.device(args.device), out_dir)
    finally:
        torch.set_num_threads(previous_threads)


def _run(args: argparse.Namespace, prof: Profile, device: torch.device, out_dir: Path) -> dict:
    """Measure everything with the thread count already set; write and return the results."""
    bench = Bench(device, probe_size=prof.matmul_size, probe_seconds=prof.matmul_seconds)
    notes: list[str] = []
    baselines, note = ({}, "baselines skipped (--no-baselines)") if args.no_baselines \
        else load_baselines()
    if note:
        notes.append(note)
    command = f"python -m benchmarks.speed --{prof.name} --threads {torch.get_num_threads()}"
    if device.type != "cpu":
        command += f" --device {device.type}"
    if prof.batchbald_max_pool is not None:
        command += f" --batchbald-max-pool {prof.batchbald_max_pool}"
    if args.no_baselines:
        command += " --no-baselines"
    chunk = "PREDICT_CHUNK_CUDA" if device.type == "cuda" else "PREDICT_CHUNK"
    results: dict = {"meta": {**machine_info(device), "predict_chunk": getattr(skdgm.base, chunk)},
                     "profile": asdict(prof), "notes": notes, "command": command}
    load = os.getloadavg()[0]
    if device.type == "cpu" and load > 0.5:
        notes.append(f"the machine was not idle at the start (1-min load average {load:.2f}); "
                     "with more threads than free cores, timings can be several times slower")
    bench.log(f"profile {prof.name}, device {device}, {torch.get_num_threads()} threads, "
              f"output {out_dir}")

    results["matmul"] = measure_matmul(bench, prof)
    bench.log(f"matmul {results['matmul']['square']['gflops_per_s']:.1f} GFLOP/s "
              f"({prof.matmul_size}^2); layer shapes median "
              f"{results['matmul']['layer_shapes_median_gflops_per_s']:.1f}")
    results["training"], fitted = measure_training(bench, prof, baselines)
    results["prediction"] = measure_prediction(bench, prof, fitted)
    results["scaling"] = measure_scaling(bench, prof)
    bench.log("matmul again (load check)")
    end = matmul_gflops(bench, prof.matmul_size, prof.matmul_size, prof.matmul_size,
                        prof.matmul_repeats, prof.matmul_seconds)
    mm = results["matmul"]
    mm["square_end"] = end
    mm["reference_gflops_per_s"] = max(mm["square"]["gflops_per_s"], end["gflops_per_s"])
    mm["reference"] += ", best of the measurements at the start and at the end of the run"
    change = end["gflops_per_s"] / mm["square"]["gflops_per_s"]
    if not 0.8 <= change <= 1.25:
        notes.append(f"the matmul rate changed by a factor {change:.2f} between the start and "
                     "the end of the run: the machine's load changed, timings are unreliable")
    bench.matmul_gflops = mm["reference_gflops_per_s"]
    _refresh_rates(results, bench)
    _refresh_rates(bench.records, bench)
    results["summary"] = summarise(results["training"])
    results["meta"]["load_average_end"] = list(os.getloadavg())
    results["meta"]["wall_s"] = time.perf_counter() - bench.t0
    notes.append("step times: median over the timed steps of the best repeat; the first "
                 f"{prof.warmup_steps} steps of every fit are warm-up and not timed")
    notes.append("FLOPs count matmuls only (2*m*n*k each); 'exact' leaves out input gradients "
                 "that autograd does not compute (first layers of q(z|x,y) and q(y|x)), "
                 "'nominal_3x_forward' is 3 x forward")
    notes.append(f"BatchBALD is timed on {prof.batchbald_model}'s samples only: its cost depends "
                 "on the shape (draws, pool, classes) of the samples, not on the model")

    with open(out_dir / "speed.json", "w") as fh:
        json.dump(_jsonable(results), fh, indent=2)
    write_csv(bench.records, out_dir / "speed.csv")
    plot_scaling(results["scaling"], out_dir / "speed.png",
                 f"skdgm scaling, {prof.name} profile, {results['meta']['device_name']}, "
                 f"torch threads: {torch.get_num_threads()}")
    bench.log(f"done: {out_dir / 'speed.json'}")
    for key, val in results["summary"].items():
        if isinstance(val, dict):
            bench.log(f"  {key}: {val['epoch_s']:.1f} s/epoch, ratio {val['ratio']:.3f}, "
                      f"{val['fraction_of_matmul']:.0%} of matmul")
    return results


if __name__ == "__main__":
    main()


def render_markdown(results: dict) -> str:
    """Markdown tables of one ``speed.json`` (used by :mod:`benchmarks.report`)."""
    meta, mm = results["meta"], results["matmul"]
    ref = mm["reference_gflops_per_s"]
    shapes = mm["layer_shapes_median_gflops_per_s"]

    def share_adjacent(rate: dict) -> str:
        """Share of the matmul rate probed right before and after this timing (runs from
        before the probes existed show nothing)."""
        f = rate.get("fraction_of_adjacent_matmul")
        return "" if f is None else f"{f:.0%} (of {rate['adjacent_matmul']['gflops_per_s']:.0f})"

    def share_of_shapes(g: float | None) -> str:
        """Share of the median matmul rate at the MNIST layer shapes (which may beat the
        2048 x 2048 reference: then it is the stricter yardstick)."""
        return "" if g is None else f"{g / shapes:.0%}"

    command = results.get("command") or (
        f"python -m benchmarks.speed --{results['profile']['name']} "
        f"--threads {meta['torch_threads']}")
    lines = [f"Command `{command}` · {meta.get('cpu_model')} · device "
             f"{meta.get('device_name') or meta.get('device')} · torch {meta.get('torch')} · "
             f"{meta.get('date', '')}.  Matmul reference: **{ref:.0f} GFLOP/s** ({mm['reference']}"
             f"); median at the MNIST layer shapes "
             f"{mm['layer_shapes_median_gflops_per_s']:.0f} GFLOP/s.  Nets 784-500-500, latent "
             "100, 10 classes, Bernoulli x, 100 labeled + 100 unlabeled rows per step.\n",
             "| model | variant | skdgm ms/step | plain PyTorch ms/step | skdgm / plain | "
             "s per 60k-row epoch | GFLOP/s | share of matmul rate | share of layer-shape "
             "matmul rate | share of adjacent matmul rate |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, variants in results["training"].items():
        for variant, r in variants.items():
            if "error" in r:
                lines.append(f"| {name} | {variant} | error: {r['error']} | | | | | | | |")
                continue
            plain = r.get("plain")
            rate = r["skdgm_rate"]
            g = rate.get("gflops_per_s")
            frac = rate.get("fraction_of_matmul")
            plain_ms = "" if plain is None else f"{1e3 * plain['step_s']:.1f}"
            ratio = "" if plain is None else f"{r['ratio_skdgm_over_plain']:.2f}"
            lines.append(
                f"| {name} | {variant} | {1e3 * r['skdgm']['step_s']:.1f} | {plain_ms} | "
                f"{ratio} | {r['skdgm']['epoch_s']:.0f} | {'' if g is None else f'{g:.0f}'} | "
                f"{'' if frac is None else f'{frac:.0%}'} | {share_of_shapes(g)} | "
                f"{share_adjacent(rate)} |")
    lines += ["", "| model | predict_proba 10k rows (s) | GFLOP/s | share of matmul rate | "
              "share of layer-shape rate | share of adjacent matmul rate | BALD query (s) | its "
              "sampling: GFLOP/s, share of matmul, of layer-shape, of adjacent matmul rate | "
              "BatchBALD query (s) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["prediction"].items():
        pp = r["predict_proba"]
        pools = [v for k, v in r.items() if k.startswith("pool_")]
        bald_s = ", ".join(f"{p['bald_query_s']:.2f} ({p['pool_rows']:,} rows)" for p in pools)
        bb = ", ".join(f"{p['batch_bald_s']:.1f} ({p['pool_rows']:,} rows, "
                       f"{p['batch_bald_instances']} picks)" for p in pools if "batch_bald_s" in p)
        g = pp.get("gflops_per_s")
        frac = pp.get("fraction_of_matmul")
        rates = ", ".join(f"{p['gflops_per_s']:.0f}, {p['fraction_of_matmul']:.0%}, "
                          f"{share_of_shapes(p['gflops_per_s'])}"
                          + (f", {share_adjacent(p)}" if share_adjacent(p) else "")
                          for p in pools if p.get("gflops_per_s") is not None)
        lines.append(f"| {name} | {pp['seconds']:.2f} | {'' if g is None else f'{g:.0f}'} | "
                     f"{'' if frac is None else f'{frac:.0%}'} | {share_of_shapes(g)} | "
                     f"{share_adjacent(pp)} | {bald_s} | {rates} | {bb} |")
    if results.get("notes"):
        lines += ["", "Notes: " + "; ".join(results["notes"]) + "."]
    lines.append("\nScaling with rows, classes, Gibbs steps and draws: `speed.png` and "
                 "`speed.json` beside it.\n")
    return "\n".join(lines)
