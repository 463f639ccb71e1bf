"""Shared fixtures and settings."""

import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests replay a fixed, seeded set of inputs by default, so that a run (CI included)
# is reproducible; HYPOTHESIS_PROFILE=explore searches new inputs.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for each test."""
    return np.random.default_rng(12345)
