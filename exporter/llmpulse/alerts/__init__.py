"""Prometheus rules and Alertmanager routing (`llmpulse alerts build`)."""
