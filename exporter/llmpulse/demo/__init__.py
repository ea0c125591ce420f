"""Built-in traffic generator for `llmpulse demo`."""
