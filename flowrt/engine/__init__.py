"""How a message moves: nodes, flows, subflows, delivery, the runtime's lifecycle, the type registry."""
