"""What a node module needs besides `flowrt.Node`: Node-RED's `RED.util`, in Python names.

Built-in and user node modules import helpers from here (and from `flowrt`), never from engine
modules, so the engine can change inside without breaking a node.

| Node-RED `RED.util`          | here                                   |
|------------------------------|----------------------------------------|
| getMessageProperty           | get_message_property                   |
| setMessageProperty           | set_message_property                   |
| (delete via setMessageProperty undefined) | delete_message_property   |
| getObjectProperty / set...   | get_object_property / set_object_property |
| normalisePropertyExpression  | normalise_property_expression          |
| cloneMessage / generateId    | clone_message / generate_id            |
| evaluateNodeProperty         | evaluate_node_property                 |
| prepareJSONataExpression     | prepare_jsonata                        |
| evaluateJSONataExpression    | evaluate_jsonata                       |
| parseContextStore            | parse_context_store                    |
| ensureString                 | ensure_string                          |
| mustache.render (templates)  | render_mustache                        |
| proxyHelper.getProxyForUrl   | proxy_for_url                          |

`flowrt.util.js` holds JavaScript's value semantics (`String()`, `Number()`, `typeof`, `undefined`,
`JSON.stringify`, comparisons) for nodes that must treat values as Node-RED's JavaScript does.
"""

from __future__ import annotations

from flowrt.engine.message import clone_message, clone_value, generate_id
from flowrt.http.proxyenv import proxy_for_url
from flowrt.lang import jsvalues as js
from flowrt.lang.jsvalues import UNDEFINED, ensure_string, is_undefined
from flowrt.lang.mustache import render as render_mustache
from flowrt.lang.propertypath import (
    PropertyPathError,
    delete_message_property,
    delete_object_property,
    get_message_property,
    get_object_property,
    get_property_or_undefined,
    has_message_property,
    normalise_property_expression,
    parse_context_store,
    set_message_property,
    set_object_property,
)
from flowrt.lang.typedinput import (
    JsonataError,
    TypedInputError,
    evaluate_jsonata,
    evaluate_node_property,
    prepare_jsonata,
)

__all__ = [
    "UNDEFINED",
    "JsonataError",
    "PropertyPathError",
    "TypedInputError",
    "clone_message",
    "clone_value",
    "delete_message_property",
    "delete_object_property",
    "ensure_string",
    "evaluate_jsonata",
    "evaluate_node_property",
    "generate_id",
    "get_message_property",
    "get_object_property",
    "get_property_or_undefined",
    "has_message_property",
    "is_undefined",
    "js",
    "normalise_property_expression",
    "parse_context_store",
    "prepare_jsonata",
    "proxy_for_url",
    "render_mustache",
    "set_message_property",
    "set_object_property",
]
