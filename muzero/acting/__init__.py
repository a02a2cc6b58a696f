"""Self-play: the device actor (JAX environments) and the host actor (Atari, gymnasium)."""
