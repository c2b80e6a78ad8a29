"""A proxy in front of an S3-compatible server that answers errors: the fault tests' server.

Usage: faulty_s3.py UPSTREAM_URL FAILURES COUNT_FILE

Listens on a free port of 127.0.0.1 (printed on the first line of standard output), forwards
every request to UPSTREAM_URL, except the first FAILURES writes of a Delta log entry
(`PUT .../_delta_log/NNN.json`), answered `503 SlowDown` as S3 answers when it sheds load,
without forwarding them. Writes how many it failed to COUNT_FILE after each. Runs until its
standard input closes.
"""

import http.client
import http.server
import sys
import threading
import urllib.parse


def main():
    upstream = urllib.parse.urlparse(sys.argv[1])
    failures = int(sys.argv[2])
    count_file = sys.argv[3]
    failed = [0]
    lock = threading.Lock()

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else None
            path = urllib.parse.urlparse(self.path).path
            if self.command == "PUT" and "/_delta_log/" in path and path.endswith(".json"):
                with lock:
                    fail = failed[0] < failures
                    if fail:
                        failed[0] += 1
                        with open(count_file, "w") as f:
                            f.write(str(failed[0]))
                if fail:
                    message = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status, response.reason)
            # A HEAD's length is the object's, not the (empty) body's.
            dropped = ("transfer-encoding", "connection") + (
                () if self.command == "HEAD" else ("content-length",)
            )
            for key, value in response.getheaders():
                if key.lower() not in dropped:
                    self.send_header(key, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
