"""Terminal views of pgx board games for `muzero.cli.play`: draw a board, read and name moves.

    view = board_view("tic_tac_toe")
    console.print(view.draw(state, last_action))
    action = view.parse("5")              # ValueError says what a move looks like
    view.name_move(action)                # "5"

pgx draws player ids for first and second mover at random at every init, but keeps its
boards in colour terms (colour 0 = the first mover), so the views read `state._x` and never
need the ids: X, red and black always moved first. The agent sees none of this; it only
gets `state.observation` and the legal mask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from muzero.evaluation.go import GTP_COLUMNS, action_to_vertex, vertex_to_action

LAST_MOVE = "reverse"  # the style that marks the move just played


@dataclasses.dataclass(frozen=True)
class BoardView:
    """How one game looks and reads in a terminal. All functions are pure."""

    pieces: tuple[str, str]  # first mover's and second mover's pieces, as shown to the human
    expected: str  # what a move looks like, for prompts and errors: "a cell number 1-9"
    draw: Callable[[Any, int | None], RenderableType]  # (pgx state, last action) -> board
    parse: Callable[[str], int]  # the human's text -> action; ValueError names `expected`
    name_move: Callable[[int], str]  # action -> how the human would type it
    why_illegal: Callable[[Any, int], str]  # (pgx state, an illegal action) -> the reason


def _cells(state: Any) -> np.ndarray:
    """[N] pgx tic-tac-toe / connect-four board: -1 empty, 0 first mover, 1 second mover."""
    return np.asarray(state._x.board)


# --- tic-tac-toe: cells 1-9 row by row from the top left, as on a phone keypad's top rows


def _ttt_draw(state: Any, last: int | None) -> RenderableType:
    board = _cells(state)
    lines = []
    for row in range(3):
        line = Text()
        for column in range(3):
            cell = row * 3 + column
            if board[cell] < 0:
                # Empty cells show the number to type, dimmed so the pieces stand out.
                piece = Text(str(cell + 1), style="dim")
            else:
                mark = "XO"[board[cell]]
                piece = Text(mark, style="bold red" if mark == "X" else "bold blue")
            if cell == last:
                piece.stylize(LAST_MOVE)
            line += Text(" ") + piece + Text(" ")
            if column < 2:
                line += Text("│", style="dim")
        lines.append(line)
        if row < 2:
            lines.append(Text("───┼───┼───", style="dim"))
    return Group(*lines)


def _numbered(count: int, noun: str, expected: str) -> Callable[[str], int]:
    """`parse` of moves typed as numbers 1..count (action = number - 1): cells, columns."""

    def parse(text: str) -> int:
        text = text.strip()
        if not (text.isdigit() and 1 <= int(text) <= count):
            raise ValueError(f"{text!r} is not a {noun}: type {expected}")
        return int(text) - 1

    return parse


TIC_TAC_TOE = BoardView(
    pieces=("X", "O"),
    expected="a cell number 1-9",
    draw=_ttt_draw,
    parse=_numbered(9, "cell", "a cell number 1-9"),
    name_move=lambda action: str(action + 1),
    why_illegal=lambda state, action: f"cell {action + 1} is taken; pick an empty cell",
)


# --- connect four: 6 rows x 7 columns, pgx's row 0 on top; an action is a column


def _c4_draw(state: Any, last: int | None) -> RenderableType:
    board = _cells(state).reshape(6, 7)
    # The disc the last move dropped is the topmost one of its column.
    last_row = int(np.argmax(board[:, last] >= 0)) if last is not None else -1
    lines = [Text(" " + " ".join(str(c + 1) for c in range(7)), style="bold")]
    for row in range(6):
        line = Text(" ")
        for column in range(7):
            owner = board[row, column]
            if owner < 0:
                piece = Text("·", style="dim")
            else:
                # Glyphs differ as well as colours, so the board reads without colour too.
                piece = Text("●○"[owner], style="bold red" if owner == 0 else "bold yellow")
            if (row, column) == (last_row, last):
                piece.stylize(LAST_MOVE)
            line += piece + Text(" " if column < 6 else "")
        lines.append(line)
    return Group(*lines)


CONNECT_FOUR = BoardView(
    pieces=("● red", "○ yellow"),
    expected="a column 1-7",
    draw=_c4_draw,
    parse=_numbered(7, "column", "a column 1-7"),
    name_move=lambda action: str(action + 1),
    why_illegal=lambda state, action: f"column {action + 1} is full; pick another column",
)


# --- Go: GTP coordinates (columns A.. skipping I, rows counted from the bottom); N*N = pass


def star_points(size: int) -> set[int]:
    """Hoshi of a size x size board as pgx actions: the 4-4 (3-3 below 13x13) points, the
    centre on odd boards, and the side stars on 19x19 (and any odd board of 15 or more)."""
    if size < 7:
        return set()
    edge = 2 if size < 13 else 3
    lines = [edge, size - 1 - edge]
    centre = size // 2 if size % 2 else None
    points = {(r, c) for r in lines for c in lines}
    if centre is not None:
        points.add((centre, centre))
        if size >= 15:
            points |= {(centre, edge), (centre, size - 1 - edge)}
            points |= {(edge, centre), (size - 1 - edge, centre)}
    return {r * size + c for r, c in points}


def go_view(size: int) -> BoardView:
    """The view of pgx `go_{size}x{size}`: black (first mover) ●, white ○."""
    stars = star_points(size)
    columns = "   " + " ".join(GTP_COLUMNS[:size])

    def draw(state: Any, last: int | None) -> RenderableType:
        # pgx stores stone-group ids: positive for black, negative for white, 0 for empty.
        board = np.sign(np.asarray(state._x.board)[: size * size])
        lines = [Text(columns, style="dim")]
        for row in range(size):
            label = f"{size - row:>2}"
            line = Text(label + " ", style="dim")
            for column in range(size):
                point = row * size + column
                if board[point] > 0:
                    piece = Text("●", style="bold")
                elif board[point] < 0:
                    piece = Text("○", style="bold")
                else:
                    piece = Text("+" if point in stars else "·", style="dim")
                if point == last:
                    piece.stylize(LAST_MOVE)
                line += piece + Text(" ")
            lines.append(line + Text(label, style="dim"))
        lines.append(Text(columns, style="dim"))
        black, white = (int(n) for n in np.asarray(state._x.num_captured))
        note = f"captures: black {black}, white {white}"
        if last == size * size:
            note += f"; {'white' if board_to_move(state) == 0 else 'black'} passed"
        lines.append(Text(note, style="dim"))
        return Group(*lines)

    def parse(text: str) -> int:
        try:
            return vertex_to_action(text, size)
        except ValueError as error:
            raise ValueError(f"{error}: type a point like D4, or pass") from None

    def why_illegal(state: Any, action: int) -> str:
        vertex = action_to_vertex(action, size)
        if np.asarray(state._x.board)[action] != 0:
            return f"{vertex} is occupied; pick an empty point"
        return f"{vertex} is not allowed here (suicide or ko); pick another point, or pass"

    return BoardView(
        pieces=("● black", "○ white"),
        expected="a point like D4, or pass",
        draw=draw,
        parse=parse,
        name_move=lambda action: action_to_vertex(action, size),
        why_illegal=why_illegal,
    )


def board_to_move(state: Any) -> int:
    """0 if the first mover (X, red, black) is to move, else 1: pgx's colour to play."""
    return int(np.asarray(state._x.color))


def _go_size(env_id: str) -> int:
    """'go_9x9' -> 9."""
    rows, _, columns = env_id.removeprefix("go_").partition("x")
    if not (rows.isdigit() and rows == columns):
        raise ValueError(f"{env_id!r} is not a pgx Go id like go_9x9")
    return int(rows)


# pgx env id (or the "go_" prefix for every board size) -> its view.
VIEWS: dict[str, Callable[[str], BoardView]] = {
    "tic_tac_toe": lambda env_id: TIC_TAC_TOE,
    "connect_four": lambda env_id: CONNECT_FOUR,
    "go_": lambda env_id: go_view(_go_size(env_id)),
}


def _key(env_id: str) -> str:
    return "go_" if env_id.startswith("go_") else env_id


def has_board(env_id: str) -> bool:
    """Whether `muzero.cli.play` can show this pgx game."""
    return _key(env_id) in VIEWS


def board_view(env_id: str) -> BoardView:
    """The view of pgx game `env_id`; ValueError names the games that have one."""
    if not has_board(env_id):
        raise ValueError(f"no board view for {env_id!r}; games: tic_tac_toe, connect_four, go_NxN")
    return VIEWS[_key(env_id)](env_id)
