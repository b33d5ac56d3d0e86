"""Drip's dialect conformance suite, run on every selected database."""

from drip.testing.conformance import *  # noqa: F403
