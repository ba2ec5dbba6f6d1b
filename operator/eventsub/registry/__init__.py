"""The only code that talks to the schema registry (the Confluent Schema Registry API)."""
