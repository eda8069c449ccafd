#!/usr/bin/env python3
"""module_deps.py: the dependency table in CMakeLists.txt (MXG_DEPS_<module>) is the
architecture (../shared/ARCHITECTURE.md); this test keeps it true:
  1. every module in the table has a folder src/<module>/, and every folder is in the table;
  2. every `#include "<other>/..."` in src/<module>/ names a module the table lists as a
     dependency of <module> (directly: a transitive path is not a declaration);
  3. every module the table lists as a dependency is included somewhere in the module
     (no edge that nothing uses);
  4. no `asio::detached` in src/: detached tasks log what escapes (base/spawn.hpp).
Exits 1 with one line per finding."""
import os
import re
import sys

SRC = os.environ.get("MXG_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
cm = open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8").read()
table = {}
for m in re.finditer(r"^set\(MXG_DEPS_(\w+)((?:[^)])*)\)", cm, re.M):
    table[m.group(1)] = {d for d in m.group(2).split() if re.fullmatch(r"[a-z0-9_]+", d)}
listed = re.search(r"^set\(MXG_MODULES([^)]*)\)", cm, re.M)
src = os.path.join(SRC, "src")
folders = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)) and d != "cli"}
errors = []
if listed and set(listed.group(1).split()) != set(table):
    errors.append("CMakeLists.txt: MXG_MODULES and the MXG_DEPS_<module> table differ: "
                  f"{sorted(set(listed.group(1).split()) ^ set(table))}")
for mod in sorted(set(table) - folders):
    errors.append(f"CMakeLists.txt: module '{mod}' is in the table but src/{mod}/ does not exist")
for mod in sorted(folders - set(table)):
    errors.append(f"src/{mod}/: folder is not in the dependency table (MXG_DEPS_{mod})")
inc = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)/', re.M)
for mod in sorted(folders & set(table)):
    used = {}
    for root, _, files in os.walk(os.path.join(src, mod)):
        for f in files:
            if not f.endswith((".cpp", ".hpp")):
                continue
            p = os.path.join(root, f)
            text = open(p, encoding="utf-8", errors="replace").read()
            for m in inc.finditer(text):
                other = m.group(1)
                if other == mod or other not in table:
                    continue
                used.setdefault(other, os.path.relpath(p, SRC))
            code = re.sub(r"//[^\n]*", "", text)
            if "asio::detached" in code:
                errors.append(f"{os.path.relpath(p, SRC)}: asio::detached drops exceptions; "
                              "use mxg::log_escape (base/spawn.hpp)")
    for other, where in sorted(used.items()):
        if other not in table[mod]:
            errors.append(f"{where}: includes {other}/ but MXG_DEPS_{mod} does not list {other}")
    for dep in sorted(table[mod] - set(used)):
        if dep in table:
            errors.append(f"CMakeLists.txt: MXG_DEPS_{mod} lists {dep} but nothing in "
                          f"src/{mod}/ includes {dep}/")
for e in errors:
    print(e)
print(f"module dependency table: {len(table)} modules, {len(errors)} findings")
sys.exit(1 if errors else 0)
