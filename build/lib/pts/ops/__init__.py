"""Running pts: the broker script, topic declarations, the demo and replays."""
