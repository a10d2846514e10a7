"""The task engine: claim, leases, retries, the runner and the dispatcher.

Writes that move tasks live in projects.services.tasks; this package holds
the machinery that decides what runs where and drives the executors.
"""
