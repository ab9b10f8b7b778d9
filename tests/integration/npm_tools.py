# SPDX-License-Identifier: BSD-2-Clause
"""Test tools from the npm registry, fetched once into a cache folder like
the live tests' Node (contrib/pcapgen/lib.sh): ajv + ajv-formats (JSON
Schema validator) and the CycloneDX schemas that @cyclonedx/cyclonedx-library
ships. Versions are pinned so a schema update cannot change a result."""
import os
import shutil
import subprocess
import sys

AJV = ["ajv@8.17.1", "ajv-formats@3.0.1"]
CDX = "@cyclonedx/cyclonedx-library@10.3.0"


def cache_dir():
    d = os.environ.get("KX_CACHE", "/var/cache/kexwatch-pcapgen")
    d = os.path.join(d, "npm-tools")
    try:
        os.makedirs(d, exist_ok=True)
        return d
    except OSError:
        d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "kexwatch-npm-tools")
        os.makedirs(d, exist_ok=True)
        return d


def unavailable(what):
    """No npm or no registry: skip (exit 77) unless CI is set, then fail."""
    msg = f"SKIP: {what}: the npm registry or node is unreachable"
    if os.environ.get("CI"):
        print("FAIL (CI is set, so no skip): " + msg)
        sys.exit(1)
    print(msg)
    sys.exit(77)


def _run(cmd, cwd):
    env = dict(os.environ, npm_config_fetch_retries="1", npm_config_fetch_timeout="30000",
               npm_config_audit="false", npm_config_fund="false", npm_config_update_notifier="false")
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def ensure():
    """Returns (node, node_modules, cyclonedx schema folder)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable("node/npm not installed")
    d = cache_dir()
    mods = os.path.join(d, "node_modules")
    if not all(os.path.isdir(os.path.join(mods, p.rsplit("@", 1)[0])) for p in AJV):
        p = _run([npm, "install", "--no-save", "--prefix", d, *AJV], d)
        if p.returncode != 0:
            print(p.stdout[-2000:], p.stderr[-2000:])
            unavailable("npm install " + " ".join(AJV))
    schemas = os.path.join(d, "cdx", "package", "res", "schema")
    if not os.path.isfile(os.path.join(schemas, "bom-1.6.SNAPSHOT.schema.json")):
        cdx = os.path.join(d, "cdx")
        os.makedirs(cdx, exist_ok=True)
        p = _run([npm, "pack", "--silent", CDX], cdx)
        tgz = p.stdout.strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else ""
        if not tgz or subprocess.run(["tar", "xzf", tgz], cwd=cdx).returncode != 0:
            print(p.stdout[-2000:], p.stderr[-2000:])
            unavailable("npm pack " + CDX)
        os.unlink(os.path.join(cdx, tgz))
    return node, mods, schemas
