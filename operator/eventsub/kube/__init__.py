"""The only code that talks to the Kubernetes API besides kopf itself (sync client, in threads)."""
