#!/usr/bin/env python3
"""Drills with real processes: the simulated SII, one or two sidecars, a driver.

  crash     200 sends against a flaky SII while the sidecar is killed with SIGKILL at
            random moments and restarted; at the end every document must be in exactly
            one final place and the SII must have received each accepted folio once.
  replicas  two sidecars on one database share 1,000 sends: no folio twice, each retry
            ran once, each cron tick ran once.
  database-crash
            300 sends while the drill's own PostgreSQL is stopped in immediate mode (a
            crash: what its WAL had not flushed is gone) and started again at random
            moments; the same checks as `crash`, and no folio lost: every folio the CAF
            has given out has its document or is a spare.
  partition 120 sends while the network to PostgreSQL is blackholed for 20 s (a proxy
            stopped with SIGSTOP: no RST, packets simply go unanswered): every caller gets
            its answer, /readyz answers 503 during the partition and 200 after, every
            document is accepted and none is received twice.
  archive-full
            60 sends while the backup directory (the second copy) is a filesystem too
            small to hold them; then it grows: every send succeeds, the copies that failed
            catch up, and `dte-sidecar verify` finds every copy right.

Every drill runs its own PostgreSQL cluster and its own processes on ports it picks free,
and fails when PostgreSQL's log shows a deadlock during its run. The retry queue's
histories are checked by `dte-sidecar queue check`, the one statement of their rule.

Run through scripts/drill.sh, which builds the binary.
"""

import argparse
import base64
import collections
import concurrent.futures
import datetime
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(os.environ.get("DTE_SIDECAR_BIN", ROOT / "target" / "release" / "dte-sidecar"))
KEY = "drill-key-0123456789abcdef"
MASTER = "a1" * 32
RUT = "76000001-9"
# The fewest times the database-crash drill crashes PostgreSQL.
MIN_CRASHES = 5
# The drills and how many documents each sends by default.
MODES = {"crash": 200, "replicas": 1000, "database-crash": 300, "partition": 120, "archive-full": 60}
FINAL = {"accepted", "accepted_with_objections", "rejected", "abandoned"}


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def http(method, url, body=None, headers=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


class RpcError(Exception):
    """The sidecar answered with an Odoo error: its HTTP status and `error.data`."""

    def __init__(self, text, status=None, data=None):
        super().__init__(text)
        self.status = status
        self.data = data or {}


def rpc(port, model, method, **kwargs):
    try:
        return http("POST", f"http://127.0.0.1:{port}/json/2/{model}/{method}", kwargs, {"Authorization": f"bearer {KEY}"})
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        raise RpcError(f"{model}.{method}: {error.code} {body}", error.code, data if isinstance(data, dict) else {}) from None


def psql(url, sql):
    out = subprocess.run(["psql", url, "-Atqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def as_postgres(command):
    """PostgreSQL's own tools refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def free_port():
    """A TCP port on loopback that nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnPostgres:
    """A throwaway PostgreSQL cluster for one drill: the drill may crash it, cut it off or
    read its log, and never touches a shared server."""

    def __init__(self, work):
        bins = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
        self.bin, self.dir = bins[-1], work / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("stop", "-m", "immediate", check=False)
        subprocess.run(["rm", "-rf", str(self.dir)], check=True)
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.dir)], check=True)
        subprocess.run(as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
        self.port = free_port()
        self.start()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args, check=True):
        subprocess.run(as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]), check=check, capture_output=True)

    def start(self):
        self.pg_ctl("-l", str(self.log), "-w", "-t", "120", "-o",
                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on -c synchronous_commit=on",
                    "start")

    def crash(self):
        """Immediate mode: the server exits without a checkpoint and replays its WAL on start."""
        self.pg_ctl("stop", "-m", "immediate")

    def stop(self):
        self.pg_ctl("stop", "-m", "fast", check=False)

    def deadlocks(self):
        """The deadlocks PostgreSQL reported in its log, each with its detail lines."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            if "deadlock detected" in line:
                found.append("\n".join(lines[i:i + 8]))
        return found


class Drill:
    def __init__(self, args):
        self.args = args
        self.caller_errors = []
        self.work = ROOT / ".local" / f"drill-{args.mode}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.pg = OwnPostgres(self.work)
        self.db_name = f"dte_drill_{args.mode.replace('-', '_')}"
        subprocess.run(["psql", self.pg.url, "-qc", f"CREATE DATABASE {self.db_name}"], check=True)
        self.db_url = self.pg.url.rsplit("/", 1)[0] + "/" + self.db_name
        # What the sidecars connect to (the partition drill puts a proxy in between).
        self.service_db_url = self.db_url
        self.sim_port, self.sim_admin = free_port(), free_port()
        self.processes = []
        self.configs = []
        self.backup_dir = self.work / "backups"
        self.port_a, self.port_b = free_port(), free_port()

    def config(self, port, extra=""):
        path = self.work / f"sidecar-{port}.toml"
        self.configs.append(path)
        path.write_text(f"""
[server]
bind = "127.0.0.1:{port}"
workers = 2
[database]
url = "{self.service_db_url}"
pool_size = 8
[auth.api_keys]
odoo = "{KEY}"
[secrets]
master_key = "{MASTER}"
[sii]
environment = "simulator"
simulator_url = "http://127.0.0.1:{self.sim_port}"
request_timeout_secs = 2
connect_timeout_secs = 2
schemas_dir = "{ROOT / 'schemas' / 'sii'}"
extra_caf_keys = [{{ idk = 100, path = "{ROOT / 'tests/fixtures/keys/FAKE-SII-IDK100-public.pem'}" }}]
contingency_after_failures = 1000000
envelope_window_millis = {self.args.envelope_window}
[simulator]
bind = "127.0.0.1:{self.sim_port}"
admin_bind = "127.0.0.1:{self.sim_admin}"
processing_delay_secs = 1
# The seed's two minutes at the drill's 3600× clock: two real minutes, not 33 ms.
seed_ttl_secs = 432000
caf_signing_key = "{ROOT / 'tests/fixtures/keys/FAKE-SII-IDK100-private.pem'}"
[simulator.faults]
hang_secs = 3
[jobs]
sweep_interval_secs = 10
poll_interval_millis = 200
first_poll_secs = 3600
upload_lease_secs = 72000
[clock]
speedup = 3600.0
[backup]
dir = "{self.backup_dir}"
[log]
level = "warn"
{extra}
""")
        return path

    @staticmethod
    def env():
        """The environment of the sidecars: their database comes from their own settings."""
        return {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("DTE__")}

    def start(self, args, config, name):
        logfile = open(self.work / f"{name}.log", "ab")
        process = subprocess.Popen([str(BIN), "--config", str(config), *args], stdout=logfile, stderr=subprocess.STDOUT, cwd=ROOT, env=self.env())
        self.processes.append(process)
        return process

    def wait_port(self, port, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            try:
                http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"port {port} never answered")

    def set_faults(self, faults):
        http("PUT", f"http://127.0.0.1:{self.sim_admin}/faults", faults)

    def prepare(self, port):
        config = self.config(port)
        # Straight to the drill's database, not through whatever the sidecars go through.
        migrated = subprocess.run([str(BIN), "--config", str(config), "migrate"], cwd=ROOT, capture_output=True,
                                  text=True, env={**self.env(), "DATABASE_URL": self.db_url})
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed: {migrated.stderr.strip()[-2000:]}")
        self.start(["sii-sim"], config, "simulator")
        self.wait_sim()
        return config

    def wait_sim(self):
        end = time.time() + 30
        while time.time() < end:
            try:
                http("GET", f"http://127.0.0.1:{self.sim_admin}/healthz", timeout=2)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the simulator never answered")

    def setup_company(self, port, folios):
        rpc(port, "dte.company", "register", company_id=1, rut=RUT, name="Empresa Drill SpA", resolution_number=0, resolution_date="2026-01-02")
        p12 = base64.b64encode((ROOT / "tests/fixtures/keys/signer-11111111-1.p12").read_bytes()).decode()
        rpc(port, "dte.company", "set_certificate", company_id=1, pkcs12=p12, password="1234")
        today = datetime.date.today().isoformat()
        caf = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{self.sim_admin}/caf", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"rut": RUT, "name": "EMPRESA DRILL SPA", "dte_type": 33, "folio_from": 1, "folio_to": folios, "authorized_on": today}).encode(),
        ), timeout=30).read().decode("latin-1")
        rpc(port, "dte.caf", "load", company_id=1, caf_xml=caf)

    def document(self):
        doc = json.loads((ROOT / "docs/dte-json/33.json").read_text())
        doc["issue_date"] = datetime.date.today().isoformat()
        return doc

    def send_until_answered(self, ports, move_id, stop, retry_errors=False):
        """Sends a move until a sidecar answers (a killed one answers nothing); with
        `retry_errors`, until it answers with the document, as a user clicks again after
        an error."""
        while not stop.is_set():
            port = random.choice(ports)
            try:
                return rpc(port, "account.move", "action_send_to_sii", move_id=move_id, company_id=1, document=self.document())
            except RpcError as error:
                if not retry_errors:
                    raise
                self.caller_errors.append(error)
                time.sleep(0.2)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.2)
        return None

    def documents(self):
        rows = psql(self.db_url, "SELECT move_id, folio, state FROM dte_sidecar.dte_document ORDER BY move_id")
        return [tuple(r.split("|")) for r in rows.splitlines() if r]

    def received(self):
        return http("GET", f"http://127.0.0.1:{self.sim_admin}/received")

    def stop_all(self):
        self.stop_processes()
        self.pg.stop()

    def stop_processes(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def wait_final(self, count, timeout):
        end = time.time() + timeout
        while time.time() < end:
            docs = self.documents()
            if len(docs) == count and all(state in FINAL for _, _, state in docs):
                return docs
            time.sleep(1)
        return self.documents()

    def check(self, docs, moves):
        problems = []
        by_move = {int(m): (int(f), s) for m, f, s in docs}
        if sorted(by_move) != sorted(moves):
            problems.append(f"{len(moves) - len(by_move)} moves without a document")
        folios = [f for f, _ in by_move.values()]
        if len(folios) != len(set(folios)):
            problems.append("a folio was used twice")
        unfinished = {m: s for m, (_, s) in by_move.items() if s not in FINAL}
        if unfinished:
            problems.append(f"{len(unfinished)} documents not in a final place: {dict(list(unfinished.items())[:5])}")
        received = {r["folio"]: r for r in self.received() if r["dte_type"] == 33}
        twice = [f for f, r in received.items() if r["standing"] and r["count"] != 1]
        if twice:
            problems.append(f"accepted folios received more than once: {twice[:10]}")
        accepted_here = {f for f, s in by_move.values() if s in ("accepted", "accepted_with_objections")}
        accepted_there = {f for f, r in received.items() if r["standing"]}
        if accepted_here != accepted_there:
            problems.append(f"accepted here and at the SII differ: {sorted(accepted_here ^ accepted_there)[:10]}")
        states = {}
        for _, s in by_move.values():
            states[s] = states.get(s, 0) + 1
        return problems, states, received

    def one_sidecar(self):
        """The simulated SII and one sidecar with its company set up: its settings, its
        process and the moves to send."""
        config = self.prepare(self.port_a)
        server = self.start(["serve"], config, "sidecar")
        self.wait_port(self.port_a)
        self.setup_company(self.port_a, 1000)
        return config, server, list(range(1, self.args.sends + 1))

    def crash(self):
        config, server, moves = self.one_sidecar()
        # A flaky SII: a quarter of uploads are taken but their answer is lost.
        self.set_faults({"failure_rate": 0.25, "random_mode": "answer_lost", "only": ["upload"], "seed": self.args.seed, "hang_secs": 3})
        stop = threading.Event()
        kills = 0

        def killer():
            nonlocal server, kills
            rng = random.Random(self.args.seed)
            while not stop.is_set():
                time.sleep(rng.uniform(0.5, 3.0))
                if stop.is_set():
                    break
                server.send_signal(signal.SIGKILL)
                server.wait()
                kills += 1
                time.sleep(rng.uniform(0.1, 1.0))
                server = self.start(["serve"], config, "sidecar")

        killing = threading.Thread(target=killer)
        killing.start()
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda m: self.send_until_answered([self.port_a], m, threading.Event()), moves))
        stop.set()
        killing.join()
        log(f"all {len(moves)} sends answered in {time.time() - started:.1f}s with {kills} SIGKILLs; letting retries and polls finish")
        self.wait_port(self.port_a)
        self.set_faults({})
        docs = self.wait_final(len(moves), self.args.settle)
        problems, states, received = self.check(docs, moves)
        log(f"documents by state: {states}")
        reconciled = psql(self.db_url, "SELECT count(DISTINCT document_id) FROM dte_sidecar.dte_document_transition WHERE from_state = 'sending' AND to_state = 'sent' AND at > (SELECT min(at) FROM dte_sidecar.dte_document_transition t2 WHERE t2.document_id = dte_document_transition.document_id) + interval '1 hour'")
        queued = psql(self.db_url, "SELECT count(*) FROM dte_sidecar.dte_failed_queue")
        log(f"documents whose upload outcome was lost and later reconciled: {reconciled}; retry queue entries: {queued}")
        log(f"uploads at the SII: {len(http('GET', f'http://127.0.0.1:{self.sim_admin}/uploads'))}, "
            f"folios received: {len(received)}, received twice or more: {sum(1 for r in received.values() if r['count'] > 1)} "
            f"(only ever as STATUS 99 repeats of the same envelope, which the SII does not count)")
        return problems

    def database_crash(self):
        _, _, moves = self.one_sidecar()
        stop = threading.Event()
        crashes = 0

        def crasher():
            # Until the sends are answered, and at least MIN_CRASHES times: sends that all
            # finish between two crashes would prove little.
            nonlocal crashes
            rng = random.Random(self.args.seed)
            while not stop.is_set() or crashes < MIN_CRASHES:
                time.sleep(rng.uniform(0.5, 2.5))
                if stop.is_set() and crashes >= MIN_CRASHES:
                    break
                self.pg.crash()
                crashes += 1
                time.sleep(rng.uniform(0.1, 1.0))
                self.pg.start()

        crashing = threading.Thread(target=crasher)
        crashing.start()
        started = time.time()
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda m: self.send_until_answered([self.port_a], m, threading.Event(), retry_errors=True), moves))
        finally:
            stop.set()
            crashing.join()
        log(f"all {len(moves)} sends answered in {time.time() - started:.1f}s with {crashes} PostgreSQL crashes; letting polls finish")
        # A caller told of an error while PostgreSQL restarts is told it may retry.
        codes = collections.Counter(
            (e.status, e.data.get("code"), e.data.get("retryable")) for e in self.caller_errors)
        log(f"errors answered to callers (status, code, retryable): {dict(codes)}")
        wrong = {k: n for k, n in codes.items() if k != (503, "server.database_unavailable", True)}
        if wrong:
            problems_first = [f"errors answered during the crashes that are not the retryable code: {wrong}"]
        else:
            problems_first = []
        docs = self.wait_final(len(moves), self.args.settle)
        problems, states, received = self.check(docs, moves)
        log(f"documents by state: {states}")
        # Every folio the CAF's counter has passed is a document's or a spare: none lost.
        given = int(psql(self.db_url, "SELECT next_folio - folio_from FROM dte_sidecar.dte_caf WHERE company_id = 1 AND dte_type = '33'"))
        spares = psql(self.db_url, "SELECT folio FROM dte_sidecar.dte_folio_reservation WHERE move_id IS NULL")
        accounted = {int(f) for _, f, _ in docs} | {int(f) for f in spares.splitlines() if f}
        lost = sorted(set(range(1, given + 1)) - accounted)
        if lost:
            problems.append(f"folios given out with no document and no spare: {lost[:10]}")
        beyond = sorted(f for f in accounted if f > given)
        if beyond:
            problems.append(f"folios used beyond the CAF's counter: {beyond[:10]}")
        log(f"folios given out: {given}, documents: {len(docs)}, spares: {len(accounted) - len(docs)}, lost: {len(lost)}; "
            f"folios received at the SII: {len(received)}, received twice or more: {sum(1 for r in received.values() if r['count'] > 1)}")
        return problems_first + problems

    def replicas(self):
        config_a = self.prepare(self.port_a)
        config_b = self.config(self.port_b)
        self.start(["serve"], config_a, "sidecar-a")
        self.start(["serve"], config_b, "sidecar-b")
        self.wait_port(self.port_a)
        self.wait_port(self.port_b)
        self.setup_company(self.port_a, 5000)
        self.set_faults({"failure_rate": 0.2, "random_mode": "http500", "only": ["upload"], "seed": self.args.seed})
        moves = list(range(1, self.args.sends + 1))
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda m: self.send_until_answered([self.port_a if m % 2 else self.port_b], m, threading.Event()), moves))
        log(f"{len(moves)} sends split between two sidecars in {time.time() - started:.1f}s")
        self.set_faults({})
        docs = self.wait_final(len(moves), self.args.settle)
        problems, states, _ = self.check(docs, moves)
        log(f"documents by state: {states}")
        closed = psql(self.db_url, "SELECT count(*), count(*) FILTER (WHERE retry_history LIKE '%\"event\":\"settled\"%'), "
                                   "coalesce(sum(retry_count), 0) FROM dte_sidecar.dte_failed_queue")
        entries, settled, retries = closed.split("|")
        log(f"retry queue: {entries} entries, {retries} retries counted, {settled} closed as settled (the SII already had them)")
        ticks = psql(self.db_url, "SELECT runner, count(*) FROM dte_sidecar.dte_cron_tick WHERE name = 'sweep' GROUP BY runner")
        double = psql(self.db_url, "SELECT count(*) FROM (SELECT name, tick FROM dte_sidecar.dte_cron_tick GROUP BY name, tick HAVING count(*) > 1) t")
        if double != "0":
            problems.append(f"{double} cron ticks ran twice")
        runners = [l.split("|") for l in ticks.splitlines() if l]
        log(f"sweep ticks by replica: {dict((r, int(n)) for r, n in runners)}; ticks run twice: {double}")
        jobs = psql(self.db_url, "SELECT job_type, status, count(*) FROM apalis.jobs GROUP BY 1, 2 ORDER BY 1, 2")
        log("apalis jobs: " + "; ".join(jobs.splitlines()))
        return problems

    def partition(self):
        """The sidecar reaches PostgreSQL through a proxy; stopping the proxy's processes
        (SIGSTOP) blackholes the traffic: no RST, no FIN, packets wait unanswered."""
        proxy_port = free_port()
        proxy = subprocess.Popen(
            ["socat", f"TCP-LISTEN:{proxy_port},bind=127.0.0.1,fork,reuseaddr", f"TCP:127.0.0.1:{self.pg.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", proxy_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            return self._partition(proxy, proxy_port)
        finally:
            self.stop_processes()
            os.killpg(proxy.pid, signal.SIGCONT)
            os.killpg(proxy.pid, signal.SIGTERM)
            proxy.wait()

    def _partition(self, proxy, proxy_port):
        self.service_db_url = f"postgres://postgres@127.0.0.1:{proxy_port}/{self.db_name}"
        _, _, moves = self.one_sidecar()
        stop = threading.Event()
        readiness = []  # (during partition, HTTP status)
        cut = threading.Event()

        def cutter():
            time.sleep(2)
            os.killpg(proxy.pid, signal.SIGSTOP)
            cut.set()
            log(f"network to PostgreSQL blackholed for {self.args.partition_secs}s")
            time.sleep(self.args.partition_secs)
            cut.clear()
            os.killpg(proxy.pid, signal.SIGCONT)
            log("network to PostgreSQL back")

        def prober():
            while not stop.is_set():
                during = cut.is_set()
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port_a}/readyz", timeout=3).read()
                    status = 200
                except urllib.error.HTTPError as error:
                    status = error.code
                except Exception:
                    status = 0
                if during == cut.is_set():
                    readiness.append((during, status))
                time.sleep(0.5)

        threads = [threading.Thread(target=cutter), threading.Thread(target=prober)]
        for t in threads:
            t.start()
        started = time.time()
        slowest = 0.0

        def send(move):
            nonlocal slowest
            began = time.time()
            answer = self.send_until_answered([self.port_a], move, threading.Event(), retry_errors=True)
            slowest = max(slowest, time.time() - began)
            return answer

        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(send, moves))
            threads[0].join()
            time.sleep(3)  # /readyz after the partition
        finally:
            stop.set()
            for t in threads:
                t.join()
        log(f"all {len(moves)} sends answered in {time.time() - started:.1f}s; the slowest took {slowest:.1f}s")
        problems = []
        during = [status for d, status in readiness if d]
        after = [status for d, status in readiness if not d][-3:]
        log(f"/readyz during the partition: {sorted(set(during))}, after: {after}")
        if not during or 200 in during:
            problems.append(f"/readyz did not answer 503 throughout the partition: {during}")
        if not after or after[-1] != 200:
            problems.append(f"/readyz did not answer 200 after the partition: {after}")
        docs = self.wait_final(len(moves), self.args.settle)
        found, states, received = self.check(docs, moves)
        log(f"documents by state: {states}; folios received twice or more: {sum(1 for r in received.values() if r['count'] > 1)}")
        return problems + found + self.all_accepted(states, len(moves))

    @staticmethod
    def all_accepted(states, count):
        """Where the SII itself never fails, every document ends accepted."""
        return [] if states == {"accepted": count} else [f"not every document was accepted: {states}"]

    def archive_full(self):
        """The backup directory is a tmpfs too small for the copies, then made larger."""
        if os.geteuid() != 0:
            log("SKIPPED: archive-full mounts a small filesystem, which needs root")
            return None
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["umount", str(self.backup_dir)], capture_output=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.args.archive_kib}k", "tmpfs", str(self.backup_dir)], check=True)
        try:
            return self._archive_full()
        finally:
            self.stop_processes()
            subprocess.run(["umount", str(self.backup_dir)], capture_output=True)

    def _archive_full(self):
        config, _, moves = self.one_sidecar()
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda m: self.send_until_answered([self.port_a], m, threading.Event()), moves))
        log(f"all {len(moves)} sends answered in {time.time() - started:.1f}s on a {self.args.archive_kib} KiB backup directory")
        problems = []
        docs = self.wait_final(len(moves), self.args.settle)
        found, states, _ = self.check(docs, moves)
        problems += found + self.all_accepted(states, len(moves))
        waiting = int(psql(self.db_url, "SELECT count(*) FROM dte_sidecar.dte_backup WHERE copied_at IS NULL"))
        backups = int(psql(self.db_url, "SELECT count(*) FROM dte_sidecar.dte_backup"))
        log(f"documents by state: {states}; backups: {backups}, waiting for their copy while the disk is full: {waiting}")
        if waiting == 0:
            problems.append("the backup directory never filled up: the drill proved nothing")
        subprocess.run(["mount", "-o", "remount,size=64m", str(self.backup_dir)], check=True)
        grown = time.time()
        while time.time() - grown < self.args.catch_up:
            waiting = int(psql(self.db_url, "SELECT count(*) FROM dte_sidecar.dte_backup WHERE copied_at IS NULL"))
            if waiting == 0:
                break
            time.sleep(1)
        log(f"copies waiting {time.time() - grown:.0f}s after the disk grew: {waiting}")
        if waiting:
            problems.append(f"{waiting} backups still without their copy {self.args.catch_up}s after the disk grew")
        verify = subprocess.run([str(BIN), "--config", str(config), "verify"],
                                capture_output=True, text=True, cwd=ROOT, env=self.env())
        try:
            report = json.loads(verify.stdout)
            log(f"verify: {report['rows']} backups, {report['copies']} copies, {report['matching']} matching, "
                f"problems: {report['problems'][:5]}")
        except (ValueError, KeyError, TypeError):
            log("verify: " + " | ".join((verify.stdout + verify.stderr).strip().splitlines()[-3:]))
        if verify.returncode != 0:
            problems.append(f"dte-sidecar verify exited {verify.returncode}")
        return problems

    def queue_check(self):
        """The retry histories against their rule, as the sidecar states it."""
        config = self.configs[0]
        # Straight to the drill's database (the partition drill's proxy is gone by now).
        out = subprocess.run([str(BIN), "--config", str(config), "queue", "check"],
                             capture_output=True, text=True, cwd=ROOT, env={**self.env(), "DATABASE_URL": self.db_url})
        lines = (out.stdout + out.stderr).strip().splitlines()
        for line in lines[-20:]:
            log("queue check:", line)
        return [] if out.returncode == 0 else [f"dte-sidecar queue check exited {out.returncode}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=list(MODES))
    parser.add_argument("--sends", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle", type=int, default=240, help="seconds to wait for final states")
    parser.add_argument("--envelope-window", type=int, default=0,
                        help="sii.envelope_window_millis of the sidecars (0: each document its own envelope)")
    parser.add_argument("--partition-secs", type=int, default=20, help="partition: how long PostgreSQL is cut off")
    parser.add_argument("--archive-kib", type=int, default=200, help="archive-full: size of the full backup directory")
    parser.add_argument("--catch-up", type=int, default=75, help="archive-full: seconds the copies have once the disk grows")
    args = parser.parse_args()
    args.sends = args.sends or MODES[args.mode]
    drill = Drill(args)
    try:
        problems = getattr(drill, args.mode.replace("-", "_"))()
        if problems is None:
            return
        drill.stop_processes()
        problems += drill.queue_check()
        deadlocks = drill.pg.deadlocks()
        log(f"deadlocks in PostgreSQL's log: {len(deadlocks)}")
        for report in deadlocks[:5]:
            log("deadlock:", report)
        if deadlocks:
            problems.append(f"PostgreSQL detected {len(deadlocks)} deadlocks during the drill")
    finally:
        drill.stop_all()
    if problems:
        for problem in problems:
            log("PROBLEM:", problem)
        sys.exit(1)
    log(f"{args.mode} drill passed")


if __name__ == "__main__":
    main()
