"""The foundation every other package stands on: errors, events, settings, logs, the Avro
codec, the Kafka client factory with its one producer and dead-letter path, and the topic
registry. Nothing here imports anything above it."""
