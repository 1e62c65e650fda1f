"""Analytics: motion -> detector -> tracker -> zones -> rules -> events (docs/analytics.md)."""
