"""Prioritized trajectory replay, frames stored once, observation histories."""
