"""Errors that mean "the user asked for something that cannot work", not "Cognate is broken".

The CLI prints their message as one line and exits with status 1; anything else is a bug and
keeps its traceback.
"""


class CognateError(ValueError):
    """Bad input: a missing or corrupt file, a wrong key, shape or value.

    The message says what is wrong, where (file, line, key) and, when it is not obvious, how
    to fix it.
    """
