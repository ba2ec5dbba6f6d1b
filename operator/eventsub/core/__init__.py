"""Pure decisions: no I/O and no clock reads. Time and observations come in as arguments."""
