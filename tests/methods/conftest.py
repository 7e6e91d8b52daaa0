"""Synthetic hubs for the method tests (session fixtures from tests/hubfakes.py)."""

from hubfakes import hand_hub, synth_hub, two_task_hub  # noqa: F401
