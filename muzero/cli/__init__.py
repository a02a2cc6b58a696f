"""Entry points (`python -m muzero.cli.<name>`): the only modules that read argv or stdin or
print."""
