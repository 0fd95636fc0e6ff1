"""Where the time of SSLPE / SSLAPD training steps and predictions goes: a torch-profiler
breakdown.

Run as::

    python -m benchmarks.step_profile [--quick] [--out DIR] [--threads N] [--name NAME]

The speed benchmark (:mod:`benchmarks.speed`) gives each training step's GFLOP/s as a share of
the machine's dense-matmul rate.  That share is the product of two factors, and this script
measures both on the same MNIST-size networks (784-500-500, latent 100, 10 classes, Bernoulli
x, 100 labeled + 100 unlabeled rows per step; the speed benchmark's profile):

1. the *matmul time share*: the fraction of the step's operator time spent in matmul kernels
   (``mm``, ``addmm``, ``bmm``, ``baddbmm``), from :mod:`torch.profiler` over a few steps of the
   estimator's own skorch step (forward, backward, Adam);
2. the *matmul kernel rate*: the step's matmul FLOPs divided by that matmul time, against the
   2048x2048 matmul rate measured in the same run (the step's matmuls have the networks' small
   shapes, which run slower than a large square matmul).

The rest of the operator time is split into groups (random numbers, the Bernoulli likelihood,
batch norm, activations, copies and indexing, the optimizer, other elementwise ops) with the
largest operators listed, so a reader sees what a faster step would have to remove.  The
profiler adds a fixed cost per operator call, which inflates the many small non-matmul calls;
the unprofiled step time is measured too and given beside the profiled one.

The same breakdown is taken for the two other speed targets: Gibbs ``predict_proba`` (T steps,
weights resampled at every step for SSLAPD) and the Monte-Carlo sampling behind a BALD query
(``predict_proba_samples``, one chain per draw), over ``--predict-rows`` rows of an estimator
fitted for one epoch (the cost of prediction does not depend on how well it is trained).  For
every profiled call the matmuls with the most time are listed by operand shape with their
GFLOP/s, which shows which shapes run below the large-matmul rate.

Because the profiler's per-call cost distorts that split on some CPUs, each step and call is
also split without it: its matmuls are recorded (a ``TorchDispatchMode``) and rerun alone on
fresh operands of the same shapes and strides (:func:`replay_matmuls`); their time against
the unprofiled time gives the matmul share, and their rate the most the step could reach if
everything else took no time.

Results go to ``step_profile.json`` under ``--out`` (default
``benchmarks/results/step_profile_cpu``); ``--name`` changes the file name (e.g. to keep a
profile taken before a change).  A run takes about two minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.speed import (
    PROFILES,
    Bench,
    add_threads_argument,
    count_flops,
    machine_info,
    make_estimator,
    matmul_gflops,
    synthetic_data,
)
from skdgm import SSLAPDClassifier, SSLPEClassifier

MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addbmm")
#: operator groups, first match wins; operators in no group count as "other elementwise"
GROUPS: dict[str, tuple[str, ...]] = {
    "matmul": MATMUL_OPS,
    "random numbers": ("aten::normal_", "aten::uniform_", "aten::exponential_",
                       "aten::bernoulli_", "aten::random_", "aten::multinomial"),
    "Bernoulli likelihood": ("aten::log_sigmoid_forward", "aten::log_sigmoid_backward",
                             "aten::sigmoid", "aten::binary_cross_entropy_with_logits"),
    "batch norm": ("aten::native_batch_norm", "aten::native_batch_norm_backward",
                   "aten::_batch_norm_with_update", "aten::batch_norm"),
    "activations": ("aten::threshold_backward", "aten::clamp_min_", "aten::clamp_min",
                    "aten::relu_", "aten::relu"),
    "copies and indexing": ("aten::copy_", "aten::fill_", "aten::zero_", "aten::cat",
                            "aten::index_select", "aten::scatter_add_", "aten::index_add_",
                            "aten::gather", "aten::_to_copy", "aten::repeat",
                            "aten::repeat_interleave", "aten::one_hot"),
    "optimizer (Adam)": ("aten::_fused_adam_", "aten::_foreach_add_", "aten::_foreach_mul_",
                         "aten::_foreach_addcmul_", "aten::_foreach_lerp_"),
}


def group_of(name: str) -> str:
    """The operator group of a profiler event name."""
    for group, names in GROUPS.items():
        if name in names:
            return group
    return "other elementwise and reductions" if name.startswith("aten::") else "not an operator"


def profile_step(bench: Bench, cls: type, prof, batch_norm: bool, n_steps: int,
                 n_timed: int) -> dict:
    """Profile ``n_steps`` training steps of ``cls`` and time ``n_timed`` unprofiled ones."""
    batches_needed = 3 + n_timed + n_steps
    X, y = synthetic_data(prof, prof.batch_l, prof.batch_u * batches_needed, prof.n_classes)
    est = make_estimator(cls, prof, str(bench.device), batch_norm, prof.batch_l, prof.batch_u)
    # one short fit builds the net and the optimizer; the steps below are the net's own
    # training step (skorch's train_step_single: forward, backward) plus the Adam update
    n_init = prof.batch_l + 2 * prof.batch_u
    est.fit(X[:n_init], y[:n_init])
    net = est.net_
    batches = list(net.get_iterator(net.get_dataset(X, y), training=True))

    def step(batch) -> None:
        net.optimizer_.zero_grad()
        net.train_step_single(batch)
        net.optimizer_.step()

    for batch in batches[:3]:
        step(batch)
    times = []
    for batch in batches[3:3 + n_timed]:
        start = bench.now()
        step(batch)
        times.append(bench.now() - start)
    flops = count_flops(lambda: net.train_step_single(batches[0]))
    net.optimizer_.zero_grad()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 with_flops=True) as prof_run:
        for batch in batches[3 + n_timed:]:
            step(batch)
    step_s = statistics.median(times)
    replay = replay_matmuls(lambda: net.train_step_single(batches[0]), step_s)
    net.optimizer_.zero_grad()
    return {"step_s_unprofiled": step_s, "step_s_all": times, "gflops_per_s": flops / step_s / 1e9,
            **breakdown(prof_run, n_steps, flops), "n_profiled_steps": n_steps,
            "matmul_replay": replay}


class MatmulRecorder(TorchDispatchMode):
    """Records every matmul call made inside it (operator, operand shapes and strides, other
    arguments), forward and backward, so that :func:`replay_matmuls` can rerun them alone."""

    OPS = (torch.ops.aten.mm, torch.ops.aten.addmm, torch.ops.aten.bmm, torch.ops.aten.baddbmm)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket in self.OPS:
            spec = [(tuple(a.shape), tuple(a.stride()), a.dtype) if isinstance(a, torch.Tensor)
                    else a for a in args]
            self.calls.append((func, spec, kwargs))
        return func(*args, **kwargs)


def _operand(spec):
    """A random tensor with the shape and strides (broadcast bias rows included) of ``spec``."""
    if not (isinstance(spec, tuple) and len(spec) == 3 and isinstance(spec[2], torch.dtype)):
        return spec
    shape, stride, dtype = spec
    size = 1 + sum((n - 1) * st for n, st in zip(shape, stride) if n > 0)
    return torch.rand(size, dtype=dtype).as_strided(shape, stride)


def _matmul_flops(spec: list) -> int:
    """2 m k n (times the batch) of one recorded call, from the last two operands' shapes."""
    a, b = spec[-2][0], spec[-1][0]
    batch = a[0] if len(a) == 3 else 1
    return 2 * batch * a[-2] * a[-1] * b[-1]


def replay_matmuls(fn, step_s: float, repeats: int = 5) -> dict:
    """The matmuls of one call of ``fn``, recorded and timed alone (no profiler): fresh
    operands of the same shapes and strides, the calls in their order, best of ``repeats``.

    The time they take against the unprofiled ``step_s`` splits a step into its matmuls and
    the rest without the profiler's per-call cost, and their rate is the most the step could
    reach if everything else took no time.
    """
    recorder = MatmulRecorder()
    with recorder:
        fn()
    calls = [(func, [_operand(a) for a in spec], kwargs) for func, spec, kwargs in recorder.calls]
    flops = sum(_matmul_flops(spec) for _, spec, _ in recorder.calls)

    def run() -> None:
        for func, args, kwargs in calls:
            func(*args, **kwargs)

    run()                                             # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return {"calls": len(calls), "flops": flops, "seconds": best,
            "gflops_per_s": flops / best / 1e9, "share_of_step_time": best / step_s,
            "other_seconds": step_s - best}


def breakdown(prof_run, n_calls: int, flops: int) -> dict:
    """Operator self time per call of a profiled run, split into :data:`GROUPS`, the matmul
    time share and kernel rate, and the matmul time and rate of each operand shape."""
    ops: dict[str, dict] = {}
    for ev in prof_run.key_averages():
        if ev.self_cpu_time_total <= 0 or not ev.key.startswith("aten::"):
            continue
        ops[ev.key] = {"self_ms_per_step": ev.self_cpu_time_total / 1e3 / n_calls,
                       "calls_per_step": ev.count / n_calls, "group": group_of(ev.key)}
    total = sum(o["self_ms_per_step"] for o in ops.values())
    groups: dict[str, float] = {}
    for o in ops.values():
        groups[o["group"]] = groups.get(o["group"], 0.0) + o["self_ms_per_step"]
    matmul_ms = groups.get("matmul", 0.0)
    return {
        "operator_ms_per_step_profiled": total,
        "flops_per_step": flops,
        "matmul_time_share": matmul_ms / total,
        "matmul_kernel_gflops_per_s": flops / (matmul_ms / 1e3) / 1e9 if matmul_ms else None,
        "groups_ms_per_step": dict(sorted(groups.items(), key=lambda kv: -kv[1])),
        "top_ops": dict(sorted(ops.items(), key=lambda kv: -kv[1]["self_ms_per_step"])[:12]),
        "matmul_shapes": matmul_shapes(prof_run, n_calls),
    }


def matmul_shapes(prof_run, n_calls: int, top: int = 10) -> list[dict]:
    """The ``top`` matmul (operator, operand shapes) by self time per call, with their rate
    (FLOPs from the profiler's ``with_flops``)."""
    rows = []
    for ev in prof_run.key_averages(group_by_input_shape=True):
        if ev.key not in MATMUL_OPS or ev.self_cpu_time_total <= 0:
            continue
        seconds = ev.self_cpu_time_total / 1e6
        rows.append({"op": ev.key, "shapes": [list(sh) for sh in ev.input_shapes if sh],
                     "calls_per_step": ev.count / n_calls,
                     "self_ms_per_step": seconds * 1e3 / n_calls,
                     "gflops_per_s": ev.flops / seconds / 1e9 if ev.flops else None})
    return sorted(rows, key=lambda r: -r["self_ms_per_step"])[:top]


def profile_prediction(bench: Bench, est, X: np.ndarray, quantity: str, n_draws: int,
                       repeats: int = 2) -> dict:
    """Profile one call of Gibbs ``predict_proba`` or of the Monte-Carlo sampling behind a
    BALD query (``predict_proba_samples`` with ``n_draws`` chains) over the rows ``X``; the
    unprofiled time is the best of ``repeats`` calls."""
    fn = ((lambda: est.predict_proba(X)) if quantity == "predict_proba"
          else (lambda: est.predict_proba_samples(X, n_draws=n_draws)))
    est.predict_proba(X[:256])                                  # warm-up
    best, times = bench.best_of(fn, repeats)
    flops = count_flops(fn)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 with_flops=True) as prof_run:
        fn()
    return {"rows": int(X.shape[0]), "n_gibbs": est.n_gibbs,
            "n_draws": n_draws if quantity != "predict_proba" else 1,
            "step_s_unprofiled": best, "step_s_all": times, "gflops_per_s": flops / best / 1e9,
            **breakdown(prof_run, 1, flops), "n_profiled_steps": 1,
            "matmul_replay": replay_matmuls(fn, best)}


def cpu_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Options shared by the CPU step scripts: ``--quick`` (the speed benchmark's quick
    profile, default), ``--out`` (default ``benchmarks/results/step_profile_cpu``) and
    ``--threads``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="profile", action="store_const", const="quick",
                      help="the speed benchmark's quick profile (default)")
    mode.add_argument("--tiny", dest="profile", action="store_const", const="tiny",
                      help=argparse.SUPPRESS)
    parser.set_defaults(profile="quick")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/step_profile_cpu)")
    add_threads_argument(parser)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = cpu_parser("python -m benchmarks.step_profile", __doc__.split("\n\n")[0])
    parser.add_argument("--name", default="step_profile",
                        help="results file name without .json (default step_profile)")
    parser.add_argument("--steps", type=int, default=6, help="profiled steps (default 6)")
    parser.add_argument("--timed", type=int, default=20,
                        help="unprofiled timed steps (default 20)")
    parser.add_argument("--predict-rows", type=int, default=4096,
                        help="rows of the profiled predictions (default 4096, at most the "
                             "profile's prediction rows)")
    return parser.parse_args(argv)


def setup_cpu_run(args: argparse.Namespace) -> tuple:
    """The profile, the (created) output folder and the torch thread count to restore, with
    ``args.threads`` threads set for the run (options of :func:`cpu_parser`)."""
    out_dir = args.out or Path(__file__).resolve().parent / "results" / "step_profile_cpu"
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, args.threads))
    return PROFILES[args.profile], out_dir, previous


def start_run(script: str, prof, options: str = "") -> tuple[Bench, dict, float]:
    """The clock, the results skeleton (command, machine, profile) and the square-matmul rate
    at the start of a CPU run of ``benchmarks.<script>`` (``options`` after ``--threads``)."""
    bench = Bench(torch.device("cpu"))
    command = (f"python -m benchmarks.{script} --{prof.name} --threads "
               f"{torch.get_num_threads()}{options}")
    results: dict = {"command": command, "meta": machine_info(bench.device),
                     "profile": prof.name, "steps": {}}
    size = prof.matmul_size
    rate = matmul_gflops(bench, size, size, size, prof.matmul_repeats,
                         prof.matmul_seconds)["gflops_per_s"]
    return bench, results, rate


def main(argv: Sequence[str] | None = None) -> dict:
    """Profile the four training steps, Gibbs prediction and BALD sampling and write
    ``<name>.json``; returns the results."""
    args = parse_args(argv)
    prof, out_dir, previous = setup_cpu_run(args)
    try:
        bench, results, start_rate = start_run(
            "step_profile", prof, f" --name {args.name}" if args.name != "step_profile" else "")
        size = prof.matmul_size
        for name, cls in (("SSLPE", SSLPEClassifier), ("SSLAPD", SSLAPDClassifier)):
            for variant, bn in (("no_bn", False), ("bn", True)):
                bench.log(f"{name} {variant}: {args.timed} timed + {args.steps} profiled steps")
                res = profile_step(bench, cls, prof, bn, args.steps, args.timed)
                results["steps"][f"{name}_{variant}"] = res
                bench.log(f"  {res['step_s_unprofiled'] * 1e3:.1f} ms/step, matmul "
                          f"{res['matmul_time_share']:.0%} of operator time at "
                          f"{res['matmul_kernel_gflops_per_s'] or 0:.0f} GFLOP/s")
        x_pred = np.random.default_rng(1).random(
            (min(args.predict_rows, prof.predict_rows), prof.n_features), dtype=np.float32)
        results["prediction"] = {}
        for name, cls in (("SSLPE", SSLPEClassifier), ("SSLAPD", SSLAPDClassifier)):
            est = make_estimator(cls, prof, str(bench.device), False, prof.batch_l,
                                 prof.batch_u)
            est.fit(*synthetic_data(prof, prof.batch_l, 2 * prof.batch_u, prof.n_classes))
            for quantity in ("predict_proba", "BALD_sampling"):
                bench.log(f"{name} {quantity}: {x_pred.shape[0]} rows")
                res = profile_prediction(bench, est, x_pred, quantity, prof.n_draws,
                                         prof.predict_repeats)
                results["prediction"][f"{name}_{quantity}"] = res
                bench.log(f"  {res['step_s_unprofiled']:.2f} s, matmul "
                          f"{res['matmul_time_share']:.0%} of operator time at "
                          f"{res['matmul_kernel_gflops_per_s'] or 0:.0f} GFLOP/s")
        end_rate = matmul_gflops(bench, size, size, size, prof.matmul_repeats,
                                 prof.matmul_seconds)["gflops_per_s"]
        results["matmul_size"] = size
        results["matmul_square_gflops_per_s"] = max(start_rate, end_rate)
        results["matmul_square_start_end"] = [start_rate, end_rate]
        results["meta"]["wall_s"] = time.perf_counter() - bench.t0
        ref = results["matmul_square_gflops_per_s"]
        for res in [*results["steps"].values(), *results["prediction"].values()]:
            res["share_of_matmul_rate"] = res["gflops_per_s"] / ref
            kernel = res["matmul_kernel_gflops_per_s"]
            res["matmul_kernel_share_of_matmul_rate"] = None if kernel is None else kernel / ref
            replay = res["matmul_replay"]
            replay["share_of_matmul_rate"] = replay["gflops_per_s"] / ref
    finally:
        torch.set_num_threads(previous)
    with open(out_dir / f"{args.name}.json", "w") as fh:
        json.dump(results, fh, indent=2)
    bench.log(f"done: {out_dir / (args.name + '.json')}")
    return results


def _table(entries: dict, first: str, unit: str, scale: float, digits: int, size: int
           ) -> list[str]:
    """Rows of profiled calls: time (``scale`` x seconds, ``digits`` decimals), rates, groups."""
    lines = [f"| {first} | {unit} (no profiler) | GFLOP/s | share of matmul rate | "
             "matmul share of operator time | other operator ms per matmul ms | "
             f"matmul kernels' GFLOP/s (share of {size}² rate) | "
             "largest other groups (ms per call, profiled) |",
             "|---|---|---|---|---|---|---|---|"]
    for key, res in entries.items():
        others = [(g, ms) for g, ms in res["groups_ms_per_step"].items() if g != "matmul"][:3]
        kernel = res["matmul_kernel_gflops_per_s"]
        lines.append(
            f"| {_label(key)} | {res['step_s_unprofiled'] * scale:.{digits}f} | "
            f"{res['gflops_per_s']:.0f} | {res['share_of_matmul_rate']:.0%} | "
            f"{res['matmul_time_share']:.0%} | "
            f"{(1 - res['matmul_time_share']) / res['matmul_time_share']:.2f} | "
            f"{kernel:.0f} ({res['matmul_kernel_share_of_matmul_rate']:.0%}) | "
            + ", ".join(f"{g} {ms:.1f}" for g, ms in others) + " |")
    return lines


def _replay_table(entries: dict, first: str, unit: str, scale: float, digits: int, size: int
                  ) -> list[str]:
    """Rows splitting each unprofiled time into its matmuls (replayed alone) and the rest."""
    lines = [f"| {first} | {unit} (no profiler) | share of {size}² rate | matmuls alone "
             f"({unit}, calls) | their share of the time | their GFLOP/s (share of {size}² "
             f"rate) | the rest ({unit}) |",
             "|---|---|---|---|---|---|---|"]
    for key, res in entries.items():
        rep = res["matmul_replay"]
        lines.append(
            f"| {_label(key)} | {res['step_s_unprofiled'] * scale:.{digits}f} | "
            f"{res['share_of_matmul_rate']:.0%} | {rep['seconds'] * scale:.{digits}f} "
            f"({rep['calls']}) | {rep['share_of_step_time']:.0%} | {rep['gflops_per_s']:.0f} "
            f"({rep['share_of_matmul_rate']:.0%}) | {rep['other_seconds'] * scale:.{digits}f} |")
    return lines


def _label(key: str) -> str:
    return key.replace("_", " ", 1).replace("BALD_", "BALD ")


def _shape_text(row: dict) -> str:
    dims = "·".join("x".join(str(d) for d in sh) for sh in row["shapes"][-2:])
    rate = "?" if row["gflops_per_s"] is None else f"{row['gflops_per_s']:.0f}"
    return f"{row['op'].removeprefix('aten::')} {dims}: {row['self_ms_per_step']:.0f} ms at {rate}"


def render_markdown(results: dict, title: str = "") -> str:
    """Markdown tables of one ``step_profile.json`` (used by :mod:`benchmarks.report`)."""
    meta = results["meta"]
    ref, size = results["matmul_square_gflops_per_s"], results["matmul_size"]
    lines = [title + f"Command `{results['command']}` · {meta.get('cpu', '?')} · torch "
             f"{meta.get('torch', '?')} · {meta.get('date', '?')}.  {size}² matmul rate "
             f"{ref:.0f} GFLOP/s (best of the start and the end of the run).", ""]
    lines += _table(results["steps"], "step", "ms/step", 1e3, 1, size)
    prediction = results.get("prediction")
    if prediction:
        first = next(iter(prediction.values()))
        lines += ["", f"Prediction over {first['rows']:,} rows (T = {first['n_gibbs']} Gibbs "
                  "steps; BALD sampling: the per-draw probabilities of a BALD query, "
                  f"{max(r['n_draws'] for r in prediction.values())} chains):", ""]
        lines += _table(prediction, "call", "s", 1.0, 2, size)
        lines += ["", "The matmuls with the most time in each prediction call (operator, "
                  "operand shapes, profiled ms and GFLOP/s):", ""]
        for key, res in prediction.items():
            lines.append(f"- {_label(key)}: "
                         + "; ".join(_shape_text(r) for r in res["matmul_shapes"][:4]))
    entries = {**results["steps"], **(prediction or {})}
    if all("matmul_replay" in res for res in entries.values()):
        lines += ["", "Without the profiler: each step's (call's) matmuls recorded and rerun "
                  "alone, in order, on fresh operands of the same shapes and strides (best of "
                  "5); *the rest* is the unprofiled time minus theirs.  Their rate is the most "
                  "the step could reach if everything else took no time.", ""]
        lines += _replay_table(results["steps"], "step", "ms", 1e3, 1, size)
        if prediction:
            lines += [""] + _replay_table(prediction, "call", "s", 1.0, 2, size)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
