"""What the finance bureau loads besides spending: units, consumption, fiscal years, magnitudes, templates."""
