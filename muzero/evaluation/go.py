"""Go on pgx's board, in GTP's coordinates: the game GTP engines and GNU Go matches share.

Coordinates: GTP names a point by column letter (A..T, skipping I) and row number counted from
the bottom ("D4"); pgx numbers points row-major from the top-left corner, with N*N for pass.
Rules are pgx's: area scoring (Tromp-Taylor) with komi 7.5, suicide forbidden, a move that
repeats an earlier position (positional superko) loses, and a game ends at two passes or after
2 N^2 plies.
"""

from __future__ import annotations

import jax
import numpy as np

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP skips I
PGX_KOMI = 7.5  # pgx.make("go_NxN") scores with this komi; the agent was trained with it
COLOURS = {"b": "black", "black": "black", "w": "white", "white": "white"}


def vertex_to_action(vertex: str, size: int) -> int:
    """A GTP vertex ('D4', 'd4', 'pass') -> pgx Go action; ValueError names a bad vertex."""
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    column = GTP_COLUMNS.find(text[:1]) if text else -1
    row = int(text[1:]) if text[1:].isdigit() else 0
    if not 0 <= column < size or not 1 <= row <= size:
        raise ValueError(f"{vertex!r} is not a point of a {size}x{size} board")
    return (size - row) * size + column


def action_to_vertex(action: int, size: int) -> str:
    """A pgx Go action -> its GTP vertex ('D4' or 'pass')."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise ValueError(f"action {action} is not a move on a {size}x{size} board")
    row, column = divmod(int(action), size)
    return f"{GTP_COLUMNS[column]}{size - row}"


def board_size(env_id: str) -> int | None:
    """The board size of a pgx Go id ('go_9x9' -> 9), None for any other game."""
    if not env_id.startswith("go_"):
        return None
    rows, _, columns = env_id[3:].partition("x")
    return int(rows) if rows.isdigit() and rows == columns else None


class GoGame:
    """A game of Go kept by pgx's simulator, with every position kept for `undo`."""

    def __init__(self, env_id: str):
        import pgx
        from pgx._src.games.go import _count_scores

        self.size = board_size(env_id)
        if self.size is None:
            raise ValueError(f"{env_id!r} is not a pgx Go game")
        env = pgx.make(env_id)
        self._init = jax.jit(env.init)
        self._step = jax.jit(env.step)
        # pgx's own area count (stones + territory per colour), the one its rewards use.
        self._areas = jax.jit(lambda x: _count_scores(x, self.size))
        self.clear()

    def clear(self) -> None:
        self.states = [self._init(jax.random.key(0))]

    @property
    def state(self):
        return self.states[-1]

    @property
    def to_move(self) -> str:
        """'black' or 'white': pgx's colour parity (black moves first), not its player ids."""
        return ("black", "white")[int(self.state._x.color)]

    @property
    def over(self) -> bool:
        return bool(self.state.terminated) or bool(self.state.truncated)

    @property
    def last_was_pass(self) -> bool:
        return int(self.state._x.consecutive_pass_count) > 0

    def board(self) -> np.ndarray:
        """[N, N] int8: +1 black, -1 white, 0 empty; row 0 is the top (GTP row N)."""
        return np.sign(np.asarray(self.state._x.board)).reshape(self.size, self.size)

    def legal_mask(self) -> np.ndarray:
        """[N*N + 1] bool: pgx's mask (occupied, suicide, simple ko) less superko repeats."""
        legal = np.asarray(self.state.legal_action_mask, bool).copy()
        if self.over:
            return np.zeros_like(legal)
        # pgx ends the game as a loss for a move that repeats an earlier position. Without a
        # capture so far the stones only grow in number and no position can repeat.
        if np.asarray(self.state._x.num_captured).sum() > 0:
            for action in np.flatnonzero(legal[:-1]):
                legal[action] = not bool(self._step(self.state, np.int32(action))._x.is_psk)
        return legal

    def play(self, action: int) -> bool:
        """Play `action` for the colour to move; False (nothing changes) if it is illegal."""
        if self.over or not np.asarray(self.state.legal_action_mask)[action]:
            return False
        state = self._step(self.state, np.int32(action))  # one dtype: one compile
        if action < self.size * self.size and bool(state._x.is_psk):
            return False
        self.states.append(state)
        return True

    def undo(self) -> bool:
        if len(self.states) == 1:
            return False
        self.states.pop()
        return True

    def score(self, komi: float = PGX_KOMI) -> float:
        """Black's area minus white's minus komi (Tromp-Taylor, pgx's count); > 0: black wins."""
        black, white = np.asarray(self._areas(self.state._x), float)
        return black - white - komi

    def winner(self, komi: float = PGX_KOMI) -> str:
        """'black' or 'white': pgx's terminal reward once the game is over, else the count."""
        if self.over:
            black_id = np.asarray(self.state._player_order)[0]
            return "black" if np.asarray(self.state.rewards)[black_id] > 0 else "white"
        return "black" if self.score(komi) > 0 else "white"


def format_score(score: float) -> str:
    """GTP's final_score text: 'B+3.5', 'W+0.5' or '0'."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"
