"""Search on a bandit model with a known best arm, for both search algorithms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from muzero.config import Config, NetworkConfig, SearchConfig, SupportConfig
from muzero.model.networks import Model
from muzero.model.value_transforms import make_support, scalar_to_two_hot
from muzero.search.policy import (
    PrefixEmbedding,
    greedy_action,
    make_recurrent_fn,
    make_search_fn,
    root_embedding,
    sample_visits,
)
from muzero.types import EnvSpec

ARMS = jnp.asarray([0.1, 0.9, 0.3, 0.5])
SUPPORT = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=21, transform=False)


def bandit_model() -> Model:
    """One decision: arm a pays ARMS[a]; after it the model sits in a zero-reward state."""
    support = make_support(SUPPORT)

    def logits_of(x):
        return jnp.log(scalar_to_two_hot(x, support) + 1e-9)

    def represent(params, obs):
        return jnp.zeros((obs.shape[0], 1))

    def dynamics(params, latent, action):
        at_root = latent[:, 0] == 0
        reward = jnp.where(at_root, ARMS[action], 0.0)
        return logits_of(reward), jnp.ones_like(latent)

    def predict(params, latent):
        batch = latent.shape[0]
        return jnp.zeros((batch, 4)), logits_of(jnp.zeros(batch))

    return Model(init=lambda key: {}, represent=represent, dynamics=dynamics, predict=predict)


def config(algorithm: str, simulations: int = 32) -> Config:
    return Config(
        network=NetworkConfig(value_support=SUPPORT, reward_support=SUPPORT),
        search=SearchConfig(
            algorithm=algorithm, num_simulations=simulations, max_num_considered_actions=4
        ),
    )


SPEC = EnvSpec("bandit", 4, (1,), np.dtype("float32"), 1)


@pytest.mark.parametrize("algorithm", ["gumbel", "muzero"])
def test_search_picks_the_best_arm(algorithm):
    search = jax.jit(make_search_fn(bandit_model(), config(algorithm), SPEC, evaluation=True))
    legal = jnp.ones((8, 4), bool)
    out = search({}, jnp.zeros((8, 1)), legal, jax.random.key(0))
    np.testing.assert_array_equal(greedy_action(out, legal), 1)
    if algorithm == "gumbel":  # pUCT's own action is sampled from visits, not the argmax
        np.testing.assert_array_equal(out.action, 1)
    # The search policy puts the most mass on the best arm and sums to one.
    np.testing.assert_allclose(out.policy_target.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.argmax(out.policy_target, -1) == 1)
    # The root value after search beats the prior's (uniform) average payoff of 0.45.
    assert np.all(np.asarray(out.root_value) > float(ARMS.mean()))


@pytest.mark.parametrize("algorithm", ["gumbel", "muzero"])
def test_root_legal_mask_excludes_the_best_arm(algorithm):
    search = jax.jit(make_search_fn(bandit_model(), config(algorithm, 64), SPEC, evaluation=True))
    legal = jnp.asarray([[True, False, True, True]] * 8)
    out = search({}, jnp.zeros((8, 1)), legal, jax.random.key(1))
    assert np.all(np.asarray(out.visit_counts)[:, 1] == 0)
    assert np.all(np.asarray(out.policy_target)[:, 1] == 0)
    np.testing.assert_array_equal(greedy_action(out, legal), 3)


def test_sampling_visits_respects_temperature_and_mask():
    visits = jnp.asarray([[0, 10, 30, 60]] * 2000)
    legal = jnp.asarray([[True, False, True, True]] * 2000)
    actions = np.asarray(sample_visits(jax.random.key(0), visits, legal, 1.0))
    assert not np.any(actions == 1) and not np.any(actions == 0)
    assert np.mean(actions == 3) == pytest.approx(60 / 90, abs=0.04)
    greedy = np.asarray(sample_visits(jax.random.key(0), visits, legal, 0.0))
    np.testing.assert_array_equal(greedy, 3)


def test_sampling_at_temperature_zero_breaks_ties_by_search_policy():
    visits = jnp.asarray([[8, 0, 8]])
    legal = jnp.ones((1, 3), bool)
    policy = jnp.asarray([[0.2, 0.3, 0.5]])
    tied = sample_visits(jax.random.key(0), visits, legal, 0.0, policy)
    np.testing.assert_array_equal(tied, 2)  # not the lower index 0


def test_greedy_action_breaks_visit_ties_by_search_policy():
    from muzero.search.policy import SearchOutput

    out = SearchOutput(
        action=jnp.zeros(2, jnp.int32),
        policy_target=jnp.asarray([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        visit_counts=jnp.asarray([[8, 0, 8], [8, 8, 0]]),
        root_value=jnp.zeros(2),
    )
    np.testing.assert_array_equal(greedy_action(out, jnp.ones((2, 3), bool)), [2, 0])


def prefix_bandit_model(horizon: int) -> Model:
    """The bandit as a value-prefix model: the latent is (moved, payoff of the move) and the
    LSTM state's cell accumulates the payoffs since its last reset, which is the prefix."""
    support = make_support(SUPPORT)

    def represent(params, obs):
        return jnp.zeros((obs.shape[0], 2))

    def dynamics(params, latent, action):
        payoff = jnp.where(latent[:, 0] == 0, ARMS[action], 0.0)
        return None, jnp.stack([jnp.ones_like(payoff), payoff], axis=-1)

    def value_prefix(params, latent, state):
        cell, hidden = state
        prefix = cell[:, 0] + latent[:, 1]
        return jnp.log(scalar_to_two_hot(prefix, support) + 1e-9), (prefix[:, None], hidden)

    def predict(params, latent):
        batch = latent.shape[0]
        return jnp.zeros((batch, 4)), jnp.log(scalar_to_two_hot(jnp.zeros(batch), support) + 1e-9)

    return Model(
        init=lambda key: {},
        represent=represent,
        dynamics=dynamics,
        predict=predict,
        value_prefix=value_prefix,
        initial_state=lambda batch: (jnp.zeros((batch, 1)), jnp.zeros((batch, 1))),
        prefix_horizon=horizon,
    )


@pytest.mark.parametrize("algorithm", ["gumbel", "muzero"])
def test_search_in_a_value_prefix_model_picks_the_best_arm(algorithm):
    model = prefix_bandit_model(horizon=2)
    search = jax.jit(make_search_fn(model, config(algorithm), SPEC, evaluation=True))
    legal = jnp.ones((8, 4), bool)
    out = search({}, jnp.zeros((8, 1)), legal, jax.random.key(0))
    np.testing.assert_array_equal(greedy_action(out, legal), 1)
    assert np.all(np.asarray(out.root_value) > float(ARMS.mean()))


def counting_model(horizon: int) -> Model:
    """A value-prefix model whose step c after a reset earns 0.1 c: the LSTM cell counts the
    steps, the prefix after c of them is 0.1 c (c + 1) / 2 (0.1, 0.3, 0.6, ...)."""
    support = make_support(SUPPORT)

    def value_prefix(params, latent, state):
        count = state[0] + 1.0
        prefix = 0.05 * count[:, 0] * (count[:, 0] + 1.0)
        return jnp.log(scalar_to_two_hot(prefix, support) + 1e-9), (count, state[1])

    bandit = bandit_model()
    return bandit._replace(
        value_prefix=value_prefix,
        initial_state=lambda batch: (jnp.zeros((batch, 1)), jnp.zeros((batch, 1))),
        prefix_horizon=horizon,
    )


@pytest.mark.parametrize(
    "horizon,rewards", [(2, [0.1, 0.2, 0.1, 0.2, 0.1]), (3, [0.1, 0.2, 0.3, 0.1, 0.2])]
)
def test_edge_rewards_are_prefix_differences_with_resets(horizon, rewards):
    """EfficientZero section 4.2: the reward of the edge into depth d is prefix_d - prefix_{d-1},
    prefix_{d-1} taken as 0 where d-1 is a multiple of the horizon, and there the children's
    LSTM state starts from zeros (so the count, and the rewards, start again)."""
    model = counting_model(horizon)
    recurrent_fn = jax.jit(make_recurrent_fn(model, config("muzero"), SPEC))
    node = root_embedding(model, jnp.zeros((2, 1)))
    for depth, reward in enumerate(rewards, start=1):
        out, node = recurrent_fn({}, None, jnp.zeros((2,), jnp.int32), node)
        np.testing.assert_allclose(out.reward, reward, atol=1e-6)
        np.testing.assert_allclose(out.discount, 0.997)
        np.testing.assert_array_equal(node.depth, depth)
        reset = depth % horizon == 0
        np.testing.assert_allclose(node.lstm[0], 0.0 if reset else depth % horizon)
        expected_prefix = 0.0 if reset else 0.05 * (depth % horizon) * (depth % horizon + 1)
        np.testing.assert_allclose(node.prefix, expected_prefix, atol=1e-6)


def test_rows_at_different_depths_reset_on_their_own():
    """mctx expands nodes of different depths in one batch: the reset is per row."""
    model = counting_model(horizon=2)
    recurrent_fn = jax.jit(make_recurrent_fn(model, config("muzero"), SPEC))
    node = PrefixEmbedding(
        latent=jnp.ones((2, 1)),
        lstm=(jnp.asarray([[1.0], [0.0]]), jnp.zeros((2, 1))),
        prefix=jnp.asarray([0.1, 0.0]),
        depth=jnp.asarray([1, 0], jnp.int32),
    )
    out, child = recurrent_fn({}, None, jnp.zeros((2,), jnp.int32), node)
    np.testing.assert_allclose(out.reward, [0.2, 0.1], atol=1e-6)  # 0.3 - 0.1; 0.1 - 0
    np.testing.assert_allclose(child.lstm[0][:, 0], [0.0, 1.0])  # depth 2 resets, depth 1 not
    np.testing.assert_allclose(child.prefix, [0.0, 0.1], atol=1e-6)


def test_a_per_step_model_keeps_its_latent_as_the_embedding():
    model = bandit_model()
    latent = jnp.zeros((3, 1))
    assert root_embedding(model, latent) is latent
    out, child = make_recurrent_fn(model, config("muzero"), SPEC)(
        {}, None, jnp.asarray([1, 0, 3]), latent
    )
    np.testing.assert_allclose(out.reward, ARMS[jnp.asarray([1, 0, 3])], atol=1e-6)
    np.testing.assert_array_equal(child, 1.0)
