"""The one training loop and what runs around it: checkpoints, logs, plots, progress, memory."""
