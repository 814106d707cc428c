#!/usr/bin/env python3
"""Print the runtime facts of a Dockerfile's final stage as shell assignments, for
infra/tests/smoke-image.sh: how the container starts (ENTRYPOINT, CMD), its environment (ENV),
working folder (WORKDIR), user (USER) and health check (HEALTHCHECK CMD).

    python3 dockerfile_final_stage.py infra/docker/serve.Dockerfile

Fails (exit 1) when the final stage breaks a rule of the images: ENTRYPOINT and HEALTHCHECK in
exec form (a JSON array), a numeric non-root USER. Only the instructions the images use are
understood: line continuations, comments, `KEY=VALUE` ENV pairs (no variable expansion).
"""

import json
import shlex
import sys


def logical_lines(text):
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        yield (buf + line).strip()
        buf = ""
    if buf.strip():
        yield buf.strip()


def final_stage(lines):
    stage = []
    for line in lines:
        if line.split(None, 1)[0].upper() == "FROM":
            stage = []
        stage.append(line)
    return stage


def main(path):
    stage = final_stage(logical_lines(open(path, encoding="utf-8").read()))
    env, entrypoint, cmd, workdir, user, health = {}, None, [], "/", None, None
    errors = []
    for line in stage:
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "ENV":
            for pair in shlex.split(rest):
                key, sep, value = pair.partition("=")
                if not sep:
                    errors.append(f"ENV {pair!r}: use KEY=VALUE")
                env[key] = value
        elif word == "ENTRYPOINT":
            try:
                entrypoint = json.loads(rest)
            except json.JSONDecodeError:
                errors.append(f"ENTRYPOINT is not in exec form (a JSON array): {rest}")
        elif word == "CMD":
            try:
                cmd = json.loads(rest)
            except json.JSONDecodeError:
                errors.append(f"CMD is not in exec form: {rest}")
        elif word == "WORKDIR":
            workdir = rest if rest.startswith("/") else workdir.rstrip("/") + "/" + rest
        elif word == "USER":
            user = rest
        elif word == "HEALTHCHECK":
            opts = rest.split()
            if opts == ["NONE"]:
                health = []
                continue
            i = next((k for k, o in enumerate(opts) if o == "CMD"), None)
            if i is None:
                errors.append(f"HEALTHCHECK without CMD: {rest}")
                continue
            try:
                health = json.loads(" ".join(opts[i + 1 :]))
            except json.JSONDecodeError:
                errors.append(f"HEALTHCHECK CMD is not in exec form: {rest}")
    if not entrypoint:
        errors.append("no ENTRYPOINT in the final stage")
    uid, _, gid = (user or "").partition(":")
    if not (uid.isdigit() and int(uid) != 0 and (not gid or gid.isdigit())):
        errors.append(f"USER must be a numeric non-root uid[:gid], got {user!r}")
    if errors:
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        return 1

    def arr(name, values):
        print(f"{name}=(" + " ".join(shlex.quote(v) for v in values) + ")")

    arr("entrypoint", entrypoint)
    arr("cmd", cmd)
    arr("healthcheck", health or [])
    arr("env_pairs", [f"{k}={v}" for k, v in env.items()])
    print(f"workdir={shlex.quote(workdir)}")
    print(f"user={shlex.quote(user)}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    sys.exit(main(sys.argv[1]))
