"""Turning CI artifacts (JUnit reports, git history) into events."""
