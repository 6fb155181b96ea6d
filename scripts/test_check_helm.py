"""Tests of scripts/check_helm.py: the parts that do not need a rendered chart, and its
conversation with the binary (a stand-in binary for the protocol, the real one for the
placeholders it hands out). Run by scripts/check-helm.sh with the venv's python."""

import base64
import os
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_helm as ch  # noqa: E402


def secret(name, **data):
    return {"kind": "Secret", "metadata": {"name": name},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


class Quiet(unittest.TestCase):
    def setUp(self):
        ch.problems.clear()
        ch.notes.clear()
        self._stdout = sys.stdout
        sys.stdout = open(os.devnull, "w")

    def tearDown(self):
        sys.stdout.close()
        sys.stdout = self._stdout


class FakeBinary(Quiet):
    """The protocol: arguments, a clean environment, the answer parsed."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "dte-sidecar")
        with open(self.path, "w") as f:
            f.write(textwrap.dedent(f"""\
                #!{sys.executable}
                import json, os, sys
                args = sys.argv[1:]
                if args == ["config", "schema"]:
                    print(json.dumps([
                        {{"key": "server.bind", "env": "DTE__SERVER__BIND", "type": "string",
                          "default": "127.0.0.1:8070", "secret": False}},
                        {{"key": "database.url", "env": "DTE__DATABASE__URL", "type": "string",
                          "default": "", "secret": True, "placeholder": "postgres://p@h/p"}},
                        {{"key": "auth.api_keys.*", "env": "DTE__AUTH__API_KEYS__*", "type": "string",
                          "default": None, "secret": True, "placeholder": "key-placeholder"}},
                    ]))
                elif args[:2] == ["config", "check"]:
                    config = open(args[args.index("--config") + 1]).read()
                    if "bad" in config:
                        print("dte-sidecar: bad setting: server.bind: expected an address", file=sys.stderr)
                        print("dte-sidecar: bad setting: database.pool_size: must be at least 1", file=sys.stderr)
                        sys.exit(1)
                    print(json.dumps({{"args": args, "env": dict(os.environ)}}))
                """))
        os.chmod(self.path, os.stat(self.path).st_mode | stat.S_IEXEC)
        self.binary = ch.Binary(self.path)

    def tearDown(self):
        self.dir.cleanup()
        super().tearDown()

    def test_check_passes_the_command_the_file_and_only_the_given_environment(self):
        settings, problems = self.binary.check("migrate", "[server]\n", {"DATABASE_URL": "postgres://x"})
        self.assertEqual(problems, [])
        self.assertEqual(settings["args"][:5], ["config", "check", "--for", "migrate", "--json"])
        self.assertEqual(settings["env"].get("DATABASE_URL"), "postgres://x")
        self.assertNotIn("PATH", settings["env"])

    def test_an_unknown_command_is_checked_as_serve(self):
        settings, _ = self.binary.check("something-else", "", {})
        self.assertEqual(settings["args"][3], "serve")

    def test_each_refusal_is_one_problem_without_the_prefix(self):
        settings, problems = self.binary.check("serve", "bad", {})
        self.assertIsNone(settings)
        self.assertEqual(problems, ["server.bind: expected an address", "database.pool_size: must be at least 1"])

    def test_placeholders_follow_the_schema(self):
        self.assertEqual(self.binary.placeholder("DATABASE_URL"), "postgres://p@h/p")
        self.assertEqual(self.binary.placeholder("DTE__AUTH__API_KEYS__ODOO_STAGING"), "key-placeholder")
        self.assertIsNone(self.binary.placeholder("DTE__SERVER__BIND"))

    def test_chart_defaults_leave_out_secrets_and_user_tables(self):
        self.assertEqual(ch.chart_defaults(self.binary.schema()), {"server.bind": "127.0.0.1:8070"})


class Environment(Quiet):
    def setUp(self):
        super().setUp()
        self.saved = ch.BINARY
        ch.BINARY = type("Stub", (), {"placeholder": staticmethod(lambda name: f"<{name}>")})()

    def tearDown(self):
        ch.BINARY = self.saved
        super().tearDown()

    def test_values_come_from_rendered_secrets_or_stand_in_placeholders(self):
        container = {"env": [
            {"name": "DTE__SERVER__BIND", "value": "0.0.0.0:8070"},
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "own", "key": "database-url"}}},
            {"name": "DTE__SECRETS__MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "users", "key": "mk"}}},
            {"name": "DTE__SMTP__PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": "own", "key": "smtp", "optional": True}}},
            {"name": "DTE__SERVER__BIND", "value": "0.0.0.0:9000"},
        ]}
        objs = {("Secret", "own"): secret("own", **{"database-url": "postgresql://u@db/odoo"})}
        env = ch.resolved_env(container, objs, "users", {})
        self.assertEqual(env, {
            "DTE__SERVER__BIND": "0.0.0.0:9000",  # the last entry wins, as in Kubernetes
            "DATABASE_URL": "postgresql://u@db/odoo",
            "DTE__SECRETS__MASTER_KEY": "<DTE__SECRETS__MASTER_KEY>",
        })

    def test_an_empty_database_url_in_the_charts_secret_is_the_users_to_fill(self):
        container = {"env": [
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "own", "key": "database-url"}}}]}
        env = ch.resolved_env(container, {("Secret", "own"): secret("own")}, "", {"databaseUrl": ""})
        self.assertEqual(env, {"DATABASE_URL": "<DATABASE_URL>"})

    def test_the_config_file_is_found_in_the_mounted_configmap(self):
        seen = {}

        def check(command, text, env):
            seen.update(command=command, text=text, env=env)
            return {"ok": True}, []

        ch.BINARY.check = check
        container = {"args": ["migrate"],
                     "env": [{"name": "DTE_CONFIG", "value": "/etc/dte/config/config.toml"}],
                     "volumeMounts": [{"name": "cfg", "mountPath": "/etc/dte/config"}]}
        volumes = {"cfg": {"name": "cfg", "configMap": {"name": "dte"}}}
        objs = {("ConfigMap", "dte"): {"data": {"config.toml": "[server]\nworkers = 2\n"}}}
        self.assertEqual(ch.container_settings("l", "Job x/y", container, volumes, objs, {}), ({"ok": True}, []))
        self.assertEqual(seen, {"command": "migrate", "text": "[server]\nworkers = 2\n", "env": {}})
        # Not mounted: reported, nothing asked.
        container["volumeMounts"] = []
        self.assertEqual(ch.container_settings("l", "Job x/y", container, volumes, objs, {}), (None, []))
        self.assertEqual(len(ch.problems), 1)
        self.assertIn("is not a mounted file", ch.problems[0])


class ClusterRules(Quiet):
    def test_bind_ports(self):
        self.assertEqual(ch.bind_port("0.0.0.0:8070"), 8070)
        self.assertEqual(ch.bind_port("[::]:8071"), 8071)
        self.assertIsNone(ch.bind_port("localhost:8070"))
        self.assertIsNone(ch.bind_port("0.0.0.0:70000"))

    def test_mounted_files(self):
        container = {"volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "keys", "mountPath": "/keys", "readOnly": True},
        ]}
        volumes = {"tmp": {"emptyDir": {}}, "keys": {"secret": {"items": [{"path": "a.pem"}]}}}
        self.assertIsNone(ch.mounted_file(container, volumes, "/tmp/x", writable=True))
        self.assertIsNone(ch.mounted_file(container, volumes, "/keys/a.pem"))
        self.assertIn("holds only a.pem", ch.mounted_file(container, volumes, "/keys/b.pem"))
        self.assertIn("not writable", ch.mounted_file(container, volumes, "/keys/a.pem", writable=True))
        self.assertIn("no mounted volume", ch.mounted_file(container, volumes, "/var/lib/x"))

    def test_durations_and_selectors(self):
        self.assertEqual(ch.seconds("1m30s"), 90)
        self.assertEqual(ch.seconds("250ms"), 0.25)
        self.assertTrue(ch.subset({"a": "1"}, {"a": "1", "b": "2"}))
        self.assertFalse(ch.subset({}, {"a": "1"}))

    def test_a_servicemonitor_with_an_unknown_field_fails(self):
        service = {"kind": "Service", "metadata": {"name": "s", "labels": {"app": "x"}},
                   "spec": {"ports": [{"name": "http", "targetPort": "http"}]}}
        sm = {"metadata": {"name": "m"}, "spec": {"selector": {"matchLabels": {"app": "x"}},
                                                   "endpoints": [{"port": "http", "intervall": "30s"}]}}
        ch.check_servicemonitor("l", sm, [(None, service)])
        self.assertEqual(len(ch.problems), 1)
        self.assertIn("unknown field endpoints[].intervall", ch.problems[0])

    def test_documented_keys_count_commented_out_ones(self):
        text = "[auth.api_keys]\n# odoo = \"...\"\n[server]\nbind = \"x\"\n# workers = 0\n"
        self.assertEqual(ch.documented_keys(text), {"auth.api_keys": {"odoo"}, "server": {"bind", "workers"}})


class RealBinary(Quiet):
    """What the check relies on from the binary itself (scripts/test.sh builds it first)."""

    def setUp(self):
        super().setUp()
        self.assertTrue(os.access(ch.BINARY.path, os.X_OK), f"no binary at {ch.BINARY.path}")

    def test_the_placeholders_pass_the_check_of_serve(self):
        env = {}
        for entry in ch.BINARY.schema():
            if entry.get("placeholder"):
                env[entry["env"].replace("*", "ODOO")] = entry["placeholder"]
        env["DTE__ADMIN__BIND"] = "0.0.0.0:8073"
        settings, problems = ch.BINARY.check("serve", '[admin]\nboard_user = "u"\n[backup]\nstore = "s3"\n'
                                             's3_bucket = "b"\n[smtp]\nhost = "h"\nto = "a@b.cl"\n', env)
        self.assertEqual(problems, [])
        self.assertEqual(settings["secrets"]["master_key"], "***", "a secret is never printed")
        self.assertEqual(settings["auth"]["api_keys"], {"odoo": "***"})

    def test_a_refused_setting_is_one_line_naming_its_key(self):
        settings, problems = ch.BINARY.check("sii-sim", "[jobs]\nsweep_interval_secs = 45\n[database]\npool_size = 0\n", {})
        self.assertIsNone(settings)
        self.assertEqual([p.split(":")[0] for p in problems], ["database.pool_size", "jobs.sweep_interval_secs"])

    def test_serve_needs_a_database_and_sii_sim_does_not(self):
        self.assertEqual(ch.BINARY.check("serve", "", {})[1], ["database.url: no database: set DATABASE_URL or database.url"])
        self.assertEqual(ch.BINARY.check("sii-sim", "", {})[1], [])


if __name__ == "__main__":
    unittest.main()
