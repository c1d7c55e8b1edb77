"""The HTTP gateway (`pts gateway`): the Launchable API in front of the topics, for CI that has
HTTPS and a token but no Kafka. Stateless: any number of replicas serve the same calls."""
