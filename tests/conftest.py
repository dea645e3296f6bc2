"""Fixtures every test package shares."""

import pytest
import zmq


@pytest.fixture
def ctx():
    """A ZeroMQ context for one test, destroyed (linger 0) after it."""
    context = zmq.Context()
    yield context
    context.destroy(linger=0)
