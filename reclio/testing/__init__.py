"""Public test helpers: contract suites for every port and hypothesis strategies.

Adapter authors subclass the contracts in `reclio.testing.contracts` and provide a
fixture; the in-memory adapters and every first-party adapter pass the same suites.
`reclio.testing.faults` wraps any adapter to fail on a schedule, and
`reclio.testing.recombee_server.LocalRecombee` is a local Recombee the real SDK talks to.

Stability: testing (may change between minor versions).
"""
