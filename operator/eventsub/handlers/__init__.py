"""kopf wiring only: thin handler functions that call the reconcilers."""
