"""The subcommands of the `llmpulse` console script, one module each (`register(subparsers)`).

Each module adds its subcommands with `set_defaults(func=...)`; `llmpulse.cli` lists them.
"""
