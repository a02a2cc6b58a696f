"""Search on a bandit model with a known best arm, for both search algorithms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from muzero.config import Config, NetworkConfig, SearchConfig, SupportConfig
from muzero.model.networks import Model
from muzero.model.value_transforms import make_support, scalar_to_two_hot
from muzero.search.policy import greedy_action, make_search_fn, sample_visits
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
