class StackError(Exception):
    """A problem a person can fix (missing toolchain, taken port, failed start); printed as one line."""
