"""Reanalysis: fresh targets from replayed positions, and the target network's schedule."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import get_preset
from muzero.config import ReanalyzeConfig
from muzero.learning.learner import make_optimizer, make_update_fn
from muzero.learning.reanalyze import make_reanalyze_fn
from muzero.learning.targets import batch_targets
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.replay import buffer as replay_lib
from muzero.replay import history
from muzero.runtime import components, training


def small_cartpole(**reanalyze):
    """CartPole (single player, long episodes: the n-step bootstraps are alive) at test size,
    with two-frame histories so the reanalysed observations are rebuilt from stored frames."""
    base = get_preset("cartpole")
    return base.replace(
        history=dataclasses.replace(base.history, frames=2),
        network=dataclasses.replace(base.network, hidden_size=32, latent_size=16),
        # Gumbel noise off: the search is then a function of parameters and observation alone.
        search=dataclasses.replace(base.search, num_simulations=4, gumbel_scale=0.0),
        actor=dataclasses.replace(base.actor, num_envs=8, unroll_length=8),
        replay=dataclasses.replace(base.replay, capacity=256, min_size=16),
        learner=dataclasses.replace(base.learner, batch_size=16, unroll_steps=2, td_steps=3),
        reanalyze=ReanalyzeConfig(**reanalyze),
    )


def perturbed(params, seed):
    """An untrained network predicts uniform policies and zero values everywhere; perturbed,
    its searches differ from state to state, so equal targets mean the same states."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    noisy = [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    return jax.tree.unflatten(tree, noisy)


def played_replay(c, params, chunks=4):
    state = components.init_state(c, seed=0)
    replay, actor = state["replay"], state["actor"]
    for i in range(chunks):
        actor, trajectory, _ = c.act(params, actor, jax.random.key(i))
        replay = c.add(replay, trajectory)
    return replay


def test_reanalysis_by_the_acting_network_reproduces_the_acting_targets():
    """Searched again by the network that played them, the replayed positions get the policy
    and root values stored at acting time (other batches, other keys: the search is
    deterministic here), so the targets are the same; a different network changes them."""
    config = small_cartpole(policy=True, value=True, value_source="search")
    c = components.build(config)
    params = perturbed(components.init_state(c, seed=0)["train_state"].params, 1)
    replay = played_replay(c, params)
    lc = config.learner
    sample = jax.jit(
        lambda key: replay_lib.sample(
            replay,
            key,
            batch_size=lc.batch_size,
            unroll_steps=lc.unroll_steps,
            td_steps=lc.td_steps,
            priority_exponent=0.0,
            importance_exponent=0.0,
            history_frames=2,
            next_observations=True,
            legal_masks=True,
        )  # fmt: skip
    )(jax.random.key(7))
    reanalyze = jax.jit(make_reanalyze_fn(c.model, config, history.network_spec(c.spec, config)))
    horizon = jnp.full((lc.batch_size,), lc.td_steps)

    window, metrics = reanalyze(params, params, replay, sample, horizon, jax.random.key(3))

    stored = sample.window
    np.testing.assert_allclose(window.policy, stored.policy, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(window.root_value, stored.root_value, rtol=1e-5, atol=1e-5)
    targets = dict(unroll_steps=lc.unroll_steps, td_steps=lc.td_steps, discount=0.997)
    for a, b in zip(
        jax.tree.leaves(batch_targets(window, **targets)),
        jax.tree.leaves(batch_targets(stored, **targets)),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert float(metrics["reanalyze/policy_shift"]) < 1e-5
    assert float(metrics["reanalyze/value_shift"]) < 1e-5

    # The policy is re-searched by the target network (EfficientZero), not the latest one.
    other = perturbed(params, 2)
    window, _ = reanalyze(other, params, replay, sample, horizon, jax.random.key(3))
    np.testing.assert_allclose(window.policy, stored.policy, rtol=1e-5, atol=1e-5)
    window, metrics = reanalyze(other, other, replay, sample, horizon, jax.random.key(3))
    assert not np.allclose(window.policy[:, : lc.unroll_steps + 1], stored.policy[:, :3])
    assert float(metrics["reanalyze/value_shift"]) > 1e-3
    # Only the entries the targets read change: the K + 1 policies and the bootstraps.
    np.testing.assert_array_equal(window.policy[:, 3:], stored.policy[:, 3:])
    np.testing.assert_array_equal(window.root_value[:, :3], stored.root_value[:, :3])


def test_the_network_value_is_the_target_networks_prediction_at_the_bootstrap():
    config = small_cartpole(value=True)
    c = components.build(config)
    params = perturbed(components.init_state(c, seed=0)["train_state"].params, 1)
    target = perturbed(params, 5)
    replay = played_replay(c, params)
    lc = config.learner
    sample = replay_lib.sample(
        replay, jax.random.key(7), batch_size=lc.batch_size, unroll_steps=lc.unroll_steps,
        td_steps=lc.td_steps, priority_exponent=0.0, importance_exponent=0.0, history_frames=2,
        legal_masks=True,
    )  # fmt: skip
    reanalyze = make_reanalyze_fn(c.model, config, history.network_spec(c.spec, config))
    horizon = jnp.asarray([1, 2, 3] * 5 + [1])  # per-position horizons (off-policy correction)

    window, _ = reanalyze(params, target, replay, sample, horizon, jax.random.key(3))

    support = make_support(config.network.value_support)
    for b in (0, 1, 2):
        for k in range(lc.unroll_steps + 1):
            offset = np.asarray([k + int(horizon[b])])
            obs = replay_lib.observations_at(
                replay, sample.index[b : b + 1], offset[None], history_frames=2
            )[:, 0]
            _, logits = c.model.predict(target, c.model.represent(target, obs))
            expected = logits_to_scalar(logits, support)
            assert float(window.root_value[b, k + int(horizon[b])]) == pytest.approx(
                float(expected[0]), rel=1e-5, abs=1e-5
            )


def test_the_target_network_is_refreshed_every_interval_updates():
    base = get_preset("smoke")
    config = base.replace(reanalyze=ReanalyzeConfig(value=True, target_update_interval=3))
    c = components.build(config)
    state = components.init_state(c, seed=0)
    replay = played_replay(c, state["train_state"].params)
    net_spec = history.network_spec(c.spec, config)
    update = jax.jit(make_update_fn(c.model, make_optimizer(config), config, net_spec))
    train_state = state["train_state"]
    same = lambda a, b: all(  # noqa: E731
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )
    assert same(train_state.target_params, train_state.params)
    copied_at = train_state.params
    for step in range(1, 8):
        train_state, replay, _ = update(train_state, replay, jax.random.key(step))
        if step % 3 == 0:
            copied_at = train_state.params
        assert same(train_state.target_params, copied_at), step
        if step > 1:  # the first update's learning rate is 0 (warm-up starts there)
            assert same(train_state.target_params, train_state.params) == (step % 3 == 0), step


def test_a_run_without_a_target_network_carries_none():
    c = components.build(get_preset("smoke"))
    assert components.init_state(c, seed=0)["train_state"].target_params is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("value_source", "tree", "reanalyze.value_source must be 'network' or 'search'"),
        ("target_update_interval", 0, "reanalyze.target_update_interval must be >= 1"),
        ("num_simulations", -1, "reanalyze.num_simulations must be >= 0"),
        ("policy_network", "old", "reanalyze.policy_network must be 'target' or 'latest'"),
    ],
)
def test_bad_reanalyze_settings_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        ReanalyzeConfig(**{field: value})


# In `make test-slow`: by default the 4-device update with every addition
# (tests/runtime/test_sharding.py), the value-prefix run (tests/runtime/test_training.py) and the
# atari_smoke run (every addition through the host actor) cover the same ground.
@pytest.mark.slow
def test_every_addition_on_trains_end_to_end(tmp_path):
    """Reanalysis of policy and value, off-policy horizons and the consistency loss together
    in the real loop: the run ends and logs what each part measures."""
    base = get_preset("smoke")
    config = base.replace(
        network=dataclasses.replace(base.network, projection_size=16),
        learner=dataclasses.replace(base.learner, td_age_steps=64, consistency_loss_weight=2.0),
        reanalyze=ReanalyzeConfig(policy=True, value=True, target_update_interval=4),
        run=dataclasses.replace(
            base.run, runs_dir=str(tmp_path), max_iterations=6, snapshot_interval_s=0.0
        ),
    )
    run_dir = training.run(config, evaluate_at_end=False)
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    learned = [row for row in rows if "learner/loss" in row]
    assert learned
    for name in ("reanalyze/policy_shift", "reanalyze/value_shift", "learner/value_horizon"):
        assert all(np.isfinite(row[name]) for row in learned), name
    assert 1.0 <= learned[-1]["learner/value_horizon"] <= config.learner.td_steps
