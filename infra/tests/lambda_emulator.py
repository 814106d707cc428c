#!/usr/bin/env python3
"""A minimal AWS Lambda Runtime API (2018-06-01) that runs a Lambda package's `bootstrap` the way
the provided.al2023 runtime does (LAMBDA_TASK_ROOT = the package folder, the function's
environment variables) and feeds it API Gateway HTTP API (v2) events.

    python3 lambda_emulator.py PACKAGE_DIR EVENTS.json [KEY=VALUE ...]

EVENTS.json is a list of events; the responses (the handler's JSON, or {"error": ...} for an
invocation error) are printed as one JSON list on stdout. Exit status 0 when every event got an
answer within 20 s.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


def main(pkg, events_file, env_pairs):
    events = json.load(open(events_file, encoding="utf-8"))
    pending = queue.Queue()
    for i, e in enumerate(events):
        pending.put((f"req-{i}", e))
    answers = {}
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != f"{PREFIX}/invocation/next":
                return self.reply(404)
            try:
                rid, event = pending.get_nowait()
            except queue.Empty:
                done.wait()  # the last event was served: hold the long poll
                return self.reply(410)
            deadline = str(int((time.time() + 30) * 1000))
            self.reply(200, json.dumps(event).encode(), [
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", deadline),
                ("Lambda-Runtime-Invoked-Function-Arn",
                 "arn:aws:lambda:us-east-1:123456789012:function:neurite-serve"),
                ("Content-Type", "application/json"),
            ])

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if parts[:1] == ["invocation"] and len(parts) == 3:
                rid, kind = parts[1], parts[2]
                answers[rid] = json.loads(body) if kind == "response" else {"error": body.decode()}
                if len(answers) == len(events):
                    done.set()
                return self.reply(202)
            if parts[:2] == ["init", "error"]:
                answers["init"] = {"init_error": body.decode()}
                done.set()
                return self.reply(202)
            return self.reply(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "neurite-serve",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/neurite-serve",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "LAMBDA_TASK_ROOT": pkg,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "bootstrap",
    }
    env.update(dict(kv.split("=", 1) for kv in env_pairs))
    log = open(os.path.join(os.path.dirname(os.path.abspath(events_file)), "bootstrap.log"), "w")
    proc = subprocess.Popen([os.path.join(pkg, "bootstrap")], cwd=pkg, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    ok = done.wait(20)
    proc.kill()
    proc.wait()
    server.shutdown()
    print(json.dumps([answers.get(f"req-{i}") for i in range(len(events))] +
                     ([answers["init"]] if "init" in answers else [])))
    return 0 if ok and "init" not in answers else 1


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    sys.exit(main(os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]))
