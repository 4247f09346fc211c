"""flowrt: a Node-RED-compatible flow runtime in Python.

The public API for node authors:

    from flowrt import Node, register_type, NodeError, NodeConfigError

`is_leader(node)`: should the node run timed work in this process (one worker of
`flowrt run --workers N` leads; flowrt.engine.leader)?
"""

from flowrt.engine.leader import is_leader
from flowrt.engine.node import Node, NodeConfigError, NodeError
from flowrt.engine.registry import register_type

__version__ = "0.1.0"
__all__ = ["Node", "NodeConfigError", "NodeError", "is_leader", "register_type", "__version__"]
