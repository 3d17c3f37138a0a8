"""Contract test suites, one module per port: subclass a contract and provide its fixture."""
