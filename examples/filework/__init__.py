"""Filework: a small application that checksums, compresses and reports on files.

It shows Drip doing real local work. ``enqueue`` drops a batch of sample files
into an inbox and enqueues one job per file, together with the application's
own record of the batch, in one transaction. ``handlers`` is the module that
``drip run`` loads. ``report`` prints what happened.
"""
