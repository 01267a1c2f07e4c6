"""Place planning: hazard areas (who and what is inside, which routes are cut), catchments of
facilities by road travel time, and car park occupancy with a tariff suggestion."""
