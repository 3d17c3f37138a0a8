"""Recombee: the ``Recommender`` port on a Recombee database (extra ``reclio[recombee]``).

``RecombeeRecommender(config)`` talks to Recombee through the official
``recombee-api-client`` (imported when a recommender is built, so importing this package
needs no SDK). How it writes, reads and fails: ``docs/adapters/recombee.md``; what to do
when it misbehaves: ``reclio diagnose recombee`` and ``docs/troubleshooting.md``.
"""

from reclio.adapters.recombee._recommender import RecombeeRecommender
from reclio.adapters.recombee._sdk import UnknownDatabase, sdk_version
from reclio.adapters.recombee._wire import SCHEMA
from reclio.settings import RecombeeConfig

__all__ = ["SCHEMA", "RecombeeConfig", "RecombeeRecommender", "UnknownDatabase", "sdk_version"]
