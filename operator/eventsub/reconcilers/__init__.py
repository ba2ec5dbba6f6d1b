"""observe -> plan (core) -> act (kafka/, kube/) -> status. Level-based and idempotent."""
