"""Measuring agents: episodes, matches, opponents, Elo, model errors, Atari scores."""
