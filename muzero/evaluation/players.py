"""What plays a side of a match: a `Player` over a batch of games.

`player(state, ts, active, rng) -> actions [B]`, where `state` is the environment's own state
(for pgx, the pgx `State`: an opponent's window on the rules; the agent never reads it), `ts`
the batched `TimeStep`, and `active [B]` marks the games in which this player is to move (the
other entries of the result are ignored). Fixed opponents live in `opponents`, the reference
MCTS in `reference_mcts`, the agent's own search player in `matches`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Player = Callable[[Any, Any, np.ndarray, np.random.Generator], np.ndarray]
