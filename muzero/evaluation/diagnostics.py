"""The learned model against reality on fresh greedy episodes: the computations behind
`python -m muzero.cli.diagnose` (which owns the command line, the files and the tables).

`diagnose_model` plays greedy episodes with a run's evaluation search, unrolls the model along
them (`model_errors`) and, for the two-player board games, adds the tactics (`tactics`) and
one-move lookahead (`lookahead`) reports.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

import envs
from muzero.config import Config
from muzero.evaluation.lookahead import lookahead_report
from muzero.evaluation.model_errors import make_analysis, make_recorder, summarize
from muzero.evaluation.tactics import tactics_report
from muzero.model.networks import make_model
from muzero.replay.history import network_spec
from muzero.search.policy import make_search_fn, tree_discount
from muzero.types import Params


def diagnose_model(
    config: Config,
    params: Params,
    *,
    episodes: int = 16,
    unroll_steps: int | None = None,
    seed: int = 0,
    num_simulations: int | None = None,
    max_steps: int = 1000,
    tactics_games: int = 256,
    tactics_positions: int = 200,
    lookahead_positions: int | None = None,
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Play, unroll, compare: the per-step error rows and the JSON summary of a JAX
    environment's run.

    `tactics_positions` caps each kind of tactical position (0: no tactics report);
    `lookahead_positions` counts the benchmark positions of the lookahead report (None: the
    benchmark's default; 0: none).
    """
    k = unroll_steps or config.learner.unroll_steps
    simulations = num_simulations or config.eval_simulations
    env = envs.make(config.env.id)
    net_spec = network_spec(env.spec, config)
    model = make_model(config.network, net_spec)
    search = make_search_fn(model, config, net_spec, evaluation=True, num_simulations=simulations)
    recorder = jax.jit(make_recorder(env, search, config, episodes, max_steps))
    record = jax.device_get(recorder(params, jax.random.key(seed)))
    lengths = record.valid.sum(axis=1)
    # Only the longest episode's steps are analysed: the rest of the padding holds nothing.
    record = jax.tree.map(lambda x: x[:, : max(int(lengths.max()), 1)], record)
    rows = summarize(jax.jit(make_analysis(model, config, env.spec, k))(params, record))
    tactics, lookahead = board_game_reports(
        env, model, config, params, search, seed=seed, tactics_games=tactics_games,
        tactics_positions=tactics_positions, lookahead_positions=lookahead_positions,
    )  # fmt: skip
    returns = np.where(record.valid, record.reward, 0.0).sum(axis=1)
    summary = {
        "env": config.env.id,
        "episodes": episodes,
        "unroll_steps": k,
        "seed": seed,
        "num_simulations": simulations,
        "max_steps": max_steps,
        "td_steps": config.learner.td_steps,
        "discount": tree_discount(config, env.spec),
        "episode_lengths": lengths.tolist(),
        # Two-player: the mover's rewards summed over both sides' moves; see episode lengths.
        "episode_returns": returns.tolist() if not env.spec.two_player else None,
        "positions": int(lengths.sum()),
        "steps": [{key: _json_number(v) for key, v in row.items()} for row in rows],
        "tactics": tactics,
        "lookahead": lookahead,
    }
    return rows, summary


def board_game_reports(
    env,
    model,
    config: Config,
    params: Params,
    search,
    *,
    seed: int,
    tactics_games: int,
    tactics_positions: int,
    lookahead_positions: int | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The tactics and one-move lookahead reports (None where asked for 0 positions; games
    without them get a "skipped" line)."""
    tactics = lookahead = None
    if tactics_positions:
        kwargs = dict(games=tactics_games, cap=tactics_positions, seed=seed)
        tactics = tactics_report(env, model, config, params, search, **kwargs)
    if lookahead_positions != 0:
        lookahead = lookahead_report(env, model, config, params, lookahead_positions)
    return tactics, lookahead


def _json_number(value: float) -> float | int | None:
    return None if isinstance(value, float) and np.isnan(value) else value
