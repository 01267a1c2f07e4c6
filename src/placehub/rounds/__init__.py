"""Service rounds: need forecasting, selection, vehicle routing, round sheets and simulation."""
