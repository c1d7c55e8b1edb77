"""pts: predictive test selection over Kafka, River and ClickHouse. Shared core and CLI."""

__version__ = "0.1.0"
