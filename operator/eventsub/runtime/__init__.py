"""The controller machinery: object cache, work queues, workers, re-list, leader election.

It knows nothing of the kinds: the reconcilers register themselves in a table
(reconcilers/wiring.py) that the Manager runs."""
