"""The SSLDGM module: batched bounds vs explicit loops, batch norm of thesis 5.3, Gibbs."""

import pytest
import torch
from torch.nn import functional as F

from skdgm.nn.elbo import kl_standard_normal
from skdgm.nn.layers import BayesianMLP, MeanWeightBatchNorm, _ReferenceBatchNorm
from skdgm.nn.ssl_dgm import SSLDGM


def _model(bayesian=False, batch_norm=False, likelihood="gaussian", seed=0):
    torch.manual_seed(seed)
    return SSLDGM(n_features=3, n_classes=4, n_latent=2, hidden=(8,), likelihood=likelihood,
                  batch_norm=batch_norm, bayesian=bayesian, init_log_var=-3.0).double()


@pytest.mark.parametrize("bayesian", [False, True])
@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_bounds_match_explicit_per_class_loop(monkeypatch, bayesian, likelihood):
    """Batched enumeration of all classes == a per-row, per-class loop (z at its mean, W at
    its mean, so both sides see the same randomness)."""
    model = _model(bayesian, likelihood=likelihood)
    g = torch.Generator().manual_seed(1)
    x_l = torch.rand(3, 3, generator=g, dtype=torch.float64)
    y_l = torch.tensor([0, 3, 1])
    x_u = torch.rand(5, 3, generator=g, dtype=torch.float64)
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)
    if bayesian:
        monkeypatch.setattr(model, "sample_classifier_weights", lambda n, g=None: None)
    beta = 0.3
    out = model.bounds(x_l, y_l, x_u, kl_weight=beta)

    def bound(x, k):
        y = F.one_hot(torch.tensor([k]), 4).double()
        mean, log_var = model.encode_z(x[None], y)
        log_px = model.likelihood.log_prob(x[None], model.decoder_x(mean))
        logits = model.classifier_logits(x[None, None], mean[None])[0]
        log_py = torch.log_softmax(logits, -1)[0, k]
        return (log_px - beta * kl_standard_normal(mean, log_var))[0] + log_py

    for i in range(3):
        assert out["labeled"][i].item() == pytest.approx(bound(x_l[i], int(y_l[i])).item())
        log_q = torch.log_softmax(model.encoder_y(x_l[i:i + 1]), -1)[0, y_l[i]]
        assert out["log_qy"][i].item() == pytest.approx(log_q.item())
    for i in range(5):
        q = torch.softmax(model.encoder_y(x_u[i:i + 1]), -1)[0]
        expected = sum(q[k] * (bound(x_u[i], k) - torch.log(q[k])) for k in range(4))
        assert out["unlabeled"][i].item() == pytest.approx(expected.item())


def test_objective_weights_parts_as_documented():
    model = _model()
    torch.manual_seed(0)
    x_l, y_l, x_u = torch.rand(2, 3).double(), torch.tensor([1, 2]), torch.rand(4, 3).double()
    torch.manual_seed(5)
    terms = model.bounds(x_l, y_l, x_u)
    torch.manual_seed(5)
    out = model.objective(x_l, y_l, x_u, labeled_weight=0.5, alpha=7.0, n_train=10)
    expected = -(terms["unlabeled"].mean() + 0.5 * terms["labeled"].mean()
                 + 7.0 * terms["log_qy"].mean())
    assert out["loss"].item() == pytest.approx(expected.item())


def test_objective_counts_weight_kl_once_per_pass():
    model = _model(bayesian=True)
    x_l, y_l, x_u = torch.rand(2, 3).double(), torch.tensor([1, 2]), torch.rand(4, 3).double()
    torch.manual_seed(5)
    a = model.objective(x_l, y_l, x_u, n_train=10)["loss"]
    torch.manual_seed(5)
    b = model.objective(x_l, y_l, x_u, n_train=20)["loss"]
    # loss = -data + KL/n: halving 1/n removes half the KL
    assert (a - b).item() == pytest.approx(model.global_kl().item() / 20)


def test_objective_without_unlabeled_rows():
    model = _model()
    out = model.objective(torch.rand(3, 3).double(), torch.tensor([0, 1, 2]),
                          torch.zeros(0, 3).double())
    assert torch.isfinite(out["loss"])
    assert out["unlabeled_bound"].item() == 0.0


def test_mean_weight_batch_norm_statistics_do_not_depend_on_weight_draw():
    torch.manual_seed(0)
    net = BayesianMLP(3, 2, hidden=(5,), batch_norm=True, init_log_var=-1.0).double()
    x = torch.randn(1, 16, 3, dtype=torch.float64)
    lin, bn = net.linears[0], net.norms[0]
    a_mean = lin.mean_forward(x)
    for _ in range(3):
        w = lin.sample_weights(1)
        a = lin(x, w)
        expected = (a - a_mean.mean((0, 1))) / torch.sqrt(a_mean.var((0, 1), unbiased=False)
                                                          + bn.eps)
        torch.testing.assert_close(bn(a, a_mean), expected)


def test_mean_weight_batch_norm_train_and_eval_agree():
    """With running statistics equal to the batch's mean-weight statistics and (near) zero
    weight variance, training-mode and evaluation-mode outputs coincide (Fig. 5.5c)."""
    torch.manual_seed(0)
    net = BayesianMLP(3, 2, hidden=(6, 6), batch_norm=True, init_log_var=-40.0).double()
    for norm in net.norms:
        norm.momentum = 1.0  # running stats := this batch's statistics
    x = torch.randn(1, 64, 3, dtype=torch.float64)
    net.train()
    out_train = net(x, net.sample_weights(1))
    net.eval()
    out_eval = net(x, net.sample_weights(1))
    # running_var is the unbiased variance; training normalises with the biased one
    torch.testing.assert_close(out_train, out_eval, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_single_draw_without_draw_dimension_matches_one_batched_draw(batch_norm):
    """``sample_weights(None)`` (the training step's draw, run as plain matmuls) draws the same
    weights as ``sample_weights(1)`` from the same generator and gives the same outputs."""
    net = BayesianMLP(3, 2, hidden=(5, 4), batch_norm=batch_norm, init_log_var=-1.0).double()
    x = torch.randn(16, 3, dtype=torch.float64)
    w_flat = net.sample_weights(None, torch.Generator().manual_seed(3))
    w_batched = net.sample_weights(1, torch.Generator().manual_seed(3))
    for (w, b), (wb, bb) in zip(w_flat, w_batched):
        assert w.dim() == 2 and b.dim() == 1
        torch.testing.assert_close(w, wb[0])
        torch.testing.assert_close(b, bb[0])
    for train in (True, False):
        net.train(train)
        torch.testing.assert_close(net(x, w_flat), net(x[None], w_batched)[0])


def test_naive_batch_norm_statistics_follow_the_draw():
    bn = MeanWeightBatchNorm(4, statistics="sampled")
    a = torch.randn(32, 4) * 3 + 1
    out = bn(a, torch.zeros_like(a))
    torch.testing.assert_close(out.mean(0), torch.zeros(4), atol=1e-5, rtol=0)


def _reference_batch_norm(a, ref, weight, bias, eps):
    """Eq. 5.10 written with autograd: normalise ``a`` with the biased moments of ``ref``."""
    mean, var = ref.mean(0), ref.var(0, unbiased=False)
    return (a - mean) / torch.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("same", [False, True])
def test_reference_batch_norm_gradient_passes_gradcheck(same):
    g = torch.Generator().manual_seed(0)
    a = (torch.randn(9, 3, generator=g, dtype=torch.float64) * 2 + 1).requires_grad_()
    ref = a if same else (torch.randn(9, 3, generator=g, dtype=torch.float64) - 0.5
                          ).requires_grad_()
    w = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)

    def fn(a, ref, w, b):
        return _ReferenceBatchNorm.apply(a, a if same else ref, w, b, 1e-3)[0]

    assert torch.autograd.gradcheck(fn, (a, ref, w, b))


@pytest.mark.parametrize("statistics", ["weight_means", "sampled"])
def test_mean_weight_batch_norm_matches_the_formula_with_autograd(statistics):
    """Outputs, every gradient and the running averages equal eq. 5.10 differentiated by
    autograd (the layer writes its backward by hand)."""
    g = torch.Generator().manual_seed(1)
    a0 = torch.randn(2, 16, 5, generator=g, dtype=torch.float64) * 3 + 2
    r0 = a0 + 0.3 * torch.randn(2, 16, 5, generator=g, dtype=torch.float64)
    up = torch.randn(2, 16, 5, generator=g, dtype=torch.float64)
    bn = MeanWeightBatchNorm(5, statistics=statistics).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0, generator=g)
        bn.bias.normal_(generator=g)
    w, b = bn.weight.detach().clone().requires_grad_(), bn.bias.detach().clone().requires_grad_()
    a, r = a0.clone().requires_grad_(), r0.clone().requires_grad_()
    ref_in = a if statistics == "sampled" else r
    expected = _reference_batch_norm(a.reshape(-1, 5), ref_in.reshape(-1, 5), w, b, bn.eps)
    (expected * up.reshape(-1, 5)).sum().backward()
    a2, r2 = a0.clone().requires_grad_(), r0.clone().requires_grad_()
    out = bn(a2, r2)
    (out * up).sum().backward()
    torch.testing.assert_close(out, expected.reshape(2, 16, 5))
    torch.testing.assert_close(a2.grad, a.grad)
    if statistics == "weight_means":
        torch.testing.assert_close(r2.grad, r.grad)
    else:
        assert r2.grad is None
    torch.testing.assert_close(bn.weight.grad, w.grad)
    torch.testing.assert_close(bn.bias.grad, b.grad)
    flat = ref_in.detach().reshape(-1, 5)
    torch.testing.assert_close(bn.running_mean, 0.99 * 0 + 0.01 * flat.mean(0))
    torch.testing.assert_close(bn.running_var, 0.99 * 1 + 0.01 * flat.var(0, unbiased=True))


@pytest.mark.parametrize("bayesian", [False, True])
def test_gibbs_shapes_simplex_and_seed(bayesian):
    model = _model(bayesian, batch_norm=True).eval()
    x = torch.rand(7, 3, dtype=torch.float64)
    probs, z = model.gibbs(x, n_steps=4, n_chains=3, generator=torch.Generator().manual_seed(0))
    assert probs.shape == (3, 7, 4) and z.shape == (3, 7, 2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, 7, dtype=torch.float64))
    assert (probs >= 0).all()
    again, _ = model.gibbs(x, 4, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(probs, again, rtol=0, atol=0)
    other, _ = model.gibbs(x, 4, 3, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(probs, other)
    samples = model.predict_proba_samples(x, 5, 2, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 7, 4)
    assert model.predict_proba(x, 3).shape == (7, 4)
    assert model.transform(x, 3).shape == (7, 2)


def test_gibbs_is_the_chain_average_of_the_classifier():
    """One-step chain == p(y|x, z) at z ~ q(z|x, y0): check with z noise off and W at means."""
    model = _model(batch_norm=False).eval()
    x = torch.rand(4, 3, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    probs, z_avg = model.gibbs(x, 1, 1, generator=g)
    g = torch.Generator().manual_seed(3)
    y0 = torch.multinomial(torch.softmax(model.encoder_y(x), -1), 1, True, generator=g).T
    mean, log_var = model.encode_z(x[None], F.one_hot(y0, 4).double())
    z = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape, generator=g,
                                                      dtype=torch.float64)
    expected = torch.softmax(model.classifier_logits(x[None], z), -1)
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(z_avg, z)


@pytest.mark.parametrize("n_chains", [1, 3])
def test_argmax_gibbs_chain_matches_an_explicit_loop(monkeypatch, n_chains):
    """``argmax_y`` (the thesis's code): y0 = argmax q(y|x), then z at q(z|x, y)'s mean (noise
    off), p = p(y|x, z), y = argmax p; the result is the average of the p's, the same for
    every chain, and the sampled-y chain differs from it."""
    model = _model(batch_norm=False).eval()
    x = torch.rand(6, 3, dtype=torch.float64)
    monkeypatch.setattr("skdgm.nn.ssl_dgm._randn_like", lambda t, g=None: torch.zeros_like(t))
    probs, z_avg = model.gibbs(x, 4, n_chains, argmax_y=True,
                               generator=torch.Generator().manual_seed(0))
    expected, z_sum = [], []
    for row in x:
        y = int(torch.softmax(model.encoder_y(row[None]), -1).argmax())
        ps, zs = [], []
        for _ in range(4):
            mean, _ = model.encode_z(row[None], F.one_hot(torch.tensor([y]), 4).double())
            p = torch.softmax(model.classifier_logits(row[None, None], mean[None]), -1)[0, 0]
            ps.append(p)
            zs.append(mean[0])
            y = int(p.argmax())
        expected.append(torch.stack(ps).mean(0))
        z_sum.append(torch.stack(zs).mean(0))
    torch.testing.assert_close(probs, torch.stack(expected).expand(n_chains, 6, 4))
    torch.testing.assert_close(z_avg, torch.stack(z_sum).expand(n_chains, 6, 2))
    torch.testing.assert_close(model.predict_proba(x, 4, argmax_y=True), probs[0])
    sampled, _ = model.gibbs(x, 4, n_chains, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(sampled, probs)


def test_sample_shapes():
    for lik in ("gaussian", "bernoulli"):
        model = _model(likelihood=lik).eval()
        x = model.sample(6, torch.Generator().manual_seed(0))
        assert x.shape == (6, 3)
    assert ((x == 0) | (x == 1)).all()  # Bernoulli draws are binary


@pytest.mark.parametrize("bayesian", [False, True])
def test_evaluation_folds_batch_norm_without_changing_results(bayesian):
    """The folded evaluation path equals the layer-by-layer computation."""
    torch.manual_seed(0)
    if bayesian:
        net = BayesianMLP(3, 2, hidden=(6, 5), batch_norm=True, init_log_var=-2.0).double()
    else:
        from skdgm.nn.layers import MLP

        net = MLP(3, 2, hidden=(6, 5), batch_norm=True).double()
    net.train()
    for _ in range(3):  # move the running statistics away from their initial values
        x = torch.randn(1, 32, 3, dtype=torch.float64) * 2 + 1
        net(x, net.sample_weights(1)) if bayesian else net(x[0])
    net.eval()
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    if bayesian:
        weights = net.sample_weights(4)
        h = x
        for i, lin in enumerate(net.linears):
            a = lin(h, weights[i])
            if i < len(net.linears) - 1:
                a = net.act(net.norms[i](a))
            h = a
        torch.testing.assert_close(net(x, weights), h)
        means = x
        for i, lin in enumerate(net.linears):
            a = lin.mean_forward(means)
            means = net.act(net.norms[i](a)) if i < len(net.linears) - 1 else a
        torch.testing.assert_close(net(x), means)
    else:
        torch.testing.assert_close(net(x), net.net(x.reshape(-1, 3)).reshape(4, 7, 2))


@pytest.mark.parametrize("bayesian", [False, True])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_split_first_layer_equals_concatenated_input(bayesian, batch_norm, training):
    """q(z|x,y) and p(y|x,z,W) from the cached x-part of their first layer (plus a W_y row
    lookup / z @ W_z^T) == the networks applied to the concatenated inputs; also batch-norm
    running statistics get the same update."""
    from skdgm.nn.ssl_dgm import _x_parts

    model = _model(bayesian, batch_norm=batch_norm)
    for m in model.modules():          # non-trivial running statistics for evaluation
        if hasattr(m, "running_var"):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.train(training)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(6, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (2, 6), generator=g)                      # (S, n)
    z = torch.randn(2, 6, 2, generator=g, dtype=torch.float64)
    weights = model.sample_classifier_weights(2, g)
    xs = x.expand(2, 6, 3)

    state = {k: v.clone() for k, v in model.state_dict().items()}
    mean, log_var = model.encode_z(xs, F.one_hot(y, 4).double())
    logits = model.classifier_logits(xs, z, weights)
    stats_ref = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)

    first = model.encoder_z.first_layer()
    mean_s, log_var_s = model.encode_z_split(first, _x_parts(first, x, 3), y)
    first = model.classifier_first_layer(weights)
    logits_s = model.classifier_logits_split(first, _x_parts(first, x, 3), z, weights)
    torch.testing.assert_close(mean_s, mean)
    torch.testing.assert_close(log_var_s, log_var)
    torch.testing.assert_close(logits_s, logits)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, stats_ref[k])
    if bayesian:                                        # posterior-mean weights (weights=None)
        first = model.classifier_first_layer()
        logits_s = model.classifier_logits_split(first, _x_parts(first, x, 3), z)
        torch.testing.assert_close(logits_s, model.classifier_logits(xs, z))


@pytest.mark.parametrize("bayesian", [False, True])
def test_batch_statistics_context_uses_batch_stats_and_changes_nothing(bayesian):
    """Inside ``batch_statistics`` the module computes what training mode computes; afterwards
    its state and flags are as before (thesis Fig. 5.5a comparison)."""
    import copy

    from skdgm.nn.layers import batch_statistics

    torch.manual_seed(0)
    m = SSLDGM(3, 2, n_latent=2, hidden=(8, 8), batch_norm=True, bayesian=bayesian).double()
    m.train()
    for _ in range(3):  # running statistics away from their initial values
        m.bounds(torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 1, 0, 1]),
                 torch.randn(16, 3, dtype=torch.float64) * 2 + 1)
    m.eval()
    before = copy.deepcopy(m.state_dict())
    reference = copy.deepcopy(m).train()
    x = torch.randn(50, 3, dtype=torch.float64) * 3
    with batch_statistics(m):
        assert m.training
        p_batch = m.predict_proba(x, 3, torch.Generator().manual_seed(1))
    p_train = reference.predict_proba(x, 3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(p_batch, p_train)
    assert not any(mod.training for mod in m.modules())
    for key, value in m.state_dict().items():
        torch.testing.assert_close(value, before[key])
    p_eval = m.predict_proba(x, 3, torch.Generator().manual_seed(1))
    assert not torch.allclose(p_eval, p_batch)


@pytest.mark.parametrize("bayesian", [False, True])
def test_objective_averages_mc_samples_of_each_row(monkeypatch, bayesian):
    """n_mc_samples tiles the batch: with the z noise fixed (every sample equal) the objective
    is the one-sample one; with real noise it is the mean of the tiled copies' bounds, row by
    row, and SSLAPD's weight draw is one per step, shared by the copies."""
    model = _model(bayesian)
    x_l, y_l, x_u = torch.rand(2, 3).double(), torch.tensor([1, 2]), torch.rand(4, 3).double()
    with monkeypatch.context() as mp:
        mp.setattr(torch, "randn_like", torch.zeros_like)
        if bayesian:
            mp.setattr(model, "sample_classifier_weights", lambda n, g=None: None)
        one = model.objective(x_l, y_l, x_u, alpha=2.0)["loss"]
        three = model.objective(x_l, y_l, x_u, alpha=2.0, n_mc_samples=3)["loss"]
    assert three.item() == pytest.approx(one.item())
    calls = []
    if bayesian:
        sample = model.sample_classifier_weights
        monkeypatch.setattr(model, "sample_classifier_weights",
                            lambda *a, **k: calls.append(1) or sample(*a, **k))
    torch.manual_seed(3)
    tiled = model.bounds(x_l.repeat(3, 1), y_l.repeat(3), x_u.repeat(3, 1))
    torch.manual_seed(3)
    averaged = model.mc_bounds(x_l, y_l, x_u, n_samples=3)
    for name, n in (("labeled", 2), ("unlabeled", 4), ("log_qy", 2)):
        torch.testing.assert_close(averaged[name], tiled[name].reshape(3, n).mean(0))
    assert len(calls) == (2 if bayesian else 0)  # one weight draw per bounds call


def _graph_nodes(t: torch.Tensor) -> set[str]:
    seen, names, stack = set(), set(), [t.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.add(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    return names


@pytest.mark.parametrize("bayesian", [False, True])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_training_graph_has_no_in_place_writes_into_views(bayesian, batch_norm):
    """The in-place activations act on whole tensors, never on views: a write into a view
    makes autograd copy the view's base in the backward pass (CopySlices / AsStrided)."""
    model = _model(bayesian, batch_norm=batch_norm, likelihood="bernoulli")
    x_l, x_u = torch.rand(6, 3, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64)
    y_l = torch.tensor([0, 1, 2, 3, 0, 1])
    for s in (1, 2):
        loss = model.objective(x_l, y_l, x_u, alpha=1.0, n_mc_samples=s)["loss"]
        nodes = _graph_nodes(loss)
        assert "ReluBackward0" in nodes or "ThresholdBackward1" in nodes  # the walk saw them
        assert not nodes & {"CopySlices", "AsStridedBackward0"}, nodes


@pytest.mark.parametrize("n_draws", [None, 1, 3])
@pytest.mark.parametrize("z_draws", [False, True])
def test_first_layer_parts_match_the_concatenated_product(n_draws, z_draws):
    """``linear_x_part`` + ``split_linear`` (and ``_linear``) == ``[x, z] @ W^T + b`` per draw,
    written with an explicit loop over draws, for one weight set, a single draw (a batch of
    one) and several, with z shared or drawn per weight set."""
    from skdgm.nn.layers import _linear, linear_x_part, split_linear

    g = torch.Generator().manual_seed(0)
    n_x, n_z, out, rows = 6, 4, 5, 7
    s = n_draws or 1
    w = (torch.randn(*((n_draws,) if n_draws else ()), out, n_x + n_z, generator=g,
                     dtype=torch.float64),
         torch.randn(*((n_draws,) if n_draws else ()), out, generator=g, dtype=torch.float64))
    x = torch.randn(rows, n_x, generator=g, dtype=torch.float64)
    z = torch.randn(*((s,) if z_draws else ()), rows, n_z, generator=g, dtype=torch.float64)
    got = split_linear(linear_x_part(x, w, n_x), w, n_x, z=z)
    got_full = _linear(torch.cat([x.expand(s, rows, n_x),
                                  z.expand(s, rows, n_z)], -1), w) if n_draws else None
    want = []
    for d in range(s):
        wd, bd = (w[0][d], w[1][d]) if n_draws else w
        zd = z[d] if z_draws else z
        want.append(torch.cat([x, zd], 1) @ wd.T + bd)
    want = torch.stack(want) if (n_draws or z_draws) else want[0]
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    if n_draws:
        torch.testing.assert_close(got_full, want)  # with a draw dimension, want is 3-d
