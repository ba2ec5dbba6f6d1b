"""The only code that imports confluent_kafka: admin clients, their errors, their registry."""
