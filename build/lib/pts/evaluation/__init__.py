"""Replaying CI histories to measure selection quality beside baselines."""
