"""The JavaScript function node's engine: a QuickJS sandbox per node."""
