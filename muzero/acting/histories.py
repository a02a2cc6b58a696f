"""What the network sees while acting: each episode's history, started and searched from.

Every player that acts from observations (the device and host actors, the greedy episode loop
of `muzero.evaluation.episodes`, `muzero.Agent`) keeps one `muzero.replay.history.History`
per environment and searches from its stacked form; these are the one way to start such a
history and to search from it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from muzero.config import Config
from muzero.replay.history import NO_ACTION, History, init_history, push, stack
from muzero.search.policy import SearchFn, SearchOutput
from muzero.types import Array, EnvSpec, Params, PRNGKey

HistorySearch = Callable[[Params, History, Array, PRNGKey], tuple[Array, SearchOutput]]


def start_history(spec: EnvSpec, config: Config, first_frame: Array) -> History:
    """A batch of histories holding only each episode's first frame [E, *F]."""
    num_envs = first_frame.shape[0]
    empty = init_history(num_envs, config.history.frames, spec.observation_shape, first_frame.dtype)
    no_action = jnp.full((num_envs,), NO_ACTION, jnp.int32)
    return push(empty, first_frame, no_action, jnp.ones((num_envs,), bool))


def network_input(history: History, config: Config, spec: EnvSpec) -> Array:
    """[B, N] histories -> the stacked observations [B, *O] the network sees."""
    return stack(history, spec.num_actions, config.history.action_planes)


def make_history_search(search: SearchFn, config: Config, spec: EnvSpec) -> HistorySearch:
    """Returns search_from(params, history [B], legal_mask [B, A], key) -> (observation
    [B, *O], search output [B]): the search from each history's stacked observation, which is
    returned too (the network's input, for records)."""

    def search_from(params: Params, history: History, legal_mask: Array, key: PRNGKey):
        observation = network_input(history, config, spec)
        return observation, search(params, observation, legal_mask, key)

    return search_from
