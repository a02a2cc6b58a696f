"""Matches start from distinct openings, and a replayed game counts once."""

import numpy as np
import pytest

import envs
from muzero.evaluation.elo import Game, fit_elo, tally
from muzero.evaluation.matches import play_games
from muzero.evaluation.openings import (
    assign_openings,
    enumerate_openings,
    first_occurrences,
    match_openings,
    opening_plies,
)
from muzero.evaluation.opponents import observation_player


@pytest.fixture(scope="module")
def connect_four():
    return envs.make("connect_four")


def test_connect_four_has_49_distinct_two_ply_openings(connect_four):
    assert opening_plies("connect_four") == 2 and opening_plies("tic_tac_toe") == 1
    openings = enumerate_openings(connect_four, 2)
    assert openings.shape == (49, 2)
    assert {tuple(o) for o in openings} == {(a, b) for a in range(7) for b in range(7)}
    tictactoe = envs.make("tic_tac_toe")
    assert enumerate_openings(tictactoe, 1).tolist() == [[a] for a in range(9)]
    two_ply = {tuple(o) for o in enumerate_openings(tictactoe, 2)}
    assert len(two_ply) == 72 and all(a != b for a, b in two_ply)  # no cell played twice


def test_openings_are_dealt_from_a_seeded_shuffle():
    openings = np.arange(10)[:, None]
    every = assign_openings(openings, None, seed=0)
    assert sorted(every[:, 0]) == list(range(10))  # None: each opening once
    few = assign_openings(openings, 4, seed=0)
    assert len(set(few[:, 0])) == 4  # fewer games than openings: no opening twice
    many = assign_openings(openings, 25, seed=0)
    assert set(np.bincount(many[:, 0])) == {2, 3}  # more: dealt in turn
    np.testing.assert_array_equal(assign_openings(openings, 25, seed=0), many)
    assert not np.array_equal(assign_openings(openings, None, seed=1), every)


def lowest_column(observations, legal_masks, rng):
    """Deterministic: the leftmost legal column."""
    return np.argmax(legal_masks, axis=1)


def centre_first(observations, legal_masks, rng):
    """Deterministic: the legal column nearest the centre, ties to the right."""
    preference = np.array([0, 2, 4, 6, 5, 3, 1])  # column 3 best, then 4, 2, 5, 1, 6, 0
    return np.argmax(np.where(legal_masks, preference, -1), axis=1)


def test_deterministic_players_from_openings_play_distinct_games_and_replays_count_once(
    connect_four,
):
    stones_seen = []

    def recording(observations, legal_masks, rng):
        stones_seen.extend(np.asarray(observations).reshape(len(observations), -1).sum(-1))
        return lowest_column(observations, legal_masks, rng)

    a, b = observation_player(recording), observation_player(centre_first)
    openings = match_openings(connect_four, None, seed=0)  # all 49, both seats
    games = []
    for first, second, names in ((a, b, ("a", "b")), (b, a, ("b", "a"))):
        played = play_games(connect_four, first, second, openings, seed=0)
        for opening, moves in zip(openings, played.moves, strict=True):
            assert moves[:2] == tuple(opening)  # every game starts with its opening
        games += [
            Game(*names, m, int(o)) for m, o in zip(played.moves, played.outcomes, strict=True)
        ]
    assert min(stones_seen) >= 2  # the players never chose an opening move
    assert len(set(g.moves for g in games)) > 1
    assert all(first_occurrences([(g.first, g.second, g.moves) for g in games]))

    # Deterministic players replay the same 98 games: the replays change nothing.
    replayed = play_games(connect_four, b, a, openings, seed=5)
    assert replayed.moves == [g.moves for g in games[49:]]
    once, twice = tally(games), tally(games + games)
    assert [r[:5] for r in twice] == [r[:5] for r in once]
    assert [r.duplicates for r in twice] == [49, 49] and [r.played for r in twice] == [98, 98]


def test_elo_fit_of_repeated_identical_games_equals_the_fit_of_one_copy():
    games = [
        Game("a", "random", (0, 1, 2), 1),
        Game("a", "random", (0, 1, 3), 0),
        Game("random", "a", (4, 5), -1),
        Game("random", "a", (6, 5), 1),
        Game("a", "b", (3,), -1),
        Game("b", "a", (3,), 0),
        Game("b", "random", (2, 2), 1),
    ]
    one = fit_elo(tally(games), anchor="random")
    many = fit_elo(tally(games * 7 + games[:3] * 4), anchor="random")
    assert many.players == one.players
    np.testing.assert_allclose(many.elo, one.elo)
    np.testing.assert_allclose(many.ci95, one.ci95)
    # By hand: the same moves with the seats swapped are a different game.
    results = tally([Game("a", "b", (1,), 1), Game("a", "b", (1,), 1), Game("b", "a", (1,), 1)])
    assert [tuple(r) for r in results] == [("a", "b", 1, 0, 0, 1), ("b", "a", 1, 0, 0, 0)]
