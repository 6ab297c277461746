"""Figures, reports, targets, checks, flags and review: exact published figures in, exact findings out."""
