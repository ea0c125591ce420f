"""llmpulse: OTLP GenAI spans in, Prometheus metrics out.

>>> import llmpulse
>>> llmpulse.__version__
'0.1.0'
"""

__version__ = "0.1.0"
