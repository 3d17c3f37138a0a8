"""The embedded default: a generated world and the demo that syncs it (no keys, no network).

* `reclio.embedded.world` generates a deterministic catalog and users with real taste.
* `reclio.embedded.demo.run_demo` runs the real content and user sync pipelines on it,
  through the composition root (`reclio.bootstrap`), and builds the demo user's feeds.
"""

from reclio.embedded.world import DEMO_USER, WORLD_MOMENT

__all__ = ["DEMO_USER", "WORLD_MOMENT"]
