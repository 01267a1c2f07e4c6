"""The Rutland demo: builds the district, back-fills history, runs the uplink simulator."""
