"""The build: every file found by ``sources`` read by ``formats``, mapped by a
profile and written by the ``store``, one transaction per file.

``loading`` is the reading side (a file to batches of rows, in this process or
in the ``worker``); ``build`` is the writing side and the entry point.
"""
