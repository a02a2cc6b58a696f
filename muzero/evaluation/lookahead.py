"""Imagined against real children: is the learned dynamics what holds the search back?

Search helps only if the model values the positions a move leads to about as well as the
network values real positions. This compares three one-move players on the mistake benchmark's
positions (`muzero.evaluation.mistakes`: a move is a mistake when it gives away the solved outcome):

- prior: the policy head's favourite legal move, no lookahead;
- imagined: every legal move a scored by r(a) + d * v(g(h(o), a)), the dynamics' reward and the
  value of the dynamics' next latent, as the search's first ply sees them (its recurrent
  function: a value-prefix model's reward is its first prefix);
- real: the same score from the true next observation o' = step(s, a): the real reward and
  d * v(h(o')), 0 past the game's end (the model's absorbing state).

d is the tree's discount (-gamma between plies of a two-player game). When "real" makes far
fewer mistakes than "imagined", the value and reward heads are good on real positions but the
dynamics does not land where the representation would (what EfficientZero's consistency loss,
`learner.consistency_loss_weight`, trains); when both are poor, the value itself is the limit.
The "real" player steps the true rules: diagnostics may, the learning loop never does.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env
from muzero.config import Config
from muzero.evaluation.mistakes import make_positions, mistake_rate
from muzero.evaluation.players import Player
from muzero.model.networks import Model
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.search.policy import make_recurrent_fn, root_embedding, tree_discount
from muzero.types import Array, Params

PLAYERS = ("prior", "imagined", "real")


def _argmax_legal(score: Array, legal_mask: Array) -> Array:
    return jnp.argmax(jnp.where(legal_mask, score, -jnp.inf), axis=-1).astype(jnp.int32)


def make_scorers(env: Env, model: Model, config: Config) -> dict[str, Any]:
    """name -> jitted (params, state [B], time step [B]) -> [B] chosen actions."""
    value_support = make_support(config.network.value_support)
    discount = tree_discount(config, env.spec)
    recurrent_fn = make_recurrent_fn(model, config, env.spec)
    actions = jnp.arange(env.spec.num_actions)

    def value_of(params: Params, latent: Array) -> Array:
        return logits_to_scalar(model.predict(params, latent)[1], value_support)

    def prior(params, state, ts):
        del state
        latent = model.represent(params, ts.observation)
        return _argmax_legal(model.predict(params, latent)[0], ts.legal_mask)

    def imagined(params, state, ts):
        del state
        root = root_embedding(model, model.represent(params, ts.observation))

        def child(action):
            moves = jnp.full(ts.legal_mask.shape[:1], action)
            out, _ = recurrent_fn(params, None, moves, root)
            return out.reward + out.discount * out.value

        return _argmax_legal(jax.vmap(child, out_axes=1)(actions), ts.legal_mask)

    def real(params, state, ts):
        keys = jax.random.split(jax.random.key(0), ts.legal_mask.shape[0])

        def child(action):
            _, next_ts = jax.vmap(env.step)(state, jnp.full(keys.shape[:1], action), keys)
            value = value_of(params, model.represent(params, next_ts.observation))
            return next_ts.reward + discount * jnp.where(next_ts.terminated, 0.0, value)

        return _argmax_legal(jax.vmap(child, out_axes=1)(actions), ts.legal_mask)

    return {"prior": jax.jit(prior), "imagined": jax.jit(imagined), "real": jax.jit(real)}


def _as_player(scorer, params: Params) -> Player:
    def player(state, ts, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        del active, rng
        return np.asarray(scorer(params, state, ts), np.int32)

    return player


def lookahead_report(
    env: Env, model: Model, config: Config, params: Params, num_positions: int | None = None
) -> dict[str, Any]:
    """{player: mistake rate (overall and by phase, with 95% intervals)} on the benchmark's
    positions, or {"skipped": why} for a game without a solver."""
    try:
        positions = make_positions(env.spec.name, num_positions)
    except ValueError as error:
        return {"skipped": str(error)}
    scorers = make_scorers(env, model, config)
    report: dict[str, Any] = {"positions": int(len(positions.plies))}
    for name in PLAYERS:
        report[name] = mistake_rate(env, _as_player(scorers[name], params), positions)
    return report
