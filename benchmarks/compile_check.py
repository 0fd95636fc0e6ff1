"""Does ``torch.compile`` make skdgm's CPU training step faster?  An interleaved A/B timing.

Run as::

    python -m benchmarks.compile_check [--quick] [--out DIR] [--threads N] [--modes ...]

The speed targets ask for a training step at 60% of the machine's matmul rate; the profile
(:mod:`benchmarks.step_profile`) leaves the non-matmul time spread over many small
elementwise operators, the kind of work a compiler fuses.  This script times the estimators'
own skorch training step (forward, backward, Adam; the speed benchmark's MNIST-size networks)
for SSLPE and SSLAPD, with and without batch norm, once as it is (eager) and once with the
module's objective wrapped in ``torch.compile`` for each ``--modes`` entry (one whole graph
per step when there are no graph breaks; the graph count and graph breaks are recorded).  The
first compiled step (the compilation, with inductor's caches disabled) is timed separately.
The nets start from the same initialisation and take the same batches (the first step also
the same noise: with the ``aot_eager`` backend its loss matches the eager one; inductor draws
its own random numbers), and their timing blocks alternate, so the machine's drift hits them
alike; each net's time is the best, over ``--rounds`` blocks, of the median step of a block.

Results go to ``compile_check.json`` under ``--out`` (default
``benchmarks/results/step_profile_cpu``).  A run takes a few minutes on a 2-core CPU (most of
it compilation).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence

import torch

from benchmarks.speed import (
    Bench,
    make_estimator,
    synthetic_data,
)
from benchmarks.step_profile import cpu_parser, setup_cpu_run, start_run
from skdgm import SSLAPDClassifier, SSLPEClassifier

MODELS = {"SSLPE": SSLPEClassifier, "SSLAPD": SSLAPDClassifier}


def fitted_net(cls: type, prof, batch_norm: bool, X, y, compile_kwargs: dict | None):
    """The skorch net of a one-epoch fit of ``cls`` (seeded, so every call starts alike),
    its objective wrapped in ``torch.compile(**compile_kwargs)`` unless that is ``None``."""
    est = make_estimator(cls, prof, "cpu", batch_norm, prof.batch_l, prof.batch_u)
    n_init = prof.batch_l + 2 * prof.batch_u
    est.fit(X[:n_init], y[:n_init])
    net = est.net_
    if compile_kwargs is not None:
        net.module_.objective = torch.compile(net.module_.objective, **compile_kwargs)
    return net


def train_step(net, batch) -> float:
    """One training step of ``net`` (zero grad, skorch's step, Adam); returns the loss."""
    net.optimizer_.zero_grad()
    loss = net.train_step_single(batch)["loss"]
    net.optimizer_.step()
    return float(loss.detach())


def dynamo_counts() -> tuple[int, int]:
    """Graphs compiled and graph breaks met by dynamo so far in this process."""
    from torch._dynamo.utils import counters
    return (int(counters["stats"]["unique_graphs"]),
            int(sum(counters["graph_break"].values())))


def check_variant(bench: Bench, cls: type, prof, batch_norm: bool, modes: Sequence[str],
                  steps: int, rounds: int, backend: str = "inductor") -> dict:
    """Interleaved timing of the eager step against one compiled step per mode."""
    X, y = synthetic_data(prof, prof.batch_l, prof.batch_u * (steps + 4), prof.n_classes)
    nets = {"eager": fitted_net(cls, prof, batch_norm, X, y, None)}
    out: dict = {"eager": {}}
    for mode in modes:
        nets[mode] = fitted_net(cls, prof, batch_norm, X, y,
                                {"backend": backend, **({} if mode == "default" else
                                                        {"mode": mode})})
        out[mode] = {}
    first = nets["eager"]
    batches = list(first.get_iterator(first.get_dataset(X, y), training=True))
    for name, net in nets.items():
        graphs, breaks = dynamo_counts()
        torch.manual_seed(0)                 # the same latent noise for every net's first step
        start = time.perf_counter()
        out[name]["first_loss"] = train_step(net, batches[0])
        out[name]["first_step_s"] = time.perf_counter() - start
        graphs_after, breaks_after = dynamo_counts()
        if name != "eager":
            out[name]["graphs"] = graphs_after - graphs
            out[name]["graph_breaks"] = breaks_after - breaks
        train_step(net, batches[1])          # second call: any recompilation happens here
    blocks: dict[str, list[float]] = {name: [] for name in nets}
    for _ in range(rounds):
        for name, net in nets.items():
            times = []
            for batch in batches[2:2 + steps]:
                start = bench.now()
                train_step(net, batch)
                times.append(bench.now() - start)
            blocks[name].append(statistics.median(times))
    eager_s = min(blocks["eager"])
    for name in nets:
        out[name]["step_s"] = min(blocks[name])
        out[name]["block_medians_s"] = blocks[name]
        out[name]["vs_eager"] = min(blocks[name]) / eager_s
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = cpu_parser("python -m benchmarks.compile_check", __doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", default=["default", "max-autotune-no-cudagraphs"],
                        help="torch.compile modes to time ('default' = no mode argument)")
    parser.add_argument("--backend", default="inductor",
                        help="torch.compile backend (default inductor)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved blocks per net")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Time eager against compiled training steps and write ``compile_check.json``."""
    args = parse_args(argv)
    prof, out_dir, previous = setup_cpu_run(args)
    # compile from scratch, so the first step's time is the compilation's, not a cache read
    import torch._inductor.config as inductor_config
    caches = inductor_config.force_disable_caches
    inductor_config.force_disable_caches = True
    try:
        options = f" --modes {' '.join(args.modes)}" + (
            f" --backend {args.backend}" if args.backend != "inductor" else "")
        bench, results, rate = start_run("compile_check", prof, options)
        results.update(backend=args.backend, modes=list(args.modes))
        for name, cls in MODELS.items():
            for variant, bn in (("no_bn", False), ("bn", True)):
                bench.log(f"{name} {variant}: eager and {', '.join(args.modes)}")
                res = check_variant(bench, cls, prof, bn, args.modes, args.steps, args.rounds,
                                    args.backend)
                results["steps"][f"{name}_{variant}"] = res
                bench.log("  " + ", ".join(f"{mode} {r['step_s'] * 1e3:.1f} ms"
                                           for mode, r in res.items()))
        results["matmul_square_gflops_per_s"] = rate
        results["meta"]["wall_s"] = time.perf_counter() - bench.t0
    finally:
        inductor_config.force_disable_caches = caches
        torch.set_num_threads(previous)
    with open(out_dir / "compile_check.json", "w") as fh:
        json.dump(results, fh, indent=2)
    bench.log(f"done: {out_dir / 'compile_check.json'}")
    return results


def render_markdown(results: dict) -> str:
    """The result as a markdown table (ms per step, ratio to eager, compile seconds)."""
    modes = results["modes"]
    meta = results["meta"]
    lines = [f"Command `{results['command']}` · {meta.get('cpu', '')} · torch "
             f"{meta.get('torch', '')} · {meta.get('date', '')}.  Backend "
             f"{results['backend']}; one compiled graph per step unless a graph break is "
             "listed.", "",
             "| step | eager ms/step | " + " | ".join(
                 f"`{m}` ms/step (÷ eager) | `{m}` first step s, graphs, breaks"
                 for m in modes) + " |",
             "|---|---|" + "---|---|" * len(modes)]
    for key, res in results["steps"].items():
        cells = [f"{res['eager']['step_s'] * 1e3:.1f}"]
        for m in modes:
            r = res[m]
            cells.append(f"{r['step_s'] * 1e3:.1f} ({r['vs_eager']:.2f})")
            cells.append(f"{r['first_step_s']:.0f}, {r['graphs']}, {r['graph_breaks']}")
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
