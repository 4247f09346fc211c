"""flowrt: a Node-RED-compatible flow runtime in Python.

The public API for node authors:

    from flowrt import Node, register_type, NodeError, NodeConfigError
"""

from flowrt.engine.node import Node, NodeConfigError, NodeError
from flowrt.engine.registry import register_type

__version__ = "0.1.0"
__all__ = ["Node", "NodeConfigError", "NodeError", "register_type", "__version__"]
