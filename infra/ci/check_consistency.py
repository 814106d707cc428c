#!/usr/bin/env python3
"""Cross-file checks the validators cannot make (each validator sees one file):

1. every NEURITE_* variable the deployment files set is one neurite or the scripts read
   (a typo in an environment name is silently ignored at run time);
2. the HTTP paths the probes and health checks call are routes of neurite-serve;
3. samconfig.toml only overrides parameters the SAM template declares, with allowed values;
4. the scripts the manifests, the compose file and the images run exist and are in the CLI image;
5. the rendered overlays name every image with a registry and a tag, and each overlay's
   workloads all use one namespace.

    python3 infra/ci/check_consistency.py RENDERED_DIR     (RENDERED_DIR: <overlay>.yaml files)

Needs PyYAML (the validators' venv has it). Prints one line per check; exit 1 on any failure.
"""

import glob
import os
import re
import shlex
import sys
import tomllib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what)
    if not ok:
        failures.append(what)


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !If, ...) read as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node)))


def known_env():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "serve/src/**/*.rs"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "cli/src/**/*.rs"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "pipeline/src/**/*.rs"), recursive=True):
        text = open(path, encoding="utf-8").read()
        names |= set(re.findall(r'env = "([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'var(?:_os)?\("([A-Z0-9_]+)"\)', text))
    for path in glob.glob(os.path.join(ROOT, "infra/scripts/*.sh")):
        names |= set(re.findall(r"\$\{(NEURITE[A-Z0-9_]*)[:}]", open(path).read()))
    return names


def main(rendered_dir):
    env_known = known_env()
    # Compose interpolation variables (not container environment).
    compose_vars = {"NEURITE_CLI_IMAGE", "NEURITE_SERVE_IMAGE"}
    used = {}
    for pattern in ("infra/docker/*Dockerfile", "infra/docker/docker-compose.yml",
                    "infra/k8s/**/*.yaml", "infra/aws/template.yaml"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            for name in re.findall(r"\b(NEURITE_[A-Z0-9_]+)\b", open(path, encoding="utf-8").read()):
                used.setdefault(name, set()).add(os.path.relpath(path, ROOT))
    unknown = {n: sorted(p) for n, p in used.items() if n not in env_known | compose_vars}
    check(not unknown, f"1. the {len(used)} NEURITE_* names set in infra/ are all read by neurite or the scripts"
          + (f"; unknown: {unknown}" if unknown else ""))

    routes = read("serve/src/routes.rs")
    paths = set()
    for doc in yaml.safe_load_all(read("infra/k8s/base/deployment.yaml")):
        c = doc["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            paths.add(c[probe]["httpGet"]["path"])
    paths |= set(re.findall(r'neurite-healthcheck", "(/[^"]+)"', read("infra/docker/serve.Dockerfile")))
    missing = sorted(p for p in paths if f'"{p}"' not in routes)
    check(not missing, f"2. probe and health-check paths {sorted(paths)} are neurite-serve routes"
          + (f"; not found in serve/src/routes.rs: {missing}" if missing else ""))

    template = yaml.load(read("infra/aws/template.yaml"), Loader=CfnLoader)
    params = template["Parameters"]
    sam = tomllib.loads(read("infra/aws/samconfig.toml"))
    problems = []
    for env, sections in sam.items():
        if not isinstance(sections, dict):
            continue
        overrides = sections.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
        for kv in shlex.split(overrides):
            key, _, value = kv.partition("=")
            if key not in params:
                problems.append(f"[{env}] {key} is not a template parameter")
            elif "AllowedValues" in params[key] and value not in map(str, params[key]["AllowedValues"]):
                problems.append(f"[{env}] {key}={value} not in {params[key]['AllowedValues']}")
    check(not problems, "3. samconfig.toml overrides declared template parameters with allowed values"
          + (f": {problems}" if problems else ""))

    cli_dockerfile = read("infra/docker/cli.Dockerfile")
    copied = set(re.findall(r"infra/scripts/([a-z0-9-]+\.sh)", cli_dockerfile))
    referenced = set()
    for pattern in ("infra/k8s/**/*.yaml", "infra/docker/docker-compose.yml"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            referenced |= set(re.findall(r"/opt/neurite/scripts/([a-z0-9-]+\.sh)", open(path).read()))
    absent = sorted(s for s in referenced | copied if not os.path.isfile(os.path.join(ROOT, "infra/scripts", s)))
    not_in_image = sorted(referenced - copied)
    check(not absent and not not_in_image,
          f"4. scripts run in containers {sorted(referenced)} exist and are copied into the CLI image"
          + (f"; missing: {absent}" if absent else "") + (f"; not copied: {not_in_image}" if not_in_image else ""))

    bad_images, namespaces = [], {}
    rendered = sorted(glob.glob(os.path.join(rendered_dir, "*.yaml")))
    for path in rendered:
        overlay = os.path.basename(path)[:-5]
        for doc in yaml.safe_load_all(open(path, encoding="utf-8")):
            if not doc:
                continue
            ns = doc["metadata"].get("namespace")
            if ns:
                namespaces.setdefault(overlay, set()).add(ns)
            for image in re.findall(r"'image': '([^']+)'", repr(doc)):
                name, _, tag = image.rpartition(":")
                if "/" not in image or not name or not tag or "/" in tag:
                    bad_images.append(f"{overlay}: {image}")
    multi = {o: sorted(n) for o, n in namespaces.items() if len(n) != 1}
    check(bool(rendered) and not bad_images and not multi,
          f"5. {len(rendered)} rendered overlays: images have a registry and a tag, one namespace each"
          + (f"; bad images: {bad_images}" if bad_images else "") + (f"; namespaces: {multi}" if multi else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    sys.exit(main(sys.argv[1]))
