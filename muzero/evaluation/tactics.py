"""Tactical errors of the learned model in board games: does it know when a move wins?

MuZero plans only inside its learned model (MuZero section 3): the search can take a win or
stop one only if the dynamics predicts the winning move's reward and the prediction function
values the positions around it. The per-step errors of `muzero.evaluation.model_errors` average over
all positions, where quiet moves dominate; this module asks the question that decides games
directly, on positions where one move matters:

- immediate win: the player to move has a move that wins at once (its reward is +1);
- forced block: no immediate win, and the opponent threatens to win next move at exactly one
  cell (tic-tac-toe) or column (connect four), so blocking it is the only move that does not
  lose at once.

Positions come from seeded games of uniformly random legal moves: random play reaches both
kinds often and in great variety (greedy self-play repeats one game). They lie off the trained
agent's own distribution, so the numbers say whether the model knows the tactic in general,
not only in the games it taught itself. They are classified with the true rules, stepping the
game for every legal move and every reply: evaluation may use the rules, the learning loop
never does. Duplicates (same network input) are dropped and each kind is capped.

The prior is renormalised over the legal moves, as the search's root sees it (mctx masks
invalid actions there); the search is the run's evaluation search (no root noise) and its move
the most visited, as in `muzero.evaluation.matches`.

Conventions, as in the search and the learner: a predicted reward is the mover's, a value is
for the player to move (the tree discounts by -gamma between plies), and past a game's end the
model is trained towards an absorbing state of zero reward and zero value. So the truths are:
the winning move's reward +1; the root value of an immediate-win position +1; the value after
the winning move 0 (the game is over); after a move that fails to block, the opponent's value
+1 and the reward of its winning reply +1. The root value of a forced-block position is not
known without solving the game, so only its mean is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.core import Env
from muzero.config import Config
from muzero.model.networks import Model
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.search.policy import SearchFn, greedy_action, make_recurrent_fn, root_embedding
from muzero.types import Array, EnvSpec, Params, PRNGKey

BOARD_GAMES = {"connect_four": 42, "tic_tac_toe": 9}  # env id -> longest game in plies
KINDS = ("immediate_win", "forced_block")

# (summary key, table label): the quantities reported per kind; "-" where one does not apply.
ROWS = (
    ("positions", "positions (distinct)"),
    ("move_prior", "prior on the winning / blocking move"),
    ("chance", "  chance: a uniform prior"),
    ("search_plays", "greedy search plays it (truth 1)"),
    ("root_value_mean", "root value (truth: win +1, block ?)"),
    ("root_value_mae", "  |error|"),
    ("move_reward_mean", "reward of the winning move (truth +1)"),
    ("move_reward_above_half", "  fraction > 0.5"),
    ("move_reward_mae", "  |error|"),
    ("other_reward_mae", "|reward| of the other moves (truth 0)"),
    ("after_move_value_mean", "value after the winning move (truth 0)"),
    ("after_move_value_mae", "  |error|"),
    ("threat_value_mean", "opponent's value after a non-block (truth +1)"),
    ("threat_value_mae", "  |error|"),
    ("threat_reward_mean", "  reward of its winning reply (truth +1)"),
    ("threat_reward_above_half", "  fraction > 0.5"),
    ("threat_reward_mae", "  |error|"),
)


class Tactics(struct.PyTreeNode):
    """What the true rules say about the moves of positions [...] (any leading axes)."""

    legal_mask: Array  # [..., A] bool
    wins: Array  # [..., A] bool: the move wins at once for the mover
    loses: Array  # [..., A] bool: after the move the opponent has a move that wins at once
    block: Array  # [..., A] bool: the only move that does not lose (forced-block positions)
    immediate_win: Array  # [...] bool
    forced_block: Array  # [...] bool


def classify(env: Env, state: Any, legal_mask: Array) -> Tactics:
    """One position (unbatched pgx state, legal mask [A]): every move and every reply tried.

    A forced block needs exactly one move that does not lose at once, and the threat must sit
    at that move's cell (after any other move the opponent wins by playing there); a position
    with two threats has no saving move and is not counted (the game is lost whatever the
    model knows).
    """
    actions = jnp.arange(legal_mask.shape[-1], dtype=jnp.int32)
    key = jax.random.key(0)  # board games are deterministic; the adapters want a key

    def after(action):
        child, ts = env.step(state, action, key)
        replies = jax.vmap(lambda reply: env.step(child, reply, key)[1].reward > 0)(actions)
        return ts.reward > 0, replies & ts.legal_mask & ~ts.terminated

    wins, replies = jax.vmap(after)(actions)  # [A], [A, A]: replies[a, b] = b wins after a
    wins = wins & legal_mask
    replies = replies & legal_mask[:, None]
    loses = jnp.any(replies, axis=-1)
    safe = legal_mask & ~loses
    block = jnp.argmax(safe)
    threat_at_block = jnp.all(~loses | replies[:, block])
    immediate_win = jnp.any(wins)
    forced = ~immediate_win & (jnp.sum(safe) == 1) & jnp.any(loses) & threat_at_block
    return Tactics(
        legal_mask=legal_mask,
        wins=wins,
        loses=loses,
        block=safe & forced,
        immediate_win=immediate_win,
        forced_block=forced,
    )


def make_random_play(
    env: Env, config: Config, num_games: int, max_plies: int
) -> Callable[[PRNGKey], tuple[Array, Tactics, Array]]:
    """Returns play(key) -> (observation [T, G, *O], Tactics [T, G], valid [T, G]).

    G games of uniformly random legal moves, every position classified; the observation is
    the stacked history the network sees (`muzero.replay.history`), built as the actors build it.
    """
    from envs.core import random_legal_action
    from muzero.acting.histories import network_input, start_history
    from muzero.replay.history import push

    spec = env.spec

    def play(key: PRNGKey):
        k_reset, k_moves = jax.random.split(key)
        state, ts = jax.vmap(env.reset)(jax.random.split(k_reset, num_games))
        history = start_history(spec, config, ts.observation)

        def ply(carry, key):
            state, ts, history, running = carry
            k_move, k_step = jax.random.split(key)
            observation = network_input(history, config, spec)
            tactics = jax.vmap(lambda s, m: classify(env, s, m))(state, ts.legal_mask)
            action = random_legal_action(k_move, ts.legal_mask)
            state, ts = jax.vmap(env.step)(state, action, jax.random.split(k_step, num_games))
            history = push(history, ts.observation, action, jnp.zeros(num_games, bool))
            out = (observation, tactics, running)
            return (state, ts, history, running & ~(ts.terminated | ts.truncated)), out

        carry = (state, ts, history, jnp.ones(num_games, bool))
        _, out = jax.lax.scan(ply, carry, jax.random.split(k_moves, max_plies))
        return out

    return play


def select(
    observation: np.ndarray, tactics: Tactics, valid: np.ndarray, kind: str, cap: int, seed: int
) -> tuple[np.ndarray, Tactics]:
    """Distinct positions of one kind (by what the network sees), shuffled by `seed`, capped."""
    flat = jax.tree.map(lambda x: np.asarray(x).reshape(-1, *x.shape[2:]), tactics)
    observation = np.asarray(observation).reshape(-1, *observation.shape[2:])
    chosen = np.flatnonzero(np.asarray(valid).reshape(-1) & getattr(flat, kind))
    _, first = np.unique(observation[chosen].reshape(len(chosen), -1), axis=0, return_index=True)
    chosen = chosen[np.sort(first)]
    chosen = np.random.default_rng(seed).permutation(chosen)[:cap]
    return observation[chosen], jax.tree.map(lambda x: x[chosen], flat)


class ModelView(struct.PyTreeNode):
    """The learned model and search on N positions, every move tried one step deep."""

    prior: Array  # [N, A] prior policy over the legal moves, as the search's root sees it
    root_value: Array  # [N] for the player to move
    reward: Array  # [N, A] predicted reward of each move (the mover's)
    child_value: Array  # [N, A] value after each move, for the opponent (then to move)
    reply_reward: Array  # [N, A] predicted reward of the reply `reply` after each move
    search_action: Array  # [N] the greedy search's move


def make_model_view(
    model: Model, config: Config, spec: EnvSpec, search: SearchFn
) -> Callable[[Params, Array, Array, Array, PRNGKey], ModelView]:
    """Returns view(params, observation [N, *O], legal_mask [N, A], reply [N], key), to jit.

    The move and the reply go through the search's recurrent function, so their rewards are
    what the search sees (a value-prefix model's prefix differences included)."""
    value_support = make_support(config.network.value_support)
    recurrent_fn = make_recurrent_fn(model, config, spec)

    def view(params, observation, legal_mask, reply, key) -> ModelView:
        latent = model.represent(params, observation)
        prior_logits, value_logits = model.predict(params, latent)
        root = root_embedding(model, latent)

        def child(action):  # [N]: one move from every root, then the reply
            move, child_node = recurrent_fn(params, None, action, root)
            answer, _ = recurrent_fn(params, None, reply, child_node)
            return move.reward, move.value, answer.reward

        num, num_actions = legal_mask.shape
        moves = jnp.broadcast_to(
            jnp.arange(num_actions, dtype=jnp.int32)[:, None], (num_actions, num)
        )
        reward, child_value, reply_reward = jax.vmap(child, out_axes=1)(moves)
        out = search(params, observation, legal_mask, key)
        return ModelView(
            prior=jax.nn.softmax(jnp.where(legal_mask, prior_logits, -jnp.inf), axis=-1),
            root_value=logits_to_scalar(value_logits, value_support),
            reward=reward,
            child_value=child_value,
            reply_reward=reply_reward,
            search_action=greedy_action(out, legal_mask),
        )

    return view


def _per_position(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[N, A] -> [N] mean of x over each position's masked moves (NaN where none)."""
    count = mask.sum(-1)
    return np.where(count > 0, (x * mask).sum(-1) / np.maximum(count, 1), np.nan)


def _mean(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def kind_metrics(kind: str, tactics: Tactics, view: ModelView) -> dict[str, float]:
    """The reported quantities (keys of ROWS) of one kind's positions, each a mean over them."""
    t, v = jax.device_get((tactics, view))
    n = len(t.legal_mask)
    move = t.wins if kind == "immediate_win" else t.block  # [N, A]
    played = move[np.arange(n), v.search_action]
    stats = {
        "positions": n,
        "move_prior": _mean((v.prior * move).sum(-1)),
        "chance": _mean(move.sum(-1) / np.maximum(t.legal_mask.sum(-1), 1)),
        "search_plays": _mean(played),
        "root_value_mean": _mean(v.root_value),
    }
    if kind == "immediate_win":
        return stats | {
            "root_value_mae": _mean(np.abs(v.root_value - 1.0)),
            "move_reward_mean": _mean(_per_position(v.reward, move)),
            "move_reward_above_half": _mean(_per_position(v.reward > 0.5, move)),
            "move_reward_mae": _mean(_per_position(np.abs(v.reward - 1.0), move)),
            "other_reward_mae": _mean(_per_position(np.abs(v.reward), t.legal_mask & ~move)),
            "after_move_value_mean": _mean(_per_position(v.child_value, move)),
            "after_move_value_mae": _mean(_per_position(np.abs(v.child_value), move)),
        }
    return stats | {
        "threat_value_mean": _mean(_per_position(v.child_value, t.loses)),
        "threat_value_mae": _mean(_per_position(np.abs(v.child_value - 1.0), t.loses)),
        "threat_reward_mean": _mean(_per_position(v.reply_reward, t.loses)),
        "threat_reward_above_half": _mean(_per_position(v.reply_reward > 0.5, t.loses)),
        "threat_reward_mae": _mean(_per_position(np.abs(v.reply_reward - 1.0), t.loses)),
    }


def skip_reason(env_id: str, two_player: bool) -> str | None:
    """Why there is no tactics report for this environment (None: there is one)."""
    if not two_player:
        return f"{env_id} is not a board game (single player): no tactics"
    if env_id not in BOARD_GAMES:
        return f"tactics are checked for {', '.join(BOARD_GAMES)} only, not {env_id}"
    return None


def tactics_report(
    env: Env,
    model: Model,
    config: Config,
    params: Params,
    search: SearchFn,
    *,
    games: int = 256,
    cap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Collect, classify and test the model: {"immediate_win": {...}, "forced_block": {...}}.

    The summary is JSON-ready (NaN becomes None); "skipped" says why where there is nothing.
    """
    reason = skip_reason(env.spec.name, env.spec.two_player)
    if reason is not None:
        return {"skipped": reason}
    k_play, k_search = jax.random.split(jax.random.key(seed))
    play = jax.jit(make_random_play(env, config, games, BOARD_GAMES[env.spec.name]))
    observation, tactics, valid = jax.device_get(play(k_play))
    chosen = [select(observation, tactics, valid, kind, cap, seed) for kind in KINDS]
    # Both kinds in one batch: one compilation of the model and the search.
    obs = np.concatenate([o for o, _ in chosen])
    legal = np.concatenate([t.legal_mask for _, t in chosen])
    reply = np.concatenate([np.argmax(t.block, axis=-1) for _, t in chosen]).astype(np.int32)
    view = None
    if len(obs):
        view_fn = jax.jit(make_model_view(model, config, env.spec, search))
        view = jax.device_get(view_fn(params, obs, legal, reply, k_search))
    report: dict[str, Any] = {"source": "uniformly random legal play", "games": games}
    report |= {"seed": seed, "cap": cap}
    start = 0
    for kind, (kind_obs, kind_tactics) in zip(KINDS, chosen, strict=True):
        end = start + len(kind_obs)
        if end == start:
            report[kind] = {"positions": 0}
            continue
        part = jax.tree.map(lambda x, a=start, b=end: x[a:b], view)
        metrics = kind_metrics(kind, kind_tactics, part)
        report[kind] = {k: None if np.isnan(x) else x for k, x in metrics.items()}
        start = end
    return report
