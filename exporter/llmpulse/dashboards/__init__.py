"""Grafana dashboards written with grafanalib (`llmpulse dashboards build`)."""
