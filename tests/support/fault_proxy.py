#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry, for the reliability tests.

Usage: fault_proxy.py UPSTREAM_HOST:PORT RULES_JSON LOG_FILE
Prints "port N" once listening on 127.0.0.1. RULES_JSON is a list of rules tried in order;
the first whose "match" (a regex) finds "METHOD PATH" and whose "count" is not used up
applies to the request:
  {"match": "...", "count": 2, "status": 503, "retry_after": "1"}  answer STATUS instead
  {"match": "...", "count": 1, "reset": true}                       drop the connection
  {"match": "...", "count": 1, "cut_after": 100}                    forward, then cut the body
  {"match": "...", "count": 1, "status": 200, "body_len": N}         a body of N bytes instead
  {"match": "...", "count": 1, "status": 401, "headers": {...}}       with these headers
  {"match": "...", "count": 1, "body": "..."}                        with this body
Every request is logged as "METHOD PATH OUTCOME" (OUTCOME: the status sent, "reset", "cut").
"""
import http.client
import http.server
import json
import re
import socket
import struct
import sys
import threading

UPSTREAM = sys.argv[1]
RULES = json.loads(sys.argv[2])
LOG = open(sys.argv[3], "a", buffering=1)
LOCK = threading.Lock()


def take_rule(line):
    with LOCK:
        for rule in RULES:
            if rule.get("count", 0) > 0 and re.search(rule["match"], line):
                rule["count"] -= 1
                return dict(rule)
    return None


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        line = f"{self.command} {self.path}"
        body = self.read_body()
        rule = take_rule(line)
        if rule and rule.get("reset"):
            LOG.write(f"{line} reset\n")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if rule and "status" in rule:
            LOG.write(f"{line} {rule['status']}\n")
            payload = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
            if "body_len" in rule:
                payload = b" " * rule["body_len"]
            if "body" in rule:
                payload = rule["body"].encode()
            self.send_response(rule["status"])
            if "retry_after" in rule:
                self.send_header("Retry-After", rule["retry_after"])
            for k, v in rule.get("headers", {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", rule.get("content_type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length", "connection")}
        if body or self.command in ("PUT", "POST", "PATCH"):
            headers["Content-Length"] = str(len(body))
        upstream.request(self.command, self.path, body=body, headers=headers)
        res = upstream.getresponse()
        data = res.read()
        self.send_response(res.status)
        keep_length = self.command == "HEAD"
        for k, v in res.getheaders():
            if k.lower() in ("transfer-encoding", "connection"):
                continue
            if k.lower() == "content-length" and not keep_length:
                continue
            self.send_header(k, v)
        if not keep_length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if rule and "cut_after" in rule and self.command != "HEAD":
            LOG.write(f"{line} cut\n")
            self.wfile.write(data[: rule["cut_after"]])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        LOG.write(f"{line} {res.status}\n")
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
