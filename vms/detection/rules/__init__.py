"""Rules: one module per rule, each a pure ``step(state, observation, now)``."""
