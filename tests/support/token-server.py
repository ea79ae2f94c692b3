#!/usr/bin/env python3
"""Minimal Docker/OCI registry token server (python3 stdlib + openssl CLI), for tests only.

usage: token-server.py --port 5211 --key token.key --cert token.crt \
         [--issuer test-issuer] [--service test-registry] [--users alice:secret,bob:pw]
         [--anonymous pull|none|all] [--header x5c|kid] [--alg RS256|ES256] [--ttl 300]

GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...][&account=U]   (Basic auth optional)
POST /token  (form: grant_type=password&username=&password=&service=&scope=  -> oauth2 style)
Authenticated users get every action they ask for; anonymous callers get what --anonymous says.
Wrong credentials -> 401. Prints "listening on 127.0.0.1:PORT" on stdout once ready (use --port 0).
"""
import argparse, base64, hashlib, json, os, subprocess, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def pem_to_der(path: str) -> bytes:
    return subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                          check=True, capture_output=True).stdout

def libtrust_kid(cert_path: str) -> str:
    """libtrust key ID: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits,
    base32 (48 chars, no padding), in 12 groups of 4 joined by ':'."""
    spki = subprocess.run(f"openssl x509 -in '{cert_path}' -noout -pubkey | openssl pkey -pubin -outform DER",
                          shell=True, check=True, capture_output=True).stdout
    s = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode()
    return ":".join(s[i:i + 4] for i in range(0, 48, 4))

def der_ecdsa_to_raw(der: bytes, size: int = 32) -> bytes:
    """openssl emits ECDSA signatures as DER SEQUENCE{INTEGER r, INTEGER s}; JWS wants r||s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]; v = der[i + 2:i + 2 + n]; i += 2 + n
        out += v.lstrip(b"\x00").rjust(size, b"\x00")
    return out

class Cfg: pass
C = Cfg()

def sign(signing_input: bytes) -> bytes:
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", C.key], input=signing_input,
                         check=True, capture_output=True).stdout
    return der_ecdsa_to_raw(sig) if C.alg == "ES256" else sig

def make_token(sub: str, access: list) -> tuple:
    now = int(time.time())
    header = {"typ": "JWT", "alg": C.alg}
    if C.header == "x5c":
        header["x5c"] = [base64.b64encode(C.cert_der).decode()]   # std base64 (not url-safe), leaf first
    else:
        header["kid"] = C.kid
    claims = {"iss": C.issuer, "sub": sub, "aud": C.service, "exp": now + C.ttl,
              "nbf": now - 1, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
    si = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
         b64url(json.dumps(claims, separators=(",", ":")).encode())
    return si + "." + b64url(sign(si.encode())), now

def parse_scopes(scopes: list) -> list:
    out = []
    for sc in scopes:
        for one in sc.split(" "):          # a scope param may hold several, space separated
            if not one: continue
            typ, rest = one.split(":", 1)
            name, actions = rest.rsplit(":", 1)   # name may contain ':' only for registry:catalog:*
            out.append({"type": typ, "name": name, "actions": [a for a in actions.split(",") if a]})
    return out

class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        if C.verbose: sys.stderr.write("token-server: " + fmt % a + "\n")

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items(): self.send_header(k, v)
        self.end_headers(); self.wfile.write(body)

    def issue(self, user, password, scopes, service):
        if user is not None:
            if C.users.get(user) != password:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                                  {"WWW-Authenticate": 'Basic realm="token"'})
        if service and service != C.service:
            return self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
        access = []
        for a in parse_scopes(scopes):
            if user is None:
                if C.anonymous == "none": acts = []
                elif C.anonymous == "pull": acts = [x for x in a["actions"] if x == "pull"]
                else: acts = a["actions"]
            else:
                acts = a["actions"]
            if acts: access.append({**a, "actions": acts})
        tok, now = make_token(user or "", access)
        C.issued += 1
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": C.ttl,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    def basic(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "): return None, None
        u, _, p = base64.b64decode(h[6:]).decode().partition(":")
        return u, p

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/stats": return self.reply(200, {"issued": C.issued})
        if url.path != "/token": return self.reply(404, {"error": "not found"})
        q = urllib.parse.parse_qs(url.query)
        u, p = self.basic()
        self.issue(u, p, q.get("scope", []), (q.get("service") or [""])[0])

    def do_POST(self):
        if urllib.parse.urlparse(self.path).path != "/token": return self.reply(404, {"error": "not found"})
        n = int(self.headers.get("Content-Length", "0"))
        f = urllib.parse.parse_qs(self.rfile.read(n).decode())
        g = lambda k: (f.get(k) or [None])[0]
        if g("grant_type") != "password":
            return self.reply(400, {"error": "unsupported_grant_type"})
        self.issue(g("username"), g("password") or "", f.get("scope", []), g("service") or "")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", required=True); ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", default="test-issuer"); ap.add_argument("--service", default="test-registry")
    ap.add_argument("--users", default="alice:secret")
    ap.add_argument("--anonymous", choices=["pull", "none", "all"], default="pull")
    ap.add_argument("--header", choices=["x5c", "kid"], default="x5c")
    ap.add_argument("--alg", choices=["RS256", "ES256"], default="RS256")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    C.__dict__.update(vars(a)); C.issued = 0
    C.users = dict(x.split(":", 1) for x in a.users.split(",") if x)
    C.cert_der = pem_to_der(a.cert); C.kid = libtrust_kid(a.cert)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print(f"listening on 127.0.0.1:{srv.server_address[1]} kid={C.kid}", flush=True)
    srv.serve_forever()

if __name__ == "__main__":
    main()
