"""The code-atlas re-scan: index the top-level functions and classes of the changed Python files.

orchestrate hands the changed paths over in the file named by ORCHESTRATE_CHANGED_FILE (one per line);
without it (a manual run) every .py file under src/ is scanned. The index goes to .orchestrate/atlas.json.
"""

import ast
import json
import os
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
changed_file = os.environ.get("ORCHESTRATE_CHANGED_FILE")
if changed_file and os.environ.get("ORCHESTRATE_RESCAN") != "1":
    paths = [pathlib.Path(line) for line in pathlib.Path(changed_file).read_text().splitlines() if line]
else:
    paths = sorted((root / "src").rglob("*.py"))

atlas_path = root / ".orchestrate" / "atlas.json"
atlas_path.parent.mkdir(parents=True, exist_ok=True)
atlas = json.loads(atlas_path.read_text()) if atlas_path.exists() else {}
for path in paths:
    path = path if path.is_absolute() else root / path
    key = str(path.relative_to(root))
    if not path.exists():
        atlas.pop(key, None)
        continue
    tree = ast.parse(path.read_text(), filename=key)
    atlas[key] = sorted(
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )
atlas_path.write_text(json.dumps(atlas, indent=2, sort_keys=True) + "\n")
print(f"code-atlas: indexed {len(paths)} file(s), {sum(len(v) for v in atlas.values())} symbols")
