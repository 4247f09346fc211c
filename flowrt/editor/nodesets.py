"""Node sets as the editor's palette sees them (`GET /nodes`, `/nodes/messages`, `/icons`).

A node set is one HTML file of editor definitions. Three sources, in this order:
- Node-RED's core HTML (`@node-red/nodes/core/<category>/NN-name.html`), served as set `node-red/<name>`
  when flowrt implements every type the file defines;
- flowrt's own HTML beside a node module (`nodes/function/python_function.html` for the types
  registered by `python_function.py`), served as set `flowrt/<stem>`;
- for any other registered type, a definition generated from its JSON schema (set `flowrt/<type>`),
  enough to place, edit and round-trip such nodes.

The editor accepts `RED.nodes.registerType(t)` only for types listed in the JSON list, so the list
and the HTML are built from the same `NodeSet` objects.
"""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrt.editor.assets import EditorFiles, language_chain

_TEMPLATE_NAME = re.compile(r"""data-template-name\s*=\s*["']([^"']+)["']""")
_HELP_SCRIPT = re.compile(r"""<script[^>]+data-help-name\s*=\s*["'][^"']+["'][^>]*>.*?</script>""", re.S)
_SET_NAME = re.compile(r"^\d+-")
#: Core files whose type is defined in JavaScript only (no template in the HTML).
_CORE_EXTRA_TYPES = {"junction": ["junction"]}


@dataclass
class NodeSet:
    id: str  # "node-red/inject", "flowrt/python_function"
    module: str
    name: str
    types: list[str]
    html_path: Path | None = None  # None: generated from the schema
    help_dir: Path | None = None  # core sets: locales/<lang>/<category>/
    generated: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)

    def info(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "types": self.types,
            "enabled": True,
            "local": False,
            "user": False,
            "module": self.module,
            "version": self.version,
        }

    def html(self, language: str) -> str:
        if self.html_path is None:
            return self.generated
        text = self.html_path.read_text(encoding="utf-8")
        if self.help_dir is None:
            return text
        return _HELP_SCRIPT.sub("", text) + self._help(language)

    def _help(self, language: str) -> str:
        file_name = self.html_path.name
        for lang in [*language_chain(language), "en-US"]:
            path = self.help_dir.parent.parent / lang / self.help_dir.name / file_name
            if path.is_file():
                return "\n" + path.read_text(encoding="utf-8")
        return ""


def build_node_sets(files: EditorFiles, registry: Any, flowrt_version: str) -> list[NodeSet]:
    registered = registry.types()
    sets: list[NodeSet] = []
    covered: set[str] = set()
    for path in sorted((files.nodes / "core").glob("*/*.html")):
        text = path.read_text(encoding="utf-8")
        name = _SET_NAME.sub("", path.stem)
        types = _TEMPLATE_NAME.findall(text) or _CORE_EXTRA_TYPES.get(name, [])
        types = list(dict.fromkeys(types))
        if not types or not all(t in registered for t in types):
            continue
        help_dir = files.nodes / "locales" / "en-US" / path.parent.name
        sets.append(
            NodeSet(f"node-red/{name}", "node-red", name, types, path, help_dir, version=files.version)
        )
        covered.update(types)
    by_module: dict[Path, list[str]] = {}
    for type_name, cls in registered.items():
        if type_name in covered:
            continue
        html_path = _html_beside(cls)
        if html_path is not None:
            by_module.setdefault(html_path, []).append(type_name)
    for html_path, types in sorted(by_module.items()):
        text = html_path.read_text(encoding="utf-8")
        defined = set(_TEMPLATE_NAME.findall(text))
        types = [t for t in types if t in defined]
        if types:
            sets.append(
                NodeSet(
                    f"flowrt/{html_path.stem}",
                    "flowrt",
                    html_path.stem,
                    types,
                    html_path,
                    version=flowrt_version,
                )
            )
            covered.update(types)
    for type_name, cls in registered.items():
        if type_name not in covered and not type_name.startswith("subflow:"):
            generated = generated_definition(type_name, cls)
            sets.append(
                NodeSet(
                    f"flowrt/{type_name}",
                    "flowrt",
                    type_name,
                    [type_name],
                    generated=generated,
                    version=flowrt_version,
                )
            )
    return sets


def _html_beside(cls: type) -> Path | None:
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__file__", None)
    if not source:
        return None
    path = Path(source).with_suffix(".html")
    return path if path.is_file() else None


def all_html(sets: list[NodeSet], language: str) -> str:
    return "".join(f"\n<!-- --- [red-module:{s.id}] --- -->\n{s.html(language)}" for s in sets)


def icon_lists(files: EditorFiles, own_icons: Path | None = None) -> dict[str, list[str]]:
    icons = {"node-red": sorted(p.name for p in (files.nodes / "icons").glob("*") if p.is_file())}
    if own_icons is not None and own_icons.is_dir():
        icons["flowrt"] = sorted(p.name for p in own_icons.glob("*") if p.is_file())
    return icons


# ------------------------------------------------------------------ generated definitions


def generated_definition(type_name: str, cls: Any) -> str:
    """A minimal editor definition from a node class's JSON schema: defaults, an edit form, help."""
    schema = getattr(cls, "schema", None) or {}
    properties = schema.get("properties") or {}
    defaults: dict[str, Any] = {}
    rows: list[str] = []
    objects: list[str] = []
    for prop, sub in properties.items():
        sub = sub if isinstance(sub, dict) else {}
        default = sub.get("default", _empty_for(sub))
        defaults[prop] = {"value": default}
        kind = _kind(sub)
        label = html.escape(prop)
        if kind == "boolean":
            rows.append(
                f'<div class="form-row"><label for="node-input-{label}">{label}</label>'
                f'<input type="checkbox" id="node-input-{label}" style="width:auto"></div>'
            )
        elif kind == "json":
            objects.append(prop)
            rows.append(
                f'<div class="form-row"><label>{label}</label>'
                f'<div style="height:120px;min-height:80px" class="node-text-editor" id="node-input-{label}-editor"></div>'
                f'<input type="hidden" id="node-input-{label}"></div>'
            )
        else:
            rows.append(
                f'<div class="form-row"><label for="node-input-{label}">{label}</label>'
                f'<input type="text" id="node-input-{label}"></div>'
            )
    outputs = int(getattr(cls, "editor_outputs", 1) or 0)
    inputs = int(getattr(cls, "editor_inputs", 1))
    description = html.escape((cls.__doc__ or type_name).strip().splitlines()[0])
    js_type = json.dumps(type_name)
    definition = {
        "category": "flowrt",
        "color": "#d9e5f3",
        "defaults": defaults,
        "inputs": inputs,
        "outputs": outputs,
        "icon": "function.svg",
    }
    editors = json.dumps(objects)
    return f"""<script type="text/javascript">
(function() {{
  var def = {json.dumps(definition)};
  var objects = {editors};
  def.label = function() {{ return this.name || {js_type}; }};
  def.oneditprepare = function() {{
    var node = this;
    node._flowrtEditors = {{}};
    objects.forEach(function(p) {{
      var ed = RED.editor.createEditor({{id: "node-input-" + p + "-editor", mode: "json",
        value: JSON.stringify(node[p] === undefined ? null : node[p], null, 2)}});
      node._flowrtEditors[p] = ed;
    }});
  }};
  def.oneditsave = function() {{
    var node = this;
    objects.forEach(function(p) {{
      var ed = node._flowrtEditors[p];
      try {{ node[p] = JSON.parse(ed.getValue()); }} catch (e) {{}}
      $("#node-input-" + p).val(JSON.stringify(node[p]));
      ed.destroy();
    }});
    delete node._flowrtEditors;
  }};
  RED.nodes.registerType({js_type}, def);
}})();
</script>
<script type="text/html" data-template-name={json.dumps(type_name)}>
{"".join(rows)}
</script>
<script type="text/html" data-help-name={json.dumps(type_name)}>
<p>{description}</p>
</script>
"""


def _kind(sub: dict) -> str:
    kinds = sub.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds or "array" in kinds:
        return "json"
    if kinds == ["boolean"]:
        return "boolean"
    return "text"


def _empty_for(sub: dict) -> Any:
    kind = _kind(sub)
    return {"json": None, "boolean": False}.get(kind, "")
