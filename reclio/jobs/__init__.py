"""The sweep as jobs on Procrastinate (extra ``reclio[workers]``), for running past one machine.

Workers on any number of machines take jobs from one queue in the state's PostgreSQL:
a periodic job enqueues the due users, one job per user sync (locked by user id), content
sync as one periodic job under one lock, jobs of dead workers put back in the queue. The
embedded default needs none of this: it sweeps in process (``reclio sync users``).

``run_worker(config, concurrency=N)`` is ``reclio worker``; `serve` runs a worker on a
runtime you built; `defer_user_sync` queues one user's sync from any process.

Stability: caller-stable; job names and arguments are stable within a minor version.
"""

from reclio.jobs._jobs import (
    CONTENT_TASK,
    ENQUEUE_TASK,
    GENERATION_CURSOR,
    STALLED_TASK,
    USER_TASK,
    SyncJobs,
    WorkerSettings,
    defer_user_sync,
    make_app,
    retry_delay,
    retryable,
    run_worker,
    serve,
)

__all__ = [
    "CONTENT_TASK",
    "ENQUEUE_TASK",
    "GENERATION_CURSOR",
    "STALLED_TASK",
    "USER_TASK",
    "SyncJobs",
    "WorkerSettings",
    "defer_user_sync",
    "make_app",
    "retry_delay",
    "retryable",
    "run_worker",
    "serve",
]
