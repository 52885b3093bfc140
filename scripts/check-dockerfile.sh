#!/usr/bin/env bash
# check-dockerfile.sh - checks the Dockerfile without a container engine:
#   1. every COPY source (not --from) exists in the repository and is not excluded by
#      .dockerignore (every file under it is sent in the build context);
#   2. the build stage installs the -dev package of every pkg-config module CMakeLists.txt
#      needs, plus cmake, pkg-config and a compiler;
#   3. for the binary (--binary PATH, and/or the one --build makes): every library it
#      NEEDs directly comes from a package the runtime stage installs explicitly, and every
#      library ldd resolves comes from that package list or its dependencies (from dpkg),
#      libc6 being the base image's; for sanitizer builds (ASan/UBSan) the sanitizer
#      runtimes are ignored and only the second rule applies (their link keeps every -l);
#   4. --build: runs the build stage's RUN commands on this machine in a temporary copy of
#      exactly what the build stage COPYs from the working tree (as docker build would),
#      so a Dockerfile missing a file fails here.
# Usage: check-dockerfile.sh [--binary PATH] [--build] [--dockerfile PATH]
# Exit 0 when every check passes; each failure is printed as "check-dockerfile: FAIL: ...".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec python3 - "$root" "$@" <<'PY'
import fnmatch, json, os, re, shlex, shutil, subprocess, sys, tempfile

root = sys.argv[1]
args = sys.argv[2:]
binaries, do_build, dockerfile = [], False, os.path.join(root, "Dockerfile")
while args:
    a = args.pop(0)
    if a == "--binary":
        binaries.append(os.path.abspath(args.pop(0)))
    elif a == "--build":
        do_build = True
    elif a == "--dockerfile":
        dockerfile = os.path.abspath(args.pop(0))
    else:
        sys.exit("usage: check-dockerfile.sh [--binary PATH] [--build] [--dockerfile PATH]")

failures = []
def fail(msg):
    failures.append(msg)
    print("check-dockerfile: FAIL: " + msg)
def ok(msg):
    print("check-dockerfile: ok: " + msg)

# ---- parse the Dockerfile into stages of (instruction, argument text)
text = open(dockerfile, encoding="utf-8").read()
lines, cur = [], ""
for raw in text.splitlines():
    s = raw.strip()
    if not cur and (not s or s.startswith("#")):
        continue
    if cur and s.startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    cur += s
    lines.append(cur)
    cur = ""
args_pre = {}
stages = []
for ln in lines:
    instr, _, rest = ln.partition(" ")
    instr = instr.upper()
    rest = rest.strip()
    if instr == "ARG" and not stages:
        k, _, v = rest.partition("=")
        args_pre[k] = v
        continue
    if instr == "FROM":
        parts = rest.split()
        base = re.sub(r"\$\{?(\w+)\}?", lambda m: args_pre.get(m.group(1), m.group(0)), parts[0])
        name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
        stages.append({"name": name, "base": base, "instrs": []})
        continue
    if not stages:
        fail("instruction before FROM: " + ln)
        continue
    stages[-1]["instrs"].append((instr, rest))
if len(stages) < 2:
    fail("expected a multi-stage Dockerfile (build + runtime), found %d stage(s)" % len(stages))
    sys.exit(1)
runtime = stages[-1]

def copy_args(rest):
    toks = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    opts = [t for t in toks if t.startswith("--")]
    paths = [t for t in toks if not t.startswith("--")]
    frm = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
    return frm, paths[:-1], paths[-1]

def apt_packages(stage):
    pkgs = []
    for instr, rest in stage["instrs"]:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", rest):
            toks = cmd.split()
            if "apt-get" in toks and "install" in toks:
                for t in toks[toks.index("install") + 1:]:
                    if not t.startswith("-"):
                        pkgs.append(t)
    return pkgs

# ---- 1. COPY sources exist and are in the build context
ignore = []
di = os.path.join(os.path.dirname(dockerfile), ".dockerignore")
if os.path.exists(di):
    for l in open(di, encoding="utf-8"):
        l = l.strip()
        if l and not l.startswith("#"):
            neg = l.startswith("!")
            pat = os.path.normpath(l.lstrip("!").strip("/"))
            ignore.append((neg, pat))
def excluded(path):
    path = os.path.normpath(path)
    prefixes = []
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        prefixes.append("/".join(parts[:i]))
    verdict = False
    for neg, pat in ignore:
        # Docker's rule: a pattern matching a parent directory matches what is inside it.
        if any(fnmatch.fnmatchcase(p, pat) and p.count("/") == pat.count("/") for p in prefixes):
            verdict = not neg
    return verdict
def files_under(rel):
    """Files a build context sends for a COPY source: what is on disk, as docker reads it."""
    p = os.path.join(root, rel)
    if os.path.isfile(p):
        return [os.path.normpath(rel)]
    out = []
    for d, _, fs in os.walk(p):
        for f in fs:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)
copies = []
for st in stages:
    for instr, rest in st["instrs"]:
        if instr not in ("COPY", "ADD"):
            continue
        frm, srcs, dest = copy_args(rest)
        if frm is not None:
            continue
        for src in srcs:
            p = os.path.join(root, src)
            if not os.path.exists(p):
                fail("%s %s: source does not exist in the repository" % (instr, src))
                continue
            rel = os.path.normpath(src)
            files = files_under(rel) or [rel]
            bad = [f for f in files if excluded(f)]
            if bad:
                fail("%s %s: excluded by .dockerignore: %s" % (instr, src, ", ".join(bad[:5])))
            else:
                ok("%s %s (%d file(s) in the context)" % (instr, src, len(files)))
            copies.append((st["name"], src, dest))

# ---- 2. the build stage has what CMakeLists.txt needs
build_stage = None
for instr, rest in runtime["instrs"]:
    if instr == "COPY":
        frm, _, _ = copy_args(rest)
        if frm:
            build_stage = next((s for s in stages if s["name"] == frm), None)
if build_stage is None:
    fail("the runtime stage copies nothing from a build stage")
    sys.exit(1)
bpkgs = set(apt_packages(build_stage))

_owner_cache = {}
def _variants(path):
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        cands.append(c[4:] if c.startswith("/usr/") else "/usr" + c)
    return list(dict.fromkeys(cands))

def dpkg_owner(path):
    """Debian package shipping path (merged /usr aware), or None; one dpkg call per batch."""
    if path not in _owner_cache:
        prime_owners([path])
    return _owner_cache[path]

def prime_owners(paths):
    todo = [p for p in paths if p not in _owner_cache]
    if not todo:
        return
    variants = {p: _variants(p) for p in todo}
    allv = sorted({v for vs in variants.values() for v in vs})
    r = subprocess.run(["dpkg", "-S"] + allv, capture_output=True, text=True)
    owner_of = {}
    for line in r.stdout.splitlines():
        pkgs, _, f = line.partition(": ")
        owner_of[f.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    for p, vs in variants.items():
        _owner_cache[p] = next((owner_of[v] for v in vs if v in owner_of), None)

cm = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
# Options the build stage switches off (-DX=OFF) drop their if(X) ... endif() blocks.
build_runs = " ".join(r for i, r in build_stage["instrs"] if i == "RUN")
for var in re.findall(r"-D(\w+)=(?:OFF|0|FALSE|NO)\b", build_runs):
    out, depth, skip = [], 0, 0
    for line in cm.splitlines():
        s_ = line.strip()
        if skip:
            if re.match(r"if\s*\(", s_):
                skip += 1
            elif re.match(r"endif\s*\(", s_):
                skip -= 1
            continue
        if re.match(r"if\s*\(\s*%s\s*\)" % var, s_):
            skip = 1
            continue
        out.append(line)
    cm = "\n".join(out)
mods = set()
for m in re.finditer(r"pkg_check_modules\(\s*\w+\s+((?:\w+\s+)*?)([\w.+-]+)\s*\)", cm):
    mods.add(m.group(2))
for mod in sorted(mods):
    d = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], capture_output=True, text=True)
    pc = os.path.join(d.stdout.strip(), mod + ".pc")
    owner = dpkg_owner(pc) if d.returncode == 0 else None
    if owner is None:
        fail("pkg-config module %s: cannot find the package that ships %s.pc here" % (mod, mod))
    elif owner not in bpkgs:
        fail("build stage: pkg-config module %s needs %s, not in its apt-get install list" % (mod, owner))
    else:
        ok("build stage installs %s (pkg-config %s)" % (owner, mod))
for need in ("cmake", "pkg-config"):
    if need not in bpkgs:
        fail("build stage: %s is not installed" % need)
if not ({"build-essential", "gcc", "clang"} & bpkgs):
    fail("build stage: no C compiler (build-essential, gcc or clang) installed")

# ---- 4. simulate the build stage
if do_build:
    tmp = tempfile.mkdtemp(prefix="check-dockerfile-")
    try:
        for st_name, src, dest in copies:
            if st_name != build_stage["name"]:
                continue
            s = os.path.join(root, src)
            if dest in ("./", "."):
                dest = os.path.basename(src.rstrip("/")) if os.path.isfile(s) else ""
            if dest.startswith("/"):
                fail("COPY %s %s: absolute destinations are not simulated" % (src, dest))
                continue
            d = os.path.join(tmp, dest)
            if os.path.isdir(s):
                rel = os.path.normpath(src)
                for f in files_under(rel):
                    if not excluded(f):
                        out = os.path.join(d, f[len(rel) + 1:])
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        shutil.copy2(os.path.join(root, f), out)
            else:
                os.makedirs(os.path.dirname(d) or tmp, exist_ok=True)
                shutil.copy2(s, d if not dest.endswith("/") else os.path.join(d, os.path.basename(s)))
        built = False
        for instr, rest in build_stage["instrs"]:
            if instr != "RUN" or "apt-get" in rest:
                continue
            print("check-dockerfile: running build step: " + rest)
            r = subprocess.run(["bash", "-c", rest], cwd=tmp)
            if r.returncode != 0:
                fail("build stage RUN failed (exit %d): %s" % (r.returncode, rest))
                break
            built = True
        out = None
        for instr, rest in runtime["instrs"]:
            if instr == "COPY":
                frm, srcs, _ = copy_args(rest)
                if frm == build_stage["name"]:
                    for s in srcs:
                        cand = os.path.join(tmp, os.path.relpath(s, "/src")) if s.startswith("/src/") else None
                        if cand and os.path.exists(cand):
                            out = cand
                        elif built:
                            fail("runtime COPY --from=%s %s: the simulated build made no such file"
                                 % (frm, s))
        if out:
            keep = os.path.join(tempfile.gettempdir(), "check-dockerfile-tracing-operator.%d" % os.getpid())
            shutil.copy2(out, keep)
            ok("build stage builds %s (%d bytes stripped)" % (s, os.path.getsize(out)))
            binaries.append(keep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

# ---- 3. runtime libraries
rpkgs = apt_packages(runtime)
BASE = {"libc6"}  # glibc: in every Debian base image
SANITIZER = re.compile(r"^lib(asan|ubsan|tsan|lsan|hwasan)\.so")

def installed_closure(pkgs):
    """pkgs and everything they Depend/Pre-Depend on, from dpkg's database (one call)."""
    deps, provides = {}, {}
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Depends},${Pre-Depends}\t${Provides}\n"],
                         capture_output=True, text=True).stdout
    for l in out.splitlines():
        name, dep, prov = (l.split("\t") + ["", ""])[:3]
        deps[name] = dep
        for p in prov.split(","):
            p = p.strip().split(" ")[0].split(":")[0]
            if p:
                provides.setdefault(p, name)
    def resolve(p):
        return p if p in deps else provides.get(p)
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        real = resolve(p)
        if real is None:
            if p in pkgs:
                fail("runtime package %s is not a Debian package installed here (dpkg-query)" % p)
            continue
        if real in seen:
            continue
        seen.add(real)
        for dep in deps[real].split(","):
            alts = [a.strip().split(" ")[0].split(":")[0] for a in dep.split("|") if a.strip()]
            for a in alts:
                if resolve(a):
                    todo.append(a)
                    break
    return seen

def ldd(path):
    r = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = {}
    for l in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", l)
        if m and m.group(2).startswith("/"):
            libs[m.group(1)] = m.group(2)
        elif "not found" in l:
            fail("%s: ldd cannot resolve %s" % (path, l.strip()))
    return libs

if binaries:
    closure = installed_closure(rpkgs) | BASE
    ok("runtime stage installs %s (%d packages with dependencies)" % (" ".join(rpkgs), len(closure)))
for b in binaries:
    if not os.path.exists(b):
        fail("binary %s does not exist" % b)
        continue
    rd = subprocess.run(["readelf", "-d", b], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", rd)
    all_libs = ldd(b)
    skipped = [n for n in needed if SANITIZER.match(n)]
    if skipped:
        print("check-dockerfile: note: %s is a sanitizer build; ignoring %s" % (b, ", ".join(skipped)))
    transitive = {}
    for n in needed:
        if SANITIZER.match(n):
            continue
        path = all_libs.get(n)
        if not path:
            fail("%s: NEEDED %s not resolved by ldd" % (b, n))
            continue
        transitive[n] = path
        transitive.update(ldd(path))
        owner = dpkg_owner(path)
        if owner is None:
            fail("%s: %s (%s) belongs to no Debian package" % (b, n, path))
        elif skipped:
            # Sanitizer links pull every library onto NEEDED: only the closure check applies.
            continue
        elif owner not in rpkgs and owner not in BASE:
            fail("%s: links %s from package %s, which the runtime stage does not install"
                 % (b, n, owner))
        else:
            ok("%s -> %s (runtime stage)" % (n, owner))
    prime_owners(list(transitive.values()))
    for n, path in sorted(transitive.items()):
        owner = dpkg_owner(path)
        if owner is None:
            fail("%s: %s (%s) belongs to no Debian package" % (b, n, path))
        elif owner not in closure:
            fail("%s: needs %s from %s, which the runtime packages do not pull in" % (b, n, owner))
    ok("%s: %d shared libraries, all provided by the runtime stage" % (os.path.basename(b), len(transitive)))
    if b.startswith(os.path.join(tempfile.gettempdir(), "check-dockerfile-tracing-operator.")):
        os.unlink(b)

if "USER" not in [i for i, _ in runtime["instrs"]]:
    fail("runtime stage sets no USER (the image must run as non-root)")
else:
    user = [r for i, r in runtime["instrs"] if i == "USER"][-1]
    if user.split(":")[0] in ("0", "root"):
        fail("runtime stage runs as root")

if failures:
    print("check-dockerfile: %d check(s) failed" % len(failures))
    sys.exit(1)
print("check-dockerfile: all checks passed")
PY
