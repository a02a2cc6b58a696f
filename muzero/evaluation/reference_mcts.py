"""A reference opponent that knows the rules: MCTS on pgx's true simulator.

The tree is mctx's pUCT search (the one MuZero uses), but each edge is a real `pgx` step, and
a new leaf is valued by the mean of uniformly random playouts to the end of the game (classic
MCTS, Kocsis & Szepesvari 2006; Browne et al. 2012). Priors are uniform over legal moves.
Strength grows with the number of simulations, so `mcts-N` opponents form a ladder for Elo
ratings. The agent never sees any of this: the simulator is the opponent's alone.

Calibration on tic-tac-toe (200 games per seat against `random`, 100 against `minimax`):
one playout per leaf and MuZero's c = 1.25 lost 16% of its second-seat games to random even at
256 simulations; 16 playouts and c = 4 (a uniform prior spreads c over the legal moves, so
pUCT needs a larger constant to explore like UCT) lose 0 and 1% at 64 simulations, 0 at 256,
and draw every game against perfect play as first mover.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pgx

from envs.core import random_legal_action
from muzero.evaluation.players import Player
from muzero.model.value_transforms import make_support
from muzero.types import Array, PRNGKey

PB_C_INIT = 4.0
NUM_PLAYOUTS = 16


def _masked_logits(legal_mask: Array) -> Array:
    """Uniform prior logits over the legal moves; finite, as mctx's prior wants."""
    return jnp.where(legal_mask, 0.0, jnp.finfo(jnp.float32).min)


def make_playout_value(game: pgx.Env, num_playouts: int = 1):
    """value(state, key) -> [] the mean final reward, for the player to move now, of
    `num_playouts` uniformly random games from `state`."""

    def one_playout(state, key: PRNGKey) -> Array:
        player = state.current_player

        def running(carry):
            state, _ = carry
            return ~(state.terminated | state.truncated)

        def play_one(carry):
            state, key = carry
            key, k_move, k_step = jax.random.split(key, 3)
            action = random_legal_action(k_move, state.legal_action_mask)
            return game.step(state, action, k_step), key

        final, _ = jax.lax.while_loop(running, play_one, (state, key))
        return final.rewards[player]

    def value(state, key: PRNGKey) -> Array:
        keys = jax.random.split(key, num_playouts)
        return jax.vmap(one_playout, in_axes=(None, 0))(state, keys).mean()

    return value


def make_reference_search(env_id: str, num_simulations: int):
    """search(states [B], key) -> actions [B]: the most visited move of an MCTS on the rules."""
    game = pgx.make(env_id)
    playout_value = jax.vmap(make_playout_value(game, NUM_PLAYOUTS))

    def recurrent_fn(params, key, action, state):
        del params
        batch = action.shape[0]
        k_step, k_value = jax.random.split(key)
        mover = state.current_player
        next_state = jax.vmap(game.step)(state, action, jax.random.split(k_step, batch))
        ended = next_state.terminated | next_state.truncated
        reward = next_state.rewards[jnp.arange(batch), mover]
        value = jnp.where(ended, 0.0, playout_value(next_state, jax.random.split(k_value, batch)))
        output = mctx.RecurrentFnOutput(
            reward=reward,
            # Zero-sum alternating play: the next node's value is the opponent's (discount -1).
            discount=jnp.where(ended, 0.0, -1.0),
            prior_logits=_masked_logits(next_state.legal_action_mask),
            value=value,
        )
        return output, next_state

    def search(states, key: PRNGKey) -> Array:
        batch = states.legal_action_mask.shape[0]
        k_root, k_search = jax.random.split(key)
        root = mctx.RootFnOutput(
            prior_logits=_masked_logits(states.legal_action_mask),
            value=playout_value(states, jax.random.split(k_root, batch)),
            embedding=states,
        )
        out = mctx.muzero_policy(
            params=(),
            rng_key=k_search,
            root=root,
            recurrent_fn=recurrent_fn,
            num_simulations=num_simulations,
            invalid_actions=~states.legal_action_mask,
            dirichlet_fraction=0.0,
            pb_c_init=PB_C_INIT,
        )
        visits = out.search_tree.summary().visit_counts
        return jnp.argmax(jnp.where(states.legal_action_mask, visits, -1), axis=-1)

    return search


def make_mcts_player(env_id: str, num_simulations: int) -> Player:
    """The reference MCTS as a match `Player`; it reads the pgx state, not the observation."""
    search = jax.jit(make_reference_search(env_id, num_simulations))

    def player(state, ts, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        del ts, active  # the whole batch is searched at once (one compile per batch size)
        key = jax.random.key(int(rng.integers(2**31)))
        return np.asarray(search(state, key), np.int32)

    return player


def make_true_model_search(env_id: str, model, config, spec, *, num_simulations: int | None = None):
    """search(params, states [B], key) -> SearchOutput: the agent's own networks and search
    settings, but every edge of the tree is a real pgx step and every node is valued from its
    true observation (AlphaZero-style; MuZero's "ground truth simulator", Schrittwieser et al.
    2020, Figure 3A). Used to measure what the learned dynamics cost against the true rules."""
    from muzero.model.value_transforms import logits_to_scalar
    from muzero.search.policy import make_tree_policy, tree_discount

    game = pgx.make(env_id)
    value_support = make_support(config.network.value_support)
    discount = tree_discount(config, spec)
    policy = make_tree_policy(config, evaluation=True, num_simulations=num_simulations)

    def predict(params, states):
        prior_logits, value_logits = model.predict(
            params, model.represent(params, states.observation)
        )
        return prior_logits, logits_to_scalar(value_logits, value_support)

    def recurrent_fn(params, key, action, state):
        batch = action.shape[0]
        mover = state.current_player
        next_state = jax.vmap(game.step)(state, action, jax.random.split(key, batch))
        ended = next_state.terminated | next_state.truncated
        prior_logits, value = predict(params, next_state)
        output = mctx.RecurrentFnOutput(
            reward=next_state.rewards[jnp.arange(batch), mover],
            discount=jnp.where(ended, 0.0, discount),
            prior_logits=prior_logits,
            value=jnp.where(ended, 0.0, value),
        )
        return output, next_state

    def search(params, states, key: PRNGKey):
        prior_logits, value = predict(params, states)
        root = mctx.RootFnOutput(prior_logits=prior_logits, value=value, embedding=states)
        return policy(params, key, root, recurrent_fn, states.legal_action_mask)

    return search
