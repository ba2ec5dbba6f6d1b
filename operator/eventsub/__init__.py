"""eventsub: a Kubernetes operator that runs Kafka event consumers declaratively."""

__version__ = "0.1.0"
