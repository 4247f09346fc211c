"""flowrt.engine.diff against Node-RED's test/unit/@node-red/runtime/lib/flows/util_spec.js
(`#diffNodes` and `#diffConfigs`), ported as behaviour: each test names the `it("...")` it ports.

Node-RED's spec diffs what `parseConfig` returns; flowrt diffs the flat lists themselves (the same
`allNodes` Node-RED's diff reads). The lists of ids are compared sorted where the spec sorts them.
"""

from __future__ import annotations

import copy

import pytest

from flowrt.engine.diff import ConfigDiff, diff_configs, js_key, node_changed, same_value

# ----- #diffNodes ------------------------------------------------------------------------------


def test_diff_nodes_handles_a_null_old_node():
    assert node_changed(None, {}) is True


def test_diff_nodes_ignores_x_y_changes():
    assert node_changed({"x": 10, "y": 10}, {"x": 20, "y": 10}) is False
    assert node_changed({"x": 10, "y": 10}, {"x": 10, "y": 20}) is False


def test_diff_nodes_ignores_wiring_changes():
    assert node_changed({"wires": []}, {"wires": [1, 2, 3]}) is False


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param({"a": "foo"}, {"a": "bar"}, id="spots existing property change - string"),
        pytest.param({"a": 0}, {"a": 1}, id="spots existing property change - number"),
        pytest.param({"a": True}, {"a": False}, id="spots existing property change - boolean"),
        pytest.param({"a": True}, {"a": 1}, id="spots existing property change - truthy"),
        pytest.param({"a": False}, {"a": 0}, id="spots existing property change - falsey"),
        pytest.param({"a": [0, 1, 2]}, {"a": [0, 2, 3]}, id="spots existing property change - array"),
        pytest.param(
            {"a": {"a": [0, 1, 2]}}, {"a": {"a": [0, 2, 3]}}, id="spots existing property change - object"
        ),
        pytest.param(
            {"a": {"a": [0, 1, 2]}}, {"a": {"b": [0, 1, 2]}}, id="spots existing property change - object key"
        ),
        pytest.param({"a": "foo"}, {"a": "foo", "b": "bar"}, id="spots added property"),
        pytest.param({"a": "foo", "b": "bar"}, {"a": "foo"}, id="spots removed property"),
    ],
)
def test_diff_nodes_spots_changes(old, new):
    assert node_changed(old, new) is True


def test_diff_nodes_group_members_style_and_size_do_not_count():
    """Node-RED's groupKeyFilter (no spec case; util.js): a group's nodes, style, w and h."""
    old = {"id": "g", "type": "group", "nodes": ["a"], "style": {}, "w": 10, "h": 10, "name": "G"}
    moved = {**old, "nodes": ["a", "b"], "style": {"fill": "red"}, "w": 20, "h": 30}
    assert node_changed(old, moved) is False
    assert node_changed(old, {**old, "name": "H"}) is True
    # for any other node those are properties like the rest
    assert node_changed({"type": "x", "w": 1}, {"type": "x", "w": 2}) is True


def test_same_value_and_js_key_follow_javascript():
    assert same_value(1, 1.0) and not same_value(True, 1) and not same_value(0, False)
    assert not same_value(None, []) and same_value({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert js_key(["n1"]) == "n1" and js_key(1) == "1" and js_key(2.0) == "2" and js_key(True) == "true"
    assert js_key(["a", "b"]) == "a,b" and js_key({"a": 1}) == "[object Object]"


# ----- #diffConfigs ----------------------------------------------------------------------------


def diff(config: list[dict], change) -> ConfigDiff:
    """Node-RED's pattern: clone the config, change the clone, diff original -> clone."""
    new = copy.deepcopy(config)
    result = change(new)
    return diff_configs(config, new if result is None else result)


def expect(result: ConfigDiff, added=(), changed=(), removed=(), rewired=(), linked=None) -> None:
    assert sorted(result.added) == sorted(added)
    assert sorted(result.changed) == sorted(changed)
    assert sorted(result.removed) == sorted(removed)
    assert sorted(result.rewired) == sorted(rewired)
    if linked is not None:
        assert sorted(result.linked) == sorted(linked)


def test_handles_an_identical_configuration():
    config = [{"id": "123", "type": "test", "foo": "a", "wires": []}]
    expect(diff(config, lambda new: None), linked=[])


def chain3(first_wires, second_wires):
    return [
        {"id": "1", "type": "test", "foo": "a", "wires": first_wires},
        {"id": "2", "type": "test", "bar": "b", "wires": second_wires},
        {"id": "3", "type": "test", "foo": "a", "wires": []},
    ]


def test_identifies_nodes_with_changed_properties_including_downstream_linked():
    # the spec wires 2 to the number 1: JavaScript looks it up as the id "1"
    result = diff(chain3([], [[1]]), lambda new: new[0].update(foo="b"))
    expect(result, changed=["1"], linked=["2"])


def test_identifies_nodes_with_changed_properties_including_upstream_linked():
    result = diff(chain3([], [["1"]]), lambda new: new[1].update(bar="c"))
    expect(result, changed=["2"], linked=["1"])


def test_identifies_nodes_with_changed_credentials_including_downstream_linked():
    config = chain3([], [["1"]])
    del config[0]["foo"]
    result = diff(config, lambda new: new[0].update(credentials={}))
    expect(result, changed=["1"], linked=["2"])


def test_identifies_nodes_with_changed_wiring():
    result = diff(chain3([], [["1"]]), lambda new: new[1]["wires"][0].__setitem__(0, "3"))
    expect(result, rewired=["2"], linked=["1", "3"])


def test_identifies_nodes_with_changed_wiring_second_connection_added():
    result = diff(chain3([], [["1"]]), lambda new: new[1]["wires"][0].append("1"))
    expect(result, rewired=["2"], linked=["1"])


def test_identifies_nodes_with_changed_wiring_node_connected():
    # the spec pushes a bare id as a second port: its characters are the ids it names
    result = diff(chain3([["2"]], [[]]), lambda new: new[1]["wires"].append("3"))
    expect(result, rewired=["2"], linked=["1", "3"])


def test_identifies_new_nodes():
    config = [
        {"id": "1", "type": "test", "foo": "a", "wires": []},
        {"id": "3", "type": "test", "foo": "a", "wires": []},
    ]
    result = diff(config, lambda new: new.append({"id": "2", "type": "test", "bar": "b", "wires": [["1"]]}))
    expect(result, added=["2"], linked=["1"])


def test_identifies_deleted_nodes():
    def change(new):
        del new[1]
        new[0]["wires"] = []

    result = diff(chain3([["2"]], [["3"]]), change)
    expect(result, removed=["2"], rewired=["1"], linked=["3"])


def test_identifies_config_nodes_changes_node_to_config():
    config = [
        {"id": "1", "type": "test", "foo": "configNode", "wires": [["2"]]},
        {"id": "2", "type": "test", "bar": "b", "wires": [["3"]]},
        {"id": "3", "type": "test", "foo": "a", "wires": []},
        {"id": "configNode", "type": "testConfig"},
    ]
    result = diff(config, lambda new: new[3].update(foo="bar"))
    expect(result, changed=["1", "configNode"], linked=["2", "3"])


def test_identifies_config_nodes_changes_node_to_config_to_config():
    config = [
        {"id": "1", "type": "test", "foo": "configNode1", "wires": [["2"]]},
        {"id": "2", "type": "test", "bar": "b", "wires": [["3"]]},
        {"id": "3", "type": "test", "foo": "a", "wires": []},
        {"id": "configNode1", "foo": "configNode2", "type": "testConfig"},
        {"id": "configNode2", "type": "testConfig"},
    ]
    result = diff(config, lambda new: new[4].update(foo="bar"))
    expect(result, changed=["1", "configNode1", "configNode2"], linked=["2", "3"])


def with_subflow(*inner: dict, definition: dict | None = None, extra: tuple = ()) -> list[dict]:
    return [
        {"id": "1", "type": "test", "wires": [["2"]]},
        {"id": "2", "type": "subflow:sf1", "wires": [["3"]]},
        {"id": "3", "type": "test", "wires": []},
        {"id": "sf1", "type": "subflow", **(definition or {})},
        *inner,
        *extra,
    ]


def test_marks_a_parent_subflow_as_changed_for_an_internal_property_change():
    config = with_subflow(
        {"id": "sf1-1", "z": "sf1", "type": "test", "foo": "a", "wires": []},
        extra=({"id": "4", "type": "subflow:sf1", "wires": []},),
    )
    result = diff(config, lambda new: new[4].update(foo="b"))
    expect(result, changed=["2", "4", "sf1"], linked=["1", "3"])


def two_inner():
    return (
        {"id": "sf1-1", "z": "sf1", "type": "test", "wires": []},
        {"id": "sf1-2", "z": "sf1", "type": "test", "wires": []},
    )


def test_marks_a_parent_subflow_as_changed_for_an_internal_wiring_change():
    result = diff(with_subflow(*two_inner()), lambda new: new[4].update(wires=[["sf1-2"]]))
    expect(result, changed=["2", "sf1"], linked=["1", "3"])


def test_marks_a_parent_subflow_as_changed_for_an_internal_node_add():
    new_node = {"id": "sf1-3", "z": "sf1", "type": "test", "wires": []}
    result = diff(with_subflow(*two_inner()), lambda new: new.append(new_node))
    expect(result, changed=["2", "sf1"], linked=["1", "3"])


def test_marks_a_parent_subflow_as_changed_for_an_internal_node_delete():
    result = diff(with_subflow(*two_inner()), lambda new: new.pop(5) and None)
    expect(result, changed=["2", "sf1"], removed=["sf1-2"], linked=["1", "3"])


PORTS = {"in": [{"wires": [{"id": "sf1-1"}]}], "out": [{"wires": [{"id": "sf1-2", "port": 0}]}]}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda sf: sf["in"][0].update(wires=[]), id="input removed"),
        pytest.param(lambda sf: sf["in"][0]["wires"].append({"id": "sf1-2"}), id="input added"),
        pytest.param(lambda sf: sf["out"][0]["wires"].append({"id": "sf1-2", "port": 0}), id="output added"),
        pytest.param(lambda sf: sf["out"][0].update(wires=[]), id="output removed"),
    ],
)
def test_marks_a_parent_subflow_as_changed_for_an_internal_subflow_wiring_change(change):
    config = with_subflow(*two_inner(), definition=copy.deepcopy(PORTS))
    result = diff(config, lambda new: change(new[3]))
    expect(result, changed=["2", "sf1"], linked=["1", "3"])


def test_marks_a_parent_subflow_as_changed_for_a_global_config_node_change():
    config = with_subflow(
        {"id": "sf1-1", "z": "sf1", "prop": "configNode", "type": "test", "wires": []},
        {"id": "sf1-2", "z": "sf1", "type": "test", "wires": []},
        extra=({"id": "configNode", "a": "foo", "type": "test", "wires": []},),
    )
    result = diff(config, lambda new: new[6].update(a="bar"))
    expect(result, changed=["2", "configNode", "sf1"], linked=["1", "3"])


def test_marks_a_parent_subflow_as_changed_for_an_internal_subflow_instance_change():
    config = [
        {"id": "1", "type": "test", "wires": [["2"]]},
        {"id": "2", "type": "subflow:sf1", "wires": [["3"]]},
        {"id": "3", "type": "test", "wires": []},
        {"id": "sf1", "type": "subflow"},
        {"id": "sf2", "type": "subflow"},
        {"id": "sf1-1", "z": "sf1", "type": "test", "wires": []},
        {"id": "sf1-2", "z": "sf1", "type": "subflow:sf2", "wires": []},
        {"id": "sf2-1", "z": "sf2", "type": "test", "wires": []},
        {"id": "sf2-2", "z": "sf2", "type": "test", "wires": []},
    ]
    result = diff(config, lambda new: new[8].update(a="bar"))
    expect(result, changed=["2", "sf1", "sf2"], linked=["1", "3"])


def test_ignores_tab_changes_that_are_immaterial():
    config = [
        {"id": "1", "type": "tab", "label": "fred"},
        {"id": "2", "type": "test", "bar": "b", "wires": [["1"]], "z": "1"},
    ]
    result = diff(config, lambda new: new[0].update(label="barney"))
    expect(result)
    assert result.flow_changed == []


def test_marks_a_deleted_tab_as_removed():
    config = [
        {"id": "f1", "type": "tab", "label": "fred"},
        {"id": "n1", "type": "test", "bar": "b", "wires": [["1"]], "z": "f1"},
        {"id": "f2", "type": "tab", "label": "fred"},
        {"id": "n2", "type": "test", "bar": "b", "wires": [["1"]], "z": "f2"},
    ]
    result = diff(config, lambda new: new[:2])
    expect(result, removed=["f2", "n2"])


def tab_with_node(disabled: bool) -> list[dict]:
    return [
        {"id": "1", "type": "tab", "disabled": disabled, "label": "fred"},
        {"id": "2", "type": "test", "bar": "b", "wires": [["1"]], "z": "1"},
        {"id": "3", "type": "test"},
    ]


def test_marks_all_nodes_as_added_when_tab_state_changes_disabled_to_enabled():
    result = diff(tab_with_node(True), lambda new: new[0].update(disabled=False))
    expect(result, added=["1", "2"])


def test_marks_all_nodes_as_removed_when_tab_state_changes_enabled_to_disabled():
    result = diff(tab_with_node(False), lambda new: new[0].update(disabled=True))
    expect(result, removed=["1", "2"])


def test_marks_a_node_as_removed_when_its_state_changes_enabled_to_disabled():
    result = diff(tab_with_node(False), lambda new: new[1].update(d=True))
    expect(result, changed=["1", "2"], removed=["2"])


# ----- beyond the spec: the other rules of util.js's diffConfigs -----------------------------


def test_a_changed_tab_env_marks_the_flow_changed():
    config = [{"id": "t1", "type": "tab", "env": []}, {"id": "n1", "type": "test", "z": "t1", "wires": []}]
    result = diff(config, lambda new: new[0].update(env=[{"name": "A", "value": "1", "type": "str"}]))
    assert result.flow_changed == ["t1"]
    assert result.restarted_flows == {"t1"}


def test_a_changed_global_config_is_flagged():
    config = [{"id": "gc", "type": "global-config", "env": []}]
    result = diff(config, lambda new: new[0].update(env=[{"name": "A", "value": "1", "type": "str"}]))
    assert result.global_config_changed is True


def test_a_changed_group_changes_its_members_and_nested_groups():
    config = [
        {"id": "t1", "type": "tab"},
        {"id": "g1", "type": "group", "z": "t1", "nodes": ["a", "g2"], "env": []},
        {"id": "g2", "type": "group", "z": "t1", "g": "g1", "nodes": ["b"]},
        {"id": "a", "type": "test", "z": "t1", "g": "g1", "wires": []},
        {"id": "b", "type": "test", "z": "t1", "g": "g2", "wires": []},
        {"id": "c", "type": "test", "z": "t1", "wires": []},
    ]
    result = diff(config, lambda new: new[1].update(env=[{"name": "A", "value": "1", "type": "str"}]))
    assert sorted(result.changed) == ["a", "b", "g1", "g2", "t1"]
    # moving a node inside the group only changes the group's style-free membership: nothing restarts
    moved = diff(config, lambda new: new[1].update(w=300, style={"fill": "#fff"}))
    assert moved.changed == []


def test_restarted_by_deploy_type():
    result = diff(chain3([["2"]], [["3"]]), lambda new: new[1].update(bar="c"))
    assert result.restarted("nodes") == {"2"}
    assert result.restarted("flows") == {"1", "2", "3"}
    with pytest.raises(ValueError, match="partial deploy"):
        result.restarted("full")
