"""Render BENCHMARKS.md from the result files under ``benchmarks/results/``.

Run: ``python -m benchmarks.report > BENCHMARKS.md``.  Every number in BENCHMARKS.md comes from
a results file through this script; nothing is typed in by hand.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from string import Template

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _load(rel: str) -> dict | None:
    path = RESULTS / rel
    return json.loads(path.read_text()) if path.is_file() else None


def _machine(m: dict) -> str:
    gpu = f", GPU {m['gpu']}" if m.get("gpu") else ""
    return (f"{m.get('cpu', '?')} ({m.get('cpu_count', '?')} cores{gpu}), torch "
            f"{m.get('torch', '?')}, {m.get('date', '?')}")


def _moons_auto_alpha(n_samples: int) -> str:
    """The labeled rows' weight ``alpha="auto"`` (0.1 N / N_l) that M2 resolves to on a moons
    draw of ``n_samples`` rows with :func:`skdgm.datasets.make_ssl_moons`'s six labels, from the
    estimator's own rule."""
    import inspect

    from skdgm.baselines import M2Classifier
    from skdgm.datasets import make_ssl_moons

    n_labeled = inspect.signature(make_ssl_moons).parameters["n_labeled"].default
    alpha = M2Classifier()._resolved_weights(n_labeled, n_samples - n_labeled)[1]
    return f"{alpha:.0f}"


def _missing(command: str) -> str:
    return f"*Not run yet.* Command: `{command}`\n"


def demo() -> str:
    d = _load("demo/demo_results.json")
    head = "## Main demo: semi-supervised moons with six labels\n\n"
    cmd = "python -m skdgm.demo --out benchmarks/results/demo"
    if d is None:
        return head + _missing(cmd)
    lines = [head, f"Command: `{cmd}` · machine: {d.get('machine_info', d.get('machine'))}, "
             f"{d['threads']} torch thread(s), torch {d['torch']} · date {d['date']}.  "
             f"Noise {d['noise']}, {d['n_samples']} training rows (6 labeled), "
             f"{d['n_samples']} test rows, seed {d['seed']}; thesis Table 5.1 in brackets.\n",
             "| model | test accuracy | test log p(y\\|x) (nats/row) | fit (s) | s/epoch |",
             "|---|---|---|---|---|"]
    thesis = {"DNN (6 labels only)": "83.6", "SSLPE": "99.2", "SSLAPD": "99.9"}
    for name, r in d["results"].items():
        lines.append(f"| {name} | {100 * r['accuracy']:.2f}% ({thesis.get(name, '–')}%) | "
                     f"{r['log_likelihood']:.4f} | {r['fit_seconds']:.1f} | "
                     f"{r['seconds_per_epoch']:.3f} |")
    lines.append("\nThe decision-boundary plot is `benchmarks/results/demo/demo_moons.png`.\n")
    return "\n".join(lines) + "\n"


def fit_time() -> str:
    out = ["## Fit time per epoch (moons, 10,000 rows, default settings)\n"]
    for device in ("cpu", "cuda"):
        d = _load(f"fit_time_{device}/fit_time.json")
        cmd = f"python -m benchmarks.fit_time --device {device}"
        if d is None:
            out.append(f"**{device}**: " + _missing(cmd))
            continue
        out += [f"**{device}** — command `{cmd}` · {_machine(d['machine'])} · "
                f"{d['threads']} CPU thread(s)\n",
                "| model | epochs | fit (s) | median epoch (s) | predict 10k rows (s) | "
                "test acc |", "|---|---|---|---|---|---|"]
        for r in d["rows"]:
            out.append(f"| {r['model']} | {r['epochs']} | {r['fit_seconds']:.1f} | "
                       f"{r['median_epoch_seconds']:.3f} | {r['predict_10k_seconds']:.3f} | "
                       f"{100 * r['accuracy']:.2f}% |")
        out.append("")
    out.append("An epoch is one pass over the 9,994 unlabeled rows: 100 steps of 100 unlabeled "
               "+ 6 labeled rows.  These networks (2 inputs, 128-128 hidden) are too small "
               "for a GPU to help.\n")
    return "\n".join(out) + "\n"


def weighting() -> str:
    d = _load("weighting/weighting.json")
    head = "## Weighting labeled against unlabeled data (choice of the default)\n\n"
    cmd = "python -m benchmarks.weighting --seeds 3 --n-jobs 15"
    if d is None:
        return head + _missing(cmd)
    lines = [head, f"Command `{cmd}` · {_machine(d['machine'])}.  Six fixed labels, 10,000 "
             "rows, default settings otherwise; scored on a separate validation set (never "
             "the test set), mean over seeds.\n",
             "| setting | val accuracy mean (std) | worst seed | val log p(y\\|x) |",
             "|---|---|---|---|"]
    for key, s in d["summary"].items():
        lines.append(f"| {key} | {100 * s['val_accuracy_mean']:.2f}% "
                     f"({100 * s['val_accuracy_std']:.2f}) | {100 * s['val_accuracy_min']:.2f}%"
                     f" | {s['val_log_lik_mean']:.3f} |")
    lines.append("\n`labeled_weight=\"balanced\"` wins everywhere, so it is the default "
                 "(see docs/user_guide.md).\n")
    return "\n".join(lines) + "\n"


def _bayes_line() -> str:
    """The ceiling: the Bayes classifier's accuracy and log p(y|x) on the test sets of seeds
    0-4 (computed from the exact class densities of ``make_moons``, see
    ``benchmarks/batch_norm.py``)."""
    from benchmarks.batch_norm import bayes_test_scores

    parts = []
    for nz in (0.1, 0.2):
        scores = np.array([bayes_test_scores(nz, s, 10_000) for s in range(5)]).mean(0)
        parts.append(f"noise {nz}: {100 * scores[0]:.2f}% and log p(y|x) {scores[1]:.3f}")
    return ("The best any classifier can do (the Bayes classifier, i.e. the true class "
            "posterior of the moons distribution, on the same test sets, mean over seeds 0-4): "
            + "; ".join(parts) + ".\n")


def _newest_moons_runs(files: list[Path], labels: str) -> dict[tuple, tuple]:
    """``{(noise, model): (summary row, run name, that run's config of the model)}`` for the
    newest run of each (noise, model) with ``labels`` ("fixed" or "random")."""
    newest: dict[tuple, tuple] = {}
    for path in files:
        d = json.loads(path.read_text())
        if d["args"].get("model_seed_offset"):    # a seed-sensitivity check, not the protocol
            continue
        if d["args"].get("set", "{}") not in ("{}", ""):    # a variant of the configs' settings
            continue
        for s in d["summary"]:
            key = (s["noise"], s["model"])
            if s["labels"] == labels and (key not in newest
                                          or d["machine"]["date"] > newest[key][0]):
                newest[key] = (d["machine"]["date"], s, path.parent.name,
                               d.get("config", {}).get(s["model"]))
    return {key: val[1:] for key, val in newest.items()}


def _same_settings(old: dict | None, new: dict | None, noise: float) -> bool:
    """Whether two moons config specs give the same estimator parameters at ``noise``
    (parameters left at the estimator's default count as that default)."""
    import skdgm
    from benchmarks._common import effective_params

    if not old or not new or old["class"] != new["class"]:
        return False
    defaults = getattr(skdgm, new["class"])().get_params()
    return ({**defaults, **effective_params(old, noise)}
            == {**defaults, **effective_params(new, noise)})


def _train_accuracy(s: dict) -> str:
    """Mean (std) accuracy on the unlabeled training rows of a moons summary row, or –."""
    if "train_accuracy_mean" not in s:
        return "–"
    return f"{s['train_accuracy_mean']:.2f} ({s['train_accuracy_std']:.2f})"


def _moons_headline(files: list[Path]) -> str:
    """One row per (noise, model) with six fixed labels: the newest run of it, beside the
    thesis."""
    from benchmarks._common import read_configs

    current = read_configs("moons")
    newest = _newest_moons_runs(files, "fixed")
    lines = ["### Six fixed labels: the newest run of each model\n",
             "*Current settings*: whether the run used the parameters the config files give "
             "that model at that noise level today (searched where the file has `by_noise`); "
             "*vs thesis* is our accuracy minus the thesis's.  *Training rows*: accuracy on "
             "the training rows whose labels the model never saw (runs made before it was "
             "recorded show –).  The moons loader of the reference code (Maaløe et al.'s) drew "
             "its test set with the training set's `random_state` "
             "(`shared/reference/REFERENCE_SETTINGS.md`); with 10,000 rows in each, its test "
             "points were its training points, so the thesis's numbers are of this kind, "
             "while *accuracy* here is on separate test points.\n",
             "| noise | model | accuracy | log p(y\\|x) | training rows | thesis accuracy | "
             "thesis log p(y\\|x) | vs thesis | current settings | run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (noise, model), (s, run, cfg) in sorted(newest.items()):
        ta = s["thesis_accuracy"]
        same = _same_settings(cfg, current.get(model), noise)
        lines.append(
            f"| {noise} | {model} | {s['accuracy_mean']:.2f} ({s['accuracy_std']:.2f}) | "
            f"{s['log_lik_mean']:.3f} | {_train_accuracy(s)} | {'–' if ta is None else ta} | "
            f"{'–' if s['thesis_log_lik'] is None else s['thesis_log_lik']} | "
            f"{'–' if ta is None else format(s['accuracy_mean'] - ta, '+.2f')} | "
            f"{'yes' if same else 'no'} | `{run}` |")
    lines += _test_look_notes(newest)
    checks = []
    for path in files:
        d = json.loads(path.read_text())
        offset = d["args"].get("model_seed_offset")
        if offset:
            checks += [f"{s['model']} noise {s['noise']}, seeds 0–{d['args']['seeds'] - 1}, "
                       f"`random_state` = seed + {offset}: "
                       f"{s['accuracy_mean']:.2f} ({s['accuracy_std']:.2f}), "
                       f"{s['accuracy_min']:.2f}–{s['accuracy_max']:.2f}, log p(y|x) "
                       f"{s['log_lik_mean']:.3f} (`{path.parent.name}`, "
                       + ("current settings" if _same_settings(
                           d.get("config", {}).get(s["model"]), current.get(s["model"]),
                           s["noise"]) else "earlier settings") + ")"
                       for s in d["summary"] if s["labels"] == "fixed"]
    if checks:
        lines += ["", "Seed checks, not in the table: the protocol's data and test sets, "
                  "fits with another model seed (`--model-seed-offset`), so the runs differ "
                  "from the protocol's only in the model's random stream (initialisation, "
                  "batch order, noise): " + "; ".join(checks) + "."]
    return "\n".join(lines) + "\n"


def _moons_random_headline(files: list[Path]) -> str:
    """One row per (noise, model) with six random labels: the newest run of it, and whether
    it ran with the config files' current settings."""
    from benchmarks._common import read_configs

    current = read_configs("moons")
    newest = _newest_moons_runs(files, "random")
    if not newest:
        return ""
    lines = ["### Six random labels: the newest run of each model\n",
             "No paper reports this variant; *current settings* as above.\n",
             "| noise | model | draws | accuracy | min–max | log p(y\\|x) | current settings | "
             "run |", "|---|---|---|---|---|---|---|---|"]
    for (noise, model), (s, run, cfg) in sorted(newest.items()):
        same = _same_settings(cfg, current.get(model), noise)
        lines.append(
            f"| {noise} | {model} | {s['runs']} | {s['accuracy_mean']:.2f} "
            f"({s['accuracy_std']:.2f}) | {s['accuracy_min']:.2f}–{s['accuracy_max']:.2f} | "
            f"{s['log_lik_mean']:.3f} | {'yes' if same else 'no'} | `{run}` |")
    return "\n".join(lines) + "\n"


def _test_look_notes(newest: dict) -> list[str]:
    """A line under the fixed-label table for each row whose run used a setting that a search
    stage tried after a look at the fixed-label test sets (``_TEST_LOOK_STAGES``): such a row
    is not a clean held-out estimate.  (The random-label runs draw other data and test sets,
    never looked at, so their table carries no such line.)"""
    from benchmarks._common import effective_params

    notes = [f"{model} at noise {noise} (`{run}`)"
             for (noise, model), (_, run, cfg) in sorted(newest.items())
             if (model, noise) in _TEST_LOOK_STAGES and cfg
             and _TEST_LOOK_STAGES[model, noise].items()
             <= effective_params(cfg, noise).items()]
    if not notes:
        return []
    return ["", "Not a clean held-out estimate: " + "; ".join(notes) + " used a setting that "
            "a search stage tried because of what the test seeds had shown (the stage's "
            "sentence in the search's section says which look), though the validation seeds "
            "chose it."]


def moons() -> str:
    head = "## Moons, thesis Tables 5.1/5.2\n\n"
    files = sorted(RESULTS.glob("moons*/moons.json"))
    if not files:
        return head + _missing("python -m benchmarks.moons --seeds 5 --random-draws 10")
    lines = [head, "10,000 training / 10,000 test rows; *fixed*: the six labels at the ends and "
             "middle of each moon, 5 seeds; *random*: six labels drawn at random (three per "
             "moon), a new draw (and seed) per run.  Hyper-parameters: "
             "`benchmarks/configs/moons/<model>.json` (the thesis code's moons settings; M2 100 "
             "instead of 500 epochs at noise 0.1; where a file has `by_noise` settings, they "
             "were chosen by "
             "`benchmarks/moons_search.py` on a validation split, see below).  Accuracy in %, "
             "mean (std) over runs; log p(y|x) in nats per test row.  A run whose command "
             "line names no per-noise settings used the reference (noise-0.1) settings at "
             "every noise level.\n", _bayes_line(), _moons_headline(files),
             _moons_random_headline(files), "### Every run\n"]
    for path in files:
        d = json.loads(path.read_text())
        a = d["args"]
        cmd = (f"python -m benchmarks.moons --models {' '.join(a['models'])} --noise "
               f"{' '.join(map(str, a['noise']))} --seeds {a['seeds']} --random-draws "
               f"{a['random_draws']} --random-noise {' '.join(map(str, a['random_noise']))} "
               f"--n-jobs {a['n_jobs']}"
               + (f" --model-seed-offset {a['model_seed_offset']}"
                  if a.get("model_seed_offset") else "")
               + (f" --set '{a['set']}'" if a.get("set", "{}") not in ("{}", "") else "")
               + f" --out {path.parent.relative_to(RESULTS.parent.parent)}")
        configs = d.get("config", {})
        tuned = sorted(m for m, c in configs.items() if isinstance(c, dict) and c.get("by_noise"))
        settings = ("per-noise settings from the search for: " + ", ".join(
            f"{m} {configs[m]['by_noise']}" for m in tuned) + " · ") if tuned else ""
        lines += [f"Command `{cmd}` · {settings}{_machine(d['machine'])}, one torch thread per "
                  "fit · "
                  f"`{path.relative_to(RESULTS.parent)}`\n",
                  "| labels | noise | model | runs | accuracy | min–max | log p(y\\|x) | "
                  "training rows | thesis accuracy | thesis log p(y\\|x) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in d["summary"]:
            thesis = ("–" if s["thesis_accuracy"] is None
                      else f"{s['thesis_accuracy']} ({s['thesis_accuracy_std']})")
            tll = "–" if s["thesis_log_lik"] is None else f"{s['thesis_log_lik']}"
            lines.append(f"| {s['labels']} | {s['noise']} | {s['model']} | {s['runs']} | "
                         f"{s['accuracy_mean']:.2f} ({s['accuracy_std']:.2f}) | "
                         f"{s['accuracy_min']:.2f}–{s['accuracy_max']:.2f} | "
                         f"{s['log_lik_mean']:.3f} ({s['log_lik_std']:.3f}) | "
                         f"{_train_accuracy(s)} | {thesis} | {tll} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def active_learning() -> str:
    head = "## Active learning on moons (thesis 5.4.2, Fig. 5.11)\n\n"
    # the first run stored no command line: this is the one it ran
    legacy = ("python -m benchmarks.active_learning --repeats 5 --n-samples 1000 --n-jobs 15 "
              "--query-pool 0")
    files = sorted(RESULTS.glob("active_learning*/active_learning.json"))
    if not files:
        return head + _missing(legacy)
    lines = [head]
    for path in files:
        d = json.loads(path.read_text())
        if "summary" not in d:      # a run still in progress
            continue
        a = d["args"]
        lines += [f"Command `{d.get('command', legacy)}` · {_machine(d['machine'])} · "
                  f"`{path.relative_to(RESULTS.parent)}`.  Noise 0.1, a pool of "
                  f"{a['n_samples']:,} rows ("
                  + ("as in the thesis" if a["n_samples"] == 10_000 else "the thesis used 10,000")
                  + f"), {a['n_test']:,} test rows, "
                  "4 random initial labels (2 per moon, seed = repetition), one query at a "
                  f"time, refit from scratch, until {a['target']:.0%} test accuracy or "
                  f"{a['max_labels']} labels; {a['repeats']} repetitions.  A run that never "
                  f"reaches the target counts as {a['max_labels']} labels (so that mean is a "
                  "lower bound).\n",
                  "| model + acquisition | labels to reach 99% (mean, std) | runs reaching 99% | "
                  "thesis |", "|---|---|---|---|"]
        for key, s in d["summary"].items():
            lines.append(f"| {key} | {s['mean_labels_to_target']:.1f} ({s['std']:.1f}) | "
                         f"{s['runs_reaching_target']}/{s['runs']} | {s['thesis']} |")
        lines.append("")
    q = _load("active_learning/bald_query_time.json")
    if q is None:
        lines.append("\nBALD query time: " + _missing(
            "python -m benchmarks.active_learning --repeats 0 --query-pool 10000"))
    else:
        lines.append(f"One BALD query over a pool of {q['n_pool']:,} rows (10 posterior "
                     f"draws × 10 Gibbs steps + scores, SSLAPD, {q['threads']} thread, "
                     f"{_machine(q['machine'])}; command `python -m benchmarks.active_learning "
                     f"--repeats 0 --query-pool 10000`): **{q['seconds']:.2f} s**.\n")
    return "\n".join(lines) + "\n"


def speed() -> str:
    head = "## Speed on MNIST-size networks\n\n"
    found = sorted(RESULTS.glob("speed_*/speed.json"))
    if not found:
        return head + _missing("python -m benchmarks.speed --quick")
    from benchmarks.speed import render_markdown  # the speed script knows its own layout

    spread = _speed_spread(_current_cpu_speed_runs())
    # the interleaved runs of the change tried and dropped are in the spread (those of the
    # code as it is) and in the change's own table, not in full sections
    found = [p for p in found if not p.parent.name.startswith("speed_cpu_run")
             and p.parent.name not in SUPERSEDED_GPU_RUNS
             and not p.parent.name.startswith((SPEED_CHANGE["before"], SPEED_CHANGE["after"]))]
    titles = {"speed_cpu": "### CPU (current code)\n\n",
              "speed_cpu_xeon": "### CPU (current code), the Intel Xeon development machine "
                                "of 2026-11-26 afternoon\n\n",
              "speed_cpu_before": "### CPU, before the prediction chunks shrank with the number "
                                  "of draws and the weight-mean batch norm became one fused "
                                  "pass (commit d4e3435): the 'before' of that change\n\n"}
    parts = []
    gpu_runs = [json.loads(p.read_text()) for p in found if p.parent.name.startswith("speed_cuda")]
    for p in found:
        res = json.loads(p.read_text())
        if p.parent.name.startswith("speed_cuda"):
            if gpu_runs:  # once, before the first GPU run
                parts.append(_gpu_host_note(gpu_runs))
                gpu_runs = []
            title = (f"### GPU: {res['meta'].get('device_name')}, "
                     f"{res['meta'].get('date', '')[:10]}\n\n"
                     + _speed_gpu_note(res, p.parent.name))
        else:
            title = titles.get(p.parent.name, f"### `{p.parent.name}`\n\n")
        parts.append(title + render_markdown(res))
    return head + spread + "\n".join(parts) + "\n" + _speed_change_table()


def step_profile() -> str:
    head = ("### Where the time of a CPU training step and of a prediction goes (profile), and "
            "what was tried\n\n")
    after = _load("step_profile_cpu/step_profile.json")
    if after is None:
        return head + _missing("python -m benchmarks.step_profile --quick")
    from benchmarks.speed import TARGET_FRACTION
    from benchmarks.step_profile import render_markdown

    text = [head,
            "A step's share of the matmul rate is the product of two factors this profile "
            "separates: the share of the operator time spent in matmul kernels, and how fast "
            "those kernels run at the networks' shapes (FLOPs / matmul time) against the 2048² "
            "matmul.  The rest of the time is spread over many small groups, none large enough "
            "for one change to add ten points; and the machine's matmul rate itself moves by a "
            "third between runs minutes apart, which is why single-run shares scatter around "
            f"{TARGET_FRACTION:.0%}.  Operator times come from `torch.profiler` over 6 "
            "steps (self time; the profiler inflates the many small calls); the step times "
            "beside them are "
            "unprofiled.\n",
            "What was tried, in order (commits in the history): batch norm folded into the "
            "weights at evaluation and in-place ReLU; the first layers' x-part computed once "
            "per row and the class part as a row lookup instead of a one-hot matmul; prediction "
            "chunks that shrink with the number of draws (no freshly mapped temporaries); "
            "fused Adam; SSLAPD's weight draw as 2-d weights (plain matmuls), its KL as three "
            "reductions; a single-chain addmm path in prediction.  Last (2026-11-26): in-place "
            "activations no longer write into views (autograd copied each view's base back in "
            "the backward pass: `CopySlices`), and the weight-mean batch norm of SSLAPD got a "
            "hand-written backward with two-pass moments (`torch.var` over rows is several "
            "times slower than two passes on this CPU; its autograd backward was a dozen "
            "elementwise passes).  Tried and dropped, for no gain that beat the noise in "
            "interleaved A/B runs: glibc malloc thresholds (fewer page faults), a hand-written "
            "Bernoulli log-likelihood backward, NumPy's normal generator for the weight "
            "noise (slower than torch's here), and `torch.compile` (below).  What is left: "
            "the weight noise of SSLAPD "
            "(one normal per classifier weight per step, ~0.7 M, from torch's serial CPU "
            "generator), the Bernoulli likelihood's transcendental functions, ReLU backward, "
            "Adam, and the copies of bias broadcasting in `addmm`, each a few percent.\n",
            "The same split for the two prediction targets (the second table of the newest "
            "run; Gibbs `predict_proba` with T = 10 and the sampling behind a BALD query with "
            "10 chains): matmuls take about four fifths of the operator time, so what a "
            "prediction loses against the 2048² rate is mostly the kernels' own rate at these "
            "shapes, listed per operand shape below the table: the products with 100 inputs "
            "(the z-part of the first layer of p(y|x,z)) and with 10 outputs (the class "
            "logits) run well below it.  The rest: copies (`addmm` writes its broadcast bias "
            "into the output before the product), the normal draws of z and, for SSLAPD, of "
            "the classifier weights (redrawn at every Gibbs step, so the 784-wide x-part of "
            "that first layer is a product at every step too, where SSLPE computes it once "
            "per row), the class-row lookups of q(z|x,y)'s first layer, and the categorical "
            "draws of y.  Tried for prediction (commits in the history): batch norm folded "
            "into the weights, the first layers' x-parts computed once per row (and weight "
            "draw), and the rows per pass (next section).\n"]
    before = _load("step_profile_cpu/step_profile_before.json")
    if before is not None:
        text.append(render_markdown(before, "Before the last two changes (the same command "
                                            "on commit dbf3d92):\n\n"))
    text.append(render_markdown(after, "After them:\n\n"))
    other = _load("step_profile_cpu/step_profile_xeon.json")
    if other is not None:
        def span(part: dict, key: str) -> str:
            vals = [v[key] for v in part.values()]
            return f"{min(vals):.0%}-{max(vals):.0%}"

        rates = [d["matmul_square_gflops_per_s"] for d in (other, after)]

        def speedup(new: dict, old: dict) -> str:
            vals = [old[part][k]["step_s_unprofiled"] / new[part][k]["step_s_unprofiled"]
                    for part in ("steps", "prediction") for k in new[part] if k in old[part]]
            return f"{min(vals):.1f}-{max(vals):.1f}"

        def inflation(d: dict) -> str:
            vals = [v["operator_ms_per_step_profiled"] / (1000 * v["step_s_unprofiled"])
                    for part in ("steps", "prediction") for v in d[part].values()]
            return f"{min(vals):.1f}-{max(vals):.1f}"

        text.append(render_markdown(
            other, "The same command on the Intel Xeon development machine "
                   f"({other['meta']['date']}), whose 2048² matmul ran "
                   f"{rates[0] / rates[1]:.1f} times as fast as the AMD EPYC's in the run "
                   "above.  The unprofiled shares of the "
                   f"matmul rate are {span(other['steps'], 'share_of_matmul_rate')} "
                   f"(training) and {span(other['prediction'], 'share_of_matmul_rate')} "
                   "(prediction), lower than on the AMD machine (the speed runs above agree): "
                   "the steps and calls ran "
                   f"{speedup(other, after)} times as fast as in the AMD run above (the "
                   f"2048² matmul {rates[0] / rates[1]:.1f}).  The operator split of this "
                   "profile is distorted, "
                   "though: here the profiled operator times add up to "
                   f"{inflation(other)} times the unprofiled time of the step or call (on the "
                   f"AMD machine {inflation(after)}), so the split between matmul and the "
                   "rest is not reliable here."
                   + (_replay_summary(other) if "matmul_replay" in other["steps"]["SSLPE_bn"]
                      else "") + "\n\n"))
    compiled = _load("step_profile_cpu/compile_check.json")
    if compiled is not None:
        from benchmarks.compile_check import render_markdown as compile_markdown

        ratios = [r[m]["vs_eager"] for r in compiled["steps"].values() for m in compiled["modes"]]
        text.append(
            "**`torch.compile`, tried on the Xeon** (`benchmarks/compile_check.py`): the "
            "training step with the module's objective compiled by inductor (forward and "
            "backward of the whole objective as one graph, the elementwise work fused into "
            "generated C++ loops), timed against the eager step in alternating blocks.  The "
            f"compiled steps took {min(ratios):.2f}-{max(ratios):.2f} times the eager time "
            "(the generated code did not run the non-matmul work faster than the eager "
            "kernels), so the estimators do not compile.\n\n" + compile_markdown(compiled) + "\n")
    return "\n".join(text) + "\n"


def _replay_summary(d: dict) -> str:
    """One paragraph from the matmul replay of a step profile."""
    from benchmarks.speed import TARGET_FRACTION

    def span(part: str, key: str) -> str:
        vals = [v["matmul_replay"][key] for v in d[part].values()]
        return f"{min(vals):.0%}-{max(vals):.0%}"

    ceiling = max(v["matmul_replay"]["share_of_matmul_rate"] for v in d["steps"].values())
    return ("  The last table of the run splits the unprofiled times without the profiler "
            "(the matmuls rerun alone): in a training step the matmuls take "
            f"{span('steps', 'share_of_step_time')} of the time, and alone they run at "
            f"{span('steps', 'share_of_matmul_rate')} of the 2048² rate, the most a step could "
            "reach if everything else took no time; in the prediction calls they take "
            f"{span('prediction', 'share_of_step_time')} of the time and run at "
            f"{span('prediction', 'share_of_matmul_rate')}.  At these shapes, then, "
            f"{TARGET_FRACTION:.0%} of the 2048² rate needs the matmuls to take at least "
            f"{TARGET_FRACTION / ceiling:.0%} of a step's "
            "time; the rest (likelihood, batch norm, activations, noise, Adam, copies) is "
            "what keeps the steps below that.")


def predict_chunk() -> str:
    head = "### Rows per prediction pass (`PREDICT_CHUNK`), CPU\n\n"
    d = _load("predict_chunk_cpu/predict_chunk.json")
    if d is None:
        return head + _missing("python -m benchmarks.predict_chunk")
    from benchmarks.predict_chunk import render_markdown
    from skdgm.base import PREDICT_CHUNK

    m = d["machine"]
    ref = d["reference_chunk"]
    ours = [r[f"median_vs_chunk_{ref}"] for r in d["rows"] if r["chunk"] == PREDICT_CHUNK]
    verdict = ("" if not ours or PREDICT_CHUNK == ref else
               f" ({'faster' if max(ours) < 1 else 'not faster'} than {ref} in "
               f"{sum(x < 1 for x in ours)} of the {len(ours)} timings here)")
    return (head + "Prediction runs in row chunks of `PREDICT_CHUNK // n_draws` rows, every "
            "chunk carrying all its chains (`skdgm/base.py`).  The chunk sizes below were "
            "timed interleaved within every repeat (median of the repeats; in brackets the "
            f"change against {d['reference_chunk']} rows per pass), on the MNIST-size networks "
            f"of the speed benchmark, T = 10 Gibbs steps, 10 draws for the BALD sampling.  "
            f"The package's CPU value now: {PREDICT_CHUNK}{verdict}.\n\n"
            f"Command `{d['command']}` · {_machine(m)}, {m['torch_threads']} torch threads · "
            "`results/predict_chunk_cpu/predict_chunk.json`\n\n" + render_markdown(d) + "\n"
            + _predict_chunk_other(ours) + _predict_chunk_before() + _predict_chunk_cuda())


def _predict_chunk_other(main_ratios: list[float]) -> str:
    """The same timing on the second development CPU, where the best chunk differs;
    ``main_ratios``: the package's chunk against the reference in the main timing."""
    x = _load("predict_chunk_cpu_xeon/predict_chunk.json")
    if x is None:
        return ""
    from benchmarks.predict_chunk import render_markdown
    from skdgm.base import PREDICT_CHUNK

    ref = x["reference_chunk"]
    ours = [r[f"median_vs_chunk_{ref}"] for r in x["rows"] if r["chunk"] == PREDICT_CHUNK]
    fastest = _fastest_chunks(x)
    saved = (f"change the times by {min(main_ratios) - 1:+.0%} to {max(main_ratios) - 1:+.0%}"
             if main_ratios else "were not timed")
    return ("The same command on the Intel Xeon development machine: fastest at "
            + " / ".join(map(str, fastest)) + " rows per pass; the package's "
            f"{PREDICT_CHUNK} rows cost {min(ours) - 1:+.0%} to {max(ours) - 1:+.0%} against "
            f"{ref} there, while on the AMD machine above they {saved}, so the value stays.  "
            "The best pass length depends on the CPU.  "
            f"{_machine(x['machine'])}, `results/predict_chunk_cpu_xeon/predict_chunk.json`:"
            "\n\n" + render_markdown(x) + "\n")


def _fastest_chunks(d: dict) -> list[int]:
    """The pass lengths that were fastest (median) for some model and call of a
    ``predict_chunk`` run."""
    best: dict[tuple, tuple] = {}
    for r in d["rows"]:
        key = (r["model"], r["call"])
        if key not in best or r["median_s"] < best[key][1]:
            best[key] = (r["chunk"], r["median_s"])
    return sorted({c for c, _ in best.values()})


def _predict_chunk_cuda() -> str:
    """The GPU's pass length, ``PREDICT_CHUNK_CUDA``, timed on a lent GPU."""
    d = _load("predict_chunk_cuda/predict_chunk.json")
    if d is None:
        return ""
    from benchmarks.predict_chunk import render_markdown
    from skdgm.base import PREDICT_CHUNK_CUDA

    fastest = _fastest_chunks(d)
    return ("#### On a GPU (`PREDICT_CHUNK_CUDA`)\n\n"
            "The same script with `--device cuda`, where the constant varied is the GPU's "
            "(larger passes, fewer kernel launches): fastest at "
            + " / ".join(f"{c:,}" for c in fastest) + " rows × draws per pass"
            + (", the largest timed" if fastest == [max(r["chunk"] for r in d["rows"])] else "")
            + f"; the package's GPU value is now {PREDICT_CHUNK_CUDA:,} (it was 4,096, "
            "never timed).  A pass of 65,536 rows at width 500 holds activations of about "
            "130 MB each.  "
            f"Command `{d['command']}` · {_machine(d['machine'])} · "
            "`results/predict_chunk_cuda/predict_chunk.json`:\n\n" + render_markdown(d) + "\n")


def _predict_chunk_before() -> str:
    b = _load("predict_chunk_cpu/predict_chunk_before.json")
    if b is None:
        return ""
    from benchmarks.predict_chunk import render_markdown

    return ("Before SSLAPD's weight draws were shared by the chunks of a `predict_proba` call "
            "(each chunk drew its own weights for every Gibbs step, so small chunks meant "
            "more weight sampling; the same command on commit 2798581, "
            f"{_machine(b['machine'])}, `results/predict_chunk_cpu/predict_chunk_before.json`)"
            ":\n\n" + render_markdown(b) + "\n")


def batch_bald_speed() -> str:
    head = "## BatchBALD query time (greedy selection, before and after the torch rewrite)\n\n"
    after = _load("batch_bald_speed/batch_bald_speed.json")
    before = _load("batch_bald_speed/batch_bald_speed_before.json")
    if after is None:
        return head + _missing("python -m benchmarks.batch_bald_speed")
    a = after["argv"]
    lines = [head, f"Command `python -m benchmarks.batch_bald_speed --repeats {a['repeats']}` "
             f"(after) and the same script on the NumPy code of the commit before the rewrite "
             f"(`--name batch_bald_speed_before`) · {_machine(after['machine'])}, "
             f"{after['machine']['torch_threads']} torch threads, 1-min load average at the "
             f"start {after['machine']['load_average_at_start'][0]}"
             + ("" if before is None else
                f" (before: {before['machine']['load_average_at_start'][0]})")
             + ".  Random Dirichlet MC probabilities, one query of "
             f"{a['n_instances']} picks, default `n_configurations=10000` (exact enumeration, "
             "then Monte-Carlo); the selected indices of the two codes are compared.\n",
             "| device | draws × pool × classes | seconds (after) | seconds (before, NumPy) | "
             "speed-up | same indices | max score difference |",
             "|---|---|---|---|---|---|---|"]
    lines += [_batch_bald_row(r) for r in after["rows"]]
    gpu = _load("batch_bald_speed/batch_bald_speed_cuda.json")
    if gpu is not None:
        g = gpu["argv"]
        lines += ["", f"On a GPU (command `python -m benchmarks.batch_bald_speed --devices cuda "
                  f"--pools {' '.join(map(str, g['pools']))} --repeats {g['repeats']} --name "
                  f"{g['name']}`, the NumPy 'before' file copied beside it for the comparison) · "
                  f"{_machine(gpu['machine'])}; the same Dirichlet probabilities, the joint "
                  "entropies in torch on the GPU:\n",
                  "| device | draws × pool × classes | seconds | seconds (the NumPy code on the "
                  "2-core CPU above) | speed-up | same indices | max score difference |",
                  "|---|---|---|---|---|---|---|"]
        lines += [_batch_bald_row(r) for r in gpu["rows"]]
    return "\n".join(lines) + "\n\n"


def _batch_bald_row(r: dict) -> str:
    """A table row of one timed BatchBALD query, against the NumPy code where it was run."""
    head = (f"| {r['device']} | {r['n_draws']} × {r['pool']:,} × {r['n_classes']} | "
            f"{r['seconds']:.2f} |")
    if "seconds_before" not in r:
        return head + " – | – | – | – |"
    digits = 1 if r["speedup"] < 100 else 0
    return (head + f" {r['seconds_before']:.2f} | {r['speedup']:.{digits}f}× | "
            f"{'yes' if r['same_indices_as_before'] else 'no'} | "
            f"{r['max_abs_score_diff_vs_before']:.1e} |")


def _cuda_chunk_gain(old_chunk: int) -> str:
    """", 2.3-4.1x as fast on the <GPU> (...)": the timed gain of the package's GPU pass length
    over ``old_chunk`` rows per pass, from ``predict_chunk_cuda``."""
    from skdgm.base import PREDICT_CHUNK_CUDA

    d = _load("predict_chunk_cuda/predict_chunk.json")
    if d is None:
        return ""
    median = {(r["model"], r["call"], r["chunk"]): r["median_s"] for r in d["rows"]}
    gains = [median[(m, c, old_chunk)] / t for (m, c, k), t in median.items()
             if k == PREDICT_CHUNK_CUDA and (m, c, old_chunk) in median]
    if not gains:
        return ""
    return (f", {min(gains):.1f}-{max(gains):.1f}x as fast on the "
            f"{d['machine'].get('gpu', 'GPU')} (section on rows per prediction pass)")


def _gpu_host_note(runs: list[dict]) -> str:
    """How the plain-PyTorch step times of the GPU runs compare: a host-bound step shows the
    host CPU, not the card."""
    if len(runs) < 2:
        return ""
    plain = [{m: r["training"][m]["no_bn"]["plain"]["step_s"] for m in ("SSLPE", "SSLAPD")}
             for r in runs]
    ratios = [plain[1][m] / plain[0][m] for m in plain[0]]
    names = [r["meta"].get("device_name", "?") for r in runs]
    span = (f"{min(ratios):.2f}" if f"{min(ratios):.2f}" == f"{max(ratios):.2f}"
            else f"{min(ratios):.2f}-{max(ratios):.2f}")
    return (f"Two GPU runs follow.  The minimal plain-PyTorch loop (no skdgm code) took "
            f"{span} times as long per step (SSLPE and SSLAPD) on the {names[1]} "
            f"machine as on the {names[0]} machine, at the same matmul rate: at these sizes a "
            "step is bound by the host (Python and kernel launches), so the step times "
            "measure the machine's CPU as much as its card.\n\n")


# GPU speed runs that a later run of the same command on the same card replaces in the
# report (their files stay, and the later run's note compares its predictions with them)
SUPERSEDED_GPU_RUNS = {"speed_cuda_h100": "speed_cuda_h100_run2"}


def _superseded_note(name: str) -> str:
    """The prediction times of the run that ``name`` replaces, beside its own."""
    old_name = next((k for k, v in SUPERSEDED_GPU_RUNS.items() if v == name), None)
    old, new = _load(f"{old_name}/speed.json"), _load(f"{name}/speed.json")
    if old is None or new is None:
        return ""
    chunk = old["meta"].get("predict_chunk") or 4096
    pairs = []
    for model in ("SSLPE", "SSLAPD"):
        o, n = old["prediction"][model], new["prediction"][model]
        pairs.append(f"{model} `predict_proba` on {n['predict_proba']['rows']:,} rows "
                     f"{o['predict_proba']['seconds']:.3f} → {n['predict_proba']['seconds']:.3f} s")
        pairs.append(f"{model} BALD sampling over {n['pool_60000']['pool_rows']:,} rows "
                     f"{o['pool_60000']['predict_proba_samples_s']:.2f} → "
                     f"{n['pool_60000']['predict_proba_samples_s']:.2f} s")
    return (f"  It replaces the run of {old['meta']['date']} on the same kind of card "
            f"(`results/{old_name}`, predictions then at {chunk:,} rows × draws per pass): "
            + "; ".join(pairs) + ".")


def _speed_gpu_note(res: dict, name: str = "") -> str:
    """What the GPU numbers mean, from the run itself, and the CUDA tests run beside them."""
    from skdgm.base import PREDICT_CHUNK_CUDA

    tr, mm = res["training"], res["matmul"]
    steps = [tr[m]["no_bn"] for m in ("SSLPE", "SSLAPD")]
    shares = [st["skdgm_rate"]["fraction_of_matmul"] for st in steps]
    pools = res["prediction"]["SSLAPD"]
    bb = [v for v in pools.values() if isinstance(v, dict) and "batch_bald_s" in v]
    note = (f"On the GPU these networks are far too small to load it: a training step takes "
            f"{1e3 * steps[0]['skdgm']['step_s']:.1f} ms (SSLPE) and "
            f"{1e3 * steps[1]['skdgm']['step_s']:.1f} ms (SSLAPD) against "
            f"{1e3 * steps[0]['plain']['step_s']:.1f} / {1e3 * steps[1]['plain']['step_s']:.1f}"
            f" ms for the plain-PyTorch loop, i.e. {shares[0]:.0%} / {shares[1]:.0%} of the "
            f"{mm['reference_gflops_per_s']:.0f} GFLOP/s fp32 matmul rate: the time goes to "
            "kernel launches and Python, so the matmul-share targets (set for the CPU) do not "
            "apply here, and the skdgm / plain ratio measures per-step host overhead.")
    if bb and "--batchbald-max-pool" in res["command"]:
        note += (f"  In this run BatchBALD still ran in NumPy on the host: its query over "
                 f"{bb[0]['pool_rows']:,} rows took {bb[0]['batch_bald_s']:.0f} s (the "
                 "60,000-row pool was left out with `--batchbald-max-pool`); its joint "
                 "entropies now run in torch on the estimator's device (the H100 run and the "
                 "BatchBALD section below).")
    elif bb:
        note += ("  BatchBALD (joint entropies in torch on the GPU) on top of the Monte-Carlo "
                 "sampling: " + ", ".join(f"{b['batch_bald_s']:.2f} s over {b['pool_rows']:,} "
                                          "rows" for b in bb) + ".")
    chunk = res["meta"].get("predict_chunk")
    now = ("" if chunk == PREDICT_CHUNK_CUDA else
           f" (the value then); the package now uses {PREDICT_CHUNK_CUDA:,}"
           + _cuda_chunk_gain(chunk or 4096))
    note += ("  Predictions ran with " + (f"{chunk:,}" if chunk else "4,096")
             + " rows × draws per pass" + now + ".")
    note += _superseded_note(name)
    tests = sorted((RESULTS / "cuda_tests").glob("*.txt"),
                   key=lambda t: int(re.search(r"run(\d+)", t.name).group(1)))
    card = res["meta"].get("device_name", "")
    mine = [t for t in tests if t.name.split("_")[0].upper() in card.replace(" ", "").upper()]
    if mine:
        last = _pytest_summary(mine[-1])
        newest = mine[-1] == tests[-1]
        note += (f"  `pytest tests/test_cuda.py` on the same kind of machine: {last} "
                 f"(`{mine[-1].relative_to(RESULTS.parent)}`"
                 + ("" if newest else "; the file as it was then: tests added to it since "
                                      "ran in the later run") + ").")
    return note + "\n\n"


def _pytest_summary(path: Path) -> str:
    """The last line of a saved pytest run ("19 passed, 3 warnings in 81.61s")."""
    lines = [ln.strip("= ") for ln in path.read_text().splitlines()]
    return next(ln for ln in reversed(lines) if " passed" in ln or " failed" in ln)


# A change to the timed code tried and dropped (2026-12-06: commit 016836a sent a weight set
# with a draw dimension of one, SSLAPD's Gibbs steps, through the 2-d matmul kernels instead
# of ``baddbmm``; reverted in fa77d08), timed in runs interleaved on one machine: ``<before>``
# (the code as it is, so current-code runs), ``<after>`` (the dropped variant),
# ``<before>_run2``, ``<after>_run2``, ...
SPEED_CHANGE = {"before": "speed_cpu_xeon_before_single_draw",
                "after": "speed_cpu_xeon_single_draw", "commit": "016836a",
                "revert": "fa77d08"}


def _speed_runs(prefix: str) -> list[Path]:
    """The CPU speed runs whose folder is ``prefix`` or ``prefix_run<k>``, oldest first."""
    return sorted((p for p in RESULTS.glob(f"{prefix}*/speed.json")
                   if re.fullmatch(re.escape(prefix) + r"(_run\d+)?", p.parent.name)),
                  key=lambda p: json.loads(p.read_text())["meta"].get("date", ""))


def _current_cpu_speed_runs() -> list[Path]:
    """The CPU speed runs of the current code, oldest first: every ``speed_cpu*`` run but the
    'before' of the last kept change (``speed_cpu_before``) and the runs of the dropped
    variant of ``SPEED_CHANGE``."""
    dropped = set(_speed_runs(SPEED_CHANGE["after"]))
    return sorted((p for p in RESULTS.glob("speed_cpu*/speed.json")
                   if p.parent.name != "speed_cpu_before" and p not in dropped),
                  key=lambda p: json.loads(p.read_text())["meta"].get("date", ""))


def _cpu_names(runs: list[dict]) -> str:
    """The CPUs of some speed runs, in words ("the AMD EPYC and the Intel Xeon")."""
    names = sorted({"AMD EPYC" if "AMD" in r["meta"].get("cpu_model", "") else "Intel Xeon"
                    for r in runs})
    return " and ".join(f"the {n}" for n in names)


def _speed_change_table() -> str:
    """The change tried and dropped (``SPEED_CHANGE``), timed against the code as it is in
    interleaved runs: Gibbs ``predict_proba`` times, SSLAPD's (the changed path) and SSLPE's
    (no weight draws, an unchanged path: a control for the machine's drift)."""
    before = {p.parent.name[len(SPEED_CHANGE["before"]):]: json.loads(p.read_text())
              for p in _speed_runs(SPEED_CHANGE["before"])}
    after = {p.parent.name[len(SPEED_CHANGE["after"]):]: json.loads(p.read_text())
             for p in _speed_runs(SPEED_CHANGE["after"])}
    pairs = [(k, before[k], after[k]) for k in sorted(before) if k in after]
    if not pairs:
        return ""

    def cell(d: dict, model: str) -> str:
        r = d["prediction"][model]["predict_proba"]
        return f"{r['seconds']:.2f} ({r['fraction_of_matmul']:.0%})"

    def ratio(b: dict, a: dict, model: str) -> float:
        return (a["prediction"][model]["predict_proba"]["seconds"]
                / b["prediction"][model]["predict_proba"]["seconds"])

    def own(d: dict) -> float:
        return (d["prediction"]["SSLAPD"]["predict_proba"]["seconds"]
                / d["prediction"]["SSLPE"]["predict_proba"]["seconds"])

    lines = ["### Tried and dropped: one weight draw per Gibbs step through the 2-d matmul "
             "instead of `baddbmm`\n",
             "SSLAPD's Gibbs `predict_proba` draws one set of classifier weights per step, "
             "kept with a draw dimension of one, so its products go through `baddbmm` with a "
             "batch of one; in the Intel Xeon profile (below) that ran its 1024x784·784x500 "
             "product more slowly than SSLPE's `addmm` ran the same shape (the lists of "
             f"matmuls there).  Commit {SPEED_CHANGE['commit']} sent a single draw through "
             "the 2-d kernels instead.  The same command (`python -m benchmarks.speed "
             "--quick --threads 2`) run alternately on the code without it (`"
             + SPEED_CHANGE["before"] + "*`, the code as it is) and with it (`"
             + SPEED_CHANGE["after"] + "*`), "
             f"{_cpu_names([d for _, b, a in pairs for d in (b, a)])}, "
             f"{pairs[0][1]['meta'].get('date', '')[:10]}; seconds for 10,000 rows with "
             "T = 10 Gibbs steps (in brackets the share of that run's 2048² matmul rate).  "
             "SSLPE draws no weights: its path did not change, and its columns show how much "
             "the machine moved between the runs; the last two columns divide SSLAPD's time "
             "by SSLPE's in the same run, which takes most of that drift out.\n",
             "| pair | SSLAPD without | SSLAPD with | with ÷ without | SSLPE without | "
             "SSLPE with | with ÷ without | SSLAPD ÷ SSLPE without | with |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k, b, a in pairs:
        lines.append(f"| {k.lstrip('_') or 'run1'} | {cell(b, 'SSLAPD')} | "
                     f"{cell(a, 'SSLAPD')} | {ratio(b, a, 'SSLAPD'):.2f} | "
                     f"{cell(b, 'SSLPE')} | {cell(a, 'SSLPE')} | {ratio(b, a, 'SSLPE'):.2f} | "
                     f"{own(b):.2f} | {own(a):.2f} |")
    med = [float(np.median([ratio(b, a, m) for _, b, a in pairs])) for m in ("SSLAPD", "SSLPE")]
    lines.append(f"\nMedians over the {len(pairs)} pairs: with ÷ without, SSLAPD {med[0]:.2f} "
                 f"and SSLPE {med[1]:.2f}; SSLAPD ÷ SSLPE "
                 f"{float(np.median([own(b) for _, b, _ in pairs])):.2f} without and "
                 f"{float(np.median([own(a) for _, _, a in pairs])):.2f} with.  Reverted "
                 f"(commit {SPEED_CHANGE['revert']}): no gain stood out from the machine's "
                 "drift.")
    return "\n".join(lines) + "\n\n"


def _bald_pool(run: dict) -> dict:
    """A speed run's SSLAPD BALD-query measurements (its ``pool_<rows>`` entry)."""
    return next(v for k, v in run["prediction"]["SSLAPD"].items() if k.startswith("pool_"))


def _speed_spread(paths: list[Path]) -> str:
    """One row per run of the current code: the matmul references and the shares the targets
    are judged on, to show how far this machine moves from run to run."""
    from benchmarks.speed import TARGET_FRACTION, TARGET_RATIO
    if len(paths) < 2:
        return ""
    runs = [json.loads(p.read_text()) for p in paths]
    machines = (" (the CPU model in the second column; the development machine changed "
                "between an AMD EPYC and an Intel Xeon from session to session)"
                if " and " in _cpu_names(runs) else f", {_cpu_names(runs)}")
    lines = ["### Run-to-run spread on the 2-core CPU machines (current code)\n",
             "The same command (`python -m benchmarks.speed --quick --threads 2`) run "
             f"{len(paths)} times on shared 2-core machines{machines}; each share is "
             "measured against "
             "the matmul rates of its own run (2048² / median at the MNIST layer shapes / a "
             "2048² probe right before and after that timing, in runs that have the probes).  "
             f"Target: at least {TARGET_FRACTION:.0%} (the plain-PyTorch ratio, also per "
             f"run, must stay at most {TARGET_RATIO}).\n",
             "| run | CPU | date | matmul 2048² / layer shapes (GFLOP/s) | SSLPE | SSLPE+BN | "
             "SSLAPD | SSLAPD+BN | worst skdgm/plain | predict_proba SSLPE / SSLAPD | "
             "BALD sampling |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def pair(d: dict) -> str:
        adjacent = d.get("fraction_of_adjacent_matmul")
        return (f"{d['fraction_of_matmul']:.0%} / {d['fraction_of_layer_shapes']:.0%}"
                + ("" if adjacent is None else f" / {adjacent:.0%}"))

    for p in paths:
        d = json.loads(p.read_text())
        mm, s, pred = d["matmul"], d["summary"], d["prediction"]
        pool = _bald_pool(d)
        worst = max(s[k]["ratio"] for k in ("SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn",
                                             "SSLAPD_bn"))
        lines.append(
            f"| `{p.parent.name}` | {d['meta'].get('cpu_model', '')} | "
            f"{d['meta'].get('date', '')} | "
            f"{mm['reference_gflops_per_s']:.0f} / {mm['layer_shapes_median_gflops_per_s']:.0f} | "
            + " | ".join(pair(s[k]) for k in ("SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn",
                                              "SSLAPD_bn"))
            + f" | {worst:.2f} | {pair(pred['SSLPE']['predict_proba'])}, "
            f"{pair(pred['SSLAPD']['predict_proba'])} | {pair(pool)} |")
    return "\n".join(lines) + "\n\n"


def mnist() -> str:
    from benchmarks.mnist import command_line, thesis_log_likelihood

    head = "## MNIST, thesis Tables 5.3/5.4\n\n"
    files = sorted(RESULTS.glob("mnist*/mnist.json"))
    validation = [p for p in files if json.loads(p.read_text())["args"].get("validation")]
    files = [p for p in files if p not in validation]
    if not files:
        return head + _missing("python -m benchmarks.mnist --quick")
    lines = [head, "Standard 60,000/10,000 split; *k* labels per class drawn by a seeded sampler "
             "(split *s* = seed *s*), the other training rows unlabeled; a Bernoulli "
             "likelihood over the pixels (grey levels or binarised, as each run says), "
             "pixels with training std < 0.1 dropped (444 of 784 inputs kept) "
             "by a `VarianceThreshold` in the same `Pipeline`; nets 500-500, "
             "latent 100; hyper-parameters `benchmarks/configs/mnist/<model>.json` (the "
             "thesis code's MNIST settings; from 2026-11-27 SSLPE trains with batch norm at "
             "20 labels per class (under `by_labels`) and SSLAPD at lr 1e-3 instead of 5e-4 "
             "(every label count), and from 2026-11-28 SSLPE at 20 labels per class also "
             "with the learning rate decayed by 0.96 per epoch (`lr_decay`), the settings the "
             "validation runs below chose, until on 2026-11-29 64-epoch validation fits "
             "returned SSLPE at 20 labels per class to the reference settings (no batch norm, "
             "no decay); each run's table says which fits had batch norm, "
             "and a fit at lr 1e-3 or with `lr_decay` counts as its own variant).  Accuracy in % "
             "on the 10,000 test rows; log p(y|x) "
             "is the mean test log-probability of the true label in **nats per row**.  Table "
             "5.4 prints unsigned numbers with no unit; they fall as accuracy rises and match "
             "our quantity in size when read as -1000 × log p(y|x) (e.g. DNN, 20 labels: 990 → "
             "-0.990 nats), so that is how they are shown beside ours — our reading, not the "
             "thesis's statement.  The quick profile trains 8 epochs where the thesis "
             "trained 100-150, so it is expected to fall short; its run of 2026-11-25 (AMD EPYC) "
             "shared the two cores with the batch-norm benchmark and the moons search (the "
             "per-fit times below include that contention), its run of 2026-11-26 on the Intel "
             "Xeon (`mnist_xeon`, on the current code) had the machine to itself.  The GPU runs "
             "(`--device cuda`, an H200 lent for "
             "15 minutes on 2026-11-26) train 32 epochs (the first run's choice, the most that "
             "fitted the lease by that run's own measured seconds per epoch, made before any "
             "accuracy was seen; the second run took the same), on one split, the fits in "
             "parallel on the one GPU; the data file was a copy of `../shared/data/mnist.npz` "
             "carried to that machine.  The run `mnist_cuda_48` (an H100 lent on 2026-11-27) "
             "trained SSLPE and SSLAPD for 48 epochs at 100 labels per class, to see how much "
             "of the gap the epochs explain (48: the most that fitted what was left of that "
             "lease, chosen before any accuracy was seen).  The run `mnist_cuda_10_300` (an "
             "H100 lent for 15 minutes in a later session of 2026-11-27) trained all four "
             "models at 10 and 300 labels per class for 32 epochs, the H200 runs' budget, so "
             "that every label setting has a GPU row (its first 76 s shared the machine with "
             "`tests/test_cuda.py`).  The thesis prints no number for 10 labels per class: it "
             "reports (section 5.4.1) that M2 beat Kingma et al.'s published accuracy there, "
             "while neither SSLPE nor SSLAPD reached the desired level.  The run "
             "`mnist_cuda_20_44` (the same lease, after it) trained SSLPE and SSLAPD at 20 "
             "labels per class for 44 epochs, the most that fitted the rest of that lease "
             "(chosen before any accuracy was seen), to see whether epochs explain the gap "
             "there too; the table after the runs puts every run's accuracy side by side by "
             "epochs.  Until 2026-11-27 every run fed the grey levels to the Bernoulli "
             "likelihood as they are, where the reference code binarised the pixels afresh in "
             "every batch; the configs now do that too (`skdgm.StochasticBinarization`), and "
             "`mnist_xeon_binarised` (the quick profile on the Intel Xeon, the machine to "
             "itself) is the first run with it: the last table sets it beside `mnist_xeon`, "
             "the same command, split and seeds on grey levels.  The runs "
             "`mnist_cuda_binarised` (20 and 100 labels per class) and "
             "`mnist_cuda_binarised_60_300` (an H100 lent for 15 minutes in a third session of "
             "2026-11-27, one after the other) trained M2, SSLPE and SSLAPD with binarised "
             "pixels for 32 epochs, the budget of the grey-level GPU runs, so that every "
             "label setting the thesis reports has a binarised GPU row beside a grey one "
             "(the first run's 76 s shared the machine with `tests/test_cuda.py`).  The run "
             "`mnist_xeon_predictors` repeated the SSLPE and SSLAPD fits of "
             "`mnist_xeon_binarised` on the same machine (same seeds) to score them under "
             "other predictive rules as well (the last table); `mnist_cuda_predictors_20` "
             "(the last four minutes of that H100 lease) did the same for SSLPE and SSLAPD "
             "at 20 labels per class with binarised pixels, 24 epochs (what fitted).  The "
             "run `mnist_xeon_sslpe_bn20` (Intel Xeon, the machine shared with one validation "
             "fit) trained SSLPE at 20 labels per class with batch norm, the setting that led "
             "the validation runs there (below), to see whether the lead holds on the test "
             "set; its counterpart without batch norm in the batch-norm table is "
             "`mnist_cuda_predictors_20` (same split, seeds and epochs, on the H100).  The "
             "runs `mnist_xeon_sslpe20_split1` (the config, with batch norm at 20 labels per "
             "class since it was chosen) and `mnist_xeon_sslpe20_split1_nobn` (batch norm "
             "off by `--set`) repeat that comparison on a second label draw (split 1), both "
             "on the Xeon, side by side.  After SSLAPD's config took lr 1e-3 (chosen on "
             "validation rows, below), `mnist_epyc_sslapd20_split1` (the config) and "
             "`mnist_epyc_sslapd20_split1_lr5e4` (the reference lr by `--set`) compared the "
             "two on the test set on split 1, side by side on the AMD EPYC (their output "
             "folders were first named after the Xeon by mistake and renamed, with the "
             "`--out` they record; nothing else in them was edited); "
             "`mnist_epyc_sslapd20_lr1e3` (split 0, 24 epochs) and "
             "`mnist_epyc_sslapd100_lr1e3` (100 labels per class, 32 epochs; the other fit "
             "ran beside it for most of its time) set lr 1e-3 beside the H100 runs at 5e-4 "
             "with the same split, seeds and epochs (`mnist_cuda_predictors_20`, "
             "`mnist_cuda_binarised`).  `mnist_epyc_current` (2026-11-27 evening, the AMD "
             "EPYC, nothing else running) is the plain `--quick` command on the settings of "
             "that day (SSLPE with batch norm at 20 labels per class, SSLAPD at lr 1e-3): "
             "32 minutes for the whole run.  `mnist_cuda_current` (an H100 lent for 15 "
             "minutes in the nineteenth session, 2026-11-27) trained SSLPE and SSLAPD on "
             "those same settings at 20/60/100/300 labels per class for 32 epochs, the "
             "budget and split of `mnist_cuda_binarised` and `mnist_cuda_binarised_60_300` "
             "(the earlier settings), all eight fits in parallel; a test run, fixed before "
             "it ran to report and change no config.  `mnist_cuda_current_20_splits1_4` (the "
             "rest of that lease) trained the same two models at 20 labels per class on label "
             "draws 1-4, so that with split 0 there are five draws like the thesis's; the "
             "lease's time ran out 355 s in (the command's own `timeout`), with SSLAPD's split "
             "2 in its last epoch: its results file holds the 7 fits that had finished, as "
             "the run wrote it.  `mnist_epyc_sslapd20_split2` (the AMD EPYC, one fit, the "
             "other core idle but for short checks) is that missing fit: SSLAPD, 20 labels "
             "per class, split 2, 32 epochs, the same settings, so that SSLAPD too has five "
             "draws; a CPU fit is not the fit the GPU would have made with the same seed "
             "(other kernels and random streams), only another fit on the same labels.  "
             "`mnist_epyc_sslpe_quick_lrdecay` (2026-11-28, the AMD EPYC, nothing else "
             "running) is the plain `--quick` command for SSLPE alone, after its config took "
             "`lr_decay` 0.96 at 20 labels per class (validation runs below): the quick "
             "profile's SSLPE fits on the new settings (100 labels per class unchanged, "
             "rerun with it); a test run, no choice rests on it.  "
             "`mnist_epyc_sslpe_quick_reference` (2026-11-29, the AMD EPYC, nothing else "
             "running) is the same command after the config returned SSLPE at 20 labels per "
             "class to the reference settings (validation runs below, rule 13).  "
             "`mnist_epyc_sslpe20_lrdecay_24` and `mnist_epyc_sslpe20_nodecay_24` (the same "
             "session, side by side on the AMD EPYC) set the new SSLPE config beside the "
             "previous one (`--set` `lr_decay` 1.0) on the test set at 20 labels per class, "
             "split 0, 24 epochs (the validation runs' length); fixed beforehand as a test "
             "run that reports and changes no config.  "
             "`mnist_epyc_sslpe20_lrdecay_24_splits12` and "
             "`mnist_epyc_sslpe20_lrdecay_24_splits34` (2026-11-28, each pair of fits side "
             "by side on the AMD EPYC) fit the new SSLPE config at 20 labels per class on "
             "splits 1-4 for the same 24 epochs, so that with split 0 it has five label "
             "draws (At a glance, *label draws*), to set beside the five 32-epoch GPU draws "
             "of the previous setting (`mnist_cuda_current`, "
             "`mnist_cuda_current_20_splits1_4`); test runs, fixed beforehand to report and "
             "change no config.  Split 2 is the hard draw on both settings.  "
             "`mnist_epyc_sslapd20_100` (2026-11-29, the AMD EPYC, nothing else running, two "
             "torch threads) trained SSLAPD on its config at 20 labels per class, split 0, for "
             "100 epochs (the config's `--full` length, the top of the reference code's "
             "50-100), with the test rows scored every 4 epochs (`--curve-every 4`: the "
             "learning curve after the table by epochs), to see how much of the gap at 20 "
             "labels per class the epochs explain; a test run, fixed beforehand to report and "
             "change no config.  Two threads sum in another order than one (a different fit "
             "from the same seeds), so its curve's 24- and 32-epoch points are other fits than "
             "`mnist_epyc_sslapd20_lr1e3` and `mnist_cuda_current`, not repeats of them.  "
             "`mnist_epyc_sslapd20_64_split1` (the same session and machine) is the same "
             "command on split 1 (a second label draw) for 64 epochs, fixed after split 0's "
             "result and before its own run: a first attempt at 100 epochs was stopped at "
             "epoch 11, before any score of it was computed, because it could not end within "
             "the session; 64 was chosen by the time left, not by any accuracy."
             + ("  `mnist_xeon_sslapd20_100_split1` (2026-12-06, the Intel Xeon, two torch "
                "threads, beside nothing but short tests) is the 100-epoch command on split 1 "
                "(`--first-split 1`), the second label draw at the config's length; started "
                "at the session's beginning (a first start under an AMD EPYC name, the "
                "machine of the earlier runs, was stopped about a minute in, before any "
                "score, and started again under this one), a test run fixed beforehand to "
                "report and change no config."
                if _load("mnist_xeon_sslapd20_100_split1/mnist.json") else "")
             + ("  `mnist_xeon_sslapd20_100_split2` (2026-12-06, the Intel Xeon, the next "
                "session, two torch threads) is the same command on split 2 "
                "(`--first-split 2`), the third label draw at the config's length and the "
                "draw that is hard for every setting above; started at the session's "
                "beginning beside nothing but short tests and edits, a test run fixed beforehand "
                "to report and change no config."
                if _load("mnist_xeon_sslapd20_100_split2/mnist.json") else "")
             + ("  `mnist_epyc_sslapd20_100_split3` (2026-12-07, the AMD EPYC, two torch "
                "threads) is the same command on split 3 (`--first-split 3`), the fourth label "
                "draw at the config's length; started at the session's beginning beside "
                "nothing but short tests and edits, a test run fixed beforehand to report and "
                "change no config.  Two earlier starts were stopped before they could end and "
                "are not reported: one at epoch 10 (that session's machine ran about 60 s per "
                "epoch, too slow to end within it), one after 20 minutes beside a moons run, "
                "by a slip in that session's scripts."
                if _load("mnist_epyc_sslapd20_100_split3/mnist.json") else "")
             + ("  `mnist_epyc_sslapd20_100_split4` (2026-12-07, the AMD EPYC, the next "
                "session, two torch threads) is the same command on split 4 "
                "(`--first-split 4`), the fifth label draw at the config's length; started at "
                "the session's beginning beside nothing but short tests and edits, a test run "
                "fixed beforehand to report and change no config."
                if _load("mnist_epyc_sslapd20_100_split4/mnist.json") else "")
             + ("  `mnist_epyc_sslapd100_100` (2026-12-07, the AMD EPYC, the next session, "
                "two torch threads) is the same command at 100 labels per class "
                "(`--labels 100`, split 0), where the longest fit had been the GPU's 32 "
                "epochs: does the config's length close the gap there too?  Started at the "
                "session's beginning beside nothing but short tests and edits, a test run "
                "fixed beforehand to report and change no config."
                if _load("mnist_epyc_sslapd100_100/mnist.json") else "")
             + ("  `mnist_epyc_sslapd60_100` (the same session and machine, started when "
                "`mnist_epyc_sslapd100_100` had ended, beside nothing but short tests and "
                "edits) is the same command at 60 labels per class (`--labels 60`, split 0), "
                "the other label count whose longest fit had been the GPU's 32 epochs, fixed "
                "before either result; a test run to report and change no config."
                if _load("mnist_epyc_sslapd60_100/mnist.json") else "")
             + ("  `mnist_epyc_sslapd300_100` (2026-12-07, the AMD EPYC, the next session, "
                "two torch threads, started at the session's beginning beside nothing but "
                "edits and, in its first minutes, one 3-minute test file) is the same command "
                "at 300 labels per class "
                "(`--labels 300`, split 0), the last label count whose longest fit had been "
                "the GPU's 32 epochs; a test run fixed beforehand to report and change no "
                "config."
                if _load("mnist_epyc_sslapd300_100/mnist.json") else "")
             + ("  `mnist_epyc_m260_100` (the same session and machine, started when "
                "`mnist_epyc_sslapd300_100` had ended, beside nothing but short tests and "
                "edits) is M2 on its config's 100 epochs, the reference "
                "code's length, at 60 labels per class (`--models M2 --labels 60 --epochs "
                "100`, split 0), where M2's longest fit had been the H100's 32 epochs; a test "
                "run fixed beforehand to report and change no config."
                if _load("mnist_epyc_m260_100/mnist.json") else "")
             + ("  `mnist_epyc_m2100_100` (2026-12-07, the AMD EPYC, a later session, started "
                "when `mnist_epyc_sslpe300_150` had ended, beside the clean-clone CI run in its "
                "first minutes and edits) is the same M2 command at 100 labels per class "
                "(`--labels 100`), where M2's 32-epoch fit left its largest gap; a test run "
                "fixed beforehand to report and change no config."
                if _load("mnist_epyc_m2100_100/mnist.json") else "")
             + ("  `mnist_epyc_m220_100` (2026-12-07, the AMD EPYC, a later session, started "
                "at the session's beginning beside edits and about 25 s of tests) is the same "
                "M2 command at 20 labels per class (`--labels 20`), whose 32-epoch GPU fit had "
                "left a gap of -0.38; a test run fixed beforehand to report and change no config."
                if _load("mnist_epyc_m220_100/mnist.json") else "")
             + ("  `mnist_epyc_m2300_100` (2026-12-07, the AMD EPYC, the same session, started "
                "when `mnist_epyc_m220_100` had ended, beside edits) is the same M2 command "
                "at 300 labels per class (`--labels 300`), whose 32-epoch GPU fit had left a "
                "gap of -0.21; a test run fixed beforehand to report and change no config."
                if _load("mnist_epyc_m2300_100/mnist.json") else "")
             + ("  `mnist_epyc_m220_100_split1` (2026-12-08, the AMD EPYC, the next session, "
                "two torch threads, started at the session's beginning beside edits and short "
                "tests) is the M2 command of `mnist_epyc_m220_100` on label draw 1 "
                "(`--first-split 1`): M2's +2.11 at 20 labels per class came from one draw, "
                "split 0, and the thesis's 92.4 is a mean over five; a test run fixed "
                "beforehand to report and change no config."
                if _load("mnist_epyc_m220_100_split1/mnist.json") else "")
             + ("  `mnist_epyc_m220_100_split2` (the same session and machine, started when "
                "`mnist_epyc_m220_100_split1` had ended, beside edits and short tests) is the "
                "same command on label draw 2 (`--first-split 2`), fixed before either "
                "result; a test run to report and change no config."
                if _load("mnist_epyc_m220_100_split2/mnist.json") else "")
             + ("  `mnist_epyc_sslpe60_150` (2026-12-07, the AMD EPYC, the next session, "
                "two torch threads, started at the session's beginning beside nothing but "
                "edits) is SSLPE on its config's 150 epochs, the reference "
                "code's length, at 60 labels per class (`--models SSLPE --labels 60 --epochs "
                "150`, split 0), where SSLPE's longest fit had been the GPU's 32 epochs; a "
                "test run fixed beforehand to report and change no config."
                if _load("mnist_epyc_sslpe60_150/mnist.json") else "")
             + ("  `mnist_epyc_sslpe100_150` (2026-12-07, the AMD EPYC, the session after, "
                "two torch threads, started at the session's beginning beside nothing but "
                "edits and a few seconds of tests) is the same command at 100 labels per "
                "class (`--labels 100`, split 0), the label count whose 32-epoch GPU fit had "
                "left the largest gap; a test run fixed beforehand to report and change no "
                "config."
                if _load("mnist_epyc_sslpe100_150/mnist.json") else "")
             + ("  `mnist_epyc_sslpe300_150` (2026-12-07, the AMD EPYC, the session after, "
                "two torch threads, started at the session's beginning beside nothing but "
                "edits and about 20 s of tests) is the same command at 300 labels per class "
                "(`--labels 300`, split 0), "
                "the label count whose 32-epoch GPU fit then had the largest SSLPE gap; a test "
                "run fixed beforehand to report and change no config."
                if _load("mnist_epyc_sslpe300_150/mnist.json") else "")
             + "  "
             "`mnist_epyc_sslpe20_reference_96` (2026-12-03, the AMD EPYC, nothing else "
             "running, two torch threads) trained SSLPE on its config (the reference settings "
             "at 20 labels per class since rule 13, below) at 20 labels per class, split 0, "
             "for 96 epochs, the length of the validation run that chose them, with the test "
             "rows scored every 4 epochs: until then the longest test fit on those settings "
             "had 32 epochs.  `mnist_epyc_sslpe20_reference_48_split1` (the same machine, after "
             "it) is the same command on split 1 for 48 epochs, what fitted the rest of the "
             "session at split 0's pace (about 50 s per epoch, scoring included), chosen before "
             "any score of split 0 was seen; 48 is also the length of "
             "`mnist_epyc_sslpe20_lrdecay_48`, the previous settings (batch norm, `lr_decay` "
             "0.96) on splits 0 and 1.  Both are test runs, fixed beforehand to report and "
             "change no config.  `mnist_epyc_sslpe20_reference_150` (2026-12-03, the next "
             "session, the same machine, nothing else running) is split 0's command again "
             "with `--epochs 150`, the reference code's SSLPE length, because the 96-epoch "
             "curve was still rising; started at the session's beginning so that it could "
             "end within it, and likewise a test run that changes no config.  "
             "`mnist_epyc_sslpe20_reference_150_split1` (2026-12-03, the session after, the "
             "same machine, nothing else running) is that command on split 1 "
             "(`--first-split 1`), so that the reference length has a second label draw "
             "(At a glance, *label draws*); started at the session's beginning, a test run "
             "fixed beforehand to report and change no config.  "
             "`mnist_epyc_sslpe20_reference_150_split2` (2026-12-03, the session after that, "
             "the same machine, nothing else running) is the same command on split 2 "
             "(`--first-split 2`), the hard draw on both earlier settings (above), as a "
             "third of the thesis's five label draws; started at the session's "
             "beginning, a test run fixed beforehand to report and change no config.  "
             "`mnist_epyc_sslpe20_reference_150_split3` (2026-12-03, the next session, the "
             "same machine, nothing else running) is the same command on split 3 "
             "(`--first-split 3`), a fourth label draw, likewise started at the session's "
             "beginning and fixed beforehand to report and change no config."
             + ("  `mnist_epyc_sslpe20_reference_150_split4` (2026-12-03, the session after, "
                "the same machine, started mid-session) is the same command on split 4 "
                "(`--first-split 4`), the fifth label draw, so that the mean at the reference "
                "length has as many draws as the thesis's; fixed beforehand to report and "
                "change no config."
                if _load("mnist_epyc_sslpe20_reference_150_split4/mnist.json") else "")
             + "\n"]
    for path in files:
        d = json.loads(path.read_text())
        a = d["args"]
        cmd = command_line(a)  # rebuilt from the recorded arguments (older runs stored none)
        seconds = {(r["labels_per_class"], r["model"]): [] for r in d["rows"]}
        for r in d["rows"]:
            seconds[(r["labels_per_class"], r["model"])].append(r["seconds"])
        binarised = [m for m in a["models"] if _binarised(d, m)]
        normed = sorted({f"{r['model']} ({r['labels_per_class']}/class)" for r in d["rows"]
                         if "batch norm" in _variant(d, r["model"], r["labels_per_class"])})
        others = sorted({f"{r['model']} ({r['labels_per_class']}/class) " + ", ".join(changed)
                         for r in d["rows"]
                         if (changed := _other_settings(d, r["model"], r["labels_per_class"]))})
        lines += [f"Command `{cmd}` (profile *{a['profile']}*: labels per class "
                  f"{', '.join(map(str, a['labels']))}; {_splits(a)}; "
                  f"{a['epochs'] or 'config'} epochs for M2/SSLPE/SSLAPD, the config's for "
                  f"the DNN; pixels binarised afresh per training batch: "
                  f"{', '.join(binarised) if binarised else 'no (grey levels as given)'}; "
                  f"batch norm: {', '.join(normed) if normed else 'none'}"
                  + (f"; other settings than the reference code's: {'; '.join(others)}"
                     if others else "") + ") · "
                  f"{_machine(d['machine'])}, {a['n_jobs']} fits in parallel, "
                  f"{_threads_each(a)} · `{path.relative_to(RESULTS.parent)}`"
                  + (f" · wall time of the whole run {d['wall_seconds'] / 60:.0f} min"
                     if "wall_seconds" in d else "") + "\n",
                  "| labels/class | model | runs | epochs | accuracy | thesis accuracy | gap "
                  "| log p(y\\|x) | thesis (read as -log p / 1000) | fit + test (s) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in d["summary"]:
            ta = s["thesis_accuracy"]
            thesis = "–" if ta is None else f"{ta} ({s['thesis_accuracy_std']})"
            gap = "–" if ta is None else f"{s['accuracy_mean'] - ta:+.2f}"
            t54 = s["thesis_table_5_4"]
            tll = "–" if t54 is None else (
                f"{t54} ({thesis_log_likelihood(s['labels_per_class'], s['model']):.3f})")
            std = f" ({s['accuracy_std']:.2f})" if s["runs"] > 1 else ""
            secs = seconds[(s["labels_per_class"], s["model"])]
            lines.append(f"| {s['labels_per_class']} | {s['model']} | {s['runs']} | "
                         f"{s['epochs']} | {s['accuracy_mean']:.2f}{std} "
                         f"| {thesis} | {gap} | {s['log_lik_mean']:.3f} | {tll} | "
                         f"{sum(secs) / len(secs):.0f} |")
        lines.append("")
    runs = [json.loads(p.read_text()) for p in files]
    lines.append(_mnist_by_epochs(runs))
    lines.append(_mnist_curves(files))
    lines.append(_sslpe_reference_test())
    lines.append(_sslapd_100_draws())
    lines.append(_mnist_binarisation(runs))
    lines.append(_mnist_predictors(files))
    lines.append(_mnist_validation(validation))
    return "\n".join(lines) + "\n"


def _over_reference(run: dict, model: str, labels_per_class: int | None) -> dict:
    """What a fit of ``model`` in an MNIST ``run`` changed from the reference code's settings:
    the config's ``params`` that differ from its ``reference_params`` (the reference values of
    settings a validation search replaced), its ``by_labels`` entry for the fit's number of
    labels, then the run's ``--set`` settings; a setting back at its reference value (the
    ``reference_params`` value, else the config's ``params`` value, else the estimator's
    default, e.g. ``lr_decay`` 1.0) is not a change."""
    spec = run.get("config", {}).get(model, {})
    reference = spec.get("reference_params", {})
    changed = {k: v for k, v in spec.get("params", {}).items()
               if k in reference and v != reference[k]}
    changed.update(spec.get("by_labels", {}).get(str(labels_per_class), {}))
    changed.update(json.loads(run["args"].get("set", "{}")).get(model, {}))
    base = {**_estimator_defaults(spec.get("class", f"{model}Classifier")),
            **spec.get("params", {}), **reference}
    return {k: v for k, v in changed.items() if k not in base or v != base[k]}


def _estimator_defaults(class_name: str) -> dict:
    """The constructor defaults of the skdgm estimator ``class_name`` ({} if unknown); the
    configs name classes the package exports, as ``benchmarks._common.load_config`` reads them."""
    import skdgm

    cls = getattr(skdgm, class_name, None)
    return {} if cls is None else cls().get_params()


def _splits(args: dict) -> str:
    """'1 split(s)' for the usual first splits, else which ones (``--first-split``)."""
    if not args.get("first_split", 0):
        return f"{args['splits']} split(s)"
    return f"split(s) {_split_set(args)}"


def _mnist_validation(files: list[Path]) -> str:
    """Runs scored on held-out training rows (``--validation``), for choosing settings: one
    row per fit with the settings it changed, apart from the test results."""
    if not files:
        return ""
    lines = ["### MNIST validation runs (choosing settings; not test results)\n",
             "Scored on training rows held out by a fixed seed (`--validation`), never on the "
             "test set; *settings*: what the fit changed from the reference code's settings "
             "(its `--set`, the config's `by_labels` entry where it has one, and a config "
             "value chosen in place of a reference one, `reference_params`).  The thesis "
             "tuned learning rate and warm-up per model on MNIST (section 5.5.1) where our "
             "configs start from the reference code's settings; these runs begin that search "
             "at 20 labels per class, where SSLPE and SSLAPD trail the thesis most, repeat "
             "on a second label draw (split 1) what led there, and check at 100 labels per "
             "class whether the lead holds.  Fewer epochs than the thesis's 100-150 and one "
             "or two splits per setting, so a lead under the run-to-run spread (1-2 points "
             "at 20 labels per class) decides nothing; a setting enters a config (under "
             "`by_labels`, or in place of a reference value) only where it led in accuracy "
             "and log p(y|x) on both splits: SSLPE's batch norm at 20 labels per class "
             "(with the decay below, until 64-epoch fits led without both), and "
             "SSLAPD's lr 1e-3, which led at 100 labels per class as well (set to wait for "
             "more draws before its split-1 run, and adopted by the next session for every "
             "label count, as then fixed).  `mnist_val20_sslpe_wd1e4_epyc` tried the L2 "
             "penalty of thesis 5.1.2 on SSLPE (`weight_decay` 1e-4, the moons grid's value) "
             "beside the config (`mnist_val20_sslpe_config_epyc`), split 0, side by side on "
             "the AMD EPYC, fixed beforehand as a candidate for split 1 and a GPU run only if "
             "it led in both accuracy and log p(y|x); it did not (accuracy lower, log p(y|x) "
             "higher), so no config change.  The config run repeats `mnist_val20_sslpe_bn` "
             "(the same settings, split and seeds, on the Intel Xeon): the two CPUs' fits "
             "differ by 1.5 points of accuracy, as much as a setting's lead, so only "
             "same-machine pairs are compared here.  Next (2026-11-28, the AMD EPYC), the "
             "exponential learning-rate decay of thesis 5.1.2 (eq. 5.2), never tried on "
             "MNIST before: `lr_decay` 0.96 per epoch (the reference code's rate 0.96, with "
             "one epoch as its step count), beside each model's config, by the same rule "
             "(a lead in both measures on split 0, then both splits, before a config takes "
             "it).  SSLPE (`mnist_val20_sslpe_lrdecay96_epyc` against "
             "`mnist_val20_sslpe_config_epyc`) led on split 0 in both, so split 1 ran, the "
             "two side by side (`..._split1`), and led there too, by less ("
             + _lead("mnist_val20_sslpe_lrdecay96_epyc_split1",
                     "mnist_val20_sslpe_config_epyc_split1") +
             ", under the run-to-run spread): the config took `lr_decay` 0.96 for "
             "SSLPE at 20 labels per class, as the rule said, and every SSLPE fit at 20 "
             "labels per class before it now counts as an earlier setting (chosen at 24 "
             "epochs; over the `--full` profile's 150 the same rate ends at 0.2% of the "
             "starting learning rate, untried).  SSLAPD "
             "(`mnist_val20_sslapd_lrdecay96_epyc` against its config fit on this machine, "
             "`mnist_val20_sslapd_config_epyc`) did not lead on split 0 (lower in both), so "
             "its config is unchanged.  Then (2026-11-29, the AMD EPYC, two torch threads per "
             "fit, one fit after the other, nothing else running but short checks), whether "
             "that decay, chosen at 24 epochs, holds SSLPE back over longer fits: the config "
             "(`mnist_val20_sslpe_config_64`) against the same without the decay "
             "(`mnist_val20_sslpe_nodecay_64`, `--set` `lr_decay` 1.0), split 0, 64 epochs, "
             "the validation rows scored every 4 epochs (the curves after the table), by a "
             "rule fixed before either ran: the score after the last epoch (the table's row) "
             "decides, by the same test (a lead "
             "in both measures), a lead on this draw making the setting a candidate for "
             "split 1 and changing no config alone."
             + _sslpe_decay_and_l2_64() + _sslpe_reference_screen() + _sslpe_reference_long()
             + _sslpe_reference_split1()
             + "\n",
             "| run | labels/class | split | model | epochs | settings | validation rows "
             "| accuracy | log p(y\\|x) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for path in files:
        d = json.loads(path.read_text())
        for r in sorted(d["rows"], key=lambda r: (r["labels_per_class"], r["model"],
                                                  r["split"])):
            changed = _over_reference(d, r["model"], r["labels_per_class"])
            lines.append(f"| `{path.parent.name}` | {r['labels_per_class']} | {r['split']} | "
                         f"{r['model']} | {r['epochs']} | `{json.dumps(changed)}` | "
                         f"{d['args']['validation']:,} | {100 * r['accuracy']:.2f} | "
                         f"{r['log_likelihood']:.3f} |")
    lines.append("")
    for path in files:
        d = json.loads(path.read_text())
        lines.append(f"- `{path.parent.name}`: `{d['command']}` · {_machine(d['machine'])}")
    lines.append(_mnist_validation_curves(files))
    return "\n".join(lines) + "\n"


def _ahead(score: dict, other: dict) -> bool:
    """Whether ``score`` leads ``other`` in both accuracy and log p(y|x), the validation
    rules' test for a setting."""
    return all(score[m] > other[m] for m in ("accuracy", "log_likelihood"))


def _against(row: dict, earlier: dict) -> str:
    """'higher than at N epochs' (N: ``earlier``'s epochs) where ``row`` leads ``earlier`` in
    both accuracy and log p(y|x), 'lower ...' where it trails in both, else which rose (ties
    count as not higher)."""
    if _ahead(row, earlier):
        return f"higher than at {earlier['epochs']} epochs"
    if _ahead(earlier, row):
        return f"lower than at {earlier['epochs']} epochs"
    up = [m for m in ("accuracy", "log_likelihood") if row[m] > earlier[m]]
    if not up:  # a tie in one measure, lower or equal in the other
        return f"higher in neither measure than at {earlier['epochs']} epochs"
    name = "accuracy" if up == ["accuracy"] else "log p(y|x)"
    return f"only its {name} higher than at {earlier['epochs']} epochs"


def _lead(run: str, other: str) -> str:
    """'X points and Y nats': by how much the first row of validation run ``run`` leads that
    of ``other`` in accuracy and log p(y|x) ('?' where either run is missing)."""
    a, b = _load(f"{run}/mnist.json"), _load(f"{other}/mnist.json")
    if a is None or b is None:
        return "? points and ? nats"
    a, b = a["rows"][0], b["rows"][0]
    return (f"{100 * (a['accuracy'] - b['accuracy']):.2f} points and "
            f"{a['log_likelihood'] - b['log_likelihood']:.3f} nats")


def _sslpe_decay_and_l2_64() -> str:
    """Rules 9 and 10 (SSLPE, 20 labels per class, split 0, 64 epochs): the config against
    the same without the decay (``mnist_val20_sslpe_nodecay_64``), then against the config
    plus L2 (``mnist_val20_sslpe_wd1e4_64``), each decided by the table's rows (a lead in
    both measures), and what their validation curves did; '' until the three runs exist."""
    runs = {name: _load(f"mnist_val20_sslpe_{name}_64/mnist.json")
            for name in ("config", "nodecay", "wd1e4")}
    if any(d is None for d in runs.values()):
        return ""
    rows = {name: d["rows"][0] for name, d in runs.items()}
    curves = {name: r["curve"] for name, r in rows.items()}

    def score(name: str) -> str:
        return f"{100 * rows[name]['accuracy']:.2f} / {rows[name]['log_likelihood']:.3f}"

    def leads(a: str, b: str) -> bool:
        return _ahead(rows[a], rows[b])

    def best(name: str, measure: str) -> dict:
        return max(curves[name], key=lambda c: c[measure])

    def after(names: tuple, epoch: int, measure: str) -> list[float]:
        return [c[measure] for n in names for c in curves[n] if c["epoch"] >= epoch]

    pair = ("config", "nodecay")
    peak = max(best(n, "accuracy")["epoch"] for n in pair)
    plateau = after(pair, peak, "accuracy")
    top = {n: best(n, "log_likelihood") for n in pair}
    settle = top["config"]["epoch"]
    l2_logp, l2_acc = after(("wd1e4",), settle, "log_likelihood"), after(("wd1e4",), settle,
                                                                           "accuracy")
    verdict = ("The config led" if leads("config", "nodecay") else
               "The fit without the decay led" if leads("nodecay", "config") else
               "Neither led in both")
    return (f"  {verdict} ({score('config')} against {score('nodecay')})"
            + (", so no change." if not leads("nodecay", "config") else
               ", a candidate for split 1.") +
            f"  Both curves peaked in accuracy by epoch {peak} ("
            f"{100 * best('config', 'accuracy')['accuracy']:.2f}% and "
            f"{100 * best('nodecay', 'accuracy')['accuracy']:.2f}%) and from then on stayed "
            f"between {100 * min(plateau):.1f}% and {100 * max(plateau):.1f}%, while log "
            f"p(y|x) fell after its best point (from {top['config']['log_likelihood']:.3f} at "
            f"epoch {top['config']['epoch']} to {curves['config'][-1]['log_likelihood']:.3f} "
            f"with the decay, from {top['nodecay']['log_likelihood']:.3f} at epoch "
            f"{top['nodecay']['epoch']} to {curves['nodecay'][-1]['log_likelihood']:.3f} "
            f"without): at 20 labels per class SSLPE's validation score stops rising after "
            f"about {peak} epochs, unlike SSLAPD's test curve, which rose until about epoch "
            f"64.  A second rule, fixed after the fit without the decay and before the "
            f"config's result, gave the one fit left in the session to the config plus the "
            f"reference code's L2 penalty on SSLPE's deterministic weights "
            f"(`mnist_val20_sslpe_wd1e4_64`, `--set` `weight_decay` 1e-4, the value tried at "
            f"24 epochs), compared with the config by the same test: {score('wd1e4')} against "
            f"{score('config')}, "
            + ("a lead in both, a candidate for split 1." if leads("wd1e4", "config") else
               "no lead and no change.") +
            f"  From epoch {settle} on its log p(y|x) stayed between {max(l2_logp):.3f} and "
            f"{min(l2_logp):.3f} and its accuracy on the same plateau "
            f"({100 * min(l2_acc):.1f}-{100 * max(l2_acc):.1f}%): the penalty curbs the "
            f"over-confidence, not the accuracy's stall.")


def _last_quarter_and_best(curve: list[dict]) -> tuple[dict, dict]:
    """A learning curve's first point in its last quarter of epochs, and its most accurate."""
    quarter = next(c for c in curve if c["epoch"] >= 0.75 * curve[-1]["epoch"])
    return quarter, max(curve, key=lambda c: c["accuracy"])


def _sslpe_reference_screen() -> str:
    """The sentence on ``mnist_val20_sslpe_reference_48`` (SSLPE at 20 labels per class on
    the reference settings, no batch norm and no decay, 48 epochs), set beside the config's
    64-epoch curve at the same epoch, as the rule fixed before it ran said; '' until it ran."""
    screen = _load("mnist_val20_sslpe_reference_48/mnist.json")
    config = _load("mnist_val20_sslpe_config_64/mnist.json")
    if screen is None or config is None:
        return ""
    row = screen["rows"][0]
    at = {c["epoch"]: c for c in config["rows"][0]["curve"]}[row["epochs"]]
    curve = row["curve"]
    quarter, best = _last_quarter_and_best(curve)
    lead = _ahead(row, at)
    return (f"  Last, a screen fixed before it ran (the session's remaining time, so "
            f"{row['epochs']} epochs, and no choice rests on it): the reference settings, "
            f"without batch norm or decay (`mnist_val20_sslpe_reference_48`), to see whether "
            f"SSLPE keeps rising there as SSLAPD (no batch norm, constant rate) did.  After "
            f"{row['epochs']} epochs it scored {100 * row['accuracy']:.2f} / "
            f"{row['log_likelihood']:.3f} against the config's curve point at the same epoch "
            f"({100 * at['accuracy']:.2f} / {at['log_likelihood']:.3f}): "
            + ("ahead in both, so the pair at 64 epochs is the next step" if lead
               else "not ahead in both") +
            f"; from epoch {quarter['epoch']} to {curve[-1]['epoch']} its curve moved "
            f"{100 * (curve[-1]['accuracy'] - quarter['accuracy']):+.2f} points and "
            f"{curve[-1]['log_likelihood'] - quarter['log_likelihood']:+.3f} nats, its highest "
            f"accuracy {100 * best['accuracy']:.2f}% at epoch {best['epoch']}.")


SSLPE_REFERENCE_RULE_EPOCH = 64


def _sslpe_reference_rule12() -> tuple[dict, dict, dict, bool] | None:
    """Rule 12's inputs and verdict: the 96-epoch reference-settings row, its curve point at
    ``SSLPE_REFERENCE_RULE_EPOCH``, the config's there, and whether the first leads in both
    measures; None until both runs exist."""
    long = _load("mnist_val20_sslpe_reference_96/mnist.json")
    config = _load("mnist_val20_sslpe_config_64/mnist.json")
    if long is None or config is None:
        return None
    row, e = long["rows"][0], SSLPE_REFERENCE_RULE_EPOCH
    ours = {c["epoch"]: c for c in row["curve"]}[e]
    theirs = {c["epoch"]: c for c in config["rows"][0]["curve"]}[e]
    lead = _ahead(ours, theirs)
    return row, ours, theirs, lead


def _sslpe_reference_long() -> str:
    """Rule 12, fixed (2026-11-29 16:01 UTC, commit 25cc409) before
    ``mnist_val20_sslpe_reference_96`` ran: the reference settings (no batch norm, no decay)
    for 96 epochs, split 0; their curve point at epoch 64 against the config's curve point at
    epoch 64 (``mnist_val20_sslpe_config_64``, the same kind of Monte-Carlo estimate).  Ahead
    in both accuracy and log p(y|x): a candidate for split 1 and a test run, changing no
    config alone; otherwise the config stays.  The 96-epoch row is reported beside it and
    decides nothing.  '' until the run exists."""
    judged = _sslpe_reference_rule12()
    if judged is None:
        return ""
    row, ours, theirs, lead = judged
    e = SSLPE_REFERENCE_RULE_EPOCH
    quarter, best = _last_quarter_and_best(row["curve"])
    last = row["curve"][-1]
    return (f"  Then the reference settings over {row['epochs']} epochs "
            f"(`mnist_val20_sslpe_reference_96`), by a rule fixed before it ran: its curve "
            f"point at epoch {e} against the config's at epoch {e}, a lead in both measures "
            f"making it a candidate for split 1 and a test run, and changing no config alone.  "
            f"At epoch {e}: {100 * ours['accuracy']:.2f} / {ours['log_likelihood']:.3f} "
            f"against {100 * theirs['accuracy']:.2f} / {theirs['log_likelihood']:.3f}, "
            + ("ahead in both, so it is a candidate" if lead
               else "not ahead in both, so the config stays") +
            f".  After {row['epochs']} epochs (the table's row, deciding nothing) it scored "
            f"{100 * row['accuracy']:.2f} / {row['log_likelihood']:.3f}; from epoch "
            f"{quarter['epoch']} to {last['epoch']} its curve moved "
            f"{100 * (last['accuracy'] - quarter['accuracy']):+.2f} points and "
            f"{last['log_likelihood'] - quarter['log_likelihood']:+.3f} nats, its highest "
            f"accuracy {100 * best['accuracy']:.2f}% at epoch {best['epoch']}."
            + _same_points("mnist_val20_sslpe_reference_48", row["curve"]))


def _same_points(shorter: str, curve: list[dict]) -> str:
    """A sentence on whether run ``shorter`` (the same settings, split and seeds,
    fewer epochs) scored the same curve points as ``curve`` up to its last epoch, as it should:
    the schedule does not depend on ``max_epochs``.  '' if the run is missing."""
    d = _load(f"{shorter}/mnist.json")
    if d is None:
        return ""
    theirs = d["rows"][0]["curve"]
    ours = {c["epoch"]: c for c in curve}
    same = sum(ours.get(c["epoch"]) is not None
               and all(ours[c["epoch"]][m] == c[m] for m in ("accuracy", "log_likelihood"))
               for c in theirs)
    return (f"  Its curve points up to epoch {theirs[-1]['epoch']} equal those of the shorter "
            f"run `{shorter}` (the same seeds) in {same} of {len(theirs)}.")


def _sslpe_reference_split1() -> str:
    """Rule 13, fixed (2026-11-29 16:08 UTC, commit 3be5b78) before rule 12's verdict was
    known: if the reference settings led at epoch 64 on split 0, the config and the reference
    settings run on split 1 for 64 epochs each (``mnist_val20_sslpe_config_64_split1``, then
    ``mnist_val20_sslpe_reference_64_split1``), decided by the table's rows (a lead in both
    measures); a lead on both splits moves the SSLPE config's ``by_labels`` entry for 20
    labels per class to the reference settings (no batch norm, no decay).  (If it did not
    lead, the slot went to SSLAPD at 100 epochs on split 1 on the test set, which decides
    nothing.)  '' until both split-1 runs exist."""
    config = _load("mnist_val20_sslpe_config_64_split1/mnist.json")
    reference = _load("mnist_val20_sslpe_reference_64_split1/mnist.json")
    if config is None or reference is None:
        return ""
    ours, theirs = reference["rows"][0], config["rows"][0]
    lead = _ahead(ours, theirs)
    return (f"  On split 1, by the rule fixed before rule 12's verdict (64 epochs each, the "
            f"table's rows deciding): the reference settings "
            f"(`mnist_val20_sslpe_reference_64_split1`) scored "
            f"{100 * ours['accuracy']:.2f} / {ours['log_likelihood']:.3f} against the "
            f"config's {100 * theirs['accuracy']:.2f} / {theirs['log_likelihood']:.3f} "
            f"(`mnist_val20_sslpe_config_64_split1`): "
            + ("a lead on both splits, so the SSLPE config at 20 labels per class returns to "
               "the reference settings (no batch norm, no decay)." if lead else
               "no lead in both, so the config stays."))


def _mnist_validation_curves(files: list[Path]) -> str:
    """Validation runs fitted with ``--curve-every``, side by side: one table per model,
    label count and split, a column pair (accuracy, log p(y|x)) per run ('–' past a shorter
    run's end), so that settings compared by a rule can be followed over the epochs."""
    groups: dict[tuple, list] = {}
    for path in files:
        d = json.loads(path.read_text())
        for r in (r for r in d["rows"] if r.get("curve")):
            key = (r["model"], r["labels_per_class"], r["split"])
            groups.setdefault(key, []).append((path.parent.name, d, r))
    lines = []
    for (model, k, split), fits in sorted(groups.items()):
        every = sorted({d["args"]["curve_every"] for _, d, _ in fits})
        settings = "; ".join(f"`{name}` ({r['epochs']} epochs): "
                             f"`{json.dumps(_over_reference(d, model, k))}`"
                             for name, d, r in fits)
        lines += [f"Validation curves, {model}, {k} labels per class, split {split} (the "
                  f"validation rows scored every "
                  f"{'/'.join(map(str, every))} epochs and after the last by `EpochScores`; "
                  f"scores only, the curves chose nothing; each run's last point and its row "
                  f"above are two Monte-Carlo estimates for the same weights).  Settings: "
                  f"{settings}.\n",
                  "| epoch | " + " | ".join(f"`{name}` accuracy | log p(y\\|x)"
                                            for name, _, _ in fits) + " |",
                  "|---|" + "---|---|" * len(fits)]
        points = [{c["epoch"]: c for c in r["curve"]} for _, _, r in fits]
        for epoch in sorted(set().union(*points)):
            cells = [f"{100 * p[epoch]['accuracy']:.2f} | {p[epoch]['log_likelihood']:.3f}"
                     if epoch in p else "– | –" for p in points]
            lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


def _mnist_predictors(files: list[Path]) -> str:
    """SSLPE/SSLAPD fits scored under other predictive rules (``benchmarks.mnist.
    predictor_check``), from the runs that recorded them."""
    from benchmarks.mnist import GIBBS_LONG
    from skdgm import SSLPEClassifier

    long, default_steps = f"gibbs{GIBBS_LONG}", SSLPEClassifier().n_gibbs
    lines = []
    for path in files:
        d = json.loads(path.read_text())
        rows = [r for r in d["rows"] if "accuracy_qy" in r]
        if not rows:
            continue
        steps = {m: c["params"].get("n_gibbs", default_steps) for m, c in d["config"].items()}
        if not lines:
            lines = ["The same fits scored under other predictive rules (test accuracy %, "
                     "log p(y|x) in nats per row): the Gibbs sampler of thesis 4.4 with the "
                     f"estimator's `n_gibbs` steps (what the tables above report), with "
                     f"{GIBBS_LONG} steps (the reference code's SSLPE ran 100), and the "
                     "recognition net q(y|x) alone.  If q(y|x) scores above the sampler, the "
                     "gap lies in the classifier p(y|x, z) the sampler averages, not in the "
                     "encoder.\n",
                     "| run | labels/class | model | split | epochs | Gibbs, steps | Gibbs | "
                     f"Gibbs, {GIBBS_LONG} steps | q(y\\|x) | thesis accuracy |",
                     "|---|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (r["labels_per_class"], r["model"], r["split"])):
            thesis = next(s["thesis_accuracy"] for s in d["summary"]
                          if (s["labels_per_class"], s["model"])
                          == (r["labels_per_class"], r["model"]))
            lines.append(
                f"| `{path.parent.name}` | {r['labels_per_class']} | {r['model']} | "
                f"{r['split']} | {r['epochs']} | {steps[r['model']]} | "
                f"{100 * r['accuracy']:.2f} ({r['log_likelihood']:.3f}) | "
                f"{100 * r['accuracy_' + long]:.2f} ({r['log_likelihood_' + long]:.3f}) | "
                f"{100 * r['accuracy_qy']:.2f} ({r['log_likelihood_qy']:.3f}) | "
                f"{thesis if thesis is not None else '–'} |")
    if not lines:
        return ""
    rows = [r for p in files for r in json.loads(p.read_text())["rows"] if "accuracy_qy" in r]
    lines.append(_repeated_fits(files))
    gap = max(abs(r["accuracy"] - r["accuracy_qy"]) for r in rows)
    better = sum(r["log_likelihood"] > r["log_likelihood_qy"] for r in rows)
    lines.append(f"\nOver these {len(rows)} fits the accuracy of q(y|x) alone is within "
                 f"{100 * gap:.2f} points of the sampler's, and its log p(y|x) is below the "
                 f"sampler's in {better} of {len(rows)}; " + (
                     "so the rule of prediction does not explain the gap to the thesis: it is "
                     "in the fits, shared by both nets." if gap < 0.01 else
                     "the rules differ by a point or more in some fits."))
    return "\n".join(lines) + "\n"


def _binarised(run: dict, model: str) -> bool:
    """Whether ``model``'s pixels were binarised per training batch in an MNIST ``run`` (its
    stored config names :class:`skdgm.StochasticBinarization`)."""
    return "StochasticBinarization" in run.get("config", {}).get(model, {}).get("callbacks", [])


def _variant(run: dict, model: str, labels_per_class: int | None = None) -> str:
    """What a fit of ``model`` (at ``labels_per_class``) in an MNIST ``run`` trained on besides
    the shared settings: the pixels (grey or binarised), batch norm where its parameters (the
    config's reference ``params`` and what :func:`_over_reference` changed) turn it on, then
    any other setting changed."""
    changed = _over_reference(run, model, labels_per_class)
    params = {**run.get("config", {}).get(model, {}).get("params", {}), **changed}
    parts = ["binarised" if _binarised(run, model) else "grey"]
    if params.get("batch_norm"):
        parts.append("batch norm")
    return ", ".join(parts + _other_settings(run, model, labels_per_class))


def _other_settings(run: dict, model: str, labels_per_class: int | None) -> list[str]:
    """The settings besides batch norm that a fit changed from the reference code's
    (:func:`_over_reference`), as 'name value'."""
    changed = _over_reference(run, model, labels_per_class)
    return [f"{k} {v}" for k, v in sorted(changed.items()) if k != "batch_norm"]


def _split_set(args: dict) -> str:
    """The splits a run trained on, as '0', '1' or '0-4'."""
    first = args.get("first_split", 0)
    last = first + args["splits"] - 1
    return f"{first}" if first == last else f"{first}-{last}"


def _mnist_cells(runs: list[dict]) -> dict:
    """Summary rows of the generative models by (labels per class, model, epochs, variant,
    splits), from every MNIST test run (a ``--set`` run under the variant its settings
    make); where several runs share a key, the later one."""
    cells = {}
    for d in sorted(runs, key=lambda d: d["machine"].get("date", "")):
        for s in d["summary"]:
            if s["model"] != "DNN":
                key = (s["labels_per_class"], s["model"], s["epochs"],
                       _variant(d, s["model"], s["labels_per_class"]), _split_set(d["args"]))
                cells[key] = s
    return cells


def _mnist_binarisation(runs: list[dict]) -> str:
    """Runs with binarised pixels beside grey-level runs, runs with batch norm beside runs
    without, runs at lr 1e-3 beside runs at the reference 5e-4, and runs with lr decay beside
    runs without, of the same labels, model, epochs and splits."""
    cells = _mnist_cells(runs)
    return "\n".join(filter(None, [
        _mnist_pairs(cells, "grey", "binarised", "Stochastic binarisation "
                     "(`skdgm.StochasticBinarization`, the reference code's treatment of the "
                     "pixels) against grey levels as given"),
        _mnist_pairs(cells, "binarised", "binarised, batch norm", "Batch norm (the "
                     "estimators' `batch_norm=True`) against none, pixels binarised"),
        _mnist_pairs(cells, "binarised", "binarised, lr 0.001", "Learning rate 1e-3 (chosen "
                     "for SSLAPD on validation rows) against the reference code's 5e-4, "
                     "pixels binarised"),
        _mnist_pairs(cells, "binarised, batch norm", "binarised, batch norm, lr_decay 0.96",
                     "Exponential learning-rate decay (`lr_decay` 0.96 per epoch, thesis "
                     "5.1.2, chosen for SSLPE at 20 labels per class on validation rows) "
                     "against a constant rate, pixels binarised, batch norm")]))


def _mnist_pairs(cells: dict, a: str, b: str, title: str) -> str:
    """Cells of variant ``b`` beside cells of variant ``a`` with the same labels, model,
    epochs and splits, and a tally per model of what ``b`` changed."""
    def same(key: tuple, variant: str) -> tuple:
        return (*key[:3], variant, key[4])

    pairs = sorted((k for k in cells if k[3] == b and same(k, a) in cells),
                   key=lambda k: (k[0], k[1], k[2], k[4]))
    if not pairs:
        return ""
    lines = [f"{title}, same labels, model, split and epochs:\n",
             f"| labels/class | model | split | epochs | accuracy, {a} | accuracy, {b} | "
             f"log p(y\\|x), {a} | log p(y\\|x), {b} | thesis accuracy |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key in pairs:
        old, new = cells[same(key, a)], cells[key]
        lines.append(f"| {key[0]} | {key[1]} | {key[4]} | {key[2]} | "
                     f"{old['accuracy_mean']:.2f} | {new['accuracy_mean']:.2f} | "
                     f"{old['log_lik_mean']:.3f} | {new['log_lik_mean']:.3f} | "
                     f"{old['thesis_accuracy'] or '–'} |")
    lines.append(f"\n{b.capitalize()} against {a}, cell by cell: " + "; ".join(
        _binarisation_tally([(cells[same(k, a)], cells[k]) for k in pairs if k[1] == model],
                            model)
        for model in sorted({k[1] for k in pairs})) + ".")
    return "\n".join(lines) + "\n"


def _binarisation_tally(pairs: list[tuple[dict, dict]], model: str) -> str:
    """How many (before, after) cells of one model the change improved (grey against
    binarised, say), and the mean change of accuracy."""
    acc = [b["accuracy_mean"] - g["accuracy_mean"] for g, b in pairs]
    ll = sum(b["log_lik_mean"] > g["log_lik_mean"] for g, b in pairs)
    return (f"{model} log p(y|x) higher in {ll} of {len(pairs)} cells, accuracy higher in "
            f"{sum(a > 0 for a in acc)} of {len(pairs)} (mean change "
            f"{sum(acc) / len(acc):+.2f} points)")


def _repeated_fits(files: list[Path]) -> str:
    """Whether fits repeated by a later run (same labels, model, split, epochs, pixels and
    CPU) gave the same test scores: a check of ``random_state`` reproducibility."""
    seen, same, total = {}, 0, 0
    for path in files:
        d = json.loads(path.read_text())
        if "gpu" in d["machine"]:
            continue
        for r in d["rows"]:
            key = (r["labels_per_class"], r["model"], r["split"], r["epochs"],
                   _variant(d, r["model"], r["labels_per_class"]), d["machine"]["cpu"],
                   d["machine"]["torch"])
            if key in seen:
                total += 1
                same += (seen[key]["accuracy"], seen[key]["log_likelihood"]) == (
                    r["accuracy"], r["log_likelihood"])
            seen[key] = r
    return (f"\nFits repeated on the same CPU and torch with the same seeds: {same} of {total} "
            "gave the same test accuracy and log p(y|x), to the last digit." if total else "")


def _mnist_by_epochs(runs: list[dict]) -> str:
    """Test accuracy of the generative models by epochs trained, from every MNIST run (one
    split each; where two runs share labels, model, epochs and variant, the later one), beside
    the thesis; each variant (grey or binarised pixels, batch norm) on rows of its own."""
    acc, thesis = {}, {}
    for (k, model, epochs, variant, splits), s in _mnist_cells(runs).items():
        if splits != "0":  # runs on other label draws stay out of this table
            continue
        acc.setdefault((k, model, variant), {})[epochs] = s["accuracy_mean"]
        thesis[(k, model, variant)] = s["thesis_accuracy"]
    epochs = sorted({e for v in acc.values() for e in v})
    lines = ["Accuracy (%) by epochs trained, split 0 in every cell (8 epochs: the quick "
             "profile; each cell's run is in the tables above; where two runs share a cell, "
             "the later):\n",
             "| labels/class | model | variant | " + " | ".join(f"{e} epochs" for e in epochs)
             + " | thesis |", "|---|---|---|" + "---|" * (len(epochs) + 1)]
    for key in sorted(acc, key=lambda k: (k[0], k[1], k[2] != "grey", k[2])):
        cells = [f"{acc[key][e]:.2f}" if e in acc[key] else "" for e in epochs]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | "
                     + " | ".join(cells)
                     + f" | {thesis[key] if thesis[key] is not None else '–'} |")
    return "\n".join(lines) + "\n"


def _threads_each(args: dict) -> str:
    threads = args.get("threads", 1)
    return "one torch thread each" if threads == 1 else f"{threads} torch threads each"


def _mnist_curves(files: list[Path]) -> str:
    """The learning curves of fits run with ``--curve-every``: test accuracy, log p(y|x) and
    the test ELBO by epoch, beside the thesis, with what the last quarter of the epochs
    gained."""
    from benchmarks.mnist import THESIS_ACCURACY, THESIS_TABLE_5_4, thesis_log_likelihood

    lines = []
    for path in files:
        d = json.loads(path.read_text())
        for r in (r for r in d["rows"] if r.get("curve")):
            k, model, curve = r["labels_per_class"], r["model"], r["curve"]
            thesis = THESIS_ACCURACY.get(k, {}).get(model)
            t54 = THESIS_TABLE_5_4.get(k, {}).get(model)
            last = curve[-1]
            quarter, best = _last_quarter_and_best(curve)
            tail = [c for c in curve if c["epoch"] >= quarter["epoch"]]
            lines += [
                f"Learning curve of `{path.parent.name}` ({model}, {k} labels per class, split "
                f"{r['split']}, {r['epochs']} epochs; `{path.parent.name}/mnist_curve.png`): the "
                f"test rows scored every {d['args']['curve_every']} epochs and after the last "
                f"by the callback `EpochScores` (Gibbs prediction with the fit's `n_gibbs` "
                f"steps and draws of its own, so its last point and the run table's score are "
                f"two Monte-Carlo estimates for the same weights: {100 * last['accuracy']:.2f}% "
                f"and {100 * r['accuracy']:.2f}%).  Scores only: nothing was chosen by "
                f"them.  From epoch {quarter['epoch']} to {last['epoch']} the accuracy moved "
                f"{100 * (last['accuracy'] - quarter['accuracy']):+.2f} points and log p(y|x) "
                f"{last['log_likelihood'] - quarter['log_likelihood']:+.3f} nats; the points "
                f"from epoch {quarter['epoch']} on average "
                f"{100 * np.mean([c['accuracy'] for c in tail]):.2f}% and "
                f"{np.mean([c['log_likelihood'] for c in tail]):.3f} nats; the highest "
                f"accuracy on the curve was {100 * best['accuracy']:.2f}% at epoch "
                f"{best['epoch']}"
                + (f"; the thesis: {thesis[0]}% ({thesis[1]}) over five label draws" if thesis
                   else "") + ".\n",
                "| epoch | accuracy | log p(y\\|x) | test ELBO per row |",
                "|---|---|---|---|"]
            lines += [f"| {c['epoch']} | {100 * c['accuracy']:.2f} | {c['log_likelihood']:.3f} "
                      f"| {c['elbo']:.1f} |" for c in curve]
            if thesis:
                lines.append(f"| thesis | {thesis[0]} ({thesis[1]}) | "
                             + (f"{t54} ({thesis_log_likelihood(k, model):.3f})" if t54
                                else "–") + " | – |")
            lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


def _sslpe_reference_test() -> str:
    """SSLPE at 20 labels per class on its config's settings since rule 13 (the reference
    code's: no batch norm, constant learning rate), on the test set: split 0 for 96 epochs
    (``mnist_epyc_sslpe20_reference_96``) and split 1 for 48
    (``mnist_epyc_sslpe20_reference_48_split1``), each at epoch 48 set beside the previous
    settings' 48-epoch fits of the same splits and seeds (``mnist_epyc_sslpe20_lrdecay_48``);
    what the curves did is in their own sections.  '' until the three runs exist."""
    long = _load("mnist_epyc_sslpe20_reference_96/mnist.json")
    split1 = _load("mnist_epyc_sslpe20_reference_48_split1/mnist.json")
    before = _load("mnist_epyc_sslpe20_lrdecay_48/mnist.json")
    if long is None or split1 is None or before is None:
        return ""
    old = {r["split"]: r for r in before["rows"]}
    row0, row1 = long["rows"][0], split1["rows"][0]
    at = {c["epoch"]: c for c in row0["curve"]}[row1["epochs"]]
    leads = [_ahead(at, old[0]), _ahead(row1, old[1])]

    def score(r: dict) -> str:
        return f"{100 * r['accuracy']:.2f} / {r['log_likelihood']:.3f}"

    verdict = ("ahead in both measures on both splits" if all(leads) else
               f"ahead in both measures on split {leads.index(True)} only" if any(leads) else
               "ahead in both measures on neither split")
    return (f"**SSLPE at 20 labels per class on its config's settings since rule 13** (the "
            f"reference code's: no batch norm, constant learning rate; test runs, no choice "
            f"rests on them; accuracy % / log p(y|x) in nats).  After {row1['epochs']} "
            f"epochs, against the previous settings (batch norm, `lr_decay` 0.96; "
            f"`mnist_epyc_sslpe20_lrdecay_48`, the same splits and seeds, one thread per fit "
            f"where the new runs had two, so other sums): split 0 {score(at)} (the curve point "
            f"of `mnist_epyc_sslpe20_reference_96`) against {score(old[0])}, split 1 "
            f"{score(row1)} (`mnist_epyc_sslpe20_reference_48_split1`) against "
            f"{score(old[1])}: {verdict}.  Split 0 after {row0['epochs']} epochs: "
            f"{score(row0)} (its learning curve above)." + _sslpe_reference_150(row0)
            + _sslpe_reference_150_split1(row1) + "\n")


def _sslpe_reference_150(row96: dict) -> str:
    """A sentence on ``mnist_epyc_sslpe20_reference_150``, the 96-epoch command run to the
    reference code's 150 epochs: its score beside the 96-epoch fit's (``row96``) and Table
    5.3/5.4's SSLPE at 20 labels per class (5.4 read as -log p / 1000), and whether its curve
    repeats the 96-epoch run's points (the same seeds and threads; the schedule does not
    depend on the epochs).  '' until the run exists."""
    from benchmarks.mnist import THESIS_ACCURACY, thesis_log_likelihood

    d = _load("mnist_epyc_sslpe20_reference_150/mnist.json")
    if d is None:
        return ""
    row = d["rows"][0]
    acc, ll = 100 * row["accuracy"], row["log_likelihood"]
    thesis, t54 = THESIS_ACCURACY[20]["SSLPE"][0], thesis_log_likelihood(20, "SSLPE")
    return (f"  Run on to the reference code's {row['epochs']} epochs "
            f"(`mnist_epyc_sslpe20_reference_150`, the same command and split): "
            f"{acc:.2f} / {ll:.3f}, {_against(row, row96)}, against the "
            f"thesis's {thesis} / {t54:.3f} ({acc - thesis:+.2f} points, "
            f"{ll - t54:+.3f} nats)."
            + _same_points("mnist_epyc_sslpe20_reference_96", row.get("curve", [])))


def _sslpe_reference_150_split1(row48: dict) -> str:
    """A sentence on ``mnist_epyc_sslpe20_reference_150_split1``, the 150-epoch command run on
    split 1: its score beside split 1's 48-epoch fit (``row48``) and whether its curve repeats
    the 48-epoch run's points; then the other splits at 150 epochs and the mean over the draws
    (:func:`_sslpe_reference_150_draws`).  '' until both 150-epoch runs of splits 0 and 1
    exist."""
    d = _load("mnist_epyc_sslpe20_reference_150_split1/mnist.json")
    if d is None or _load("mnist_epyc_sslpe20_reference_150/mnist.json") is None:
        return ""
    row = d["rows"][0]
    return (f"  Split 1 run the same way to {row['epochs']} epochs "
            f"(`mnist_epyc_sslpe20_reference_150_split1`): {100 * row['accuracy']:.2f} / "
            f"{row['log_likelihood']:.3f}, {_against(row, row48)}."
            + _same_points("mnist_epyc_sslpe20_reference_48_split1", row.get("curve", []))
            + _sslpe_reference_150_draws())


def _sslpe_reference_150_draws() -> str:
    """Sentences on the 150-epoch command's runs on splits 2-4
    (``mnist_epyc_sslpe20_reference_150_split<k>``, those that exist), then the mean over
    every label draw at 150 epochs (:func:`_draws_mean`).  Called once splits 0 and 1 exist."""
    names = ["mnist_epyc_sslpe20_reference_150", "mnist_epyc_sslpe20_reference_150_split1"]
    names += [f"mnist_epyc_sslpe20_reference_150_split{k}" for k in (2, 3, 4)]
    runs = [(n, d["rows"][0]) for n in names if (d := _load(f"{n}/mnist.json")) is not None]
    text = "".join(f"  Split {r['split']} run the same way to {r['epochs']} epochs (`{n}`): "
                   f"{100 * r['accuracy']:.2f} / {r['log_likelihood']:.3f}."
                   for n, r in runs[2:])
    return text + _draws_mean("SSLPE", [r for _, r in runs])


def _draws_mean(model: str, rows: list[dict]) -> str:
    """'The N label draws at E epochs (splits ...) average A (std) / L against the thesis's
    ...': the mean test accuracy (std over the draws, numpy's, as in the run tables) and mean
    log p(y|x) of ``rows`` (one fit per split, all at 20 labels per class and the same epochs)
    beside Table 5.3/5.4's ``model`` at 20 labels per class (a mean over five draws; 5.4 read
    as -log p / 1000)."""
    from benchmarks.mnist import THESIS_ACCURACY, thesis_log_likelihood

    acc = 100 * np.array([r["accuracy"] for r in rows])
    ll = np.mean([r["log_likelihood"] for r in rows])
    thesis, std = THESIS_ACCURACY[20][model]
    t54 = thesis_log_likelihood(20, model)
    count = {2: "two", 3: "three", 4: "four", 5: "five"}[len(rows)]
    return (f"  The {count} label draws at {rows[0]['epochs']} epochs (splits "
            f"{', '.join(str(r['split']) for r in rows)}) average {acc.mean():.2f} "
            f"({acc.std():.2f}) / {ll:.3f} against the thesis's {thesis} ({std}) / {t54:.3f} "
            f"over five draws ({acc.mean() - thesis:+.2f} points, {ll - t54:+.3f} nats).")


def _sslapd_100_draws() -> str:
    """A paragraph on SSLAPD at 20 labels per class trained for 100 epochs (its config's
    ``--full`` length) on more than one label draw: split 0 (``mnist_epyc_sslapd20_100``) and
    the same command on splits 1-4 (``mnist_<cpu>_sslapd20_100_split<k>``, those that exist;
    the newer run where a split ran on both CPUs), each draw's score; for split 1 its score
    beside the 64-epoch fit of the same split and seeds (``mnist_epyc_sslapd20_64_split1``)
    and, where both ran on the same CPU, whether its curve repeats that run's points; then
    the mean over the draws (:func:`_draws_mean`).  '' until split 0 and a second draw
    exist."""
    first = "mnist_epyc_sslapd20_100"
    runs = [(first, _load(f"{first}/mnist.json"))]
    for k in (1, 2, 3, 4):
        found = []
        for cpu in ("epyc", "xeon"):
            name = f"mnist_{cpu}_sslapd20_100_split{k}"
            if (d := _load(f"{name}/mnist.json")) is not None:
                found.append((name, d))
        if found:  # one fit per draw, so that no split counts twice in the mean
            runs.append(max(found, key=lambda run: run[1]["machine"].get("date", "")))
    if runs[0][1] is None or len(runs) < 2:
        return ""
    shorter = {1: "mnist_epyc_sslapd20_64_split1"}
    text = ""
    for n, d in runs:
        r = d["rows"][0]
        text += (f"  Split {r['split']} (`{n}`, {d['machine']['cpu']}): "
                 f"{100 * r['accuracy']:.2f} / {r['log_likelihood']:.3f}")
        if (other := shorter.get(r["split"])) and (o := _load(f"{other}/mnist.json")):
            text += f", {_against(r, o['rows'][0])} (`{other}`, {o['machine']['cpu']})."
            if o["machine"]["cpu"] == d["machine"]["cpu"]:
                text += _same_points(other, r.get("curve", []))
            else:
                text += ("  The two fits ran on different CPUs (other sums), so their curves "
                         "are not compared point by point.")
        else:
            text += "."
    return ("**SSLAPD at 20 labels per class for 100 epochs** (its config's `--full` length, "
            "the thesis's; test runs, no choice rests on them; accuracy % / log p(y|x) in "
            "nats)." + text + _draws_mean("SSLAPD", [d["rows"][0] for _, d in runs]) + "\n")


def _percent(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}"


def _seed_record(rows: list[dict], model: str, noise: float, change: dict,
                 instead: dict | None = None, against: str | None = None) -> str:
    """Per-seed comparison, in words, of every search setting carrying ``change`` against
    the same setting without it (or with the values of ``instead`` in its place), fitted on
    the same seed: on how many seeds the variant scored higher in validation accuracy and
    in log p(y|x).  ``against`` names the other setting where the default words would not."""
    rows = [r for r in rows if r["model"] == model and r["noise"] == noise]
    fits = {(json.dumps(r["point"], sort_keys=True), r["seed"]): r for r in rows}
    instead = instead or {}
    pairs = []
    for r in rows:
        if change.items() <= r["point"].items():
            base = {k: v for k, v in r["point"].items() if k not in change} | instead
            other = fits.get((json.dumps(base, sort_keys=True), r["seed"]))
            if other is not None:
                pairs.append((r, other))
    if not pairs:
        return "no seed fitted both with and without it"
    acc = sum(a["accuracy"] > b["accuracy"] for a, b in pairs)
    ll = sum(a["log_likelihood"] > b["log_likelihood"] for a, b in pairs)
    # values that ``instead`` repeats from ``change`` only select the pairs; the text names
    # the ones that differ
    other = ", ".join(f"`{k}` {v}" for k, v in instead.items() if change.get(k) != v)
    return (f"higher validation accuracy on {acc} of {len(pairs)} seeds and higher "
            f"log p(y\\|x) on {ll} of {len(pairs)} than "
            + (against or "the same setting " + (f"with {other}" if other else "without it")))


def _chosen_point(summary: list[dict], model: str, noise: float) -> dict:
    """The search's chosen setting of ``model`` at ``noise`` (empty if it has none)."""
    return next((s_["ranking"][0]["point"] for s_ in summary
                 if s_["model"] == model and s_["noise"] == noise and s_["ranking"]), {})


def _chosen_words(summary: list[dict], model: str, noise: float, change: dict) -> str:
    """Whether the search's chosen setting of ``model`` at ``noise`` carries ``change``."""
    chosen = _chosen_point(summary, model, noise)
    if change.items() <= chosen.items():
        return "by the search's rule that is the chosen setting now"
    kept = {k: chosen[k] for k in change if k in chosen and chosen[k] != change[k]}
    if kept:  # the change replaced a value the chosen setting carries
        return ("by the search's rule the chosen setting kept "
                + ", ".join(f"`{k}` {v}" for k, v in kept.items())
                + ", so the config is unchanged")
    return ("by the search's rule the chosen setting stayed the one without it, so the "
            "config is unchanged")


def _m2_weight_decay_stage(d: dict) -> str:
    """The 2026-11-29 stage of the moons search: M2's chosen setting with an L2 penalty, after
    the ``bayes_gap`` pilot that led to it (its numbers from its own results file)."""
    change = {"weight_decay": 0.001, "n_init": 5, "lr_decay": 0.993}
    if not any(r["model"] == "M2" and change.items() <= r["point"].items()
               for r in d["rows"]):
        return ""
    pilot = _load("bayes_gap_m2_weight_decay/bayes_gap.json")
    said = ""
    if pilot is not None:
        by = {json.loads(s_["variant"]).get("weight_decay", 0): s_ for s_ in pilot["summary"]}
        if 0 in by and 0.001 in by:
            seeds = pilot["args"]["seeds"]
            wins = sum(
                a["log_likelihood"] > b["log_likelihood"]
                for a in pilot["rows"] if json.loads(a["variant"]).get("weight_decay") == 0.001
                for b in pilot["rows"] if b["seed"] == a["seed"]
                and json.loads(b["variant"]).get("weight_decay", 0) == 0)
            said = (f" (`benchmarks/bayes_gap.py` with one fit per seed on seeds "
                    f"{seeds[0]}-{seeds[-1]}, `bayes_gap_m2_weight_decay` in the section on "
                    f"the Bayes classifier: mean validation log p(y\\|x) "
                    f"{by[0.001]['log_likelihood']:.4f} with `weight_decay` 0.001 against "
                    f"{by[0]['log_likelihood']:.4f} without, higher on {wins} of "
                    f"{len(seeds)} seeds, accuracy {100 * by[0.001]['accuracy']:.2f}% "
                    f"against {100 * by[0]['accuracy']:.2f}%)")
    return ("  Then (2026-11-29, the AMD EPYC) M2's chosen setting with an L2 penalty on its "
            "networks (`weight_decay`, thesis 5.1.2), never in M2's grid: M2's predictions "
            "were mostly over-confident against the true posterior, and a pilot" + said
            + " met a rule fixed beforehand (at least 0.01 nats higher mean validation "
            "log p(y\\|x), higher on at least 3 of 4 seeds, at most 0.3 points of accuracy "
            "lost) to go on to a ten-seed stage with five restarts: it scored "
            + _seed_record(d["rows"], "M2", 0.2, {"weight_decay": 0.001})
            + "; " + _chosen_words(d["summary"], "M2", 0.2, {"weight_decay": 0.001}) + ".")


def _m2_alpha_stage(d: dict) -> str:
    """The stage of the moons search that gave M2's chosen setting a smaller weight ``alpha``
    on its labeled rows' log q(y|x), after the two ``bayes_gap`` pilots (2026-12-06) whose
    second met its rule (its numbers from its own results file); the stage ran on
    2026-12-07."""
    staged = sorted({r["point"]["alpha"] for r in d["rows"]
                     if r["model"] == "M2" and "alpha" in r["point"]})
    if not staged:
        return ""
    alpha = staged[0]
    said = ""
    pilot = _load("bayes_gap_m2_alpha_restarts/bayes_gap.json")
    if pilot is not None:
        variants = pilot["args"]["variants"]
        by = {json.loads(v).get("alpha", "auto"): v for v in variants}
        if "auto" in by and alpha in by:
            summary = {s_["variant"]: s_ for s_ in pilot["summary"]}
            ref, var = summary[by["auto"]], summary[by[alpha]]
            change = _paired_against_first(pilot["rows"], variants)[by[alpha]]
            seeds = pilot["args"]["seeds"]
            said = (f" (`bayes_gap_m2_alpha_restarts` in the section on the Bayes classifier, "
                    f"the config's five restarts on seeds {seeds[0]}-{seeds[-1]}: mean "
                    f"validation log p(y\\|x) {var['log_likelihood']:.4f} with `alpha` {alpha} "
                    f"against {ref['log_likelihood']:.4f} with the reference weight, higher on "
                    f"{change['higher']} of {change['n']} seeds, accuracy "
                    f"{100 * var['accuracy']:.2f}% against {100 * ref['accuracy']:.2f}%)")
    return ("  Then (2026-12-07, the AMD EPYC) M2's chosen setting with a smaller weight on "
            f"its labeled rows' log q(y\\|x) (`alpha` {alpha} against the reference rule's "
            f"0.1 N / N_l, {_moons_auto_alpha(d['args']['n_samples'])} here), never in M2's "
            "grid: a first pilot with one fit per seed "
            "(`bayes_gap_m2_alpha`) collapsed a seed with every smaller weight, and a second "
            "with the config's restarts" + said + " met the rule fixed before it ran (that "
            "section gives it) to go on to a ten-seed stage with five restarts, ranked by the "
            "search's accuracy rule like M2's earlier stages: it scored "
            + _seed_record(d["rows"], "M2", 0.2, {"alpha": alpha})
            + "; " + _chosen_words(d["summary"], "M2", 0.2, {"alpha": alpha}) + ".")


_SSLPE_CONSENSUS = {"n_init": 3, "init_selection": "consensus"}


def _sslpe_consensus_stage(d: dict) -> str:
    """The stage of the moons search (2026-12-07) that kept, of SSLPE's three restarts at
    noise 0.2, the consensus medoid instead of the least uncertain fit, after the
    random-label restart diagnostic on validation draws (``restart_average_sslpe_random02``)
    found the entropy rule keeping SSLPE's most over-confident fits.  Until all ten seeds
    are in, the text names them and leaves the search's rule to the last of them."""
    seeds = _stage_seeds(d, "SSLPE", _SSLPE_CONSENSUS)
    if not seeds:
        return ""
    partial = len(seeds) < 10
    means = ""
    _, mine, base = _stage_pair(d, "SSLPE", _SSLPE_CONSENSUS, "init_selection")
    if not partial and base is not None and "val_accuracy_min" in mine:
        means = (f", mean validation accuracy {100 * mine['val_accuracy_mean']:.2f}% against "
                 f"{100 * base['val_accuracy_mean']:.2f}% (worst seed "
                 f"{100 * mine['val_accuracy_min']:.2f}% against "
                 f"{100 * base['val_accuracy_min']:.2f}%)")
    return ("  Then (2026-12-07, the AMD EPYC, two sessions later) SSLPE's chosen setting at "
            "noise 0.2 with its three restarts kept by consensus (`init_selection` "
            "\"consensus\", the rule SDGM's config took) instead of the lowest entropy, never "
            "tried on SSLPE: the restart diagnostic on random-label validation draws "
            "(`restart_average_sslpe_random02`, in the section on averaging restarts) had found "
            "the entropy rule keeping SSLPE's most over-confident fits, and the consensus rule "
            "doing better there; the search's fixed-label validation seeds decide, as for "
            "every stage.  Seeds 10-19"
            + (f" (so far seeds {', '.join(map(str, seeds))}, what the session had time for)"
               if partial else "")
            + ", by the search's own rule, fixed before it ran: it scored "
            + _seed_record(d["rows"], "SSLPE", 0.2, {"init_selection": "consensus"})
            + means + "; " + ("the rule waits for the other seeds, so the config is unchanged"
                      if partial else
                      _chosen_words(d["summary"], "SSLPE", 0.2, {"init_selection": "consensus"}))
            + ".")


def _sdgm_layer_stage(d: dict, change: dict, intro: str, instead: dict | None = None,
                      against: str | None = None, verdict: str | None = None) -> str:
    """A stage of the moons search that gave SDGM's chosen setting other sizes of its
    layers (``change``; ``instead``: values of the chosen setting that ``change`` replaces,
    ``against``: its name then), with how many seeds fell below 90% validation accuracy
    (the collapses) with and without it; ``intro`` says what the stage was, ``verdict``
    (default: whether the search chose it) ends the sentence."""
    rows = [r for r in d["rows"] if r["model"] == "SDGM" and r["noise"] == 0.2]
    carrying = [r for r in rows if change.items() <= r["point"].items()]
    if not carrying:
        return ""
    # the stage's own setting is the one that adds the fewest other keys to the change (a
    # later stage's setting may carry the change too, with more)
    fewest = min(len(r["point"]) for r in carrying)
    varied = [r for r in carrying if len(r["point"]) == fewest]
    others = [r for r in carrying if r not in varied]
    rows = [r for r in rows if r not in others]
    base = {k: v for k, v in varied[0]["point"].items() if k not in change} | (instead or {})
    seeds = {r["seed"] for r in varied}  # the chosen setting's fits on the stage's seeds
    chosen = [r for r in rows if r["point"] == base and r["seed"] in seeds]
    low = [sum(r["accuracy"] < 0.9 for r in fits) for fits in (varied, chosen)]
    now = _chosen_point(d["summary"], "SDGM", 0.2)
    if verdict is None and now not in (varied[0]["point"], base):
        # neither this stage's setting nor the one it was paired with: another stage's
        verdict = ("by the search's rule it was not chosen (the chosen setting now is another "
                   "stage's" + (", which carries it" if change.items() <= now.items() else "")
                   + ")")
    return ("  " + intro + "; seeds 10-19, by the search's own rule, fixed before it ran: "
            "it scored " + _seed_record(rows, "SDGM", 0.2, change, instead, against)
            + f", and fell below 90% validation accuracy on {low[0]} of {len(varied)} seeds "
            f"against {low[1]} of {len(chosen)}; "
            + (verdict or _chosen_words(d["summary"], "SDGM", 0.2, change)) + ".")


def _sdgm_width_stage(d: dict) -> str:
    """The stages of the moons search on the sizes of SDGM's layers: on 2026-12-03 its
    stochastic layers, first those of Maaloe et al.'s code (a and z 100-d instead of 5), then
    the other way (2-d, the size of the moons input); on 2026-12-06 its deterministic hidden
    layers, 256-256 instead of 128-128, then the other way (64-64), then 256-256 with three
    restarts kept by the entropy rule, then by consensus."""
    return _sdgm_layer_stage(
        d, {"n_latent": 100, "n_auxiliary": 100},
        "Then (2026-12-03, the AMD EPYC) SDGM's chosen setting with the stochastic layers of "
        "Maaloe et al.'s code, a and z 100-d (`n_latent`, `n_auxiliary`) instead of our 5, "
        "never varied before, while SDGM still lost two of five test seeds to collapses"
    ) + _sdgm_layer_stage(
        d, {"n_latent": 2, "n_auxiliary": 2},
        "Then (2026-12-03) the other way: a and z 2-d, the size of the moons input, since "
        "the wider layers collapsed more often"
    ) + _sdgm_layer_stage(
        d, {"hidden_sizes": [256, 256]},
        "Then (2026-12-06, the Intel Xeon) SDGM's chosen setting with wider deterministic "
        "layers, 256-256 (`hidden_sizes`) instead of 128-128, halfway to the 500-500 of "
        "Maaloe et al.'s MNIST code, since neither smaller nor larger stochastic layers had "
        "removed the collapses"
    ) + _sdgm_layer_stage(
        d, {"hidden_sizes": [64, 64]},
        "Then (2026-12-06, the same session) the other way: hidden layers 64-64, since the "
        "wider ones had turned the collapses milder without lifting the mean"
    ) + _sdgm_restart_stage(d) + _sdgm_consensus_stage(d) + _sdgm_n_gibbs_stage(d)


_SDGM_WIDE_RESTARTS = {"hidden_sizes": [256, 256], "n_init": 3, "init_selection": "entropy"}


def _stage_seeds(d: dict, model: str, change: dict) -> list[int]:
    """The seeds on which the moons search fitted ``model`` at noise 0.2 with ``change``."""
    return sorted({r["seed"] for r in d["rows"] if r["model"] == model and r["noise"] == 0.2
                   and change.items() <= r["point"].items()})


def _stage_pair(d: dict, model: str, change: dict, key: str) -> tuple[list, dict | None,
                                                                      dict | None]:
    """The moons search's ranking of ``model`` at noise 0.2, its entry for the setting that
    carries ``change``, and the entry for the same setting without ``key`` (None where
    either is missing)."""
    ranking = next((s_["ranking"] for s_ in d["summary"]
                    if s_["model"] == model and s_["noise"] == 0.2), [])
    mine = next((r for r in ranking if change.items() <= r["point"].items()), None)
    base = mine and next((r for r in ranking if r["point"] == {
        k: v for k, v in mine["point"].items() if k != key}), None)
    return ranking, mine, base


def _sdgm_restart_stage(d: dict) -> str:
    """The stage of the moons search (2026-12-06, the second session of that day) that gave
    SDGM the 256-256 hidden layers and three restarts picked by the lowest mean predictive
    entropy, against the chosen setting and against 256-256 with one fit.  Its seeds were
    split over sessions (the fits are long): until all ten are in, the text says so and
    leaves the search's rule to the last of them."""
    seeds = _stage_seeds(d, "SDGM", _SDGM_WIDE_RESTARTS)
    done = len(seeds) >= 10
    parts = (" (fitted in parts, what each session had time for: `--seeds 4`, then "
             "`--seeds 6` without `--update-configs`, then `--seeds 10` with it)" if done else
             f" (so far seeds {', '.join(map(str, seeds))}, fitted in parts that stop "
             "short of ten (`--seeds 4`, then `--seeds 6`) without `--update-configs`, what "
             "the session had time for; the rest with the rule in a later session)")
    wide = ("against 256-256 with one fit it scored "
            + _seed_record(d["rows"], "SDGM", 0.2, _SDGM_WIDE_RESTARTS,
                           {"hidden_sizes": [256, 256], "n_init": 1}) + "; ")
    verdict = _chosen_words(d["summary"], "SDGM", 0.2, _SDGM_WIDE_RESTARTS)
    if _SDGM_WIDE_CONSENSUS.items() <= _chosen_point(d["summary"], "SDGM", 0.2).items():
        # the next stage's rule holds the config now; this stage held it before that stage
        ranking = next(s_["ranking"] for s_ in d["summary"]
                       if s_["model"] == "SDGM" and s_["noise"] == 0.2)
        before = [r["point"] for r in ranking
                  if not _SDGM_WIDE_CONSENSUS.items() <= r["point"].items()]
        if before and _SDGM_WIDE_RESTARTS.items() <= before[0].items():
            verdict = ("by the search's rule it took the config, until the next stage's "
                       "setting (below) took it over")
    return _sdgm_layer_stage(
        d, _SDGM_WIDE_RESTARTS,
        "Then (2026-12-06, the Intel Xeon, the next session) 256-256 hidden layers with "
        "three restarts (`n_init` 3), the one of lowest mean predictive entropy on the "
        "unlabeled rows kept (`init_selection` \"entropy\"), since the wider layers had made "
        "the collapses rarer and milder and restarts choose among fits that collapse on "
        "different draws" + parts, {"n_init": 1}, "the chosen setting (128-128, one fit)",
        wide + (verdict if done
                else "the rule waits for the other seeds, so the config is unchanged"))


_SDGM_WIDE_CONSENSUS = {**_SDGM_WIDE_RESTARTS, "init_selection": "consensus"}
# settings tried by a search stage because of a look at the test sets: (model, noise) -> the
# stage's setting (see _sdgm_consensus_stage)
_TEST_LOOK_STAGES = {("SDGM", 0.2): _SDGM_WIDE_CONSENSUS}


def _sdgm_consensus_stage(d: dict) -> str:
    """The stage of the moons search (2026-12-06, the third session of that day) that kept,
    of SDGM's three 256-256 restarts, the consensus medoid instead of the least uncertain
    fit, against the chosen setting of the stage before (the entropy rule).  Until all ten
    seeds are in, the text names them and leaves the search's rule to the last of them."""
    seeds = _stage_seeds(d, "SDGM", _SDGM_WIDE_CONSENSUS)
    partial = len(seeds) < 10
    verdict = ("the rule waits for the other seeds, so the config is unchanged" if partial
               else None)
    if not partial and _SDGM_N_GIBBS.items() <= _chosen_point(d["summary"], "SDGM",
                                                               0.2).items():
        verdict = ("by the search's rule it took the config, until the next stage's setting "
                   "(below), which carries it, took it over")
    return _sdgm_layer_stage(
        d, _SDGM_WIDE_CONSENSUS,
        "Then (2026-12-06, the Intel Xeon, the session after) the same 256-256 layers and "
        "three restarts with the restart kept by consensus (`init_selection` \"consensus\": "
        "the fit whose predicted classes on the unlabeled rows agree most with the other "
        "restarts') instead of the lowest entropy, the rule tried before at 128-128.  It was "
        "fixed after a look at the test sets: fitting test seed 1's three restarts one by one "
        "(`collapse_sdgm_restarts_noise02`, in the section on collapses) showed the entropy "
        "rule keeping a collapsed restart beside two good ones, so the choice was left to the "
        "validation seeds and the search's rule"
        + (f" (so far seeds {', '.join(map(str, seeds))}, what the session had time for)"
           if partial else ""),
        _SDGM_WIDE_RESTARTS, "the chosen setting then (256-256, three restarts, the entropy "
        "rule)", verdict)


_SDGM_N_GIBBS = {**_SDGM_WIDE_CONSENSUS, "n_gibbs": 1000}


def _without_default_n_gibbs(d: dict) -> dict:
    """The moons search's results with ``n_gibbs`` 10 (the estimator's default) dropped from
    the points: the `n_gibbs` stage's ``--resume`` wrote it into the points of the earlier
    fits it reused, which the earlier stages recorded without it."""
    def drop(point: dict) -> dict:
        return {k: v for k, v in point.items() if (k, v) != ("n_gibbs", 10)}

    rows = [{**r, "point": drop(r["point"])} for r in d["rows"]]
    summary = [{**s_, "best": drop(s_["best"]),
                "ranking": [{**r, "point": drop(r["point"])} for r in s_["ranking"]]}
               for s_ in d["summary"]]
    return {**d, "rows": rows, "summary": summary}


def _sdgm_n_gibbs_stage(d: dict) -> str:
    """The stage of the moons search (2026-12-06, the fourth session of that day) that gave
    SDGM's chosen setting a prediction of 1000 samples of a instead of 10, ranked by log
    p(y|x) among the settings near the best accuracy (``log_lik_near_best``), after the
    ``bayes_gap`` diagnostic on validation seeds that led to it.  Until all ten seeds are in,
    the text names them and leaves the rule to the last of them."""
    from benchmarks.moons_search import ACCURACY_TOLERANCE

    seeds = _stage_seeds(d, "SDGM", _SDGM_N_GIBBS)
    if not seeds:
        return ""
    ranking, mine, base = _stage_pair(d, "SDGM", _SDGM_N_GIBBS, "n_gibbs")
    diag = _load("bayes_gap_sdgm_n_gibbs/bayes_gap.json")
    said = ""
    if diag is not None:
        by = diag["summary"][0]
        said = (" (`benchmarks/bayes_gap.py --n-gibbs 100 1000` on validation seeds "
                + ", ".join(str(x) for x in diag["args"]["seeds"])
                + f", `bayes_gap_sdgm_n_gibbs`: the same fits' validation log p(y\\|x) "
                f"{by['log_likelihood']:.3f} with 10 samples, "
                f"{by['by_n_gibbs']['100']['log_likelihood']:.3f} with 100, "
                f"{by['by_n_gibbs']['1000']['log_likelihood']:.3f} with 1000, accuracy "
                "unchanged)")
    # what ranking by log p(y|x) alone would have chosen among the ten-seed settings
    full = [r for r in ranking if r["runs"] == ranking[0]["runs"] and not r["diverged"]]
    by_ll = max(full, key=lambda r: r["val_log_lik_mean"])
    alone = ""
    if by_ll["point"] != mine["point"] and base is not None:
        alone = (f"; ranking by log p(y\\|x) alone would have chosen an earlier setting of "
                 f"lower accuracy, `{by_ll['point']}` ({100 * by_ll['val_accuracy_mean']:.2f}%"
                 f", log p(y\\|x) {by_ll['val_log_lik_mean']:.3f})")
    partial = len(seeds) < 10
    record = ("it scored " + _seed_record(d["rows"], "SDGM", 0.2, {"n_gibbs": 1000}, {},
                                          "the chosen setting (10 samples)"))
    if base is not None and not partial:
        record += (f", mean validation accuracy {100 * mine['val_accuracy_mean']:.2f}% against "
                   f"{100 * base['val_accuracy_mean']:.2f}% and log p(y\\|x) "
                   f"{mine['val_log_lik_mean']:.3f} against {base['val_log_lik_mean']:.3f}")
        if mine["val_accuracy_mean"] >= max(r["val_accuracy_mean"] for r in full):
            record += " (the best mean accuracy too, so the accuracy rule would have chosen it)"
    verdict = ("the rule waits for the other seeds, so the config is unchanged" if partial
               else _chosen_words(d["summary"], "SDGM", 0.2, {"n_gibbs": 1000}))
    return ("  Then (2026-12-06, the Intel Xeon, the session after) the chosen setting "
            "predicting with 1000 samples of a instead of 10 (`n_gibbs`: the draws a ~ q(a|x) "
            "over which SDGM averages q(y|a,x), in its predictions and in the consensus among "
            "its restarts; the training is the same), since a diagnostic had found its "
            "predictions over-confident against the true posterior and the 10-sample average "
            "a large part of it" + said + ".  The number of samples moves accuracy only by "
            "noise, so the stage ranked SDGM at noise 0.2 by a rule fixed before it ran "
            f"(`--rank-by log_lik_near_best`): the settings within {100 * ACCURACY_TOLERANCE:g}"
            " points of the best mean validation accuracy rank by mean log p(y\\|x), the rest "
            "after them by accuracy" + alone + ".  Seeds 10-19"
            + (f" (so far seeds {', '.join(map(str, seeds))}, what the session had time for)"
               if partial else "") + ": " + record + "; " + verdict + ".")


def moons_search() -> str:
    d = _load("moons_search/moons_search.json")
    if d is not None:
        d = _without_default_n_gibbs(d)
    head = "### Moons hyper-parameter search (validation split)\n\n"
    cmd = ("python -m benchmarks.moons_search --models SSLPE SSLAPD --noise 0.2 --seeds 2`, "
           "then `python -m benchmarks.moons_search --models SSLAPD --noise 0.1 --seeds 2 "
           "--resume`, `... --models DNN --noise 0.1 0.2 --resume`, `... --models SSLPE M2 "
           "SDGM --noise 0.2 --resume`, `... --models SSLPE SDGM --noise 0.2 --seeds 5 --resume` "
           "(each also with `--update-configs`); second stage at noise 0.2 with ten seeds: "
           "`... --models SSLPE SDGM --seeds 10 --resume --grid '{\"SSLPE\": {\"max_epochs\": "
           "[50], \"batch_norm\": [false], \"lr\": [0.002], \"weight_decay\": [0, 0.0001, "
           "0.0003]}, \"SDGM\": {\"batch_norm\": [false], \"lr\": [0.001], \"weight_decay\": "
           "[0, 0.0001, 0.0003]}}'`, then the same for SSLPE's two best 100-epoch settings "
           "(`--grid '{\"SSLPE\": {\"max_epochs\": [100], \"batch_norm\": [true], \"lr\": "
           "[0.0007]}}'` and `[false]` / `[0.002]`), so the leading settings are compared on "
           "the same ten seeds; and M2 at the reference code's 500 epochs: `... --models M2 "
           "--seeds 2 --resume --grid '{\"M2\": {\"batch_norm\": [true], \"lr\": [0.001], "
           "\"max_epochs\": [500]}}'`; third stage (2026-11-26) against SDGM's collapses, ten "
           "seeds each: `... --models SDGM --seeds 10 --resume --update-configs --grid "
           "'{\"SDGM\": {\"batch_norm\": [false], \"lr\": [0.001], \"weight_decay\": [0], "
           "\"kl_warmup\": [10, 50], \"alpha\": [\"auto\", 500]}}'`, then the same grid "
           "with `\"n_mc_samples\": [5]` (the five Monte-Carlo samples of Maaloe et al.'s code) "
           "instead of warm-up and alpha; and SSLPE's chosen setting with weight decay: "
           "`... --models SSLPE --seeds 10 --resume --update-configs --grid '{\"SSLPE\": "
           "{\"max_epochs\": [100], \"batch_norm\": [true], \"lr\": [0.0007], "
           "\"weight_decay\": [0, 0.0001, 0.0003]}}'`, and SSLPE's no-batch-norm setting with five "
           "samples: `--grid '{\"SSLPE\": {\"max_epochs\": [50], \"batch_norm\": [false], "
           "\"lr\": [0.002], \"weight_decay\": [0], \"n_mc_samples\": [5]}}'")
    if d is None:
        return head + _missing(cmd)
    decay = {"lr_decay": 0.98}
    recorded = d.get("invocations", [])
    if recorded:  # the file records its commands since 2026-11-26; the text above is older
        cmd += "`; then, as recorded in the results file: " + ", ".join(
            f"`{c}`" for c in recorded).rstrip("`")
    lines = [head, f"Command `{cmd}` · {_machine(d['machine'])}.  Fits on training seeds 10, "
             "11 (10-14 for SSLPE and SDGM at noise 0.2: with two seeds their settings without "
             "batch norm looked best but collapsed on two of five test seeds; 10-19 for their "
             "leading settings in the second stage, which also tried weight decay, the L2 "
             "penalty of thesis 5.1.2, against the collapses); scored on "
             "separate fully labeled validation draws (never the test sets); the "
             "best mean validation accuracy goes into the model's config file as its "
             "`by_noise` setting; a setting whose fit diverged on a seed ranks last, and "
             "settings scored on fewer seeds than the most-scored ones (left behind by an "
             "earlier, shorter stage) rank after those.  "
             "Parameters not listed keep the reference settings.  The validation scores of "
             "SSLPE/SSLAPD were computed with 10 Gibbs steps, before their configs took the "
             "reference code's prediction budgets (100 / 200 steps); the second stage's fits "
             "(seeds 15-19, and the weight-decay settings) with those budgets.  *Worst seed*: "
             "the lowest validation accuracy of a setting, where a collapse shows.  The latest "
             "stage (2026-11-27) compared one fit with three restarts (`n_init=3`: the fit "
             "with the lowest mean predictive entropy on the unlabeled training rows is kept) "
             "for the leading SDGM and SSLPE settings, and then for M2's, on seeds 10-19; "
             "for SDGM also the restart that agrees most with the other two on the unlabeled "
             "rows (`init_selection='consensus'`), and a smaller weight `alpha` of the "
             "labeled rows' log q(y|x) (15 and 50; the default, 0.1 N / N_l, is "
             f"{_moons_auto_alpha(d['args']['n_samples'])} here).  "
             "SSLAPD at noise 0.2, whose accuracy was already at the Bayes classifier's and "
             "whose log p(y|x) was not: pilot fits on seeds 10 and 11 were more confident than "
             "the true class posterior and a tighter prior softened them, so a stage "
             "on seeds 10-19 compared tighter weight priors (`prior_std` 1.0, the thesis's "
             "N(0, 1), 0.5, 0.3, 0.2), ranked by mean validation log p(y|x) (`--rank-by "
             "log_lik`; ties by accuracy), marked *chosen by log p(y\\|x)*: one of the ten "
             "seeds (17) collapsed with every prior, a second one (13 or 14) with the two "
             "tightest, which is why the tighter priors' better log-likelihoods on the other "
             "seeds did not carry their means; then 0.5 and 0.3 with three restarts "
             "(`n_init=3`, the entropy rule), which left no seed collapsed.  Last, M2 with "
             "five restarts (`n_init=5`; its first three candidates are those of "
             "`n_init=3`, with the same seeds), since three had lifted it and it was still "
             "below the thesis.  Then (2026-11-28, the AMD EPYC) the exponential "
             "learning-rate decay of thesis 5.1.2 (eq. 5.2), which the thesis names its most "
             "influential training detail and no earlier stage had tried: SDGM's chosen "
             "setting with `lr_decay` 0.98 per epoch (the learning rate falls to 0.13 of its "
             "start over the 100 epochs), seeds 10-19, fixed beforehand to go through the "
             "search's own rule: "
             + _seed_record(d["rows"], "SDGM", 0.2, decay)
             + ", but two (15 and "
             "16) collapsed where the chosen setting lost one, so its mean stayed below and "
             "the config is unchanged.  Then (2026-11-28, the AMD EPYC) SSLAPD's then chosen "
             "setting at noise 0.2 (`prior_std` 0.3, three restarts) with the same "
             "`lr_decay` 0.98, seeds 10-19, by the same "
             "rule (mean validation log p(y\\|x)): "
             + _seed_record(d["rows"], "SSLAPD", 0.2, decay)
             + " (its row in the table), so the config is unchanged; a learning rate "
             "falling over the fit did not soften the predictive distribution the way the "
             "tighter prior and the restarts had.  Then (2026-11-28, the AMD EPYC), "
             "`prior_std` 0.2 with three restarts, by the same rule: the restarts stage "
             "had found the tighter of its two priors better in log p(y\\|x), and 0.2 had "
             "only been fitted without restarts, where collapsed seeds decided its mean.  "
             "Against 0.3 with three restarts it scored "
             + _seed_record(d["rows"], "SSLAPD", 0.2, {"prior_std": 0.2, "n_init": 3},
                            {"prior_std": 0.3, "n_init": 3})
             + "; " + _chosen_words(d["summary"], "SSLAPD", 0.2,
                                    {"prior_std": 0.2, "n_init": 3})
             + " (the means: the table; whichever leads, by a margin well inside the "
             "seed-to-seed spread).  Then (2026-11-28, the AMD EPYC) M2 "
             "with the exponential learning-rate decay, never tried on it: a pilot with one "
             "fit (`lr_decay` 0.993 per epoch, so that over its 300 epochs the rate falls to "
             "0.12 of its start, as 0.98 does over the 100-epoch stages), seeds 10-19, with "
             "a rule fixed beforehand to go on to five restarts with the decay if the pilot's "
             "mean validation accuracy was the higher and it won on at least 6 of 10 seeds: "
             "it scored "
             + _seed_record(d["rows"], "M2", 0.2, {"lr_decay": 0.993, "n_init": 1},
                            {"n_init": 1})
             + "; with five restarts it scored "
             + _seed_record(d["rows"], "M2", 0.2, {"lr_decay": 0.993, "n_init": 5},
                            {"n_init": 5})
             + "; " + _chosen_words(d["summary"], "M2", 0.2, {"lr_decay": 0.993})
             + "." + _m2_weight_decay_stage(d) + _sdgm_width_stage(d) + _m2_alpha_stage(d)
             + _sslpe_consensus_stage(d) + "\n",
             "| model | noise | setting | runs | val accuracy mean (std) | worst seed | "
             "val log p(y\\|x) |",
             "|---|---|---|---|---|---|---|"]
    for s_ in d["summary"]:
        for i, r in enumerate(s_["ranking"]):
            best = ("" if i else {
                "accuracy": " **(chosen)**", "log_lik": " **(chosen by log p(y\\|x))**",
                "log_lik_near_best": " **(chosen by log p(y\\|x) near the best accuracy)**",
            }[s_.get("rank_by", "accuracy")])
            runs = f"{r['runs']}" + (f" ({r['diverged']} diverged)" if r.get("diverged") else "")
            lines.append(f"| {s_['model']} | {s_['noise']} | {r['point']}{best} | {runs} | "
                         f"{100 * r['val_accuracy_mean']:.2f} "
                         f"({100 * r['val_accuracy_std']:.2f}) | "
                         f"{_percent(r.get('val_accuracy_min'))} | {r['val_log_lik_mean']:.3f} |")
    return "\n".join(lines) + "\n"


def _relative(path: Path, root: Path) -> Path:
    """``path`` relative to ``root`` where it lies below it (results files of other places,
    e.g. a test's temporary folder, as they are)."""
    return path.relative_to(root) if path.is_relative_to(root) else path


def collapse(files: list[Path] | None = None) -> str:
    head = ("### Collapsed moons fits: when they form, and whether the bound or the "
            "predictive entropy tells them apart\n\n")
    files = sorted(RESULTS.glob("collapse*/collapse.json")) if files is None else files
    if not files:
        return head + _missing("python -m benchmarks.collapse --model SDGM --noise 0.2 "
                               "--seeds 5 --offsets 0 10")
    from benchmarks.collapse import MARKS

    lines = [head, "Fits of the moons benchmark repeated with per-epoch scores "
             "(`benchmarks/collapse.py`; the scores draw from forked random streams, so each "
             "fit is the benchmark's own, the same data, test set and `random_state`): test "
             "accuracy (Gibbs prediction, 10 steps) after the listed epochs, and at the end "
             "of training, on the training data, the mean unlabeled bound (4.9) of the "
             "unlabeled rows, the mean labeled bound (4.5) of the six labeled rows and the "
             "objective the fit maximises (bounds, alpha-weighted log q(y|x), weight KL).  "
             "*Unlabeled entropy*: the mean entropy (nats) of the predicted class "
             "distribution on the unlabeled training rows (inputs only, no labels), in runs "
             "that recorded it.  "
             "*Restarts*: for each data set with both a collapsed and a good fit, the test "
             "accuracy of the fit that restarts ranked by the unlabeled bound or by the "
             "objective would keep (the way `n_init` ranks restarts in sklearn's "
             "mixtures), or by the lowest unlabeled entropy, beside the best of its fits.  "
             "Runs with `--candidates N` fit the N restarts of `n_init=N` one by one "
             "(*restart* k: the single fit from `random_state` advanced by k seed draws), so "
             "the lowest unlabeled entropy picks the fit `n_init=N` keeps; they are a "
             "diagnosis of the test sets, no setting is chosen from them.\n"]
    for path in files:
        d = json.loads(path.read_text())
        a, s = d["args"], d["summary"]
        # runs before --every scored every epoch: curve point i is epoch i + 1
        scored = [r.get("curve_epochs") or list(range(1, len(r["test_acc_curve"]) + 1))
                  for r in d["rows"]]
        entropy = all("unlabeled_entropy" in r for r in d["rows"])
        marks = [m for m in MARKS if scored and all(m in e for e in scored)]
        restarts = bool(a.get("candidates"))
        cmd = (f"python -m benchmarks.collapse --model {a['model']} --noise {a['noise']} "
               f"--seeds {a['seeds']} --offsets {' '.join(map(str, a['offsets']))}"
               + (f" --candidates {a['candidates']}" if restarts else "")
               + (f" --every {a['every']}" if a.get("every", 1) != 1 else "")
               + (f" --set '{a['set']}'" if a["set"] not in ("{}", "") else "")
               + f" --n-jobs {a['n_jobs']} --out {_relative(path.parent, RESULTS.parent.parent)}")
        lines += [f"Command `{cmd}` · {_machine(d['machine'])}, one torch thread per fit · "
                  f"settings {d['config']}{'' if a['set'] in ('{}', '') else ' with ' + a['set']}"
                  f" · `{_relative(path, RESULTS.parent)}`\n",
                  "| data seed | random_state | " + ("restart | " if restarts else "")
                  + " | ".join(f"epoch {m}" for m in marks)
                  + " | final accuracy | unlabeled bound | labeled bound | objective |"
                  + (" unlabeled entropy |" if entropy else ""),
                  "|---|---|" + ("---|" if restarts else "") + "---|" * len(marks)
                  + "---|---|---|---|" + ("---|" if entropy else "")]
        for r in sorted(d["rows"], key=lambda r: (r["seed"], r["random_state"],
                                                   r.get("candidate") or 0)):
            curve = dict(zip(r.get("curve_epochs") or range(1, len(r["test_acc_curve"]) + 1),
                             r["test_acc_curve"]))
            lines.append(f"| {r['seed']} | {r['random_state']} | "
                         + (f"{r['candidate']} | " if restarts else "")
                         + " | ".join(f"{100 * curve[m]:.1f}" for m in marks)
                         + f" | {100 * r['accuracy']:.2f} | {r['unlabeled_bound_curve'][-1]:.3f}"
                         f" | {r['labeled_bound_curve'][-1]:.3f} | "
                         f"{r['objective_curve'][-1]:.3f} |"
                         + (f" {r['unlabeled_entropy']:.3f} |" if entropy else ""))
        thr = 100 * s["threshold"]
        text = [f"Fits below {thr:.0f}% test accuracy: {s['below']} of "
                f"{s['below'] + s['above']}."]
        if s["below"] and s["above"]:
            text.append(f"Mean final unlabeled bound {s['unlabeled_bound_below']:.3f} for them "
                        f"against {s['unlabeled_bound_above']:.3f} for the others; labeled "
                        f"bound {s['labeled_bound_below']:.3f} against "
                        f"{s['labeled_bound_above']:.3f}; objective {s['objective_below']:.3f} "
                        f"against {s['objective_above']:.3f}"
                        + (f"; unlabeled entropy {s['unlabeled_entropy_below']:.3f} against "
                           f"{s['unlabeled_entropy_above']:.3f}" if entropy else "") + ".")
        if s["restarts"]:
            text.append("Restarts: " + "; ".join(
                f"data seed {p['seed']} ({p['fits']} fits): by the unlabeled bound "
                f"{100 * p['by_unlabeled_bound']:.2f}%, by the objective "
                f"{100 * p['by_objective']:.2f}%"
                + (f", by the lowest unlabeled entropy {100 * p['by_unlabeled_entropy']:.2f}%"
                   + (f" (the fit `n_init={a['candidates']}` keeps)" if restarts else "")
                   if "by_unlabeled_entropy" in p else "")
                + f", best {100 * p['best_accuracy']:.2f}%"
                for p in s["restarts"]) + ".")
        if s.get("candidates"):
            text.append("Restarts of `n_init` (test accuracy of each restart in order, and "
                        "the restart each rule keeps): " + "; ".join(
                f"data seed {p['seed']}: "
                + ", ".join(f"{100 * acc:.2f}" for acc in p["accuracy"])
                + f"%, the entropy rule restart {p['entropy']}"
                + (f", the consensus rule restart {p['consensus']}" if "consensus" in p else "")
                for p in s["candidates"]) + ".")
            text.append(_candidate_means(s["candidates"]))
        lines += ["", " ".join(text), ""]
    return "\n".join(lines) + "\n"


def _candidate_means(picks: list[dict]) -> str:
    """Mean test accuracy over the data seeds of the restart each rule keeps, and of the best
    restart of each seed (an oracle that sees the test labels)."""
    def mean(choose) -> float:
        return 100 * float(np.mean([choose(p) for p in picks]))

    rules = [("the entropy rule", lambda p: p["accuracy"][p["entropy"]])]
    if all("consensus" in p for p in picks):
        rules.append(("the consensus rule", lambda p: p["accuracy"][p["consensus"]]))
    return ("Mean test accuracy over the data seeds of the restart kept by "
            + ", by ".join(f"{name} {mean(fn):.2f}%" for name, fn in rules)
            + f"; of the best restart of each seed (chosen with the test labels) "
            f"{mean(lambda p: max(p['accuracy'])):.2f}%.")


def _variant_name(variant: str) -> str:
    return "the config" if variant in ("{}", "") else f"`{variant}`"


def _diagnostic_flags(args: dict, path: Path) -> str:
    """The command-line tail that ``bayes_gap`` and ``restart_average`` share: the data size
    and epochs scale where they differ from the defaults, the jobs and the output folder."""
    return ((f" --n-samples {args['n_samples']}" if args["n_samples"] != 10_000 else "")
            + (f" --epochs-scale {args['epochs_scale']}" if args["epochs_scale"] != 1 else "")
            + f" --n-jobs {args['n_jobs']} --out {_relative(path.parent, RESULTS.parent.parent)}")


def bayes_gap(files: list[Path] | None = None) -> str:
    from benchmarks._common import load_config

    head = ("### Moons log p(y|x) against the Bayes classifier: where the gap lies\n\n")
    files = sorted(RESULTS.glob("bayes_gap*/bayes_gap.json")) if files is None else files
    if not files:
        return head + _missing("python -m benchmarks.bayes_gap --model SSLAPD --noise 0.2 "
                               "--seeds 10 11 12 13")
    lines = [head, "On moons the true class posterior p*(y|x) is known, so a model's shortfall "
             "in mean log p(y|x) can be taken apart (`benchmarks/bayes_gap.py`): over rows "
             "with labels drawn from p*, the expected gap is the mean KL(p*(.|x) || p(.|x)) "
             "(*expected KL*, the gap without the noise of the drawn labels).  It is split by "
             "rows where the model is more confident than the truth (*over-confident*: "
             "max p > max p*) or less, by rows where its decision differs from the Bayes "
             "classifier's (*wrong side*: the boundary's position rather than its "
             "sharpness), and by how certain the truth is (*near the boundary*: max p* < 0.9; "
             "*in between*: 0.9-0.99; *inside a moon*: >= 0.99).  Each part is its rows' KL "
             "summed and divided by all rows, so the parts of a split add up to the expected "
             "KL; in brackets the share of rows.  Fits on the moons search's data seeds, "
             "scored on its validation draws (never the test sets); a diagnostic, from which "
             "no config is chosen.  The plot beside the results file shows reliability "
             "curves (the model's mean p(class 1|x) in bins of p*(class 1|x)).\n"]
    for path in files:
        d = json.loads(path.read_text())
        a = d["args"]
        cmd = (f"python -m benchmarks.bayes_gap --model {a['model']} --noise {a['noise']} "
               f"--seeds {' '.join(map(str, a['seeds']))} --variants "
               + " ".join(f"'{v}'" for v in a["variants"])
               + (f" --n-gibbs {' '.join(map(str, a['n_gibbs']))}" if a["n_gibbs"] else "")
               + _diagnostic_flags(a, path))
        summary = d["summary"]
        steps = sorted({int(s) for v in summary for s in v["by_n_gibbs"]})
        # runs before the fix stored DNN's and M2's fixed n_gibbs of 1: they have no chain
        defaults = load_config("moons", a["model"])[0]().get_params()
        fitted = (d["rows"][0].get("fitted_n_gibbs")
                  if d["rows"] and "n_gibbs" in defaults else None)
        lines += [f"Command `{cmd}` · {_machine(d['machine'])}, one torch thread per fit · "
                  f"config {d['config']} · `{_relative(path, RESULTS.parent)}`\n"
                  + Template(_BAYES_GAP_PILOTS.get(path.parent.name, "")).substitute(
                      auto_alpha=_moons_auto_alpha(a["n_samples"]),
                      n_samples=f"{a['n_samples']:,}"),
                  "| variant | seeds | accuracy | log p(y\\|x) (Bayes) | expected KL "
                  "| over-confident | wrong side | near the boundary | in between "
                  "| inside a moon | entropy (Bayes) |"
                  + "".join(f" expected KL, log p with {t} Gibbs steps |" for t in steps),
                  "|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(steps)]
        for s in summary:
            per_steps = "".join(
                f" {s['by_n_gibbs'][str(t)]['expected_kl']:.4f}, "
                f"{s['by_n_gibbs'][str(t)]['log_likelihood']:.4f} |"
                if str(t) in s["by_n_gibbs"] else " – |" for t in steps)
            lines.append(
                f"| {_variant_name(s['variant'])} | {', '.join(map(str, s['seeds']))} | "
                f"{100 * s['accuracy']:.2f} | {s['log_likelihood']:.4f} "
                f"({s['bayes_log_likelihood']:.4f}) | {s['expected_kl']:.4f} | "
                f"{s['kl_overconfident']:.4f} ({100 * s['share_overconfident']:.0f}%) | "
                f"{s['kl_wrong_side']:.4f} ({100 * s['share_wrong_side']:.1f}%) | "
                f"{s['kl_boundary']:.4f} ({100 * s['share_boundary']:.0f}%) | "
                f"{s['kl_between']:.4f} ({100 * s['share_between']:.0f}%) | "
                f"{s['kl_inside']:.4f} ({100 * s['share_inside']:.0f}%) | "
                f"{s['entropy']:.4f} ({s['bayes_entropy']:.4f}) |" + per_steps)
        lines += ["", "Per fit" + (f" (the fit's own chain, {fitted} Gibbs steps)"
                                   if fitted else "") + ":", "",
                  "| variant | seed | accuracy | log p(y\\|x) | Bayes log p(y\\|x) "
                  "| expected KL | over-confident part | wrong-side part |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(d["rows"], key=lambda r: (a["variants"].index(r["variant"]),
                                                   r["seed"])):
            lines.append(f"| {_variant_name(r['variant'])} | {r['seed']} | "
                         f"{100 * r['accuracy']:.2f} | {r['log_likelihood']:.4f} | "
                         f"{r['bayes_log_likelihood']:.4f} | {r['expected_kl']:.4f} | "
                         f"{r['kl_overconfident']:.4f} | {r['kl_wrong_side']:.4f} |")
        text = []
        for s in summary:
            kl = s["expected_kl"]
            if kl <= 0:
                continue
            name = _variant_name(s["variant"])
            text.append(
                f"{name[0].upper() + name[1:]}: "
                f"{100 * s['kl_overconfident'] / kl:.0f}% of the expected KL on over-confident "
                f"rows ({100 * s['share_overconfident']:.0f}% of the rows), "
                f"{100 * s['kl_wrong_side'] / kl:.0f}% on the wrong side of the Bayes "
                f"boundary ({100 * s['share_wrong_side']:.1f}% of the rows), "
                f"{100 * s['kl_boundary'] / kl:.0f}% near the boundary "
                f"({100 * s['kl_boundary_overconfident'] / kl:.0f}% over-confident there), "
                f"{100 * s['kl_inside'] / kl:.0f}% inside the moons "
                f"({100 * s['kl_inside_overconfident'] / kl:.0f}% over-confident there).")
        text += _bayes_gap_log_odds(d["rows"], a["variants"])
        text += _bayes_gap_weights(d["rows"], a["variants"], d["config"], defaults)
        text += _bayes_gap_pairs(d["rows"], a["variants"])
        if path.parent.name in _BAYES_GAP_PILOTS:
            text.append(_bayes_gap_pilot_verdict(d["rows"], a["variants"]))
        lines += ["", " ".join(text), ""]
    return "\n".join(lines) + "\n"


def restart_average(files: list[Path] | None = None) -> str:
    """Each fit of ``benchmarks/restart_average.py`` against the entropy rule's pick and the
    averages of the fits' predictions."""
    head = ("### Averaging restarts: does an ensemble close the moons log p(y|x) gap?\n\n")
    files = (sorted(RESULTS.glob("restart_average*/restart_average.json")) if files is None
             else files)
    if not files:
        return head + _missing("python -m benchmarks.restart_average --model SSLAPD "
                               "--noise 0.2 --seeds 10 11 12 13 --restarts 3")
    lines = [head, "`n_init` keeps one of its fits; an ensemble would average their predictive "
             "probabilities instead (outside the thesis).  Single fits (`n_init=1`, "
             "`random_state` = seed + 1000 r) of the config on the moons search's data seeds, "
             "scored on its validation draws against the Bayes classifier as in the section "
             "above: each fit (accuracy % / expected KL / mean predictive entropy on the "
             "unlabeled training rows), the fit the entropy rule of `n_init` keeps (and, in "
             "runs that record it, the fit the consensus rule keeps: the one whose predicted "
             "classes on the unlabeled rows agree most with the other fits'), the "
             "average of all the fits' probabilities, and the average of the fits that did not "
             "collapse (validation accuracy of at least 90%: an oracle that uses labels no "
             "estimator has, to show what averaging alone does), these three as accuracy % / "
             "log p(y|x) / expected KL.  A diagnostic; no setting is chosen from it.\n"]
    for path in files:
        d = json.loads(path.read_text())
        a = d["args"]
        cmd = (f"python -m benchmarks.restart_average --model {a['model']} --noise {a['noise']} "
               f"--seeds {' '.join(map(str, a['seeds']))} --restarts {a['restarts']}"
               + (" --labels random" if a.get("labels") == "random" else "")
               + _diagnostic_flags(a, path))
        rows = d["rows"]
        consensus = all("consensus_pick" in r for r in rows)
        # the threshold was set for the fixed labels: with random labels most fits fall
        # below it, and falling below is no mark of collapse
        threshold = f"{100 * d['collapsed_below']:.0f}%"
        if a.get("labels") != "random":
            below = f"Collapsed fits (validation accuracy below {threshold})"
            kept = "the uncollapsed fits"
        else:
            below = (f"Fits below {threshold} validation accuracy (with random labels the "
                     "usual score, not a mark of collapse: the threshold was set for the "
                     "fixed labels)")
            kept = f"the fits at or above {threshold}"
        lines += [f"Command `{cmd}` · {_machine(d['machine'])}, one torch thread per fit · "
                  f"config {d['config']} · `{_relative(path, RESULTS.parent)}`\n"
                  + _RESTART_PILOTS.get(path.parent.name, "")
                  + _RESTART_DIAGNOSTICS.get(path.parent.name, ""),
                  "| seed | fits: accuracy / expected KL / unlabeled entropy | entropy pick "
                  + ("| consensus pick " if consensus else "")
                  + f"| average of all | average of {kept} (oracle) |",
                  "|---|---|---|---|" + ("---|" if consensus else "") + "---|"]

        def cell(sc: dict | None) -> str:
            return ("–" if sc is None else f"{100 * sc['accuracy']:.2f} / "
                    f"{sc['log_likelihood']:.4f} / KL {sc['expected_kl']:.4f}")

        for r in rows:
            fits = "; ".join(f"{100 * f['accuracy']:.2f} / {f['expected_kl']:.4f} / "
                             f"{f['unlabeled_entropy']:.3f}" for f in r["fits"])
            lines.append(f"| {r['seed']} | {fits} | {cell(r['fits'][r['entropy_pick']])} | "
                         + (f"{cell(r['fits'][r['consensus_pick']])} | " if consensus else "")
                         + f"{cell(r['average'])} | {cell(r['average_uncollapsed'])} |")
        single = [f["expected_kl"] for r in rows for f in r["fits"]
                  if f["accuracy"] >= d["collapsed_below"]]
        n_fits = sum(len(r["fits"]) for r in rows)
        both = [r for r in rows if r["average_uncollapsed"] is not None]
        picked = [r["fits"][r["entropy_pick"]] for r in rows]    # the entropy rule's choice
        best_picks = sum(p["expected_kl"] <= min(f["expected_kl"] for f in r["fits"])
                         for p, r in zip(picked, rows))
        text = [f"{below}: "
                f"{n_fits - len(single)} of {n_fits}; the entropy rule kept such a fit on "
                f"{sum(p['accuracy'] < d['collapsed_below'] for p in picked)} of "
                f"{len(rows)} seeds, and a fit with the lowest expected KL of its seed on "
                f"{best_picks}."]
        if single and both:
            text.append(
                f"Mean expected KL over the seeds: a single one of {kept} "
                f"{np.mean(single):.4f}, the entropy rule's pick "
                f"{np.mean([p['expected_kl'] for p in picked]):.4f}, the average of "
                f"all fits {np.mean([r['average']['expected_kl'] for r in rows]):.4f}, the "
                f"average of {kept} "
                f"{np.mean([r['average_uncollapsed']['expected_kl'] for r in both]):.4f} "
                "(mean log p(y|x): the pick "
                f"{np.mean([p['log_likelihood'] for p in picked]):.4f}, the average of "
                f"all {np.mean([r['average']['log_likelihood'] for r in rows]):.4f}, of "
                f"{kept} "
                f"{np.mean([r['average_uncollapsed']['log_likelihood'] for r in both]):.4f}; "
                "the Bayes classifier "
                f"{np.mean([p['bayes_log_likelihood'] for p in picked]):.4f}).")
        if consensus:
            text.append(_consensus_against_entropy(rows, path.parent.name))
        text.append(_restart_spread(rows, d["collapsed_below"], consensus))
        lines += ["", " ".join(text), ""]
    return "\n".join(lines) + "\n"


def _restart_spread(rows: list[dict], collapsed_below: float, consensus: bool) -> str:
    """How far apart the restarts of a seed scored (validation accuracy, best minus worst),
    on how many seeds every restart collapsed, and on how many each rule kept a fit within
    one point of its seed's most accurate restart (labels no estimator has: an oracle)."""
    spans = [100 * (max(f["accuracy"] for f in r["fits"]) - min(f["accuracy"] for f in r["fits"]))
             for r in rows]
    all_low = sum(all(f["accuracy"] < collapsed_below for f in r["fits"]) for r in rows)

    def near_best(pick: str) -> int:
        return sum(max(f["accuracy"] for f in r["fits"]) - r["fits"][r[pick]]["accuracy"]
                   <= 0.01 + 1e-9 for r in rows)              # 1 point, float-safe

    return (f"Within a seed the restarts' validation accuracies differed by "
            f"{min(spans):.2f}-{max(spans):.2f} points (median {np.median(spans):.2f}); on "
            f"{all_low} of {len(rows)} seeds every restart scored below "
            f"{100 * collapsed_below:.0f}%. The entropy rule kept a fit within one point of "
            f"its seed's most accurate restart on {near_best('entropy_pick')} of {len(rows)} "
            "seeds" + (f", the consensus rule on {near_best('consensus_pick')}" if consensus
                       else "") + ".")


#: the pilots' thresholds: log p(y|x) gain in nats, accuracy loss in points
_PILOT_GAIN, _PILOT_ACCURACY_LOSS = 0.005, 0.3
#: restart_average runs that were diagnostics asked a question before they ran: run name ->
#: the sentence that says so
_RESTART_DIAGNOSTICS = {
    "restart_average_sslapd_random02": (
        "A diagnostic (2026-12-07, the AMD EPYC, started while nothing else ran): with six "
        "random labels at noise 0.2 SSLAPD's config scored 75.2% (14.5) over the moons "
        "benchmark's ten test draws, one of them at 36%; on random labels drawn on the "
        "search's data seeds 10-17 (validation draws, not those test draws), do a draw's "
        "restarts disagree, so that the rule that keeps one matters, or do they fail "
        "together?  No setting is chosen from it.\n"),
    "restart_average_sslpe_random02": (
        "The same diagnostic for SSLPE (2026-12-07, the AMD EPYC, started as soon as the "
        "SSLAPD run above had ended): its config scored 71.3% (14.0) over the ten test "
        "draws with six random labels at noise 0.2, one of them at 35%.  No setting is "
        "chosen from it.\n"),
    "restart_average_m2_random02": (
        "The random-label diagnostic of the SSLAPD and SSLPE runs below, for M2 "
        "(2026-12-07, the AMD EPYC, started once those had ended; four seeds, 10-13, as "
        "the session's time allowed): M2 did best "
        "with six random labels at noise 0.2 (84.8% (5.7) over the ten test draws); do its "
        "restarts of a draw differ more?  No setting is chosen from it.\n"),
}
#: restart_average runs that were pilots with a rule fixed before they ran: run name -> the
#: sentence that says so (the verdict follows from ``_consensus_against_entropy``)
_RESTART_PILOTS = {
    "restart_average_m2": (
        "A pilot (2026-12-06, the Intel Xeon): M2's config keeps the least uncertain of five "
        "restarts, and its predictions were mostly over-confident (the section above), so "
        "would the consensus rule keep less over-confident fits?  Rule fixed before it ran: "
        f"if the consensus picks' mean validation log p(y|x) is at least {_PILOT_GAIN} nats "
        f"above the entropy picks' and their accuracy at most {_PILOT_ACCURACY_LOSS} points "
        "lower, a ten-seed stage of the moons search tries `init_selection` \"consensus\" "
        "for M2.\n"),
}
#: bayes_gap runs that were pilots with a rule fixed before they ran: run name -> the sentence
#: that says so (the verdict follows from ``_bayes_gap_pilot_verdict``), a ``string.Template``
#: filled from the run's file (``$auto_alpha``, ``$n_samples``)
_BAYES_GAP_PILOTS = {
    "bayes_gap_m2_alpha": (
        "A pilot (2026-12-06, the Intel Xeon): M2 weighs each labeled row's log q(y|x) by "
        "`alpha` = 0.1 N / N_l (Kingma et al. 2014, the reference code's rule; $auto_alpha "
        "with six labels among $n_samples rows), a weight never searched on moons, and its "
        "predictions were mostly over-confident near the boundary (above): would a smaller "
        "weight leave q(y|x) less sharp?  One fit per seed (`n_init` 1) with the reference "
        "weight and with `alpha` 50, 15 and 5.  Rule fixed before it ran: of the smaller "
        "weights whose mean "
        f"validation accuracy is at most {_PILOT_ACCURACY_LOSS} points below the reference "
        "weight's (seed by seed), the one with the highest mean validation log p(y|x) goes on "
        "to a ten-seed stage of the moons search (M2's chosen setting with that `alpha`, five "
        "restarts, ranked by the search's accuracy rule like M2's earlier stages) if its log "
        f"p(y|x) is at least {_PILOT_GAIN} nats above the reference weight's.\n"),
    "bayes_gap_m2_alpha_restarts": (
        "A second pilot (2026-12-06, the Intel Xeon, right after the first): each smaller "
        "weight of the first pilot collapsed on seed 11 (below 90% accuracy, where the "
        "reference weight scored 93.9%), while on the other three seeds `alpha` 15 raised "
        "log p(y|x) by 0.020 nats on average (50 by 0.018; 5 lowered it by 0.001), and the "
        "collapsed fits were less certain of their predictions (mean predictive entropy on "
        "the validation rows 0.137-0.159 against 0.128).  Would the config's five "
        "restarts, which keep the least uncertain fit, steer clear of the collapses?  The "
        "config with `alpha` 15 against the config itself, refitted on the same machine.  "
        "Rule fixed before it ran, with the first pilot's thresholds: if `alpha` 15's mean "
        f"validation log p(y|x) is at least {_PILOT_GAIN} nats above the config's and its "
        f"accuracy at most {_PILOT_ACCURACY_LOSS} points below (seed by seed), a ten-seed "
        "stage of the moons search follows, ranked by its accuracy rule.\n"),
}


def _consensus_against_entropy(rows: list[dict], run: str) -> str:
    """The consensus rule's picks against the entropy rule's over a restart_average run's
    seeds, and, for a pilot of ``_RESTART_PILOTS``, whether its rule was met."""
    entropy = [r["fits"][r["entropy_pick"]] for r in rows]
    consensus = [r["fits"][r["consensus_pick"]] for r in rows]
    differ = sum(r["entropy_pick"] != r["consensus_pick"] for r in rows)
    gain = float(np.mean([c["log_likelihood"] - e["log_likelihood"]
                          for c, e in zip(consensus, entropy)]))
    loss = 100 * float(np.mean([e["accuracy"] - c["accuracy"]
                                for c, e in zip(consensus, entropy)]))
    text = (f"The consensus rule kept another fit than the entropy rule on {differ} of "
            f"{len(rows)} seeds; its picks' mean expected KL "
            f"{np.mean([c['expected_kl'] for c in consensus]):.4f} against "
            f"{np.mean([e['expected_kl'] for e in entropy]):.4f}, log p(y|x) {gain:+.4f} "
            f"nats and accuracy {-loss:+.2f} points against the entropy rule's picks.")
    if run in _RESTART_PILOTS:
        met = gain >= _PILOT_GAIN and loss <= _PILOT_ACCURACY_LOSS
        text += (" The pilot's rule is met, so the stage follows." if met else
                 " The pilot's rule is not met, so no stage follows.")
    return text


#: groups of the truth's |log-odds| (lower, upper) by which the report sums the log-odds bins
#: of ``bayes_gap`` (a bin joins the group holding the |log-odds| of its edge nearer 0)
_LOG_ODDS_GROUPS = {"below 2": (0, 2), "2-6": (2, 6), "6-10": (6, 10),
                    "10 and above": (10, np.inf)}


def _log_odds_group_bins() -> dict[str, list[int]]:
    from benchmarks.bayes_gap import LOGIT_EDGES

    inner = [min(abs(lo), abs(hi)) if lo * hi > 0 else 0.0
             for lo, hi in zip(LOGIT_EDGES[:-1], LOGIT_EDGES[1:])]
    return {name: [b for b, m in enumerate(inner) if lo <= m < hi]
            for name, (lo, hi) in _LOG_ODDS_GROUPS.items()}


def _bayes_gap_log_odds(rows: list[dict], variants: list[str]) -> list[str]:
    """One sentence per variant: its expected KL by how certain the truth is on the log-odds
    scale (means over seeds), and the scatter of the model's log-odds within a bin (runs
    from 2026-11-29 on record both)."""
    out = []
    for v in variants:
        sel = [r["log_odds"] for r in rows if r["variant"] == v and "log_odds" in r]
        if not sel or any(len(b) < 6 for c in sel for b in c if b):
            continue
        parts = []
        for name, bins in _log_odds_group_bins().items():
            kl = np.mean([sum(c[b][3] for b in bins if c[b]) for c in sel])
            under = np.mean([sum(c[b][4] for b in bins if c[b]) for c in sel])
            spread = [c[b][5] for c in sel for b in bins if c[b] and c[b][2] >= 20]
            scatter = (f"; the model's log-odds scatter with std {np.mean(spread):.1f} "
                       "within a bin" if spread else "")
            parts.append(f"{name} {kl:.4f} ({100 * under / kl if kl > 0 else 0:.0f}% "
                         f"under-confident{scatter})")
        out.append(f"{_variant_name(v)[0].upper() + _variant_name(v)[1:]}, the expected KL by "
                   f"the truth's |log-odds| (bins 2 wide): " + ", ".join(parts) + ".")
    return out


def _bayes_gap_weights(rows: list[dict], variants: list[str], config: dict,
                       defaults: dict) -> list[str]:
    """One sentence per variant whose fits recorded their weight posterior (runs from
    2026-11-29 09:40 UTC on, models with Bayesian layers): per layer, the median log-variance
    and the share of weights left at noise, means over the fits, beside the start and the
    prior (the variant's, else the config's, else the estimator's ``defaults``; thesis 5.1.3:
    the variances grow from their tiny start)."""
    out = []
    for v in variants:
        sel = [r["weight_log_var"] for r in rows
               if r["variant"] == v and r.get("weight_log_var")]
        if not sel:
            continue
        params = {**defaults, **config, **json.loads(v)}
        start, prior = params["init_log_var"], f"{2 * math.log(params['prior_std']):.2f}"
        layers = "; ".join(
            f"{sel[0][i][0]}x{sel[0][i][1]}: median {np.mean([c[i][3] for c in sel]):.2f} "
            f"(10-90% {np.mean([c[i][2] for c in sel]):.2f} to "
            f"{np.mean([c[i][4] for c in sel]):.2f}), "
            f"{100 * np.mean([c[i][5] for c in sel]):.0f}% of the weights with a posterior std "
            "above their mean's magnitude"
            for i in range(len(sel[0])))
        out.append(f"{_variant_name(v)[0].upper() + _variant_name(v)[1:]}, the classifier's "
                   f"weight log-variances after training (start {start}, the prior's "
                   f"{prior}; means over {len(sel)} fits), per layer: {layers}.")
    return out


def _paired_against_first(rows: list[dict], variants: list[str]) -> dict[str, dict]:
    """For each variant after the first (the config), its fits paired with the first's on the
    same seeds: mean change of log p(y|x) (``log_lik``, nats), of the expected KL and of the
    accuracy (``accuracy``, points), the seeds where its log p(y|x) was higher, the pairs."""
    base = {r["seed"]: r for r in rows if r["variant"] == variants[0]}
    out = {}
    for v in variants[1:]:
        pairs = [(r, base[r["seed"]]) for r in rows if r["variant"] == v and r["seed"] in base]
        if pairs:
            out[v] = {
                "log_lik": float(np.mean([r["log_likelihood"] - b["log_likelihood"]
                                          for r, b in pairs])),
                "expected_kl": float(np.mean([r["expected_kl"] - b["expected_kl"]
                                              for r, b in pairs])),
                "accuracy": 100 * float(np.mean([r["accuracy"] - b["accuracy"]
                                                 for r, b in pairs])),
                "higher": sum(r["log_likelihood"] > b["log_likelihood"] for r, b in pairs),
                "n": len(pairs)}
    return out


def _bayes_gap_pairs(rows: list[dict], variants: list[str]) -> list[str]:
    """One sentence per variant against the first (the config), seed by seed: the change of
    mean log p(y|x) and of the expected KL, and on how many seeds the variant scored higher."""
    return [f"{_variant_name(v)} against {_variant_name(variants[0])}, seed by seed: "
            f"log p(y|x) {c['log_lik']:+.4f} nats (higher on {c['higher']} of {c['n']} "
            f"seeds), expected KL {c['expected_kl']:+.4f}, accuracy {c['accuracy']:+.2f} "
            "points." for v, c in _paired_against_first(rows, variants).items()]


def _bayes_gap_pilot_verdict(rows: list[dict], variants: list[str]) -> str:
    """Whether a ``_BAYES_GAP_PILOTS`` run met its rule: of the variants after the first that
    lose at most ``_PILOT_ACCURACY_LOSS`` points of accuracy against it, the one with the
    highest mean log p(y|x) goes on if it gained at least ``_PILOT_GAIN`` nats."""
    changes = _paired_against_first(rows, variants)
    eligible = {v: c for v, c in changes.items() if -c["accuracy"] <= _PILOT_ACCURACY_LOSS}
    if not eligible:
        return ("No variant stayed within the pilot's accuracy bound, so its rule is not met "
                "and no stage follows.")
    best = max(eligible, key=lambda v: eligible[v]["log_lik"])
    gain = eligible[best]["log_lik"]
    return (f"Of the variants within the pilot's accuracy bound ({len(eligible)} of "
            f"{len(changes)}), {_variant_name(best)} had the highest log p(y|x), "
            f"{gain:+.4f} nats against {_variant_name(variants[0])}: "
            + ("the pilot's rule is met, so the stage follows." if gain >= _PILOT_GAIN else
               "the pilot's rule is not met, so no stage follows."))


def batch_norm() -> str:
    head = "## Batch norm for Bayesian networks, thesis 5.3 (Figs. 5.5-5.7)\n\n"
    d = _load("batch_norm/batch_norm.json")
    cmd = "python -m benchmarks.batch_norm"
    if d is None:
        return head + _missing(cmd)
    a = d["args"]
    defaults = {"seeds": 3, "curve_seeds": 2, "epochs": 50, "n_samples": 10_000}
    cmd += "".join(f" --{k.replace('_', '-')} {a[k]}" for k, v in defaults.items()
                   if a.get(k, v) != v) + f" --n-jobs {a['n_jobs']}"
    lines = [head, f"Command `{cmd}` · {_machine(d['machine'])}, one torch thread per fit.\n",
             f"**Evaluation regimes (Fig. 5.5).** SSLAPD on the six-label moons, noise 0.1, "
             f"{a['epochs']} epochs, noise-0.1 settings of `benchmarks/configs/moons/`, "
             f"{a['seeds']} seeds; trained with the adapted batch norm (statistics of the "
             "weight-mean "
             "pre-activations, thesis 5.3) or the naive one (statistics of the sampled-weight "
             "pre-activations); evaluated with the running averages (the test regime) or with "
             "the statistics of the evaluated set as one batch (the training regime, Fig. "
             "5.5a).  *Grid accuracy*: agreement with the Bayes classifier of the moons "
             "distribution on a 200 × 200 grid over [-1.5, 2.5] × [-1, 1.5].  Maps: "
             "`benchmarks/results/batch_norm/bn_regimes.png` (seed 0).\n",
             "| trained with | evaluated with | test accuracy | test log p(y\\|x) | grid "
             "accuracy |", "|---|---|---|---|---|"]
    for r in d["summary"]["regimes"]:
        lines.append(f"| {r['trained_with']} | {r['evaluated_with']} statistics | "
                     f"{100 * r['test_accuracy_mean']:.2f} ({100 * r['test_accuracy_std']:.2f})"
                     f" | {r['test_log_likelihood_mean']:.3f} | "
                     f"{100 * r['grid_accuracy_mean']:.2f} ({100 * r['grid_accuracy_std']:.2f})"
                     " |")
    lines += ["", f"**With and without batch norm (Figs. 5.6/5.7).** {a['curve_seeds']} seeds "
              f"per setting, {a['epochs']} epochs, the moons settings with only `batch_norm` "
              "changed (the thesis tuned each variant's learning rate; we did not).  Curves of "
              "test accuracy and test ELBO per epoch: `benchmarks/results/batch_norm/"
              "bn_curves.png`.\n",
              "| noise | model | batch norm | final accuracy | Bayes classifier | first epoch "
              "within 1 point of Bayes (per seed) | final test ELBO |",
              "|---|---|---|---|---|---|---|"]
    for c in d["summary"]["curves"]:
        reach = ", ".join("never" if e is None else str(e)
                          for e in c["epochs_to_bayes_minus_1pt"])
        lines.append(f"| {c['noise']} | {c['model']} | {'yes' if c['batch_norm'] else 'no'} | "
                     f"{c['final_accuracy_mean']:.2f} ({c['final_accuracy_std']:.2f}) | "
                     f"{c['bayes_accuracy_mean']:.2f} | {reach} | {c['final_elbo_mean']:.3f} |")
    return "\n".join(lines) + "\n"


def denormals() -> str:
    head = ("## Subnormal floats on the CPU (before and after flushing them)\n\n")
    d = _load("denormals/denormals.json")
    if d is None:
        return head + _missing("python -m benchmarks.denormals --data ../shared/data/mnist.npz")
    a = d["args"]
    lines = [head, "Training on MNIST drives some gradients, and Adam's averages of their "
             "squares, below the smallest normal float32 (1.2e-38); x86 CPUs compute on such "
             "subnormal numbers many times slower, so epochs grew as training went on (an "
             "MNIST validation fit at lr 1.5e-3 slowed from 37.7 s to 111.1 s per epoch "
             "within nine epochs and was stopped: its log is "
             "`results/denormals/mnist_val20_sslpe_lr15_stopped.log`).  "
             "The estimators now treat subnormals as zero while they train and "
             "predict on the CPU (`torch.set_flush_denormal`, the caller's mode restored "
             "after).  The same SSLPE fit (same seed, data and binarisation draws), once with "
             "the package's code and once with the flush replaced by a no-op (the code "
             "before):\n",
             f"Command `python -m benchmarks.denormals --data ../shared/data/mnist.npz` "
             f"({a['n_train']:,} training rows, {a['labels']} labels per class, lr {a['lr']}, "
             f"{a['epochs']} epochs, nets 500-500, latent 100, pixels binarised per batch, "
             f"{d['threads']} torch thread) · {_machine(d['machine'])} · "
             "`results/denormals/denormals.json`\n",
             "| subnormals | seconds per epoch | fit (s) | test accuracy | test log p(y\\|x) |",
             "|---|---|---|---|---|"]
    for r in d["rows"]:
        lines.append(f"| {'flushed (now)' if r['flush_denormals'] else 'kept (before)'} | "
                     + " ".join(f"{s:.1f}" for s in r["epoch_seconds"])
                     + f" | {r['fit_seconds']:.0f} | {100 * r['accuracy']:.2f} | "
                     f"{r['log_likelihood']:.3f} |")
    lines.append(f"\nThe last epoch took {d['last_epoch_ratio']:.1f} times as long with "
                 f"subnormals kept, the whole fit {d['fit_ratio']:.2f} times.")
    rerun = _load("mnist_val20_sslpe_lr15/mnist.json")
    if rerun is not None:
        r = rerun["rows"][0]
        lines.append(f"  The stopped validation fit, rerun with the flush "
                     f"(`results/mnist_val20_sslpe_lr15`): {r['epochs']} epochs in "
                     f"{r['seconds']:.0f} s, {r['seconds'] / r['epochs']:.0f} s per epoch on "
                     "average (evaluation included).")
    lines.append("")
    return "\n".join(lines) + "\n"


def _mnist_current_settings(run: dict, model: str, labels_per_class: int,
                            current: dict) -> bool:
    """Whether ``model``'s fit at ``labels_per_class`` in an MNIST ``run`` had the settings its
    config file gives it today (parameters besides the epochs, and the callbacks), with no
    ``--set`` change."""
    from benchmarks._common import effective_params

    old, new = run.get("config", {}).get(model), current.get(model)
    if not old or not new or json.loads(run["args"].get("set") or "{}").get(model):
        return False

    def settings(spec: dict) -> tuple:
        params = effective_params(spec, None, labels_per_class)
        params.pop("max_epochs", None)
        return params, spec.get("callbacks", [])

    return settings(old) == settings(new)


def _glance_moons() -> list[str]:
    files = sorted(RESULTS.glob("moons*/moons.json"))
    newest = _newest_moons_runs(files, "fixed")
    lines = ["**Moons, six fixed labels** (thesis Tables 5.1/5.2; the newest run of each "
             "model, 5 seeds; the table *Six fixed labels* below has the details).  Target: "
             "each model at or above its thesis number.  *Test rows*: separate test points "
             "(our protocol); *training rows*: the unlabeled training points, the kind of "
             "points the reference code tested on (its test set was its training set).\n",
             "| noise | model | thesis accuracy / log p(y\\|x) | test rows | training rows | "
             "met on test rows | met on training rows |", "|---|---|---|---|---|---|---|"]
    met = {"test": 0, "train": 0}
    total = 0
    for (noise, model), (s, _run, _cfg) in sorted(newest.items()):
        ta, tl = s["thesis_accuracy"], s["thesis_log_lik"]
        if ta is None:
            continue
        total += 1
        test_ok = s["accuracy_mean"] >= ta and (tl is None or s["log_lik_mean"] >= tl)
        train_acc = s.get("train_accuracy_mean")
        train_ll = s.get("train_log_lik_mean")
        train_ok = (train_acc is not None and train_acc >= ta
                    and (tl is None or (train_ll is not None and train_ll >= tl)))
        met["test"] += test_ok
        met["train"] += train_ok
        thesis = f"{ta}" + ("" if tl is None else f" / {tl}")
        ours = f"{s['accuracy_mean']:.2f}" + ("" if tl is None else f" / {s['log_lik_mean']:.3f}")
        train = ("–" if train_acc is None else f"{train_acc:.2f}"
                 + ("" if tl is None or train_ll is None else f" / {train_ll:.3f}"))
        lines.append(f"| {noise} | {model} | {thesis} | {ours} | {train} | "
                     f"{'yes' if test_ok else '**no**'} | {'yes' if train_ok else '**no**'} |")
    lines.append(f"\nAt or above the thesis (accuracy, and log p(y|x) where it prints one): "
                 f"{met['test']} of {total} on the test rows, {met['train']} of {total} on the "
                 f"training rows.  " + _bayes_line() + _bayes_gap_line())
    return lines


def _bayes_gap_line() -> str:
    """One sentence per model from the ``bayes_gap`` runs (their config's fits): how far its
    probabilities are from the true posterior, and how much of that is over-confidence.

    A model's sentence comes from the newest run with a fit on the settings its config file
    holds now: the run's config fit (variant ``{}``), or a variant that, laid over the run's
    config, gives those settings (a pilot whose setting the config has since taken).  Where
    no run has one, the newest config fit stands, marked as on changed settings."""
    from benchmarks._common import load_config

    def settings(d: dict, variant: str) -> dict:
        return {**d["config"], **(json.loads(variant) if variant.strip() else {})}

    parts = []
    runs = sorted(((path.parent.name, json.loads(path.read_text()))
                   for path in RESULTS.glob("bayes_gap*/bayes_gap.json")),
                  key=lambda named: named[1]["machine"]["date"])
    # per model and noise: the newest run's fit on the current settings, else the newest
    # config fit ("{}"; several runs have one, and a pilot may vary it from another start)
    current, fallback = {}, {}
    for name, d in runs:
        key = (d["args"]["model"], d["args"]["noise"])
        now = load_config("moons", *key)[1]
        for s in sorted(d["summary"], key=lambda s: s["variant"] not in ("{}", "")):
            if s["expected_kl"] <= 0:
                continue
            if s["variant"] in ("{}", ""):
                fallback[key] = (name, s, True)
            if settings(d, s["variant"]) == now:
                current[key] = (name, s, s["variant"] in ("{}", ""))
                break
    for key, (name, s, is_config_fit) in sorted({**fallback, **current}.items()):
        model, noise = key
        where = ""
        if key not in current:
            where = ", on settings its config file has since changed"
        elif not is_config_fit:
            where = (f", from the `{s['variant']}` variant of `{name}`, the settings its "
                     f"config file has since taken")
        parts.append(f"{model} at noise {noise} {s['expected_kl']:.3f} nats per row "
                     f"({100 * s['kl_overconfident'] / s['expected_kl']:.0f}% of it "
                     f"over-confident){where}")
    if not parts:
        return ""
    return ("Where the log p(y|x) gaps lie (the section *Moons log p(y|x) against the Bayes "
            "classifier*): the expected KL of each config's predictions from the true "
            "posterior on validation draws, " + "; ".join(parts) + ".\n")


def _is_quick_profile(args: dict) -> bool:
    """Whether an MNIST run is the plain ``--quick`` command on the CPU (its labels, splits
    and epochs, no other settings)."""
    from benchmarks.mnist import PROFILES

    quick = PROFILES["quick"]
    return (args.get("profile") == "quick" and args.get("device", "cpu") == "cpu"
            and sorted(args.get("labels") or []) == sorted(quick["labels"])
            and args.get("epochs") == quick["epochs"]
            and args.get("splits", quick["splits"]) == quick["splits"]
            and not args.get("first_split")
            and not args.get("validation") and not json.loads(args.get("set") or "{}")
            and not args.get("n_train") and not args.get("n_test"))


def _glance_mnist() -> list[str]:
    from benchmarks._common import read_configs

    current = read_configs("mnist")
    runs = []
    for path in sorted(RESULTS.glob("mnist*/mnist.json")):
        d = json.loads(path.read_text())
        if not d["args"].get("validation"):
            runs.append((path.parent.name, d))
    quick, thesis = {}, {}
    draws = {}      # (labels, model) -> epochs -> split -> (run name, accuracy %)
    for name, d in sorted(runs, key=lambda r: r[1]["machine"].get("date", "")):
        for s in d["summary"]:
            key = (s["labels_per_class"], s["model"])
            if s["thesis_accuracy"] is None:
                continue
            thesis[key] = (s["thesis_accuracy"], s.get("thesis_accuracy_std"))
            if not _mnist_current_settings(d, s["model"], s["labels_per_class"], current):
                continue
            if _is_quick_profile(d["args"]):
                quick[key] = (name, s)                      # the newest quick-profile run
            for r in d.get("rows", []):
                if (r["labels_per_class"], r["model"]) == key:   # the newest fit of a split
                    draws.setdefault(key, {}).setdefault(r["epochs"], {})[r["split"]] = (
                        name, 100 * r["accuracy"])
    lines = ["**MNIST** (thesis Table 5.3, accuracy %; the thesis trained 100-150 epochs on "
             "five label draws and prints mean (std) over them).  Target: state the gap of "
             "the `--quick` profile honestly.  Only fits on today's settings of each model's "
             "config file count here: *quick profile*, the newest run of `python -m "
             "benchmarks.mnist --quick` (8 epochs, one label draw, a 2-core CPU); *most "
             "epochs*, the fit that trained that model longest on those settings, on one label "
             "draw (each fit of a several-draw run counts on its own; of equals, the lowest "
             "split, then the newest: split 0 is the draw every model has); *label draws*, "
             "mean (std) of the test accuracy over the label draws (splits) fitted for the "
             "same number of epochs, the newest fit of each split, from every run that has "
             "one (the epochs with the most draws; std over the draws, as in the run "
             "tables), where there are two or more.\n",
             "| labels/class | model | thesis | quick profile (gap) | most epochs (gap) | "
             "epochs, run | label draws: mean (std) (gap) | draws, epochs, runs |",
             "|---|---|---|---|---|---|---|---|"]

    def gap(acc: float, key: tuple) -> str:
        return f"{acc:.2f} ({acc - thesis[key][0]:+.2f})"

    for key in sorted(thesis):
        q = quick.get(key)
        cell_q = "–" if q is None else gap(q[1]["accuracy_mean"], key)
        cell_l = where = cell_d = where_d = "–"
        by_epochs = draws.get(key, {})
        if by_epochs:
            # most epochs: the newest fit with the most epochs, of those the lowest split
            # (split 0: the draw every model has, so the column compares models on the same
            # labels); each fit of a several-split run counts on its own
            most = max(by_epochs)
            name, acc = by_epochs[most][min(by_epochs[most])]
            cell_l, where = gap(acc, key), f"{most}, `{name}`"
            epochs = max(by_epochs, key=lambda e: (len(by_epochs[e]), e))
            fits = by_epochs[epochs]
            if len(fits) >= 2:
                acc = np.array([a for _, a in fits.values()])
                cell_d = f"{acc.mean():.2f} ({acc.std():.2f}) ({acc.mean() - thesis[key][0]:+.2f})"
                names = sorted({n for n, _ in fits.values()})
                where_d = (f"{len(fits)} (splits {', '.join(map(str, sorted(fits)))}), "
                           f"{epochs}, " + ", ".join(f"`{n}`" for n in names))
        shown = f"{thesis[key][0]}" + ("" if thesis[key][1] is None else f" ({thesis[key][1]})")
        lines.append(f"| {key[0]} | {key[1]} | {shown} | {cell_q} | {cell_l} | {where} | "
                     f"{cell_d} | {where_d} |")
    return lines + [""]


def _glance_speed() -> list[str]:
    from benchmarks.speed import TARGET_FRACTION, TARGET_RATIO

    paths = _current_cpu_speed_runs()
    runs = [json.loads(p.read_text()) for p in paths]
    if not runs:
        return []
    steps = ("SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn", "SSLAPD_bn")

    # each entry: what, target, the measured values of each run (one per variant), what a
    # value is
    least = f"at least {TARGET_FRACTION:.0%}"
    rows = [("training step, skdgm ÷ plain PyTorch", f"at most {TARGET_RATIO}",
             [[d["summary"][k]["ratio"] for k in steps] for d in runs], "ratio"),
            ("training step, share of the 2048² matmul rate", least,
             [[d["summary"][k]["fraction_of_matmul"] for k in steps] for d in runs], "share"),
            ("Gibbs `predict_proba`, 10k rows, T = 10, share of the matmul rate", least,
             [[d["prediction"][m]["predict_proba"]["fraction_of_matmul"]
               for m in ("SSLPE", "SSLAPD")] for d in runs], "share"),
            ("Monte-Carlo sampling of a BALD query (SSLAPD), share of the matmul rate",
             least, [[_bald_pool(d)["fraction_of_matmul"]] for d in runs], "share")]
    lines = [f"**Speed on the 2-core CPU** (MNIST-size nets; {len(runs)} runs of "
             "`python -m benchmarks.speed --quick --threads 2` on the current code, on "
             f"{_cpu_names(runs)} development machine{'s' if ' and ' in _cpu_names(runs) else ''}"
             "; each share against the "
             "2048² matmul rate measured in its own run; training steps of SSLPE and SSLAPD "
             "with and without batch norm, predictions of SSLPE and SSLAPD; details under "
             "*Speed on MNIST-size networks*).\n",
             "| what | target | range over the runs | measurements that meet it |",
             "|---|---|---|---|"]
    met_all = [True] * len(runs)         # a run meets every target when all its values do
    for what, target, per_run, kind in rows:
        fmt = (lambda v: f"{v:.2f}") if kind == "ratio" else (lambda v: f"{v:.0%}")
        ok = [[v <= TARGET_RATIO if kind == "ratio" else v >= TARGET_FRACTION for v in vs]
              for vs in per_run]
        met_all = [m and all(o) for m, o in zip(met_all, ok)]
        values = [v for vs in per_run for v in vs]
        lines.append(f"| {what} | {target} | {fmt(min(values))}–{fmt(max(values))} | "
                     f"{sum(map(sum, ok))} of {len(values)} |")
    every = [p.parent.name for p, m in zip(paths, met_all) if m]
    lines += ["", f"Runs that met every target at once: {len(every)} of {len(runs)}"
              + (f" ({', '.join(f'`{n}`' for n in every)})" if every else "") + "."]
    return lines + [""]


def at_a_glance() -> str:
    """The benchmark issue's targets in one place, each from the runs the sections below show
    in full: moons against Tables 5.1/5.2, the MNIST gap to Table 5.3, the CPU speed
    targets."""
    lines = ["## At a glance: the targets\n"]
    lines += _glance_moons() + _glance_mnist() + _glance_speed()
    return "\n".join(lines) + "\n"


def main() -> None:
    print("# skdgm benchmarks\n")
    print("Generated by `python -m benchmarks.report > BENCHMARKS.md` from the JSON files in "
          "`benchmarks/results/`; each section names the command that produced its file, the "
          "machine and the date.  Machines: the 2-core CPU development machine (an AMD EPYC until "
          "the afternoon of 2026-11-26, then an Intel Xeon with a much faster matmul, and an "
          "AMD EPYC again from the evening of 2026-11-27: each result names its CPU), and a lent "
          "machine with an NVIDIA H100 and 16 CPU cores (used for its GPU and, for the "
          "many-fit accuracy tables, for its CPU cores), and on 2026-11-26 one with an NVIDIA "
          "H200 (GPU speed, MNIST on the GPU, the CUDA tests); on 2026-11-27 an H100 again "
          "(GPU speed and pass length, BatchBALD on the GPU, MNIST at 48 epochs, the CUDA "
          "tests).  Results carry their dates: the "
          "evaluation-time batch-norm folding (2026-11-25 ~16:00 UTC) and the once-per-row "
          "first-layer x-part (~16:25 UTC) changed speed, not the mathematics, so earlier "
          "accuracy results stand; timings before them are of the slower code.\n")
    for section in (at_a_glance, demo, fit_time, weighting, moons, moons_search, collapse,
                    bayes_gap, restart_average,
                    batch_norm, mnist, active_learning, speed, step_profile, predict_chunk,
                    denormals, batch_bald_speed):
        print(section())


if __name__ == "__main__":
    main()
