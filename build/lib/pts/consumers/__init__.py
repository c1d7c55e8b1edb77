"""Plain Kafka consumers, such as the history loader."""
