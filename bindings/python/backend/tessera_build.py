"""PEP 517 build backend of the Python package (bindings/python/pyproject.toml).

``pip wheel bindings/python`` (or ``pip install bindings/python``) calls ``build_wheel``,
which, from the workspace root:

1. builds the workspace's ``uniffi-bindgen`` (debug, feature ``cli``) and the
   ``tessera-ffi`` library with the cargo profile ``release-smaller`` (``--locked``, in
   cargo's own target directory, so it shares the build cache with everything else);
2. generates the modules ``tessera_core.py``, ``tessera_gate.py`` and ``tessera_ffi.py``
   (one per Rust crate that exports API) from that library exactly as ``bindings/generate.sh``
   does (library mode, ``--config bindings/uniffi-paths.toml``);
3. strips a copy of the library (its symbol table: ``strip``, where there is one, as
   ``build-release.sh`` and the Kotlin jar do; the bindings are generated already);
4. writes a wheel tagged ``py3-none-<this platform>`` (the library is loaded with
   ctypes, so any Python 3 on this OS and CPU) holding the ``tessera`` package: its
   sources and ``py.typed`` from ``tessera/``, the generated modules and the library.

Nothing is written into the source tree. Standard library only, so a build needs no
download: only cargo on PATH. Why not maturin: docs/DECISIONS.md.
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]  # bindings/python
WORKSPACE = PROJECT_DIR.parents[1]
PACKAGE = "tessera"
# Written by generate.sh into the source tree for the in-tree flow; the wheel gets its own.
GENERATED = ("tessera_core.py", "tessera_gate.py", "tessera_ffi.py")
PROFILE = "release-smaller"

if sys.platform == "darwin":
    LIBRARY = "libtessera_ffi.dylib"
elif sys.platform.startswith("win"):
    LIBRARY = "tessera_ffi.dll"
else:
    LIBRARY = "libtessera_ffi.so"


def _log(message):
    print(f"tessera_build: {message}", file=sys.stderr, flush=True)


def _project():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        raise RuntimeError("building the tessera wheel needs Python 3.11 or later (tomllib)")
    with open(PROJECT_DIR / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _dist_name(project):
    # Wheel file and .dist-info names use the normalised name (PEP 427, PEP 503).
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _tag():
    # The library is loaded with ctypes: no CPython ABI, only the platform matters.
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return f"py3-none-{platform}"


def _metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    licence = project.get("license")
    if isinstance(licence, dict) and "text" in licence:
        lines.append(f"License: {licence['text']}")
    elif isinstance(licence, str):
        lines.append(f"License: {licence}")
    for url_name, url in project.get("urls", {}).items():
        lines.append(f"Project-URL: {url_name}, {url}")
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str):
        body = (PROJECT_DIR / readme).read_text(encoding="utf-8")
        kind = "text/markdown" if readme.endswith(".md") else "text/plain"
        lines.append(f"Description-Content-Type: {kind}")
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def _wheel_file(tag):
    return (
        "Wheel-Version: 1.0\n"
        "Generator: tessera_build (bindings/python/backend)\n"
        "Root-Is-Purelib: false\n"
        f"Tag: {tag}\n"
    ).encode("utf-8")


def _dist_info(project):
    return f"{_dist_name(project)}-{project['version']}.dist-info"


def _cargo(*args, capture=False):
    cmd = [os.environ.get("CARGO", "cargo"), *args]
    _log(" ".join(cmd))
    # Cargo's progress goes to stderr; stdout is kept off pip's stdout unless captured.
    out = subprocess.run(
        cmd, cwd=WORKSPACE, check=True, stdout=subprocess.PIPE if capture else sys.stderr
    )
    return out.stdout


def _build_library(out_dir):
    """Builds the library and generates its Python modules into out_dir; returns the library."""
    meta = json.loads(_cargo("metadata", "--format-version", "1", "--no-deps", capture=True))
    target = Path(meta["target_directory"])

    # As in generate.sh: the generator (it enables feature `cli` on the crate; cargo keeps
    # that build apart and leaves target/debug's library alone), then the library. Library
    # mode reads the API from metadata symbols, which the profile keeps (it strips debug
    # info only).
    _cargo("build", "--locked", "-p", "tessera-ffi", "--features", "cli", "--bin", "uniffi-bindgen")
    _cargo("build", "--locked", "-p", "tessera-ffi", "--lib", "--profile", PROFILE)

    library = target / PROFILE / LIBRARY
    bindgen = target / "debug" / ("uniffi-bindgen.exe" if os.name == "nt" else "uniffi-bindgen")
    config = WORKSPACE / "bindings" / "uniffi-paths.toml"
    cmd = [str(bindgen), "generate", "--no-format", "--config", str(config)]
    cmd += ["--language", "python", "--out-dir", str(out_dir), str(library)]
    _log(" ".join(cmd))
    subprocess.run(cmd, cwd=WORKSPACE, check=True, stdout=sys.stderr)
    for module in GENERATED:
        if not (out_dir / module).is_file():
            raise RuntimeError(f"uniffi-bindgen wrote no {module} into {out_dir}")
    return library


def _stripped_copy(library, out_dir):
    """A copy without the symbol table, as build-release.sh ships (dynamic symbols stay)."""
    copy = out_dir / LIBRARY
    shutil.copyfile(library, copy)
    strip = shutil.which("strip")
    if strip is None or sys.platform.startswith("win"):
        _log("no strip on PATH: the wheel carries the library unstripped")
        return copy
    subprocess.run([strip, *(["-x"] if sys.platform == "darwin" else []), str(copy)], check=True)
    return copy


def _package_files():
    """The package's own files under tessera/ (sources, py.typed), without generated ones."""
    src = PROJECT_DIR / PACKAGE
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or "__pycache__" in rel.parts:
            continue
        if rel.as_posix() in GENERATED or path.suffix not in {".py", ".pyi", ".typed"}:
            continue  # generate.sh's module and library copies, editor files…
        yield f"{PACKAGE}/{rel.as_posix()}", path


class _Wheel:
    """A wheel being written: entries in a fixed order and time, and their RECORD."""

    def __init__(self, path, dist_info):
        self.dist_info = dist_info
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.record = []
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01
        self.date_time = time.gmtime(max(epoch, 315532800))[:6]

    def add(self, name, data, executable=False):
        info = zipfile.ZipInfo(name, self.date_time)
        info.external_attr = (0o755 if executable else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        self.record.append((name, f"sha256={digest.decode()}", str(len(data))))

    def close(self):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(self.record)
        writer.writerow((f"{self.dist_info}/RECORD", "", ""))
        info = zipfile.ZipInfo(f"{self.dist_info}/RECORD", self.date_time)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, out.getvalue().encode("utf-8"))
        self.zip.close()


# ---- PEP 517 hooks --------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = _project()
    dist_info = Path(metadata_directory) / _dist_info(project)
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_bytes(_metadata(project))
    (dist_info / "WHEEL").write_bytes(_wheel_file(_tag()))
    return dist_info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    tag = _tag()
    dist_info = _dist_info(project)
    name = f"{_dist_name(project)}-{project['version']}-{tag}.whl"
    with tempfile.TemporaryDirectory(prefix="tessera-wheel-") as tmp:
        generated = Path(tmp) / "generated"
        library = _stripped_copy(_build_library(generated), Path(tmp))
        partial = Path(wheel_directory) / (name + ".part")
        wheel = _Wheel(partial, dist_info)
        try:
            for arcname, path in _package_files():
                wheel.add(arcname, path.read_bytes())
            for module in GENERATED:
                wheel.add(f"{PACKAGE}/{module}", (generated / module).read_bytes())
            wheel.add(f"{PACKAGE}/{LIBRARY}", library.read_bytes(), executable=True)
            wheel.add(f"{dist_info}/METADATA", _metadata(project))
            wheel.add(f"{dist_info}/WHEEL", _wheel_file(tag))
            wheel.close()
        except BaseException:
            wheel.zip.close()
            partial.unlink(missing_ok=True)
            raise
        shutil.move(str(partial), str(Path(wheel_directory) / name))
        size = library.stat().st_size
    _log(f"wrote {name} ({size} bytes of library, profile {PROFILE}, stripped copy)")
    return name


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError(
        "no sdist: the Rust sources the wheel is built from are the whole workspace, "
        "outside bindings/python. Build the wheel from the repository: "
        "pip wheel bindings/python (or python -m build --wheel bindings/python)"
    )
