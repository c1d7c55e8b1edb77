"""Tests of the learned selector: features, model, ranking, and the predict-then-learn order."""
