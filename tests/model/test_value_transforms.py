import jax.numpy as jnp
import numpy as np
import pytest

from muzero.model.value_transforms import (
    Support,
    h,
    h_inverse,
    logits_to_scalar,
    probabilities_to_scalar,
    scalar_to_two_hot,
)


def test_h_by_hand():
    # h(3) = sqrt(4) - 1 + 0.003; h(-8) = -(3 - 1) - 0.008; h(0) = 0
    np.testing.assert_allclose(h(jnp.array([3.0, -8.0, 0.0])), [1.003, -2.008, 0.0], rtol=1e-6)


@pytest.mark.parametrize("x", [0.0, 0.5, -0.5, 1.0, 7.3, -42.0, 300.0, -1234.5])
def test_h_inverse_inverts_h(x):
    np.testing.assert_allclose(h_inverse(h(jnp.float32(x))), x, rtol=1e-4, atol=1e-4)


def test_two_hot_of_one_and_a_quarter_by_hand():
    support = Support(-2.0, 2.0, 5, transform=False)  # bins -2, -1, 0, 1, 2
    np.testing.assert_allclose(
        scalar_to_two_hot(jnp.float32(1.25), support), [0, 0, 0, 0.75, 0.25], atol=1e-6
    )


def test_two_hot_clips_to_the_ends():
    support = Support(-2.0, 2.0, 5, transform=False)
    np.testing.assert_allclose(
        scalar_to_two_hot(jnp.array([-9.0, 9.0]), support),
        [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]],
        atol=1e-6,
    )


def test_two_hot_with_transform_by_hand():
    # h(3) = 1.003 on bins spaced 1 apart: 0.997 on bin 1, 0.003 on bin 2.
    support = Support(-5.0, 5.0, 11, transform=True)
    probs = scalar_to_two_hot(jnp.float32(3.0), support)
    assert probs[6] == pytest.approx(0.997, abs=1e-5)
    assert probs[7] == pytest.approx(0.003, abs=1e-5)


@pytest.mark.parametrize("transform", [False, True])
def test_two_hot_round_trip(transform):
    support = Support(-20.0, 20.0, 41, transform=transform)
    x = jnp.linspace(-300.0, 300.0, 61) if transform else jnp.linspace(-19.5, 19.5, 41)
    back = probabilities_to_scalar(scalar_to_two_hot(x, support), support)
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-3)


def test_uniform_logits_on_symmetric_support_mean_zero():
    support = Support(-10.0, 10.0, 21)
    assert float(logits_to_scalar(jnp.zeros(21), support)) == pytest.approx(0.0, abs=1e-4)
