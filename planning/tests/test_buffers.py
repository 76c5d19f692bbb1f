"""Safety stock and service: known answers from published worked examples."""

import pytest

from planning import buffers


def test_z_for_95_percent():
    assert buffers.z_for(0.95) == pytest.approx(1.6449, abs=1e-4)


def test_evaluate_refuses_both_or_neither_target():
    with pytest.raises(ValueError, match="exactly one"):
        buffers.evaluate(10, 2, 5)
    with pytest.raises(ValueError, match="exactly one"):
        buffers.evaluate(10, 2, 5, service_level=0.9, reorder_point=60)
