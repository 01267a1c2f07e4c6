"""Places: boundary layers, property points, the road network and spatial assignment."""
