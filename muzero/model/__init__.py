"""The learned model: value transforms and networks (representation, dynamics, prediction)."""
