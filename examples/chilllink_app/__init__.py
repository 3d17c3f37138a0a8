"""A ChillLink addon server for Chillio on reclio, complete: per-user addon URLs, admin, jobs.

Run it on the embedded default (demo data, no keys, no network)::

    pip install "reclio[examples]"
    reclio demo --state demo.sqlite3
    RECLIO_STATE_PATH=demo.sqlite3 uvicorn examples.chilllink_app:app

Routes (docs/embedding.md has the whole story):

* ``GET /{token}/manifest``, ``GET /{token}/feeds?last_watched=movie:603``: a user's addon
  URL, ``<base>/<token>/manifest``, carries an unguessable token (`reclio.addons`); an
  unknown token gets the non-personal layout, never another user's rows.
* ``GET /manifest``, ``GET /feeds?user_id=...``: for hosts that identify users themselves;
  ``user_id`` is served personally only with ``RECLIO_APP_USER_ID_PARAM=on``.
* ``GET /admin/recombee/diagnose``, ``POST /admin/sync/content``, ``POST
  /admin/sync/users``, ``POST /admin/sync/user/{id}``, ``GET /admin/jobs[/{id}]``: behind
  ``X-Admin-Token`` (``RECLIO_ADMIN_TOKEN``).
* ``GET /healthz``: the store and the last health verdict; 503 when degraded.

The lifespan builds the runtime (`reclio.bootstrap.build`) and runs content sync (daily),
the user sweep (users whose adaptive cadence says they are due) and the health round
(hourly) in process, each under its lease in the state store, so several app processes
sharing one state never run a job twice.
"""

from examples.chilllink_app.server import AppState, create_app

__all__ = ["AppState", "app", "create_app"]

app = create_app()
"""The app, configured from the environment when the server starts it."""
