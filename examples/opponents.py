"""A plug-in opponent for `make eval RUN=... OPPONENT=examples.opponents:center_first`.

A plug-in is any importable `function(observation, legal_action_mask) -> action`: it gets one
game's observation of the player to move (pgx's `state.observation`) and the boolean mask of
legal actions as numpy arrays, and returns the index of a legal action.
"""

import numpy as np


def center_first(observation: np.ndarray, legal_action_mask: np.ndarray) -> int:
    """The legal action nearest the middle of the action range: the centre cell at
    tic-tac-toe, the middle column at connect four."""
    del observation
    legal = np.flatnonzero(legal_action_mask)
    middle = (len(legal_action_mask) - 1) / 2
    return int(legal[np.argmin(np.abs(legal - middle))])
