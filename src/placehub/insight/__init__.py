"""Place insight: indicators, composite indices, sensitivity analysis, disclosure control."""
