"""The AWS Lambda runtime API, as a custom runtime's bootstrap sees it, on localhost.

Usage: lambda_runtime.py BOOTSTRAP EVENT_FILE...

Serves the events one per `GET .../invocation/next` (with a `Lambda-Runtime-Aws-Request-Id`
header), records what the bootstrap posts to `.../invocation/ID/response` or `.../error`, and
once every event is answered stops the bootstrap and prints the answers as JSON:
[{"id": ..., "kind": "response" | "error", "body": ...}, ...] in the order of the events.
The endpoints and headers are those of the Lambda developer guide's "Using the Lambda runtime
API for custom runtimes".
"""

import http.server
import json
import os
import subprocess
import sys
import threading

PREFIX = "/2018-06-01/runtime/invocation/"


def main():
    bootstrap, event_files = sys.argv[1], sys.argv[2:]
    events = [open(path, "rb").read() for path in event_files]
    answers = {}
    served = []
    all_answered = threading.Event()
    lock = threading.Lock()

    class Runtime(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != PREFIX + "next":
                self.send_error(404)
                return
            with lock:
                index = len(served)
                if index < len(events):
                    served.append(f"request-{index}")
            if index >= len(events):
                all_answered.wait()
                return
            body = events[index]
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", f"request-{index}")
            self.send_header("Lambda-Runtime-Deadline-Ms", "9999999999999")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            rest = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else ""
            request_id, _, kind = rest.partition("/")
            if kind not in ("response", "error"):
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            self.send_response(202)
            self.end_headers()
            with lock:
                answers[request_id] = {"id": request_id, "kind": kind, "body": body}
                if len(answers) == len(events):
                    all_answered.set()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    process = subprocess.Popen([bootstrap], env=env, stdout=sys.stderr)
    finished = all_answered.wait(timeout=600)
    process.kill()
    process.wait()
    if not finished:
        sys.exit(f"the bootstrap answered {len(answers)} of {len(events)} events")
    print(json.dumps([answers[f"request-{i}"] for i in range(len(events))]))


if __name__ == "__main__":
    main()
