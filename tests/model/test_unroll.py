"""`unroll` against the model's three functions called by hand, one position at a time."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

import envs
from muzero.config import NetworkConfig, SupportConfig
from muzero.model.networks import make_model
from muzero.model.unroll import unroll


def test_unroll_equals_a_plain_loop_over_steps_and_positions():
    spec = envs.make("tic_tac_toe").spec
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    config = NetworkConfig(hidden_size=16, latent_size=8, projection_size=6,
                           value_support=unit, reward_support=unit)  # fmt: skip
    model = make_model(config, spec)
    params = model.init(jax.random.key(0))
    keys = jax.random.split(jax.random.key(1), 2)
    observation = jax.random.bernoulli(keys[0], 0.4, (3, *spec.observation_shape))
    actions = jax.random.randint(keys[1], (3, 4), 0, spec.num_actions)

    stacked = jax.jit(lambda p: unroll(model, p, observation, actions, project=True).stacked())(
        params
    )
    assert stacked["policy_logits"].shape == (3, 5, spec.num_actions)
    assert stacked["value_logits"].shape == (3, 5, 5)
    assert stacked["reward_logits"].shape == (3, 4, 5)
    assert stacked["projection"].shape == (3, 4, 6)
    represent, dynamics = jax.jit(model.represent), jax.jit(model.dynamics)
    predict, project = jax.jit(model.predict), jax.jit(model.project, static_argnums=2)
    for b in range(3):  # each position alone: rows of the batch do not mix
        latent = represent(params, observation[b : b + 1])
        for k in range(5):
            if k:
                reward, latent = dynamics(params, latent, actions[b : b + 1, k - 1])
                np.testing.assert_allclose(stacked["reward_logits"][b, k - 1], reward[0], atol=1e-6)
                projection = project(params, latent, True)[0]
                np.testing.assert_allclose(stacked["projection"][b, k - 1], projection, atol=1e-6)
            policy, value = predict(params, latent)
            np.testing.assert_allclose(stacked["policy_logits"][b, k], policy[0], atol=1e-6)
            np.testing.assert_allclose(stacked["value_logits"][b, k], value[0], atol=1e-6)


def test_the_gradient_into_each_dynamics_step_is_halved():
    """MuZero appendix G: the gradient reaching the representation through k dynamics steps
    is (1/2)^k of the same computation without the scaling."""
    spec = envs.make("tic_tac_toe").spec
    model = make_model(NetworkConfig(hidden_size=8, latent_size=4), spec)
    params = model.init(jax.random.key(0))
    observation = jnp.zeros((1, *spec.observation_shape), bool)
    actions = jnp.zeros((1, 2), jnp.int32)

    def through(steps):
        def f(obs_params):
            p = {**params, "representation": obs_params}
            return jnp.sum(unroll(model, p, observation, actions[:, :steps]).value_logits[-1])

        return jax.jit(jax.grad(f))(params["representation"])

    def same_without_scaling(steps):
        def f(obs_params):
            p = {**params, "representation": obs_params}
            latent = model.represent(p, observation)
            for k in range(steps):
                _, latent = model.dynamics(p, latent, actions[:, k])
            return jnp.sum(model.predict(p, latent)[1])

        return jax.jit(jax.grad(f))(params["representation"])

    for steps in (1, 2):
        scaled, unscaled = through(steps), same_without_scaling(steps)
        for a, b in zip(jax.tree.leaves(scaled), jax.tree.leaves(unscaled), strict=True):
            np.testing.assert_allclose(a, b * 0.5**steps, rtol=1e-5, atol=1e-7)


def test_a_value_prefix_unroll_resets_the_lstm_every_horizon_steps():
    """EfficientZero section 4.2: reward_logits[k] is the LSTM's prefix after step k+1, from a
    zero state at the root and again after steps 2 and 4 (horizon 2)."""
    spec = envs.make("tic_tac_toe").spec
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    config = NetworkConfig(hidden_size=16, latent_size=8, lstm_size=6, value_prefix_horizon=2,
                           value_support=unit, reward_support=unit)  # fmt: skip
    model = make_model(config, spec)
    params = model.init(jax.random.key(0))
    # Random parameters everywhere: the zero-initialised output layer would hide the state.
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    params = tree.unflatten(
        [jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
    )
    keys = jax.random.split(jax.random.key(1), 2)
    observation = jax.random.bernoulli(keys[0], 0.4, (3, *spec.observation_shape))
    actions = jax.random.randint(keys[1], (3, 5), 0, spec.num_actions)
    got = jax.jit(lambda p: unroll(model, p, observation, actions).stacked())(params)

    @functools.partial(jax.jit, static_argnums=0)  # one program: eager flax is slow
    def by_hand(reset_every):
        latent, state, prefixes = model.represent(params, observation), model.initial_state(3), []
        for k in range(5):
            _, latent = model.dynamics(params, latent, actions[:, k])
            logits, state = model.value_prefix(params, latent, state)
            prefixes.append(logits)
            if reset_every and (k + 1) % reset_every == 0:
                state = model.initial_state(3)
        return jnp.stack(prefixes, axis=1)

    np.testing.assert_allclose(got["reward_logits"], by_hand(2), atol=1e-5)
    never_reset = by_hand(None)
    np.testing.assert_allclose(got["reward_logits"][:, :2], never_reset[:, :2], atol=1e-5)
    assert np.abs(got["reward_logits"][:, 2:] - never_reset[:, 2:]).min(axis=-1).max() > 1e-3
