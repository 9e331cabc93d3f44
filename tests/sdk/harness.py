"""A partner-ledger server for the Huawei SDK suite: seeds a ledger with `apply`, makes access keys
with `keys add`, runs `serve` on a free loopback port (over TLS when SDK_TLS_CERT/SDK_TLS_KEY are
set), and builds unmodified `huaweicloudsdkbss` clients that sign with those keys.

Run by tests/sdk.rs (which sets PARTNER_LEDGER_BIN); never skips: a missing binary or SDK fails.
"""
import json
import re
import os
import signal
import subprocess
import tempfile
import unittest
import urllib.parse

import requests
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkbss.v2 import BssClient

BIN = os.environ["PARTNER_LEDGER_BIN"]
TLS_CERT = os.environ.get("SDK_TLS_CERT")
TLS_KEY = os.environ.get("SDK_TLS_KEY")

# The book every module starts from (at fixed times in the past; the server stamps later commands
# with its own clock). Modules add their own lines with `extra_seed`.
SEED = [
    {"op": "register_partner", "id": "seed-1", "actor": "platform", "partner": "D1", "kind": "distributor"},
    {"op": "register_partner", "id": "seed-2", "actor": "platform", "partner": "R1", "kind": "reseller", "parent": "D1"},
    {"op": "register_partner", "id": "seed-3", "actor": "platform", "partner": "P1", "kind": "solution_provider"},
    {"op": "register_customer", "id": "seed-4", "actor": "partner:D1", "customer": "C1", "partner": "D1", "name": "Customer One", "external_id": "X-C1"},
    {"op": "register_customer", "id": "seed-5", "actor": "partner:D1", "customer": "C2", "partner": "D1", "association": "referral", "name": "Customer Two"},
    {"op": "register_customer", "id": "seed-6", "actor": "partner:R1", "customer": "C3", "partner": "R1", "name": "Customer Three"},
    {"op": "register_customer", "id": "seed-7", "actor": "partner:P1", "customer": "C4", "partner": "P1", "name": "Customer Four"},
    {"op": "recharge", "id": "seed-8", "actor": "platform", "party": "partner:D1", "amount": "100000"},
    {"op": "recharge", "id": "seed-9", "actor": "platform", "party": "partner:P1", "amount": "50000"},
    {"op": "recharge", "id": "seed-10", "actor": "platform", "party": "customer:C2", "amount": "300"},
    {"op": "set_credit_limit", "id": "seed-11", "actor": "platform", "party": "partner:D1", "limit": "5000"},
    {"op": "register_operator", "id": "seed-12", "actor": "partner:D1", "operator": "D1_FIN", "partner": "D1", "roles": ["finance"]},
]

ACTORS = ["platform", "partner:D1", "partner:R1", "partner:P1", "customer:C1", "customer:C2", "customer:C3", "customer:C4", "operator:D1_FIN"]


def run(*args, stdin=None):
    done = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"partner-ledger {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Server:
    """One served ledger: `start()` seeds, makes keys and serves; `stop()` ends it and verifies."""

    def __init__(self, extra_seed=(), actors=ACTORS):
        self.dir = tempfile.TemporaryDirectory(prefix="sdk-")
        self.db = os.path.join(self.dir.name, "ledger.redb")
        lines = "\n".join(json.dumps({**line, "at": line.get("at", "2026-01-05T00:00:00Z")}) for line in [*SEED, *extra_seed])
        for answer in run("apply", "--db", self.db, stdin=lines).splitlines():
            if not json.loads(answer)["ok"]:
                raise AssertionError(f"seeding failed: {answer}")
        self.keys = {}
        for actor in actors:
            fields = dict(line.split(": ", 1) for line in run("keys", "add", "--db", self.db, "--actor", actor).splitlines())
            self.keys[actor] = fields
        args = ["serve", "--db", self.db, "--listen", "127.0.0.1:0"]
        if TLS_CERT:
            args += ["--tls-cert", TLS_CERT, "--tls-key", TLS_KEY]
        self.log_file = open(os.path.join(self.dir.name, "serve.log"), "w")
        self.process = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=self.log_file, text=True)
        first = self.process.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise AssertionError(f"serve did not start: {first!r}; log: {self.log()}")
        self.endpoint = first[len("listening on "):]

    def log(self):
        with open(os.path.join(self.dir.name, "serve.log")) as log:
            return log.read()

    def config(self):
        config = HttpConfig.get_default_config()
        config.timeout = (5, 30)
        if TLS_CERT:
            config.ssl_ca_cert = TLS_CERT
        return config

    def client(self, actor):
        """An unmodified SDK client signing as `actor`, naming its key's domain id."""
        key = self.keys[actor]
        credentials = GlobalCredentials(key["access_key"], key["secret_key"], key["domain_id"])
        return BssClient.new_builder().with_credentials(credentials).with_endpoint(self.endpoint).with_http_config(self.config()).build()

    def signed(self, actor, method, path, body=b"", query=(), headers=None, secret=None):
        """Sends a request signed by the SDK's own signer (for the JSON-lines door and hostile cases)."""
        key = self.keys[actor]
        parsed = urllib.parse.urlparse(self.endpoint)
        request = SdkRequest(method=method, schema=parsed.scheme, host=parsed.netloc, resource_path=path, query_params=list(query),
                             header_params={"Content-Type": "application/json", **(headers or {})}, body=body)
        Signer(GlobalCredentials(key["access_key"], secret or key["secret_key"], key["domain_id"])).sign(request)
        url = f"{self.endpoint}{request.uri}"
        return requests.request(method, url, headers=request.header_params, data=body, verify=TLS_CERT or True, timeout=30)

    def commands(self, actor, lines):
        """Runs JSON lines through `POST /v1/commands`; the answer lines, decoded."""
        body = "\n".join(json.dumps(line) for line in lines).encode()
        response = self.signed(actor, "POST", "/v1/commands", body=body)
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines()]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process.stdout.close()
        self.log_file.close()
        assert code == 0, f"serve exited with {code}: {self.log()}"
        verify = run("verify", "--db", self.db)
        assert verify.startswith("verify: ok"), verify
        log = self.log()
        for key in self.keys.values():
            assert key["secret_key"] not in log, "a secret key reached the server's log"
        assert not re.search(r"[0-9a-f]{64}", log), "a signature (or a hash of one) reached the server's log"
        self.dir.cleanup()


class SdkTestCase(unittest.TestCase):
    """A test module's shared server. Subclasses may set EXTRA_SEED."""

    EXTRA_SEED = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.EXTRA_SEED)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self, actor):
        return self.server.client(actor)

    def assertFails(self, status, error_code, call, *args, code_name=None):
        """`call(*args)` raises the SDK's exception with this HTTP status and CBC code."""
        from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
        with self.assertRaises((ClientRequestException, ServerResponseException)) as raised:
            call(*args)
        self.assertEqual(raised.exception.status_code, status, raised.exception.error_msg)
        self.assertEqual(raised.exception.error_code, error_code, raised.exception.error_msg)
        if code_name is not None:
            self.assertTrue(raised.exception.error_msg.startswith(code_name + ":"), raised.exception.error_msg)
        self.assertTrue(raised.exception.request_id, "every error carries X-Request-Id")
        return raised.exception
