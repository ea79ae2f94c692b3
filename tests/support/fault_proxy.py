#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry, for the reliability tests.

Usage: fault_proxy.py UPSTREAM_HOST:PORT RULES_JSON LOG_FILE
Prints "port N" once listening on 127.0.0.1. RULES_JSON is a list of rules tried in order;
the first whose "match" (a regex) finds "METHOD PATH" and whose "count" is not used up
applies to the request:
  {"match": "...", "count": 2, "status": 503, "retry_after": "1"}  answer STATUS instead
  {"match": "...", "count": 1, "reset": true}                       drop the connection
  {"match": "...", "count": 1, "cut_after": 100}                    forward, then cut the body
  {"match": "...", "count": 1, "stall_after": 100, "stall": 30}      forward, pausing 30 s there
  {"match": "...", "count": 1, "ignore_range": true}                 forward without its Range
  {"match": "...", "count": 1, "status": 200, "body_len": N}         a body of N bytes instead
  {"match": "...", "count": 1, "status": 401, "headers": {...}}       with these headers
  {"match": "...", "count": 1, "body": "..."}                        with this body
Every request is logged as "METHOD PATH OUTCOME" (OUTCOME: the status sent, "reset", "cut",
"stalled"), followed by " range=VALUE" when the request had a Range header. Bodies are
forwarded as they stream (a 1 GB blob is never held whole).
"""
import http.client
import http.server
import json
import time
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
        ranged = f" range={self.headers['Range']}" if self.headers.get("Range") else ""
        body = self.read_body()
        rule = take_rule(line)
        if rule and rule.get("reset"):
            LOG.write(f"{line} reset{ranged}\n")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if rule and "status" in rule:
            LOG.write(f"{line} {rule['status']}{ranged}\n")
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
        skip = ("transfer-encoding", "content-length", "connection")
        if rule and rule.get("ignore_range"):
            skip += ("range",)
        # Every header as sent (a client may send several Accept headers).
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in skip:
                upstream.putheader(k, v)
        if body or self.command in ("PUT", "POST", "PATCH"):
            upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body or None)
        res = upstream.getresponse()
        length = res.getheader("Content-Length")
        data = None
        if length is None and self.command != "HEAD":
            data = res.read()
            length = str(len(data))
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        if self.command == "HEAD":
            LOG.write(f"{line} {res.status}{ranged}\n")
            return
        cut = rule.get("cut_after") if rule else None
        stall = rule.get("stall_after") if rule else None
        outcome = "cut" if cut is not None else "stalled" if stall is not None else str(res.status)
        LOG.write(f"{line} {outcome}{ranged}\n")
        sent = 0
        while True:
            if data is not None:
                chunk, data = data, b""
            else:
                chunk = res.read(256 * 1024)
            if not chunk:
                break
            if cut is not None and sent + len(chunk) >= cut:
                self.wfile.write(chunk[: cut - sent])
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            if stall is not None and sent + len(chunk) >= stall:
                self.wfile.write(chunk[: stall - sent])
                self.wfile.flush()
                time.sleep(rule.get("stall", 30))
                chunk = chunk[stall - sent :]
                sent = stall
                stall = None
            try:
                self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
            sent += len(chunk)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
