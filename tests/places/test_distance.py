"""Straight-line distances used where no road network is needed."""


def test_metres_between_agrees_with_haversine_at_town_scale() -> None:
    """The cheap scalar distance matches the great-circle one within 0.1% over Rutland."""
    from placehub.places.distance import haversine_m, metres_between

    oakham, uppingham = (-0.7276, 52.6703), (-0.7226, 52.5878)
    exact = float(haversine_m(*oakham, *uppingham))
    assert abs(metres_between(oakham, uppingham) - exact) / exact < 0.001
    assert 9000 < exact < 9300 and metres_between(oakham, oakham) == 0.0
