#!/usr/bin/env python3
"""A read-only proxy in front of a registry that pages tag lists, for tests only.

usage: paging-proxy.py --upstream 127.0.0.1:5000 --port 0 --log FILE [--page 2]

GET and HEAD requests are passed to the upstream registry as they are, except
GET /v2/NAME/tags/list[?n=N&last=T], which is answered from the upstream's full list, sorted,
one page at a time: at most N tags (default --page) after T, with
`Link: </v2/NAME/tags/list?last=X&n=N>; rel="next"` while more remain, as the distribution
spec describes (the Debian registry ignores n and last). Every tag-list request is logged in
FILE as "page NAME last=T n=N count=C". Prints "listening on 127.0.0.1:PORT" once ready.
"""
import argparse, http.client, json, re, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}
TAGS = re.compile(r"^/v2/(.+)/tags/list$")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def upstream(self, path):
        conn = http.client.HTTPConnection(ARGS.upstream, timeout=30)
        # Header by header: clients send Accept more than once.
        conn.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP_BY_HOP:
                conn.putheader(k, v)
        conn.endheaders()
        res = conn.getresponse()
        body = res.read()
        conn.close()
        return res, body

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        res, body = self.upstream(self.path)
        self.reply(res.status, res.getheaders(), b"")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        match = TAGS.match(url.path)
        if not match:
            res, body = self.upstream(self.path)
            return self.reply(res.status, res.getheaders(), body)
        res, body = self.upstream(url.path)
        if res.status != 200:
            return self.reply(res.status, res.getheaders(), body)
        name = match.group(1)
        query = urllib.parse.parse_qs(url.query)
        n = int(query.get("n", [ARGS.page])[0])
        last = query.get("last", [""])[0]
        tags = sorted(json.loads(body).get("tags") or [])
        rest = [t for t in tags if t > last]
        page = rest[:n]
        with open(ARGS.log, "a") as log:
            print(f"page {name} last={last} n={n} count={len(page)}", file=log)
        headers = [("Content-Type", "application/json")]
        if len(rest) > n:
            nxt = urllib.parse.urlencode({"last": page[-1], "n": n})
            headers.append(("Link", f'</v2/{name}/tags/list?{nxt}>; rel="next"'))
        self.reply(200, headers, json.dumps({"name": name, "tags": page}).encode())


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--page", type=int, default=2)
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Proxy)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
