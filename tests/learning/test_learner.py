"""The learner's batch of updates against the same updates taken one at a time."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import envs
from configs import get_preset
from muzero.learning.learner import make_optimizer, make_update_fn
from muzero.replay import history
from muzero.runtime import components


def test_learn_equals_its_updates_one_by_one():
    base = get_preset("smoke")
    config = base.replace(learner=dataclasses.replace(base.learner, updates_per_iteration=3))
    c = components.build(config)
    state = components.init_state(c, seed=0)
    replay, actor = state["replay"], state["actor"]
    params = state["train_state"].params
    for i in range(4):  # a few acting chunks of real self-play in the replay
        actor, trajectory, _ = c.act(params, actor, jax.random.key(i))
        replay = c.add(replay, trajectory)
    key = jax.random.key(42)
    copy = lambda tree: jax.tree.map(jnp.copy, tree)  # noqa: E731 (learn donates its inputs)

    learned, learned_replay, metrics = c.learn(copy(state["train_state"]), copy(replay), key)

    net_spec = history.network_spec(c.spec, config)
    update = jax.jit(make_update_fn(c.model, make_optimizer(config), config, net_spec))
    train_state, one_by_one = copy(state["train_state"]), []
    for step_key in jax.random.split(key, 3):
        train_state, replay, m = update(train_state, replay, step_key)
        one_by_one.append(m)

    assert int(learned.step) == int(train_state.step) == 3
    for a, b in zip(
        jax.tree.leaves(learned.params), jax.tree.leaves(train_state.params), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(learned_replay.priority, replay.priority, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(learned_replay.max_priority, replay.max_priority, rtol=1e-6)
    for name, value in metrics.items():
        expected = np.mean([float(m[name]) for m in one_by_one])
        np.testing.assert_allclose(float(value), expected, rtol=1e-5, err_msg=name)
    # The updates did something: parameters and priorities moved from where they started.
    start = jax.tree.leaves(state["train_state"].params)
    assert any(
        not np.allclose(a, b) for a, b in zip(start, jax.tree.leaves(learned.params), strict=True)
    )


def test_a_non_finite_update_is_skipped_and_counted():
    """NaN in the data (here every stored reward) must not reach the parameters, the optimizer
    state or the priorities; the metrics count the skipped updates and name the first."""
    base = get_preset("smoke")
    config = base.replace(learner=dataclasses.replace(base.learner, updates_per_iteration=3))
    c = components.build(config)
    state = components.init_state(c, seed=0)
    replay, actor = state["replay"], state["actor"]
    for i in range(4):
        actor, trajectory, _ = c.act(state["train_state"].params, actor, jax.random.key(i))
        replay = c.add(replay, trajectory)
    replay = replay.replace(reward=jnp.full_like(replay.reward, jnp.nan))
    start = jax.tree.map(np.array, (state["train_state"], replay.priority, replay.max_priority))
    copy = lambda tree: jax.tree.map(jnp.copy, tree)  # noqa: E731 (learn donates its inputs)

    learned, learned_replay, metrics = c.learn(
        copy(state["train_state"]), copy(replay), jax.random.key(1)
    )

    after = (learned, learned_replay.priority, learned_replay.max_priority)
    for a, b in zip(jax.tree.leaves(start), jax.tree.leaves(after), strict=True):
        np.testing.assert_array_equal(a, np.asarray(b))
    assert int(metrics["learner/nonfinite_updates"]) == 3
    assert int(metrics["learner/first_nonfinite_update"]) == 0
    assert np.isnan(float(metrics["learner/loss"]))


def test_the_learner_fits_value_prefixes_when_the_network_predicts_them():
    """The smoke preset (K = 3, two-player discount -gamma) with value_prefix_horizon 2: the
    reward targets become 1, 1+2 | 3, the values stay as without the switch."""
    from muzero.learning.learner import make_targets_fn
    from muzero.replay.buffer import Window

    base = get_preset("smoke")
    prefix = base.replace(network=dataclasses.replace(base.network, value_prefix_horizon=2))
    spec = envs.make(base.env.id).spec
    width = base.learner.unroll_steps + base.learner.td_steps + 1
    window = Window(
        action=jnp.zeros((1, width), jnp.int32),
        reward=jnp.zeros((1, width)).at[0, :3].set(jnp.asarray([1.0, 2.0, 3.0])),
        terminated=jnp.zeros((1, width), bool),
        truncated=jnp.zeros((1, width), bool),
        root_value=jnp.ones((1, width)),
        policy=jnp.ones((1, width, spec.num_actions)) / spec.num_actions,
    )
    plain, prefixed = make_targets_fn(base, spec)(window), make_targets_fn(prefix, spec)(window)
    np.testing.assert_allclose(plain.reward[0], [0, 1, 2, 3])
    np.testing.assert_allclose(prefixed.reward[0], [0, 1, 3, 3])
    np.testing.assert_array_equal(prefixed.value, plain.value)
