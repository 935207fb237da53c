"""Downstream applications built on the engine (postures demo, sitting time, ...)."""
