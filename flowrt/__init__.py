"""flowrt: a Node-RED-compatible flow runtime in Python."""
__version__ = "0.1.0"
