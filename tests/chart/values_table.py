#!/usr/bin/env python3
"""values_table.py - the chart README's values table, made from values.yaml's comments.

  values_table.py VALUES            print the markdown table
  values_table.py VALUES --check README
        exit 1 (with the reasons) when a value has no comment (its own "# --" comment or
        one on an enclosing key), or when README's table between <!-- values:begin --> and
        <!-- values:end --> is not exactly the generated one
  values_table.py VALUES --write README   rewrite that part of README

A documented value is a key preceded by a "# -- text" comment (continued on following "#"
lines); its default is its whole subtree. Keys without a comment that hold a mapping are
section headers and are walked into.
"""
import json
import re
import sys

import yaml

KEY_RE = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(\s.*)?$")
BEGIN, END = "<!-- values:begin -->", "<!-- values:end -->"


def parse(path):
    """Yields (key path, description or None, indent) for every mapping key line."""
    lines = open(path, encoding="utf-8").read().splitlines()
    stack = []  # (indent, key)
    comment = None
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if comment is not None:
                comment.append(stripped[1:].strip())
            continue
        if not stripped:
            comment = None
            continue
        m = KEY_RE.match(line)
        if not m or stripped.startswith("-"):
            comment = None
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        out.append((".".join(k for _, k in stack), " ".join(comment) if comment else None))
        comment = None
    return out


def lookup(data, dotted):
    for part in dotted.split("."):
        data = data[part]
    return data


def rows(values_path):
    data = yaml.safe_load(open(values_path, encoding="utf-8"))
    entries = parse(values_path)
    documented = [p for p, d in entries if d]
    problems = []
    table = []
    for p, d in entries:
        covered = any(p == q or p.startswith(q + ".") for q in documented)
        value = lookup(data, p)
        if not covered and not isinstance(value, dict):
            problems.append("values.yaml: %s has no comment" % p)
        if not covered and isinstance(value, dict) and not value:
            problems.append("values.yaml: %s has no comment" % p)
        if d:
            has_doc_children = any(q.startswith(p + ".") for q in documented)
            default = "(see below)" if has_doc_children else json.dumps(value, separators=(",", ":"))
            table.append((p, type_name(value), default, d))
    return table, problems


def type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if v is None:
        return "null"
    return "object"


def render(table):
    out = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for key, typ, default, desc in table:
        default = default.replace("|", "\\|")
        desc = desc.replace("|", "\\|")
        shown = default if default == "(see below)" else "`%s`" % default
        out.append("| `%s` | %s | %s | %s |" % (key, typ, shown, desc))
    return "\n".join(out)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    table, problems = rows(argv[1])
    text = render(table)
    if len(argv) == 2:
        print(text)
        return 0 if not problems else 1
    mode, readme = argv[2], argv[3]
    doc = open(readme, encoding="utf-8").read()
    if BEGIN not in doc or END not in doc:
        problems.append("%s: no %s ... %s markers" % (readme, BEGIN, END))
    else:
        head, rest = doc.split(BEGIN, 1)
        old, tail = rest.split(END, 1)
        want = "\n" + text + "\n"
        if mode == "--write":
            open(readme, "w", encoding="utf-8").write(head + BEGIN + want + END + tail)
        elif old != want:
            have = set(re.findall(r"^\| `([^`]+)`", old, re.M))
            for key, *_ in table:
                if key not in have:
                    problems.append("%s: value %s missing from the values table" % (readme, key))
            problems.append("%s: values table differs from values.yaml (regenerate: "
                            "python3 tests/chart/values_table.py %s --write %s)"
                            % (readme, argv[1], readme))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
