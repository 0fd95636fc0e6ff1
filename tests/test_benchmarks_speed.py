"""End-to-end run of the speed benchmark on a tiny configuration."""

from __future__ import annotations

import csv
import json

import pytest

speed = pytest.importorskip("benchmarks.speed")
pytest.importorskip("matplotlib")


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and x > 0


def test_tiny_run_writes_results(tmp_path):
    speed.main(["--tiny", "--out", str(tmp_path), "--threads", "1"])
    res = json.loads((tmp_path / "speed.json").read_text())
    assert {"meta", "profile", "notes", "matmul", "training", "prediction", "scaling",
            "summary"} <= res.keys()
    assert res["meta"]["torch_threads"] == 1
    assert res["command"] == "python -m benchmarks.speed --tiny --threads 1"
    assert {"date", "platform", "cpu_model", "torch", "device", "device_name"} <= res["meta"].keys()
    assert _positive(res["matmul"]["reference_gflops_per_s"])

    for name in ("SSLPE", "SSLAPD"):
        for variant in ("no_bn", "bn"):
            r = res["training"][name][variant]
            for impl in ("skdgm", "plain"):
                assert _positive(r[impl]["step_s"])
                assert _positive(r[impl]["epoch_s"])
            assert _positive(r["ratio_skdgm_over_plain"])
            assert _positive(r["skdgm_rate"]["gflops_per_s"])
            # the matmul rate probed right before and after the timing, and the share of it
            adj = r["skdgm_rate"]["adjacent_matmul"]
            assert adj["gflops_per_s"] == max(adj["before"], adj["after"]) > 0
            assert r["skdgm_rate"]["fraction_of_adjacent_matmul"] == pytest.approx(
                r["skdgm_rate"]["gflops_per_s"] / adj["gflops_per_s"])
            flops = r["flops_per_step"]
            # the analytic count of the concatenated-input step equals the counter on the plain
            # step; skdgm computes the x-part of first layers once per row, so it does less
            assert flops["exact"] == flops["counted_plain"] > 0
            assert 0 < flops["counted"] < flops["counted_plain"]
            assert flops["nominal_3x_forward"] >= flops["exact"]
        pred = res["prediction"][name]
        assert pred["predict_proba"]["flops_analytic"] == pytest.approx(
            pred["predict_proba"]["flops_counted"])
        assert _positive(pred["predict_proba"]["seconds"])
        query = pred[f"pool_{res['profile']['pool_rows'][0]}"]
        for key in ("predict_proba_samples_s", "bald_query_s", "gflops_per_s",
                    "fraction_of_adjacent_matmul"):
            assert _positive(query[key])
        assert _positive(pred["predict_proba"]["fraction_of_adjacent_matmul"])
        assert (name == res["profile"]["batchbald_model"]) == _positive(query.get("batch_bald_s"))
    # SSLAPD's weight-mean batch norm adds matmuls; SSLPE's batch norm does not
    assert (res["training"]["SSLAPD"]["bn"]["flops_per_step"]["exact"]
            > res["training"]["SSLAPD"]["no_bn"]["flops_per_step"]["exact"])

    scaling = res["scaling"]["SSLPE"]
    for key, _, ykey, _ in speed.SCALING_PANELS:
        assert scaling[key] and all(_positive(p[ykey]) for p in scaling[key])
    for key, val in res["summary"].items():
        if isinstance(val, dict):
            assert _positive(val["epoch_s"]), key

    with open(tmp_path / "speed.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(float(r["seconds"]) > 0 for r in rows)
    assert any(r["fraction_of_adjacent_matmul"] for r in rows)
    # the report renders the new columns (and old results without them)
    table = speed.render_markdown(res)
    assert "share of adjacent matmul rate" in table and "% (of " in table
    assert (tmp_path / "speed.png").stat().st_size > 0


def test_batchbald_max_pool_leaves_larger_pools_out(tmp_path):
    res = speed.main(["--tiny", "--out", str(tmp_path), "--threads", "1", "--no-baselines",
                      "--batchbald-max-pool", "10"])
    pool = res["profile"]["pool_rows"][0]
    assert pool > 10 and res["profile"]["batchbald_max_pool"] == 10
    query = res["prediction"]["SSLAPD"][f"pool_{pool}"]
    assert _positive(query["bald_query_s"]) and "batch_bald_s" not in query
    assert "--batchbald-max-pool 10" in res["command"] and "--no-baselines" in res["command"]
    assert res["command"] in speed.render_markdown(res)


def test_flop_formulas_match_counter():
    """The analytic training FLOPs equal FlopCounterMode's count on the plain module."""
    import torch

    prof = speed.PROFILES["tiny"]
    x_l = torch.rand(5, prof.n_features)
    y_l = torch.arange(5) % prof.n_classes
    x_u = torch.rand(7, prof.n_features)
    for bayesian in (False, True):
        for bn in (False, True):
            model = speed.PlainSSL(prof.n_features, prof.n_classes, prof.n_latent, prof.hidden,
                                   bayesian, bn)
            counted = speed.count_flops(lambda m=model: m.loss(x_l, y_l, x_u, 1.0, 10).backward())
            expected = speed.ssl_train_flops(prof, 5, 7, prof.n_classes, bayesian, bn)["exact"]
            assert counted == expected


def test_step_profile_tiny_splits_the_step_into_groups(tmp_path):
    from benchmarks import step_profile

    res = step_profile.main(["--tiny", "--out", str(tmp_path), "--threads", "1", "--steps", "2",
                             "--timed", "3", "--name", "before"])
    assert res == json.loads((tmp_path / "before.json").read_text())
    assert res["command"] == "python -m benchmarks.step_profile --tiny --threads 1 --name before"
    assert set(res["steps"]) == {"SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn", "SSLAPD_bn"}
    for key, step in res["steps"].items():
        groups = step["groups_ms_per_step"]
        assert groups["matmul"] > 0
        # the groups partition the operator time: they add up to it and give the matmul share
        assert sum(groups.values()) == pytest.approx(step["operator_ms_per_step_profiled"])
        assert step["matmul_time_share"] == pytest.approx(
            groups["matmul"] / step["operator_ms_per_step_profiled"])
        assert step["flops_per_step"] > 0 and len(step["step_s_all"]) == 3
        assert step["matmul_kernel_gflops_per_s"] == pytest.approx(
            step["flops_per_step"] / groups["matmul"] / 1e6)
        assert all(op["group"] == step_profile.group_of(name)
                   for name, op in step["top_ops"].items())
        if key.startswith("SSLAPD"):   # the weight draw of Bayes-by-backprop
            assert groups["random numbers"] > 0
    assert set(res["prediction"]) == {"SSLPE_predict_proba", "SSLPE_BALD_sampling",
                                      "SSLAPD_predict_proba", "SSLAPD_BALD_sampling"}
    for key, call in res["prediction"].items():
        groups = call["groups_ms_per_step"]
        assert sum(groups.values()) == pytest.approx(call["operator_ms_per_step_profiled"])
        assert call["flops_per_step"] > 0 and call["rows"] == 64
        assert call["n_draws"] == (3 if key.endswith("sampling") else 1)
        # every listed matmul shape has its FLOPs from the operand shapes, and they cannot
        # add up to more than the counted FLOPs of the call
        shapes = call["matmul_shapes"]
        assert shapes and all(r["gflops_per_s"] > 0 for r in shapes)
        assert sum(r["gflops_per_s"] * r["self_ms_per_step"] * 1e6 for r in shapes) <= (
            call["flops_per_step"] * 1.0001)
    assert step_profile.group_of("aten::addmm") == "matmul"
    assert step_profile.group_of("aten::exp") == "other elementwise and reductions"
    for entry in [*res["steps"].values(), *res["prediction"].values()]:
        # the replayed matmuls are all of the call's: the FLOPs from their recorded shapes
        # are the ones FlopCounterMode counted
        rep = entry["matmul_replay"]
        assert rep["calls"] > 0 and rep["flops"] == entry["flops_per_step"]
        assert rep["gflops_per_s"] == pytest.approx(rep["flops"] / rep["seconds"] / 1e9)
        assert rep["other_seconds"] == pytest.approx(entry["step_s_unprofiled"] - rep["seconds"])
    table = step_profile.render_markdown(res)
    assert table.count("\n| SSL") == 16


def test_predict_chunk_tiny_times_every_chunk_size(tmp_path):
    import skdgm.base
    from benchmarks import predict_chunk

    before = skdgm.base.PREDICT_CHUNK
    res = predict_chunk.main(["--profile", "tiny", "--rows", "32", "--repeats", "2",
                              "--chunks", "32", "8", "--threads", "1", "--out", str(tmp_path)])
    assert skdgm.base.PREDICT_CHUNK == before          # restored
    assert res["device"] == "cpu" and res["constant"] == "PREDICT_CHUNK"
    assert "--device" not in res["command"]
    assert res == json.loads((tmp_path / "predict_chunk.json").read_text())
    assert {(r["model"], r["call"], r["chunk"]) for r in res["rows"]} == {
        (m, c, k) for m in ("SSLPE", "SSLAPD") for c in predict_chunk.CALLS for k in (32, 8)}
    for row in res["rows"]:
        assert len(row["all_s"]) == 2 and row["best_s"] == min(row["all_s"])
        ref = next(r for r in res["rows"] if (r["model"], r["call"], r["chunk"])
                   == (row["model"], row["call"], 32))
        assert row["median_vs_chunk_32"] == pytest.approx(row["median_s"] / ref["median_s"])
    table = predict_chunk.render_markdown(res)
    assert table.count("\n| SSL") == 4 and "8 rows/pass" in table



def test_compile_check_tiny_times_eager_against_compiled_steps(tmp_path):
    from benchmarks import compile_check

    res = compile_check.main(["--tiny", "--out", str(tmp_path), "--threads", "1", "--modes",
                              "default", "--backend", "aot_eager", "--steps", "2",
                              "--rounds", "2"])
    assert res == json.loads((tmp_path / "compile_check.json").read_text())
    assert res["command"] == ("python -m benchmarks.compile_check --tiny --threads 1 --modes "
                              "default --backend aot_eager")
    assert set(res["steps"]) == {"SSLPE_no_bn", "SSLPE_bn", "SSLAPD_no_bn", "SSLAPD_bn"}
    for step in res["steps"].values():
        eager, compiled = step["eager"], step["default"]
        # the objective traces as one graph, and (same noise, no inductor) the same loss
        assert compiled["graphs"] == 1 and compiled["graph_breaks"] == 0
        assert compiled["first_loss"] == pytest.approx(eager["first_loss"], rel=1e-5)
        assert len(compiled["block_medians_s"]) == 2
        assert compiled["vs_eager"] == pytest.approx(compiled["step_s"] / eager["step_s"])
    table = compile_check.render_markdown(res)
    assert table.count("\n| SSL") == 4


def test_replay_matmuls_records_forward_and_backward_products():
    import torch

    from benchmarks.step_profile import replay_matmuls

    a = torch.randn(3, 4, requires_grad=True)
    w, bias = torch.randn(5, 4), torch.randn(5)

    def fn():
        # addmm with a broadcast bias forward; one mm backward (only ``a`` needs a gradient)
        torch.nn.functional.linear(a, w, bias).sum().backward()

    rep = replay_matmuls(fn, step_s=1.0, repeats=2)
    assert rep["calls"] == 2
    assert rep["flops"] == 2 * 3 * 4 * 5 * 2
    assert 0 < rep["seconds"] < 1.0 and rep["other_seconds"] == pytest.approx(1.0 - rep["seconds"])
