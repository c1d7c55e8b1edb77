"""Choosing tests: features from history and change, River models, ranking and cutting a subset."""
