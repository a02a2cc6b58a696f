"""MuZero and Gumbel MuZero in JAX: a learned model, mctx search, one rule-free loop.

muzero.train(config)           train until the config's budget is spent; returns the run dir
muzero.Agent.load(run_dir)     a trained agent: reset(), act(observation), search(...)
muzero.Config                  the config tree; presets live in `configs`
"""

from __future__ import annotations

import importlib
from typing import Any

# Resolved on first use: `envs` imports `muzero.types`, and the loop imports `envs`, so an eager
# import here would be circular (and would load JAX for `import muzero.types`).
_EXPORTS = {
    "Agent": ("muzero.agent", "Agent"),
    "SearchResult": ("muzero.agent", "SearchResult"),
    "Config": ("muzero.config", "Config"),
    "train": ("muzero.runtime.training", "run"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'muzero' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(importlib.import_module(module), attribute)
